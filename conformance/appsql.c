/*
 * Application SQL in the metadata commit's transaction: all or nothing
 * with the lake tables, on every driver.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dsql_param text(const char *s)
{
	dsql_param p = {DSQL_TYPE_TEXT, 0, 0, s, strlen(s)};

	return p;
}

static dsql_param int64(int64_t v)
{
	dsql_param p = {DSQL_TYPE_INT64, v, 0, NULL, 0};

	return p;
}

/* Runs one SQL-only commit and returns the first value of its first row
 * (malloc'd), or NULL when it returned no row. */
static char *query_one(dsql_catalog *cat, const char *sql, const dsql_param *params, size_t n)
{
	dsql_txn *txn;
	dsql_error err;
	const char *v;
	char *out = NULL;

	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_add_sql(txn, NULL, sql, params, n, &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s: %s", sql, err.message);
	if (dsql_txn_sql_row_count(txn, 0) > 0 && (v = dsql_txn_sql_value(txn, 0, 0, 0)))
		out = strdup(v);
	dsql_txn_free(txn);
	return out;
}

/* A watermark table of the application's, created through app SQL. */
static const char *make_app_table(dsql_catalog *cat)
{
	static char name[64];
	char sql[256];
	char *r;

	snprintf(name, sizeof(name), "%s", tname("wm"));
	snprintf(sql, sizeof(sql), "CREATE TABLE %s (k VARCHAR(64) PRIMARY KEY, v BIGINT)", name);
	r = query_one(cat, sql, NULL, 0);
	free(r);
	snprintf(sql, sizeof(sql), "INSERT INTO %s (k, v) VALUES ('job', 0)", name);
	r = query_one(cat, sql, NULL, 0);
	free(r);
	return name;
}

static void drop_app_table(dsql_catalog *cat, const char *app)
{
	char sql[128], *r;

	snprintf(sql, sizeof(sql), "DROP TABLE %s", app);
	r = query_one(cat, sql, NULL, 0);
	free(r);
}

static int64_t watermark(dsql_catalog *cat, const char *app)
{
	dsql_param k = text("job");
	char sql[128], *v;
	int64_t out;

	snprintf(sql, sizeof(sql), "SELECT v FROM %s WHERE k = ?", app);
	v = query_one(cat, sql, &k, 1);
	ck_assert_ptr_nonnull(v);
	out = strtoll(v, NULL, 10);
	free(v);
	return out;
}

START_TEST(statements_commit_with_the_metadata)
{
	dsql_catalog *cat = open_cat();
	const char *lake = tname("lake"), *app = make_app_table(cat);
	dsql_param p[2] = {int64(42), text("job")};
	char sql[160];
	dsql_txn *txn;
	dsql_error err;
	size_t idx;

	create(cat, lake, 0);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, lake, add_json("f1", 1, NULL), &err));
	snprintf(sql, sizeof(sql), "UPDATE %s SET v = ? WHERE k = ?", app);
	OK(dsql_txn_add_sql(txn, &idx, sql, p, 2, &err));
	ck_assert_uint_eq(idx, 0);
	snprintf(sql, sizeof(sql), "SELECT k, v, NULL FROM %s WHERE v = ?", app);
	OK(dsql_txn_add_sql(txn, &idx, sql, p, 1, &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(dsql_txn_sql_changes(txn, 0), 1);
	/* The SELECT ran after the UPDATE, in the same transaction. */
	ck_assert_uint_eq(dsql_txn_sql_row_count(txn, 1), 1);
	ck_assert_uint_eq(dsql_txn_sql_column_count(txn, 1), 3);
	ck_assert_str_eq(dsql_txn_sql_value(txn, 1, 0, 0), "job");
	ck_assert_str_eq(dsql_txn_sql_value(txn, 1, 0, 1), "42");
	ck_assert_ptr_null(dsql_txn_sql_value(txn, 1, 0, 2));
	ck_assert_ptr_null(dsql_txn_sql_value(txn, 1, 1, 0));
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, lake), 1);
	ck_assert_int_eq(watermark(cat, app), 42);
	drop_app_table(cat, app);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(failing_statement_leaves_everything_unchanged)
{
	dsql_catalog *cat = open_cat();
	const char *lake = tname("lake"), *app = make_app_table(cat);
	dsql_param p = int64(7);
	char sql[160];
	dsql_txn *txn;
	dsql_error err;

	create(cat, lake, 0);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, lake, add_json("f1", 1, NULL), &err));
	snprintf(sql, sizeof(sql), "UPDATE %s SET v = ?", app);
	OK(dsql_txn_add_sql(txn, NULL, sql, &p, 1, &err));
	snprintf(sql, sizeof(sql), "INSERT INTO %s (k, v) VALUES ('job', 1)", app); /* duplicate */
	OK(dsql_txn_add_sql(txn, NULL, sql, NULL, 0, &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EEXISTS);
	ck_assert_int_eq(err.statement_index, 1);
	ck_assert_msg(strstr(err.message, "application statement 1"), "%s", err.message);
	ck_assert_msg(strncmp(err.sqlstate, "23", 2) == 0 || strcmp(err.sqlstate, "HY000") == 0,
	              "sqlstate %s", err.sqlstate);
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, lake), 0);
	ck_assert_int_eq(watermark(cat, app), 0);
	drop_app_table(cat, app);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(conflict_leaves_application_rows_unchanged)
{
	dsql_catalog *cat = open_cat();
	const char *lake = tname("lake"), *app = make_app_table(cat);
	dsql_param p = int64(99);
	char sql[160];
	dsql_txn *w, *me;
	dsql_error err;

	create(cat, lake, 0);
	commit_add(cat, lake, "f");
	OK(dsql_txn_begin(&me, cat, NULL, &err));
	OK(dsql_txn_open_table(me, lake, DSQL_LATEST, &err));
	OK(dsql_txn_begin(&w, cat, NULL, &err));
	OK(stage(w, lake, remove_json("f"), &err));
	ck_assert_msg(dsql_txn_commit(w, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(w);
	OK(stage(me, lake, remove_json("f"), &err));
	snprintf(sql, sizeof(sql), "UPDATE %s SET v = ?", app);
	OK(dsql_txn_add_sql(me, NULL, sql, &p, 1, &err));
	ck_assert_int_eq(dsql_txn_commit(me, &err), DSQL_ECONFLICT);
	dsql_txn_free(me);
	ck_assert_int_eq(watermark(cat, app), 0);
	drop_app_table(cat, app);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(refuses_transaction_control_and_batches)
{
	static const char *bad[] = {
		"COMMIT", "  rollback", "/* x */ BEGIN", "-- c\nSAVEPOINT s", "END",
		"SELECT 1; DROP TABLE dsql_table", "", "   ", "PREPARE TRANSACTION 'x'",
	};
	dsql_catalog *cat = open_cat();
	dsql_param p[3];
	dsql_txn *txn;
	dsql_error err;
	char *v;

	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(dsql_txn_add_sql(txn, NULL, bad[i], NULL, 0, &err) == DSQL_EINVALID,
		              "accepted '%s'", bad[i]);
	/* A ';' inside a literal or at the end is fine. */
	OK(dsql_txn_add_sql(txn, NULL, "SELECT 'a;b';", NULL, 0, &err));
	dsql_txn_free(txn);
	/* Values are bound, never spliced: a hostile string is just data. */
	p[0] = text("x'); DROP TABLE dsql_table; --");
	p[1] = int64(-9223372036854775807LL - 1);
	p[2].type = DSQL_TYPE_NULL;
	v = query_one(cat, "SELECT ?", p, 1);
	ck_assert_str_eq(v, "x'); DROP TABLE dsql_table; --");
	free(v);
	v = query_one(cat, "SELECT ?", p + 1, 1);
	ck_assert_str_eq(v, "-9223372036854775808");
	free(v);
	/* The catalog is intact. */
	{
		const char *t = tname("intact");

		create(cat, t, 0);
		ck_assert_int_eq(version_of(cat, t), 0);
	}
	dsql_catalog_free(cat);
}
END_TEST

void appsql_cases(Suite *s)
{
	TCase *tc = tcase_create("application sql");

	tcase_add_test(tc, statements_commit_with_the_metadata);
	tcase_add_test(tc, failing_statement_leaves_everything_unchanged);
	tcase_add_test(tc, conflict_leaves_application_rows_unchanged);
	tcase_add_test(tc, refuses_transaction_control_and_batches);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
}
