/*
 * The generic ODBC driver (unixODBC): reaches every database with an ODBC
 * driver. URI: "odbc:" followed by an ODBC connection string, DSN or
 * DSN-less ("odbc:DRIVER={SQLite3};Database=/x.db", "odbc:DSN=lake;UID=u").
 *
 * What differs between databases is discovered with SQLGetInfo where it
 * can be (DBMS name and version, transaction isolation support); the rest
 * is a dialect row per DBMS (dialects.c): how a write transaction begins
 * where manual-commit mode does not fit (the SQLite ODBC driver's issues a
 * deferred BEGIN, on which two writers deadlock upgrading their locks, so
 * for SQLite the driver keeps autocommit on and sends BEGIN IMMEDIATE
 * itself), connection options and session settings, the statement shapes
 * and the core's dialect, and the native error codes. Everything else
 * uses autocommit off + SQLEndTran, at READ COMMITTED for writes (the core
 * locks, then reads) when the data source supports it.
 *
 * After any error inside a transaction the driver refuses to commit it
 * (some drivers, psqlODBC among them, would otherwise commit the
 * statements that succeeded).
 */
#define _GNU_SOURCE /* strcasestr */
#include <sql.h>
#include <sqlext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deltasql/driver.h"
#include "dialects.h"
#include "errors.h"

struct dsql_driver_conn {
	SQLHENV env;
	SQLHDBC dbc;
	const odbc_dialect *dialect;
	const dsql_dialect *core_dialect; /* for the core (driver.h) */
	int options_added;                /* the row's connection options are in */
	SQLUINTEGER isolation_options;
	int in_txn;
	int failed;           /* an error happened inside the open transaction */
	int failed_code;
};

typedef struct param {
	dsql_type type;
	int64_t i64;
	double f64;
	char *data;
	SQLLEN len, ind;
} param;

/* One column of the current row. The buffer is kept from row to row and
 * from one execution to the next (a value is valid until the next step):
 * a row then costs no allocation, and a value that fits one SQLGetData. */
typedef struct cell {
	char *data;
	size_t len, cap;
	int null;
} cell;

struct dsql_driver_stmt {
	dsql_driver_conn *conn;
	SQLHSTMT h;
	SQLSMALLINT n_params, n_cols;
	param *params;
	SQLSMALLINT *col_types;
	cell *cells;
	SQLSMALLINT n_cells; /* of cells, allocated */
	int executed, done;
	int64_t changes;
};

static int fail(dsql_driver_conn *c, int rc)
{
	if (c && c->in_txn && rc != DSQL_OK && !c->failed) {
		c->failed = 1;
		c->failed_code = rc;
	}
	return rc;
}

/* The diagnostics of a handle as a deltasql error, by the native codes of
 * the connection's DBMS. */
static int od_error(const dsql_driver_conn *c, dsql_error *err, SQLSMALLINT type, SQLHANDLE h,
                    const char *context)
{
	return dsql_odbc_error(err, c && c->dialect ? c->dialect->native : NULL, type, h, context);
}

/* --- connections --- */

static int direct(dsql_driver_conn *c, const char *sql, const char *context, dsql_error *err)
{
	SQLHSTMT h;
	SQLRETURN r;
	int rc = DSQL_OK;

	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &h)))
		return od_error(c, err, SQL_HANDLE_DBC, c->dbc, context);
	r = SQLExecDirect(h, (SQLCHAR *)sql, SQL_NTS);
	if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA)
		rc = od_error(c, err, SQL_HANDLE_STMT, h, context);
	SQLFreeHandle(SQL_HANDLE_STMT, h);
	return rc;
}

/* The connection string, with the connection options of the dialect row
 * whose ODBC driver it names. Only the DBMS name is known after
 * connecting, and options are taken at connect: the row is recognised by
 * its driver's name in the string (a DSN alone names none). *added: every
 * option is the row's (none was the user's own, of unknown effect). */
static char *connection_string(const char *conn_str, int *added)
{
	const odbc_dialect *row = odbc_dialect_by_connection_string(conn_str);
	size_t n = strlen(conn_str), cap = n + 1;
	char *s;

	*added = row != NULL;
	for (const odbc_option *o = row ? row->options : NULL; o && o->key; o++)
		cap += strlen(o->key) + strlen(o->value) + 2;
	if (!(s = malloc(cap)))
		return NULL;
	memcpy(s, conn_str, n + 1);
	for (const odbc_option *o = row ? row->options : NULL; o && o->key; o++) {
		char key[64];

		snprintf(key, sizeof(key), "%s=", o->key);
		if (strcasestr(conn_str, key)) {
			*added = 0; /* the user's own setting */
			continue;
		}
		if (n && s[n - 1] != ';')
			s[n++] = ';';
		n += (size_t)sprintf(s + n, "%s=%s", o->key, o->value);
	}
	return s;
}

