# Benchmarks (bench/): built and run by `make bench`, never by `make all` or
# `make check`. BENCH_ARGS passes options (--quick, --big, --json, --only,
# --sections); bench/run.sh starts a throwaway PostgreSQL server and private
# ODBC ini files when none are configured.
EXTRA_PROGRAMS += bench/deltasql-bench
bench_deltasql_bench_SOURCES = bench/bench.c bench/bench.h bench/work.c bench/sections.c \
	bench/contention.c bench/placement.c bench/raw_sqlite.c
nodist_bench_deltasql_bench_SOURCES = bench/build-info.h
bench_deltasql_bench_CFLAGS = $(AM_CFLAGS) $(SQLITE3_CFLAGS) $(JANSSON_CFLAGS)
bench_deltasql_bench_LDADD = libdeltasql.la $(SQLITE3_LIBS) $(JANSSON_LIBS)
if HAVE_LIBPQ
bench_deltasql_bench_SOURCES += bench/raw_pg.c
bench_deltasql_bench_CFLAGS += $(LIBPQ_CFLAGS)
bench_deltasql_bench_LDADD += $(LIBPQ_LIBS)
endif
if HAVE_ODBC
bench_deltasql_bench_SOURCES += bench/raw_odbc.c
bench_deltasql_bench_CFLAGS += $(ODBC_CFLAGS)
bench_deltasql_bench_LDADD += $(ODBC_LIBS)
endif
dist_noinst_SCRIPTS = bench/run.sh
CLEANFILES = bench/build-info.h bench/deltasql-bench$(EXEEXT)

# The exact build, printed with the results.
bench/build-info.h: config.status Makefile
	$(AM_V_GEN)$(MKDIR_P) bench && { \
	  esc() { printf '%s' "$$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }; \
	  printf '#define BENCH_CC "%s"\n' "`esc '$(CC)'`"; \
	  printf '#define BENCH_CFLAGS "%s"\n' "`esc '$(CFLAGS)'`"; \
	  printf '#define BENCH_CONFIGURE "%s"\n' "`esc \"\`./config.status --config\`\"`"; \
	} > $@-t && mv $@-t $@
$(bench_deltasql_bench_OBJECTS): bench/build-info.h

bench: bench/deltasql-bench
	@$(SHELL) $(top_srcdir)/bench/run.sh $(top_srcdir) ./bench/deltasql-bench $(BENCH_ARGS)
