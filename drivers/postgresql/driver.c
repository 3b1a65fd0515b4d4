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
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deltasql/driver.h"
#include "errors.h"

#define BYTEAOID 17

struct dsql_driver_conn {
	PGconn *pg;
	unsigned int next_stmt;
	/* The error that aborted the open transaction, if any: COMMIT then
	 * reports it instead of the server's bare "ROLLBACK". */
	int failed_code;
	char failed_state[6];
};

struct dsql_driver_stmt {
	dsql_driver_conn *conn;
	char name[32];
	int n_params;
	char **values;
	int *lengths;
	int *formats;
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

/* --- connections --- */

static int pg_connect(dsql_driver_conn **out, const char *uri, dsql_error *err)
{
	dsql_driver_conn *c;
	const char *colon = strchr(uri, ':');
	const char *conninfo = (colon && strncmp(colon + 1, "//", 2) != 0) ? colon + 1 : uri;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return dsql_error_set(err, DSQL_ENOMEM, "postgresql", NULL, 0, "out of memory");
	c->pg = PQconnectdb(conninfo);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		/* libpq's message names host and reason, never the password. */
		int rc = dsql_pg_error(err, c->pg, NULL, "cannot connect to PostgreSQL");

		if (err)
			err->code = DSQL_ECONNECT;
		PQfinish(c->pg);
		free(c);
		return rc == DSQL_ENOMEM ? rc : DSQL_ECONNECT;
	}
	PQsetNoticeProcessor(c->pg, silence, NULL);
	/* A lock held forever (a stuck session, a forgotten prepared
	 * transaction) must not hang a commit forever: give up after 5 s with
	 * 55P03, which the core retries within its policy's time limit. Users
	 * set their own through the URI's options (-c lock_timeout=...). */
	if (!strstr(conninfo, "lock_timeout"))
		PQclear(PQexec(c->pg, "SET lock_timeout = '5s'"));
	*out = c;
	return DSQL_OK;
}

static void pg_disconnect(dsql_driver_conn *c)
{
	if (!c)
		return;
	PQfinish(c->pg);
	free(c);
}

/* Runs a statement without parameters or rows (transaction control). */
static int simple(dsql_driver_conn *c, const char *sql, const char *context, dsql_error *err)
{
	PGresult *r = PQexec(c->pg, sql);
	int rc = DSQL_OK;

	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = dsql_pg_error(err, c->pg, r, context);
	PQclear(r);
	return rc;
}

static int pg_begin(dsql_driver_conn *c, dsql_begin_mode mode, dsql_error *err)
{
	c->failed_code = 0;
	c->failed_state[0] = '\0';
	return simple(c,
	              mode == DSQL_BEGIN_WRITE ? "BEGIN ISOLATION LEVEL READ COMMITTED"
	                                       : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	              "cannot begin a transaction", err);
}

static int pg_commit(dsql_driver_conn *c, dsql_error *err)
{
	PGresult *r = PQexec(c->pg, "COMMIT");
	int rc = DSQL_OK;

	if (!r || PQstatus(c->pg) == CONNECTION_BAD) {
		/* Sent or not, answered or not: nobody can say here. */
		rc = dsql_error_set(err, DSQL_EUNKNOWN, "postgresql", "08006", 0,
		                    "the connection was lost during COMMIT: %s",
		                    PQerrorMessage(c->pg));
	} else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = dsql_pg_error(err, c->pg, r, "commit failed");
		if (rc == DSQL_ECONNECT)
			rc = err ? (err->code = DSQL_EUNKNOWN) : DSQL_EUNKNOWN;
	} else if (strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
		/* The transaction had failed: the server rolled it back. */
		rc = dsql_error_set(err, c->failed_code ? c->failed_code : DSQL_EDB, "postgresql",
		                    c->failed_state[0] ? c->failed_state : "25P02", 0,
		                    "commit failed: the transaction had been aborted by an "
		                    "earlier error and was rolled back");
	}
	PQclear(r);
	return rc;
}

