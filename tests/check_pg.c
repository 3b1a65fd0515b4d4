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

/* Runs SQL on a separate connection to the test's database. */
static int64_t admin(const char *sql)
{
	return tu_admin(uri, sql, NULL);
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

/* A lock nobody releases (a stuck session, or a prepared transaction whose
 * coordinator died) does not hang a commit forever: it fails after the lock
 * timeout (docs/RELIABILITY.md), not the retry policy's longer time limit,
 * and nothing is written. The lock is held by a
 * driver connection of this test (a prepared transaction would be rolled
 * back by the recovery of the conformance suite running alongside on the
 * same catalog). */
START_TEST(stuck_lock_times_out)
{
	char table[64];
	dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *holder;
	dsql_driver_stmt *lock;
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	time_t t0;
	int64_t v = -1;
	int rc;

	snprintf(table, sizeof(table), "stuck_%d", (int)getpid());
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, table, NULL, &err), DSQL_OK);
	ck_assert_int_eq(d->connect(&holder, uri, &err), DSQL_OK);
	ck_assert_int_eq(d->begin(holder, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	ck_assert_int_eq(d->prepare(&lock, holder,
	                            "UPDATE dsql_table SET version = version WHERE name = ?", &err),
	                 DSQL_OK);
	ck_assert_int_eq(d->bind_text(lock, 1, table, strlen(table), &err), DSQL_OK);
	ck_assert_int_eq(d->step(lock, &err), DSQL_DONE);
	ck_assert_int_eq(d->changes(lock), 1); /* held until the rollback below */
	/* The default policy (60 s in all): the lock timeout bounds the wait. */
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, &o, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, table, "{\"txn\":{\"appId\":\"b\",\"version\":1}}",
	                                &err), DSQL_OK);
	t0 = time(NULL);
	rc = dsql_txn_commit(txn, &err);
	ck_assert_msg(rc == DSQL_ETIMEOUT, "commit returned %d: %s", rc,
	              rc ? err.message : "committed");
	ck_assert_msg(strstr(err.message, "lock timeout"), "%s", err.message);
	ck_assert_int_lt(time(NULL) - t0, 8); /* lock_timeout: 5 s */
	dsql_txn_free(txn);
	d->finalize(lock);
	ck_assert_int_eq(d->rollback(holder, &err), DSQL_OK);
	d->disconnect(holder);
	ck_assert_int_eq(dsql_table_version(cat, table, &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 0);
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

/* --- exec_deferred (pipeline mode), through the driver's vtable --- */

typedef struct pipe_fixture {
	const dsql_driver *d;
	dsql_driver_conn *c;
	dsql_driver_stmt *ins; /* INSERT INTO table (k, v) VALUES (?, ?) */
	char table[64];
} pipe_fixture;

static void pipe_open(pipe_fixture *f, const char *name)
{
	char sql[160];
	dsql_error err;

	f->d = dsql_driver_find(uri);
	ck_assert_ptr_nonnull(f->d);
	ck_assert(f->d->capabilities & DSQL_CAP_DEFERRED);
	ck_assert_ptr_nonnull(f->d->exec_deferred);
	snprintf(f->table, sizeof(f->table), "%s_%d", name, (int)getpid());
	snprintf(sql, sizeof(sql), "CREATE TABLE %s (k bigint PRIMARY KEY, v text)", f->table);
	admin(sql);
	ck_assert_int_eq(f->d->connect(&f->c, uri, &err), DSQL_OK);
	f->ins = NULL;
}

static void pipe_close(pipe_fixture *f)
{
	char sql[128];

	f->d->finalize(f->ins);
	f->d->disconnect(f->c);
	snprintf(sql, sizeof(sql), "DROP TABLE %s", f->table);
	admin(sql);
}

/* Rows of the table matching a condition, seen from another connection. */
static int64_t pipe_count(pipe_fixture *f, const char *where)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE %s", f->table, where);
	return admin(sql);
}

static dsql_driver_stmt *pipe_prepare(pipe_fixture *f, const char *fmt)
{
	dsql_driver_stmt *s;
	dsql_error err;
	char sql[256];

	snprintf(sql, sizeof(sql), fmt, f->table);
	ck_assert_msg(f->d->prepare(&s, f->c, sql, &err) == DSQL_OK, "%s", err.message);
	return s;
}

