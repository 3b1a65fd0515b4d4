/*
 * Fault injection through a wrapping driver: "fault:<inner URI>" forwards
 * every call to the inner driver, and fails the N-th call with a chosen
 * kind of error (busy, serialization failure, lost connection, generic;
 * at COMMIT also "outcome unknown", with the inner commit done or not).
 * For every N through a whole two-table commit and every kind, the commit
 * must either succeed (retried) or fail cleanly, and the catalog must hold
 * the transaction in both tables or in neither, with contiguous versions.
 * Runs against SQLite, and PostgreSQL when DELTASQL_TEST_PG_URI is set:
 * with every statement run at once, and with statements queued as the
 * PostgreSQL driver queues them. Each also as a blind append whose hints
 * another writer made stale.
 */
#define _GNU_SOURCE
#include <check.h>
#include <deltasql.h>
#include <deltasql/driver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static const dsql_driver *inner;
static long calls, fail_at;
static int fail_code;
static int unknown_commits_inner; /* at COMMIT with EUNKNOWN: commit for real first */

struct dsql_driver_conn {
	dsql_driver_conn *c;
};

struct dsql_driver_stmt {
	dsql_driver_stmt *s;
};

/* Counts a call; non-zero when this one is to fail. */
static int inject(dsql_error *err)
{
	static const char *states[] = {"40001", "08006", "HY000"};

	if (++calls != fail_at)
		return 0;
	dsql_error_set(err, fail_code, "fault",
	               fail_code == DSQL_ERETRY ? states[0]
	               : fail_code == DSQL_ECONNECT ? states[1] : states[2],
	               0, "injected failure of call %ld", calls);
	return 1;
}

static const char *inner_uri(const char *uri)
{
	return strchr(uri, ':') + 1;
}

static int f_connect(dsql_driver_conn **out, const char *uri, dsql_error *err)
{
	dsql_driver_conn *c;
	int rc;

	if (inject(err))
		return fail_code == DSQL_EUNKNOWN ? DSQL_ECONNECT : fail_code;
	c = calloc(1, sizeof(*c));
	rc = inner->connect(&c->c, inner_uri(uri), err);
	if (rc != DSQL_OK) {
		free(c);
		return rc;
	}
	*out = c;
	return DSQL_OK;
}

static void f_disconnect(dsql_driver_conn *c)
{
	inner->disconnect(c->c);
	free(c);
}

static int f_begin(dsql_driver_conn *c, dsql_begin_mode m, dsql_error *err)
{
	if (inject(err))
		return fail_code == DSQL_EUNKNOWN ? DSQL_ECONNECT : fail_code;
	return inner->begin(c->c, m, err);
}

static int f_commit(dsql_driver_conn *c, dsql_error *err)
{
	if (inject(err)) {
		dsql_error ignored;

		if (fail_code == DSQL_EUNKNOWN && unknown_commits_inner)
			inner->commit(c->c, &ignored);
		else
			inner->rollback(c->c, &ignored);
		/* A lost connection during COMMIT is an unknown outcome. */
		return fail_code == DSQL_ECONNECT ? DSQL_EUNKNOWN : fail_code;
	}
	return inner->commit(c->c, err);
}

static int f_rollback(dsql_driver_conn *c, dsql_error *err)
{
	return inner->rollback(c->c, err);
}

static int f_prepare(dsql_driver_stmt **out, dsql_driver_conn *c, const char *sql,
                     dsql_error *err)
{
	dsql_driver_stmt *s;
	int rc;

	if (inject(err))
		return fail_code == DSQL_EUNKNOWN ? DSQL_EDB : fail_code;
	s = calloc(1, sizeof(*s));
	rc = inner->prepare(&s->s, c->c, sql, err);
	if (rc != DSQL_OK) {
		free(s);
		return rc;
	}
	*out = s;
	return DSQL_OK;
}

static int f_step(dsql_driver_stmt *s, dsql_error *err)
{
	if (inject(err))
		return fail_code == DSQL_EUNKNOWN ? DSQL_EDB : fail_code;
	return inner->step(s->s, err);
}

