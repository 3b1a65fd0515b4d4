/*
 * The PostgreSQL driver (libpq). Also reaches anything that speaks the
 * PostgreSQL protocol.
 *
 * URIs: postgresql://... and postgres://... go to libpq unchanged;
 * postgresql:KEY=VALUE ... (no "//") passes libpq's keyword form.
 *
 * Write transactions run at READ COMMITTED: the core locks a table's row
 * and then reads it, and must see every commit that won before the lock (a
 * REPEATABLE READ snapshot taken before the lock would hide winners). Read
 * transactions run at REPEATABLE READ READ ONLY: one snapshot for all of a
 * snapshot's queries. Statements are server-side prepared statements with
 * text parameters ($n); blobs are sent in binary.
 *
 * Deferred statements (exec_deferred) use libpq's pipeline mode: a write
 * transaction's BEGIN, its deferred writes and its COMMIT go out together
 * and are answered together, one round trip. Every call that must wait for
 * the server appends its own command to the pipeline, syncs and reads all
 * queued results in order (drain), then leaves pipeline mode, so that the
 * synchronous code below works unchanged between pipelines. A read
 * transaction's COMMIT goes out at once with a sync point of its own, so
 * that the server ends the transaction and lets go of its snapshot, but
 * its answer is read with the next pipeline's: every row was read before
 * it, and nothing it could say changes them. A snapshot costs no round
 * trip for it.
 */
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deltasql/driver.h"
#include "dialect.h"
#include "errors.h"

#define BYTEAOID 17
#define DRIVER "postgresql"

/* What a command sent in pipeline mode is: how to read its answer, and what
 * to undo when it did not run. */
enum queued_kind {
	Q_CONTROL,       /* BEGIN and the like */
	Q_PREPARE,       /* a statement's server-side preparation */
	Q_PREPARE_CHECK, /* the same for its row-count-checking variant */
	Q_WRITE,         /* a deferred statement */
	Q_READ_END,      /* a read transaction's COMMIT and its own sync point */
	Q_JUDGE,         /* the server's judgment of an application statement */
	Q_OWN            /* the waiting call's own command: always the last one */
};

typedef struct queued {
	enum queued_kind kind;
	dsql_driver_stmt *stmt; /* Q_PREPARE*: whose "prepared" flag to clear */
	int64_t expect;         /* Q_WRITE: the expected row count, or -1 */
	const char *context;    /* for the error message */
} queued;

struct dsql_driver_conn {
	PGconn *pg;
	unsigned int next_stmt;
	/* The error that aborted the open transaction, if any (code 0: none):
	 * COMMIT then reports it instead of the server's bare "ROLLBACK". */
	dsql_error failed;
	/* failed was found by a call that could not return it (finalize): the
	 * next step reports it. */
	int unreported;
	/* Commands sent in pipeline mode whose results are still unread; the
	 * connection is in pipeline mode exactly when n_queued > 0. */
	queued *queue;
	size_t n_queued, cap;
	/* The open transaction is read-only; the queue holds nothing but the
	 * COMMIT of one, sent and unanswered (the next BEGIN joins it). */
	int read_only, read_commit_queued;
	/* The URI said deltasql_pool=transaction: each transaction may run on
	 * another server session, so nothing is kept on the server between
	 * transactions (no named statements, no session settings). */
	int pooled;
	/* Pooled: the statement that sets the session settings for one
	 * transaction (set_config(..., true)), queued after each BEGIN; NULL
	 * when the URI sets them all itself. */
	char *local_settings;
	/* Application statements ran in the open transaction: before it
	 * commits, the session is put back as connect left it, whatever they
	 * set for the session (set_config(..., false)); reset_settings makes
	 * the driver's own settings again (direct connections; NULL when the
	 * URI sets them all, or pooled). */
	int app_sql;
	char *reset_settings;
};

struct dsql_driver_stmt {
	dsql_driver_conn *conn;
	char name[32];
	char check_name[34];
	char *sql; /* the rewritten text ($n), for the row-count-checking variant */
	char *check_text; /* pooled: the checking variant's text, made once */
	int prepared, check_prepared; /* on the server (or queued to be) */
	int n_params;
	/* n_params + 1 slots: the last one carries the expected row count of
	 * the checking variant while it is sent. values[i] is bufs[i] when
	 * parameter i is bound, NULL for SQL NULL; bufs[i] (caps[i] bytes) is
	 * kept from one execution to the next, so that binding the same
	 * statement again allocates nothing. */
	char **values;
	int *lengths;
	int *formats;
	char **bufs;
	size_t *caps;
	PGresult *res;
	int executed;
	int row, n_rows;
	int64_t changes;
	unsigned char *blob; /* the last unescaped bytea, freed on the next call */
};

static void silence(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int no_memory(dsql_error *err)
{
	return dsql_error_set(err, DSQL_ENOMEM, DRIVER, NULL, 0, "out of memory");
}

/* Hands an error to the caller (err may be NULL) and, when it aborted the
 * open transaction, remembers it for COMMIT. */
static int fail(dsql_driver_conn *c, const dsql_error *e, dsql_error *err)
{
	if (!c->failed.code && PQtransactionStatus(c->pg) == PQTRANS_INERROR)
		c->failed = *e;
	if (err)
		*err = *e;
	return e->code;
}

/* --- the pipeline --- */

/* Makes room for one more queued command, entering pipeline mode first. */
static int queue_slot(dsql_driver_conn *c, dsql_error *err)
{
	c->read_commit_queued = 0;
	if (c->n_queued == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		queued *q = realloc(c->queue, cap * sizeof(*q));

		if (!q)
			return no_memory(err);
		c->queue = q;
		c->cap = cap;
	}
	if (c->n_queued == 0 && PQpipelineStatus(c->pg) == PQ_PIPELINE_OFF &&
	    PQenterPipelineMode(c->pg) != 1)
		return dsql_pg_error(err, c->pg, NULL, "cannot enter pipeline mode");
	return DSQL_OK;
}

/* Records a command the caller just sent (sent: the PQsend* result). */
static int queued_sent(dsql_driver_conn *c, int sent, enum queued_kind kind,
                       dsql_driver_stmt *s, int64_t expect, const char *context, dsql_error *err)
{
	if (!sent) {
		int rc = dsql_pg_error(err, c->pg, NULL, context);

		if (c->n_queued == 0)
			PQexitPipelineMode(c->pg);
		return rc;
	}
	c->queue[c->n_queued].kind = kind;
	c->queue[c->n_queued].stmt = s;
	c->queue[c->n_queued].expect = expect;
	c->queue[c->n_queued].context = context;
	c->n_queued++;
	return DSQL_OK;
}

/* Queues a command without parameters (transaction control). */
static int queue_command(dsql_driver_conn *c, const char *sql, enum queued_kind kind,
                         const char *context, dsql_error *err)
{
	int rc = queue_slot(c, err);

	if (rc != DSQL_OK)
		return rc;
	return queued_sent(c, PQsendQueryParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 0), kind,
	                   NULL, -1, context, err);
}

