/*
 * The raw PostgreSQL client: the best a hand-written client can do, the
 * whole transaction in one round trip. Statements are server-side prepared
 * once and sent in libpq's pipeline mode (BEGIN, the rows, COMMIT, one
 * sync). The version compare-and-swap raises an error when it matches no
 * row (1 / count), so a lost race aborts the transaction server-side
 * exactly as a deltasql commit would, without a second round trip.
 */
#include "config.h"
#include "bench.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ACTIONS (WORK_ADDS + 1) /* commitInfo + adds */

struct raw {
	PGconn *pg;
	/* bulk loads: COPY text buffers, one per table */
	struct copybuf {
		char *data;
		size_t len, cap;
	} copy[4];
};

static const char *const copy_sql[4] = {
	"COPY dsql_transaction (txn_id, state, isolation, commit_ms, n_tables) FROM STDIN",
	"COPY dsql_commit (table_id, version, txn_id, commit_ms, operation, n_adds, n_removes,"
	" blind_append, data_change) FROM STDIN",
	"COPY dsql_action (table_id, version, seq, kind, body) FROM STDIN",
	"COPY dsql_file (table_id, path, dv_id, added_version, removed_version, size, body)"
	" FROM STDIN",
};

static void fail(raw *r, PGresult *res, const char *what)
{
	die("raw postgresql", "%s: %s", what,
	    res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) : PQerrorMessage(r->pg));
}

