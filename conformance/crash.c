/*
 * Crash consistency: a committing process is killed (SIGKILL) at every
 * named fault point of the commit path; afterwards, and after recovery,
 * every multi-table transaction is present in all its tables or in none,
 * versions stay contiguous, and no prepared transaction is left over.
 * Needs a build with --enable-fault-injection (the test build); without
 * the fault points the commits simply complete, which is checked too.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <deltasql/driver.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct point {
	const char *name;
	int two_phase; /* reached only by two-phase commits */
} point;

static const point points[] = {
	{"after_table_write", 0}, {"before_commit", 0}, {"after_commit", 0},
	{"before_prepare", 1},    {"after_prepare", 1}, {"between_phases", 1},
	{"after_decision", 1},
};

typedef struct count_ctx {
	const char *id;
	int n;
} count_ctx;

static int count_cb(const dsql_commit_info *c, void *payload)
{
	count_ctx *x = payload;

	x->n += strcmp(c->txn_id, x->id) == 0;
	return 0;
}

static int present(dsql_catalog *cat, const char *table, const char *id)
{
	count_ctx x = {id, 0};
	dsql_error err;

	OK(dsql_history(cat, table, count_cb, &x, &err));
	ck_assert_int_le(x.n, 1);
	return x.n;
}

/* The application's own table, written by SQL in the same transaction (made
 * outside it: schema changes are not application SQL everywhere). */
static void app_table(dsql_catalog *cat, const char *lake)
{
	char sql[200];

	(void)cat;
	if (!appsql_judged())
		return; /* the driver runs no application SQL */
	snprintf(sql, sizeof(sql), "CREATE TABLE app_%s (id VARCHAR(100) PRIMARY KEY)", lake);
	direct_exec(sql);
}

/* Drops it again, so that a certification run leaves no table behind. */
static void app_drop(dsql_catalog *cat, const char *lake)
{
	char sql[200];

	(void)cat;
	if (!appsql_judged())
		return;
	snprintf(sql, sizeof(sql), "DROP TABLE app_%s", lake);
	direct_exec(sql);
}

static int app_insert(dsql_txn *txn, const char *lake, const char *id, dsql_error *err)
{
	dsql_param p = {DSQL_TYPE_TEXT, 0, 0, id, strlen(id)};
	char sql[200];

	if (!appsql_judged())
		return DSQL_OK;
	snprintf(sql, sizeof(sql), "INSERT INTO app_%s (id) VALUES (?)", lake);
	return dsql_txn_add_sql(txn, NULL, sql, &p, 1, err);
}

