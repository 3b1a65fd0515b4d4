/* Wrappers around the driver vtable: the only calls through it. */
#include "db.h"
#include "log.h"
#include "registry.h"
#include "util.h"

#include "config.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STMT_CACHE_MAX 256

struct db_stmt {
	dsql_db *db;
	const char *sql;
	dsql_driver_stmt *s;
};

struct dsql_db {
	const dsql_driver *drv;
	dsql_driver_conn *conn;
	char *uri;
	unsigned int caps; /* the driver's, refined by the connection's */
	db_choices choices;
	dsql_dialect dialect; /* the driver's over the portable default */
	int in_txn;
	const core_logger *log;
	size_t n_stmts;
	db_stmt stmts[STMT_CACHE_MAX];
};

/* The driver's capabilities, with the statement-shape bits of this
 * connection when the driver tells them per connection. Before ABI 4 a
 * database in the process also serialised its writers; the retired bits
 * are dropped (their SQL is a dialect's now). */
static unsigned int connection_caps(const dsql_driver *drv, dsql_driver_conn *conn)
{
	unsigned int caps = drv->capabilities;

	if (drv->connection_capabilities)
		caps = (caps & ~DSQL_CAP_CONNECTION_BITS) |
		       (drv->connection_capabilities(conn) & DSQL_CAP_CONNECTION_BITS);
	if (drv->abi_version < 4 && (caps & DSQL_CAP_IN_PROCESS))
		caps |= DSQL_CAP_SERIAL_WRITERS;
	return caps & ~(DSQL_CAP_ROW_IDS | DSQL_CAP_NULLS_NOT_DISTINCT);
}

/* The portable default: SQL that SQLite and PostgreSQL both take. */
static const dsql_dialect portable = {
	.struct_size = sizeof(dsql_dialect),
	.name_type = "TEXT",
	.path_type = "TEXT",
	.dv_type = "TEXT",
	.text_type = "TEXT",
	.bytes_type = "BLOB",
	.table_options = "",
	.drop_index = "DROP INDEX IF EXISTS {index}",
	.quote = "\"",
	.max_path_bytes = 2048,
	.max_dv_bytes = 512,
};

#define FILL(f)                                                                           \
	do {                                                                              \
		if (!out->f)                                                              \
			out->f = portable.f;                                              \
	} while (0)

/* The driver's dialect (as far as its struct_size reaches) over the
 * portable default. A half-given row-id form is no form. */
static void merge_dialect(dsql_dialect *out, const dsql_driver *drv, dsql_driver_conn *conn)
{
	const dsql_dialect *d = drv->dialect ? drv->dialect(conn) : NULL;

	memset(out, 0, sizeof(*out));
	if (d)
		memcpy(out, d, d->struct_size < sizeof(*out) ? d->struct_size : sizeof(*out));
	out->struct_size = sizeof(*out);
	FILL(name_type);
	FILL(path_type);
	FILL(dv_type);
	FILL(text_type);
	FILL(bytes_type);
	FILL(table_options);
	FILL(drop_index);
	FILL(quote);
	FILL(max_path_bytes);
	FILL(max_dv_bytes);
	if (!out->unlink_by_row_id.head || !out->unlink_by_row_id.row ||
	    !out->unlink_by_row_id.sep || !out->unlink_by_row_id.tail)
		memset(&out->unlink_by_row_id, 0, sizeof(out->unlink_by_row_id));
}

/* Every choice of statement shape, once per connection. */
static void choose(dsql_db *db)
{
	unsigned int caps = db->caps;
	db_choices *c = &db->choices;

	merge_dialect(&db->dialect, db->drv, db->conn);
	c->serial_writers = !!(caps & DSQL_CAP_SERIAL_WRITERS);
	c->lock_returning = c->serial_writers && (caps & DSQL_CAP_RETURNING);
	c->deferred = !!(caps & DSQL_CAP_DEFERRED);
	c->row_per_statement = !!(caps & DSQL_CAP_IN_PROCESS);
	c->unlink_by_row_id = !c->row_per_statement && db->dialect.unlink_by_row_id.head;
	c->unlink_each = !c->row_per_statement && !c->unlink_by_row_id && c->deferred;
	c->counts_changed = !!(db->dialect.flags & DSQL_DIALECT_COUNTS_CHANGED);
	c->ddl_commits = !!(db->dialect.flags & DSQL_DIALECT_DDL_COMMITS);
	c->sort_by_key = !!(db->dialect.flags & DSQL_DIALECT_SORT_BY_KEY);
}

