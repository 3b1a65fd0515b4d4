/* The SQLite driver: the shared scenarios on a SQLite file, plus what only
 * a file-based embedded catalog has (schema migration, files that are not
 * catalogs, busy timeouts). */
#define _GNU_SOURCE
#include <check.h>
#include <deltasql.h>
#include <deltasql/driver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog_int.h"
#include "schema.h"
#include "testutil.h"

/* Runs SQL on the catalog file through the driver vtable, outside the
 * library's catalog logic (to set up old or damaged catalogs). */
static void raw_exec(const char *uri, const char *sql)
{
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *s;
	dsql_error err;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->connect(&c, uri, &err), DSQL_OK);
	ck_assert_msg(d->prepare(&s, c, sql, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(d->step(s, &err), DSQL_DONE);
	d->finalize(s);
	d->disconnect(c);
}

static int raw_count(const char *uri, const char *sql)
{
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *s;
	dsql_error err;
	int n;

	ck_assert_int_eq(d->connect(&c, uri, &err), DSQL_OK);
	ck_assert_msg(d->prepare(&s, c, sql, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(d->step(s, &err), DSQL_ROW);
	n = (int)d->column_int64(s, 0);
	d->finalize(s);
	d->disconnect(c);
	return n;
}

START_TEST(old_catalog_is_migrated)
{
	char uri[600];
	struct dsql_catalog old;
	dsql_catalog *cat;
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	dsql_error err;
	dsql_txn *txn;

	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("old"));
	memset(&old, 0, sizeof(old));
	ck_assert_int_eq(db_open(&old.db, uri, &err), DSQL_OK);
	ck_assert_int_eq(schema_create_at(&old, 1, &err), DSQL_OK);
	db_close(old.db);
	raw_exec(uri, "INSERT INTO dsql_catalog (key, value) VALUES ('marker', 'kept')");
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM sqlite_master WHERE name = "
	                                "'dsql_domain'"), 0);
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM sqlite_master WHERE name = "
	                                "'dsql_domain'"), 1);
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM dsql_catalog WHERE key = 'marker'"),
	                 1);
	ck_assert_int_eq(raw_count(uri, "SELECT CAST(value AS INTEGER) FROM dsql_catalog WHERE "
	                                "key = 'schema_version'"),
	                 DSQL_CATALOG_SCHEMA_VERSION);
	/* The upgraded catalog works, including what the migration added. */
	ck_assert_int_eq(dsql_table_create(cat, "t", &o, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "t", "{\"domainMetadata\":{\"domain\":\"d\","
	                                          "\"configuration\":\"{}\",\"removed\":false}}",
	                                &err),
	                 DSQL_OK);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(newer_catalog_is_refused)
{
	char uri[600];
	dsql_catalog *cat;
	dsql_error err;

	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("newer"));
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	dsql_catalog_free(cat);
	raw_exec(uri, "UPDATE dsql_catalog SET value = '99' WHERE key = 'schema_version'");
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_ECATALOG_VERSION);
	ck_assert_ptr_null(cat);
	ck_assert(strstr(err.message, "99"));
	ck_assert(strstr(err.message, "newer"));
}
END_TEST

