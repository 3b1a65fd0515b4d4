/*
 * Native two-phase commit (drivers with DSQL_CAP_TWO_PHASE): prepare in one
 * process, resolve from another; recovery after a crash between the phases.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* In a child process: stages an add to table t and prepares (or, with a
 * fault point set, commits two-phase and dies at that point). The gid goes
 * to fd. */
static pid_t prepare_in_child(const char *t, const char *path, const char *fault, int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		dsql_catalog *cat = NULL;
		dsql_txn *txn;
		dsql_error err;
		int rc;

		dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;

		o.txn_id = t; /* so that the parent can tell its gid */
		if (dsql_catalog_open(&cat, scn_uri, NULL, &err) || dsql_txn_begin(&txn, cat, &o, &err) ||
		    stage(txn, t, add_json(path, 1, NULL), &err))
			_exit(10);
		if (fault) {
			setenv("DELTASQL_FAULT", fault, 1);
			rc = dsql_txn_commit_two_phase(txn, &err);
			_exit(rc == DSQL_OK ? 20 : 11); /* 20: fault points not compiled in */
		}
		if (dsql_txn_prepare(txn, &err) != DSQL_OK)
			_exit(12);
		if (write(fd, dsql_txn_gid(txn), strlen(dsql_txn_gid(txn))) < 0)
			_exit(13);
		/* Die without resolving: the prepared transaction outlives us. */
		kill(getpid(), SIGKILL);
	}
	return pid;
}

static void read_gid(int fd, char *gid, size_t cap)
{
	ssize_t n = read(fd, gid, cap - 1);

	ck_assert_int_gt(n, 0);
	gid[n] = '\0';
}

/* want: the gid to look for; suffix: else the gid that ends with it (kept
 * in gid). */
typedef struct listed {
	const char *want, *suffix;
	int found, decided;
	char gid[256];
} listed;

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int list_cb(const char *gid, int64_t prepared_ms, int decided, void *payload)
{
	listed *l = payload;

	ck_assert_int_gt(prepared_ms, 0);
	if (l->want ? strcmp(gid, l->want) == 0 : ends_with(gid, l->suffix)) {
		l->found = 1;
		snprintf(l->gid, sizeof(l->gid), "%s", gid);
		l->decided = decided;
	}
	return 0;
}

static void prepare_then(int commit)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("tpc");
	char gid[256];
	listed l;
	dsql_error err;
	int fds[2], status;
	pid_t pid;

	create(cat, t, 0);
	ck_assert_int_eq(pipe(fds), 0);
	pid = prepare_in_child(t, "prepared-file", NULL, fds[1]);
	read_gid(fds[0], gid, sizeof(gid));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	/* Prepared, not visible. */
	ck_assert_int_eq(version_of(cat, t), 0);
	l.want = gid;
	l.suffix = NULL;
	l.found = l.decided = 0;
	OK(dsql_prepared_list(cat, list_cb, &l, &err));
	ck_assert_msg(l.found, "gid %s not listed", gid);
	ck_assert_int_eq(l.decided, 0);
	if (commit) {
		OK(dsql_prepared_commit(cat, gid, &err));
		ck_assert_int_eq(version_of(cat, t), 1);
		assert_paths(cat, t, 1, "prepared-file");
		/* Committing twice is harmless. */
		OK(dsql_prepared_commit(cat, gid, &err));
	} else {
		OK(dsql_prepared_rollback(cat, gid, &err));
		ck_assert_int_eq(version_of(cat, t), 0);
		ck_assert_int_eq(dsql_prepared_rollback(cat, gid, &err), DSQL_ENOTFOUND);
		/* The table's lock is gone: it takes commits again. */
		ck_assert_int_eq(commit_add(cat, t, "after"), 1);
	}
	l.found = 0;
	OK(dsql_prepared_list(cat, list_cb, &l, &err));
	ck_assert_int_eq(l.found, 0);
	ck_assert_int_eq(dsql_prepared_commit(cat, "not-a-gid", &err), DSQL_EINVALID);
	dsql_catalog_free(cat);
}