static void drop_statements(dsql_db *db)
{
	for (size_t i = 0; i < db->n_stmts; i++)
		db->drv->finalize(db->stmts[i].s);
	db->n_stmts = 0;
}

int db_open(dsql_db **out, const char *uri, dsql_error *err)
{
	const dsql_driver *drv;
	dsql_db *db;
	int rc;

	*out = NULL;
	drv = registry_find(uri);
	if (!drv)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "no driver for catalog URI scheme '%.*s' (known: %s)",
		                      (int)strcspn(uri, ":"), uri, registry_schemes());
	db = calloc(1, sizeof(*db));
	if (!db || !(db->uri = strdup(uri))) {
		free(db);
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	}
	db->drv = drv;
	rc = drv->connect(&db->conn, uri, err);
	if (rc != DSQL_OK) {
		free(db->uri);
		free(db);
		return rc;
	}
	db->caps = connection_caps(drv, db->conn);
	choose(db);
	*out = db;
	return DSQL_OK;
}

void db_close(dsql_db *db)
{
	if (!db)
		return;
	drop_statements(db);
	if (db->conn)
		db->drv->disconnect(db->conn);
	free(db->uri);
	free(db);
}

int db_reconnect(dsql_db *db, dsql_error *err)
{
	int rc;

	drop_statements(db);
	if (db->conn)
		db->drv->disconnect(db->conn);
	db->conn = NULL;
	db->in_txn = 0;
	rc = db->drv->connect(&db->conn, db->uri, err);
	if (rc == DSQL_OK) {
		db->caps = connection_caps(db->drv, db->conn);
		choose(db);
	}
	if (db->log && LOG_WANTS(db->log, DSQL_LOG_WARN)) {
		dsql_log_field f[] = {{"driver", db->drv->name},
		                      {"result", rc == DSQL_OK ? "ok" : dsql_status_name(rc)}};

		log_emit(db->log, DSQL_LOG_WARN, DSQL_EVENT_RECONNECT, f, LOG_N(f), "%s%s",
		         rc == DSQL_OK ? "reconnected to the catalog database"
		                       : "reconnecting to the catalog database failed: ",
		         rc == DSQL_OK || !err ? "" : err->message);
	}
	return rc;
}

void db_set_logger(dsql_db *db, const core_logger *log)
{
	db->log = log;
}

const dsql_driver *db_driver(const dsql_db *db)
{
	return db->drv;
}

unsigned int db_capabilities(const dsql_db *db)
{
	return db->caps;
}

const db_choices *db_choose(const dsql_db *db)
{
	return &db->choices;
}

const dsql_dialect *db_dialect(const dsql_db *db)
{
	return &db->dialect;
}

/* The text a template's token stands for; *len is the token's length. */
static const char *token_value(const dsql_db *db, const char *p, size_t *len, char *ident,
                               size_t cap)
{
	static const struct {
		const char *token;
		size_t offset;
	} tokens[] = {
		{"{name}", offsetof(dsql_dialect, name_type)},
		{"{path}", offsetof(dsql_dialect, path_type)},
		{"{dv}", offsetof(dsql_dialect, dv_type)},
		{"{text}", offsetof(dsql_dialect, text_type)},
		{"{bytes}", offsetof(dsql_dialect, bytes_type)},
		{"{table options}", offsetof(dsql_dialect, table_options)},
	};

	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (strncmp(p, tokens[i].token, strlen(tokens[i].token)) == 0) {
			*len = strlen(tokens[i].token);
			return *(const char *const *)((const char *)&db->dialect + tokens[i].offset);
		}
	if (strncmp(p, "{q:", 3) == 0 && strchr(p, '}')) {
		size_t n = (size_t)(strchr(p, '}') - (p + 3));

		*len = n + 4;
		snprintf(ident, cap, "%s%.*s%s", db->dialect.quote, (int)n, p + 3, db->dialect.quote);
		return ident;
	}
	return NULL;
}