static int f_exec_deferred(dsql_driver_stmt *s, int64_t expect, dsql_error *err)
{
	if (inject(err))
		return fail_code == DSQL_EUNKNOWN ? DSQL_EDB : fail_code;
	return inner->exec_deferred(s->s, expect, err);
}

static unsigned int f_connection_capabilities(dsql_driver_conn *c)
{
	return inner->connection_capabilities ? inner->connection_capabilities(c->c)
	                                      : inner->capabilities;
}

static const dsql_dialect *f_dialect(dsql_driver_conn *c)
{
	return inner->dialect ? inner->dialect(c->c) : NULL;
}

#define FWD(ret, name, params, args) \
	static ret f_##name params { return inner->name args; }
FWD(int, bind_null, (dsql_driver_stmt *s, int i, dsql_error *e), (s->s, i, e))
FWD(int, bind_int64, (dsql_driver_stmt *s, int i, int64_t v, dsql_error *e), (s->s, i, v, e))
FWD(int, bind_double, (dsql_driver_stmt *s, int i, double v, dsql_error *e), (s->s, i, v, e))
FWD(int, bind_text, (dsql_driver_stmt *s, int i, const char *v, size_t n, dsql_error *e),
    (s->s, i, v, n, e))
FWD(int, bind_blob, (dsql_driver_stmt *s, int i, const void *v, size_t n, dsql_error *e),
    (s->s, i, v, n, e))
FWD(int64_t, changes, (dsql_driver_stmt *s), (s->s))
FWD(int, column_count, (dsql_driver_stmt *s), (s->s))
FWD(dsql_type, column_type, (dsql_driver_stmt *s, int c), (s->s, c))
FWD(int64_t, column_int64, (dsql_driver_stmt *s, int c), (s->s, c))
FWD(double, column_double, (dsql_driver_stmt *s, int c), (s->s, c))
FWD(const char *, column_text, (dsql_driver_stmt *s, int c, size_t *n), (s->s, c, n))
FWD(const void *, column_blob, (dsql_driver_stmt *s, int c, size_t *n), (s->s, c, n))
FWD(int, reset, (dsql_driver_stmt *s, dsql_error *e), (s->s, e))

static void f_finalize(dsql_driver_stmt *s)
{
	inner->finalize(s->s);
	free(s);
}

/* "fault:" runs every statement at once; "faultq:" also forwards the
 * inner driver's queued statements (exec_deferred) and its statement
 * shapes, so that a commit takes the path it takes in production. */
static const char *const schemes[] = {"fault", NULL};
static dsql_driver fault_driver = {
	DSQL_DRIVER_ABI_VERSION, sizeof(dsql_driver), "fault", schemes, DSQL_CAP_MULTI_PROCESS,
	f_connect, f_disconnect, f_begin, f_commit, f_rollback, f_prepare, f_bind_null,
	f_bind_int64, f_bind_double, f_bind_text, f_bind_blob, f_step, f_changes, f_column_count,
	f_column_type, f_column_int64, f_column_double, f_column_text, f_column_blob, f_reset,
	f_finalize, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};
static const char *const queued_schemes[] = {"faultq", NULL};
static dsql_driver queued_fault_driver = {
	DSQL_DRIVER_ABI_VERSION, sizeof(dsql_driver), "faultq", queued_schemes,
	DSQL_CAP_MULTI_PROCESS | DSQL_CAP_DEFERRED, f_connect, f_disconnect, f_begin, f_commit,
	f_rollback, f_prepare, f_bind_null, f_bind_int64, f_bind_double, f_bind_text, f_bind_blob,
	f_step, f_changes, f_column_count, f_column_type, f_column_int64, f_column_double,
	f_column_text, f_column_blob, f_reset, f_finalize, NULL, NULL, NULL, NULL,
	f_exec_deferred, f_connection_capabilities, NULL, NULL, NULL, f_dialect,
};

typedef struct seen {
	const char *id;
	int n, versions;
} seen;