/* One deferred insert through the fixture's one statement, re-bound. */
static void pipe_insert(pipe_fixture *f, int64_t k, const char *v)
{
	dsql_error err;

	if (!f->ins)
		f->ins = pipe_prepare(f, "INSERT INTO %s (k, v) VALUES (?, ?)");
	ck_assert_int_eq(f->d->reset(f->ins, &err), DSQL_OK);
	ck_assert_int_eq(f->d->bind_int64(f->ins, 1, k, &err), DSQL_OK);
	ck_assert_int_eq(f->d->bind_text(f->ins, 2, v, strlen(v), &err), DSQL_OK);
	ck_assert_msg(f->d->exec_deferred(f->ins, -1, &err) == DSQL_OK, "%s", err.message);
}

/* A deferred UPDATE of one key's value, expecting `expect` changed rows. */
static void pipe_update(pipe_fixture *f, dsql_driver_stmt *upd, int64_t k, int64_t expect)
{
	dsql_error err;

	ck_assert_int_eq(f->d->reset(upd, &err), DSQL_OK);
	ck_assert_int_eq(f->d->bind_text(upd, 1, "updated", 7, &err), DSQL_OK);
	ck_assert_int_eq(f->d->bind_int64(upd, 2, k, &err), DSQL_OK);
	ck_assert_msg(f->d->exec_deferred(upd, expect, &err) == DSQL_OK, "%s", err.message);
}