char *db_expand(const dsql_db *db, const char *template)
{
	size_t cap = strlen(template) + 1, used = 0;
	char *out = NULL, ident[128];

	/* Two passes: the size, then the text. */
	for (int pass = 0; pass < 2; pass++) {
		used = 0;
		for (const char *p = template; *p;) {
			size_t tlen = 0;
			const char *v = *p == '{' ? token_value(db, p, &tlen, ident, sizeof(ident)) : NULL;
			size_t n = v ? strlen(v) : 1;

			if (out)
				memcpy(out + used, v ? v : p, n);
			used += n;
			p += v ? tlen : 1;
		}
		if (!out && !(out = malloc(cap = used + 1)))
			return NULL;
	}
	out[used] = '\0';
	return out;
}

const char *db_uri(const dsql_db *db)
{
	return db->uri;
}

int db_in_txn(const dsql_db *db)
{
	return db->in_txn;
}

int db_begin(dsql_db *db, dsql_begin_mode mode, dsql_error *err)
{
	int rc;

	if (!db->conn && (rc = db_reconnect(db, err)) != DSQL_OK)
		return rc;
	rc = db->drv->begin(db->conn, mode, err);
	if (rc == DSQL_OK)
		db->in_txn = 1;
	return rc;
}

int db_commit(dsql_db *db, dsql_error *err)
{
	int rc = db->drv->commit(db->conn, err);

	db->in_txn = 0;
	return rc;
}

void db_rollback(dsql_db *db)
{
	dsql_error ignored;

	if (!db->in_txn)
		return;
	db->in_txn = 0;
	db->drv->rollback(db->conn, &ignored);
}

static int unsupported(const dsql_db *db, const char *what, dsql_error *err)
{
	return dsql_error_set(err, DSQL_EUNSUPPORTED, db->drv->name, NULL, 0,
	                      "the %s driver does not support %s", db->drv->name, what);
}

int db_prepare_transaction(dsql_db *db, const char *gid, dsql_error *err)
{
	int rc;

	if (!db->drv->prepare_transaction)
		return unsupported(db, "two-phase commit", err);
	rc = db->drv->prepare_transaction(db->conn, gid, err);
	db->in_txn = 0;
	return rc;
}

int db_commit_prepared(dsql_db *db, const char *gid, dsql_error *err)
{
	if (!db->drv->commit_prepared)
		return unsupported(db, "two-phase commit", err);
	return db->drv->commit_prepared(db->conn, gid, err);
}

int db_rollback_prepared(dsql_db *db, const char *gid, dsql_error *err)
{
	if (!db->drv->rollback_prepared)
		return unsupported(db, "two-phase commit", err);
	return db->drv->rollback_prepared(db->conn, gid, err);
}

int db_list_prepared(dsql_db *db, const char *prefix, dsql_prepared_cb cb, void *payload,
                     dsql_error *err)
{
	if (!db->drv->list_prepared)
		return unsupported(db, "two-phase commit", err);
	return db->drv->list_prepared(db->conn, prefix, cb, payload, err);
}

/* Statements are keyed by their text's address (the core's SQL is static,
 * or owned by the catalog handle), and only then by the text itself. */
static db_stmt *find_cached(dsql_db *db, const char *sql)
{
	for (size_t i = 0; i < db->n_stmts; i++)
		if (db->stmts[i].sql == sql)
			return &db->stmts[i];
	for (size_t i = 0; i < db->n_stmts; i++)
		if (strcmp(db->stmts[i].sql, sql) == 0)
			return &db->stmts[i];
	return NULL;
}

int db_stmt_get(db_stmt **out, dsql_db *db, const char *sql, dsql_error *err)
{
	db_stmt *st;
	int rc;

	if (!db->conn && (rc = db_reconnect(db, err)) != DSQL_OK)
		return rc;
	st = find_cached(db, sql);
	if (st) {
		rc = db->drv->reset(st->s, err);
		if (rc != DSQL_OK)
			return rc;
		*out = st;
		return DSQL_OK;
	}
	if (db->n_stmts == STMT_CACHE_MAX)
		drop_statements(db);
	st = &db->stmts[db->n_stmts];
	rc = db->drv->prepare(&st->s, db->conn, sql, err);
	if (rc != DSQL_OK)
		return rc;
	st->db = db;
	st->sql = sql;
	db->n_stmts++;
	*out = st;
	return DSQL_OK;
}

