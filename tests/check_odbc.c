/* The ODBC driver against the native drivers of the same databases: what
 * one path writes, the other reads back identically; and connection
 * strings never leak their passwords. The shared scenarios run through
 * ODBC in deltasql-conformance. */
#define _GNU_SOURCE
#include <check.h>
#include <deltasql.h>
#include <deltasql/driver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static void write_some(const char *uri, const char *table)
{
	static const char *const actions[] = {
		"{\"add\":{\"path\":\"p=a/1.parquet\",\"partitionValues\":{\"p\":\"a\"},\"size\":10,"
		"\"modificationTime\":1,\"dataChange\":true,\"stats\":\"{\\\"numRecords\\\":3}\"}}",
		"{\"add\":{\"path\":\"p=b/ü 2.parquet\",\"partitionValues\":{\"p\":null},\"size\":20,"
		"\"modificationTime\":2,\"dataChange\":true}}",
		"{\"txn\":{\"appId\":\"loader\",\"version\":4}}",
	};
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	const char *parts[] = {"p", NULL};
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;

	o.schema_json = "{\"type\":\"struct\",\"fields\":[{\"name\":\"p\",\"type\":\"string\","
	                "\"nullable\":true,\"metadata\":{}}]}";
	o.partition_columns = parts;
	ck_assert_msg(dsql_catalog_open(&cat, uri, NULL, &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(dsql_table_create(cat, table, &o, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		ck_assert_msg(dsql_txn_stage(txn, table, actions[i], &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, table, "{\"remove\":{\"path\":\"p=a/1.parquet\","
	                                            "\"dataChange\":true}}",
	                                &err),
	                 DSQL_OK);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	dsql_catalog_free(cat);
}

/* Writes through one URI, reads through both, and compares every version. */
static void cross_check(const char *write_uri, const char *read_uri)
{
	char table[64];
	dsql_catalog *a, *b;
	dsql_error err;

	snprintf(table, sizeof(table), "cross_%d_%ld", (int)getpid(), random() % 100000);
	write_some(write_uri, table);
	ck_assert_int_eq(dsql_catalog_open(&a, write_uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_catalog_open(&b, read_uri, NULL, &err), DSQL_OK);
	ck_assert_str_eq(dsql_catalog_uuid(a), dsql_catalog_uuid(b));
	for (int64_t v = 0; v <= 2; v++) {
		char *x = tu_snapshot_text(a, table, v, &err), *y = tu_snapshot_text(b, table, v, &err);

		ck_assert_msg(x && y, "%s", err.message);
		ck_assert_str_eq(x, y);
		free(x);
		free(y);
	}
	dsql_table_drop(b, table, &err);
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}

static int have_odbc(void)
{
	if (getenv("ODBCSYSINI"))
		return 1;
	if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
		ck_abort_msg("ODBCSYSINI is not set (CI=true: ODBC tests must run)");
	fprintf(stderr, "SKIPPED: ODBC test *** ODBCSYSINI is not set (outside CI only) ***\n");
	return 0;
}

/* Whether the PostgreSQL URIs are set: DELTASQL_TEST_ODBC_PG_URI, and
 * with native DELTASQL_TEST_PG_URI too. Unset is a failure under CI=true,
 * a loud skip of what otherwise. */
static int have_pg(const char *what, int native)
{
	if (getenv("DELTASQL_TEST_ODBC_PG_URI") && (!native || getenv("DELTASQL_TEST_PG_URI")))
		return 1;
	ck_assert_msg(!(getenv("CI") && strcmp(getenv("CI"), "true") == 0),
	              "PostgreSQL URIs are not set (CI=true: they must be)");
	fprintf(stderr, "SKIPPED: ODBC-PostgreSQL %s *** no server (outside CI only) ***\n", what);
	return 0;
}

START_TEST(sqlite_odbc_and_native_agree)
{
	char path[512], odbc[600], native[600];

	if (!have_odbc())
		return;
	snprintf(path, sizeof(path), "%s/cross.db", tu_tmpdir());
	snprintf(odbc, sizeof(odbc), "odbc:DRIVER={SQLite3};Database=%s", path);
	snprintf(native, sizeof(native), "sqlite:%s", path);
	cross_check(odbc, native);
	cross_check(native, odbc);
}
END_TEST

START_TEST(postgresql_odbc_and_native_agree)
{
	const char *odbc = getenv("DELTASQL_TEST_ODBC_PG_URI");
	const char *native = getenv("DELTASQL_TEST_PG_URI");

	if (!have_odbc())
		return;
	if (!have_pg("test", 1))
		return;
	cross_check(odbc, native);
	cross_check(native, odbc);
}
END_TEST

START_TEST(passwords_stay_out_of_messages)
{
	dsql_catalog *cat;
	dsql_error err;

	if (!have_odbc())
		return;
	ck_assert_int_eq(dsql_catalog_open(&cat, "odbc:DRIVER={No Such Driver};UID=u;"
	                                         "PWD=s3cr3t-Pa55;Database=x",
	                                   NULL, &err),
	                 DSQL_ECONNECT);
	ck_assert_ptr_null(strstr(err.message, "s3cr3t"));
	ck_assert(err.message[0] != '\0');
	ck_assert_str_eq(err.driver, "odbc");
	if (getenv("DELTASQL_TEST_PG_SOCKDIR")) {
		char uri[600];

		snprintf(uri, sizeof(uri),
		         "odbc:DRIVER={PostgreSQL Unicode};Servername=%s;Port=%s;Database=nodb_here;"
		         "Username=nobody_x;Password=s3cr3t-Pa55",
		         getenv("DELTASQL_TEST_PG_SOCKDIR"), getenv("DELTASQL_TEST_PG_PORT"));
		ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_ECONNECT);
		ck_assert_msg(!strstr(err.message, "s3cr3t"), "%s", err.message);
	}
}
END_TEST

/* Statement shapes follow the database behind the connection (driver ABI
 * 3): SQLite through ODBC runs in this process and gets one row per
 * statement, as on the native driver; PostgreSQL gets multi-row
 * statements. Watched through a copy of the ODBC driver whose prepare
 * counts the file rows of each INSERT. */
static const dsql_driver *odbc_driver;
static size_t most_file_rows;

static int watching_prepare(dsql_driver_stmt **out, dsql_driver_conn *c, const char *sql,
                            dsql_error *err)
{
	size_t n = 0;

	if (strncmp(sql, "INSERT INTO dsql_file ", 22) == 0) {
		for (const char *p = strstr(sql, "NULL, ?, ?)"); p; p = strstr(p + 1, "NULL, ?, ?)"))
			n++;
		if (n > most_file_rows)
			most_file_rows = n;
	}
	return odbc_driver->prepare(out, c, sql, err);
}

static size_t most_rows_per_insert(const char *uri)
{
	char table[64], line[256];
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;

	snprintf(table, sizeof(table), "shape_%d_%ld", (int)getpid(), random() % 100000);
	most_file_rows = 0;
	ck_assert_msg(dsql_catalog_open(&cat, uri, NULL, &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(dsql_table_create(cat, table, NULL, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	for (int i = 0; i < 20; i++) {
		snprintf(line, sizeof(line),
		         "{\"add\":{\"path\":\"f%02d.parquet\",\"partitionValues\":{},\"size\":1,"
		         "\"modificationTime\":1,\"dataChange\":true}}", i);
		ck_assert_msg(dsql_txn_stage(txn, table, line, &err) == DSQL_OK, "%s", err.message);
	}
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	dsql_table_drop(cat, table, &err);
	dsql_catalog_free(cat);
	return most_file_rows;
}

/* The bits one connection to uri declares for itself. */
static unsigned int connection_bits(const char *uri)
{
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_error err;
	unsigned int bits;

	ck_assert_ptr_nonnull(d);
	ck_assert_msg(d->connect(&c, uri, &err) == DSQL_OK, "%s", err.message);
	bits = d->connection_capabilities(c);
	d->disconnect(c);
	return bits;
}

/* The dialect of a connection (the rows' dialects are static: valid after
 * the disconnect). */
static const dsql_dialect *connection_dialect(const char *uri)
{
	const dsql_driver *d = dsql_driver_find(uri);
	const dsql_dialect *dl;
	dsql_driver_conn *c;
	dsql_error err;

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(d->dialect);
	ck_assert_msg(d->connect(&c, uri, &err) == DSQL_OK, "%s", err.message);
	dl = d->dialect(c);
	d->disconnect(c);
	return dl;
}

START_TEST(statement_shapes_follow_the_database)
{
	static const char *const schemes[] = {"odbc-watched", NULL};
	const char *pg = getenv("DELTASQL_TEST_ODBC_PG_URI");
	dsql_driver d;
	dsql_error err;
	char uri[700];

	if (!have_odbc())
		return;
	odbc_driver = dsql_driver_find("odbc:");
	ck_assert_ptr_nonnull(odbc_driver);
	ck_assert_ptr_nonnull(odbc_driver->connection_capabilities);
	ck_assert(!(odbc_driver->capabilities & DSQL_CAP_IN_PROCESS));
	d = *odbc_driver;
	d.name = "odbc-watched";
	d.uri_schemes = schemes;
	d.prepare = watching_prepare;
	ck_assert_int_eq(dsql_driver_register(&d, &err), DSQL_OK);

	snprintf(uri, sizeof(uri), "odbc-watched:DRIVER={SQLite3};Database=%s/shape.db",
	         tu_tmpdir());
	ck_assert_uint_eq(most_rows_per_insert(uri), 1);
	ck_assert_uint_eq(connection_bits(uri), DSQL_CAP_IN_PROCESS | DSQL_CAP_SERIAL_WRITERS);
	ck_assert_ptr_null(connection_dialect(uri)->unlink_by_row_id.head);
	if (!have_pg("shapes", 0))
		return;
	snprintf(uri, sizeof(uri), "odbc-watched:%s", strchr(pg, ':') + 1);
	ck_assert_uint_eq(most_rows_per_insert(uri), 20);
	ck_assert_uint_eq(connection_bits(uri), 0);
	/* The PostgreSQL dialect, as the native driver's: ctid unlinks, the
	 * unique live-file key (a server of 15 or later). */
	ck_assert(strstr(connection_dialect(uri)->unlink_by_row_id.head, "ctid"));
	ck_assert_ptr_nonnull(connection_dialect(uri)->unique_live_key);
	ck_assert_str_eq(connection_dialect(uri)->bytes_type, "BYTEA");
}
END_TEST

/* PostgreSQL through ODBC gets the native driver's planner settings at
 * connect (drivers/odbc/driver.c, session_settings): read back on a
 * connection the driver made, inside a write transaction as the core's
 * statements run (application SQL, which the ODBC driver does not run,
 * cannot read them). */
START_TEST(postgresql_session_settings)
{
	const char *pg = getenv("DELTASQL_TEST_ODBC_PG_URI");
	const dsql_driver *d;
	dsql_driver_conn *c;
	dsql_driver_stmt *st;
	dsql_error err;

	if (!have_odbc())
		return;
	if (!have_pg("settings", 0))
		return;
	d = dsql_driver_find(pg);
	ck_assert_ptr_nonnull(d);
	ck_assert_msg(d->connect(&c, pg, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(d->begin(c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	ck_assert_int_eq(d->prepare(&st, c,
	                            "SELECT current_setting('enable_seqscan') || ' ' ||"
	                            " current_setting('plan_cache_mode')",
	                            &err),
	                 DSQL_OK);
	ck_assert_int_eq(d->step(st, &err), DSQL_ROW);
	ck_assert_str_eq(d->column_text(st, 0, NULL), "off force_generic_plan");
	d->finalize(st);
	ck_assert_int_eq(d->rollback(c, &err), DSQL_OK);
	d->disconnect(c);
}
END_TEST

/* Plans made while VACUUM had emptied the file index, through ODBC
 * (tests/testutil.c): the removes' multi-row unlink was an IN list there,
 * which PostgreSQL planned on the empty index as a walk over the table's
 * files; it goes by row id now (DSQL_CAP_ROW_IDS). */
START_TEST(postgresql_plans_probe_after_vacuum_empties_the_file_index)
{
	const char *pg = getenv("DELTASQL_TEST_ODBC_PG_URI");
	const char *native = getenv("DELTASQL_TEST_PG_URI");

	if (!have_odbc())
		return;
	if (!have_pg("plans", 1))
		return;
	tu_pg_plans_replay(native, pg);
}
END_TEST

/* The unique live-file key, through ODBC: made by the catalog's first
 * ODBC client as by a native one; on it the hinted commit's adds are not
 * looked up, and one that replaces a live file fails that attempt and
 * commits under locks (tests/testutil.c). */
START_TEST(postgresql_live_file_key)
{
	const char *pg = getenv("DELTASQL_TEST_ODBC_PG_URI");
	const char *native = getenv("DELTASQL_TEST_PG_URI");

	if (!have_odbc())
		return;
	if (!have_pg("live key", 1))
		return;
	tu_pg_live_key(native, pg);
}
END_TEST

/* Whether DELTASQL_TEST_ODBC_MARIADB_URI is set (scripts/mariadb-server.sh):
 * unset is a failure under CI=true, a loud skip otherwise. */
static const char *mariadb_uri(const char *what)
{
	const char *uri = getenv("DELTASQL_TEST_ODBC_MARIADB_URI");

	if (uri)
		return uri;
	ck_assert_msg(!(getenv("CI") && strcmp(getenv("CI"), "true") == 0),
	              "DELTASQL_TEST_ODBC_MARIADB_URI is not set (CI=true: it must be)");
	fprintf(stderr, "SKIPPED: ODBC-MariaDB %s *** no server (outside CI only) ***\n", what);
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A commit through ODBC blocked by another connection's lock on the
 * table's row gives up after the documented lock timeout (5 s,
 * docs/RELIABILITY.md), and the core's policy (2 s here) ends it with a
 * clean error: it never waits for the lock's holder. Through psqlODBC it
 * used to wait forever. */
static void lock_wait_is_bounded(const char *uri)
{
	dsql_catalog_options o = DSQL_CATALOG_OPTIONS_INIT;
	const dsql_driver *d = dsql_driver_find(uri);
	char table[64];
	dsql_driver_conn *holder;
	dsql_driver_stmt *st;
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	int64_t start, took;
	int rc;

	o.retry.max_attempts = 3;
	o.retry.timeout_ms = 2000;
	snprintf(table, sizeof(table), "locked_%d_%ld", (int)getpid(), random() % 100000);
	ck_assert_msg(dsql_catalog_open(&cat, uri, &o, &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(dsql_table_create(cat, table, NULL, &err) == DSQL_OK, "%s", err.message);
	/* Another connection holds the table's version row. */
	ck_assert_msg(d->connect(&holder, uri, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(d->begin(holder, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	ck_assert_int_eq(d->prepare(&st, holder,
	                            "UPDATE dsql_table SET version = version WHERE name = ?", &err),
	                 DSQL_OK);
	ck_assert_int_eq(d->bind_text(st, 1, table, strlen(table), &err), DSQL_OK);
	ck_assert_msg(d->step(st, &err) == DSQL_DONE, "%s", err.message);
	d->finalize(st);

	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, table, "{\"add\":{\"path\":\"w.parquet\","
	                                            "\"partitionValues\":{},\"size\":1,"
	                                            "\"modificationTime\":1,\"dataChange\":true}}",
	                                &err),
	                 DSQL_OK);
	start = now_ms();
	rc = dsql_txn_commit(txn, &err);
	took = now_ms() - start;
	dsql_txn_free(txn);
	ck_assert_msg(rc == DSQL_ETIMEOUT || rc == DSQL_ERETRY, "%d: %s", rc, err.message);
	ck_assert_msg(took >= 1500 && took < 15000, "gave up after %lld ms", (long long)took);
	ck_assert_int_eq(d->rollback(holder, &err), DSQL_OK);
	d->disconnect(holder);
	/* Nothing was committed; the table works once the lock is gone. */
	ck_assert_int_eq(dsql_table_version(cat, table, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_drop(cat, table, &err), DSQL_OK);
	dsql_catalog_free(cat);
}

START_TEST(postgresql_lock_wait_is_bounded)
{
	if (!have_odbc() || !have_pg("lock wait", 0))
		return;
	lock_wait_is_bounded(getenv("DELTASQL_TEST_ODBC_PG_URI"));
}
END_TEST

START_TEST(mariadb_lock_wait_is_bounded)
{
	const char *uri;

	if (!have_odbc() || !(uri = mariadb_uri("lock wait")))
		return;
	lock_wait_is_bounded(uri);
}
END_TEST

/* MariaDB's own error codes through ODBC, where its SQLSTATEs are generic:
 * a duplicate key (23000/1062) is "exists", not "invalid"; a missing table
 * (42S02/1146) is "not found"; a lock wait timeout (HY000/1205) is a
 * timeout, as PostgreSQL's lock_not_available (a lock held that long is
 * stuck). */
START_TEST(mariadb_errors_by_native_code)
{
	const char *uri;
	const dsql_driver *d;
	dsql_driver_conn *a, *b;
	dsql_driver_stmt *st;
	dsql_error err;
	char t[64], sql[200];

	if (!have_odbc() || !(uri = mariadb_uri("errors")))
		return;
	d = dsql_driver_find(uri);
	snprintf(t, sizeof(t), "errs_%d_%ld", (int)getpid(), random() % 100000);
	ck_assert_int_eq(d->connect(&a, uri, &err), DSQL_OK);
	ck_assert_int_eq(d->connect(&b, uri, &err), DSQL_OK);
#define EXEC(c, text) (d->prepare(&st, c, text, &err) == DSQL_OK                          \
	                       ? (rc = d->step(st, &err), d->finalize(st), rc)                 \
	                       : err.code)
	int rc;
	snprintf(sql, sizeof(sql), "CREATE TABLE %s (k BIGINT PRIMARY KEY)", t);
	ck_assert_int_eq(EXEC(a, sql), DSQL_DONE);
	snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (1)", t);
	ck_assert_int_eq(EXEC(a, sql), DSQL_DONE);
	ck_assert_int_eq(EXEC(a, sql), DSQL_EEXISTS);
	ck_assert_int_eq(err.native_code, 1062);
	ck_assert_int_eq(EXEC(a, "SELECT * FROM no_such_table_here"), DSQL_ENOTFOUND);
	ck_assert_int_eq(err.native_code, 1146);
	/* b holds the row; a waits for it, for the session's 5 s. */
	ck_assert_int_eq(d->begin(b, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	snprintf(sql, sizeof(sql), "UPDATE %s SET k = 1 WHERE k = 1", t);
	ck_assert_int_eq(EXEC(b, sql), DSQL_DONE);
	ck_assert_int_eq(d->begin(a, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	ck_assert_int_eq(EXEC(a, sql), DSQL_ETIMEOUT);
	ck_assert_int_eq(err.native_code, 1205);
	d->rollback(a, &err);
	d->rollback(b, &err);
	snprintf(sql, sizeof(sql), "DROP TABLE %s", t);
	ck_assert_int_eq(EXEC(a, sql), DSQL_DONE);
#undef EXEC
	d->disconnect(a);
	d->disconnect(b);
}
END_TEST

/* A COUNT(*) through the driver's own connection. */
static int64_t odbc_count(const char *uri, const char *sql)
{
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *st;
	dsql_error err;
	int64_t n;

	ck_assert_msg(d->connect(&c, uri, &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(d->prepare(&st, c, sql, &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(d->step(st, &err) == DSQL_ROW, "%s", err.message);
	n = d->column_int64(st, 0);
	d->finalize(st);
	d->disconnect(c);
	return n;
}

/* The MariaDB row's dialect and options: found rows (an UPDATE that sets a
 * value to itself counts its row, so the lock statement finds the table),
 * a byte-exact collation on every catalog table whatever the database's
 * default, and DDL that commits by itself. */
START_TEST(mariadb_dialect)
{
	const char *uri;
	const dsql_dialect *dl;
	dsql_catalog *cat;
	dsql_error err;

	if (!have_odbc() || !(uri = mariadb_uri("dialect")))
		return;
	dl = connection_dialect(uri);
	ck_assert(strstr(dl->table_options, "utf8mb4_nopad_bin"));
	ck_assert(dl->flags & DSQL_DIALECT_DDL_COMMITS);
	ck_assert(!(dl->flags & DSQL_DIALECT_COUNTS_CHANGED)); /* OPTION=2 was added */
	ck_assert_msg(dsql_catalog_open(&cat, uri, NULL, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(odbc_count(uri, "SELECT COUNT(*) FROM information_schema.tables"
	                                    " WHERE table_schema = DATABASE() AND table_name LIKE"
	                                    " 'dsql\\_%' AND table_collation <> 'utf8mb4_nopad_bin'"),
	                 0);
	ck_assert_int_ge(odbc_count(uri, "SELECT COUNT(*) FROM information_schema.tables"
	                                    " WHERE table_schema = DATABASE() AND table_name LIKE"
	                                    " 'dsql\\_%'"),
	                 10);
	dsql_catalog_free(cat);
}
END_TEST

static int64_t version_of_table(dsql_catalog *cat, const char *table)
{
	int64_t v = -1;
	dsql_error err;

	ck_assert_msg(dsql_table_version(cat, table, &v, &err) == DSQL_OK, "%s", err.message);
	return v;
}

/* Runs one statement on a connection of its own. */
static void exec_direct(const char *uri, const char *sql)
{
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *st;
	dsql_error err;

	ck_assert_msg(d->connect(&c, uri, &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(d->prepare(&st, c, sql, &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(d->step(st, &err) == DSQL_DONE, "%s: %s", sql, err.message);
	d->finalize(st);
	d->disconnect(c);
}

static const char *const add_action =
	"{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":1,"
	"\"modificationTime\":1,\"dataChange\":true}}";

/* On MariaDB DDL commits the open transaction by itself (the issue: a
 * document with CREATE TABLE and a failing insert left the lake table
 * moved). The ODBC driver has no database judge of application SQL
 * (prepare_application), so it runs none: DDL there is refused whole,
 * before anything runs, and the lake table does not move. */
START_TEST(mariadb_refuses_sql_that_commits_implicitly)
{
	const char *uri;
	char table[64];
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	size_t idx;
	int rc;

	if (!have_odbc() || !(uri = mariadb_uri("implicit commit")))
		return;
	snprintf(table, sizeof(table), "ddl_%d_%ld", (int)getpid(), random() % 100000);
	ck_assert_msg(dsql_catalog_open(&cat, uri, NULL, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(dsql_table_create(cat, table, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, table, add_action, &err), DSQL_OK);
	rc = dsql_txn_add_sql(txn, &idx, "CREATE TABLE app_x (k BIGINT)", NULL, 0, &err);
	if (rc == DSQL_OK)
		rc = dsql_txn_commit(txn, &err);
	ck_assert_int_eq(rc, DSQL_EUNSUPPORTED);
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of_table(cat, table), 0);
	ck_assert_int_eq(odbc_count(uri, "SELECT COUNT(*) FROM information_schema.tables WHERE"
	                                 " table_schema = DATABASE() AND table_name = 'app_x'"),
	                 0);
	ck_assert_int_eq(dsql_table_drop(cat, table, &err), DSQL_OK);
	dsql_catalog_free(cat);
}
END_TEST

/* A connection string that sets OPTION itself keeps it: the core is then
 * told that UPDATE may count changed rows (DSQL_DIALECT_COUNTS_CHANGED)
 * and never takes a count of 0 for a missing row. With OPTION=0 the lock
 * statement (UPDATE dsql_table SET version = version) changes no row:
 * commits under locks (two handles taking turns on one table, each behind
 * the other's hint) and catalog writes of an unchanged value still work. */
START_TEST(mariadb_counts_changed_rows)
{
	const char *base;
	char uri[700], table[64];
	dsql_catalog *a, *b;
	dsql_error err;

	if (!have_odbc() || !(base = mariadb_uri("changed rows")))
		return;
	snprintf(uri, sizeof(uri), "%s;OPTION=0", base);
	ck_assert(connection_dialect(uri)->flags & DSQL_DIALECT_COUNTS_CHANGED);
	snprintf(table, sizeof(table), "changed_%d_%ld", (int)getpid(), random() % 100000);
	ck_assert_msg(dsql_catalog_open(&a, uri, NULL, &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(dsql_catalog_open(&b, uri, NULL, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(dsql_table_create(a, table, NULL, &err), DSQL_OK);
	for (int i = 0; i < 6; i++) {
		dsql_catalog *cat = i % 2 ? b : a;
		char action[200];
		dsql_txn *txn;

		snprintf(action, sizeof(action),
		         "{\"add\":{\"path\":\"f%d.parquet\",\"partitionValues\":{},\"size\":1,"
		         "\"modificationTime\":1,\"dataChange\":true}}", i);
		ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
		ck_assert_int_eq(dsql_txn_stage(txn, table, action, &err), DSQL_OK);
		ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "commit %d: %s", i, err.message);
		dsql_txn_free(txn);
	}
	ck_assert_int_eq(version_of_table(a, table), 6);
	ck_assert_int_eq(dsql_table_drop(b, table, &err), DSQL_OK);
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

/* One SQLSTATE table for the PostgreSQL and ODBC drivers: states that
 * were classified natively but not through ODBC are now the same both
 * ways (42P07 duplicate_table: "exists", not a database error). */
START_TEST(postgresql_states_classified_as_natively)
{
	const char *uri;
	char name[64], sql[200];
	dsql_error err;
	const dsql_driver *d;
	dsql_driver_conn *c;
	dsql_driver_stmt *st;
	int rc;

	if (!have_odbc() || !have_pg("states", 0))
		return;
	uri = getenv("DELTASQL_TEST_ODBC_PG_URI");
	d = dsql_driver_find(uri);
	snprintf(name, sizeof(name), "states_%d_%ld", (int)getpid(), random() % 100000);
	snprintf(sql, sizeof(sql), "CREATE TABLE %s (k BIGINT)", name);
	exec_direct(uri, sql);
	ck_assert_int_eq(d->connect(&c, uri, &err), DSQL_OK);
	ck_assert_int_eq(d->prepare(&st, c, sql, &err), DSQL_OK);
	rc = d->step(st, &err);
	d->finalize(st);
	ck_assert_int_eq(rc, DSQL_EEXISTS);
	ck_assert_str_eq(err.sqlstate, "42P07");
	snprintf(sql, sizeof(sql), "DROP TABLE %s", name);
	d->disconnect(c);
	exec_direct(uri, sql);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("odbc");
	TCase *tc = tcase_create("odbc vs native");
	int failed;

	tcase_add_test(tc, sqlite_odbc_and_native_agree);
	tcase_add_test(tc, postgresql_odbc_and_native_agree);
	tcase_add_test(tc, passwords_stay_out_of_messages);
	tcase_add_test(tc, statement_shapes_follow_the_database);
	tcase_add_test(tc, postgresql_session_settings);
	tcase_add_test(tc, postgresql_plans_probe_after_vacuum_empties_the_file_index);
	tcase_add_test(tc, postgresql_live_file_key);
	tcase_add_test(tc, postgresql_lock_wait_is_bounded);
	tcase_add_test(tc, mariadb_lock_wait_is_bounded);
	tcase_add_test(tc, mariadb_errors_by_native_code);
	tcase_add_test(tc, mariadb_dialect);
	tcase_add_test(tc, mariadb_refuses_sql_that_commits_implicitly);
	tcase_add_test(tc, mariadb_counts_changed_rows);
	tcase_add_test(tc, postgresql_states_classified_as_natively);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	failed = tu_run_suite(s);
	return failed;
}