/* Queues the server-side preparation of a statement (check: its
 * row-count-checking variant) unless it is prepared or queued already. A
 * failure is reported when the pipeline is read, and clears the flag. */
static int queue_prepare(dsql_driver_stmt *s, int check, dsql_error *err);

/* Names the error of a queued command that failed. */
static int queued_error(dsql_driver_conn *c, const queued *q, const PGresult *r, dsql_error *e)
{
	int rc = dsql_pg_error(e, c->pg, r, q->context);

	/* The checking variant divides by zero when the count is wrong. */
	if (q->kind == Q_WRITE && q->expect >= 0 && strcmp(e->sqlstate, "22012") == 0)
		return dsql_error_set(e, DSQL_ERETRY, DRIVER, "22012", 0,
		                      "%s: expected %lld changed rows, the statement changed another "
		                      "number",
		                      q->context, (long long)q->expect);
	/* The server would not PREPARE the statement: not one query or DML
	 * statement (a syntax error), or an error in it. */
	if (q->kind == Q_JUDGE && strncmp(e->sqlstate, "42", 2) == 0)
		e->code = rc = DSQL_EINVALID;
	/* Queued into a transaction that had failed already: its first error
	 * is the one that matters. */
	if (strcmp(e->sqlstate, "25P02") == 0 && c->failed.code) {
		*e = c->failed;
		return e->code;
	}
	return rc;
}

/* Judges one queued command's result (and frees it, unless it is the
 * successful result of the caller's own command, handed back in *own).
 * Returns the first error so far; *first holds it. */
static int judge(dsql_driver_conn *c, const queued *q, PGresult *r, PGresult **own, int rc,
                 dsql_error *first)
{
	ExecStatusType st = PQresultStatus(r);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok && q->kind == Q_PREPARE)
		q->stmt->prepared = 0;
	if (!ok && q->kind == Q_PREPARE_CHECK)
		q->stmt->check_prepared = 0;
	if (ok && own && q->kind == Q_OWN) {
		*own = r;
		return rc;
	}
	if (!ok && rc == DSQL_OK) {
		/* PGRES_PIPELINE_ABORTED before any error: cannot happen, but
		 * must not pass for success. */
		rc = st == PGRES_PIPELINE_ABORTED
		             ? dsql_error_set(first, DSQL_EDB, DRIVER, "25P02", 0,
		                              "%s: skipped by the server", q->context)
		             : queued_error(c, q, r, first);
	}
	PQclear(r);
	return rc;
}

/* Reads the rest of one command's answer up to its closing NULL; 1 when
 * the sync point came instead (the stream is out of step: a lost
 * connection). */
static int end_of_command(PGconn *pg)
{
	PGresult *r;

	while ((r = PQgetResult(pg)) != NULL) {
		int sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;

		PQclear(r);
		if (sync)
			return 1;
	}
	return 0;
}

/* Reads up to the next sync point's result (past the last command's
 * answer, or a read transaction's COMMIT, whatever it said); 0 when it
 * did not come (a lost connection). */
static int await_sync(PGconn *pg)
{
	for (int tries = 0; tries < 4 && PQstatus(pg) == CONNECTION_OK; tries++) {
		PGresult *r = PQgetResult(pg);
		int sync = r && PQresultStatus(r) == PGRES_PIPELINE_SYNC;

		PQclear(r);
		if (sync)
			return 1;
	}
	return 0;
}

/* Sends the sync point, reads every queued command's answer in order and
 * leaves pipeline mode. Returns the first error (in err), which the
 * server's pipeline semantics make the only one: every later command was
 * skipped. *own (may be NULL) receives the successful result of a last
 * Q_OWN command; the caller frees it. */
static int drain(dsql_driver_conn *c, PGresult **own, dsql_error *err)
{
	dsql_error first;
	size_t n = c->n_queued;
	int rc = DSQL_OK, synced = 0;

	if (own)
		*own = NULL;
	if (n == 0)
		return DSQL_OK;
	c->n_queued = 0;
	c->read_commit_queued = 0;
	if (PQpipelineSync(c->pg) != 1) {
		rc = dsql_pg_error(&first, c->pg, NULL, "cannot send the queued statements");
		synced = 1;
	}
	for (size_t i = 0; i < n && !synced; i++) {
		PGresult *r;

		if (c->queue[i].kind == Q_READ_END) {
			if (!await_sync(c->pg)) {
				if (rc == DSQL_OK)
					rc = dsql_pg_error(&first, c->pg, NULL, c->queue[i].context);
				synced = 1;
			}
			continue;
		}
		r = PQgetResult(c->pg);
		if (!r) {
			if (rc == DSQL_OK)
				rc = dsql_pg_error(&first, c->pg, NULL, c->queue[i].context);
			break;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			synced = 1;
			break;
		}
		rc = judge(c, &c->queue[i], r, own, rc, &first);
		synced = end_of_command(c->pg);
	}
	if (!synced)
		await_sync(c->pg);
	PQexitPipelineMode(c->pg);
	if (rc != DSQL_OK) {
		if (own) {
			PQclear(*own);
			*own = NULL;
		}
		return fail(c, &first, err);
	}
	return DSQL_OK;
}

/* Reads and forgets whatever is queued. */
static void discard(dsql_driver_conn *c)
{
	dsql_error ignored;

	drain(c, NULL, &ignored);
}

/* Ends a transaction block the server still holds after a failure. */
static void end_failed_block(dsql_driver_conn *c)
{
	if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(PQexec(c->pg, "ROLLBACK"));
}

/* The error a finalize found in the pipeline, once. */
static int unreported_error(dsql_driver_conn *c, dsql_error *err)
{
	if (!c->unreported)
		return DSQL_OK;
	c->unreported = 0;
	if (err)
		*err = c->failed;
	return c->failed.code ? c->failed.code : DSQL_EDB;
}

/* --- connections --- */

#define POOL_OPTION "deltasql_pool="

/* Where deltasql's own option starts in a conninfo (a URI query parameter
 * or a keyword=value word), or NULL. */
static char *find_pool_option(char *conninfo, int uri)
{
	for (char *p = strstr(conninfo, POOL_OPTION); p; p = strstr(p + 1, POOL_OPTION)) {
		char before = p == conninfo ? ' ' : p[-1];

		if (uri ? (before == '?' || before == '&') : (before == ' ' || before == '\t'))
			return p;
	}
	return NULL;
}

