/*
 * The SQLite driver: the embedded default. One catalog is one database
 * file. Writers are serialized by SQLite's database lock; write
 * transactions take it at once with BEGIN IMMEDIATE, so two writers never
 * deadlock on a lock upgrade, and wait for it up to the busy timeout.
 *
 * URI: sqlite:PATH[?option=value&...] or file:PATH[?...] (PATH may be
 * percent-encoded, as in "sqlite:my%20lake.db"; "//" and "//localhost"
 * before an absolute path are accepted) with options
 *   busy_timeout=MS     (default 5000)
 *   journal_mode=wal|delete|truncate|memory   (default wal)
 *   synchronous=full|normal|off               (default full)
 *   mode=rwc|rw         (default rwc; rw: a missing file is DSQL_ENOTFOUND
 *                        and is not created)
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deltasql/driver.h"
#include "errors.h"

struct dsql_driver_conn {
	sqlite3 *db;
	int busy_timeout_ms;
	struct timespec busy_since;
	/* The authorizer judges while this is set (an application statement
	 * being prepared or stepped), and allows everything otherwise: it is
	 * installed once, at connect, because installing one expires every
	 * prepared statement of the connection. */
	int judging;
	/* Why the authorizer refused an application statement. */
	char refused[160];
	/* The busy handler waited the whole busy timeout and gave up: the
	 * SQLITE_BUSY that follows is a lock timeout, not a passing state. */
	int busy_waited_out;
};

struct dsql_driver_stmt {
	dsql_driver_conn *conn;
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int64_t changes;
	/* sqlite3_total_changes64 before the statement's first step: changes()
	 * reports the last INSERT/UPDATE/DELETE of the connection, whichever
	 * statement ran it, so a statement that changed nothing says 0. */
	int64_t total_before;
	int started;
	int application; /* judged by the authorizer, also when re-prepared */
};

typedef struct options {
	char path[4096];
	int busy_timeout;
	char journal_mode[16];
	char synchronous[16];
	int create; /* mode=rwc */
} options;

static int bad_uri(dsql_error *err, const char *what)
{
	return dsql_error_set(err, DSQL_EINVALID, "sqlite", NULL, 0, "invalid sqlite URI: %s",
	                      what);
}

static int one_of(const char *v, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (strcmp(v, *allowed) == 0)
			return 1;
	return 0;
}