static void exec(raw *r, const char *sql)
{
	PGresult *res = PQexec(r->pg, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail(r, res, sql);
	PQclear(res);
}

static void prepare(raw *r, const char *name, const char *sql)
{
	PGresult *res = PQprepare(r->pg, name, sql, 0, NULL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail(r, res, sql);
	PQclear(res);
}

/* Appends to s: head, then rows of row_fmt where %d takes the row's first
 * parameter number (each row uses per_row consecutive parameters). */
static void rows_sql(char *s, size_t cap, const char *head, const char *(*row)(int i, int p),
                     int n, int first, int per_row, const char *tail)
{
	size_t len = (size_t)snprintf(s, cap, "%s", head);

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? ", " : "",
		                        row(i, first + i * per_row));
	snprintf(s + len, cap - len, "%s", tail);
}

static const char *action_row(int i, int p)
{
	static char buf[96];

	snprintf(buf, sizeof(buf), "($1, $2, %d, '%s', $%d)", i, i ? "add" : "commitInfo", p);
	return buf;
}

static const char *file_row(int i, int p)
{
	static char buf[96];

	(void)i;
	snprintf(buf, sizeof(buf), "($1, $%d, '', $2, NULL, 104857, $%d)", p, p + 1);
	return buf;
}

static const char *append_action_row(int i, int p)
{
	static char buf[96];

	snprintf(buf, sizeof(buf), "(%d, '%s', $%d::text)", i, i ? "add" : "commitInfo", p);
	return buf;
}

static const char *append_file_row(int i, int p)
{
	static char buf[96];

	(void)i;
	snprintf(buf, sizeof(buf), "($%d::text, $%d::text)", p, p + 1);
	return buf;
}

static const char *one(int i, int p)
{
	static char buf[16];

	(void)i;
	snprintf(buf, sizeof(buf), "$%d", p);
	return buf;
}

static const char *five(int i, int p)
{
	static char buf[64];

	(void)i;
	snprintf(buf, sizeof(buf), "($%d, $%d, $%d, $%d, $%d)", p, p + 1, p + 2, p + 3, p + 4);
	return buf;
}

static const char *six(int i, int p)
{
	static char buf[80];

	(void)i;
	snprintf(buf, sizeof(buf), "($%d, $%d, $%d, $%d, NULL, $%d, $%d)", p, p + 1, p + 2, p + 3,
	         p + 4, p + 5);
	return buf;
}

static raw *pg_connect(const char *target)
{
	char sql[8192];
	raw *r = calloc(1, sizeof(*r));

	if (!r)
		die("raw postgresql", "out of memory");
	r->pg = PQconnectdb(target);
	if (PQstatus(r->pg) != CONNECTION_OK)
		die("raw postgresql", "%s", PQerrorMessage(r->pg));
	exec(r, "SET lock_timeout = '5s'"); /* as deltasql's driver */
	exec(r, "SET plan_cache_mode = force_generic_plan");
	exec(r, "SET enable_seqscan = off");
	prepare(r, "journal",
	        "INSERT INTO dsql_transaction (txn_id, state, isolation, commit_ms, n_tables)"
	        " VALUES ($1, 'committed', 'write_serializable', $2, $3)");
	prepare(r, "cas",
	        "WITH u AS (UPDATE dsql_table SET version = $3, last_commit_ms = $4 WHERE id = $1"
	        " AND version = $2 RETURNING 1) SELECT 1 / COUNT(*) FROM u");
	prepare(r, "commit",
	        "INSERT INTO dsql_commit (table_id, version, txn_id, commit_ms, operation, n_adds,"
	        " n_removes, blind_append, data_change) VALUES ($1, $2, $3, $4, 'WRITE', $5, 0, 1, 1)");
	rows_sql(sql, sizeof(sql), "INSERT INTO dsql_action (table_id, version, seq, kind, body) VALUES ",
	         action_row, N_ACTIONS, 3, 1, "");
	prepare(r, "actions", sql);
	rows_sql(sql, sizeof(sql),
	         "INSERT INTO dsql_file (table_id, path, dv_id, added_version, removed_version, size,"
	         " body) VALUES ", file_row, WORK_ADDS, 3, 2, "");
	prepare(r, "files", sql);
	/* The blind append of a writer with competitors: the version is
	 * taken under the row lock, and the rows read it back. */
	prepare(r, "a_lock",
	        "UPDATE dsql_table SET version = version + 1, last_commit_ms = $2 WHERE id = $1"
	        " RETURNING version");
	prepare(r, "a_commit",
	        "INSERT INTO dsql_commit (table_id, version, txn_id, commit_ms, operation, n_adds,"
	        " n_removes, blind_append, data_change) SELECT id, version, $2, $3, 'WRITE', $4, 0,"
	        " 1, 1 FROM dsql_table WHERE id = $1");
	rows_sql(sql, sizeof(sql),
	         "INSERT INTO dsql_action (table_id, version, seq, kind, body) SELECT t.id, t.version,"
	         " v.seq, v.kind, v.body FROM dsql_table t, (VALUES ", append_action_row, N_ACTIONS, 2, 1,
	         ") v (seq, kind, body) WHERE t.id = $1");
	prepare(r, "a_actions", sql);
	rows_sql(sql, sizeof(sql),
	         "INSERT INTO dsql_file (table_id, path, dv_id, added_version, removed_version, size,"
	         " body) SELECT t.id, v.path, '', t.version, NULL, 104857, v.body FROM dsql_table t,"
	         " (VALUES ", append_file_row, WORK_ADDS, 2, 2, ") v (path, body) WHERE t.id = $1");
	prepare(r, "a_files", sql);
	/* deltasql's own statements, for mimic(). */
	prepare(r, "m_lookup", "SELECT id, version FROM dsql_table WHERE id = $1");
	prepare(r, "m_lock", "UPDATE dsql_table SET version = version WHERE id = $1"
	        " RETURNING version, last_commit_ms, oldest_version");
	prepare(r, "m_meta", "SELECT body FROM dsql_action WHERE table_id = $1 AND kind = 'metaData'"
	        " AND version = (SELECT MAX(version) FROM dsql_action WHERE table_id = $2"
	        " AND kind = 'metaData' AND version <= $3)");
	prepare(r, "m_cas", "UPDATE dsql_table SET version = $1, last_commit_ms = $2 WHERE id = $3"
	        " AND version = $4");
	rows_sql(sql, sizeof(sql), "INSERT INTO dsql_action (table_id, version, seq, kind, body)"
	         " VALUES ", five, N_ACTIONS, 1, 5, "");
	prepare(r, "m_actions", sql);
	rows_sql(sql, sizeof(sql), "INSERT INTO dsql_file (table_id, path, dv_id, added_version,"
	         " removed_version, size, body) VALUES ", six, WORK_ADDS, 1, 6, "");
	prepare(r, "m_files", sql);
	rows_sql(sql, sizeof(sql), "UPDATE dsql_file SET removed_version = $1 WHERE table_id = $2"
	         " AND removed_version IS NULL AND path IN (", one, WORK_ADDS, 3, 1, ") AND (");
	{
		size_t len = strlen(sql);

		for (int k = 0; k < WORK_ADDS; k++)
			len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s(path = $%d AND dv_id = $%d)",
			                        k ? " OR " : "", 3 + WORK_ADDS + 2 * k, 4 + WORK_ADDS + 2 * k);
		snprintf(sql + len, sizeof(sql) - len, ")");
	}
	prepare(r, "m_unlink", sql);
	prepare(r, "latest",
	        "SELECT path, body FROM dsql_file WHERE table_id = $1 AND removed_version IS NULL"
	        " ORDER BY path, dv_id");
	prepare(r, "at",
	        "SELECT path, body FROM dsql_file WHERE table_id = $1 AND added_version <= $2"
	        " AND (removed_version IS NULL OR removed_version > $2) ORDER BY path, dv_id");
	prepare(r, "winners",
	        "SELECT version, body FROM dsql_action WHERE table_id = $1 AND version > $2"
	        " AND version <= $3 AND kind <> 'commitInfo' ORDER BY version, seq");
	return r;
}