/* Takes deltasql_pool=transaction|session out of a conninfo (libpq refuses
 * what it does not know): *out is the rest, for libpq (free it). */
static int take_pool_option(char **out, int *pooled, const char *conninfo, dsql_error *err)
{
	int uri = strstr(conninfo, "://") != NULL;
	char *s = strdup(conninfo), *p, *v, *end;
	size_t n;

	*out = NULL;
	*pooled = 0;
	if (!s)
		return no_memory(err);
	if ((p = find_pool_option(s, uri)) == NULL) {
		*out = s;
		return DSQL_OK;
	}
	v = p + strlen(POOL_OPTION);
	n = strcspn(v, uri ? "&#" : " \t");
	if (n == strlen("transaction") && strncmp(v, "transaction", n) == 0) {
		*pooled = 1;
	} else if (!(n == strlen("session") && strncmp(v, "session", n) == 0)) {
		free(s);
		return dsql_error_set(err, DSQL_EINVALID, DRIVER, NULL, 0,
		                      "%s%.*s: give 'transaction' (a transaction-mode pooler such as "
		                      "PgBouncer's pool_mode=transaction) or 'session'",
		                      POOL_OPTION, (int)n, v);
	}
	end = v + n;
	if (uri && *end == '&')
		end++; /* the next parameter takes this one's place */
	else if (uri && p[-1] == '&')
		p--; /* the last parameter: its '&' goes with it */
	else if (uri)
		p--; /* the only one: its '?' goes */
	memmove(p, end, strlen(end) + 1);
	*out = s;
	return DSQL_OK;
}

/* The session settings deltasql relies on; each is left to the URI when it
 * names it (options=-c name=value, on a direct connection).
 *
 * lock_timeout: a lock held forever (a stuck session, a forgotten prepared
 * transaction) must not hang a commit forever: give up after 5 s with
 * 55P03, a timeout (errors.c).
 *
 * plan_cache_mode: the core's statements are the same few shapes with
 * different keys: one generic plan each, made from the statement alone.
 * Custom plans are made from the values, and a table id the statistics
 * have not seen yet (a new table) looks rare: the planner then walks the
 * file index by (table_id, dv_id) and reads every file of the table on each
 * commit, where the generic plan probes (table_id, path).
 *
 * enable_seqscan: a generic plan is made at a statement's first execution,
 * from the table's size then, and kept until the table's statistics
 * change. A file index that VACUUM emptied has no pages: a sequential scan
 * then costs nothing, and every commit's unlink and look-up would walk the
 * whole index as it grows, until autovacuum analyzes it. Every core
 * statement has an index to probe; with sequential scans off the plan is
 * that probe whatever the size (a table without a usable index is still
 * scanned). */
static const struct {
	const char *name, *value;
} settings[] = {
	{"lock_timeout", "5s"},
	{"plan_cache_mode", "force_generic_plan"},
	{"enable_seqscan", "off"},
};

/* The settings as one command: SETs for the session on a direct
 * connection; through a transaction-mode pooler a session is not ours past
 * a transaction (a SET would stay with the server session and reach the
 * pooler's other clients), so set_config(..., is_local) calls that a
 * transaction runs after its BEGIN. NULL: nothing to set (or no memory;
 * the settings are then the server's, which is slower, never wrong).
 * form 2: the session's settings made again inside a transaction, as one
 * statement (set_config(..., false)) that a pipeline can carry
 * (queue_session_reset). */
static char *settings_command(const char *conninfo, int form)
{
	int pooled = form != 0;
	size_t cap = 64;
	char *sql, *o;
	int n = 0;

	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		cap += strlen(settings[i].name) + strlen(settings[i].value) + 40;
	if (!(sql = malloc(cap)))
		return NULL;
	o = sql + sprintf(sql, "%s", pooled ? "SELECT " : "");
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		if (strstr(conninfo, settings[i].name))
			continue;
		if (pooled)
			o += sprintf(o, "%sset_config('%s', '%s', %s)", n ? ", " : "",
			             settings[i].name, settings[i].value, form == 1 ? "true" : "false");
		else
			o += sprintf(o, "SET %s = '%s'; ", settings[i].name, settings[i].value);
		n++;
	}
	if (n == 0) {
		free(sql);
		return NULL;
	}
	return sql;
}

/* Bounds on waits that the server cannot bound itself, unless the URI sets
 * them: connecting, and a server (or the network to it) that goes silent
 * while deltasql waits for an answer. Keepalives notice a peer that died
 * while the connection was idle on our side (waiting for an answer);
 * tcp_user_timeout one that stops acknowledging what we sent. Unix
 * sockets ignore them. Earlier keywords are overridden by the URI's. */
static const char *const wait_keys[] = {"connect_timeout", "keepalives", "keepalives_idle",
                                        "keepalives_interval", "keepalives_count",
                                        "tcp_user_timeout", "dbname", NULL};
static const char *const wait_values[] = {"10", "1", "10", "5", "3", "30000", NULL, NULL};

static int pg_connect(dsql_driver_conn **out, const char *uri, dsql_error *err)
{
	const char *values[sizeof(wait_values) / sizeof(wait_values[0])];
	dsql_driver_conn *c;
	const char *colon = strchr(uri, ':');
	char *conninfo = NULL;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return no_memory(err);
	rc = take_pool_option(&conninfo, &c->pooled,
	                      (colon && strncmp(colon + 1, "//", 2) != 0) ? colon + 1 : uri, err);
	if (rc != DSQL_OK) {
		free(c);
		return rc;
	}
	memcpy(values, wait_values, sizeof(values));
	values[6] = conninfo; /* dbname: expanded, its keywords override ours */
	c->pg = PQconnectdbParams(wait_keys, values, 1);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		/* libpq's message names host and reason, never the password. */
		rc = dsql_pg_error(err, c->pg, NULL, "cannot connect to PostgreSQL");

		if (err)
			err->code = DSQL_ECONNECT;
		PQfinish(c->pg);
		free(conninfo);
		free(c);
		return rc == DSQL_ENOMEM ? rc : DSQL_ECONNECT;
	}
	PQsetNoticeProcessor(c->pg, silence, NULL);
	if (c->pooled) {
		c->local_settings = settings_command(conninfo, 1);
	} else {
		char *set = settings_command(conninfo, 0);

		if (set)
			PQclear(PQexec(c->pg, set));
		free(set);
		c->reset_settings = settings_command(conninfo, 2);
	}
	free(conninfo);
	*out = c;
	return DSQL_OK;
}

/* A hot standby (PostgreSQL 14 and later say so at connection start, and
 * again when it is promoted): a write cannot succeed, so it fails before
 * anything is sent. Not through a pooler, which may replay the parameters
 * of an earlier server session (from before a promotion); the server's
 * own refusal (25006) says it there. */
