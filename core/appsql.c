/*
 * Application SQL inside the metadata commit's database transaction: the
 * statements are checked when added (one statement, no transaction
 * control), run after the metadata writes of every attempt, and their
 * results kept as text for the caller after the commit.
 */
#include "txn_int.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The catalog's tables all begin with this prefix. */
#define CATALOG_PREFIX "dsql_"

/* Non-zero when a word of the text begins with the catalog's table prefix,
 * anywhere (a name, quoted or qualified, a literal or a comment alike): a
 * guard against mistakes on every driver, not a parse. The database's own
 * judgment is the driver's (driver.h, prepare_application); a role is the
 * boundary on PostgreSQL. */
static int names_catalog(const char *sql)
{
	size_t n = strlen(CATALOG_PREFIX);

	for (const char *p = sql; *p; p++)
		if (strncasecmp(p, CATALOG_PREFIX, n) == 0 &&
		    (p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '$')))
			return 1;
	return 0;
}

static int known_type(dsql_type t)
{
	return t == DSQL_TYPE_NULL || t == DSQL_TYPE_INT64 || t == DSQL_TYPE_DOUBLE ||
	       t == DSQL_TYPE_TEXT || t == DSQL_TYPE_BLOB;
}

static int copy_params(app_sql *s, const dsql_param *params, size_t n, dsql_error *err)
{
	s->params = calloc(n ? n : 1, sizeof(*s->params));
	if (!s->params)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	s->n_params = n;
	for (size_t i = 0; i < n; i++) {
		dsql_param *p = &s->params[i];

		*p = params[i];
		p->data = NULL;
		if (!known_type(params[i].type))
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "parameter %zu has an unknown type (%d)", i + 1,
			                      (int)params[i].type);
		if (params[i].type != DSQL_TYPE_TEXT && params[i].type != DSQL_TYPE_BLOB)
			continue;
		if (params[i].len && !params[i].data)
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "parameter %zu has a length but no data", i + 1);
		p->data = malloc(params[i].len + 1);
		if (!p->data)
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		if (params[i].len)
			memcpy((void *)p->data, params[i].data, params[i].len);
		((char *)p->data)[params[i].len] = '\0';
	}
	return DSQL_OK;
}

/* Puts a formatted prefix in front of err's message. */
static void prefix_message(dsql_error *err, const char *fmt, ...)
{
	char msg[DSQL_ERROR_MESSAGE_MAX];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, "%s", err->message);
	util_copy(err->message, sizeof(err->message), msg);
}

static void clear_results(app_sql *s)
{
	for (size_t i = 0; i < s->n_rows * s->n_cols; i++)
		free(s->values[i]);
	free(s->values);
	s->values = NULL;
	s->n_rows = s->n_cols = 0;
	s->changes = 0;
}

static void free_one(app_sql *s)
{
	clear_results(s);
	for (size_t i = 0; s->params && i < s->n_params; i++)
		free((void *)s->params[i].data);
	free(s->params);
	free(s->sql);
}

void appsql_free(dsql_txn *txn)
{
	free(txn->sql_role);
	for (size_t i = 0; i < txn->n_sql; i++)
		free_one(&txn->sql[i]);
	free(txn->sql);
}

int dsql_txn_add_sql(dsql_txn *txn, size_t *out, const char *sql, const dsql_param *params,
                     size_t n_params, dsql_error *err)
{
	app_sql *s;
	int rc;

	if (!txn || txn->state != TXN_OPEN)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "transaction is not open");
	if ((rc = db_judges_app_sql(txn->cat->db, err)) != DSQL_OK)
		return rc;
	if (!sql || !*sql)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "application statement %zu is empty", txn->n_sql);
	if (names_catalog(sql))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "application statement %zu names the catalog's own tables "
		                      "(" CATALOG_PREFIX "*); application SQL may not touch them",
		                      txn->n_sql);
	if (n_params && !params)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "parameters are NULL");
	if (txn->n_sql == txn->cap_sql) {
		size_t cap = txn->cap_sql ? txn->cap_sql * 2 : 4;
		app_sql *n = realloc(txn->sql, cap * sizeof(*n));

		if (!n)
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		txn->sql = n;
		txn->cap_sql = cap;
	}
	s = &txn->sql[txn->n_sql];
	memset(s, 0, sizeof(*s));
	s->sql = strdup(sql);
	rc = s->sql ? copy_params(s, params, n_params, err)
	            : dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	if (rc != DSQL_OK && err)
		prefix_message(err, "application statement %zu: ", txn->n_sql);
	if (rc != DSQL_OK) {
		free_one(s);
		return rc;
	}
	if (out)
		*out = txn->n_sql;
	txn->n_sql++;
	return DSQL_OK;
}

int dsql_txn_set_sql_role(dsql_txn *txn, const char *role, dsql_error *err)
{
	char *copy = NULL;

	if (!txn || txn->state != TXN_OPEN)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "transaction is not open");
	if (role && !*role)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "the role name is empty");
	if (role && !(copy = strdup(role)))
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	free(txn->sql_role);
	txn->sql_role = copy;
	return DSQL_OK;
}