static int parse_option(options *o, const char *kv, size_t len, dsql_error *err)
{
	static const char *const journals[] = {"wal", "delete", "truncate", "memory", NULL};
	static const char *const syncs[] = {"full", "normal", "off", "extra", NULL};
	char buf[64], *eq, *end;

	if (len >= sizeof(buf))
		return bad_uri(err, "option too long");
	memcpy(buf, kv, len);
	buf[len] = '\0';
	eq = strchr(buf, '=');
	if (!eq)
		return bad_uri(err, "option without '='");
	*eq++ = '\0';
	if (strcmp(buf, "busy_timeout") == 0) {
		long v = strtol(eq, &end, 10);

		if (*eq == '\0' || *end || v < 0 || v > 3600000)
			return bad_uri(err, "busy_timeout must be 0 to 3600000 ms");
		o->busy_timeout = (int)v;
	} else if (strcmp(buf, "journal_mode") == 0 && one_of(eq, journals)) {
		snprintf(o->journal_mode, sizeof(o->journal_mode), "%s", eq);
	} else if (strcmp(buf, "synchronous") == 0 && one_of(eq, syncs)) {
		snprintf(o->synchronous, sizeof(o->synchronous), "%s", eq);
	} else if (strcmp(buf, "mode") == 0 && (strcmp(eq, "rw") == 0 || strcmp(eq, "rwc") == 0)) {
		o->create = strcmp(eq, "rwc") == 0;
	} else {
		return dsql_error_set(err, DSQL_EINVALID, "sqlite", NULL, 0,
		                      "invalid sqlite URI: unknown option or value '%s'", buf);
	}
	return DSQL_OK;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Copies the n bytes of p into out, decoding %XX escapes. */
static int decode_path(char *out, size_t cap, const char *p, size_t n, dsql_error *err)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)p[i];

		if (ch == '%') {
			int hi = i + 2 < n ? hex_digit(p[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit(p[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return bad_uri(err, "'%' in the path must start an escape such as %20");
			ch = hi * 16 + lo;
			if (ch == 0)
				return bad_uri(err, "%00 in the path");
			i += 2;
		}
		if (len + 1 >= cap)
			return bad_uri(err, "path too long");
		out[len++] = (char)ch;
	}
	out[len] = '\0';
	return DSQL_OK;
}

static int parse_uri(options *o, const char *uri, dsql_error *err)
{
	const char *p = strchr(uri, ':') + 1, *q = strchr(p, '?');
	size_t n = q ? (size_t)(q - p) : strlen(p);
	int rc;

	o->busy_timeout = 5000;
	snprintf(o->journal_mode, sizeof(o->journal_mode), "wal");
	snprintf(o->synchronous, sizeof(o->synchronous), "full");
	o->create = 1;
	/* sqlite:///abs/path and file://localhost/abs/path are accepted as a
	 * courtesy to URI habits. */
	if (n >= 12 && strncmp(p, "//localhost/", 12) == 0) {
		p += 11;
		n -= 11;
	} else if (n >= 2 && p[0] == '/' && p[1] == '/') {
		p += 2;
		n -= 2;
	}
	if (n == 0)
		return bad_uri(err, "no file path (e.g. sqlite:lake.db)");
	if ((rc = decode_path(o->path, sizeof(o->path), p, n, err)) != DSQL_OK)
		return rc;
	while (q && *q) {
		const char *kv = q + 1;
		size_t len = strcspn(kv, "&");

		if ((rc = parse_option(o, kv, len, err)) != DSQL_OK)
			return rc;
		q = kv[len] ? kv + len : NULL;
	}
	return DSQL_OK;
}

/* SQLite's own busy handler sleeps in steps of up to 100 ms, which leaves
 * the database idle while writers queue. This one polls every 0.1 to 1 ms
 * (randomized, so that waiting writers do not retry in lock-step) until
 * the busy timeout. */
static int on_busy(void *arg, int count)
{
	dsql_driver_conn *c = arg;
	struct timespec now, pause;
	long waited_ms, us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		c->busy_since = now;
	waited_ms = (now.tv_sec - c->busy_since.tv_sec) * 1000 +
	            (now.tv_nsec - c->busy_since.tv_nsec) / 1000000;
	c->busy_waited_out = 0;
	if (waited_ms >= c->busy_timeout_ms) {
		c->busy_waited_out = 1;
		return 0;
	}
	us = 100 + (long)(((unsigned long)rand() ^ (unsigned long)now.tv_nsec) % 900);
	pause.tv_sec = 0;
	pause.tv_nsec = us * 1000;
	nanosleep(&pause, NULL);
	return 1;
}

/* The connection's last error; a busy after the whole busy timeout is
 * reported as the lock timeout it is (once: the flag is for this error). */
static int conn_error(dsql_driver_conn *c, const char *context, dsql_error *err)
{
	int waited = c->busy_waited_out ? c->busy_timeout_ms : -1;

	c->busy_waited_out = 0;
	return dsql_sqlite_error_waited(err, c->db, sqlite3_extended_errcode(c->db), context,
	                                waited);
}

static int exec(dsql_driver_conn *c, const char *sql, const char *context, dsql_error *err)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? DSQL_OK : conn_error(c, context, err);
}

/* Whether the directory that would hold path exists. */
static int parent_exists(const char *path)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 1;
	if (slash == dir)
		return 1;
	*slash = '\0';
	return access(dir, F_OK) == 0;
}

static int judge(void *arg, int action, const char *a, const char *b, const char *db,
                 const char *trigger);