static int standby(const dsql_driver_conn *c)
{
	const char *hs = PQparameterStatus(c->pg, "in_hot_standby");

	return !c->pooled && hs && strcmp(hs, "on") == 0;
}

static void pg_disconnect(dsql_driver_conn *c)
{
	if (!c)
		return;
	/* Whatever is queued dies with the session (and its transaction). */
	PQfinish(c->pg);
	free(c->queue);
	free(c->local_settings);
	free(c->reset_settings);
	free(c);
}

/* Runs a statement without parameters or rows (transaction control); in
 * the pipeline when one is open, so that it costs no extra round trip. */
static int simple(dsql_driver_conn *c, const char *sql, const char *context, dsql_error *err)
{
	PGresult *r;
	dsql_error e;
	int rc = DSQL_OK;

	if (c->n_queued) {
		rc = queue_command(c, sql, Q_OWN, context, err);
		return rc == DSQL_OK ? drain(c, NULL, err) : rc;
	}
	r = PQexec(c->pg, sql);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		dsql_pg_error(&e, c->pg, r, context);
		rc = fail(c, &e, err);
	}
	PQclear(r);
	return rc;
}

static int pg_begin(dsql_driver_conn *c, dsql_begin_mode mode, dsql_error *err)
{
	int rc;

	if (c->n_queued && !c->read_commit_queued)
		discard(c); /* left over from a transaction never ended */
	memset(&c->failed, 0, sizeof(c->failed));
	c->unreported = 0;
	c->read_only = mode == DSQL_BEGIN_READ;
	if (mode == DSQL_BEGIN_WRITE && standby(c))
		return dsql_error_set(err, DSQL_EREADONLY, DRIVER, "25006", 0,
		                      "the catalog is read-only here: a standby (hot standby in "
		                      "recovery); write through the primary");
	c->app_sql = 0;
	/* Sent with whatever the transaction's first waiting call sends: a
	 * write transaction of deferred statements is one round trip, and a
	 * read transaction's BEGIN travels with its first query. */
	rc = queue_command(c,
	                   mode == DSQL_BEGIN_WRITE ? "BEGIN ISOLATION LEVEL READ COMMITTED"
	                                            : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	                   Q_CONTROL, "cannot begin a transaction", err);
	if (rc == DSQL_OK && c->local_settings)
		rc = queue_command(c, c->local_settings, Q_CONTROL,
		                   "cannot set the transaction's settings", err);
	return rc;
}

/* COMMIT answered "ROLLBACK": the transaction had failed before. */
static int rolled_back(dsql_driver_conn *c, dsql_error *err)
{
	if (c->failed.code)
		return dsql_error_set(err, c->failed.code, DRIVER,
		                      c->failed.sqlstate[0] ? c->failed.sqlstate : "25P02", 0,
		                      "commit failed: the transaction had been aborted by an "
		                      "earlier error and was rolled back (%s)",
		                      c->failed.message);
	return dsql_error_set(err, DSQL_EDB, DRIVER, "25P02", 0,
	                      "commit failed: the transaction had been aborted by an "
	                      "earlier error and was rolled back");
}

/* COMMIT as the last command of the pipeline. A deferred statement's error
 * wins (the server skipped COMMIT); the block it left aborted is ended. */
static int commit_queued(dsql_driver_conn *c, dsql_error *err)
{
	PGresult *r = NULL;
	int rc = queue_command(c, "COMMIT", Q_OWN, "commit failed", err);

	if (rc != DSQL_OK) {
		/* COMMIT was never sent: nothing committed. */
		discard(c);
		end_failed_block(c);
		return rc;
	}
	rc = drain(c, &r, err);
	if (rc == DSQL_ECONNECT)
		/* COMMIT may have been sent and run: nobody can say here. */
		rc = err ? (err->code = DSQL_EUNKNOWN) : DSQL_EUNKNOWN;
	else if (rc == DSQL_OK && strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
		rc = rolled_back(c, err);
	PQclear(r);
	if (rc != DSQL_OK && rc != DSQL_EUNKNOWN)
		end_failed_block(c);
	return rc;
}

/* The COMMIT of a read transaction whose queries were all answered, sent
 * with a sync point of its own and answered with the next pipeline. 0 when
 * it could not be sent, and the caller commits as any other. */
static int commit_read(dsql_driver_conn *c)
{
	dsql_error ignored;

	if (queue_command(c, "COMMIT", Q_READ_END, "a read transaction's commit failed",
	                  &ignored) != DSQL_OK)
		return 0;
	if (PQpipelineSync(c->pg) != 1) {
		discard(c);
		return 0;
	}
	c->read_commit_queued = 1;
	return 1;
}

/* Queues, ahead of the COMMIT (or PREPARE TRANSACTION) of a transaction
 * that ran application statements, what puts the session back as connect
 * left it: RESET ALL and RESET ROLE return every setting to the session's
 * start (URI options included), then the driver's own settings are made
 * again (direct connections; pooled, they are the transaction's own). A
 * statement's set_config(..., false) cannot outlive its commit to break
 * the next one (a read-only default, a search_path without the catalog, no
 * lock timeout), nor reach a pooler's other clients. In the same round
 * trip as the COMMIT. */
static int queue_session_reset(dsql_driver_conn *c, dsql_error *err)
{
	static const char context[] = "cannot restore the session after application SQL";
	int rc;

	if (!c->app_sql)
		return DSQL_OK;
	c->app_sql = 0;
	rc = queue_command(c, "RESET ALL", Q_CONTROL, context, err);
	if (rc == DSQL_OK)
		rc = queue_command(c, "RESET ROLE", Q_CONTROL, context, err);
	if (rc == DSQL_OK && c->reset_settings)
		rc = queue_command(c, c->reset_settings, Q_CONTROL, context, err);
	return rc;
}

static int pg_commit(dsql_driver_conn *c, dsql_error *err)
{
	PGresult *r;
	int rc = DSQL_OK;

	c->unreported = 0; /* the server's "ROLLBACK" below reports it */
	if ((rc = queue_session_reset(c, err)) != DSQL_OK) {
		discard(c);
		end_failed_block(c);
		return rc;
	}
	/* Through a pooler the early COMMIT's answer would arrive after the
	 * pooler gave the server session to another client: answered at once. */
	if (c->read_only && !c->pooled && !c->n_queued && !c->failed.code && commit_read(c))
		return DSQL_OK;
	if (c->n_queued)
		return commit_queued(c, err);
	r = PQexec(c->pg, "COMMIT");
	if (!r || PQstatus(c->pg) == CONNECTION_BAD) {
		/* Sent or not, answered or not: nobody can say here. */
		rc = dsql_error_set(err, DSQL_EUNKNOWN, DRIVER, "08006", 0,
		                    "the connection was lost during COMMIT: %s",
		                    PQerrorMessage(c->pg));
	} else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = dsql_pg_error(err, c->pg, r, "commit failed");
		if (rc == DSQL_ECONNECT)
			rc = err ? (err->code = DSQL_EUNKNOWN) : DSQL_EUNKNOWN;
	} else if (strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
		rc = rolled_back(c, err);
	}
	PQclear(r);
	return rc;
}

