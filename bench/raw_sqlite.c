/*
 * The raw SQLite client: the rows of a commit written with prepared
 * statements (one per row, the idiomatic SQLite client) inside one
 * BEGIN IMMEDIATE transaction, on a connection with the same pragmas and
 * the same busy policy as deltasql's SQLite driver.
 */
#include "config.h"
#include "bench.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	S_JOURNAL, S_CAS, S_COMMIT, S_ACTION, S_FILE, S_VERSION, S_LATEST, S_AT, S_ACTIONS,
	S_TABLE_ID, S_BULK_FILE, S_BULK_END, S_M_LOOKUP, S_M_LOCK, S_M_META, S_M_ACTIONS,
	S_M_LIVE, S_M_FILES, S_COUNT
};

/* deltasql's own statements (core/commit.c, core/catalog.c, core/batch.c). */
#define M_ACTIONS "INSERT INTO dsql_action (table_id, version, seq, kind, body) VALUES "
#define M_FILES "INSERT INTO dsql_file (table_id, path, dv_id, added_version, removed_version," \
	" size, body) VALUES "
#define M_LIVE "SELECT path, dv_id FROM dsql_file WHERE table_id = ?" \
	" AND removed_version IS NULL AND path IN ("

static const char *const sql[S_COUNT] = {
	[S_JOURNAL] = "INSERT INTO dsql_transaction (txn_id, state, isolation, commit_ms, n_tables)"
	              " VALUES (?, 'committed', 'write_serializable', ?, ?)",
	[S_CAS] = "UPDATE dsql_table SET version = ?, last_commit_ms = ? WHERE id = ? AND version = ?",
	[S_COMMIT] = "INSERT INTO dsql_commit (table_id, version, txn_id, commit_ms, operation, n_adds,"
	             " n_removes, blind_append, data_change) VALUES (?, ?, ?, ?, 'WRITE', ?, ?, ?, 1)",
	[S_ACTION] = "INSERT INTO dsql_action (table_id, version, seq, kind, body) VALUES (?, ?, ?, ?, ?)",
	[S_FILE] = "INSERT INTO dsql_file (table_id, path, dv_id, added_version, removed_version, size,"
	           " body) VALUES (?, ?, '', ?, NULL, 104857, ?)",
	[S_VERSION] = "SELECT version FROM dsql_table WHERE id = ?",
	[S_LATEST] = "SELECT path, body FROM dsql_file WHERE table_id = ? AND removed_version IS NULL"
	             " ORDER BY path, dv_id",
	[S_AT] = "SELECT path, body FROM dsql_file WHERE table_id = ? AND added_version <= ?"
	         " AND (removed_version IS NULL OR removed_version > ?) ORDER BY path, dv_id",
	[S_ACTIONS] = "SELECT version, body FROM dsql_action WHERE table_id = ? AND version > ?"
	              " AND version <= ? AND kind <> 'commitInfo' ORDER BY version, seq",
	[S_TABLE_ID] = "SELECT id FROM dsql_table WHERE name = ?",
	[S_BULK_FILE] = "INSERT INTO dsql_file (table_id, path, dv_id, added_version, removed_version,"
	                " size, body) VALUES (?, ?, '', ?, ?, ?, ?)",
	[S_BULK_END] = "UPDATE dsql_table SET version = ?, last_commit_ms = ? WHERE id = ?",
	[S_M_LOOKUP] = "SELECT id, version FROM dsql_table WHERE id = ?",
	[S_M_LOCK] = "UPDATE dsql_table SET version = version WHERE id = ?"
	             " RETURNING version, last_commit_ms, oldest_version",
	[S_M_META] = "SELECT body FROM dsql_action WHERE table_id = ? AND kind = 'metaData'"
	             " AND version = (SELECT MAX(version) FROM dsql_action WHERE"
	             " table_id = ? AND kind = 'metaData' AND version <= ?)",
	/* S_M_ACTIONS, S_M_LIVE, S_M_FILES: multi_sql() */
};

/* The texts deltasql generates on SQLite (core/batch.c): rows one per
 * statement, and the look-up of the added paths that are live. */
static const char *multi_sql(int i)
{
	static char live[512];

	switch (i) {
	case S_M_ACTIONS:
		return M_ACTIONS "(?, ?, ?, ?, ?)";
	case S_M_FILES:
		return M_FILES "(?, ?, ?, ?, NULL, ?, ?)";
	default:
		if (!live[0]) {
			size_t len = (size_t)snprintf(live, sizeof(live), "%s", M_LIVE);

			for (int k = 0; k < WORK_ADDS; k++)
				len += (size_t)snprintf(live + len, sizeof(live) - len, "%s?", k ? ", " : "");
			snprintf(live + len, sizeof(live) - len, ")");
		}
		return live;
	}
}

