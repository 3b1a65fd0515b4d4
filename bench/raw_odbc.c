/*
 * The raw ODBC client: what a hand-written ODBC application does with the
 * same connection string. Statements are prepared once, parameters bound
 * per execution; rows as deltasql writes them there: one per statement on
 * SQLite (in the process, no round trip to save), multi-row inserts
 * elsewhere. Transactions: on SQLite,
 * BEGIN IMMEDIATE / COMMIT statements with autocommit on (the SQLite ODBC
 * driver's manual-commit mode would take a deferred lock); elsewhere
 * autocommit off and READ COMMITTED set once at connect, SQLEndTran per
 * transaction. ODBC has no pipelining: each statement is a round trip.
 */
#include "config.h"
#include "bench.h"

#include <sql.h>
#include <sqlext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { O_JOURNAL, O_CAS, O_COMMIT, O_ACTIONS, O_FILES, O_VERSION, O_LATEST, O_AT, O_WINNERS,
       O_TABLE_ID, O_COUNT };

struct raw {
	SQLHENV env;
	SQLHDBC dbc;
	int sqlite;
	SQLHSTMT st[O_COUNT];
	char sql[O_COUNT][4096];
};

static void fail(SQLSMALLINT type, SQLHANDLE h, const char *what)
{
	SQLCHAR state[6] = "", msg[512] = "";
	SQLINTEGER native = 0;
	SQLSMALLINT len;

	SQLGetDiagRec(type, h, 1, state, &native, msg, sizeof(msg), &len);
	die("raw odbc", "%s: [%s] %s", what, state, msg);
}

static void ok(raw *r, SQLRETURN rc, SQLHSTMT st, const char *what)
{
	if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
		fail(st ? SQL_HANDLE_STMT : SQL_HANDLE_DBC, st ? st : r->dbc, what);
}

static void direct(raw *r, const char *sql)
{
	SQLHSTMT st;

	SQLAllocHandle(SQL_HANDLE_STMT, r->dbc, &st);
	ok(r, SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS), st, sql);
	SQLFreeHandle(SQL_HANDLE_STMT, st);
}

static void rows(char *s, size_t cap, const char *head, const char *row, int n)
{
	size_t len = (size_t)snprintf(s, cap, "%s", head);

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? ", " : "", row);
}