static int pg_rollback(dsql_driver_conn *c, dsql_error *err)
{
	c->unreported = 0;
	c->app_sql = 0; /* rolled back with the transaction */
	if (c->n_queued) {
		/* One round trip when nothing failed; after a failure the
		 * server skipped this ROLLBACK, and end_failed_block sends one. */
		(void)queue_command(c, "ROLLBACK", Q_OWN, "rollback failed", NULL);
		discard(c);
		if (PQstatus(c->pg) == CONNECTION_BAD ||
		    PQtransactionStatus(c->pg) == PQTRANS_IDLE)
			return DSQL_OK;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD)
		return DSQL_OK; /* nothing left to roll back */
	return simple(c, "ROLLBACK", "rollback failed", err);
}

/* --- statements --- */

/* '?' to '$n', outside quoted literals, quoted identifiers and comments. */
static char *rewrite(const char *sql, int *n_params)
{
	size_t len = strlen(sql);
	char *out = malloc(len * 4 + 1), *o = out;
	int n = 0;

	if (!out)
		return NULL;
	for (const char *p = sql; *p;) {
		if (*p == '\'' || *p == '"') {
			char q = *p;

			*o++ = *p++;
			while (*p && !(*p == q && p[1] != q)) {
				if (*p == q)
					*o++ = *p++; /* doubled quote */
				*o++ = *p++;
			}
			if (*p)
				*o++ = *p++;
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				*o++ = *p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			size_t k = end ? (size_t)(end + 2 - p) : strlen(p);

			memcpy(o, p, k);
			o += k;
			p += k;
		} else if (*p == '?') {
			o += sprintf(o, "$%d", ++n);
			p++;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	*n_params = n;
	return out;
}

/* Parameter buffers larger than this are not kept for the next execution. */
#define KEEP_PARAM_BYTES 65536

static void clear_params(dsql_driver_stmt *s)
{
	for (int i = 0; i < s->n_params; i++) {
		if (s->caps[i] > KEEP_PARAM_BYTES) {
			free(s->bufs[i]);
			s->bufs[i] = NULL;
			s->caps[i] = 0;
		}
		s->values[i] = NULL;
		s->lengths[i] = 0;
		s->formats[i] = 0;
	}
}

static void clear_result(dsql_driver_stmt *s)
{
	PQclear(s->res);
	s->res = NULL;
	PQfreemem(s->blob);
	s->blob = NULL;
	s->executed = 0;
	s->row = s->n_rows = 0;
}

static void free_stmt(dsql_driver_stmt *s)
{
	clear_result(s);
	for (int i = 0; s->bufs && i < s->n_params; i++)
		free(s->bufs[i]);
	free(s->bufs);
	free(s->caps);
	free(s->values);
	free(s->lengths);
	free(s->formats);
	free(s->sql);
	free(s->check_text);
	free(s);
}

/* Prepares a statement on the server now (no pipeline open). */
static int prepare_now(dsql_driver_stmt *s, dsql_error *err)
{
	dsql_driver_conn *c = s->conn;
	PGresult *r;
	dsql_error e;
	int rc = DSQL_OK;

	if (c->pooled)
		return DSQL_OK; /* sent with its text at each execution */
	r = PQprepare(c->pg, s->name, s->sql, s->n_params, NULL);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		dsql_pg_error(&e, c->pg, r, "cannot prepare a statement");
		rc = fail(c, &e, err);
	}
	PQclear(r);
	s->prepared = rc == DSQL_OK;
	return rc;
}

/* The row-count-checking variant of a statement: it divides by zero (and
 * so aborts the transaction on the server, before any COMMIT queued behind
 * it) unless the statement changed exactly $K rows. */
static char *check_sql(const dsql_driver_stmt *s)
{
	static const char head[] = "WITH dsql_w AS (";
	static const char tail[] = " RETURNING 1) SELECT 1 / (CASE WHEN COUNT(*) = $%d THEN 1"
	                           " ELSE 0 END) FROM dsql_w";
	size_t n = strlen(s->sql);
	char *out;

	while (n > 0 && strchr(" \t\r\n;", s->sql[n - 1]))
		n--;
	out = malloc(sizeof(head) + n + sizeof(tail) + 16);
	if (out)
		sprintf(out, "%s%.*s", head, (int)n, s->sql);
	if (out)
		sprintf(out + strlen(out), tail, s->n_params + 1);
	return out;
}

static int queue_prepare(dsql_driver_stmt *s, int check, dsql_error *err)
{
	dsql_driver_conn *c = s->conn;
	char *sql = NULL;
	int rc, sent;

	if (c->pooled || (check ? s->check_prepared : s->prepared))
		return DSQL_OK;
	if (check && !(sql = check_sql(s)))
		return no_memory(err);
	rc = queue_slot(c, err);
	if (rc == DSQL_OK) {
		sent = check ? PQsendPrepare(c->pg, s->check_name, sql, s->n_params + 1, NULL)
		             : PQsendPrepare(c->pg, s->name, s->sql, s->n_params, NULL);
		rc = queued_sent(c, sent, check ? Q_PREPARE_CHECK : Q_PREPARE, s, -1,
		                 "cannot prepare a statement", err);
	}
	free(sql);
	if (rc == DSQL_OK && check)
		s->check_prepared = 1;
	else if (rc == DSQL_OK)
		s->prepared = 1;
	return rc;
}

static int pg_prepare(dsql_driver_stmt **out, dsql_driver_conn *c, const char *sql,
                      dsql_error *err)
{
	dsql_driver_stmt *s = calloc(1, sizeof(*s));
	int n = 0, rc;

	*out = NULL;
	if (s)
		s->sql = rewrite(sql, &n);
	if (!s || !s->sql) {
		free(s);
		return no_memory(err);
	}
	s->conn = c;
	s->n_params = n;
	s->values = calloc((size_t)n + 1, sizeof(*s->values));
	s->lengths = calloc((size_t)n + 1, sizeof(*s->lengths));
	s->formats = calloc((size_t)n + 1, sizeof(*s->formats));
	s->bufs = calloc((size_t)n + 1, sizeof(*s->bufs));
	s->caps = calloc((size_t)n + 1, sizeof(*s->caps));
	if (!s->values || !s->lengths || !s->formats || !s->bufs || !s->caps) {
		free_stmt(s);
		return no_memory(err);
	}
	snprintf(s->name, sizeof(s->name), "dsql_s%u", ++c->next_stmt);
	snprintf(s->check_name, sizeof(s->check_name), "%s_n", s->name);
	/* With a pipeline open (a write transaction's queued BEGIN), the
	 * preparation joins it: a failure is then reported by the next call
	 * that waits. */
	rc = c->n_queued ? queue_prepare(s, 0, err) : prepare_now(s, err);
	if (rc != DSQL_OK) {
		free_stmt(s);
		return rc;
	}
	*out = s;
	return DSQL_OK;
}

/* --- application SQL, judged by the server --- */

/* The server's own judgment of an application statement, queued ahead of
 * its preparation (one round trip with its execution): SQL's PREPARE
 * takes exactly one SELECT, INSERT, UPDATE, DELETE, MERGE or VALUES
 * statement (with WITH), so a COMMIT, ROLLBACK, PREPARE TRANSACTION, SET,
 * DISCARD, DEALLOCATE or schema change is a syntax error however it is
 * spelt, and the extended protocol's single Parse refuses a second
 * statement. Nothing of the statement runs until both answered. */
static int pg_prepare_application(dsql_driver_stmt **out, dsql_driver_conn *c, const char *sql,
                                  dsql_error *err)
{
	static const char head[] = "PREPARE dsql_app_check AS ";
	int n = 0, rc;
	char *body, *check;

	*out = NULL;
	if (!(body = rewrite(sql, &n)))
		return no_memory(err);
	check = malloc(sizeof(head) + strlen(body));
	if (check)
		sprintf(check, "%s%s", head, body);
	free(body);
	if (!check)
		return no_memory(err);
	rc = queue_slot(c, err);
	if (rc == DSQL_OK)
		rc = queued_sent(c, PQsendQueryParams(c->pg, check, 0, NULL, NULL, NULL, NULL, 0),
		                 Q_JUDGE, NULL, -1,
		                 "application statement refused (it must be one SELECT, INSERT, "
		                 "UPDATE, DELETE, MERGE or VALUES statement)",
		                 err);
	free(check);
	if (rc == DSQL_OK)
		rc = queue_command(c, "DEALLOCATE dsql_app_check", Q_CONTROL,
		                   "cannot deallocate the application statement's check", err);
	if (rc == DSQL_OK)
		rc = pg_prepare(out, c, sql, err);
	if (rc == DSQL_OK)
		c->app_sql = 1;
	return rc;
}

static int pg_in_transaction(dsql_driver_conn *c)
{
	PGTransactionStatusType st;

	if (c->n_queued)
		return 1; /* in pipeline mode: the next waiting call tells */
	st = PQtransactionStatus(c->pg);
	return st == PQTRANS_INTRANS || st == PQTRANS_INERROR;
}

/* SET LOCAL ROLE, with the role's name bound as a value; queued, so that
 * it travels with the next statement (its failure is reported by the next
 * call that waits). */
static int pg_set_application_role(dsql_driver_conn *c, const char *role, dsql_error *err)
{
	const char *params[1] = {role};
	int rc = queue_slot(c, err);

	if (rc != DSQL_OK)
		return rc;
	return queued_sent(c,
	                   PQsendQueryParams(c->pg, "SELECT set_config('role', $1, true)", 1, NULL,
	                                     params, NULL, NULL, 0),
	                   Q_CONTROL, NULL, -1, "cannot set the role", err);
}

static int set_param(dsql_driver_stmt *s, int idx, const void *data, size_t len, int binary,
                     dsql_error *err)
{
	int i = idx - 1;

	if (idx < 1 || idx > s->n_params)
		return dsql_error_set(err, DSQL_EINVALID, "postgresql", "07009", 0,
		                      "parameter %d out of range (statement has %d)", idx, s->n_params);
	s->values[i] = NULL;
	if (!data)
		return DSQL_OK;
	if (len > INT_MAX - 1)
		return dsql_error_set(err, DSQL_EINVALID, "postgresql", "22001", 0,
		                      "parameter %d is too long (%zu bytes)", idx, len);
	if (s->caps[i] < len + 1) {
		size_t cap = len + 1 < 64 ? 64 : len + 1;
		char *grown = realloc(s->bufs[i], cap);

		if (!grown)
			return no_memory(err);
		s->bufs[i] = grown;
		s->caps[i] = cap;
	}
	memcpy(s->bufs[i], data, len);
	s->bufs[i][len] = '\0';
	s->values[i] = s->bufs[i];
	s->lengths[i] = (int)len;
	s->formats[i] = binary;
	return DSQL_OK;
}

static int pg_bind_null(dsql_driver_stmt *s, int idx, dsql_error *err)
{
	return set_param(s, idx, NULL, 0, 0, err);
}

static int pg_bind_int64(dsql_driver_stmt *s, int idx, int64_t v, dsql_error *err)
{
	/* Decimal text, written backwards (snprintf costs more than the rest
	 * of a bind: a commit binds some fifty integers). */
	char buf[24], *p = buf + sizeof(buf);
	uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + m % 10);
	while ((m /= 10) != 0);
	if (v < 0)
		*--p = '-';
	return set_param(s, idx, p, (size_t)(buf + sizeof(buf) - p), 0, err);
}