/* The core's dialect for a connection to a row's DBMS. */
static const dsql_dialect *core_dialect(const odbc_dialect *row, int options_added,
                                        const char *version)
{
	if (!row)
		return NULL;
	if (row->versioned)
		return row->versioned(version);
	if (!options_added && row->dialect_without_options)
		return row->dialect_without_options;
	return row->dialect;
}

static int od_connect(dsql_driver_conn **out, const char *uri, dsql_error *err)
{
	dsql_driver_conn *c;
	SQLCHAR dbms[128] = "", version[64] = "";
	SQLSMALLINT len;
	char *cs;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	cs = c ? connection_string(strchr(uri, ':') + 1, &c->options_added) : NULL;
	if (!cs) {
		free(c);
		return dsql_error_set(err, DSQL_ENOMEM, "odbc", NULL, 0, "out of memory");
	}
	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &c->env)) ||
	    !SQL_SUCCEEDED(SQLSetEnvAttr(c->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0)) ||
	    !SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, c->env, &c->dbc))) {
		rc = dsql_error_set(err, DSQL_ECONNECT, "odbc", "IM001", 0,
		                    "cannot set up the ODBC environment");
		goto fail;
	}
	if (!SQL_SUCCEEDED(SQLDriverConnect(c->dbc, NULL, (SQLCHAR *)cs, SQL_NTS, NULL, 0, NULL,
	                                    SQL_DRIVER_NOPROMPT))) {
		rc = od_error(NULL, err, SQL_HANDLE_DBC, c->dbc, "cannot connect through ODBC");
		if (err)
			err->code = DSQL_ECONNECT;
		rc = DSQL_ECONNECT;
		SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
		c->dbc = NULL;
		goto fail;
	}
	SQLGetInfo(c->dbc, SQL_DBMS_NAME, dbms, sizeof(dbms), &len);
	SQLGetInfo(c->dbc, SQL_DBMS_VER, version, sizeof(version), &len);
	SQLGetInfo(c->dbc, SQL_TXN_ISOLATION_OPTION, &c->isolation_options,
	           sizeof(c->isolation_options), NULL);
	c->dialect = odbc_dialect_by_dbms((const char *)dbms);
	c->options_added = c->options_added && c->dialect &&
	                   c->dialect == odbc_dialect_by_connection_string(cs);
	c->core_dialect = core_dialect(c->dialect, c->options_added, (const char *)version);
	for (const char *const *sql = c->dialect ? c->dialect->session : NULL; sql && *sql; sql++)
		direct(c, *sql, "session setting", NULL);
	free(cs);
	*out = c;
	return DSQL_OK;
fail:
	if (c->env)
		SQLFreeHandle(SQL_HANDLE_ENV, c->env);
	free(cs);
	free(c);
	return rc;
}

static void od_disconnect(dsql_driver_conn *c)
{
	if (!c)
		return;
	if (c->in_txn)
		SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
	SQLDisconnect(c->dbc);
	SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
	SQLFreeHandle(SQL_HANDLE_ENV, c->env);
	free(c);
}

/* Transactions by statements of the dialect's, not by SQLEndTran. */
static int explicit_txn(const dsql_driver_conn *c)
{
	return c->dialect && c->dialect->begin_write;
}

static int od_begin(dsql_driver_conn *c, dsql_begin_mode mode, dsql_error *err)
{
	SQLUINTEGER want = mode == DSQL_BEGIN_WRITE ? SQL_TXN_READ_COMMITTED : SQL_TXN_REPEATABLE_READ;
	int rc;

	c->failed = 0;
	c->failed_code = 0;
	if (explicit_txn(c)) {
		rc = direct(c, mode == DSQL_BEGIN_WRITE ? c->dialect->begin_write : c->dialect->begin_read,
		            "cannot begin a transaction", err);
		c->in_txn = rc == DSQL_OK;
		return rc;
	}
	if (!(c->isolation_options & want))
		want = SQL_TXN_SERIALIZABLE;
	if (c->isolation_options & want)
		SQLSetConnectAttr(c->dbc, SQL_ATTR_TXN_ISOLATION, (SQLPOINTER)(uintptr_t)want, 0);
	if (!SQL_SUCCEEDED(SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT,
	                                     (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0)))
		return od_error(c, err, SQL_HANDLE_DBC, c->dbc, "cannot begin a transaction");
	c->in_txn = 1;
	return DSQL_OK;
}