static int sq_connect(dsql_driver_conn **out, const char *uri, dsql_error *err)
{
	dsql_driver_conn *c;
	char pragma[96];
	options o;
	int rc;

	*out = NULL;
	if ((rc = parse_uri(&o, uri, err)) != DSQL_OK)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return dsql_error_set(err, DSQL_ENOMEM, "sqlite", NULL, 0, "out of memory");
	rc = sqlite3_open_v2(o.path, &c->db,
	                     SQLITE_OPEN_READWRITE | (o.create ? SQLITE_OPEN_CREATE : 0) |
	                             SQLITE_OPEN_NOMUTEX,
	                     NULL);
	if (rc == SQLITE_CANTOPEN && !o.create && access(o.path, F_OK) != 0 && errno == ENOENT &&
	    parent_exists(o.path)) {
		rc = dsql_error_set(err, DSQL_ENOTFOUND, "sqlite", "08001", rc,
		                    "no catalog file '%.256s' (init creates it)", o.path);
		sqlite3_close(c->db);
		free(c);
		return rc;
	}
	if (rc != SQLITE_OK) {
		char what[300];

		snprintf(what, sizeof(what), "cannot open the catalog file '%.256s'", o.path);
		rc = dsql_sqlite_error(err, c->db, rc, what);
		if (rc == DSQL_EDB || rc == DSQL_EINVALID)
			rc = DSQL_ECONNECT;
		if (err)
			err->code = rc;
		sqlite3_close(c->db);
		free(c);
		return rc;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_set_authorizer(c->db, judge, c);
	c->busy_timeout_ms = o.busy_timeout;
	sqlite3_busy_handler(c->db, on_busy, c);
	snprintf(pragma, sizeof(pragma), "PRAGMA journal_mode=%s; PRAGMA synchronous=%s",
	         o.journal_mode, o.synchronous);
	rc = exec(c, pragma, "cannot set up the catalog file", err);
	if (rc != DSQL_OK) {
		sqlite3_close(c->db);
		free(c);
		return rc;
	}
	*out = c;
	return DSQL_OK;
}

static void sq_disconnect(dsql_driver_conn *c)
{
	if (!c)
		return;
	sqlite3_close_v2(c->db);
	free(c);
}

static int sq_begin(dsql_driver_conn *c, dsql_begin_mode mode, dsql_error *err)
{
	return exec(c, mode == DSQL_BEGIN_WRITE ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED",
	            "cannot begin a transaction", err);
}

static int sq_commit(dsql_driver_conn *c, dsql_error *err)
{
	int rc = exec(c, "COMMIT", "commit failed", err);

	/* A failed COMMIT (say, busy) leaves the transaction open; end it so
	 * that the caller's retry starts clean. */
	if (rc != DSQL_OK && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int sq_rollback(dsql_driver_conn *c, dsql_error *err)
{
	if (sqlite3_get_autocommit(c->db))
		return DSQL_OK; /* SQLite rolled back already (after some errors) */
	return exec(c, "ROLLBACK", "rollback failed", err);
}

static int sq_prepare(dsql_driver_stmt **out, dsql_driver_conn *c, const char *sql,
                      dsql_error *err)
{
	dsql_driver_stmt *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return dsql_error_set(err, DSQL_ENOMEM, "sqlite", NULL, 0, "out of memory");
	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt, NULL);
	if (rc != SQLITE_OK) {
		free(s);
		return conn_error(c, "cannot prepare a statement", err);
	}
	s->conn = c;
	s->db = c->db;
	*out = s;
	return DSQL_OK;
}

/* --- application SQL, judged by SQLite's authorizer and parser --- */

static int catalog_name(const char *name)
{
	return name && sqlite3_strnicmp(name, "dsql_", 5) == 0;
}

/* The authorizer while an application statement is prepared (and
 * re-prepared on a schema change while it steps): SQLite reports every
 * action the statement would take and every table it names. */
static int judge(void *arg, int action, const char *a, const char *b, const char *db,
                 const char *trigger)
{
	dsql_driver_conn *c = arg;
	const char *why = NULL;

	(void)db;
	(void)trigger;
	if (!c->judging)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		why = "it controls the transaction; the commit does that";
		break;
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
		why = "it attaches or detaches a database";
		break;
	case SQLITE_PRAGMA:
		why = "it runs a PRAGMA, which changes the connection";
		break;
	case SQLITE_FUNCTION:
		return SQLITE_OK; /* b is a function's name */
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TEMP_INDEX:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_DROP_TRIGGER:
	case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_ALTER_TABLE:
		if (catalog_name(b))
			a = b; /* b is the table */
		break;
	default:
		break;
	}
	if (!why && catalog_name(a)) {
		snprintf(c->refused, sizeof(c->refused),
		         "it names the catalog's table '%.60s'; application SQL may not touch it",
		         a);
		return SQLITE_DENY;
	}
	if (!why)
		return SQLITE_OK;
	snprintf(c->refused, sizeof(c->refused), "%s", why);
	return SQLITE_DENY;
}

static int refuse(dsql_error *err, const char *why)
{
	return dsql_error_set(err, DSQL_EINVALID, "sqlite", "42501", SQLITE_AUTH,
	                      "application statement refused: %s", why);
}

/* Prepares one application statement: the parser stops after the first
 * statement, and the tail it leaves must hold no other (even behind
 * quoting the statement's own text makes look like a comment). */
static int sq_prepare_application(dsql_driver_stmt **out, dsql_driver_conn *c, const char *sql,
                                  dsql_error *err)
{
	sqlite3_stmt *next = NULL;
	dsql_driver_stmt *s;
	const char *tail = NULL;
	int rc, in_tail = 0;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return dsql_error_set(err, DSQL_ENOMEM, "sqlite", NULL, 0, "out of memory");
	c->refused[0] = '\0';
	c->judging = 1;
	rc = sqlite3_prepare_v2(c->db, sql, -1, &s->stmt, &tail);
	if (rc == SQLITE_OK && s->stmt && tail && *tail) {
		in_tail = 1;
		rc = sqlite3_prepare_v2(c->db, tail, -1, &next, NULL);
	}
	c->judging = 0;
	if (rc == SQLITE_OK && !s->stmt)
		rc = refuse(err, "it is empty");
	else if (rc == SQLITE_OK && next)
		rc = refuse(err, "the text holds more than one statement");
	else if (rc != SQLITE_OK && c->refused[0])
		rc = refuse(err, c->refused);
	else if (rc != SQLITE_OK) {
		int code = sqlite3_extended_errcode(c->db);

		rc = dsql_sqlite_error(err, c->db, code,
		                       in_tail ? "application statement refused: the text after "
		                                 "its first statement does not parse"
		                               : "application statement refused");
		/* SQLite's parser said no: the statement is what is wrong. */
		if ((code & 0xff) == SQLITE_ERROR)
			rc = DSQL_EINVALID;
		if (err)
			err->code = rc;
	}
	sqlite3_finalize(next);
	if (rc != DSQL_OK) {
		sqlite3_finalize(s->stmt);
		free(s);
		return rc;
	}
	s->conn = c;
	s->db = c->db;
	s->application = 1;
	*out = s;
	return DSQL_OK;
}

static int sq_in_transaction(dsql_driver_conn *c)
{
	return !sqlite3_get_autocommit(c->db);
}

static int bind_rc(dsql_driver_stmt *s, int rc, dsql_error *err)
{
	return rc == SQLITE_OK ? DSQL_OK
	                       : dsql_sqlite_error(err, s->db, rc, "cannot bind a parameter");
}

static int sq_bind_null(dsql_driver_stmt *s, int idx, dsql_error *err)
{
	return bind_rc(s, sqlite3_bind_null(s->stmt, idx), err);
}

static int sq_bind_int64(dsql_driver_stmt *s, int idx, int64_t v, dsql_error *err)
{
	return bind_rc(s, sqlite3_bind_int64(s->stmt, idx, v), err);
}

static int sq_bind_double(dsql_driver_stmt *s, int idx, double v, dsql_error *err)
{
	return bind_rc(s, sqlite3_bind_double(s->stmt, idx, v), err);
}

static int sq_bind_text(dsql_driver_stmt *s, int idx, const char *v, size_t len,
                        dsql_error *err)
{
	return bind_rc(s, sqlite3_bind_text64(s->stmt, idx, v, len, SQLITE_TRANSIENT, SQLITE_UTF8),
	               err);
}

static int sq_bind_blob(dsql_driver_stmt *s, int idx, const void *v, size_t len,
                        dsql_error *err)
{
	return bind_rc(s, sqlite3_bind_blob64(s->stmt, idx, v, len, SQLITE_TRANSIENT), err);
}

static int sq_step(dsql_driver_stmt *s, dsql_error *err)
{
	int rc;

	if (!s->started) {
		s->started = 1;
		s->total_before = sqlite3_total_changes64(s->db);
	}
	if (s->application) {
		s->conn->refused[0] = '\0';
		s->conn->judging = 1;
	}
	rc = sqlite3_step(s->stmt);
	if (s->application)
		s->conn->judging = 0;
	if (rc == SQLITE_ROW)
		return DSQL_ROW;
	if (rc == SQLITE_DONE) {
		s->changes = sqlite3_total_changes64(s->db) == s->total_before
		                     ? 0
		                     : sqlite3_changes64(s->db);
		return DSQL_DONE;
	}
	if (s->application && s->conn->refused[0])
		return refuse(err, s->conn->refused);
	return conn_error(s->conn, "statement failed", err);
}

static int64_t sq_changes(dsql_driver_stmt *s)
{
	return s->changes;
}

static int sq_column_count(dsql_driver_stmt *s)
{
	return sqlite3_column_count(s->stmt);
}

static dsql_type sq_column_type(dsql_driver_stmt *s, int col)
{
	switch (sqlite3_column_type(s->stmt, col)) {
	case SQLITE_INTEGER: return DSQL_TYPE_INT64;
	case SQLITE_FLOAT: return DSQL_TYPE_DOUBLE;
	case SQLITE_TEXT: return DSQL_TYPE_TEXT;
	case SQLITE_BLOB: return DSQL_TYPE_BLOB;
	default: return DSQL_TYPE_NULL;
	}
}

static int64_t sq_column_int64(dsql_driver_stmt *s, int col)
{
	return sqlite3_column_int64(s->stmt, col);
}

static double sq_column_double(dsql_driver_stmt *s, int col)
{
	return sqlite3_column_double(s->stmt, col);
}

static const char *sq_column_text(dsql_driver_stmt *s, int col, size_t *len)
{
	const char *t = (const char *)sqlite3_column_text(s->stmt, col);

	if (len)
		*len = t ? (size_t)sqlite3_column_bytes(s->stmt, col) : 0;
	return t;
}

static const void *sq_column_blob(dsql_driver_stmt *s, int col, size_t *len)
{
	const void *b = sqlite3_column_blob(s->stmt, col);

	if (len)
		*len = (size_t)sqlite3_column_bytes(s->stmt, col);
	return b;
}

static int sq_reset(dsql_driver_stmt *s, dsql_error *err)
{
	(void)err;
	/* sqlite3_reset repeats the last step's error, which was reported
	 * already; a reset statement is usable whatever it returns. */
	sqlite3_reset(s->stmt);
	sqlite3_clear_bindings(s->stmt);
	s->changes = 0;
	s->started = 0;
	return DSQL_OK;
}

static void sq_finalize(dsql_driver_stmt *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->stmt);
	free(s);
}