static raw *od_connect(const char *target)
{
	char cs[1200], dbms[64] = "";
	SQLSMALLINT len;
	raw *r = calloc(1, sizeof(*r));

	if (!r)
		die("raw odbc", "out of memory");
	/* The same connection string deltasql's ODBC driver uses (its
	 * dialect rows' options, drivers/odbc/dialects.c). */
	snprintf(cs, sizeof(cs), "%s%s", target,
	         strcasestr(target, "sqlite") && !strcasestr(target, "Timeout") ? ";Timeout=10000"
	         : strcasestr(target, "mariadb") && !strcasestr(target, "OPTION=")
	                 ? ";OPTION=2;CHARSET=utf8mb4;READ_TIMEOUT=60;WRITE_TIMEOUT=60"
	                 : "");
	SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &r->env);
	SQLSetEnvAttr(r->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
	SQLAllocHandle(SQL_HANDLE_DBC, r->env, &r->dbc);
	if (!SQL_SUCCEEDED(SQLDriverConnect(r->dbc, NULL, (SQLCHAR *)cs, SQL_NTS, NULL, 0, NULL,
	                                    SQL_DRIVER_NOPROMPT)))
		fail(SQL_HANDLE_DBC, r->dbc, "connect");
	SQLGetInfo(r->dbc, SQL_DBMS_NAME, dbms, sizeof(dbms), &len);
	r->sqlite = strncasecmp(dbms, "SQLite", 6) == 0;
	if (strncasecmp(dbms, "PostgreSQL", 10) == 0) { /* as deltasql's driver */
		direct(r, "SET plan_cache_mode = force_generic_plan");
		direct(r, "SET enable_seqscan = off");
	}
	if (strncasecmp(dbms, "MariaDB", 7) == 0 || strncasecmp(dbms, "MySQL", 5) == 0)
		direct(r, "SET SESSION innodb_lock_wait_timeout = 5");
	if (!r->sqlite) {
		SQLSetConnectAttr(r->dbc, SQL_ATTR_TXN_ISOLATION, (SQLPOINTER)SQL_TXN_READ_COMMITTED, 0);
		ok(r, SQLSetConnectAttr(r->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0),
		   NULL, "autocommit off");
	}
	snprintf(r->sql[O_JOURNAL], 4096,
	         "INSERT INTO dsql_transaction (txn_id, state, isolation, commit_ms, n_tables)"
	         " VALUES (?, 'committed', 'write_serializable', ?, ?)");
	snprintf(r->sql[O_CAS], 4096,
	         "UPDATE dsql_table SET version = ?, last_commit_ms = ? WHERE id = ? AND version = ?");
	snprintf(r->sql[O_COMMIT], 4096,
	         "INSERT INTO dsql_commit (table_id, version, txn_id, commit_ms, operation, n_adds,"
	         " n_removes, blind_append, data_change) VALUES (?, ?, ?, ?, 'WRITE', ?, 0, 1, 1)");
	rows(r->sql[O_ACTIONS], 4096, "INSERT INTO dsql_action (table_id, version, seq, kind, body)"
	     " VALUES ", "(?, ?, ?, ?, ?)", r->sqlite ? 1 : WORK_ADDS + 1);
	rows(r->sql[O_FILES], 4096, "INSERT INTO dsql_file (table_id, path, dv_id, added_version,"
	     " removed_version, size, body) VALUES ", "(?, ?, '', ?, NULL, 104857, ?)",
	     r->sqlite ? 1 : WORK_ADDS);
	/* SQLite holds its database lock since BEGIN IMMEDIATE; elsewhere the
	 * version row is locked as it is read. */
	snprintf(r->sql[O_VERSION], 4096, "SELECT version FROM dsql_table WHERE id = ?%s",
	         r->sqlite ? "" : " FOR UPDATE");
	snprintf(r->sql[O_LATEST], 4096,
	         "SELECT path, body FROM dsql_file WHERE table_id = ? AND removed_version IS NULL"
	         " ORDER BY path, dv_id");
	snprintf(r->sql[O_AT], 4096,
	         "SELECT path, body FROM dsql_file WHERE table_id = ? AND added_version <= ?"
	         " AND (removed_version IS NULL OR removed_version > ?) ORDER BY path, dv_id");
	snprintf(r->sql[O_WINNERS], 4096,
	         "SELECT version, body FROM dsql_action WHERE table_id = ? AND version > ?"
	         " AND version <= ? AND kind <> 'commitInfo' ORDER BY version, seq");
	snprintf(r->sql[O_TABLE_ID], 4096, "SELECT id FROM dsql_table WHERE name = ?");
	return r;
}

static void od_close(raw *r)
{
	for (int i = 0; i < O_COUNT; i++)
		if (r->st[i])
			SQLFreeHandle(SQL_HANDLE_STMT, r->st[i]);
	if (!r->sqlite)
		SQLEndTran(SQL_HANDLE_DBC, r->dbc, SQL_ROLLBACK);
	SQLDisconnect(r->dbc);
	SQLFreeHandle(SQL_HANDLE_DBC, r->dbc);
	SQLFreeHandle(SQL_HANDLE_ENV, r->env);
	free(r);
}

static SQLHSTMT stmt(raw *r, int i)
{
	if (!r->st[i]) {
		SQLAllocHandle(SQL_HANDLE_STMT, r->dbc, &r->st[i]);
		ok(r, SQLPrepare(r->st[i], (SQLCHAR *)r->sql[i], SQL_NTS), r->st[i], r->sql[i]);
	}
	SQLFreeStmt(r->st[i], SQL_CLOSE);
	return r->st[i];
}

/* Parameters live here until the statement has run. */
typedef struct params {
	int n;
	int64_t i64[64];
	SQLLEN ind[64];
} params;

static void p_int(SQLHSTMT st, params *p, int64_t v)
{
	int i = p->n++;

	p->i64[i] = v;
	p->ind[i] = 0;
	SQLBindParameter(st, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
	                 &p->i64[i], 0, &p->ind[i]);
}

static void p_text(SQLHSTMT st, params *p, const char *s)
{
	int i = p->n++;
	size_t len = strlen(s);

	p->ind[i] = (SQLLEN)len;
	SQLBindParameter(st, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
	                 len ? len : 1, 0, (SQLPOINTER)s, (SQLLEN)len + 1, &p->ind[i]);
}