static void end_manual(dsql_driver_conn *c)
{
	SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_ON, 0);
	c->in_txn = 0;
}

static int od_rollback(dsql_driver_conn *c, dsql_error *err)
{
	int rc = DSQL_OK;

	if (!c->in_txn)
		return DSQL_OK;
	if (explicit_txn(c)) {
		rc = direct(c, c->dialect->rollback, "rollback failed", err);
		c->in_txn = 0;
		return rc;
	}
	if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK)))
		rc = od_error(c, err, SQL_HANDLE_DBC, c->dbc, "rollback failed");
	end_manual(c);
	return rc;
}

static int od_commit(dsql_driver_conn *c, dsql_error *err)
{
	int rc = DSQL_OK;

	if (c->failed) {
		/* Never trust a COMMIT that follows an error. */
		od_rollback(c, NULL);
		return dsql_error_set(err, c->failed_code, "odbc", "25000", 0,
		                      "commit refused: a statement of the transaction had failed; "
		                      "it was rolled back");
	}
	if (explicit_txn(c)) {
		rc = direct(c, c->dialect->commit, "commit failed", err);
		if (rc != DSQL_OK)
			direct(c, c->dialect->rollback, "rollback failed", NULL);
		c->in_txn = 0;
	} else {
		if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_COMMIT))) {
			rc = od_error(c, err, SQL_HANDLE_DBC, c->dbc, "commit failed");
			SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
		}
		end_manual(c);
	}
	if (rc == DSQL_ECONNECT && err)
		rc = err->code = DSQL_EUNKNOWN; /* lost during COMMIT: outcome unknown */
	return rc;
}

/* --- statements --- */

static void clear_cells(dsql_driver_stmt *s)
{
	for (SQLSMALLINT i = 0; s->cells && i < s->n_cells; i++) {
		s->cells[i].len = 0;
		s->cells[i].null = 1;
	}
}

static void free_cells(dsql_driver_stmt *s)
{
	for (SQLSMALLINT i = 0; s->cells && i < s->n_cells; i++)
		free(s->cells[i].data);
	free(s->cells);
	s->cells = NULL;
	s->n_cells = 0;
}

static void clear_params(dsql_driver_stmt *s)
{
	for (SQLSMALLINT i = 0; i < s->n_params; i++) {
		free(s->params[i].data);
		memset(&s->params[i], 0, sizeof(s->params[i]));
	}
}

static int od_prepare(dsql_driver_stmt **out, dsql_driver_conn *c, const char *sql,
                      dsql_error *err)
{
	dsql_driver_stmt *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return dsql_error_set(err, DSQL_ENOMEM, "odbc", NULL, 0, "out of memory");
	s->conn = c;
	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &s->h))) {
		free(s);
		return fail(c, od_error(c, err, SQL_HANDLE_DBC, c->dbc, "cannot prepare"));
	}
	if (!SQL_SUCCEEDED(SQLPrepare(s->h, (SQLCHAR *)sql, SQL_NTS))) {
		rc = fail(c, od_error(s->conn, err, SQL_HANDLE_STMT, s->h, "cannot prepare a statement"));
		SQLFreeHandle(SQL_HANDLE_STMT, s->h);
		free(s);
		return rc;
	}
	SQLNumParams(s->h, &s->n_params);
	s->params = calloc((size_t)s->n_params + 1, sizeof(*s->params));
	if (!s->params) {
		SQLFreeHandle(SQL_HANDLE_STMT, s->h);
		free(s);
		return dsql_error_set(err, DSQL_ENOMEM, "odbc", NULL, 0, "out of memory");
	}
	*out = s;
	return DSQL_OK;
}

static param *param_at(dsql_driver_stmt *s, int idx, dsql_error *err)
{
	if (idx < 1 || idx > s->n_params) {
		dsql_error_set(err, DSQL_EINVALID, "odbc", "07009", 0,
		               "parameter %d out of range (statement has %d)", idx, s->n_params);
		return NULL;
	}
	free(s->params[idx - 1].data);
	memset(&s->params[idx - 1], 0, sizeof(s->params[0]));
	return &s->params[idx - 1];
}