static int pg_bind_double(dsql_driver_stmt *s, int idx, double v, dsql_error *err)
{
	char buf[40];
	int n = snprintf(buf, sizeof(buf), "%.17g", v);

	return set_param(s, idx, buf, (size_t)n, 0, err);
}

static int pg_bind_text(dsql_driver_stmt *s, int idx, const char *v, size_t len,
                        dsql_error *err)
{
	if (memchr(v, '\0', len))
		return dsql_error_set(err, DSQL_EINVALID, "postgresql", "22021", 0,
		                      "text parameter %d contains a NUL byte", idx);
	return set_param(s, idx, v, len, 0, err);
}

static int pg_bind_blob(dsql_driver_stmt *s, int idx, const void *v, size_t len,
                        dsql_error *err)
{
	return set_param(s, idx, v ? v : "", len, 1, err);
}

/* Takes a statement's executed result in s->res. */
static int take_result(dsql_driver_stmt *s, dsql_error *err)
{
	ExecStatusType st = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
	dsql_error e;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		const char *tuples = PQcmdTuples(s->res);

		/* A SELECT's tag counts the rows it returned, not rows changed. */
		s->changes = tuples && *tuples && strncmp(PQcmdStatus(s->res), "SELECT", 6) != 0
		                     ? strtoll(tuples, NULL, 10)
		                     : 0;
		s->n_rows = st == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
		s->row = 0;
		return s->n_rows > 0 ? DSQL_ROW : DSQL_DONE;
	}
	dsql_pg_error(&e, s->conn->pg, s->res, "statement failed");
	return fail(s->conn, &e, err);
}