/* One column value as text (a copy), NULL for SQL NULL. */
static char *value_text(db_stmt *st, int col)
{
	char buf[64];
	const unsigned char *b;
	size_t len;
	char *hex;

	switch (db_column_type(st, col)) {
	case DSQL_TYPE_NULL:
		return NULL;
	case DSQL_TYPE_INT64:
		snprintf(buf, sizeof(buf), "%lld", (long long)db_column_int64(st, col));
		return strdup(buf);
	case DSQL_TYPE_DOUBLE:
		snprintf(buf, sizeof(buf), "%.17g", db_column_double(st, col));
		return strdup(buf);
	case DSQL_TYPE_BLOB:
		b = db_column_blob(st, col, &len);
		hex = malloc(2 * len + 1);
		for (size_t i = 0; hex && i < len; i++)
			snprintf(hex + 2 * i, 3, "%02x", b[i]);
		if (hex)
			hex[2 * len] = '\0';
		return hex;
	default:
		return strdup(db_column_text(st, col, NULL));
	}
}

static int collect_row(app_sql *s, db_stmt *st, dsql_error *err)
{
	size_t cells = (s->n_rows + 1) * s->n_cols;
	char **n = realloc(s->values, (cells ? cells : 1) * sizeof(*n));

	if (!n)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	s->values = n;
	for (size_t c = 0; c < s->n_cols; c++)
		n[s->n_rows * s->n_cols + c] = value_text(st, (int)c);
	s->n_rows++;
	return DSQL_OK;
}

static int run_one(dsql_txn *txn, app_sql *s, dsql_error *err)
{
	db_stmt *st;
	int rc;

	clear_results(s);
	rc = db_stmt_prepare_app(&st, txn->cat->db, s->sql, err);
	for (size_t i = 0; rc == DSQL_OK && i < s->n_params; i++) {
		const dsql_param *p = &s->params[i];

		rc = db_bind(st, (int)i + 1, p->type, p->i64, p->f64, p->data, p->len, err);
	}
	if (rc == DSQL_OK) {
		/* Column counts are known once the statement ran (PostgreSQL). */
		while ((rc = db_step(st, err)) == DSQL_ROW) {
			s->n_cols = (size_t)db_column_count(st);
			if ((rc = collect_row(s, st, err)) != DSQL_OK)
				break;
		}
		if (rc == DSQL_DONE && s->n_rows == 0)
			s->n_cols = (size_t)db_column_count(st);
		if (rc == DSQL_DONE) {
			s->changes = db_changes(st);
			rc = DSQL_OK;
		}
	}
	db_stmt_free(st);
	return rc;
}

/* Says which statement an error belongs to, keeping the database's own
 * code, SQLSTATE and message. */
static int blame(dsql_error *err, size_t i, int rc)
{
	if (err) {
		prefix_message(err, "application statement %zu failed: ", i);
		err->statement_index = (int)i;
	}
	return rc;
}

int appsql_run(dsql_txn *txn, dsql_error *err)
{
	dsql_db *db = txn->cat->db;
	int rc;

	/* The metadata writes may still be queued (DSQL_CAP_DEFERRED): their
	 * errors are theirs, not the first statement's. */
	if ((rc = db_flush(db, err)) != DSQL_OK)
		return rc;
	for (size_t i = 0; i < txn->n_sql; i++) {
		/* The role again before every statement: one cannot hand the
		 * next the connection's own (set_config('role', 'none', true)).
		 * The first is waited for, so that a role the database refuses
		 * is reported as that. */
		if (txn->sql_role &&
		    ((rc = db_set_app_role(db, txn->sql_role, err)) != DSQL_OK ||
		     (i == 0 && (rc = db_flush(db, err)) != DSQL_OK))) {
			if (err)
				prefix_message(err, "cannot run application SQL as role '%.64s': ",
				               txn->sql_role);
			return rc;
		}
		rc = run_one(txn, &txn->sql[i], err);
		if (rc != DSQL_OK)
			return blame(err, i, rc);
		/* The database judged the statement before it ran; this is the
		 * check that nothing ended the transaction all the same. */
		if (!db_txn_still_open(db))
			return blame(err, i,
			             dsql_error_set(err, DSQL_ERROR, db_driver(db)->name, NULL, 0,
			                            "internal: the statement ended the "
			                            "transaction, which its driver should "
			                            "have refused"));
	}
	return DSQL_OK;
}

int64_t dsql_txn_sql_changes(const dsql_txn *txn, size_t stmt)
{
	return stmt < txn->n_sql ? txn->sql[stmt].changes : -1;
}

size_t dsql_txn_sql_row_count(const dsql_txn *txn, size_t stmt)
{
	return stmt < txn->n_sql ? txn->sql[stmt].n_rows : 0;
}

size_t dsql_txn_sql_column_count(const dsql_txn *txn, size_t stmt)
{
	return stmt < txn->n_sql ? txn->sql[stmt].n_cols : 0;
}

const char *dsql_txn_sql_value(const dsql_txn *txn, size_t stmt, size_t row, size_t col)
{
	const app_sql *s;

	if (stmt >= txn->n_sql)
		return NULL;
	s = &txn->sql[stmt];
	if (row >= s->n_rows || col >= s->n_cols)
		return NULL;
	return s->values[row * s->n_cols + col];
}