/* The core's portable SQL is SQLite's; only the path bound differs: no
 * B-tree entry limit, so paths and deletion-vector ids up to 1 MiB. */
static const dsql_dialect dialect = {.struct_size = sizeof(dsql_dialect),
                                     .max_path_bytes = 1048576,
                                     .max_dv_bytes = 1048576};

static const dsql_dialect *sq_dialect(dsql_driver_conn *c)
{
	(void)c;
	return &dialect;
}

static const char *const schemes[] = {"sqlite", "file", NULL};

const dsql_driver dsql_sqlite_driver = {
	.abi_version = DSQL_DRIVER_ABI_VERSION,
	.struct_size = sizeof(dsql_driver),
	.name = "sqlite",
	.uri_schemes = schemes,
	.capabilities = DSQL_CAP_MULTI_PROCESS | DSQL_CAP_RETURNING | DSQL_CAP_IN_PROCESS |
	                DSQL_CAP_SERIAL_WRITERS,
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.prepare = sq_prepare,
	.bind_null = sq_bind_null,
	.bind_int64 = sq_bind_int64,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.step = sq_step,
	.changes = sq_changes,
	.column_count = sq_column_count,
	.column_type = sq_column_type,
	.column_int64 = sq_column_int64,
	.column_double = sq_column_double,
	.column_text = sq_column_text,
	.column_blob = sq_column_blob,
	.reset = sq_reset,
	.finalize = sq_finalize,
	.prepare_application = sq_prepare_application,
	.in_transaction = sq_in_transaction,
	.dialect = sq_dialect,
};