static int seen_cb(const dsql_commit_info *c, void *payload)
{
	seen *s = payload;

	ck_assert_int_eq(c->version, s->versions++); /* contiguous */
	s->n += strcmp(c->txn_id, s->id) == 0;
	return 0;
}

static int in_table(dsql_catalog *cat, const char *t, const char *id)
{
	seen s = {id, 0, 0};
	dsql_error err;

	ck_assert_int_eq(dsql_history(cat, t, seen_cb, &s, &err), DSQL_OK);
	ck_assert_int_le(s.n, 1);
	return s.n;
}

static long total_injected, total_ok, total_failed;
static int sweeps;

static uint64_t hint_misses(dsql_catalog *cat)
{
	dsql_metrics m;

	dsql_catalog_metrics(cat, &m, sizeof(m));
	return m.hint_misses;
}

/* Stages an add of "<prefix>-<id>" to both tables: nothing but adds, so
 * that a handle that knows the tables stages them on its hints. */
static int stage_blind_appends(dsql_txn *txn, const char *a, const char *b, const char *prefix,
                               const char *id, dsql_error *err)
{
	int rc = DSQL_OK;

	for (int t = 0; t < 2 && rc == DSQL_OK; t++) {
		char line[256];

		snprintf(line, sizeof(line),
		         "{\"add\":{\"path\":\"%s-%s\",\"partitionValues\":{},\"size\":1,"
		         "\"modificationTime\":1,\"dataChange\":true}}", prefix, id);
		rc = dsql_txn_stage(txn, t ? b : a, line, err);
	}
	return rc;
}

/* Makes the handle's hints of both tables stale: cat commits to each (it
 * learns them), then another writer does. */
static int stale_hints(dsql_catalog *cat, dsql_catalog *other, const char *a, const char *b,
                       const char *id, dsql_error *err)
{
	dsql_catalog *by[2] = {cat, other};
	int rc = DSQL_OK;

	for (int w = 0; w < 2 && rc == DSQL_OK; w++) {
		dsql_txn *txn = NULL;

		rc = dsql_txn_begin(&txn, by[w], NULL, err);
		if (rc == DSQL_OK)
			rc = stage_blind_appends(txn, a, b, w ? "other" : "own", id, err);
		if (rc == DSQL_OK)
			rc = dsql_txn_commit(txn, err);
		dsql_txn_free(txn);
	}
	return rc;
}

/* Every call of a two-table commit fails in turn, with each kind of error.
 * scheme: "fault" or "faultq". blind: the commit is a blind append to both
 * tables by a handle whose hints another writer made stale (the hinted
 * try fails, the locked one commits); else it writes an application
 * transaction id to each. */