static int od_bind_null(dsql_driver_stmt *s, int idx, dsql_error *err)
{
	param *p = param_at(s, idx, err);

	if (!p)
		return DSQL_EINVALID;
	p->type = DSQL_TYPE_NULL;
	return DSQL_OK;
}

static int od_bind_int64(dsql_driver_stmt *s, int idx, int64_t v, dsql_error *err)
{
	param *p = param_at(s, idx, err);

	if (!p)
		return DSQL_EINVALID;
	p->type = DSQL_TYPE_INT64;
	p->i64 = v;
	return DSQL_OK;
}

static int od_bind_double(dsql_driver_stmt *s, int idx, double v, dsql_error *err)
{
	param *p = param_at(s, idx, err);

	if (!p)
		return DSQL_EINVALID;
	p->type = DSQL_TYPE_DOUBLE;
	p->f64 = v;
	return DSQL_OK;
}

static int bind_bytes(dsql_driver_stmt *s, int idx, dsql_type type, const void *v, size_t len,
                      dsql_error *err)
{
	param *p = param_at(s, idx, err);

	if (!p)
		return DSQL_EINVALID;
	p->data = malloc(len + 1);
	if (!p->data)
		return dsql_error_set(err, DSQL_ENOMEM, "odbc", NULL, 0, "out of memory");
	if (len)
		memcpy(p->data, v, len);
	p->data[len] = '\0';
	p->type = type;
	p->len = (SQLLEN)len;
	return DSQL_OK;
}

static int od_bind_text(dsql_driver_stmt *s, int idx, const char *v, size_t len, dsql_error *err)
{
	return bind_bytes(s, idx, DSQL_TYPE_TEXT, v, len, err);
}

static int od_bind_blob(dsql_driver_stmt *s, int idx, const void *v, size_t len,
                        dsql_error *err)
{
	return bind_bytes(s, idx, DSQL_TYPE_BLOB, v, len, err);
}

static SQLRETURN bind_one(dsql_driver_stmt *s, SQLUSMALLINT i, param *p)
{
	switch (p->type) {
	case DSQL_TYPE_INT64:
		p->ind = 0;
		return SQLBindParameter(s->h, i, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
		                        &p->i64, 0, &p->ind);
	case DSQL_TYPE_DOUBLE:
		p->ind = 0;
		return SQLBindParameter(s->h, i, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 0, 0,
		                        &p->f64, 0, &p->ind);
	case DSQL_TYPE_TEXT:
		p->ind = p->len;
		return SQLBindParameter(s->h, i, SQL_PARAM_INPUT, SQL_C_CHAR,
		                        p->len > 4000 ? SQL_LONGVARCHAR : SQL_VARCHAR,
		                        p->len > 0 ? (SQLULEN)p->len : 1, 0, p->data, p->len + 1,
		                        &p->ind);
	case DSQL_TYPE_BLOB:
		p->ind = p->len;
		return SQLBindParameter(s->h, i, SQL_PARAM_INPUT, SQL_C_BINARY, SQL_LONGVARBINARY,
		                        p->len > 0 ? (SQLULEN)p->len : 1, 0, p->data, p->len, &p->ind);
	default:
		p->ind = SQL_NULL_DATA;
		return SQLBindParameter(s->h, i, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 1, 0, NULL,
		                        0, &p->ind);
	}
}

/* Reads one column of the current row into its cell's buffer
 * (SQLGetData, growing the buffer for long values). */
static int read_cell(dsql_driver_stmt *s, SQLUSMALLINT col, dsql_error *err)
{
	cell *c = &s->cells[col - 1];
	SQLSMALLINT t = s->col_types[col - 1];
	int binary = t == SQL_BINARY || t == SQL_VARBINARY || t == SQL_LONGVARBINARY;
	SQLSMALLINT ctype = binary ? SQL_C_BINARY : SQL_C_CHAR;
	size_t used = 0;

	if (!c->data && !(c->data = malloc(c->cap = 1024)))
		return dsql_error_set(err, DSQL_ENOMEM, "odbc", NULL, 0, "out of memory");
	for (;;) {
		SQLLEN ind = 0;
		size_t room = c->cap - used, cap;
		SQLRETURN r = SQLGetData(s->h, col, ctype, c->data + used, (SQLLEN)room, &ind);
		char *n;

		if (r == SQL_NO_DATA)
			break;
		if (!SQL_SUCCEEDED(r))
			return fail(s->conn, od_error(s->conn, err, SQL_HANDLE_STMT, s->h,
			                                     "cannot read a column"));
		if (ind == SQL_NULL_DATA) {
			c->null = 1;
			return DSQL_OK;
		}
		if (r == SQL_SUCCESS || (ind != SQL_NO_TOTAL && (size_t)ind < room)) {
			used += (size_t)ind;
			break;
		}
		/* Truncated: keep what came (less a character terminator), grow. */
		used += binary ? room : room - 1;
		cap = ind != SQL_NO_TOTAL && (size_t)ind > c->cap ? used + (size_t)ind + 1
		                                                  : c->cap * 2;
		if (!(n = realloc(c->data, cap)))
			return dsql_error_set(err, DSQL_ENOMEM, "odbc", NULL, 0, "out of memory");
		c->data = n;
		c->cap = cap;
	}
	if (used + 1 > c->cap) {
		char *n = realloc(c->data, used + 1);

		if (!n)
			return dsql_error_set(err, DSQL_ENOMEM, "odbc", NULL, 0, "out of memory");
		c->data = n;
		c->cap = used + 1;
	}
	c->data[used] = '\0';
	c->len = used;
	c->null = 0;
	return DSQL_OK;
}