static void execute(raw *r, SQLHSTMT st, int i)
{
	ok(r, SQLExecute(st), st, r->sql[i]);
}

static int64_t od_table_id(raw *r, const char *name)
{
	SQLHSTMT st = stmt(r, O_TABLE_ID);
	params p = {0};
	SQLBIGINT id = -1;
	SQLLEN ind;

	p_text(st, &p, name);
	execute(r, st, O_TABLE_ID);
	if (SQLFetch(st) != SQL_SUCCESS)
		die("raw odbc", "no table %s", name);
	SQLGetData(st, 1, SQL_C_SBIGINT, &id, 0, &ind);
	SQLFreeStmt(st, SQL_CLOSE);
	if (!r->sqlite)
		SQLEndTran(SQL_HANDLE_DBC, r->dbc, SQL_COMMIT);
	return id;
}

static void begin(raw *r)
{
	if (r->sqlite)
		direct(r, "BEGIN IMMEDIATE");
}

static void end(raw *r)
{
	if (r->sqlite)
		direct(r, "COMMIT");
	else
		ok(r, SQLEndTran(SQL_HANDLE_DBC, r->dbc, SQL_COMMIT), NULL, "commit");
}

static void write_table(raw *r, const work_txn *w, const work_table *t)
{
	SQLHSTMT st = stmt(r, O_CAS);
	params p = {0};
	SQLLEN changed = 0;

	p_int(st, &p, t->version);
	p_int(st, &p, w->commit_ms);
	p_int(st, &p, t->id);
	p_int(st, &p, t->version - 1);
	execute(r, st, O_CAS);
	SQLRowCount(st, &changed);
	if (changed != 1)
		die("raw odbc", "compare-and-swap of table %lld failed", (long long)t->id);
	st = stmt(r, O_COMMIT);
	p.n = 0;
	p_int(st, &p, t->id);
	p_int(st, &p, t->version);
	p_text(st, &p, w->id);
	p_int(st, &p, w->commit_ms);
	p_int(st, &p, t->n_adds);
	execute(r, st, O_COMMIT);
	st = stmt(r, O_ACTIONS);
	p.n = 0;
	for (int k = -1; k < WORK_ADDS; k++) {
		p_int(st, &p, t->id);
		p_int(st, &p, t->version);
		p_int(st, &p, k + 1);
		p_text(st, &p, k < 0 ? "commitInfo" : "add");
		p_text(st, &p, k < 0 ? t->commit_info : t->add_line[k]);
		if (r->sqlite) { /* one row per statement */
			execute(r, st, O_ACTIONS);
			st = stmt(r, O_ACTIONS);
			p.n = 0;
		}
	}
	if (!r->sqlite)
		execute(r, st, O_ACTIONS);
	st = stmt(r, O_FILES);
	p.n = 0;
	for (int k = 0; k < WORK_ADDS; k++) {
		p_int(st, &p, t->id);
		p_text(st, &p, t->path[k]);
		p_int(st, &p, t->version);
		p_text(st, &p, t->add_body[k]);
		if (r->sqlite) {
			execute(r, st, O_FILES);
			st = stmt(r, O_FILES);
			p.n = 0;
		}
	}
	if (!r->sqlite)
		execute(r, st, O_FILES);
}

static void journal(raw *r, const work_txn *w)
{
	SQLHSTMT st = stmt(r, O_JOURNAL);
	params p = {0};

	p_text(st, &p, w->id);
	p_int(st, &p, w->commit_ms);
	p_int(st, &p, (int64_t)w->n);
	execute(r, st, O_JOURNAL);
}

static void od_commit(raw *r, const work_txn *w)
{
	begin(r);
	journal(r, w);
	for (size_t i = 0; i < w->n; i++)
		write_table(r, w, &w->t[i]);
	end(r);
}

static int64_t od_append(raw *r, work_txn *w)
{
	SQLHSTMT st;
	params p = {0};
	SQLBIGINT v = 0;
	SQLLEN ind;

	begin(r);
	st = stmt(r, O_VERSION);
	p_int(st, &p, w->t[0].id);
	execute(r, st, O_VERSION);
	if (SQLFetch(st) != SQL_SUCCESS)
		die("raw odbc", "no table %lld", (long long)w->t[0].id);
	SQLGetData(st, 1, SQL_C_SBIGINT, &v, 0, &ind);
	SQLFreeStmt(st, SQL_CLOSE);
	w->t[0].version = v + 1;
	journal(r, w);
	write_table(r, w, &w->t[0]);
	end(r);
	return w->t[0].version;
}

