/*
 * Changes between versions (deltasql/changes.h): every add, remove and cdc
 * file of a version range in commit order, with its version, commit time and
 * transaction; the versions after one; and clear errors for ranges that
 * cannot be answered (reversed, beyond the latest, expired).
 */
#define _GNU_SOURCE
#include "helpers.h"
#include <deltasql/driver.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SEEN 32

typedef struct seen {
	char line[MAX_SEEN][160]; /* "version kind path size dataChange" */
	int64_t ts[MAX_SEEN], seq[MAX_SEEN];
	char txn[MAX_SEEN][64];
	int n;
	int stop_after; /* > 0: stop (returning 7) once this many were seen */
} seen;

static int on_change(const dsql_change *c, void *payload)
{
	seen *s = payload;
	json_t *body = json_loads(c->action_json, 0, NULL);

	ck_assert_int_lt(s->n, MAX_SEEN);
	/* The body is the action's own JSON: it names the same file. */
	ck_assert_msg(body && strcmp(json_string_value(json_object_get(body, "path")), c->path) == 0,
	              "action_json %s does not name %s", c->action_json, c->path);
	json_decref(body);
	snprintf(s->line[s->n], sizeof(s->line[0]), "%lld %s %s %lld %d", (long long)c->version,
	         c->kind == DSQL_CHANGE_ADD ? "add" : c->kind == DSQL_CHANGE_REMOVE ? "remove" : "cdc",
	         c->path, (long long)c->size, c->data_change);
	s->ts[s->n] = c->timestamp_ms;
	s->seq[s->n] = c->seq;
	snprintf(s->txn[s->n], sizeof(s->txn[0]), "%s", c->txn_id);
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after ? 7 : 0;
}

static int on_version(const dsql_commit_info *c, void *payload)
{
	seen *s = payload;

	ck_assert_int_lt(s->n, MAX_SEEN);
	snprintf(s->line[s->n], sizeof(s->line[0]), "%lld %s +%lld -%lld", (long long)c->version,
	         c->operation, (long long)c->adds, (long long)c->removes);
	s->ts[s->n] = c->timestamp_ms;
	snprintf(s->txn[s->n], sizeof(s->txn[0]), "%s", c->txn_id);
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after ? 7 : 0;
}

static void want_lines(const seen *s, const char *const *want)
{
	int n = 0;

	while (want[n])
		n++;
	for (int i = 0; i < n && i < s->n; i++)
		ck_assert_str_eq(s->line[i], want[i]);
	ck_assert_int_eq(s->n, n);
}

static char *cdc_json(const char *path, int64_t size)
{
	char *s;

	ck_assert(asprintf(&s,
	                   "{\"cdc\":{\"path\":\"%s\",\"partitionValues\":{},\"size\":%lld,"
	                   "\"dataChange\":false}}",
	                   path, (long long)size) > 0);
	return s;
}