int db_judges_app_sql(const dsql_db *db, dsql_error *err)
{
	if (db->drv->prepare_application)
		return DSQL_OK;
	return dsql_error_set(err, DSQL_EUNSUPPORTED, db->drv->name, NULL, 0,
	                      "the %s driver cannot have the database judge application SQL "
	                      "(one statement, no transaction control), so it runs none",
	                      db->drv->name);
}

int db_stmt_prepare_app(db_stmt **out, dsql_db *db, const char *sql, dsql_error *err)
{
	db_stmt *st;
	int rc;

	*out = NULL;
	if ((rc = db_judges_app_sql(db, err)) != DSQL_OK)
		return rc;
	if (!db->conn && (rc = db_reconnect(db, err)) != DSQL_OK)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	rc = db->drv->prepare_application(&st->s, db->conn, sql, err);
	if (rc != DSQL_OK) {
		free(st);
		return rc;
	}
	st->db = db;
	st->sql = sql;
	*out = st;
	return DSQL_OK;
}

int db_txn_still_open(dsql_db *db)
{
	return db->conn && db->drv->in_transaction && db->drv->in_transaction(db->conn);
}

int db_set_app_role(dsql_db *db, const char *role, dsql_error *err)
{
	if (!db->drv->set_application_role)
		return unsupported(db, "running application SQL under a role of its own", err);
	return db->drv->set_application_role(db->conn, role, err);
}

int db_flush(dsql_db *db, dsql_error *err)
{
	db_stmt *st;
	int rc;

	if (!db->in_txn || !(db->caps & DSQL_CAP_DEFERRED))
		return DSQL_OK;
	rc = db_stmt_get(&st, db, "SELECT 1", err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "");
	if (rc == DSQL_ROW || rc == DSQL_DONE) {
		db_stmt_done(st);
		rc = DSQL_OK;
	}
	return rc;
}

void db_stmt_free(db_stmt *st)
{
	if (!st)
		return;
	st->db->drv->finalize(st->s);
	free(st);
}

int db_bind(db_stmt *st, int idx, dsql_type type, int64_t i64, double f64, const void *data,
            size_t len, dsql_error *err)
{
	const dsql_driver *drv = st->db->drv;

	switch (type) {
	case DSQL_TYPE_INT64: return drv->bind_int64(st->s, idx, i64, err);
	case DSQL_TYPE_DOUBLE: return drv->bind_double(st->s, idx, f64, err);
	case DSQL_TYPE_TEXT: return drv->bind_text(st->s, idx, data ? data : "", len, err);
	case DSQL_TYPE_BLOB: return drv->bind_blob(st->s, idx, data, len, err);
	default: return drv->bind_null(st->s, idx, err);
	}
}

int db_column_count(db_stmt *st)
{
	return st->db->drv->column_count(st->s);
}

dsql_type db_column_type(db_stmt *st, int col)
{
	return st->db->drv->column_type(st->s, col);
}

double db_column_double(db_stmt *st, int col)
{
	return st->db->drv->column_double(st->s, col);
}

const void *db_column_blob(db_stmt *st, int col, size_t *len)
{
	return st->db->drv->column_blob(st->s, col, len);
}

static int bind_args(db_stmt *st, dsql_error *err, const char *types, va_list ap)
{
	const dsql_driver *drv = st->db->drv;
	int rc = DSQL_OK;

	for (int i = 0; types[i] && rc == DSQL_OK; i++) {
		int idx = i + 1;
		const char *s;

		switch (types[i]) {
		case 'i':
			rc = drv->bind_int64(st->s, idx, va_arg(ap, int64_t), err);
			break;
		case 'd':
			rc = drv->bind_double(st->s, idx, va_arg(ap, double), err);
			break;
		case 't':
			s = va_arg(ap, const char *);
			rc = s ? drv->bind_text(st->s, idx, s, strlen(s), err)
			       : drv->bind_null(st->s, idx, err);
			break;
		case 'n':
			rc = drv->bind_null(st->s, idx, err);
			break;
		default:
			rc = dsql_error_set(err, DSQL_ERROR, NULL, NULL, 0,
			                    "internal: bad bind type '%c'", types[i]);
		}
	}
	return rc;
}