struct raw {
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	struct timespec busy_since;
};

static void check(raw *r, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		die("raw sqlite", "%s: %s", what, sqlite3_errmsg(r->db));
}

static sqlite3_stmt *stmt(raw *r, int i)
{
	const char *text = sql[i] ? sql[i] : multi_sql(i);

	if (!r->st[i])
		check(r, sqlite3_prepare_v3(r->db, text, -1, SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL),
		      text);
	sqlite3_reset(r->st[i]);
	return r->st[i];
}

static void run(raw *r, sqlite3_stmt *st)
{
	check(r, sqlite3_step(st), sqlite3_sql(st));
}

static void exec(raw *r, const char *s)
{
	check(r, sqlite3_exec(r->db, s, NULL, NULL, NULL), s);
}

/* The same busy policy as the deltasql driver: poll every 0.1 to 1 ms. */
static int on_busy(void *arg, int count)
{
	raw *r = arg;
	struct timespec t, pause = {0, 0};

	clock_gettime(CLOCK_MONOTONIC, &t);
	if (count == 0)
		r->busy_since = t;
	if (t.tv_sec - r->busy_since.tv_sec > 10)
		return 0;
	pause.tv_nsec = (100 + (long)((unsigned long)rand() % 900)) * 1000;
	nanosleep(&pause, NULL);
	return 1;
}

/* target: PATH[?synchronous=X&journal_mode=Y] as in deltasql's URI. */
static raw *sq_connect(const char *target)
{
	char path[1024], pragma[256], sync[32] = "full", journal[32] = "wal";
	const char *q = strchr(target, '?');
	raw *r = calloc(1, sizeof(*r));

	if (!r)
		die("raw sqlite", "out of memory");
	snprintf(path, sizeof(path), "%.*s", q ? (int)(q - target) : (int)strlen(target), target);
	for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
		sscanf(p + 1, "synchronous=%31[a-z]", sync);
		sscanf(p + 1, "journal_mode=%31[a-z]", journal);
	}
	if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                                      SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		die("raw sqlite", "cannot open %s", path);
	sqlite3_busy_handler(r->db, on_busy, r);
	snprintf(pragma, sizeof(pragma), "PRAGMA journal_mode=%s; PRAGMA synchronous=%s", journal,
	         sync);
	exec(r, pragma);
	return r;
}

static void sq_close(raw *r)
{
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(r->st[i]);
	sqlite3_close(r->db);
	free(r);
}