static int app_rows(dsql_catalog *cat, const char *lake, const char *id)
{
	dsql_param p = {DSQL_TYPE_TEXT, 0, 0, id, strlen(id)};
	char sql[200];
	dsql_txn *txn;
	dsql_error err;
	int n;

	snprintf(sql, sizeof(sql), "SELECT id FROM app_%s WHERE id = ?", lake);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_add_sql(txn, NULL, sql, &p, 1, &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	n = (int)dsql_txn_sql_row_count(txn, 0);
	dsql_txn_free(txn);
	return n;
}

static int prepared_cb(const char *gid, int64_t ms, int decided, void *payload)
{
	(void)gid;
	(void)ms;
	(void)decided;
	(*(int *)payload)++;
	return 0;
}

/* Set to leave the prepared transaction for a later recovery; the lake
 * whose application table that transaction writes. */
static int crash_prepared_only;
static char prepared_lake[128];

static void crash_at(const point *p)
{
	dsql_catalog *cat = open_cat();
	char a[128], b[128], id[64];
	unsigned int committed = 0, rolled_back = 0;
	dsql_error err;
	int status, left = 0;
	pid_t pid;

	snprintf(a, sizeof(a), "%s", tname("crash_a"));
	snprintf(b, sizeof(b), "%s", tname("crash_b"));
	snprintf(id, sizeof(id), "crash-%s-%d", p->name, (int)getpid());
	create(cat, a, 0);
	create(cat, b, 0);
	app_table(cat, a);
	pid = fork();
	if (pid == 0) {
		dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
		dsql_catalog *c = NULL;
		dsql_txn *txn;

		o.txn_id = id;
		if (dsql_catalog_open(&c, scn_uri, NULL, &err) || dsql_txn_begin(&txn, c, &o, &err) ||
		    stage(txn, a, add_json("fa", 1, NULL), &err) ||
		    stage(txn, b, add_json("fb", 1, NULL), &err) || app_insert(txn, a, id, &err))
			_exit(10);
		setenv("DELTASQL_FAULT", p->name, 1);
		if ((p->two_phase ? dsql_txn_commit_two_phase(txn, &err) : dsql_txn_commit(txn, &err)))
			_exit(11);
		_exit(20); /* not killed: no fault points in this build */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 20),
	              "%s: child status %d", p->name, status);
	if (crash_prepared_only) {
		snprintf(prepared_lake, sizeof(prepared_lake), "%s", a);
		dsql_catalog_free(cat);
		return;
	}
	if (db_caps() & DSQL_CAP_TWO_PHASE) {
		OK(dsql_prepared_recover(cat, 0, &committed, &rolled_back, &err));
		OK(dsql_prepared_list(cat, prepared_cb, &left, &err));
		ck_assert_msg(left == 0, "%s: %d prepared transactions left", p->name, left);
	}
	/* All or nothing, across both tables and the application's row. */
	ck_assert_msg(present(cat, a, id) == present(cat, b, id), "%s: half a transaction",
	              p->name);
	ck_assert_msg(!appsql_judged() || app_rows(cat, a, id) == present(cat, a, id),
	              "%s: the application's row and the lake tables disagree", p->name);
	if (strcmp(p->name, "after_commit") == 0 || strcmp(p->name, "after_decision") == 0 ||
	    (WIFEXITED(status) && WEXITSTATUS(status) == 20))
		ck_assert_msg(present(cat, a, id) == 1, "%s: a decided commit was lost", p->name);
	if (strcmp(p->name, "after_table_write") == 0 || strcmp(p->name, "before_commit") == 0 ||
	    strcmp(p->name, "before_prepare") == 0 || strcmp(p->name, "after_prepare") == 0 ||
	    strcmp(p->name, "between_phases") == 0)
		ck_assert_msg(!WIFSIGNALED(status) || present(cat, a, id) == 0,
		              "%s: an undecided commit became visible", p->name);
	/* The catalog works on: versions contiguous, commits go through. */
	ck_assert_int_eq(history_len(cat, a), 1 + present(cat, a, id));
	ck_assert_int_eq(commit_add(cat, a, "after"), 1 + present(cat, a, id));
	app_drop(cat, a);
	dsql_catalog_free(cat);
}

/* Recovery itself killed: the next recovery finishes the job. */
static void crash_during_recovery(void)
{
	dsql_catalog *cat = open_cat();
	const point after_decision = {"after_decision", 1};
	unsigned int committed = 0, rolled_back = 0;
	dsql_error err;
	int status, left = 0;
	pid_t pid;

	/* Leave a decided, prepared transaction behind... */
	crash_prepared_only = 1;
	crash_at(&after_decision);
	crash_prepared_only = 0;
	/* ...and kill the first recovery as it starts. */
	pid = fork();
	if (pid == 0) {
		dsql_catalog *c = NULL;

		setenv("DELTASQL_FAULT", "recover_start", 1);
		if (dsql_catalog_open(&c, scn_uri, NULL, &err))
			_exit(10);
		dsql_prepared_recover(c, 0, NULL, NULL, &err);
		_exit(20);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	OK(dsql_prepared_recover(cat, 0, &committed, &rolled_back, &err));
	OK(dsql_prepared_list(cat, prepared_cb, &left, &err));
	ck_assert_int_eq(left, 0);
	app_drop(cat, prepared_lake);
	dsql_catalog_free(cat);
}

START_TEST(killed_at_each_fault_point)
{
	unsigned int caps = db_caps();

	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++)
		if (!points[i].two_phase || (caps & DSQL_CAP_TWO_PHASE))
			crash_at(&points[i]);
	if (caps & DSQL_CAP_TWO_PHASE)
		crash_during_recovery();
}
END_TEST

void crash_cases(Suite *s)
{
	TCase *tc = tcase_create("crash");

	tcase_add_test(tc, killed_at_each_fault_point);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
}
