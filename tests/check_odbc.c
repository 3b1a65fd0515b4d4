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
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	failed = tu_run_suite(s);
	return failed;
}