START_TEST(prepare_in_one_process_commit_in_another)
{
	prepare_then(1);
}
END_TEST

START_TEST(prepare_in_one_process_roll_back_in_another)
{
	prepare_then(0);
}
END_TEST

/* A crash between the phases: after the decision was recorded, recovery
 * commits; before it, recovery rolls back. */
static void crash_at(const char *fault, int want_committed)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("crash");
	unsigned int committed = 9, rolled_back = 9;
	listed l;
	dsql_error err;
	int status;
	pid_t pid;

	create(cat, t, 0);
	pid = prepare_in_child(t, "crash-file", fault, -1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 20) {
		/* A build without fault points: the commit simply went through. */
		ck_assert_int_eq(version_of(cat, t), 1);
		dsql_catalog_free(cat);
		return;
	}
	ck_assert_msg(WIFSIGNALED(status), "child status %d", status);
	ck_assert_int_eq(version_of(cat, t), 0);
	/* A recorded decision to commit cannot be rolled back. */
	l.want = NULL;
	l.suffix = t;
	l.found = l.decided = 0;
	OK(dsql_prepared_list(cat, list_cb, &l, &err));
	ck_assert_int_eq(l.found, 1);
	ck_assert_int_eq(l.decided, want_committed);
	if (want_committed) {
		ck_assert_int_eq(dsql_prepared_rollback(cat, l.gid, &err), DSQL_EINVALID);
		ck_assert_msg(strstr(err.message, "recorded decision to commit"), "%s", err.message);
		ck_assert_int_eq(version_of(cat, t), 0);
	}
	/* Within the grace period nothing is touched. */
	OK(dsql_prepared_recover(cat, 3600 * 1000, &committed, &rolled_back, &err));
	ck_assert_uint_eq(committed + rolled_back, 0);
	OK(dsql_prepared_recover(cat, 0, &committed, &rolled_back, &err));
	ck_assert_uint_eq(committed, (unsigned)want_committed);
	ck_assert_uint_eq(rolled_back, (unsigned)!want_committed);
	ck_assert_int_eq(version_of(cat, t), want_committed ? 1 : 0);
	assert_paths(cat, t, DSQL_LATEST, want_committed ? "crash-file" : "");
	ck_assert_int_eq(commit_add(cat, t, "later"), want_committed ? 2 : 1);
	dsql_catalog_free(cat);
}

START_TEST(crash_after_decision_is_committed_by_recovery)
{
	crash_at("after_decision", 1);
}
END_TEST

START_TEST(crash_before_decision_is_rolled_back_by_recovery)
{
	crash_at("between_phases", 0);
}
END_TEST

START_TEST(two_phase_commit_in_one_call)
{
	dsql_catalog *cat = open_cat();
	const char *a = tname("tpa"), *b = tname("tpb");
	dsql_txn *txn;
	dsql_error err;
	int64_t v;

	create(cat, a, 0);
	create(cat, b, 0);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, a, add_json("x", 1, NULL), &err));
	OK(stage(txn, b, add_json("y", 1, NULL), &err));
	if (appsql_judged())
		OK(dsql_txn_add_sql(txn, NULL, "SELECT 1", NULL, 0, &err));
	OK(dsql_txn_commit_two_phase(txn, &err));
	/* Committed: no gid left to resolve (the CLI prints one when there is). */
	ck_assert_ptr_null(dsql_txn_gid(txn));
	OK(dsql_txn_committed_version(txn, a, &v));
	ck_assert_int_eq(v, 1);
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, a), 1);
	ck_assert_int_eq(version_of(cat, b), 1);
	dsql_catalog_free(cat);
}
END_TEST

void twophase_cases(Suite *s)
{
	TCase *tc = tcase_create("two-phase commit");

	tcase_add_test(tc, prepare_in_one_process_commit_in_another);
	tcase_add_test(tc, prepare_in_one_process_roll_back_in_another);
	tcase_add_test(tc, crash_after_decision_is_committed_by_recovery);
	tcase_add_test(tc, crash_before_decision_is_rolled_back_by_recovery);
	tcase_add_test(tc, two_phase_commit_in_one_call);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
}