static int fetch(dsql_driver_stmt *s, dsql_error *err)
{
	SQLRETURN r;

	clear_cells(s);
	r = SQLFetch(s->h);
	if (r == SQL_NO_DATA) {
		s->done = 1;
		return DSQL_DONE;
	}
	if (!SQL_SUCCEEDED(r))
		return fail(s->conn, od_error(s->conn, err, SQL_HANDLE_STMT, s->h, "fetch failed"));
	for (SQLUSMALLINT i = 1; i <= (SQLUSMALLINT)s->n_cols; i++) {
		int rc = read_cell(s, i, err);

		if (rc != DSQL_OK)
			return rc;
	}
	return DSQL_ROW;
}

static int execute(dsql_driver_stmt *s, dsql_error *err)
{
	SQLRETURN r;
	SQLLEN rows = 0;

	for (SQLSMALLINT i = 0; i < s->n_params; i++)
		if (!SQL_SUCCEEDED(bind_one(s, (SQLUSMALLINT)(i + 1), &s->params[i])))
			return fail(s->conn, od_error(s->conn, err, SQL_HANDLE_STMT, s->h,
			                                     "cannot bind a parameter"));
	r = SQLExecute(s->h);
	s->executed = 1;
	if (r == SQL_NO_DATA) { /* a searched UPDATE/DELETE that matched nothing */
		s->changes = 0;
		s->done = 1;
		return DSQL_DONE;
	}
	if (!SQL_SUCCEEDED(r))
		return fail(s->conn, od_error(s->conn, err, SQL_HANDLE_STMT, s->h, "statement failed"));
	SQLRowCount(s->h, &rows);
	s->changes = rows > 0 ? (int64_t)rows : 0;
	SQLNumResultCols(s->h, &s->n_cols);
	if (s->n_cols <= 0) {
		s->done = 1;
		return DSQL_DONE;
	}
	free(s->col_types);
	s->col_types = calloc((size_t)s->n_cols, sizeof(*s->col_types));
	/* A statement run again keeps its cells' buffers. */
	if (s->n_cells != s->n_cols) {
		free_cells(s);
		if ((s->cells = calloc((size_t)s->n_cols, sizeof(*s->cells))) != NULL)
			s->n_cells = s->n_cols;
	}
	if (!s->col_types || !s->cells)
		return dsql_error_set(err, DSQL_ENOMEM, "odbc", NULL, 0, "out of memory");
	for (SQLSMALLINT i = 0; i < s->n_cols; i++) {
		SQLCHAR name[64];
		SQLSMALLINT nlen, type, digits, nullable;
		SQLULEN size;

		SQLCHAR type_name[64] = "";
		SQLSMALLINT tlen = 0;

		SQLDescribeCol(s->h, (SQLUSMALLINT)(i + 1), name, sizeof(name), &nlen, &type, &size,
		               &digits, &nullable);
		/* Some drivers (SQLite's) describe a column declared BYTEA or BLOB
		 * by its affinity; the declared type name says it holds bytes. */
		SQLColAttribute(s->h, (SQLUSMALLINT)(i + 1), SQL_DESC_TYPE_NAME, type_name,
		                sizeof(type_name), &tlen, NULL);
		if (strcasestr((const char *)type_name, "blob") ||
		    strcasestr((const char *)type_name, "bytea") ||
		    strcasestr((const char *)type_name, "binary"))
			type = SQL_LONGVARBINARY;
		s->col_types[i] = type;
		s->cells[i].null = 1;
	}
	return fetch(s, err);
}