START_TEST(missing_or_foreign_catalog)
{
	dsql_catalog_options o = DSQL_CATALOG_OPTIONS_INIT;
	char path[512], uri[600];
	dsql_catalog *cat;
	dsql_error err;
	FILE *f;

	o.create = 0;
	ck_assert_int_eq(dsql_catalog_open(&cat, tu_sqlite_uri("absent"), &o, &err),
	                 DSQL_ENOTFOUND);
	ck_assert(strstr(err.message, "deltasql init"));
	snprintf(path, sizeof(path), "%s/garbage.db", tu_tmpdir());
	f = fopen(path, "w");
	fputs("this is not a database, just text that is long enough to look like a header. "
	      "0123456789012345678901234567890123456789",
	      f);
	fclose(f);
	snprintf(uri, sizeof(uri), "sqlite:%s", path);
	ck_assert_int_ne(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_ptr_null(cat);
	ck_assert(strstr(err.message, "not a database"));
	ck_assert_int_eq(dsql_catalog_open(&cat, "sqlite:", NULL, &err), DSQL_EINVALID);
	ck_assert_int_eq(dsql_catalog_open(&cat, "nosuchdb:/x", NULL, &err), DSQL_EINVALID);
	ck_assert(strstr(err.message, "nosuchdb"));
	ck_assert_int_eq(dsql_catalog_open(&cat, "no-scheme", NULL, &err), DSQL_EINVALID);
	ck_assert_int_eq(dsql_catalog_open(&cat, "sqlite:/tmp/x.db?bogus=1", NULL, &err),
	                 DSQL_EINVALID);
	ck_assert(strstr(err.message, "bogus"));
	ck_assert_int_eq(dsql_catalog_open(&cat, "sqlite:/nonexistent-dir/sub/x.db", NULL, &err),
	                 DSQL_ECONNECT);
}
END_TEST

START_TEST(locked_catalog_gives_up_with_retryable_error)
{
	const char *uri0 = tu_sqlite_uri("busy");
	char uri[600];
	const dsql_driver *d;
	dsql_driver_conn *holder;
	dsql_retry_policy p = {3, 1, 5, 10000};
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;

	snprintf(uri, sizeof(uri), "%s?busy_timeout=50", uri0);
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, "t", NULL, &err), DSQL_OK);
	d = dsql_driver_find(uri);
	ck_assert_int_eq(d->connect(&holder, uri, &err), DSQL_OK);
	ck_assert_int_eq(d->begin(holder, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	dsql_catalog_set_retry_policy(cat, &p);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "t", "{\"txn\":{\"appId\":\"a\",\"version\":1}}", &err),
	                 DSQL_OK);
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_ERETRY);
	ck_assert_uint_eq(dsql_txn_attempts(txn), 3);
	ck_assert(strstr(err.message, "gave up after 3 attempts"));
	dsql_txn_free(txn);
	/* Once the lock is gone, a new transaction goes through. */
	ck_assert_int_eq(d->rollback(holder, &err), DSQL_OK);
	d->disconnect(holder);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "t", "{\"txn\":{\"appId\":\"a\",\"version\":1}}", &err),
	                 DSQL_OK);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(two_phase_is_unsupported)
{
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;

	ck_assert_int_eq(dsql_catalog_open(&cat, tu_sqlite_uri("tpc"), NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, "t", NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "t", "{\"txn\":{\"appId\":\"a\",\"version\":1}}", &err),
	                 DSQL_OK);
	ck_assert_int_eq(dsql_txn_prepare(txn, &err), DSQL_EUNSUPPORTED);
	ck_assert(strstr(err.message, "two-phase"));
	ck_assert_ptr_null(dsql_txn_gid(txn));
	ck_assert_int_eq(dsql_prepared_recover(cat, 0, NULL, NULL, &err), DSQL_EUNSUPPORTED);
	ck_assert_int_eq(dsql_prepared_commit(cat, "x", &err), DSQL_EUNSUPPORTED);
	/* Nothing was written, and the transaction can still commit normally. */
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	dsql_catalog_free(cat);
}
END_TEST

static Suite *sqlite_only_suite(void)
{
	Suite *s = suite_create("sqlite-specific");
	TCase *tc = tcase_create("catalog file");

	tcase_add_test(tc, old_catalog_is_migrated);
	tcase_add_test(tc, newer_catalog_is_refused);
	tcase_add_test(tc, missing_or_foreign_catalog);
	tcase_add_test(tc, locked_catalog_gives_up_with_retryable_error);
	tcase_add_test(tc, two_phase_is_unsupported);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int failed;

	/* The shared scenarios run through deltasql-conformance
	 * (tests/run-conformance.sh); these are SQLite's own. */
	failed = tu_run_suite(sqlite_only_suite());
	return failed;
}