int db_run(db_stmt *st, dsql_error *err, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = bind_args(st, err, types, ap);
	va_end(ap);
	if (rc != DSQL_OK)
		return rc;
	return db_step(st, err);
}

int db_step(db_stmt *st, dsql_error *err)
{
	return st->db->drv->step(st->s, err);
}

int db_defer(db_stmt *st, int64_t expect, dsql_error *err)
{
	const dsql_driver *drv = st->db->drv;
	int64_t n;
	int rc;

	if (st->db->choices.deferred)
		return drv->exec_deferred(st->s, expect, err);
	rc = drv->step(st->s, err);
	if (rc == DSQL_ROW)
		return dsql_error_set(err, DSQL_ERROR, drv->name, NULL, 0,
		                      "internal: a deferred statement returned rows");
	if (rc != DSQL_DONE)
		return rc;
	n = drv->changes(st->s);
	if (expect >= 0 && n != expect)
		return dsql_error_set(err, DSQL_ERETRY, drv->name, NULL, 0,
		                      "expected %lld changed rows, the statement changed %lld",
		                      (long long)expect, (long long)n);
	return DSQL_OK;
}

int db_run_deferred(db_stmt *st, int64_t expect, dsql_error *err, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = bind_args(st, err, types, ap);
	va_end(ap);
	return rc == DSQL_OK ? db_defer(st, expect, err) : rc;
}

void db_stmt_done(db_stmt *st)
{
	dsql_error ignored;

	st->db->drv->reset(st->s, &ignored);
}

int64_t db_changes(db_stmt *st)
{
	return st->db->drv->changes(st->s);
}

int db_column_is_null(db_stmt *st, int col)
{
	return st->db->drv->column_type(st->s, col) == DSQL_TYPE_NULL;
}

int64_t db_column_int64(db_stmt *st, int col)
{
	return st->db->drv->column_int64(st->s, col);
}

const char *db_column_text(db_stmt *st, int col, size_t *len)
{
	const char *s = st->db->drv->column_text(st->s, col, len);

	if (!s) {
		if (len)
			*len = 0;
		return "";
	}
	return s;
}

const char *db_column_text_or_null(db_stmt *st, int col)
{
	if (db_column_is_null(st, col))
		return NULL;
	return st->db->drv->column_text(st->s, col, NULL);
}

int db_exec(dsql_db *db, const char *sql, dsql_error *err)
{
	dsql_driver_stmt *s;
	int rc;

	if (!db->conn && (rc = db_reconnect(db, err)) != DSQL_OK)
		return rc;
	rc = db->drv->prepare(&s, db->conn, sql, err);
	if (rc != DSQL_OK)
		return rc;
	do
		rc = db->drv->step(s, err);
	while (rc == DSQL_ROW);
	db->drv->finalize(s);
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

#ifdef DSQL_FAULT_INJECTION
/* Waits for the database: any call that does flushes deferred statements. */
static void flush_deferred(dsql_db *db)
{
	dsql_error ignored;
	db_stmt *st;

	if (!db || !db->in_txn || !db->choices.deferred)
		return;
	if (db_stmt_get(&st, db, "SELECT 1", &ignored) == DSQL_OK) {
		db_run(st, &ignored, "");
		db_stmt_done(st);
	}
}
#endif

void db_fault_point(dsql_db *db, const char *name)
{
#ifdef DSQL_FAULT_INJECTION
	const char *want = getenv("DELTASQL_FAULT");
	const char *pause = getenv("DELTASQL_PAUSE");

	if ((want && strcmp(want, name) == 0) || (pause && strcmp(pause, name) == 0))
		flush_deferred(db);
	if (want && strcmp(want, name) == 0)
		kill(getpid(), SIGKILL);
	/* Tests that interleave processes hold one here for a while. */
	if (pause && strcmp(pause, name) == 0) {
		const char *ms = getenv("DELTASQL_PAUSE_MS");

		util_sleep_ms(ms ? atoi(ms) : 1000);
	}
#else
	(void)db;
	(void)name;
#endif
}