static void commit_two(dsql_catalog *cat, const char *t, char *a1, char *a2)
{
	dsql_txn *txn;
	dsql_error err;

	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, t, a1, &err));
	if (a2)
		OK(stage(txn, t, a2, &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
}

/* v0 create; v1 +a +b; v2 -a, cdc c1; v3 (with u's v1, one transaction)
 * +c; v4 an app transaction only (no file); v5 -b +d. */
static void build(dsql_catalog *cat, const char *t, const char *u)
{
	dsql_txn *txn;
	dsql_error err;

	create(cat, t, 0);
	create(cat, u, 0);
	commit_two(cat, t, add_json("a", 10, NULL), add_json("b", 20, NULL));
	commit_two(cat, t, remove_json("a"), cdc_json("_change_data/c1", 3));
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, t, add_json("c", 30, NULL), &err));
	OK(stage(txn, u, add_json("x", 5, NULL), &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	commit_two(cat, t, strdup("{\"txn\":{\"appId\":\"etl\",\"version\":1}}"), NULL);
	commit_two(cat, t, remove_json("b"), add_json("d", 40, NULL));
}

START_TEST(changes_in_commit_order)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("chg"), *u = tname("chgu");
	static const char *const all[] = {
		"1 add a 10 1", "1 add b 20 1", "2 remove a -1 1", "2 cdc _change_data/c1 3 0",
		"3 add c 30 1", "5 remove b -1 1", "5 add d 40 1", NULL};
	static const char *const mid[] = {"2 remove a -1 1", "2 cdc _change_data/c1 3 0",
	                                  "3 add c 30 1", NULL};
	static const char *const none[] = {NULL};
	static const char *const u_all[] = {"1 add x 5 1", NULL};
	seen s = {.n = 0}, h = {.n = 0}, su = {.n = 0};
	dsql_error err;
	int64_t last = -2;

	build(cat, t, u);
	OK(dsql_changes(&last, cat, t, 0, DSQL_LATEST, on_change, &s, &err));
	want_lines(&s, all);
	ck_assert_int_eq(last, 5);
	/* Each change carries its version's commit time and transaction, as
	 * the history has them; within a version, the log's order. */
	OK(dsql_history(cat, t, on_version, &h, &err));
	ck_assert_int_eq(h.n, 6);
	for (int i = 0; i < s.n; i++) {
		int v = s.line[i][0] - '0';

		ck_assert_int_eq(s.ts[i], h.ts[v]);
		ck_assert_str_eq(s.txn[i], h.txn[v]);
		if (i > 0 && s.line[i - 1][0] == s.line[i][0])
			ck_assert_int_gt(s.seq[i], s.seq[i - 1]);
	}
	/* The multi-table commit: the other table's change has the same
	 * transaction, and its own version's commit time (each table's
	 * timestamps are its own: they never go backwards per table). */
	OK(dsql_changes(NULL, cat, u, 1, 1, on_change, &su, &err));
	want_lines(&su, u_all);
	ck_assert_str_eq(su.txn[0], s.txn[4]);
	h.n = 0;
	OK(dsql_history(cat, u, on_version, &h, &err));
	ck_assert_int_eq(su.ts[0], h.ts[1]);
	/* A middle range, both ends included; a version without files. */
	s.n = 0;
	OK(dsql_changes(&last, cat, t, 2, 3, on_change, &s, &err));
	want_lines(&s, mid);
	ck_assert_int_eq(last, 3);
	s.n = 0;
	OK(dsql_changes(&last, cat, t, 4, 4, on_change, &s, &err));
	want_lines(&s, none);
	s.n = 0;
	OK(dsql_changes(&last, cat, t, 0, 0, on_change, &s, &err));
	want_lines(&s, none);
	/* The callback stops the walk; its value comes back. */
	s.n = 0;
	s.stop_after = 2;
	ck_assert_int_eq(dsql_changes(NULL, cat, t, 0, DSQL_LATEST, on_change, &s, &err), 7);
	ck_assert_int_eq(s.n, 2);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(versions_after)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("aft"), *u = tname("aftu");
	seen s = {.n = 0};
	dsql_error err;
	int64_t latest = -2;

	build(cat, t, u);
	OK(dsql_changes_after(&latest, cat, t, 2, on_version, &s, &err));
	ck_assert_int_eq(latest, 5);
	ck_assert_int_eq(s.n, 3);
	ck_assert(strncmp(s.line[0], "3 ", 2) == 0 && strncmp(s.line[2], "5 ", 2) == 0);
	ck_assert_msg(strstr(s.line[2], "+1 -1"), "%s", s.line[2]);
	/* A poller that is up to date gets nothing, and where it stands. */
	s.n = 0;
	latest = -2;
	OK(dsql_changes_after(&latest, cat, t, 5, on_version, &s, &err));
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(latest, 5);
	/* -1: every version; a new commit is seen by the next poll. */
	OK(dsql_changes_after(NULL, cat, t, -1, on_version, &s, &err));
	ck_assert_int_eq(s.n, 6);
	commit_add(cat, t, "e");
	s.n = 0;
	OK(dsql_changes_after(&latest, cat, t, 5, on_version, &s, &err));
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(latest, 6);
	ck_assert(strncmp(s.line[0], "6 ", 2) == 0);
	s.n = 0;
	s.stop_after = 1;
	ck_assert_int_eq(dsql_changes_after(NULL, cat, t, -1, on_version, &s, &err), 7);
	ck_assert_int_eq(s.n, 1);
	dsql_catalog_free(cat);
}
END_TEST

static void refused(int rc, int code, const dsql_error *err, const char *msg, const seen *s)
{
	ck_assert_msg(rc == code, "got %d (%s), want %d", rc, err->message, code);
	ck_assert_msg(strstr(err->message, msg), "message '%s' lacks '%s'", err->message, msg);
	ck_assert_int_eq(s->n, 0);
}

START_TEST(bad_ranges_are_refused)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("bad"), *u = tname("badu");
	seen s = {.n = 0};
	dsql_error err;

	build(cat, t, u);
	refused(dsql_changes(NULL, cat, t, 3, 2, on_change, &s, &err), DSQL_EINVALID, &err,
	        "the range 3..2 is empty (from is after to)", &s);
	refused(dsql_changes(NULL, cat, t, 2, 6, on_change, &s, &err), DSQL_ENOTFOUND, &err,
	        "has no version 6 (its latest is 5)", &s);
	refused(dsql_changes(NULL, cat, t, 6, DSQL_LATEST, on_change, &s, &err), DSQL_ENOTFOUND,
	        &err, "has no version 6 (its latest is 5)", &s);
	refused(dsql_changes(NULL, cat, t, 9, 12, on_change, &s, &err), DSQL_ENOTFOUND, &err,
	        "has no version 9 (its latest is 5)", &s);
	refused(dsql_changes(NULL, cat, t, -1, 2, on_change, &s, &err), DSQL_EINVALID, &err,
	        "version -1 is negative", &s);
	refused(dsql_changes(NULL, cat, t, 0, -2, on_change, &s, &err), DSQL_EINVALID, &err,
	        "version -2 is negative", &s);
	refused(dsql_changes(NULL, cat, tname("nosuch"), 0, 1, on_change, &s, &err),
	        DSQL_ENOTFOUND, &err, "no such table", &s);
	refused(dsql_changes_after(NULL, cat, t, 6, on_version, &s, &err), DSQL_ENOTFOUND, &err,
	        "has no version 6 (its latest is 5)", &s);
	refused(dsql_changes_after(NULL, cat, t, -2, on_version, &s, &err), DSQL_EINVALID, &err,
	        "below -1", &s);
	refused(dsql_changes_after(NULL, cat, tname("nosuch"), 0, on_version, &s, &err),
	        DSQL_ENOTFOUND, &err, "no such table", &s);
	dsql_catalog_free(cat);
}
END_TEST

