/*
 * Application SQL in the metadata commit's transaction: all or nothing
 * with the lake tables, on every driver.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <deltasql/driver.h>
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

/* A watermark table of the application's. Schema changes are the
 * application's own business, outside a commit (on PostgreSQL application
 * SQL takes no DDL). */
static const char *make_app_table(dsql_catalog *cat)
{
	static char name[64];
	char sql[256];

	(void)cat;
	snprintf(name, sizeof(name), "%s", tname("wm"));
	snprintf(sql, sizeof(sql), "CREATE TABLE %s (k VARCHAR(64) PRIMARY KEY, v BIGINT)", name);
	direct_exec(sql);
	snprintf(sql, sizeof(sql), "INSERT INTO %s (k, v) VALUES ('job', 0)", name);
	direct_exec(sql);
	return name;
}

static void drop_app_table(dsql_catalog *cat, const char *app)
{
	char sql[128];

	(void)cat;
	snprintf(sql, sizeof(sql), "DROP TABLE %s", app);
	direct_exec(sql);
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

/* Commits an add to lake with one application statement; returns the
 * commit's code (err filled). */
static int commit_with(dsql_catalog *cat, const char *lake, const char *sql, dsql_error *err)
{
	static int n;
	char path[32];
	dsql_txn *txn;
	int rc;

	snprintf(path, sizeof(path), "f%d", ++n);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, err), DSQL_OK);
	ck_assert_int_eq(stage(txn, lake, add_json(path, 1, NULL), err), DSQL_OK);
	rc = dsql_txn_add_sql(txn, NULL, sql, NULL, 0, err);
	if (rc == DSQL_OK)
		rc = dsql_txn_commit(txn, err);
	dsql_txn_free(txn);
	return rc;
}

/* Transaction control, a second statement however it is hidden, and what
 * changes the connection are refused by the database's own judgment, and
 * refused whole: nothing of the commit happens, and the handle commits
 * normally afterwards. */
START_TEST(refuses_transaction_control_and_batches)
{
	static const char *const bad[] = {
		"COMMIT", "  rollback", "/* x */ BEGIN", "-- c\nSAVEPOINT s", "END",
		"/* /* */ */ COMMIT", "/* /* */ */ ROLLBACK", "PREPARE TRANSACTION 'x'",
		"RELEASE SAVEPOINT s", "ROLLBACK TO SAVEPOINT s", "   ", "-- nothing",
		"PRAGMA query_only = 1", "ATTACH DATABASE 'attached.db' AS elsewhere",
		"DETACH DATABASE elsewhere",
	};
	/* A second statement behind quoting that a hand-written scanner takes
	 * for a literal ([...] and `...` are identifiers on SQLite). */
	static const char *const hidden[] = {
		"SELECT 1; UPDATE %s SET v = 5",
		"SELECT 1 AS [x'];UPDATE %s SET v = 5;--]",
		"SELECT 1 AS `x'`;UPDATE %s SET v = 5;--'",
		"SELECT 1 /* ; */ ; UPDATE %s SET v = 5",
		"SELECT 1;\n/* /* */ */ UPDATE %s SET v = 5",
	};
	dsql_catalog *cat = open_cat();
	const char *lake = tname("lake"), *app = make_app_table(cat);
	char sql[256];
	dsql_error err;

	create(cat, lake, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = commit_with(cat, lake, bad[i], &err);

		ck_assert_msg(rc == DSQL_EINVALID, "'%s': %d %s", bad[i], rc, err.message);
		ck_assert_msg(err.statement_index == 0 ||
		                      strstr(err.message, "application statement 0"),
		              "'%s': %s", bad[i], err.message);
		ck_assert_int_eq(version_of(cat, lake), 0);
	}
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		int rc;

		snprintf(sql, sizeof(sql), hidden[i], app);
		rc = commit_with(cat, lake, sql, &err);
		ck_assert_msg(rc == DSQL_EINVALID, "'%s': %d %s", sql, rc, err.message);
		ck_assert_int_eq(version_of(cat, lake), 0);
		ck_assert_int_eq(watermark(cat, app), 0);
	}
	/* A ';' inside a literal or at the end is one statement. */
	ck_assert_msg(commit_with(cat, lake, "SELECT 'a;b';", &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(version_of(cat, lake), 1);
	/* The handle was left as it was: still read-write, still in one
	 * database, and the next commit with its statement goes through. */
	snprintf(sql, sizeof(sql), "UPDATE %s SET v = 3", app);
	ck_assert_msg(commit_with(cat, lake, sql, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(version_of(cat, lake), 2);
	ck_assert_int_eq(watermark(cat, app), 3);
	drop_app_table(cat, app);
	dsql_catalog_free(cat);
}
END_TEST

/* The catalog's own tables are out of reach of application SQL. */
START_TEST(refuses_the_catalogs_tables)
{
	static const char *const bad[] = {
		"DROP TABLE dsql_tombstone", "UPDATE dsql_table SET version = version + 5",
		"DELETE FROM DSQL_FILE", "SELECT * FROM \"dsql_commit\"",
		"INSERT INTO dsql_transaction (txn_id) VALUES ('x')",
		"UPDATE main.dsql_table SET version = 0", "DELETE FROM [dsql_action]",
	};
	dsql_catalog *cat = open_cat();
	const char *lake = tname("lake");
	dsql_txn *txn;
	dsql_error err;

	create(cat, lake, 0);
	commit_add(cat, lake, "a");
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(dsql_txn_add_sql(txn, NULL, bad[i], NULL, 0, &err) == DSQL_EINVALID,
		              "accepted '%s'", bad[i]);
		ck_assert_msg(strstr(err.message, "catalog"), "%s", err.message);
	}
	/* A word that merely contains the prefix is not the catalog's. */
	OK(dsql_txn_add_sql(txn, NULL, "SELECT 1 AS mydsql_x", NULL, 0, &err));
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, lake), 1);
	assert_paths(cat, lake, 1, "a");
	dsql_catalog_free(cat);
}
END_TEST