static int64_t sq_table_id(raw *r, const char *name)
{
	sqlite3_stmt *st = stmt(r, S_TABLE_ID);
	int64_t id;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		die("raw sqlite", "no table %s", name);
	id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

static void write_table(raw *r, const work_txn *w, const work_table *t)
{
	sqlite3_stmt *st = stmt(r, S_CAS);

	sqlite3_bind_int64(st, 1, t->version);
	sqlite3_bind_int64(st, 2, w->commit_ms);
	sqlite3_bind_int64(st, 3, t->id);
	sqlite3_bind_int64(st, 4, t->version - 1);
	run(r, st);
	if (sqlite3_changes(r->db) != 1)
		die("raw sqlite", "compare-and-swap of table %lld failed", (long long)t->id);
	st = stmt(r, S_COMMIT);
	sqlite3_bind_int64(st, 1, t->id);
	sqlite3_bind_int64(st, 2, t->version);
	sqlite3_bind_text(st, 3, w->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, w->commit_ms);
	sqlite3_bind_int64(st, 5, t->n_adds);
	sqlite3_bind_int64(st, 6, 0);
	sqlite3_bind_int64(st, 7, 1);
	run(r, st);
	for (int k = -1; k < t->n_adds; k++) {
		st = stmt(r, S_ACTION);
		sqlite3_bind_int64(st, 1, t->id);
		sqlite3_bind_int64(st, 2, t->version);
		sqlite3_bind_int64(st, 3, k + 1);
		sqlite3_bind_text(st, 4, k < 0 ? "commitInfo" : "add", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, k < 0 ? t->commit_info : t->add_line[k], -1, SQLITE_STATIC);
		run(r, st);
	}
	for (int k = 0; k < t->n_adds; k++) {
		st = stmt(r, S_FILE);
		sqlite3_bind_int64(st, 1, t->id);
		sqlite3_bind_text(st, 2, t->path[k], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, t->version);
		sqlite3_bind_text(st, 4, t->add_body[k], -1, SQLITE_STATIC);
		run(r, st);
	}
}

static void journal(raw *r, const work_txn *w)
{
	sqlite3_stmt *st = stmt(r, S_JOURNAL);

	sqlite3_bind_text(st, 1, w->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, w->commit_ms);
	sqlite3_bind_int64(st, 3, (int64_t)w->n);
	run(r, st);
}

/* BEGIN IMMEDIATE, waiting out the busy handler's timeout if need be. */
static void begin(raw *r)
{
	while (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_BUSY)
		;
}

static void sq_commit(raw *r, const work_txn *w)
{
	begin(r);
	journal(r, w);
	for (size_t i = 0; i < w->n; i++)
		write_table(r, w, &w->t[i]);
	exec(r, "COMMIT");
}

static int64_t sq_append(raw *r, work_txn *w)
{
	sqlite3_stmt *st;

	begin(r);
	st = stmt(r, S_VERSION);
	sqlite3_bind_int64(st, 1, w->t[0].id);
	if (sqlite3_step(st) != SQLITE_ROW)
		die("raw sqlite", "no table %lld", (long long)w->t[0].id);
	w->t[0].version = sqlite3_column_int64(st, 0) + 1;
	sqlite3_reset(st);
	journal(r, w);
	write_table(r, w, &w->t[0]);
	exec(r, "COMMIT");
	return w->t[0].version;
}

/* deltasql's statement sequence for one commit, without its JSON work. */
static void sq_mimic(raw *r, const work_txn *w)
{
	sqlite3_stmt *st;

	for (size_t i = 0; i < w->n; i++) { /* dsql_txn_stage opens each table */
		st = stmt(r, S_M_LOOKUP);
		sqlite3_bind_int64(st, 1, w->t[i].id);
		run(r, st);
		sqlite3_reset(st);
	}
	begin(r);
	journal(r, w);
	for (size_t i = 0; i < w->n; i++) {
		const work_table *t = &w->t[i];

		st = stmt(r, S_M_LOCK);
		sqlite3_bind_int64(st, 1, t->id);
		run(r, st);
		sqlite3_reset(st);
		st = stmt(r, S_M_META);
		sqlite3_bind_int64(st, 1, t->id);
		sqlite3_bind_int64(st, 2, t->id);
		sqlite3_bind_int64(st, 3, t->version - 1);
		run(r, st);
		sqlite3_reset(st);
		st = stmt(r, S_CAS);
		sqlite3_bind_int64(st, 1, t->version);
		sqlite3_bind_int64(st, 2, w->commit_ms);
		sqlite3_bind_int64(st, 3, t->id);
		sqlite3_bind_int64(st, 4, t->version - 1);
		run(r, st);
		st = stmt(r, S_COMMIT);
		sqlite3_bind_int64(st, 1, t->id);
		sqlite3_bind_int64(st, 2, t->version);
		sqlite3_bind_text(st, 3, w->id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, w->commit_ms);
		sqlite3_bind_int64(st, 5, t->n_adds);
		sqlite3_bind_int64(st, 6, 0);
		sqlite3_bind_int64(st, 7, 1);
		run(r, st);
		/* One row per statement, as deltasql writes them on SQLite
		 * (DSQL_CAP_IN_PROCESS). */
		for (int k = -1; k < t->n_adds; k++) {
			st = stmt(r, S_M_ACTIONS);
			sqlite3_bind_int64(st, 1, t->id);
			sqlite3_bind_int64(st, 2, t->version);
			sqlite3_bind_int64(st, 3, k + 1);
			sqlite3_bind_text(st, 4, k < 0 ? "commitInfo" : "add", -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 5, k < 0 ? t->commit_info : t->add_line[k], -1,
			                  SQLITE_TRANSIENT);
			run(r, st);
		}
		st = stmt(r, S_M_LIVE); /* none is live: no unlink follows */
		sqlite3_bind_int64(st, 1, t->id);
		for (int k = 0; k < t->n_adds; k++)
			sqlite3_bind_text(st, 2 + k, t->path[k], -1, SQLITE_TRANSIENT);
		run(r, st);
		sqlite3_reset(st);
		for (int k = 0; k < t->n_adds; k++) {
			st = stmt(r, S_M_FILES);
			sqlite3_bind_int64(st, 1, t->id);
			sqlite3_bind_text(st, 2, t->path[k], -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, "", -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 4, t->version);
			sqlite3_bind_int64(st, 5, 104857);
			sqlite3_bind_text(st, 6, t->add_body[k], -1, SQLITE_TRANSIENT);
			run(r, st);
		}
	}
	exec(r, "COMMIT");
}

static size_t sq_select_files(raw *r, int64_t table, int64_t version, char ***out)
{
	sqlite3_stmt *st = stmt(r, version < 0 ? S_LATEST : S_AT);
	size_t n = 0, cap = 1024;
	char **v = malloc(cap * sizeof(*v));

	if (!v)
		die("raw sqlite", "out of memory");
	sqlite3_bind_int64(st, 1, table);
	if (version >= 0) {
		sqlite3_bind_int64(st, 2, version);
		sqlite3_bind_int64(st, 3, version);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap && !(v = realloc(v, (cap *= 2) * sizeof(*v))))
			die("raw sqlite", "out of memory");
		(void)sqlite3_column_text(st, 0);
		v[n++] = strdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_reset(st);
	*out = v;
	return n;
}

static size_t sq_select_actions(raw *r, int64_t table, int64_t from, int64_t to)
{
	sqlite3_stmt *st = stmt(r, S_ACTIONS);
	size_t n = 0;

	sqlite3_bind_int64(st, 1, table);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	while (sqlite3_step(st) == SQLITE_ROW) {
		free(strdup((const char *)sqlite3_column_text(st, 1)));
		n++;
	}
	sqlite3_reset(st);
	return n;
}

static int64_t sq_scalar(raw *r, const char *q, const int64_t *p, int n)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	check(r, sqlite3_prepare_v2(r->db, q, -1, &st, NULL), q);
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, p[i]);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* --- bulk loads: the same statements, one transaction --- */