static void sweep(const char *scheme, const char *base_uri, int blind)
{
	static const int kinds[] = {DSQL_ERETRY, DSQL_ECONNECT, DSQL_EDB, DSQL_EUNKNOWN};
	char uri[700], a[64], b[64];
	dsql_retry_policy p = {6, 1, 5, 20000};
	dsql_catalog *plain, *cat;
	dsql_error err;
	long n_calls = 0;

	/* Transaction ids are unique across sweeps: the journal outlives the
	 * tables, and a known id is a replay. */
	sweeps++;
	snprintf(uri, sizeof(uri), "%s:%s", scheme, base_uri);
	snprintf(a, sizeof(a), "fa_%d", (int)getpid());
	snprintf(b, sizeof(b), "fb_%d", (int)getpid());
	ck_assert_int_eq(dsql_catalog_open(&plain, base_uri, NULL, &err), DSQL_OK);
	dsql_table_create(plain, a, NULL, &err);
	dsql_table_create(plain, b, NULL, &err);
	/* Count the calls of one whole commit (open, stage, commit, close). */
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < (pass ? sizeof(kinds) / sizeof(kinds[0]) : 1); k++)
			for (long n = 1; n <= (pass ? n_calls : 1); n++)
				for (int real = 0; real <= (kinds[k] == DSQL_EUNKNOWN && pass); real++) {
					dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
					char id[64];
					dsql_txn *txn;
					int rc, ina, inb;

					calls = 0;
					fail_at = pass ? n : -1;
					fail_code = kinds[k];
					unknown_commits_inner = real;
					snprintf(id, sizeof(id), "f-%d-%d-%d-%zu-%ld-%d", (int)getpid(), sweeps,
					         pass, k, n, real);
					o.txn_id = id;
					o.retry = &p;
					rc = dsql_catalog_open(&cat, uri, NULL, &err);
					if (rc != DSQL_OK) {
						ck_assert_msg(pass && err.message[0], "open failed cleanly");
						total_injected++;
						continue;
					}
					if (blind)
						rc = stale_hints(cat, plain, a, b, id, &err);
					/* A failed warm-up leaves the commit another path to take. */
					ck_assert_msg(rc == DSQL_OK || pass, "clean warm-up: %s", err.message);
					rc = dsql_txn_begin(&txn, cat, &o, &err);
					if (rc == DSQL_OK && blind)
						rc = stage_blind_appends(txn, a, b, "x", id, &err);
					else if (rc == DSQL_OK)
						rc = dsql_txn_stage(txn, a, "{\"txn\":{\"appId\":\"x\",\"version\":1}}",
						                    &err);
					if (rc == DSQL_OK && !blind)
						rc = dsql_txn_stage(txn, b, "{\"txn\":{\"appId\":\"x\",\"version\":1}}",
						                    &err);
					if (rc == DSQL_OK)
						rc = dsql_txn_commit(txn, &err);
					dsql_txn_free(txn);
					if (!pass) {
						ck_assert_msg(rc == DSQL_OK, "clean run: %s", err.message);
						/* The stale hints failed the hinted try. */
						if (blind)
							ck_assert_uint_eq(hint_misses(cat), 1);
						dsql_catalog_free(cat);
						n_calls = calls;
						continue;
					}
					dsql_catalog_free(cat);
					total_injected++;
					ina = in_table(plain, a, id);
					inb = in_table(plain, b, id);
					ck_assert_msg(ina == inb, "%s%s, call %ld, kind %d: half a transaction",
					              uri, blind ? " (blind)" : "", n, kinds[k]);
					if (rc == DSQL_OK) {
						total_ok++;
						ck_assert_msg(ina == 1, "%s%s, call %ld, kind %d: success not in the log",
						              uri, blind ? " (blind)" : "", n, kinds[k]);
					} else {
						total_failed++;
						ck_assert_msg(err.message[0] != '\0', "an error without a message");
						/* A failure leaves no trace, except an outcome-unknown
						 * commit that did happen. */
						ck_assert_msg(ina == 0 || rc == DSQL_EUNKNOWN,
						              "call %ld kind %d: failed commit left a trace (%s)", n,
						              kinds[k], err.message);
					}
				}
	dsql_table_drop(plain, a, &err);
	dsql_table_drop(plain, b, &err);
	dsql_catalog_free(plain);
}

START_TEST(every_call_of_a_commit_can_fail)
{
	const char *pg = getenv("DELTASQL_TEST_PG_URI");
	dsql_error err;

	inner = dsql_driver_find("sqlite:");
	ck_assert_int_eq(dsql_driver_register(&fault_driver, &err), DSQL_OK);
	ck_assert_int_eq(dsql_driver_register(&queued_fault_driver, &err), DSQL_OK);
	sweep("fault", tu_sqlite_uri("faults"), 0);
	sweep("fault", tu_sqlite_uri("faults"), 1);
	if (pg) {
		inner = dsql_driver_find(pg);
		sweep("fault", pg, 0);
		sweep("fault", pg, 1);
		ck_assert(inner->capabilities & DSQL_CAP_DEFERRED);
		sweep("faultq", pg, 0);
		sweep("faultq", pg, 1);
	}
	fprintf(stderr, "fault injection: %ld injected faults, %ld commits recovered by retry, "
	                "%ld failed cleanly\n",
	        total_injected, total_ok, total_failed);
	ck_assert_int_gt(total_injected, 50);
}
END_TEST

/* What a logger was told (deltasql/log.h). */
static int events_seen[DSQL_EVENT_COUNT];
static char last_fields[DSQL_EVENT_COUNT][512];