/* Values are bound, never spliced: a hostile string is just data. */
START_TEST(hostile_values_are_data)
{
	dsql_catalog *cat = open_cat();
	dsql_param p[2];
	char *v;

	p[0] = text("x'); DROP TABLE dsql_table; --");
	p[1] = int64(-9223372036854775807LL - 1);
	v = query_one(cat, "SELECT ?", p, 1);
	ck_assert_str_eq(v, "x'); DROP TABLE dsql_table; --");
	free(v);
	v = query_one(cat, "SELECT ?", p + 1, 1);
	ck_assert_str_eq(v, "-9223372036854775808");
	free(v);
	{
		const char *t = tname("intact");

		create(cat, t, 0);
		ck_assert_int_eq(version_of(cat, t), 0);
	}
	dsql_catalog_free(cat);
}
END_TEST

/* A parameter whose type is none of dsql_type's is refused, naming it. */
START_TEST(refuses_a_parameter_of_unknown_type)
{
	dsql_catalog *cat = open_cat();
	dsql_param p[2] = {int64(1), int64(2)};
	dsql_txn *txn;
	dsql_error err;

	p[1].type = (dsql_type)99;
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	ck_assert_int_eq(dsql_txn_add_sql(txn, NULL, "SELECT ?, ?", p, 2, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "parameter 2"), "%s", err.message);
	ck_assert_msg(strstr(err.message, "unknown type"), "%s", err.message);
	dsql_txn_free(txn);
	dsql_catalog_free(cat);
}
END_TEST

/* changes() belongs to the statement that changed rows: a SELECT after
 * an UPDATE changed none. */
START_TEST(a_select_changes_no_rows)
{
	dsql_catalog *cat = open_cat();
	const char *app = make_app_table(cat);
	char sql[160];
	dsql_txn *txn;
	dsql_error err;

	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	snprintf(sql, sizeof(sql), "UPDATE %s SET v = 8", app);
	OK(dsql_txn_add_sql(txn, NULL, sql, NULL, 0, &err));
	snprintf(sql, sizeof(sql), "SELECT v FROM %s", app);
	OK(dsql_txn_add_sql(txn, NULL, sql, NULL, 0, &err));
	snprintf(sql, sizeof(sql), "UPDATE %s SET v = 9 WHERE k = 'none'", app);
	OK(dsql_txn_add_sql(txn, NULL, sql, NULL, 0, &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(dsql_txn_sql_changes(txn, 0), 1);
	ck_assert_int_eq(dsql_txn_sql_changes(txn, 1), 0);
	ck_assert_uint_eq(dsql_txn_sql_row_count(txn, 1), 1);
	ck_assert_int_eq(dsql_txn_sql_changes(txn, 2), 0);
	dsql_txn_free(txn);
	drop_app_table(cat, app);
	dsql_catalog_free(cat);
}
END_TEST

/* A driver that cannot have the database judge application SQL runs none:
 * the statement is refused when added, and nothing is committed. */
START_TEST(unjudged_application_sql_is_refused)
{
	dsql_catalog *cat = open_cat();
	const char *lake = tname("lake");
	dsql_error err;

	create(cat, lake, 0);
	ck_assert_int_eq(commit_with(cat, lake, "SELECT 1", &err), DSQL_EUNSUPPORTED);
	ck_assert_msg(strstr(err.message, "application SQL"), "%s", err.message);
	ck_assert_int_eq(version_of(cat, lake), 0);
	dsql_catalog_free(cat);
}
END_TEST

int appsql_judged(void)
{
	const dsql_driver *d = dsql_driver_find(scn_uri);

	return d && d->prepare_application && d->in_transaction;
}

void appsql_cases(Suite *s)
{
	TCase *tc = tcase_create("application sql");

	if (appsql_judged()) {
		tcase_add_test(tc, refuses_the_catalogs_tables);
		tcase_add_test(tc, refuses_a_parameter_of_unknown_type);
		tcase_add_test(tc, statements_commit_with_the_metadata);
		tcase_add_test(tc, failing_statement_leaves_everything_unchanged);
		tcase_add_test(tc, conflict_leaves_application_rows_unchanged);
		tcase_add_test(tc, refuses_transaction_control_and_batches);
		tcase_add_test(tc, hostile_values_are_data);
		tcase_add_test(tc, a_select_changes_no_rows);
	} else {
		tcase_add_test(tc, unjudged_application_sql_is_refused);
		scn_not_supported[scn_n_not_supported++] =
			"application SQL: the driver cannot have the database judge a statement "
			"(prepare_application, ABI 4); it runs none";
	}
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
}
