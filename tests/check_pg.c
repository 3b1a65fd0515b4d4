/* What only a server database has: a connection that dies in the middle of
 * a commit. The shared scenarios run on PostgreSQL through
 * deltasql-conformance; these are PostgreSQL's own. */
#define _GNU_SOURCE
#include <check.h>
#include <deltasql.h>
#include <deltasql/driver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *uri;

/* Runs SQL on a separate connection, through the driver. */
static int64_t admin(const char *sql)
{
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *s;
	dsql_error err;
	int64_t n = 0;

	ck_assert_int_eq(d->connect(&c, uri, &err), DSQL_OK);
	ck_assert_msg(d->prepare(&s, c, sql, &err) == DSQL_OK, "%s", err.message);
	while (d->step(s, &err) == DSQL_ROW)
		n++;
	d->finalize(s);
	d->disconnect(c);
	return n;
}

typedef struct txn_count {
	const char *id;
	int n;
} txn_count;

static int count_cb(const dsql_commit_info *c, void *payload)
{
	txn_count *x = payload;

	x->n += strcmp(c->txn_id, x->id) == 0;
	return 0;
}

static int count_txn(dsql_catalog *cat, const char *table, const char *txn_id)
{
	txn_count x = {txn_id, 0};
	dsql_error err;

	ck_assert_int_eq(dsql_history(cat, table, count_cb, &x, &err), DSQL_OK);
	return x.n;
}

/* The committing process is held just before COMMIT; its server process is
 * terminated; the library must find out for certain that the commit did
 * not happen (journal), and retry it: exactly one commit in the end. */
START_TEST(connection_killed_before_commit_is_resolved)
{
	char table[64], id[64];
	dsql_catalog *cat;
	dsql_error err;
	int status, fds[2], pids[2];
	pid_t pid;

	snprintf(table, sizeof(table), "killed_%d", (int)getpid());
	snprintf(id, sizeof(id), "kill-test-%d", (int)getpid());
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, table, NULL, &err), DSQL_OK);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(pipe(pids), 0);
	pid = fork();
	if (pid == 0) {
		dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
		dsql_catalog *c = NULL;
		dsql_txn *txn;
		char line[32];

		o.txn_id = id;
		if (dsql_catalog_open(&c, uri, NULL, &err))
			_exit(10);
		/* Tell the parent which server process to terminate (this
		 * connection's), so that tests running alongside are spared. */
		if (dsql_txn_begin(&txn, c, NULL, &err) ||
		    dsql_txn_add_sql(txn, NULL, "SELECT pg_backend_pid()", NULL, 0, &err) ||
		    dsql_txn_commit(txn, &err))
			_exit(13);
		snprintf(line, sizeof(line), "%s\n", dsql_txn_sql_value(txn, 0, 0, 0));
		dsql_txn_free(txn);
		if (write(pids[1], line, strlen(line)) < 0)
			_exit(14);
		setenv("DELTASQL_PAUSE", "before_commit", 1);
		setenv("DELTASQL_PAUSE_MS", "1500", 1);
		if (dsql_txn_begin(&txn, c, &o, &err) ||
		    dsql_txn_stage(txn, table, "{\"txn\":{\"appId\":\"a\",\"version\":1}}", &err))
			_exit(10);
		if (dsql_txn_commit(txn, &err) != DSQL_OK) {
			fprintf(stderr, "commit: %s\n", err.message);
			_exit(11);
		}
		snprintf(line, sizeof(line), "%u", dsql_txn_attempts(txn));
		if (write(fds[1], line, strlen(line)) < 0)
			_exit(12);
		_exit(0);
	}
	close(fds[1]);
	close(pids[1]);
	{
		char buf[32] = {0}, sql[128];

		ck_assert_int_gt(read(pids[0], buf, sizeof(buf) - 1), 0);
		usleep(500000);
		/* The child is idle in its transaction, paused before COMMIT. */
		snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", atoi(buf));
		ck_assert_int_eq(admin(sql), 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	{
		char buf[32] = {0};

		ck_assert_int_gt(read(fds[0], buf, sizeof(buf) - 1), 0);
		ck_assert_int_ge(atoi(buf), 2); /* the first attempt died */
	}
	ck_assert_int_eq(count_txn(cat, table, id), 1);
	dsql_table_drop(cat, table, &err);
	dsql_catalog_free(cat);
}
END_TEST

/* A lock nobody releases (a prepared transaction whose coordinator died)
 * does not hang a commit forever: it fails within the retry policy's time
 * limit, and nothing is written. */
START_TEST(stuck_lock_times_out)
{
	char table[64];
	dsql_retry_policy p = {3, 10, 100, 1000};
	dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	char gid[256] = "";
	time_t t0;
	int rc, fds[2], status;
	pid_t pid;

	snprintf(table, sizeof(table), "stuck_%d", (int)getpid());
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, table, NULL, &err), DSQL_OK);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		dsql_catalog *c = NULL;

		if (dsql_catalog_open(&c, uri, NULL, &err) || dsql_txn_begin(&txn, c, NULL, &err) ||
		    dsql_txn_stage(txn, table, "{\"txn\":{\"appId\":\"a\",\"version\":1}}", &err) ||
		    dsql_txn_prepare(txn, &err))
			_exit(10);
		if (write(fds[1], dsql_txn_gid(txn), strlen(dsql_txn_gid(txn))) < 0)
			_exit(11);
		_exit(0); /* dies holding the prepared transaction's locks */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_gt(read(fds[0], gid, sizeof(gid) - 1), 0);
	o.retry = &p;
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, &o, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, table, "{\"txn\":{\"appId\":\"b\",\"version\":1}}",
	                                &err), DSQL_OK);
	t0 = time(NULL);
	rc = dsql_txn_commit(txn, &err);
	ck_assert_msg(rc == DSQL_ETIMEOUT || rc == DSQL_ERETRY, "commit returned %d: %s", rc,
	              err.message);
	ck_assert_int_lt(time(NULL) - t0, 30);
	dsql_txn_free(txn);
	ck_assert_int_eq(dsql_prepared_rollback(cat, gid, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_drop(cat, table, &err), DSQL_OK);
	dsql_catalog_free(cat);
}
END_TEST

/* Catalog schema on PostgreSQL: the indexes that keep commits and snapshots
 * fast exist. */
START_TEST(schema_has_its_indexes)
{
	dsql_catalog *cat;
	dsql_error err;

	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(admin("SELECT 1 FROM pg_indexes WHERE indexname IN ('dsql_commit_txn',"
	                       " 'dsql_action_kind', 'dsql_file_live')"),
	                 3);
	dsql_catalog_free(cat);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("postgresql");
	TCase *tc = tcase_create("server");
	int failed;

	uri = getenv("DELTASQL_TEST_PG_URI");
	if (!uri || !*uri) {
		if (getenv("CI") && strcmp(getenv("CI"), "true") == 0) {
			fprintf(stderr, "FAIL: DELTASQL_TEST_PG_URI is not set (CI=true: PostgreSQL "
			                "tests must run)\n");
			return 1;
		}
		fprintf(stderr, "SKIPPED: PostgreSQL tests *** DELTASQL_TEST_PG_URI is not set "
		                "(outside CI only) ***\n");
		return 77;
	}
	tcase_add_test(tc, connection_killed_before_commit_is_resolved);
	tcase_add_test(tc, schema_has_its_indexes);
	tcase_add_test(tc, stuck_lock_times_out);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	failed = tu_run_suite(s);
	return failed;
}