static void collect(dsql_log_level level, dsql_log_event event, const char *message,
                    const dsql_log_field *fields, size_t n_fields, void *payload)
{
	size_t len = 0;

	(void)payload;
	ck_assert(event >= 0 && event < DSQL_EVENT_COUNT);
	ck_assert_msg(message[0], "an event without a message");
	ck_assert_int_le(level, DSQL_LOG_DEBUG);
	events_seen[event]++;
	last_fields[event][0] = '\0';
	for (size_t i = 0; i < n_fields; i++)
		len += (size_t)snprintf(last_fields[event] + len, sizeof(last_fields[event]) - len,
		                        "%s=%s ", fields[i].key, fields[i].value);
}

START_TEST(the_logger_sees_retries_reconnects_and_recoveries)
{
	static const int kinds[] = {DSQL_ERETRY, DSQL_ECONNECT, DSQL_EDB, DSQL_EUNKNOWN};
	dsql_retry_policy p = {6, 1, 5, 20000};
	const char *base = tu_sqlite_uri("logger");
	char uri[700];
	long n_calls = 0;
	dsql_error err;

	inner = dsql_driver_find("sqlite:");
	ck_assert_int_eq(dsql_driver_register(&fault_driver, &err), DSQL_OK);
	snprintf(uri, sizeof(uri), "fault:%s", base);
	{
		dsql_catalog *plain; /* a handle of its own: the commits below start without hints */

		ck_assert_int_eq(dsql_catalog_open(&plain, base, NULL, &err), DSQL_OK);
		ck_assert_int_eq(dsql_table_create(plain, "logged", NULL, &err), DSQL_OK);
		dsql_catalog_free(plain);
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < (pass ? sizeof(kinds) / sizeof(kinds[0]) : 1); k++)
			for (long n = 1; n <= (pass ? n_calls : 1); n++) {
				dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
				dsql_catalog *cat;
				dsql_txn *txn;
				char id[64];

				fail_at = -1;
				ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
				dsql_catalog_set_logger(cat, DSQL_LOG_DEBUG, collect, NULL);
				snprintf(id, sizeof(id), "log-%d-%zu-%ld", pass, k, n);
				o.txn_id = id;
				o.retry = &p;
				calls = 0;
				fail_at = pass ? n : -1;
				fail_code = kinds[k];
				unknown_commits_inner = 1;
				if (dsql_txn_begin(&txn, cat, &o, &err) == DSQL_OK &&
				    dsql_txn_stage(txn, "logged", "{\"txn\":{\"appId\":\"x\",\"version\":1}}",
				                   &err) == DSQL_OK)
					dsql_txn_commit(txn, &err);
				dsql_txn_free(txn);
				if (!pass)
					n_calls = calls;
				fail_at = -1;
				dsql_catalog_free(cat);
			}
	/* A commit that fails for good: the remove of a file the table lacks. */
	{
		dsql_catalog *cat;
		dsql_txn *txn;

		fail_at = -1;
		ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
		dsql_catalog_set_logger(cat, DSQL_LOG_ERROR, collect, NULL);
		ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
		ck_assert_int_eq(dsql_txn_stage(txn, "logged", "{\"remove\":{\"path\":\"ghost\","
		                                               "\"dataChange\":true}}", &err),
		                 DSQL_OK);
		ck_assert_int_ne(dsql_txn_commit(txn, &err), DSQL_OK);
		dsql_txn_free(txn);
		dsql_catalog_free(cat);
	}
	ck_assert_int_gt(events_seen[DSQL_EVENT_COMMIT], 0);
	ck_assert_int_eq(events_seen[DSQL_EVENT_COMMIT_FAILED], 1);
	ck_assert_ptr_nonnull(strstr(last_fields[DSQL_EVENT_COMMIT_FAILED], "attempts=1"));
	ck_assert_int_gt(events_seen[DSQL_EVENT_RETRY], 0);
	ck_assert_ptr_nonnull(strstr(last_fields[DSQL_EVENT_RETRY], "backoff_ms="));
	ck_assert_int_gt(events_seen[DSQL_EVENT_RECONNECT], 0);
	ck_assert_ptr_nonnull(strstr(last_fields[DSQL_EVENT_RECONNECT], "driver=fault"));
	ck_assert_int_gt(events_seen[DSQL_EVENT_RECOVERY], 0);
	ck_assert_ptr_nonnull(strstr(last_fields[DSQL_EVENT_RECOVERY], "outcome=committed"));
	ck_assert_ptr_nonnull(strstr(last_fields[DSQL_EVENT_COMMIT], "txn=log-"));
	ck_assert_ptr_nonnull(strstr(last_fields[DSQL_EVENT_COMMIT], "versions=logged="));
	/* Below the logger's level, nothing arrives; without one, nothing at all. */
	{
		int before = events_seen[DSQL_EVENT_COMMIT];
		dsql_catalog *cat;

		ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
		dsql_catalog_set_logger(cat, DSQL_LOG_WARN, collect, NULL);
		ck_assert_int_eq(dsql_table_expire(cat, "logged", NULL, NULL, &err), DSQL_OK);
		ck_assert_int_eq(events_seen[DSQL_EVENT_EXPIRE], 0);
		dsql_catalog_set_logger(cat, DSQL_LOG_INFO, collect, NULL);
		ck_assert_int_eq(dsql_table_expire(cat, "logged", NULL, NULL, &err), DSQL_OK);
		ck_assert_int_eq(events_seen[DSQL_EVENT_EXPIRE], 1);
		ck_assert_ptr_nonnull(strstr(last_fields[DSQL_EVENT_EXPIRE], "table=logged"));
		dsql_catalog_set_logger(cat, DSQL_LOG_DEBUG, NULL, NULL);
		ck_assert_int_eq(dsql_table_expire(cat, "logged", NULL, NULL, &err), DSQL_OK);
		ck_assert_int_eq(events_seen[DSQL_EVENT_EXPIRE], 1);
		ck_assert_int_eq(events_seen[DSQL_EVENT_COMMIT], before);
		dsql_catalog_free(cat);
	}
	ck_assert_str_eq(dsql_log_event_name(DSQL_EVENT_RECOVERY), "recovery");
	ck_assert_str_eq(dsql_log_level_name(DSQL_LOG_WARN), "warn");
	ck_assert_ptr_null(dsql_log_event_name(DSQL_EVENT_COUNT));
}
END_TEST