/* Sends one execution of a statement (check: its row-count-checking
 * variant, with one more parameter) into the pipeline: by name on a direct
 * connection, with its text through a pooler (an unnamed statement lives
 * only until the next one, inside this transaction's session). */
static int send_execution(dsql_driver_stmt *s, int check, int n_params)
{
	dsql_driver_conn *c = s->conn;
	const char *const *values = (const char *const *)s->values;

	if (!c->pooled)
		return PQsendQueryPrepared(c->pg, check ? s->check_name : s->name, n_params, values,
		                           s->lengths, s->formats, 0);
	if (check && !s->check_text && !(s->check_text = check_sql(s)))
		return 0;
	return PQsendQueryParams(c->pg, check ? s->check_text : s->sql, n_params, NULL, values,
	                         s->lengths, s->formats, 0);
}

/* Executes a statement as the last command of the open pipeline: one round
 * trip for it and everything queued before it. */
static int step_queued(dsql_driver_stmt *s, dsql_error *err)
{
	dsql_driver_conn *c = s->conn;
	int rc = queue_prepare(s, 0, err);

	if (rc == DSQL_OK)
		rc = queue_slot(c, err);
	if (rc == DSQL_OK)
		rc = queued_sent(c, send_execution(s, 0, s->n_params), Q_OWN, s, -1,
		                 "statement failed", err);
	if (rc != DSQL_OK)
		return rc; /* the queue is read by the next waiting call */
	rc = drain(c, &s->res, err);
	return rc == DSQL_OK ? take_result(s, err) : rc;
}

static int pg_step(dsql_driver_stmt *s, dsql_error *err)
{
	dsql_driver_conn *c = s->conn;
	int rc;

	if (s->executed) {
		if (++s->row < s->n_rows)
			return DSQL_ROW;
		return DSQL_DONE;
	}
	PQclear(s->res);
	s->res = NULL;
	s->executed = 1;
	if ((rc = unreported_error(c, err)) != DSQL_OK)
		return rc;
	if (c->n_queued)
		return step_queued(s, err);
	if (!s->prepared && (rc = prepare_now(s, err)) != DSQL_OK)
		return rc;
	s->res = c->pooled ? PQexecParams(c->pg, s->sql, s->n_params, NULL,
	                                  (const char *const *)s->values, s->lengths, s->formats, 0)
	                   : PQexecPrepared(c->pg, s->name, s->n_params,
	                                    (const char *const *)s->values, s->lengths, s->formats,
	                                    0);
	return take_result(s, err);
}

/* Queues the row-count-checking variant with the expected count bound as
 * its last parameter. */
static int defer_checked(dsql_driver_stmt *s, int64_t expect, dsql_error *err)
{
	dsql_driver_conn *c = s->conn;
	char count[32];
	int rc = queue_prepare(s, 1, err), sent;

	if (rc == DSQL_OK)
		rc = queue_slot(c, err);
	if (rc != DSQL_OK)
		return rc;
	s->lengths[s->n_params] = snprintf(count, sizeof(count), "%lld", (long long)expect);
	s->formats[s->n_params] = 0;
	s->values[s->n_params] = count;
	/* libpq copies the values into its buffer here. */
	sent = send_execution(s, 1, s->n_params + 1);
	s->values[s->n_params] = NULL;
	return queued_sent(c, sent, Q_WRITE, NULL, expect, "deferred statement failed", err);
}

static int pg_exec_deferred(dsql_driver_stmt *s, int64_t expect_changes, dsql_error *err)
{
	dsql_driver_conn *c = s->conn;
	int rc;

	clear_result(s);
	s->changes = 0;
	if (expect_changes >= 0)
		return defer_checked(s, expect_changes, err);
	rc = queue_prepare(s, 0, err);
	if (rc == DSQL_OK)
		rc = queue_slot(c, err);
	if (rc != DSQL_OK)
		return rc;
	return queued_sent(c, send_execution(s, 0, s->n_params), Q_WRITE, NULL, -1,
	                   "deferred statement failed", err);
}

static int64_t pg_changes(dsql_driver_stmt *s)
{
	return s->changes;
}

static int pg_column_count(dsql_driver_stmt *s)
{
	return s->res ? PQnfields(s->res) : 0;
}

static int valid_cell(dsql_driver_stmt *s, int col)
{
	return s->res && s->row < s->n_rows && col >= 0 && col < PQnfields(s->res);
}

static dsql_type pg_column_type(dsql_driver_stmt *s, int col)
{
	if (!valid_cell(s, col) || PQgetisnull(s->res, s->row, col))
		return DSQL_TYPE_NULL;
	switch (PQftype(s->res, col)) {
	case 16: /* bool */
	case 20: /* int8 */
	case 21: /* int2 */
	case 23: /* int4 */
		return DSQL_TYPE_INT64;
	case 700:  /* float4 */
	case 701:  /* float8 */
	case 1700: /* numeric */
		return DSQL_TYPE_DOUBLE;
	case BYTEAOID:
		return DSQL_TYPE_BLOB;
	default:
		return DSQL_TYPE_TEXT;
	}
}

static int64_t pg_column_int64(dsql_driver_stmt *s, int col)
{
	const char *v;

	if (!valid_cell(s, col) || PQgetisnull(s->res, s->row, col))
		return 0;
	v = PQgetvalue(s->res, s->row, col);
	if (PQftype(s->res, col) == 16)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static double pg_column_double(dsql_driver_stmt *s, int col)
{
	if (!valid_cell(s, col) || PQgetisnull(s->res, s->row, col))
		return 0;
	return strtod(PQgetvalue(s->res, s->row, col), NULL);
}

static const char *pg_column_text(dsql_driver_stmt *s, int col, size_t *len)
{
	if (!valid_cell(s, col) || PQgetisnull(s->res, s->row, col)) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = (size_t)PQgetlength(s->res, s->row, col);
	return PQgetvalue(s->res, s->row, col);
}

static const void *pg_column_blob(dsql_driver_stmt *s, int col, size_t *len)
{
	size_t n = 0;

	if (!valid_cell(s, col) || PQgetisnull(s->res, s->row, col)) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (PQftype(s->res, col) != BYTEAOID)
		return pg_column_text(s, col, len);
	PQfreemem(s->blob);
	s->blob = PQunescapeBytea((const unsigned char *)PQgetvalue(s->res, s->row, col), &n);
	if (len)
		*len = s->blob ? n : 0;
	return s->blob;
}

static int pg_reset(dsql_driver_stmt *s, dsql_error *err)
{
	(void)err;
	clear_result(s);
	clear_params(s);
	s->changes = 0;
	return DSQL_OK;
}

/* DEALLOCATE for each of the statement's server-side statements. */
static void deallocate(dsql_driver_stmt *s)
{
	char sql[128] = "";

	if (s->prepared)
		snprintf(sql, sizeof(sql), "DEALLOCATE %s;", s->name);
	if (s->check_prepared)
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), "DEALLOCATE %s;",
		         s->check_name);
	if (sql[0])
		PQclear(PQexec(s->conn->pg, sql));
}