/* Reads one text column whole into buf (growing it), as a client would. */
static const char *get_text(SQLHSTMT st, int col, char **buf, size_t *cap)
{
	size_t used = 0;
	SQLLEN ind;
	SQLRETURN rc;

	while ((rc = SQLGetData(st, (SQLUSMALLINT)col, SQL_C_CHAR, *buf + used,
	                        (SQLLEN)(*cap - used), &ind)) == SQL_SUCCESS_WITH_INFO) {
		used = *cap - 1;
		if (!(*buf = realloc(*buf, *cap *= 2)))
			die("raw odbc", "out of memory");
	}
	if (!SQL_SUCCEEDED(rc) || ind == SQL_NULL_DATA)
		(*buf)[0] = '\0';
	return *buf;
}

static size_t od_select_files(raw *r, int64_t table, int64_t version, char ***out)
{
	int which = version < 0 ? O_LATEST : O_AT;
	SQLHSTMT st = stmt(r, which);
	params p = {0};
	size_t n = 0, cap = 1024, bcap = 4096;
	char **v = malloc(cap * sizeof(*v)), *buf = malloc(bcap);

	p_int(st, &p, table);
	if (version >= 0) {
		p_int(st, &p, version);
		p_int(st, &p, version);
	}
	execute(r, st, which);
	if (!v || !buf)
		die("raw odbc", "out of memory");
	while (SQLFetch(st) == SQL_SUCCESS) {
		if (n == cap && !(v = realloc(v, (cap *= 2) * sizeof(*v))))
			die("raw odbc", "out of memory");
		get_text(st, 1, &buf, &bcap);
		v[n++] = strdup(get_text(st, 2, &buf, &bcap));
	}
	free(buf);
	SQLFreeStmt(st, SQL_CLOSE);
	if (!r->sqlite)
		SQLEndTran(SQL_HANDLE_DBC, r->dbc, SQL_COMMIT);
	*out = v;
	return n;
}

static size_t od_select_actions(raw *r, int64_t table, int64_t from, int64_t to)
{
	SQLHSTMT st = stmt(r, O_WINNERS);
	params p = {0};
	size_t n = 0, bcap = 4096;
	char *buf = malloc(bcap);

	p_int(st, &p, table);
	p_int(st, &p, from);
	p_int(st, &p, to);
	execute(r, st, O_WINNERS);
	while (SQLFetch(st) == SQL_SUCCESS) {
		free(strdup(get_text(st, 2, &buf, &bcap)));
		n++;
	}
	free(buf);
	SQLFreeStmt(st, SQL_CLOSE);
	return n;
}

static int64_t od_scalar(raw *r, const char *sql, const int64_t *pv, int n)
{
	SQLHSTMT st;
	params p = {0};
	SQLBIGINT v = 0;
	SQLLEN ind = 0;

	SQLAllocHandle(SQL_HANDLE_STMT, r->dbc, &st);
	ok(r, SQLPrepare(st, (SQLCHAR *)sql, SQL_NTS), st, sql);
	for (int i = 0; i < n; i++)
		p_int(st, &p, pv[i]);
	ok(r, SQLExecute(st), st, sql);
	if (SQLFetch(st) == SQL_SUCCESS)
		SQLGetData(st, 1, SQL_C_SBIGINT, &v, 0, &ind);
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	if (!r->sqlite)
		SQLEndTran(SQL_HANDLE_DBC, r->dbc, SQL_COMMIT);
	return ind == SQL_NULL_DATA ? 0 : v;
}

const raw_ops raw_odbc_ops = {
	.name = "ODBC, prepared statements (SQLite: one row each; elsewhere multi-row inserts),"
	        " one round trip per statement",
	.connect = od_connect,
	.close = od_close,
	.table_id = od_table_id,
	.commit = od_commit,
	.append = od_append,
	.select_files = od_select_files,
	.select_actions = od_select_actions,
	.scalar = od_scalar,
	.bulk = NULL,
};