static int od_step(dsql_driver_stmt *s, dsql_error *err)
{
	if (!s->executed)
		return execute(s, err);
	if (s->done)
		return DSQL_DONE;
	return fetch(s, err);
}

static int64_t od_changes(dsql_driver_stmt *s)
{
	return s->changes;
}

static int od_column_count(dsql_driver_stmt *s)
{
	return s->n_cols > 0 ? s->n_cols : 0;
}

static const cell *cell_at(dsql_driver_stmt *s, int col)
{
	if (!s->cells || col < 0 || col >= s->n_cols || s->done)
		return NULL;
	return &s->cells[col];
}

static dsql_type od_column_type(dsql_driver_stmt *s, int col)
{
	const cell *c = cell_at(s, col);

	if (!c || c->null)
		return DSQL_TYPE_NULL;
	switch (s->col_types[col]) {
	case SQL_BIGINT:
	case SQL_INTEGER:
	case SQL_SMALLINT:
	case SQL_TINYINT:
	case SQL_BIT:
		return DSQL_TYPE_INT64;
	case SQL_DOUBLE:
	case SQL_FLOAT:
	case SQL_REAL:
	case SQL_NUMERIC:
	case SQL_DECIMAL:
		return DSQL_TYPE_DOUBLE;
	case SQL_BINARY:
	case SQL_VARBINARY:
	case SQL_LONGVARBINARY:
		return DSQL_TYPE_BLOB;
	default:
		return DSQL_TYPE_TEXT;
	}
}

static int64_t od_column_int64(dsql_driver_stmt *s, int col)
{
	const cell *c = cell_at(s, col);

	return c && !c->null ? strtoll(c->data, NULL, 10) : 0;
}

static double od_column_double(dsql_driver_stmt *s, int col)
{
	const cell *c = cell_at(s, col);

	return c && !c->null ? strtod(c->data, NULL) : 0;
}

static const char *od_column_text(dsql_driver_stmt *s, int col, size_t *len)
{
	const cell *c = cell_at(s, col);

	if (len)
		*len = c && !c->null ? c->len : 0;
	return c && !c->null ? c->data : NULL;
}

static const void *od_column_blob(dsql_driver_stmt *s, int col, size_t *len)
{
	return od_column_text(s, col, len);
}

static int od_reset(dsql_driver_stmt *s, dsql_error *err)
{
	(void)err;
	SQLFreeStmt(s->h, SQL_CLOSE);
	SQLFreeStmt(s->h, SQL_RESET_PARAMS);
	clear_cells(s);
	clear_params(s);
	s->executed = s->done = 0;
	s->changes = 0;
	return DSQL_OK;
}

static void od_finalize(dsql_driver_stmt *s)
{
	if (!s)
		return;
	clear_cells(s);
	clear_params(s);
	SQLFreeHandle(SQL_HANDLE_STMT, s->h);
	free(s->params);
	free(s->col_types);
	free_cells(s);
	free(s);
}

static unsigned int od_connection_capabilities(dsql_driver_conn *c)
{
	return c->dialect ? c->dialect->capabilities : 0;
}

static const dsql_dialect *od_dialect(dsql_driver_conn *c)
{
	return c->core_dialect;
}

static const char *const schemes[] = {"odbc", NULL};

const dsql_driver dsql_odbc_driver = {
	.abi_version = DSQL_DRIVER_ABI_VERSION,
	.struct_size = sizeof(dsql_driver),
	.name = "odbc",
	.uri_schemes = schemes,
	.capabilities = DSQL_CAP_MULTI_PROCESS,
	.connect = od_connect,
	.disconnect = od_disconnect,
	.begin = od_begin,
	.commit = od_commit,
	.rollback = od_rollback,
	.prepare = od_prepare,
	.bind_null = od_bind_null,
	.bind_int64 = od_bind_int64,
	.bind_double = od_bind_double,
	.bind_text = od_bind_text,
	.bind_blob = od_bind_blob,
	.step = od_step,
	.changes = od_changes,
	.column_count = od_column_count,
	.column_type = od_column_type,
	.column_int64 = od_column_int64,
	.column_double = od_column_double,
	.column_text = od_column_text,
	.column_blob = od_column_blob,
	.reset = od_reset,
	.finalize = od_finalize,
	.connection_capabilities = od_connection_capabilities,
	.dialect = od_dialect,
};