static void pg_finalize(dsql_driver_stmt *s)
{
	dsql_driver_conn *c;
	dsql_error e;

	if (!s)
		return;
	c = s->conn;
	/* The queue may name this statement: read it first. An error in it
	 * cannot be returned from here; the next step reports it. */
	if (c->n_queued && drain(c, NULL, &e) != DSQL_OK)
		c->unreported = 1;
	/* Free the server-side statement unless the session is gone or in a
	 * failed transaction (where it would fail; the session's end frees it). */
	if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_INERROR)
		deallocate(s);
	free_stmt(s);
}

/* --- native two-phase commit --- */

static int check_gid(const char *gid, dsql_error *err)
{
	size_t n = gid ? strlen(gid) : 0;

	if (n == 0 || n > 190 ||
	    strspn(gid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") != n)
		return dsql_error_set(err, DSQL_EINVALID, "postgresql", NULL, 0,
		                      "invalid global transaction id (1 to 190 of A-Z a-z 0-9 _ . : -)");
	return DSQL_OK;
}

/* Transaction-control statements take the gid as a literal, not a
 * parameter; it is checked above and quoted by libpq. */
static int gid_command(dsql_driver_conn *c, const char *verb, const char *gid,
                       const char *context, dsql_error *err)
{
	char *lit, *sql;
	int rc = check_gid(gid, err);

	if (rc != DSQL_OK)
		return rc;
	lit = PQescapeLiteral(c->pg, gid, strlen(gid));
	if (!lit)
		return dsql_pg_error(err, c->pg, NULL, context);
	sql = malloc(strlen(verb) + strlen(lit) + 2);
	if (!sql) {
		PQfreemem(lit);
		return no_memory(err);
	}
	sprintf(sql, "%s %s", verb, lit);
	rc = simple(c, sql, context, err);
	free(sql);
	PQfreemem(lit);
	return rc;
}

static int pg_prepare_transaction(dsql_driver_conn *c, const char *gid, dsql_error *err)
{
	int rc;

	c->unreported = 0;
	if (!c->n_queued && c->failed.code && PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
		/* Aborted by an earlier error: that error, not the server's. */
		rc = c->failed.code;
		if (err)
			*err = c->failed;
		end_failed_block(c);
		return rc;
	}
	if ((rc = queue_session_reset(c, err)) != DSQL_OK) {
		discard(c);
		end_failed_block(c);
		return rc;
	}
	/* In the pipeline when one is open: a deferred error wins, and the
	 * server skips PREPARE TRANSACTION. */
	rc = gid_command(c, "PREPARE TRANSACTION", gid, "cannot prepare the transaction", err);
	if (rc == DSQL_ECONNECT)
		rc = err ? (err->code = DSQL_EUNKNOWN) : DSQL_EUNKNOWN;
	if (rc != DSQL_OK)
		end_failed_block(c);
	return rc;
}

static int pg_commit_prepared(dsql_driver_conn *c, const char *gid, dsql_error *err)
{
	return gid_command(c, "COMMIT PREPARED", gid, "cannot commit the prepared transaction",
	                   err);
}

static int pg_rollback_prepared(dsql_driver_conn *c, const char *gid, dsql_error *err)
{
	return gid_command(c, "ROLLBACK PREPARED", gid,
	                   "cannot roll back the prepared transaction", err);
}

static int pg_list_prepared(dsql_driver_conn *c, const char *prefix, dsql_prepared_cb cb,
                            void *payload, dsql_error *err)
{
	const char *params[1] = {prefix ? prefix : ""};
	PGresult *r;
	int rc = drain(c, NULL, err);

	if (rc != DSQL_OK)
		return rc;
	r = PQexecParams(c->pg,
	                 "SELECT gid FROM pg_prepared_xacts WHERE database ="
	                 " current_database() AND starts_with(gid, $1) ORDER BY prepared",
	                 1, NULL, params, NULL, NULL, 0);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = dsql_pg_error(err, c->pg, r, "cannot list prepared transactions");
	for (int i = 0; rc == DSQL_OK && i < PQntuples(r); i++)
		rc = cb(PQgetvalue(r, i, 0), payload);
	PQclear(r);
	return rc;
}

extern const dsql_driver dsql_postgresql_driver;

/* The dialect of one connection. CockroachDB (which says so in the
 * crdb_version parameter it reports at connection start) has no ctid, so
 * no row ids; and its schema changes do not follow a transaction's
 * rollback as PostgreSQL's do, so it is not asked to make the live-file
 * key. A PostgreSQL server before 15 refuses NULLS NOT DISTINCT: it is not
 * asked either. */
static const dsql_dialect *pg_dialect(dsql_driver_conn *c)
{
	int crdb = PQparameterStatus(c->pg, "crdb_version") != NULL;

	return dsql_pg_dialect(!crdb, !crdb && PQserverVersion(c->pg) >= 150000);
}

static const char *const schemes[] = {"postgresql", "postgres", NULL};

const dsql_driver dsql_postgresql_driver = {
	.abi_version = DSQL_DRIVER_ABI_VERSION,
	.struct_size = sizeof(dsql_driver),
	.name = DRIVER,
	.uri_schemes = schemes,
	.capabilities = DSQL_CAP_TWO_PHASE | DSQL_CAP_ROW_LOCKS | DSQL_CAP_MULTI_PROCESS |
	                DSQL_CAP_RETURNING | DSQL_CAP_DEFERRED,
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.prepare = pg_prepare,
	.bind_null = pg_bind_null,
	.bind_int64 = pg_bind_int64,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.step = pg_step,
	.changes = pg_changes,
	.column_count = pg_column_count,
	.column_type = pg_column_type,
	.column_int64 = pg_column_int64,
	.column_double = pg_column_double,
	.column_text = pg_column_text,
	.column_blob = pg_column_blob,
	.reset = pg_reset,
	.finalize = pg_finalize,
	.prepare_transaction = pg_prepare_transaction,
	.commit_prepared = pg_commit_prepared,
	.rollback_prepared = pg_rollback_prepared,
	.list_prepared = pg_list_prepared,
	.exec_deferred = pg_exec_deferred,
	.prepare_application = pg_prepare_application,
	.in_transaction = pg_in_transaction,
	.set_application_role = pg_set_application_role,
	.dialect = pg_dialect,
};
