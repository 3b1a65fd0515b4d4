# Benchmarks: built and run by `make bench`, never by `make check`.
EXTRA_PROGRAMS += bench/deltasql-bench
bench_deltasql_bench_SOURCES = bench/bench.c
bench_deltasql_bench_CFLAGS = $(AM_CFLAGS) -O2 $(SQLITE3_CFLAGS) $(LIBPQ_CFLAGS) \
	$(JANSSON_CFLAGS) -DBENCH_CFLAGS='"$(CFLAGS) -O2"'
bench_deltasql_bench_LDADD = libdeltasql.la $(SQLITE3_LIBS) $(LIBPQ_LIBS) $(JANSSON_LIBS)
CLEANFILES = bench/deltasql-bench

bench: bench/deltasql-bench
	./bench/deltasql-bench $(BENCH_ARGS)
