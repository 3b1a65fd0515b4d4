/*
 * Application SQL inside the metadata commit's database transaction: the
 * statements are checked when added (one statement, no transaction
 * control), run after the metadata writes of every attempt, and their
 * results kept as text for the caller after the commit.
 */
#include "txn_int.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Skips white space and comments. */
static const char *skip_blank(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");

			p = end ? end + 2 : p + strlen(p);
		} else {
			return p;
		}
	}
}

/* Non-zero when text remains after a top-level ';' (outside quotes and
 * comments): a second statement, which some drivers would silently drop. */
static int has_second_statement(const char *p)
{
	while (*p) {
		if (*p == '\'' || *p == '"') {
			char q = *p++;

			while (*p && !(*p == q && p[1] != q))
				p += (*p == q) ? 2 : 1;
			if (*p)
				p++;
		} else if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*')) {
			p = skip_blank(p);
		} else if (*p == ';') {
			return *skip_blank(p + 1) != '\0';
		} else {
			p++;
		}
	}
	return 0;
}

static int is_transaction_control(const char *sql)
{
	static const char *const words[] = {"BEGIN", "COMMIT", "ROLLBACK", "END", "ABORT",
	                                    "SAVEPOINT", "RELEASE", "START", "PREPARE", NULL};
	const char *p = skip_blank(sql);
	size_t n = 0;

	while (isalpha((unsigned char)p[n]))
		n++;
	for (const char *const *w = words; *w; w++)
		if (strlen(*w) == n && strncasecmp(p, *w, n) == 0)
			return 1;
	return 0;
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
	if (!sql || !*skip_blank(sql))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "application statement %zu is empty", txn->n_sql);
	if (has_second_statement(sql))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "application statement %zu holds more than one statement",
		                      txn->n_sql);
	if (is_transaction_control(sql))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "application statement %zu controls the transaction; the "
		                      "commit does that", txn->n_sql);
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
	if (rc != DSQL_OK) {
		free_one(s);
		return rc;
	}
	if (out)
		*out = txn->n_sql;
	txn->n_sql++;
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
	rc = db_stmt_prepare(&st, txn->cat->db, s->sql, err);
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

int appsql_run(dsql_txn *txn, dsql_error *err)
{
	for (size_t i = 0; i < txn->n_sql; i++) {
		int rc = run_one(txn, &txn->sql[i], err);

		if (rc != DSQL_OK) {
			/* Keep the database's own code, SQLSTATE and message; say which
			 * statement it was. */
			if (err) {
				char msg[DSQL_ERROR_MESSAGE_MAX];

				snprintf(msg, sizeof(msg), "application statement %zu failed: %.960s", i,
				         err->message);
				util_copy(err->message, sizeof(err->message), msg);
				err->statement_index = (int)i;
			}
			return rc;
		}
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