static int pg_rollback(dsql_driver_conn *c, dsql_error *err)
{
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

static void clear_params(dsql_driver_stmt *s)
{
	for (int i = 0; i < s->n_params; i++) {
		free(s->values[i]);
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
	clear_params(s);
	free(s->values);
	free(s->lengths);
	free(s->formats);
	free(s);
}

static int pg_prepare(dsql_driver_stmt **out, dsql_driver_conn *c, const char *sql,
                      dsql_error *err)
{
	dsql_driver_stmt *s = calloc(1, sizeof(*s));
	char *text;
	PGresult *r;
	int n = 0, rc = DSQL_OK;

	*out = NULL;
	text = s ? rewrite(sql, &n) : NULL;
	if (!text) {
		free(s);
		return dsql_error_set(err, DSQL_ENOMEM, "postgresql", NULL, 0, "out of memory");
	}
	s->conn = c;
	s->n_params = n;
	s->values = calloc((size_t)n + 1, sizeof(*s->values));
	s->lengths = calloc((size_t)n + 1, sizeof(*s->lengths));
	s->formats = calloc((size_t)n + 1, sizeof(*s->formats));
	snprintf(s->name, sizeof(s->name), "dsql_s%u", ++c->next_stmt);
	r = PQprepare(c->pg, s->name, text, n, NULL);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = dsql_pg_error(err, c->pg, r, "cannot prepare a statement");
		if (r && !c->failed_code && PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
			c->failed_code = rc;
			snprintf(c->failed_state, sizeof(c->failed_state), "%s", err ? err->sqlstate : "");
		}
	}
	PQclear(r);
	free(text);
	if (rc != DSQL_OK || !s->values || !s->lengths || !s->formats) {
		free_stmt(s);
		return rc != DSQL_OK ? rc
		                     : dsql_error_set(err, DSQL_ENOMEM, "postgresql", NULL, 0,
		                                      "out of memory");
	}
	*out = s;
	return DSQL_OK;
}

static int set_param(dsql_driver_stmt *s, int idx, const void *data, size_t len, int binary,
                     dsql_error *err)
{
	char *copy;

	if (idx < 1 || idx > s->n_params)
		return dsql_error_set(err, DSQL_EINVALID, "postgresql", "07009", 0,
		                      "parameter %d out of range (statement has %d)", idx, s->n_params);
	free(s->values[idx - 1]);
	s->values[idx - 1] = NULL;
	if (!data)
		return DSQL_OK;
	copy = malloc(len + 1);
	if (!copy)
		return dsql_error_set(err, DSQL_ENOMEM, "postgresql", NULL, 0, "out of memory");
	memcpy(copy, data, len);
	copy[len] = '\0';
	s->values[idx - 1] = copy;
	s->lengths[idx - 1] = (int)len;
	s->formats[idx - 1] = binary;
	return DSQL_OK;
}

static int pg_bind_null(dsql_driver_stmt *s, int idx, dsql_error *err)
{
	return set_param(s, idx, NULL, 0, 0, err);
}

static int pg_bind_int64(dsql_driver_stmt *s, int idx, int64_t v, dsql_error *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)v);

	return set_param(s, idx, buf, (size_t)n, 0, err);
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

static int pg_step(dsql_driver_stmt *s, dsql_error *err)
{
	dsql_driver_conn *c = s->conn;
	ExecStatusType st;

	if (s->executed) {
		if (++s->row < s->n_rows)
			return DSQL_ROW;
		return DSQL_DONE;
	}
	PQclear(s->res);
	s->res = PQexecPrepared(c->pg, s->name, s->n_params, (const char *const *)s->values,
	                        s->lengths, s->formats, 0);
	s->executed = 1;
	st = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		const char *tuples = PQcmdTuples(s->res);

		s->changes = tuples && *tuples ? strtoll(tuples, NULL, 10) : 0;
		s->n_rows = st == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
		s->row = 0;
		return s->n_rows > 0 ? DSQL_ROW : DSQL_DONE;
	}
	{
		int rc = dsql_pg_error(err, c->pg, s->res, "statement failed");

		if (!c->failed_code && PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
			c->failed_code = rc;
			snprintf(c->failed_state, sizeof(c->failed_state), "%s",
			         err ? err->sqlstate : "");
		}
		return rc;
	}
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

static void pg_finalize(dsql_driver_stmt *s)
{
	dsql_driver_conn *c;

	if (!s)
		return;
	c = s->conn;
	/* Free the server-side statement unless the session is gone or in a
	 * failed transaction (where it would fail; the session's end frees it). */
	if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_INERROR) {
		char sql[64];

		snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
		PQclear(PQexec(c->pg, sql));
	}
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
		return dsql_error_set(err, DSQL_ENOMEM, "postgresql", NULL, 0, "out of memory");
	}
	sprintf(sql, "%s %s", verb, lit);
	rc = simple(c, sql, context, err);
	free(sql);
	PQfreemem(lit);
	return rc;
}

static int pg_prepare_transaction(dsql_driver_conn *c, const char *gid, dsql_error *err)
{
	int rc = gid_command(c, "PREPARE TRANSACTION", gid, "cannot prepare the transaction", err);

	if (rc == DSQL_ECONNECT)
		rc = err ? (err->code = DSQL_EUNKNOWN) : DSQL_EUNKNOWN;
	if (rc != DSQL_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE &&
	    PQstatus(c->pg) == CONNECTION_OK)
		PQclear(PQexec(c->pg, "ROLLBACK"));
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
	PGresult *r = PQexecParams(c->pg,
	                           "SELECT gid FROM pg_prepared_xacts WHERE database ="
	                           " current_database() AND starts_with(gid, $1) ORDER BY prepared",
	                           1, NULL, params, NULL, NULL, 0);
	int rc = DSQL_OK;

	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = dsql_pg_error(err, c->pg, r, "cannot list prepared transactions");
	for (int i = 0; rc == DSQL_OK && i < PQntuples(r); i++)
		rc = cb(PQgetvalue(r, i, 0), payload);
	PQclear(r);
	return rc;
}

static const char *const schemes[] = {"postgresql", "postgres", NULL};

const dsql_driver dsql_postgresql_driver = {
	.abi_version = DSQL_DRIVER_ABI_VERSION,
	.struct_size = sizeof(dsql_driver),
	.name = "postgresql",
	.uri_schemes = schemes,
	.capabilities = DSQL_CAP_TWO_PHASE | DSQL_CAP_ROW_LOCKS | DSQL_CAP_MULTI_PROCESS |
	                DSQL_CAP_RETURNING,
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
};