/* After an expiry, the changes of retained versions are all there; a range
 * reaching into expired versions is refused (their actions are gone) with
 * the oldest version kept; the versions' summaries stay for a poller. */
START_TEST(changes_after_expire)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("cexp"), *u = tname("cexpu");
	dsql_expire_options o = DSQL_EXPIRE_OPTIONS_INIT;
	dsql_expire_result r;
	static const char *const kept[] = {"3 add c 30 1", "5 remove b -1 1", "5 add d 40 1",
	                                   NULL};
	seen before = {.n = 0}, s = {.n = 0};
	dsql_error err;

	build(cat, t, u);
	OK(dsql_changes(NULL, cat, t, 3, DSQL_LATEST, on_change, &before, &err));
	o.keep_versions = 3;
	OK(dsql_table_expire(cat, t, &o, &r, &err));
	ck_assert_int_eq(r.oldest_version, 3);
	OK(dsql_changes(NULL, cat, t, 3, DSQL_LATEST, on_change, &s, &err));
	want_lines(&s, kept);
	want_lines(&before, kept);
	s.n = 0;
	refused(dsql_changes(NULL, cat, t, 2, 4, on_change, &s, &err), DSQL_ENOTFOUND, &err,
	        "the changes of version 2 have expired (the oldest version kept is 3)", &s);
	refused(dsql_changes(NULL, cat, t, 0, 0, on_change, &s, &err), DSQL_ENOTFOUND, &err,
	        "have expired (the oldest version kept is 3)", &s);
	OK(dsql_changes_after(NULL, cat, t, -1, on_version, &s, &err));
	ck_assert_int_eq(s.n, 6);
	/* The other table of the multi-table commit is untouched. */
	s.n = 0;
	OK(dsql_changes(NULL, cat, u, 0, DSQL_LATEST, on_change, &s, &err));
	ck_assert_int_eq(s.n, 1);
	dsql_catalog_free(cat);
}
END_TEST

/* A reader that checked its range sees all of it although an expiry of
 * those versions commits before it reads the actions: its read is one
 * snapshot (with fault points compiled in, the reader pauses 1.5 s between
 * the two; without them the race is not forced). */
START_TEST(changes_read_is_one_snapshot_under_expire)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("cexr"), *u = tname("cexru");
	dsql_expire_options o = DSQL_EXPIRE_OPTIONS_INIT;
	dsql_expire_result r;
	int ready[2], result[2], status;
	seen s = {.n = 0};
	dsql_error err;
	char go;
	pid_t pid;

	build(cat, t, u);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(result), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dsql_catalog *c = NULL;
		int got[2];

		setenv("DELTASQL_PAUSE", "changes_read", 1);
		setenv("DELTASQL_PAUSE_MS", "1500", 1);
		if (dsql_catalog_open(&c, scn_uri, NULL, &err) != DSQL_OK)
			_exit(10);
		if (write(ready[1], "g", 1) != 1)
			_exit(12);
		got[0] = dsql_changes(NULL, c, t, 0, DSQL_LATEST, on_change, &s, &err);
		got[1] = s.n;
		_exit(write(result[1], got, sizeof(got)) == sizeof(got) ? 0 : 13);
	}
	ck_assert_int_eq(read(ready[0], &go, 1), 1);
	usleep(300000);
	o.keep_versions = 2;
	OK(dsql_table_expire(cat, t, &o, &r, &err));
	ck_assert_int_eq(r.oldest_version, 4);
	{
		int got[2];

		ck_assert_int_eq(read(result[0], got, sizeof(got)), (ssize_t)sizeof(got));
		ck_assert_msg(got[0] == DSQL_OK, "the reader failed: %d", got[0]);
		ck_assert_msg(got[1] == 7, "the reader saw %d changes of 7", got[1]);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(ready[1]);
	close(result[0]);
	close(result[1]);
	/* Read now, the range has expired. */
	ck_assert_int_eq(dsql_changes(NULL, cat, t, 0, DSQL_LATEST, on_change, &s, &err),
	                 DSQL_ENOTFOUND);
	dsql_catalog_free(cat);
}
END_TEST

void changes_cases(Suite *s)
{
	TCase *tc = tcase_create("changes");

	tcase_add_test(tc, changes_in_commit_order);
	tcase_add_test(tc, versions_after);
	tcase_add_test(tc, bad_ranges_are_refused);
	tcase_add_test(tc, changes_after_expire);
	if (db_caps() & DSQL_CAP_MULTI_PROCESS)
		tcase_add_test(tc, changes_read_is_one_snapshot_under_expire);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
}