/* One plain write transaction: the connection is usable. */
static void pipe_commit_one(pipe_fixture *f, int64_t k)
{
	dsql_error err;

	ck_assert_int_eq(f->d->begin(f->c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(f, k, "after");
	ck_assert_msg(f->d->commit(f->c, &err) == DSQL_OK, "%s", err.message);
}

/* A read transaction on the fixture's connection: one query of one row
 * (reset first), then commit. Returns the row's first column. */
static int64_t pipe_read(pipe_fixture *f, dsql_driver_stmt *s)
{
	dsql_error err;
	int64_t v;

	ck_assert_int_eq(f->d->begin(f->c, DSQL_BEGIN_READ, &err), DSQL_OK);
	ck_assert_int_eq(f->d->reset(s, &err), DSQL_OK);
	ck_assert_msg(f->d->step(s, &err) == DSQL_ROW, "%s", err.message);
	v = f->d->column_int64(s, 0);
	ck_assert_msg(f->d->commit(f->c, &err) == DSQL_OK, "%s", err.message);
	return v;
}

/* A read transaction's COMMIT goes out at once, answered with the next
 * pipeline: the server has ended the transaction (idle, holding no
 * snapshot) without the client waiting for it, and whatever the connection
 * does next works: a write transaction, a statement prepared or finalized,
 * another read, a disconnect. */
START_TEST(read_commit_ends_the_transaction_at_once)
{
	pipe_fixture f;
	dsql_driver_stmt *pid, *count;
	char sql[200];
	int64_t backend;
	int idle = 0;

	pipe_open(&f, "rd_end");
	pid = pipe_prepare(&f, "SELECT pg_backend_pid() /* %s */");
	backend = pipe_read(&f, pid);
	snprintf(sql, sizeof(sql),
	         "SELECT 1 FROM pg_stat_activity WHERE pid = %lld AND state = 'idle'"
	         " AND backend_xmin IS NULL AND backend_xid IS NULL",
	         (long long)backend);
	for (int tries = 0; tries < 100 && !idle; tries++, usleep(20000))
		idle = admin(sql) == 1;
	ck_assert_msg(idle, "the session is still in its read transaction");
	pipe_commit_one(&f, 1);
	ck_assert_int_eq(pipe_count(&f, "k = 1"), 1);
	ck_assert_int_eq(pipe_read(&f, pid), backend);
	count = pipe_prepare(&f, "SELECT COUNT(*) FROM %s");
	ck_assert_int_eq(pipe_read(&f, count), 1);
	f.d->finalize(count);
	ck_assert_int_eq(pipe_read(&f, pid), backend);
	ck_assert_int_eq(pipe_read(&f, pid), backend);
	pipe_commit_one(&f, 2);
	ck_assert_int_eq(pipe_count(&f, "k = 2"), 1);
	ck_assert_int_eq(pipe_read(&f, pid), backend);
	f.d->finalize(pid);
	pipe_close(&f);
}
END_TEST

/* BEGIN, the deferred inserts (one statement, prepared inside the pipeline,
 * re-bound each time) and COMMIT: every row is there with its values. */
/* A statement bound again and again: integers at their limits, texts
 * growing, shrinking, past the size the driver keeps, and NULL, each read
 * back as bound (the driver reuses its parameter buffers). */
START_TEST(rebound_parameters_read_back)
{
	static const int64_t ints[] = {0, 1, -1, 9, 10, -10, 1234567890123LL, INT64_MAX, INT64_MIN};
	static const size_t lens[] = {0, 3, 200, 70000, 5, 200000, 1};
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *s;
	dsql_error err;
	char *text = malloc(200001);

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(d->connect(&c, uri, &err), DSQL_OK);
	ck_assert_msg(d->prepare(&s, c, "SELECT ?::bigint, ?::text, length(?::text)", &err) ==
	                      DSQL_OK,
	              "%s", err.message);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		for (size_t j = 0; j <= sizeof(lens) / sizeof(lens[0]); j++) {
			int null_text = j == sizeof(lens) / sizeof(lens[0]);
			size_t len = null_text ? 0 : lens[j], got;
			const char *back;

			memset(text, (int)('a' + (i + j) % 26), len);
			text[len] = '\0';
			ck_assert_int_eq(d->reset(s, &err), DSQL_OK);
			ck_assert_int_eq(d->bind_int64(s, 1, ints[i], &err), DSQL_OK);
			if (null_text) {
				ck_assert_int_eq(d->bind_null(s, 2, &err), DSQL_OK);
				ck_assert_int_eq(d->bind_null(s, 3, &err), DSQL_OK);
			} else {
				ck_assert_int_eq(d->bind_text(s, 2, text, len, &err), DSQL_OK);
				ck_assert_int_eq(d->bind_text(s, 3, text, len, &err), DSQL_OK);
			}
			ck_assert_msg(d->step(s, &err) == DSQL_ROW, "%s", err.message);
			ck_assert(d->column_int64(s, 0) == ints[i]);
			back = d->column_text(s, 1, &got);
			if (null_text) {
				ck_assert_ptr_null(back);
				ck_assert_int_eq(d->column_type(s, 2), DSQL_TYPE_NULL);
			} else {
				ck_assert_uint_eq(got, len);
				ck_assert(memcmp(back, text, len) == 0);
				ck_assert_int_eq(d->column_int64(s, 2), (int64_t)len);
			}
		}
	d->finalize(s);
	d->disconnect(c);
	free(text);
}
END_TEST

/* A connection to PostgreSQL itself has the whole PostgreSQL dialect (a
 * server that reports crdb_version would lose the row ids and the unique
 * live-file key, one before 15 the key; there is none here to connect
 * to). */
START_TEST(connection_keeps_the_statement_shapes)
{
	const dsql_driver *d = dsql_driver_find(uri);
	const dsql_dialect *dl;
	dsql_driver_conn *c;
	dsql_error err;

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(d->dialect);
	ck_assert_msg(d->connect(&c, uri, &err) == DSQL_OK, "%s", err.message);
	dl = d->dialect(c);
	ck_assert(strstr(dl->unlink_by_row_id.head, "ctid"));
	ck_assert(strstr(dl->unlink_by_row_id.row, "ctid"));
	ck_assert_ptr_nonnull(dl->unique_live_key); /* 15 or later */
	ck_assert(strstr(dl->unique_live_key[1], "NULLS NOT DISTINCT"));
	d->disconnect(c);
}
END_TEST

START_TEST(deferred_inserts_commit)
{
	pipe_fixture f;
	dsql_error err;
	char v[32];

	pipe_open(&f, "dfr_ins");
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	for (int k = 1; k <= 50; k++) {
		snprintf(v, sizeof(v), "v%d", k);
		pipe_insert(&f, k, v);
	}
	ck_assert_msg(f.d->commit(f.c, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(pipe_count(&f, "v = 'v' || k"), 50);
	pipe_commit_one(&f, 51); /* again, the statement now prepared */
	ck_assert_int_eq(pipe_count(&f, "true"), 51);
	pipe_close(&f);
}
END_TEST

/* An UPDATE expected to change 1 row changes 0: the server aborts, COMMIT
 * queued behind it cannot commit, commit() says retry, nothing is written
 * and the connection works afterwards. With the count right, it commits. */
START_TEST(deferred_expectation_aborts_commit)
{
	pipe_fixture f;
	dsql_driver_stmt *upd;
	dsql_error err;

	pipe_open(&f, "dfr_exp");
	pipe_commit_one(&f, 1);
	upd = pipe_prepare(&f, "UPDATE %s SET v = ? WHERE k = ?");
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(&f, 10, "a");
	pipe_update(&f, upd, 99, 1); /* matches no row */
	pipe_insert(&f, 11, "b");
	pipe_insert(&f, 12, "c");
	ck_assert_int_eq(f.d->commit(f.c, &err), DSQL_ERETRY);
	ck_assert_str_eq(err.sqlstate, "22012");
	ck_assert_ptr_nonnull(strstr(err.message, "expected 1 changed rows"));
	ck_assert_int_eq(pipe_count(&f, "k >= 10"), 0);
	/* The same checked statement, count right this time. */
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_update(&f, upd, 1, 1);
	pipe_insert(&f, 13, "d");
	ck_assert_msg(f.d->commit(f.c, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(pipe_count(&f, "k = 1 AND v = 'updated'"), 1);
	ck_assert_int_eq(pipe_count(&f, "k = 13"), 1);
	/* expect 0 is an expectation too. */
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_update(&f, upd, 13, 0);
	ck_assert_int_eq(f.d->commit(f.c, &err), DSQL_ERETRY);
	pipe_commit_one(&f, 14);
	ck_assert_int_eq(pipe_count(&f, "true"), 3);
	f.d->finalize(upd);
	pipe_close(&f);
}
END_TEST

/* A deferred duplicate key: commit() fails with the insert's own error
 * (SQLSTATE 23505), nothing of the transaction is committed, and the
 * connection is idle and usable. */
START_TEST(deferred_unique_violation)
{
	pipe_fixture f;
	dsql_error err;

	pipe_open(&f, "dfr_dup");
	pipe_commit_one(&f, 1);
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(&f, 2, "a");
	pipe_insert(&f, 1, "duplicate");
	pipe_insert(&f, 3, "b");
	ck_assert_int_eq(f.d->commit(f.c, &err), DSQL_EEXISTS);
	ck_assert_str_eq(err.sqlstate, "23505");
	ck_assert_int_eq(pipe_count(&f, "true"), 1);
	pipe_commit_one(&f, 4);
	ck_assert_int_eq(pipe_count(&f, "true"), 2);
	pipe_close(&f);
}
END_TEST

/* A SELECT stepped after deferred inserts joins the pipeline and sees them;
 * its rows arrive intact. */
START_TEST(deferred_then_select_sees_rows)
{
	pipe_fixture f;
	dsql_driver_stmt *sel;
	dsql_error err;
	size_t len;
	int n = 0;

	pipe_open(&f, "dfr_sel");
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(&f, 1, "one");
	pipe_insert(&f, 2, "two");
	pipe_insert(&f, 3, "three");
	sel = pipe_prepare(&f, "SELECT k, v FROM %s WHERE k >= ? ORDER BY k");
	ck_assert_int_eq(f.d->bind_int64(sel, 1, 2, &err), DSQL_OK);
	for (int rc; (rc = f.d->step(sel, &err)) != DSQL_DONE; n++) {
		ck_assert_msg(rc == DSQL_ROW, "step: %s", err.message);
		ck_assert_int_eq(f.d->column_int64(sel, 0), n + 2);
		ck_assert_str_eq(f.d->column_text(sel, 1, &len), n == 0 ? "two" : "three");
	}
	ck_assert_int_eq(n, 2);
	pipe_insert(&f, 4, "four"); /* deferred again after the step */
	ck_assert_msg(f.d->commit(f.c, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(pipe_count(&f, "true"), 4);
	f.d->finalize(sel);
	pipe_close(&f);
}
END_TEST

/* A step after a failed deferred statement fails with that statement's
 * error; rollback then leaves the connection usable. */
START_TEST(deferred_error_reported_by_step)
{
	pipe_fixture f;
	dsql_driver_stmt *sel;
	dsql_error err;

	pipe_open(&f, "dfr_stp");
	pipe_commit_one(&f, 1);
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(&f, 1, "duplicate");
	sel = pipe_prepare(&f, "SELECT k FROM %s");
	ck_assert_int_eq(f.d->step(sel, &err), DSQL_EEXISTS);
	ck_assert_str_eq(err.sqlstate, "23505");
	ck_assert_int_eq(f.d->rollback(f.c, &err), DSQL_OK);
	pipe_commit_one(&f, 2);
	ck_assert_int_eq(pipe_count(&f, "true"), 2);
	f.d->finalize(sel);
	pipe_close(&f);
}
END_TEST

/* rollback() discards what is queued: nothing is visible, and the
 * connection is usable, also after a queued failure. */
START_TEST(deferred_then_rollback)
{
	pipe_fixture f;
	dsql_error err;

	pipe_open(&f, "dfr_rbk");
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(&f, 1, "a");
	pipe_insert(&f, 2, "b");
	ck_assert_int_eq(f.d->rollback(f.c, &err), DSQL_OK);
	ck_assert_int_eq(pipe_count(&f, "true"), 0);
	pipe_commit_one(&f, 3);
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(&f, 3, "duplicate");
	pipe_insert(&f, 4, "c");
	ck_assert_int_eq(f.d->rollback(f.c, &err), DSQL_OK);
	pipe_commit_one(&f, 5);
	ck_assert_int_eq(pipe_count(&f, "true"), 2);
	pipe_close(&f);
}
END_TEST

/* Deferred statements then PREPARE TRANSACTION and COMMIT PREPARED from
 * another connection; a deferred failure wins over PREPARE TRANSACTION and
 * leaves nothing prepared. */
static int gid_seen(const char *gid, void *payload)
{
	(void)gid;
	++*(int *)payload;
	return 0;
}

START_TEST(deferred_then_two_phase)
{
	pipe_fixture f;
	dsql_driver_conn *other;
	dsql_error err;
	char gid[64];
	int seen = 0;

	pipe_open(&f, "dfr_2pc");
	snprintf(gid, sizeof(gid), "dfr-2pc-%d", (int)getpid());
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(&f, 1, "a");
	pipe_insert(&f, 2, "b");
	ck_assert_msg(f.d->prepare_transaction(f.c, gid, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(pipe_count(&f, "true"), 0);
	ck_assert_int_eq(f.d->connect(&other, uri, &err), DSQL_OK);
	ck_assert_msg(f.d->commit_prepared(other, gid, &err) == DSQL_OK, "%s", err.message);
	f.d->disconnect(other);
	ck_assert_int_eq(pipe_count(&f, "true"), 2);
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(&f, 1, "duplicate");
	ck_assert_int_eq(f.d->prepare_transaction(f.c, gid, &err), DSQL_EEXISTS);
	ck_assert_str_eq(err.sqlstate, "23505");
	ck_assert_int_eq(f.d->list_prepared(f.c, gid, gid_seen, &seen, &err), DSQL_OK);
	ck_assert_int_eq(seen, 0);
	pipe_commit_one(&f, 3);
	ck_assert_int_eq(pipe_count(&f, "true"), 3);
	pipe_close(&f);
}
END_TEST

/* finalize and disconnect with statements still queued: no crash, no
 * leak into the next transaction; a failure finalize found is reported by
 * the next step. */
START_TEST(deferred_finalize_and_disconnect)
{
	pipe_fixture f;
	dsql_driver_stmt *sel;
	dsql_error err;

	pipe_open(&f, "dfr_fin");
	pipe_commit_one(&f, 1);
	sel = pipe_prepare(&f, "SELECT k FROM %s");
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(&f, 1, "duplicate");
	f.d->finalize(f.ins);
	f.ins = NULL;
	ck_assert_int_eq(f.d->step(sel, &err), DSQL_EEXISTS);
	ck_assert_int_eq(f.d->rollback(f.c, &err), DSQL_OK);
	f.d->finalize(sel);
	/* Statements go before their connection; the open transaction
	 * (finalize sent it) and a queued BEGIN stay. */
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	pipe_insert(&f, 2, "never committed");
	f.d->finalize(f.ins);
	f.ins = NULL;
	ck_assert_int_eq(f.d->rollback(f.c, &err), DSQL_OK);
	ck_assert_int_eq(f.d->begin(f.c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	f.d->disconnect(f.c);
	ck_assert_int_eq(f.d->connect(&f.c, uri, &err), DSQL_OK);
	pipe_commit_one(&f, 3);
	ck_assert_int_eq(pipe_count(&f, "true"), 2);
	pipe_close(&f);
}
END_TEST

/* --- plans made while the file index is empty --- */

/* Plans made while VACUUM had emptied the file index (tests/testutil.c). */
START_TEST(plans_probe_after_vacuum_empties_the_file_index)
{
	tu_pg_plans_replay(uri, uri);
}
END_TEST

/* The unique live-file key (tests/testutil.c). */
START_TEST(live_file_key_is_unique)
{
	tu_pg_live_key(uri, uri);
}
END_TEST

/* --- application SQL under a role, and what is blamed on it --- */

static void adminf(const char *fmt, const char *a, const char *b)
{
	char sql[512];

	snprintf(sql, sizeof(sql), fmt, a, b);
	admin(sql);
}

/* One commit: an add to table (unless NULL) and one application statement,
 * run under role when it is not NULL. */
static int commit_sql_as(dsql_catalog *cat, const char *table, const char *path,
                         const char *sql, const char *role, dsql_txn **out, dsql_error *err)
{
	char add[256];
	dsql_txn *txn;
	int rc;

	snprintf(add, sizeof(add),
	         "{\"add\":{\"path\":\"%s\",\"partitionValues\":{},\"size\":1,"
	         "\"modificationTime\":1,\"dataChange\":true}}",
	         path);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, err), DSQL_OK);
	if (table)
		ck_assert_msg(dsql_txn_stage(txn, table, add, err) == DSQL_OK, "%s", err->message);
	ck_assert_int_eq(dsql_txn_add_sql(txn, NULL, sql, NULL, 0, err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_set_sql_role(txn, role, err), DSQL_OK);
	rc = dsql_txn_commit(txn, err);
	if (out)
		*out = txn;
	else
		dsql_txn_free(txn);
	return rc;
}

/* Application SQL under a role that has rights on the application's table
 * only: the commit goes through, and what reaches the catalog's tables
 * (here through a function, which no text check sees) is refused by the
 * database, with nothing committed; the role ends with the transaction. */
START_TEST(application_sql_runs_under_a_role)
{
	char role[64], app[64], fn[64], table[64], sql[256];
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	int64_t v;

	snprintf(role, sizeof(role), "appsql_writer_%d", (int)getpid());
	snprintf(app, sizeof(app), "appsql_wm_%d", (int)getpid());
	snprintf(fn, sizeof(fn), "appsql_bump_%d", (int)getpid());
	snprintf(table, sizeof(table), "appsql_lake_%d", (int)getpid());
	adminf("CREATE ROLE %s NOLOGIN%s", role, "");
	adminf("CREATE TABLE %s (k text PRIMARY KEY, v bigint)%s", app, "");
	adminf("INSERT INTO %s VALUES ('job', 0)%s", app, "");
	adminf("GRANT SELECT, UPDATE ON %s TO %s", app, role);
	adminf("CREATE FUNCTION %s() RETURNS bigint LANGUAGE sql AS 'UPDATE dsql_table SET"
	       " version = version + 5 RETURNING version'%s",
	       fn, "");
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, table, NULL, &err), DSQL_OK);

	snprintf(sql, sizeof(sql), "UPDATE %s SET v = v + 1 WHERE k = 'job'", app);
	ck_assert_msg(commit_sql_as(cat, table, "a", sql, role, NULL, &err) == DSQL_OK, "%s",
	              err.message);
	ck_assert_int_eq(dsql_table_version(cat, table, &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 1);

	/* Without the role this would bump every table's version. */
	snprintf(sql, sizeof(sql), "SELECT %s()", fn);
	ck_assert_int_ne(commit_sql_as(cat, table, "b", sql, role, NULL, &err), DSQL_OK);
	ck_assert_str_eq(err.sqlstate, "42501");
	ck_assert_int_eq(err.statement_index, 0);
	ck_assert_int_eq(dsql_table_version(cat, table, &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 1);

	/* One statement cannot hand the next the connection's own role. */
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_add_sql(txn, NULL, "SELECT set_config('role', 'none', true)", NULL,
	                                  0, &err),
	                 DSQL_OK);
	ck_assert_int_eq(dsql_txn_add_sql(txn, NULL, sql, NULL, 0, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_set_sql_role(txn, role, &err), DSQL_OK);
	ck_assert_int_ne(dsql_txn_commit(txn, &err), DSQL_OK);
	ck_assert_str_eq(err.sqlstate, "42501");
	ck_assert_int_eq(err.statement_index, 1);
	dsql_txn_free(txn);
	ck_assert_int_eq(dsql_table_version(cat, table, &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 1);

	/* A role the server refuses: nothing runs, nothing is committed. */
	ck_assert_int_ne(commit_sql_as(cat, table, "c", "SELECT 1", "appsql_no_such_role", NULL,
	                               &err),
	                 DSQL_OK);
	ck_assert_msg(strstr(err.message, "appsql_no_such_role"), "%s", err.message);
	ck_assert_int_eq(err.statement_index, -1);
	ck_assert_int_eq(dsql_table_version(cat, table, &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 1);

	/* The role ended with the transaction: the next commit runs as the
	 * connection's own user. */
	ck_assert_msg(commit_sql_as(cat, table, "d", "SELECT current_user = session_user", NULL,
	                            &txn, &err) == DSQL_OK,
	              "%s", err.message);
	ck_assert_str_eq(dsql_txn_sql_value(txn, 0, 0, 0), "1"); /* true */
	dsql_txn_free(txn);
	ck_assert_int_eq(dsql_table_version(cat, table, &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(dsql_table_drop(cat, table, &err), DSQL_OK);
	dsql_catalog_free(cat);
	adminf("DROP FUNCTION %s()%s", fn, "");
	adminf("DROP TABLE %s%s", app, "");
	adminf("DROP ROLE %s%s", role, "");
}
END_TEST

/* A role that may read the catalog but not write it: its commit fails on
 * the catalog's own writes (queued, and answered with the first
 * application statement's), and the error says so, not that the
 * application's statement failed. */
START_TEST(catalog_write_failure_is_not_blamed_on_application_sql)
{
	char role[64], table[64], ro_uri[1024];
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	dsql_catalog *admin_cat, *cat;
	dsql_error err;
	int64_t v;

	o.schema_json = "{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"long\","
	                "\"nullable\":true,\"metadata\":{}}]}";
	snprintf(role, sizeof(role), "appsql_reader_%d", (int)getpid());
	snprintf(table, sizeof(table), "appsql_ro_%d", (int)getpid());
	adminf("CREATE ROLE %s LOGIN%s", role, "");
	adminf("GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s%s", role, "");
	ck_assert_int_eq(dsql_catalog_open(&admin_cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(admin_cat, table, &o, &err), DSQL_OK);
	snprintf(ro_uri, sizeof(ro_uri), "%s&user=%s", uri, role);
	ck_assert_msg(dsql_catalog_open(&cat, ro_uri, NULL, &err) == DSQL_OK, "%s", err.message);
	/* With a table, and with application SQL alone (only the journal row
	 * is the catalog's then). */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_ne(commit_sql_as(cat, i ? NULL : table, "a", "SELECT 1", NULL, NULL, &err),
		                 DSQL_OK);
		ck_assert_msg(!strstr(err.message, "application statement"), "%s", err.message);
		ck_assert_int_eq(err.statement_index, -1);
		ck_assert_str_eq(err.sqlstate, "42501");
	}
	dsql_catalog_free(cat);
	ck_assert_int_eq(dsql_table_version(admin_cat, table, &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(dsql_table_drop(admin_cat, table, &err), DSQL_OK);
	dsql_catalog_free(admin_cat);
	adminf("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %s%s", role, "");
	adminf("DROP ROLE %s%s", role, "");
}
END_TEST

/* What a statement sets for the session (set_config(..., false)) ends with
 * its commit: the next commits of the handle find the session as connect
 * left it, in one and two phases. */
START_TEST(application_sql_cannot_change_the_session)
{
	static const char *const sets[] = {
		"SELECT set_config('search_path', 'appsql_nowhere', false)",
		"SELECT set_config('default_transaction_read_only', 'on', false)",
		"SELECT set_config('lock_timeout', '0', false)",
		"SELECT set_config('enable_seqscan', 'on', false)",
	};
	char table[64], path[16];
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	int64_t v;

	snprintf(table, sizeof(table), "appsql_session_%d", (int)getpid());
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, table, NULL, &err), DSQL_OK);
	for (size_t i = 0; i < 2 * sizeof(sets) / sizeof(sets[0]); i++) {
		snprintf(path, sizeof(path), "f%zu", i);
		ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
		ck_assert_int_eq(dsql_txn_stage(txn, table,
		                                "{\"txn\":{\"appId\":\"s\",\"version\":1}}", &err),
		                 DSQL_OK);
		ck_assert_int_eq(dsql_txn_add_sql(txn, NULL, sets[i % 4], NULL, 0, &err), DSQL_OK);
		ck_assert_msg((i < 4 ? dsql_txn_commit(txn, &err) : dsql_txn_commit_two_phase(txn, &err)) ==
		                      DSQL_OK,
		              "%s: %s", sets[i % 4], err.message);
		dsql_txn_free(txn);
		ck_assert_msg(commit_sql_as(cat, table, path,
		                            "SELECT current_setting('search_path') || ' ' ||"
		                            " current_setting('transaction_read_only') || ' ' ||"
		                            " current_setting('lock_timeout') || ' ' ||"
		                            " current_setting('enable_seqscan')",
		                            NULL, &txn, &err) == DSQL_OK,
		              "after %s: %s", sets[i % 4], err.message);
		ck_assert_str_eq(dsql_txn_sql_value(txn, 0, 0, 0), "\"$user\", public off 5s off");
		dsql_txn_free(txn);
	}
	ck_assert_int_eq(dsql_table_version(cat, table, &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 16);
	ck_assert_int_eq(dsql_table_drop(cat, table, &err), DSQL_OK);
	dsql_catalog_free(cat);
}
END_TEST

/* A role that may not read the catalog is told so (exit 1 in the CLI),
 * not sent to 'deltasql init' (the catalog is there). */
START_TEST(role_without_rights_is_denied)
{
	dsql_catalog_options o = DSQL_CATALOG_OPTIONS_INIT;
	char role_uri[1200];
	dsql_catalog *cat;
	dsql_error err;

	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	dsql_catalog_free(cat);
	admin("DO $$ BEGIN CREATE ROLE dsql_no_rights LOGIN; "
	      "EXCEPTION WHEN duplicate_object THEN NULL; END $$");
	/* libpq takes the last of repeated keywords. */
	snprintf(role_uri, sizeof(role_uri), "%s%suser=dsql_no_rights", uri,
	         strchr(uri, '?') ? "&" : "?");
	ck_assert_int_eq(dsql_catalog_open(&cat, role_uri, NULL, &err), DSQL_EDB);
	ck_assert_msg(strstr(err.message, "permission denied") && !strstr(err.message, "init"),
	              "%s", err.message);
	ck_assert_str_eq(err.sqlstate, "42501");
	/* Also where the catalog is only opened, never created. */
	o.create = 0;
	ck_assert_int_eq(dsql_catalog_open(&cat, role_uri, &o, &err), DSQL_EDB);
	ck_assert_msg(strstr(err.message, "permission denied"), "%s", err.message);
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
	tcase_add_test(tc, connection_keeps_the_statement_shapes);
	tcase_add_test(tc, deferred_inserts_commit);
	tcase_add_test(tc, deferred_expectation_aborts_commit);
	tcase_add_test(tc, deferred_unique_violation);
	tcase_add_test(tc, deferred_then_select_sees_rows);
	tcase_add_test(tc, deferred_error_reported_by_step);
	tcase_add_test(tc, deferred_then_rollback);
	tcase_add_test(tc, deferred_then_two_phase);
	tcase_add_test(tc, deferred_finalize_and_disconnect);
	tcase_add_test(tc, read_commit_ends_the_transaction_at_once);
	tcase_add_test(tc, rebound_parameters_read_back);
	tcase_add_test(tc, plans_probe_after_vacuum_empties_the_file_index);
	tcase_add_test(tc, live_file_key_is_unique);
	tcase_add_test(tc, application_sql_runs_under_a_role);
	tcase_add_test(tc, catalog_write_failure_is_not_blamed_on_application_sql);
	tcase_add_test(tc, application_sql_cannot_change_the_session);
	tcase_add_test(tc, role_without_rights_is_denied);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	failed = tu_run_suite(s);
	return failed;
}