static void bulk_begin(raw *r)
{
	begin(r);
}

static void bulk_txn(raw *r, const char *txn_id, int64_t ms)
{
	sqlite3_stmt *st = stmt(r, S_JOURNAL);

	sqlite3_bind_text(st, 1, txn_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ms);
	sqlite3_bind_int64(st, 3, 1);
	run(r, st);
}

static void bulk_commit(raw *r, int64_t table, int64_t version, const char *txn_id, int64_t ms,
                        int64_t adds, int64_t removes, int blind)
{
	sqlite3_stmt *st = stmt(r, S_COMMIT);

	sqlite3_bind_int64(st, 1, table);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_text(st, 3, txn_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ms);
	sqlite3_bind_int64(st, 5, adds);
	sqlite3_bind_int64(st, 6, removes);
	sqlite3_bind_int64(st, 7, blind);
	run(r, st);
}

static void bulk_action(raw *r, int64_t table, int64_t version, int64_t seq, const char *kind,
                        const char *body)
{
	sqlite3_stmt *st = stmt(r, S_ACTION);

	sqlite3_bind_int64(st, 1, table);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_int64(st, 3, seq);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, body, -1, SQLITE_STATIC);
	run(r, st);
}

static void bulk_file(raw *r, int64_t table, const char *path, int64_t added, int64_t removed,
                      int64_t size, const char *body)
{
	sqlite3_stmt *st = stmt(r, S_BULK_FILE);

	sqlite3_bind_int64(st, 1, table);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, added);
	if (removed < 0)
		sqlite3_bind_null(st, 4);
	else
		sqlite3_bind_int64(st, 4, removed);
	sqlite3_bind_int64(st, 5, size);
	sqlite3_bind_text(st, 6, body, -1, SQLITE_STATIC);
	run(r, st);
}

static void bulk_end(raw *r, int64_t table, int64_t version, int64_t last_ms)
{
	sqlite3_stmt *st = stmt(r, S_BULK_END);

	sqlite3_bind_int64(st, 1, version);
	sqlite3_bind_int64(st, 2, last_ms);
	sqlite3_bind_int64(st, 3, table);
	run(r, st);
	exec(r, "COMMIT");
}

static const raw_bulk_ops bulk = {bulk_begin, bulk_txn, bulk_commit, bulk_action, bulk_file,
                                  bulk_end};

const raw_ops raw_sqlite_ops = {
	.name = "sqlite3 C API, prepared statements, one row per statement",
	.connect = sq_connect,
	.close = sq_close,
	.table_id = sq_table_id,
	.commit = sq_commit,
	.mimic = sq_mimic,
	.append = sq_append,
	.select_files = sq_select_files,
	.select_actions = sq_select_actions,
	.scalar = sq_scalar,
	.bulk = &bulk,
};