static int conflict_pairs;

static int count_pair(const char *rule, const char *table, uint64_t count, void *payload)
{
	(void)payload;
	ck_assert_str_eq(rule, "concurrent_append");
	ck_assert_str_eq(table, "st");
	ck_assert_uint_eq(count, 1);
	conflict_pairs++;
	return 0;
}

START_TEST(stats_read_what_every_handle_recorded)
{
	const char *base = tu_sqlite_uri("stats");
	const char *add = "{\"add\":{\"path\":\"%s\",\"size\":1,\"modificationTime\":1,"
	                  "\"dataChange\":true,\"partitionValues\":{}}}";
	dsql_retry_policy p = {6, 1, 5, 20000};
	dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
	dsql_catalog *plain, *faulty, *other;
	char uri[700], action[256];
	dsql_stats s;
	dsql_txn *txn;
	dsql_error err;
	int64_t start;

	inner = dsql_driver_find("sqlite:");
	ck_assert_int_eq(dsql_driver_register(&fault_driver, &err), DSQL_OK);
	snprintf(uri, sizeof(uri), "fault:%s", base);
	ck_assert_int_eq(dsql_catalog_open(&plain, base, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(plain, "st", NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(plain, "quiet", NULL, &err), DSQL_OK);
	start = 0;
	/* one commit that took two attempts: its first BEGIN lost the connection */
	ck_assert_int_eq(dsql_catalog_open(&faulty, uri, NULL, &err), DSQL_OK);
	o.retry = &p;
	fail_at = -1;
	/* a first commit leaves the handle knowing the table: the next one's
	 * first call is its BEGIN */
	ck_assert_int_eq(dsql_txn_begin(&txn, faulty, &o, &err), DSQL_OK);
	snprintf(action, sizeof(action), add, "warm");
	ck_assert_int_eq(dsql_txn_stage(txn, "st", action, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_OK);
	dsql_txn_free(txn);
	ck_assert_int_eq(dsql_txn_begin(&txn, faulty, &o, &err), DSQL_OK);
	snprintf(action, sizeof(action), add, "a");
	ck_assert_int_eq(dsql_txn_stage(txn, "st", action, &err), DSQL_OK);
	calls = 0;
	fail_at = 1;
	fail_code = DSQL_ECONNECT;
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_OK);
	fail_at = -1;
	ck_assert_uint_eq(dsql_txn_attempts(txn), 2);
	dsql_txn_free(txn);
	/* one rejected by a conflict, on another handle */
	ck_assert_int_eq(dsql_catalog_open(&other, base, NULL, &err), DSQL_OK);
	o.isolation = DSQL_ISOLATION_SERIALIZABLE;
	ck_assert_int_eq(dsql_txn_begin(&txn, other, &o, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_open_table(txn, "st", 1, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_read(txn, "st", "{\"whole_table\": true}", &err), DSQL_OK);
	snprintf(action, sizeof(action), add, "b");
	ck_assert_int_eq(dsql_txn_stage(txn, "st", action, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_ECONFLICT);
	dsql_txn_free(txn);
	dsql_catalog_free(other);
	dsql_catalog_free(faulty);
	/* A third handle reads it all from the catalog. */
	ck_assert_int_eq(dsql_catalog_stats(&s, sizeof(s), plain, NULL, start, count_pair, NULL,
	                                    &err),
	                 DSQL_OK);
	ck_assert_uint_eq(s.commits, 4); /* two creates, the warm-up and the retried commit */
	ck_assert_uint_eq(s.retries, 1);
	ck_assert_uint_eq(s.max_attempts, 2);
	ck_assert_uint_eq(s.conflicts, 1);
	ck_assert_uint_eq(s.conflicts_by_rule[DSQL_RULE_CONCURRENT_APPEND], 1);
	ck_assert_int_eq(conflict_pairs, 1);
	ck_assert_int_ge(s.wait_max_us, s.wait_p99_us);
	ck_assert_int_ge(s.wait_p99_us, s.wait_p50_us);
	ck_assert_int_gt(s.wait_max_us, 0); /* the retried commit waited out a backoff */
	/* One table's share. */
	ck_assert_int_eq(dsql_catalog_stats(&s, sizeof(s), plain, "st", start, NULL, NULL, &err),
	                 DSQL_OK);
	ck_assert_uint_eq(s.commits, 3);
	ck_assert_uint_eq(s.retries, 1);
	ck_assert_uint_eq(s.conflicts, 1);
	ck_assert_int_eq(dsql_catalog_stats(&s, sizeof(s), plain, "quiet", start, NULL, NULL, &err),
	                 DSQL_OK);
	ck_assert_uint_eq(s.commits, 1);
	ck_assert_uint_eq(s.conflicts, 0);
	ck_assert_int_eq(dsql_catalog_stats(&s, sizeof(s), plain, "nope", start, NULL, NULL, &err),
	                 DSQL_ENOTFOUND);
	/* A period after everything: nothing. */
	ck_assert_int_eq(dsql_catalog_stats(&s, sizeof(s), plain, NULL, INT64_MAX / 2, NULL, NULL,
	                                    &err),
	                 DSQL_OK);
	ck_assert_uint_eq(s.commits + s.conflicts + s.retries, 0);
	ck_assert_int_eq(s.wait_max_us, 0);
	dsql_catalog_free(plain);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("injected");
	int failed;

	tcase_add_test(tc, every_call_of_a_commit_can_fail);
	tcase_add_test(tc, the_logger_sees_retries_reconnects_and_recoveries);
	tcase_add_test(tc, stats_read_what_every_handle_recorded);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	failed = tu_run_suite(s);
	return failed;
}
