/*
 * deltasql-bench: deltasql against the raw database doing the same work,
 * side by side in one run, on every driver available.
 *
 *   deltasql-bench [--quick] [--big] [--json] [--only NAME,...] [--sections 1,2,...]
 *                  [--sqlite-sync normal|full] [--no-pin]
 *
 * Backends: sqlite (always); postgresql and postgresql-pooled (the driver's
 * deltasql_pool=transaction mode, same server) when DELTASQL_BENCH_PG_URI or
 * DELTASQL_TEST_PG_URI names a server; odbc-sqlite and odbc-postgresql when
 * built with ODBC and the ODBC drivers are reachable (DELTASQL_BENCH_ODBC_PG
 * overrides the ODBC connection string derived from the PostgreSQL URI);
 * odbc-mariadb when DELTASQL_BENCH_ODBC_MARIADB or DELTASQL_TEST_ODBC_MARIADB_URI
 * names a MariaDB (its raw twin is the raw ODBC client itself: MariaDB has
 * no native driver here).
 * bench/run.sh (make bench) starts a throwaway server and private ODBC ini
 * files when none are given; the benchmark then pins itself and that
 * server to cores of their own (placement.c; --no-pin leaves them free).
 *
 * Sections: 1 commit overhead, 2 multi-table commits, 3 snapshot load,
 * 4 contention, 5 conflict check and rebase, 6 import/export.
 */
#include "config.h"
#include "bench.h"
#include "bench/build-info.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

bench_opts opt = {0, 0, 0, 0x7e};

static json_t *results, *targets;
static char workdir[512];
static pid_t main_pid;

/* The work directory goes, however the run ends (but not when a forked
 * writer exits). */