static void pg_close(raw *r)
{
	PQfinish(r->pg);
	for (int i = 0; i < 4; i++)
		free(r->copy[i].data);
	free(r);
}

static int64_t pg_table_id(raw *r, const char *name)
{
	const char *v[1] = {name};
	PGresult *res = PQexecParams(r->pg, "SELECT id FROM dsql_table WHERE name = $1", 1, NULL, v,
	                             NULL, NULL, 0);
	int64_t id;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		fail(r, res, "table id");
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

/* --- pipelines --- */

static void send(raw *r, const char *name, int n, const char *const *values)
{
	if (!PQsendQueryPrepared(r->pg, name, n, values, NULL, NULL, 0))
		fail(r, NULL, name);
}

/* Transaction control, in the same pipeline. */
static void send_sql(raw *r, const char *sql)
{
	if (!PQsendQueryParams(r->pg, sql, 0, NULL, NULL, NULL, NULL, 0))
		fail(r, NULL, sql);
}

/* Collects n results, then the sync; returns the first row's first value
 * of result `want` (or -1). */
static int64_t collect(raw *r, int n, int want)
{
	int64_t value = -1;

	for (int i = 0; i < n; i++) {
		PGresult *res = PQgetResult(r->pg);
		ExecStatusType st = PQresultStatus(res);

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			fail(r, res, "pipelined statement");
		if (i == want && PQntuples(res) > 0)
			value = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		if ((res = PQgetResult(r->pg)) != NULL)
			fail(r, res, "pipeline: more results than expected");
	}
	{
		PGresult *res = PQgetResult(r->pg);

		if (PQresultStatus(res) != PGRES_PIPELINE_SYNC)
			fail(r, res, "pipeline sync");
		PQclear(res);
	}
	return value;
}

static void i64(char *buf, int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
}

static void pg_commit(raw *r, const work_txn *w)
{
	char ms[24], n_tables[24], id[24], ver[24], prev[24], adds[24];
	const char *v[2 + 2 * WORK_ADDS + 1];
	int sent = 0;

	i64(ms, w->commit_ms);
	i64(n_tables, (int64_t)w->n);
	if (!PQenterPipelineMode(r->pg))
		fail(r, NULL, "pipeline mode");
	send_sql(r, "BEGIN ISOLATION LEVEL READ COMMITTED");
	v[0] = w->id, v[1] = ms, v[2] = n_tables;
	send(r, "journal", 3, v);
	sent += 2;
	for (size_t t = 0; t < w->n; t++) {
		const work_table *tb = &w->t[t];

		i64(id, tb->id);
		i64(ver, tb->version);
		i64(prev, tb->version - 1);
		i64(adds, tb->n_adds);
		v[0] = id, v[1] = prev, v[2] = ver, v[3] = ms;
		send(r, "cas", 4, v);
		v[0] = id, v[1] = ver, v[2] = w->id, v[3] = ms, v[4] = adds;
		send(r, "commit", 5, v);
		v[0] = id, v[1] = ver, v[2] = tb->commit_info;
		for (int k = 0; k < WORK_ADDS; k++)
			v[3 + k] = tb->add_line[k];
		send(r, "actions", 3 + WORK_ADDS, v);
		for (int k = 0; k < WORK_ADDS; k++) {
			v[2 + 2 * k] = tb->path[k];
			v[3 + 2 * k] = tb->add_body[k];
		}
		send(r, "files", 2 + 2 * WORK_ADDS, v);
		sent += 4;
	}
	send_sql(r, "COMMIT");
	sent++;
	if (!PQpipelineSync(r->pg))
		fail(r, NULL, "pipeline sync");
	collect(r, sent, -1);
	PQexitPipelineMode(r->pg);
}

static int64_t pg_append(raw *r, work_txn *w)
{
	char ms[24], id[24], adds[24];
	const char *v[1 + 2 * WORK_ADDS + 1];
	int64_t version;

	i64(ms, w->commit_ms);
	i64(id, w->t[0].id);
	i64(adds, w->t[0].n_adds);
	if (!PQenterPipelineMode(r->pg))
		fail(r, NULL, "pipeline mode");
	send_sql(r, "BEGIN ISOLATION LEVEL READ COMMITTED");
	v[0] = w->id, v[1] = ms, v[2] = "1";
	send(r, "journal", 3, v);
	v[0] = id, v[1] = ms;
	send(r, "a_lock", 2, v);
	v[0] = id, v[1] = w->id, v[2] = ms, v[3] = adds;
	send(r, "a_commit", 4, v);
	v[0] = id, v[1] = w->t[0].commit_info;
	for (int k = 0; k < WORK_ADDS; k++)
		v[2 + k] = w->t[0].add_line[k];
	send(r, "a_actions", 2 + WORK_ADDS, v);
	for (int k = 0; k < WORK_ADDS; k++) {
		v[1 + 2 * k] = w->t[0].path[k];
		v[2 + 2 * k] = w->t[0].add_body[k];
	}
	send(r, "a_files", 1 + 2 * WORK_ADDS, v);
	send_sql(r, "COMMIT");
	if (!PQpipelineSync(r->pg))
		fail(r, NULL, "pipeline sync");
	version = collect(r, 7, 2);
	PQexitPipelineMode(r->pg);
	w->t[0].version = version;
	return version;
}

/* deltasql's statement sequence, one round trip per statement as its
 * driver sends them (PQexecPrepared), without its JSON work. */
static void run1(raw *r, const char *name, int n, const char *const *v)
{
	PGresult *res = PQexecPrepared(r->pg, name, n, v, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail(r, res, name);
	PQclear(res);
}

static void pg_mimic(raw *r, const work_txn *w)
{
	char ms[24], n_tables[24], id[24], ver[24], prev[24], adds[24], seq[N_ACTIONS][24];
	const char *v[80];

	i64(ms, w->commit_ms);
	i64(n_tables, (int64_t)w->n);
	for (int k = 0; k < N_ACTIONS; k++)
		i64(seq[k], k);
	for (size_t t = 0; t < w->n; t++) {
		i64(id, w->t[t].id);
		v[0] = id;
		run1(r, "m_lookup", 1, v);
	}
	exec(r, "BEGIN ISOLATION LEVEL READ COMMITTED");
	v[0] = w->id, v[1] = ms, v[2] = n_tables;
	run1(r, "journal", 3, v);
	for (size_t t = 0; t < w->n; t++) {
		const work_table *tb = &w->t[t];

		i64(id, tb->id);
		i64(ver, tb->version);
		i64(prev, tb->version - 1);
		i64(adds, tb->n_adds);
		v[0] = id;
		run1(r, "m_lock", 1, v);
		v[0] = id, v[1] = id, v[2] = prev;
		run1(r, "m_meta", 3, v);
		v[0] = ver, v[1] = ms, v[2] = id, v[3] = prev;
		run1(r, "m_cas", 4, v);
		v[0] = id, v[1] = ver, v[2] = w->id, v[3] = ms, v[4] = adds;
		run1(r, "commit", 5, v);
		for (int k = 0; k < N_ACTIONS; k++) {
			v[5 * k] = id;
			v[5 * k + 1] = ver;
			v[5 * k + 2] = seq[k];
			v[5 * k + 3] = k ? "add" : "commitInfo";
			v[5 * k + 4] = k ? tb->add_line[k - 1] : tb->commit_info;
		}
		run1(r, "m_actions", 5 * N_ACTIONS, v);
		v[0] = ver, v[1] = id;
		for (int k = 0; k < WORK_ADDS; k++) {
			v[2 + k] = tb->path[k];
			v[2 + WORK_ADDS + 2 * k] = tb->path[k];
			v[3 + WORK_ADDS + 2 * k] = "";
		}
		run1(r, "m_unlink", 2 + 3 * WORK_ADDS, v);
		for (int k = 0; k < WORK_ADDS; k++) {
			v[6 * k] = id;
			v[6 * k + 1] = tb->path[k];
			v[6 * k + 2] = "";
			v[6 * k + 3] = ver;
			v[6 * k + 4] = "104857";
			v[6 * k + 5] = tb->add_body[k];
		}
		run1(r, "m_files", 6 * WORK_ADDS, v);
	}
	exec(r, "COMMIT");
}

/* --- reads --- */

static PGresult *query(raw *r, const char *name, int n, const int64_t *p)
{
	char buf[3][24];
	const char *v[3];
	PGresult *res;

	for (int i = 0; i < n; i++) {
		i64(buf[i], p[i]);
		v[i] = buf[i];
	}
	res = PQexecPrepared(r->pg, name, n, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail(r, res, name);
	return res;
}

static size_t pg_select_files(raw *r, int64_t table, int64_t version, char ***out)
{
	int64_t p[2] = {table, version};
	PGresult *res = query(r, version < 0 ? "latest" : "at", version < 0 ? 1 : 2, p);
	size_t n = (size_t)PQntuples(res);
	char **v = malloc((n ? n : 1) * sizeof(*v));

	if (!v)
		die("raw postgresql", "out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = strdup(PQgetvalue(res, (int)i, 1));
	PQclear(res);
	*out = v;
	return n;
}

static size_t pg_select_actions(raw *r, int64_t table, int64_t from, int64_t to)
{
	int64_t p[3] = {table, from, to};
	PGresult *res = query(r, "winners", 3, p);
	size_t n = (size_t)PQntuples(res);

	for (size_t i = 0; i < n; i++)
		free(strdup(PQgetvalue(res, (int)i, 1)));
	PQclear(res);
	return n;
}

static int64_t pg_scalar(raw *r, const char *sql, const int64_t *p, int n)
{
	char text[2048], buf[8][24];
	const char *v[8];
	size_t len = 0;
	int k = 0;
	PGresult *res;
	int64_t out = 0;

	if (n > 8)
		die("raw postgresql", "scalar: too many parameters");
	for (const char *s = sql; *s && len + 4 < sizeof(text); s++) {
		if (*s == '?')
			len += (size_t)snprintf(text + len, sizeof(text) - len, "$%d", ++k);
		else
			text[len++] = *s;
	}
	text[len] = '\0';
	for (int i = 0; i < n; i++) {
		i64(buf[i], p[i]);
		v[i] = buf[i];
	}
	res = PQexecParams(r->pg, text, n, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail(r, res, text);
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return out;
}

/* --- bulk loads: COPY, buffered per table --- */

static void put(struct copybuf *b, const char *s, int escape)
{
	size_t need = strlen(s) * 2 + 2;

	if (b->len + need > b->cap) {
		b->cap = (b->len + need) * 2;
		if (!(b->data = realloc(b->data, b->cap)))
			die("raw postgresql", "out of memory");
	}
	for (; *s; s++) {
		if (escape && (*s == '\\' || *s == '\t' || *s == '\n' || *s == '\r')) {
			b->data[b->len++] = '\\';
			b->data[b->len++] = *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : '\\';
		} else {
			b->data[b->len++] = *s;
		}
	}
}

static void put_int(struct copybuf *b, int64_t v, const char *sep)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld%s", (long long)v, sep);
	put(b, s, 0);
}

static void flush(raw *r)
{
	for (int i = 0; i < 4; i++) {
		PGresult *res;

		if (!r->copy[i].len)
			continue;
		res = PQexec(r->pg, copy_sql[i]);
		if (PQresultStatus(res) != PGRES_COPY_IN)
			fail(r, res, copy_sql[i]);
		PQclear(res);
		if (PQputCopyData(r->pg, r->copy[i].data, (int)r->copy[i].len) != 1 ||
		    PQputCopyEnd(r->pg, NULL) != 1)
			fail(r, NULL, "COPY data");
		res = PQgetResult(r->pg);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			fail(r, res, copy_sql[i]);
		PQclear(res);
		while ((res = PQgetResult(r->pg)))
			PQclear(res);
		r->copy[i].len = 0;
	}
}

static void maybe_flush(raw *r)
{
	size_t total = 0;

	for (int i = 0; i < 4; i++)
		total += r->copy[i].len;
	if (total > (32u << 20))
		flush(r);
}

static void bulk_begin(raw *r)
{
	exec(r, "BEGIN");
}

static void bulk_txn(raw *r, const char *txn_id, int64_t ms)
{
	struct copybuf *b = &r->copy[0];

	put(b, txn_id, 1);
	put(b, "\tcommitted\twrite_serializable\t", 0);
	put_int(b, ms, "\t1\n");
}

static void bulk_commit(raw *r, int64_t table, int64_t version, const char *txn_id, int64_t ms,
                        int64_t adds, int64_t removes, int blind)
{
	struct copybuf *b = &r->copy[1];

	put_int(b, table, "\t");
	put_int(b, version, "\t");
	put(b, txn_id, 1);
	put(b, "\t", 0);
	put_int(b, ms, "\tWRITE\t");
	put_int(b, adds, "\t");
	put_int(b, removes, "\t");
	put_int(b, blind, "\t1\n");
}

static void bulk_action(raw *r, int64_t table, int64_t version, int64_t seq, const char *kind,
                        const char *body)
{
	struct copybuf *b = &r->copy[2];

	put_int(b, table, "\t");
	put_int(b, version, "\t");
	put_int(b, seq, "\t");
	put(b, kind, 1);
	put(b, "\t", 0);
	put(b, body, 1);
	put(b, "\n", 0);
	maybe_flush(r);
}

static void bulk_file(raw *r, int64_t table, const char *path, int64_t added, int64_t removed,
                      int64_t size, const char *body)
{
	struct copybuf *b = &r->copy[3];

	put_int(b, table, "\t");
	put(b, path, 1);
	put(b, "\t\t", 0);
	put_int(b, added, "\t");
	if (removed < 0)
		put(b, "\\N\t", 0);
	else
		put_int(b, removed, "\t");
	put_int(b, size, "\t");
	put(b, body, 1);
	put(b, "\n", 0);
}

static void bulk_end(raw *r, int64_t table, int64_t version, int64_t last_ms)
{
	char sql[160];

	flush(r);
	snprintf(sql, sizeof(sql), "UPDATE dsql_table SET version = %lld, last_commit_ms = %lld"
	         " WHERE id = %lld", (long long)version, (long long)last_ms, (long long)table);
	exec(r, sql);
	exec(r, "COMMIT");
	/* As autovacuum would after a load this size. */
	exec(r, "ANALYZE dsql_file");
	exec(r, "ANALYZE dsql_action");
	exec(r, "ANALYZE dsql_commit");
}

static const raw_bulk_ops bulk = {bulk_begin, bulk_txn, bulk_commit, bulk_action, bulk_file,
                                  bulk_end};

const raw_ops raw_pg_ops = {
	.name = "libpq, prepared statements in pipeline mode: one round trip per transaction",
	.connect = pg_connect,
	.close = pg_close,
	.table_id = pg_table_id,
	.commit = pg_commit,
	.mimic = pg_mimic,
	.append = pg_append,
	.select_files = pg_select_files,
	.select_actions = pg_select_actions,
	.scalar = pg_scalar,
	.bulk = &bulk,
};