static void remove_workdir(void)
{
	char cmd[600];

	if (getpid() != main_pid || !workdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	if (system(cmd) != 0)
		fprintf(stderr, "deltasql-bench: could not remove %s\n", workdir);
}

const char *work_dir(void)
{
	return workdir;
}

void die(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "deltasql-bench: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void result_add(json_t *row)
{
	json_array_append_new(results, row);
}

void out(const char *fmt, ...)
{
	va_list ap;

	if (opt.json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

void target(const char *backend_name, const char *what, double value, double limit, int lower_is_ok,
            const char *detail)
{
	int met = lower_is_ok ? value <= limit : value >= limit;

	json_array_append_new(targets, json_pack("{s:s, s:s, s:f, s:f, s:s, s:b, s:s}", "backend",
	                                         backend_name, "target", what, "value", value, "limit",
	                                         limit, "direction", lower_is_ok ? "<=" : ">=", "met",
	                                         met, "detail", detail ? detail : ""));
}

/* --- helpers the sections share --- */

dsql_catalog *open_catalog(const backend *b)
{
	dsql_catalog *cat;
	dsql_error err;

	if (dsql_catalog_open(&cat, b->uri, NULL, &err) != DSQL_OK)
		die(b->name, "cannot open the catalog: %s", err.message);
	return cat;
}

/* Tables have a realistic schema: 20 columns (the id and ts of the add
 * statistics among them), unpartitioned. */
static const char *schema_json(void)
{
	static char s[4096];
	size_t len;

	if (s[0])
		return s;
	len = (size_t)snprintf(s, sizeof(s), "{\"type\":\"struct\",\"fields\":["
	                       "{\"name\":\"id\",\"type\":\"long\",\"nullable\":false,"
	                       "\"metadata\":{}},{\"name\":\"ts\",\"type\":\"timestamp\","
	                       "\"nullable\":true,\"metadata\":{}}");
	for (int i = 0; i < 18; i++)
		len += (size_t)snprintf(s + len, sizeof(s) - len,
		                        ",{\"name\":\"column_%02d\",\"type\":\"%s\",\"nullable\":true,"
		                        "\"metadata\":{\"comment\":\"a column of the benchmark table\"}}",
		                        i, i % 3 == 0 ? "string" : i % 3 == 1 ? "double" : "integer");
	snprintf(s + len, sizeof(s) - len, "]}");
	return s;
}

int bench_bare_tables;

void create_tables(dsql_catalog *cat, const char *prefix, size_t n, char (*names)[64])
{
	static int serial;
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	dsql_error err;

	serial++;
	o.schema_json = bench_bare_tables ? NULL : schema_json();
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], 64, "b%d_%s%d_%zu", (int)getpid(), prefix, serial, i);
		if (dsql_table_create(cat, names[i], &o, &err) != DSQL_OK)
			die("create table", "%s: %s", names[i], err.message);
	}
}

void drop_tables(dsql_catalog *cat, size_t n, char (*names)[64])
{
	dsql_error err;

	for (size_t i = 0; i < n; i++)
		if (dsql_table_drop(cat, names[i], &err) != DSQL_OK)
			die("drop table", "%s: %s", names[i], err.message);
}

/* Credentials never reach the output. */
static void mask_after(char *s, size_t cap, char *p, size_t n)
{
	if (n < 3 && strlen(s) + 3 >= cap)
		return;
	memmove(p + 3, p + n, strlen(p + n) + 1);
	memcpy(p, "***", 3);
}

static void masked(char *dst, size_t cap, const char *uri)
{
	static const char *const keys[] = {"password=", "pwd="};
	char *p, *colon, *at;

	snprintf(dst, cap, "%s", uri);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if ((p = strcasestr(dst, keys[k])) != NULL) {
			p += strlen(keys[k]);
			mask_after(dst, cap, p, strcspn(p, "&; "));
		}
	if ((p = strstr(dst, "://")) != NULL && (at = strchr(p + 3, '@')) != NULL &&
	    (colon = strchr(p + 3, ':')) != NULL && colon < at)
		mask_after(dst, cap, colon + 1, (size_t)(at - colon - 1));
}

/* --- backends --- */

static void setup_sqlite(backend *b, const char *sync)
{
	memset(b, 0, sizeof(*b));
	b->name = "sqlite";
	snprintf(b->target, sizeof(b->target), "%s/sqlite.db?synchronous=%s&journal_mode=wal",
	         workdir, sync);
	snprintf(b->uri, sizeof(b->uri), "sqlite:%s", b->target);
	b->ops = &raw_sqlite_ops;
	snprintf(b->settings, sizeof(b->settings),
	         "SQLite %s, journal_mode=wal, synchronous=%s, busy polling 0.1-1 ms (both sides)",
	         sqlite3_libversion(), sync);
}

#ifdef HAVE_LIBPQ
/* The libpq conninfo in a deltasql PostgreSQL URI, as the driver reads it. */
static void pg_conninfo(char *dst, size_t cap, const char *uri)
{
	const char *colon = strchr(uri, ':');

	snprintf(dst, cap, "%s", colon && strncmp(colon + 1, "//", 2) != 0 ? colon + 1 : uri);
}

static void pg_show(PGconn *pg, const char *setting, char *dst, size_t cap)
{
	char sql[96];
	PGresult *r;

	snprintf(sql, sizeof(sql), "SHOW %s", setting);
	r = PQexec(pg, sql);
	snprintf(dst, cap, "%s", PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
	PQclear(r);
}

/* pooled: deltasql's side in the driver's transaction-pooler mode
 * (deltasql_pool=transaction: no named statements, settings per
 * transaction) against the same server, to put a figure on that mode's
 * cost; the raw side is the same in both. */
static int setup_pg(backend *b, const char *uri, int pooled)
{
	char sync[32], fsync[32], version[32];
	PGconn *pg;

	memset(b, 0, sizeof(*b));
	b->name = pooled ? "postgresql-pooled" : "postgresql";
	b->server = 1;
	if (!pooled)
		snprintf(b->uri, sizeof(b->uri), "%s", uri);
	else if (strstr(uri, "://"))
		snprintf(b->uri, sizeof(b->uri), "%s%sdeltasql_pool=transaction", uri,
		         strchr(uri, '?') ? "&" : "?");
	else
		snprintf(b->uri, sizeof(b->uri), "%s deltasql_pool=transaction", uri);
	pg_conninfo(b->target, sizeof(b->target), uri);
	b->ops = &raw_pg_ops;
	pg = PQconnectdb(b->target);
	if (PQstatus(pg) != CONNECTION_OK) {
		out("\npostgresql: not measured (cannot connect: %s)\n", PQerrorMessage(pg));
		PQfinish(pg);
		return 0;
	}
	pg_show(pg, "synchronous_commit", sync, sizeof(sync));
	pg_show(pg, "fsync", fsync, sizeof(fsync));
	pg_show(pg, "server_version", version, sizeof(version));
	PQfinish(pg);
	snprintf(b->settings, sizeof(b->settings),
	         "PostgreSQL %s, synchronous_commit=%s, fsync=%s, libpq %d, READ COMMITTED writes,"
	         " lock_timeout=5s, plan_cache_mode=force_generic_plan, enable_seqscan=off"
	         " (both sides)%s",
	         version, sync, fsync, PQlibVersion(),
	         pooled ? "; deltasql: deltasql_pool=transaction (unnamed statements, settings per"
	                  " transaction)"
	                : "");
	return 1;
}

/* The ODBC connection string for the same PostgreSQL database. */
static int odbc_pg_string(char *dst, size_t cap, const char *pg_target)
{
	PQconninfoOption *o = PQconninfoParse(pg_target, NULL), *i;
	const char *host = NULL, *port = "5432", *db = NULL, *user = NULL;

	if (!o)
		return 0;
	for (i = o; i->keyword; i++) {
		if (!i->val)
			continue;
		if (strcmp(i->keyword, "host") == 0)
			host = i->val;
		else if (strcmp(i->keyword, "port") == 0)
			port = i->val;
		else if (strcmp(i->keyword, "dbname") == 0)
			db = i->val;
		else if (strcmp(i->keyword, "user") == 0)
			user = i->val;
	}
	if (host && db && user)
		snprintf(dst, cap,
		         "DRIVER={PostgreSQL Unicode};Servername=%s;Port=%s;Database=%s;Username=%s",
		         host, port, db, user);
	PQconninfoFree(o);
	return host && db && user;
}
#endif

#ifdef HAVE_ODBC
static int setup_odbc(backend *b, const char *name, const char *conn, const raw_ops *twin,
                      const char *twin_target, int server, const char *settings)
{
	dsql_catalog *cat;
	dsql_error err;

	memset(b, 0, sizeof(*b));
	b->name = name;
	b->is_odbc = 1;
	b->server = server;
	snprintf(b->uri, sizeof(b->uri), "odbc:%s", conn);
	snprintf(b->target, sizeof(b->target), "%s", conn);
	b->ops = &raw_odbc_ops;
	b->bulk_ops = twin;
	snprintf(b->settings, sizeof(b->settings), "%s", settings);
	if (dsql_catalog_open(&cat, b->uri, NULL, &err) != DSQL_OK) {
		out("\n%s: not measured (%s; is ODBCSYSINI set? bench/run.sh sets it)\n", name,
		    err.message);
		return 0;
	}
	dsql_catalog_free(cat);
	b->bulk_r = twin && twin_target ? twin->connect(twin_target) : NULL;
	return 1;
}
#endif

static void run_backend(backend *b)
{
	char shown[1100];
	dsql_catalog *cat;

	cat = open_catalog(b); /* creates the schema */
	dsql_catalog_free(cat);
	b->r = b->ops->connect(b->target);
	if (!b->bulk_ops) {
		b->bulk_ops = b->ops;
		b->bulk_r = b->r;
	}
	masked(shown, sizeof(shown), b->uri);
	out("\n== %s: %s\n   settings: %s\n   raw client: %s\n", b->name, shown, b->settings,
	    b->ops->name);
	json_array_append_new(results, json_pack("{s:s, s:s, s:s, s:s, s:s}", "backend", b->name,
	                                         "section", "backend", "uri", shown, "settings",
	                                         b->settings, "raw_client", b->ops->name));
	for (int s = 1; s <= 6; s++) {
		static void (*const sections[7])(backend *) = {
			NULL, section_commit, section_multi, section_snapshot, section_contention,
			section_rebase, section_import,
		};
		double t0 = now();

		if (!(opt.sections & 1u << s))
			continue;
		if (b->server && s != 4)
			placement_pin();
		else
			placement_free();
		sections[s](b);
		out("   (section took %.1f s)\n", now() - t0);
	}
	placement_free();
	if (b->bulk_r && b->bulk_r != b->r)
		b->bulk_ops->close(b->bulk_r);
	b->ops->close(b->r);
}

static int wanted(const char *only, const char *name)
{
	size_t n = strlen(name);

	if (!only)
		return 1;
	for (const char *p = only; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: deltasql-bench [--quick] [--big] [--json] [--only NAME,...]\n"
	        "                      [--sections 1,2,...] [--sqlite-sync normal|full] [--no-pin]\n"
	        "  NAME: sqlite, postgresql, odbc-sqlite, odbc-postgresql, odbc-mariadb\n"
	        "  sections: 1 commit overhead, 2 multi-table, 3 snapshot, 4 contention,\n"
	        "            5 conflict check/rebase, 6 import/export\n");
	exit(2);
}

static void print_targets(void)
{
	size_t i;
	json_t *t;

	out("\n== Targets (measured, not asserted)\n");
	json_array_foreach(targets, i, t) {
		double v = json_real_value(json_object_get(t, "value"));

		out("   %-16s %-58s %9.2f %s %-6g %s  %s\n",
		    json_string_value(json_object_get(t, "backend")),
		    json_string_value(json_object_get(t, "target")), v,
		    json_string_value(json_object_get(t, "direction")),
		    json_real_value(json_object_get(t, "limit")),
		    json_is_true(json_object_get(t, "met")) ? "met   " : "MISSED",
		    json_string_value(json_object_get(t, "detail")));
	}
}

int main(int argc, char **argv)
{
	const char *only = NULL, *sync = "normal", *pg_uri = getenv("DELTASQL_BENCH_PG_URI");
	double load[3] = {0, 0, 0}, start = now();
	struct utsname u;
	backend b;
	json_t *doc;
	int pin = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			opt.quick = 1;
		else if (strcmp(argv[i], "--big") == 0)
			opt.big = 1;
		else if (strcmp(argv[i], "--json") == 0)
			opt.json = 1;
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--no-pin") == 0)
			pin = 0;
		else if (strcmp(argv[i], "--sqlite-sync") == 0 && i + 1 < argc)
			sync = argv[++i];
		else if (strcmp(argv[i], "--sections") == 0 && i + 1 < argc) {
			opt.sections = 0;
			for (char *p = argv[++i]; *p; p++)
				if (*p >= '1' && *p <= '6')
					opt.sections |= 1u << (*p - '0');
		} else
			usage();
	}
	if (strcmp(sync, "normal") != 0 && strcmp(sync, "full") != 0)
		usage();
	if (!pg_uri)
		pg_uri = getenv("DELTASQL_TEST_PG_URI");
	setvbuf(stdout, NULL, _IOLBF, 0);
	results = json_array();
	targets = json_array();
	snprintf(workdir, sizeof(workdir), "%s/deltasql-bench-%d",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	if (mkdir(workdir, 0755) != 0)
		die("work directory", "%s: %s", workdir, strerror(errno));
	main_pid = getpid();
	atexit(remove_workdir);
	uname(&u);
	if (getloadavg(load, 3) < 0)
		load[0] = -1;
	out("deltasql %s benchmarks (%s run%s): deltasql against the raw database doing the same "
	    "work, side by side\n", dsql_version(), opt.quick ? "quick" : "full",
	    opt.big ? ", with 1M files" : "");
	out("build: CC=%s CFLAGS=%s; configure %s%s\n", BENCH_CC, BENCH_CFLAGS, BENCH_CONFIGURE,
#ifdef DSQL_FAULT_INJECTION
	    " (fault points compiled in: figures are pessimistic)"
#else
	    ""
#endif
	);
	placement_init(pin);
	out("machine: %s %s, %ld cores, load average %.2f at start\n", u.sysname, u.release,
	    sysconf(_SC_NPROCESSORS_ONLN), load[0]);
	out("placement: %s\n", placement_text());
	out("ratio = deltasql time / raw time (1.00x: no overhead)\n");

	if (wanted(only, "sqlite")) {
		setup_sqlite(&b, sync);
		run_backend(&b);
	}
#ifdef HAVE_LIBPQ
	if (pg_uri && wanted(only, "postgresql") && setup_pg(&b, pg_uri, 0))
		run_backend(&b);
	if (pg_uri && wanted(only, "postgresql-pooled") && setup_pg(&b, pg_uri, 1))
		run_backend(&b);
	else if (!pg_uri && wanted(only, "postgresql"))
		out("\npostgresql: not measured (set DELTASQL_BENCH_PG_URI; make bench starts a server)\n");
#else
	if (wanted(only, "postgresql"))
		out("\npostgresql: not measured (built without libpq)\n");
#endif
#ifdef HAVE_ODBC
	if (wanted(only, "odbc-sqlite")) {
		char conn[800], twin[800], settings[256];

		snprintf(conn, sizeof(conn),
		         "DRIVER={SQLite3};Database=%s/odbc.db;SyncPragma=%s;JournalMode=WAL", workdir,
		         strcmp(sync, "full") == 0 ? "FULL" : "NORMAL");
		snprintf(twin, sizeof(twin), "%s/odbc.db?synchronous=%s&journal_mode=wal", workdir, sync);
		snprintf(settings, sizeof(settings),
		         "SQLite ODBC driver, JournalMode=WAL, SyncPragma=%s, BEGIN IMMEDIATE (both sides)",
		         sync);
		if (setup_odbc(&b, "odbc-sqlite", conn, &raw_sqlite_ops, twin, 0, settings))
			run_backend(&b);
	}
	if (wanted(only, "odbc-postgresql")) {
		char conn[800] = "", settings[256];
		const char *given = getenv("DELTASQL_BENCH_ODBC_PG");
		const raw_ops *twin = NULL;
		const char *twin_target = NULL;
#ifdef HAVE_LIBPQ
		char pg_target[1024];

		if (pg_uri) {
			pg_conninfo(pg_target, sizeof(pg_target), pg_uri);
			if (!given && !odbc_pg_string(conn, sizeof(conn), pg_target))
				conn[0] = '\0';
			twin = &raw_pg_ops;
			twin_target = pg_target;
		}
#endif
		if (given)
			snprintf(conn, sizeof(conn), "%s", given);
		snprintf(settings, sizeof(settings),
		         "psqlODBC defaults, READ COMMITTED writes (both sides)");
		if (!conn[0])
			out("\nodbc-postgresql: not measured (no PostgreSQL server given)\n");
		else if (setup_odbc(&b, "odbc-postgresql", conn, twin, twin_target, 1, settings))
			run_backend(&b);
	}
	if (wanted(only, "odbc-mariadb")) {
		const char *conn = getenv("DELTASQL_BENCH_ODBC_MARIADB");

		if (!conn && (conn = getenv("DELTASQL_TEST_ODBC_MARIADB_URI")) &&
		    strncmp(conn, "odbc:", 5) == 0)
			conn += 5;
		if (!conn)
			out("\nodbc-mariadb: not measured (no MariaDB given; make bench starts one)\n");
		else if (setup_odbc(&b, "odbc-mariadb", conn, NULL, NULL, 1,
		                    "MariaDB Connector/ODBC, InnoDB, OPTION=2, utf8mb4,"
		                    " READ COMMITTED writes, innodb_lock_wait_timeout=5 (both sides)"))
			run_backend(&b);
	}
#else
	if (wanted(only, "odbc-sqlite") || wanted(only, "odbc-postgresql") ||
	    wanted(only, "odbc-mariadb"))
		out("\nodbc: not measured (built without unixODBC)\n");
#endif
	print_targets();
	if (getloadavg(load, 3) < 0)
		load[0] = -1;
	out("\nfinished in %.0f s; load average %.2f at the end\n", now() - start, load[0]);
	if (opt.json) {
		char *s;

		doc = json_pack("{s:s, s:{s:s, s:s, s:s, s:b}, s:{s:s, s:s, s:i, s:s}, s:{s:b, s:b},"
		                " s:O, s:O, s:f}",
		                "deltasql", dsql_version(), "build", "cc", BENCH_CC, "cflags",
		                BENCH_CFLAGS, "configure", BENCH_CONFIGURE, "fault_injection",
#ifdef DSQL_FAULT_INJECTION
		                1,
#else
		                0,
#endif
		                "machine", "system", u.sysname, "release", u.release, "cores",
		                (int)sysconf(_SC_NPROCESSORS_ONLN), "placement", placement_text(), "run",
		                "quick", opt.quick, "big", opt.big, "results", results, "targets",
		                targets, "seconds", now() - start);
		s = json_dumps(doc, JSON_INDENT(1));
		puts(s);
		free(s);
		json_decref(doc);
	}
	json_decref(results);
	json_decref(targets);
	return 0;
}
