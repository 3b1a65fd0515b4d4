/*
 * The catalog schema. Each migration is a list of statements that moves the
 * schema from version N-1 to N; a new catalog runs them all. The statements
 * are templates of portable SQL (BIGINT, PRIMARY KEY, UNIQUE, CREATE
 * INDEX) whose text columns name their kind: {name} (a short text in a
 * key), {path} and {dv} (a file's key), {text} (any length); "{table
 * options}" closes every CREATE TABLE, "{drop index I ON T}" drops an index
 * and "{q:x}" quotes an identifier. The driver's dialect fills them in
 * (db_expand, driver.h), so every database gets the same schema without a
 * dialect branch here.
 */
#include "schema.h"
#include "delta_path.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const v1[] = {
	"CREATE TABLE IF NOT EXISTS dsql_catalog ({q:key} {name} PRIMARY KEY, value {text} NOT NULL)"
	"{table options}",
	"CREATE TABLE IF NOT EXISTS dsql_sequence (name {name} PRIMARY KEY, value BIGINT NOT NULL)"
	"{table options}",
	/* version is the compare-and-swap point of every commit. */
	"CREATE TABLE IF NOT EXISTS dsql_table (id BIGINT PRIMARY KEY, name {name} NOT NULL UNIQUE,"
	" uuid {name} NOT NULL, location {text}, version BIGINT NOT NULL,"
	" last_commit_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL){table options}",
	/* The journal: one row per committed transaction, written in the same
	 * database transaction as its commits, so its presence proves the
	 * commit happened. */
	"CREATE TABLE IF NOT EXISTS dsql_transaction (txn_id {name} PRIMARY KEY,"
	" state {name} NOT NULL, isolation {name} NOT NULL, commit_ms BIGINT NOT NULL,"
	" n_tables BIGINT NOT NULL){table options}",
	"CREATE TABLE IF NOT EXISTS dsql_commit (table_id BIGINT NOT NULL,"
	" version BIGINT NOT NULL, txn_id {name} NOT NULL, commit_ms BIGINT NOT NULL,"
	" operation {text} NOT NULL, n_adds BIGINT NOT NULL, n_removes BIGINT NOT NULL,"
	" blind_append BIGINT NOT NULL, data_change BIGINT NOT NULL,"
	" PRIMARY KEY (table_id, version)){table options}",
	"CREATE INDEX IF NOT EXISTS dsql_commit_txn ON dsql_commit (txn_id)",
	"CREATE TABLE IF NOT EXISTS dsql_action (table_id BIGINT NOT NULL,"
	" version BIGINT NOT NULL, seq BIGINT NOT NULL, kind {name} NOT NULL,"
	" body {text} NOT NULL, PRIMARY KEY (table_id, version, seq)){table options}",
	"CREATE INDEX IF NOT EXISTS dsql_action_kind ON dsql_action (table_id, kind, version)",
	/* The versioned file index: a row per (file, version added); the
	 * snapshot of V is the rows added at or before V and not removed at
	 * or before V. */
	"CREATE TABLE IF NOT EXISTS dsql_file (table_id BIGINT NOT NULL, path {path} NOT NULL,"
	" dv_id {dv} NOT NULL, added_version BIGINT NOT NULL, removed_version BIGINT,"
	" size BIGINT NOT NULL, body {text} NOT NULL,"
	" PRIMARY KEY (table_id, path, dv_id, added_version)){table options}",
	"CREATE INDEX IF NOT EXISTS dsql_file_live ON dsql_file (table_id, removed_version)",
	"CREATE TABLE IF NOT EXISTS dsql_app_txn (table_id BIGINT NOT NULL, app_id {name} NOT NULL,"
	" commit_version BIGINT NOT NULL, version BIGINT NOT NULL, last_updated BIGINT,"
	" PRIMARY KEY (table_id, app_id, commit_version)){table options}",
	NULL,
};

/* Version 2: domain metadata (Delta's domainMetadata feature). */
static const char *const v2[] = {
	"CREATE TABLE IF NOT EXISTS dsql_domain (table_id BIGINT NOT NULL, domain {name} NOT NULL,"
	" commit_version BIGINT NOT NULL, configuration {text} NOT NULL, removed BIGINT NOT NULL,"
	" PRIMARY KEY (table_id, domain, commit_version)){table options}",
	NULL,
};

/* Version 3: the two-phase commit decision log. A row is written, outside
 * the prepared transaction, once a prepared transaction is to be committed;
 * recovery commits prepared transactions that have one and rolls back the
 * rest (presumed abort). */
static const char *const v3[] = {
	"CREATE TABLE IF NOT EXISTS dsql_decision (gid {name} PRIMARY KEY,"
	" decided_ms BIGINT NOT NULL){table options}",
	NULL,
};

/* Version 4: retention. oldest_version is the first version whose
 * snapshot is still complete; dsql_tombstone keeps the removed files whose
 * file-index rows an expiry dropped, for vacuum. */
static const char *const v4[] = {
	"ALTER TABLE dsql_table ADD COLUMN oldest_version BIGINT NOT NULL DEFAULT 0",
	"CREATE TABLE IF NOT EXISTS dsql_tombstone (table_id BIGINT NOT NULL, path {path} NOT NULL,"
	" dv_id {dv} NOT NULL, removed_version BIGINT NOT NULL, removed_ms BIGINT NOT NULL,"
	" body {text} NOT NULL, PRIMARY KEY (table_id, path, dv_id, removed_version))"
	"{table options}",
	NULL,
};

/* Version 5: the live-file index also orders by path, so that the commit
 * path's look-up of live files by (path, dv_id) and the latest snapshot
 * are index probes. */
static const char *const v5[] = {
	"{drop index dsql_file_live ON dsql_file}",
	"CREATE INDEX IF NOT EXISTS dsql_file_live ON dsql_file (table_id, removed_version, path,"
	" dv_id)",
	NULL,
};

/* Version 6: monitoring across processes (deltasql stats). The journal row
 * of each commit says how many attempts it took and how long it waited
 * before its last one (earlier attempts and backoff): both known when the
 * row is written, first in the last attempt, so they cost no statement.
 * A commit rejected by a conflict leaves no journal row; it leaves a
 * dsql_conflict row instead, written after its rollback. */
static const char *const v6[] = {
	"ALTER TABLE dsql_transaction ADD COLUMN attempts BIGINT NOT NULL DEFAULT 1",
	"ALTER TABLE dsql_transaction ADD COLUMN wait_us BIGINT NOT NULL DEFAULT 0",
	"CREATE TABLE IF NOT EXISTS dsql_conflict (txn_id {name} NOT NULL, conflict_ms BIGINT NOT NULL,"
	" rule {name} NOT NULL, table_name {name} NOT NULL, winning_version BIGINT NOT NULL,"
	" attempts BIGINT NOT NULL){table options}",
	"CREATE INDEX IF NOT EXISTS dsql_conflict_ms ON dsql_conflict (conflict_ms)",
	NULL,
};

/* Version 7: every stored file path in its canonical spelling
 * (delta_path.h), which the commit path now gives every path it stages;
 * no statement of its own, canonical_paths does the work. */
static const char *const v7[] = {NULL};


/* Version 8: the key/value table's column "key" is a reserved word in
 * MariaDB and MySQL; it is "name" from here on. Older catalogs are read
 * through the quoted legacy name until they are migrated (NAME_KEY_SINCE). */
static const char *const v8[] = {
	"ALTER TABLE dsql_catalog RENAME COLUMN {q:key} TO name",
	NULL,
};

/* The oldest schema this binary reads without migrating it, where it cannot
 * migrate (a standby): every statement of the read path finds its tables
 * and columns from this version on (v5 changed an index only; v6 added the
 * journal's attempts and waits and the conflict rows, which only
 * dsql_catalog_stats reads, and it refuses an older schema; v7 rewrote
 * paths only; v8 renamed the key/value table's key column, read by its old
 * name before v8). A migration that adds what other reads use raises it. */
#define SCHEMA_READABLE_FROM 4

static const char *const *const migrations[] = {NULL, v1, v2, v3, v4, v5, v6, v7, v8};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == DSQL_CATALOG_SCHEMA_VERSION + 1,
               "a migration per schema version");

/* The first version whose key/value table has "name" for its key. */
#define NAME_KEY_SINCE 8

static const char *const key_sql[2][3] = {
	{"SELECT value FROM dsql_catalog WHERE name = ?",
	 "UPDATE dsql_catalog SET value = ? WHERE name = ?",
	 "INSERT INTO dsql_catalog (name, value) VALUES (?, ?)"},
	{"SELECT value FROM dsql_catalog WHERE {q:key} = ?",
	 "UPDATE dsql_catalog SET value = ? WHERE {q:key} = ?",
	 "INSERT INTO dsql_catalog ({q:key}, value) VALUES (?, ?)"},
};
enum { GET_KEY, SET_KEY, ADD_KEY };

/* One of the key/value statements for the catalog's current schema
 * (cat->legacy_key: before version 8), expanded once per handle. */
static int key_stmt(db_stmt **out, dsql_catalog *cat, int which, dsql_error *err)
{
	char **slot = &cat->schema_sql[which];

	if (!cat->legacy_key)
		return db_stmt_get(out, cat->db, key_sql[0][which], err);
	if (!*slot && !(*slot = db_expand(cat->db, key_sql[1][which])))
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	return db_stmt_get(out, cat->db, *slot, err);
}

void schema_free(dsql_catalog *cat)
{
	for (size_t i = 0; i < sizeof(cat->schema_sql) / sizeof(cat->schema_sql[0]); i++)
		free(cat->schema_sql[i]);
}

/* A migration's statement as this database spells it. */
static char *statement(dsql_catalog *cat, const char *template)
{
	char index[64], table[64];

	if (sscanf(template, "{drop index %63s ON %63[^}]}", index, table) == 2) {
		const char *form = db_dialect(cat->db)->drop_index;
		size_t cap = strlen(form) + strlen(index) + strlen(table) + 1;
		char *out = malloc(cap), *o = out;

		for (const char *p = form; out && *p;) {
			if (strncmp(p, "{index}", 7) == 0) {
				o = stpcpy(o, index);
				p += 7;
			} else if (strncmp(p, "{table}", 7) == 0) {
				o = stpcpy(o, table);
				p += 7;
			} else {
				*o++ = *p++;
			}
		}
		if (out)
			*o = '\0';
		return out;
	}
	return db_expand(cat->db, template);
}

static int read_key(dsql_catalog *cat, const char *key, char *buf, size_t cap,
                    dsql_error *err)
{
	db_stmt *st;
	int rc = key_stmt(&st, cat, GET_KEY, err);

	if (rc != DSQL_OK)
		return rc;
	rc = db_run(st, err, "t", key);
	if (rc == DSQL_ROW) {
		util_copy(buf, cap, db_column_text(st, 0, NULL));
		db_stmt_done(st);
		return DSQL_OK;
	}
	if (rc == DSQL_DONE)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "catalog has no '%s' entry", key);
	return rc;
}

int schema_get(dsql_catalog *cat, const char *key, char *buf, size_t cap, dsql_error *err)
{
	return read_key(cat, key, buf, cap, err);
}

static int write_key(dsql_catalog *cat, const char *key, const char *value, dsql_error *err)
{
	db_stmt *st;
	char old[64];
	int rc;

	/* Where UPDATE counts changed rows, setting a value to itself counts
	 * 0: look first. */
	if (db_choose(cat->db)->counts_changed &&
	    read_key(cat, key, old, sizeof(old), NULL) == DSQL_OK && strcmp(old, value) == 0)
		return DSQL_OK;
	rc = key_stmt(&st, cat, SET_KEY, err);
	if (rc != DSQL_OK || (rc = db_run(st, err, "tt", value, key)) != DSQL_DONE)
		return rc;
	if (db_changes(st) > 0)
		return DSQL_OK;
	rc = key_stmt(&st, cat, ADD_KEY, err);
	if (rc != DSQL_OK || (rc = db_run(st, err, "tt", key, value)) != DSQL_DONE)
		return rc;
	return DSQL_OK;
}

int schema_set(dsql_catalog *cat, const char *key, const char *value, dsql_error *err)
{
	return write_key(cat, key, value, err);
}

static int run_migration(dsql_catalog *cat, int to, dsql_error *err)
{
	for (const char *const *sql = migrations[to]; *sql; sql++) {
		char *text = statement(cat, *sql);
		int rc = text ? db_exec(cat->db, text, err)
		              : dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");

		free(text);
		if (rc != DSQL_OK)
			return rc;
	}
	cat->legacy_key = to < NAME_KEY_SINCE;
	return DSQL_OK;
}

/* One stored path that is not canonical. */
typedef struct stored_path {
	int64_t table_id, version, removed; /* removed: -1 for a live file */
	char *path, *dv_id, *canon;
} stored_path;

static const struct {
	const char *select, *taken, *update;
} path_tables[] = {
	{"SELECT table_id, path, dv_id, added_version, removed_version FROM dsql_file",
	 /* the canonical key at the same version, or live twice */
	 "SELECT COUNT(*) FROM dsql_file WHERE table_id = ? AND path = ? AND dv_id = ?"
	 " AND (added_version = ? OR (removed_version IS NULL AND ? = -1))",
	 "UPDATE dsql_file SET path = ? WHERE table_id = ? AND path = ? AND dv_id = ?"
	 " AND added_version = ?"},
	{"SELECT table_id, path, dv_id, removed_version, 0 FROM dsql_tombstone",
	 "SELECT COUNT(*) FROM dsql_tombstone WHERE table_id = ? AND path = ? AND dv_id = ?"
	 " AND removed_version = ? AND ? >= 0",
	 "UPDATE dsql_tombstone SET path = ? WHERE table_id = ? AND path = ? AND dv_id = ?"
	 " AND removed_version = ?"},
};

static void free_paths(stored_path *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].dv_id);
		free(v[i].canon);
	}
	free(v);
}

/* The rows of one table whose path is not canonical (usually none). */
static int noncanonical_rows(dsql_catalog *cat, size_t k, stored_path **out, size_t *n,
                             dsql_error *err)
{
	size_t cap = 0;
	db_stmt *st;
	int rc = db_stmt_get(&st, cat->db, path_tables[k].select, err);

	*out = NULL;
	*n = 0;
	for (rc = rc == DSQL_OK ? db_run(st, err, "") : rc; rc == DSQL_ROW; rc = db_step(st, err)) {
		const char *path = db_column_text(st, 1, NULL);
		stored_path *p;
		char *canon = NULL;

		/* An invalid one keeps its spelling (and is counted below). */
		if (delta_path_canonical(path, &canon, NULL) == DSQL_OK && !canon)
			continue;
		if (*n == cap) {
			stored_path *g = realloc(*out, (cap = cap ? cap * 2 : 16) * sizeof(*g));

			if (!g) {
				free(canon);
				db_stmt_done(st);
				return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
			}
			*out = g;
		}
		p = &(*out)[(*n)++];
		p->table_id = db_column_int64(st, 0);
		p->version = db_column_int64(st, 3);
		p->removed = db_column_is_null(st, 4) ? -1 : db_column_int64(st, 4);
		p->path = strdup(path);
		p->dv_id = strdup(db_column_text(st, 2, NULL));
		p->canon = canon;
		if (!p->path || !p->dv_id) {
			db_stmt_done(st);
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		}
	}
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

/* Migration 7: stored paths take their canonical spelling. A row whose
 * canonical key is taken already (one file stored under two spellings by
 * an older version), or whose path is invalid, keeps its spelling; their
 * number is recorded as noncanonical_paths, and vacuum then compares
 * canonical forms for those tables (retention.c). */
static int canonical_paths(dsql_catalog *cat, dsql_error *err)
{
	int64_t left = 0;
	int rc = DSQL_OK;

	for (size_t k = 0; rc == DSQL_OK && k < sizeof(path_tables) / sizeof(path_tables[0]); k++) {
		stored_path *v;
		size_t n;

		rc = noncanonical_rows(cat, k, &v, &n, err);
		for (size_t i = 0; rc == DSQL_OK && i < n; i++) {
			db_stmt *st;
			int64_t taken = 1;

			if (!v[i].canon) {
				left++;
				continue;
			}
			rc = db_stmt_get(&st, cat->db, path_tables[k].taken, err);
			if (rc == DSQL_OK &&
			    (rc = db_run(st, err, "ittii", v[i].table_id, v[i].canon, v[i].dv_id,
			                 v[i].version, v[i].removed)) == DSQL_ROW) {
				taken = db_column_int64(st, 0);
				db_stmt_done(st);
				rc = DSQL_OK;
			}
			if (rc == DSQL_OK && taken) {
				left++;
				continue;
			}
			if (rc == DSQL_OK)
				rc = db_stmt_get(&st, cat->db, path_tables[k].update, err);
			if (rc == DSQL_OK &&
			    (rc = db_run(st, err, "titti", v[i].canon, v[i].table_id, v[i].path,
			                 v[i].dv_id, v[i].version)) == DSQL_DONE)
				rc = DSQL_OK;
		}
		free_paths(v, n);
	}
	if (rc == DSQL_OK && left > 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%lld", (long long)left);
		rc = write_key(cat, "noncanonical_paths", buf, err);
	}
	return rc;
}

static int upgrade_locked(dsql_catalog *cat, int from, int to, dsql_error *err)
{
	char buf[32];
	int rc;

	for (int v = from + 1; v <= to; v++) {
		if ((rc = run_migration(cat, v, err)) != DSQL_OK)
			return rc;
		if (v == 7 && (rc = canonical_paths(cat, err)) != DSQL_OK)
			return rc;
	}
	snprintf(buf, sizeof(buf), "%d", to);
	return write_key(cat, "schema_version", buf, err);
}

/* Creates the schema up to version `to` inside one write transaction. Two
 * processes may race to create the same catalog; the loser's statements
 * fail or find the rows there, and it simply reads what the winner wrote. */
static int create_schema(dsql_catalog *cat, int to, dsql_error *err)
{
	char uuid[37], buf[32];
	int rc;

	rc = db_begin(cat->db, DSQL_BEGIN_WRITE, err);
	if (rc != DSQL_OK)
		return rc;
	rc = upgrade_locked(cat, 0, to, err);
	if (rc == DSQL_OK && read_key(cat, "catalog_uuid", uuid, sizeof(uuid), NULL) != DSQL_OK) {
		util_uuid4(uuid);
		rc = write_key(cat, "catalog_uuid", uuid, err);
	}
	if (rc == DSQL_OK) {
		snprintf(buf, sizeof(buf), "%lld", (long long)util_now_ms());
		rc = write_key(cat, "created_ms", buf, err);
	}
	if (rc == DSQL_OK) {
		db_stmt *st;

		rc = db_stmt_get(&st, cat->db,
		                 "INSERT INTO dsql_sequence (name, value) VALUES ('table_id', 0)", err);
		if (rc == DSQL_OK && (rc = db_run(st, err, "")) == DSQL_DONE)
			rc = DSQL_OK;
	}
	if (rc != DSQL_OK) {
		db_rollback(cat->db);
		return rc;
	}
	return db_commit(cat->db, err);
}

static int parse_version(const char *s, int *out, dsql_error *err)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 1000000)
		return dsql_error_set(err, DSQL_EDB, NULL, NULL, 0,
		                      "catalog schema_version '%s' is not a version", s);
	*out = (int)v;
	return DSQL_OK;
}

static int read_schema_version(dsql_catalog *cat, int *out, dsql_error *err)
{
	char buf[32];
	int rc = read_key(cat, "schema_version", buf, sizeof(buf), err);

	return rc == DSQL_OK ? parse_version(buf, out, err) : rc;
}

static int migrate(dsql_catalog *cat, dsql_error *err)
{
	int v, rc;

	rc = db_begin(cat->db, DSQL_BEGIN_WRITE, err);
	if (rc != DSQL_OK)
		return rc;
	/* Re-read under the write lock: another process may have migrated. */
	rc = read_schema_version(cat, &v, err);
	if (rc != DSQL_OK && cat->legacy_key) {
		/* It has, past the rename of the key column. */
		db_rollback(cat->db);
		cat->legacy_key = 0;
		return read_schema_version(cat, &v, err);
	}
	if (rc == DSQL_OK && v < DSQL_CATALOG_SCHEMA_VERSION)
		rc = upgrade_locked(cat, v, DSQL_CATALOG_SCHEMA_VERSION, err);
	if (rc != DSQL_OK) {
		db_rollback(cat->db);
		return rc;
	}
	return db_commit(cat->db, err);
}

/* The live-file key. Where a commit's statements travel together
 * (DSQL_CAP_DEFERRED), unlinking the files its adds replace costs a
 * statement per table that almost never changes a row. Where the live-file
 * index can be made unique on (table, path, dv_id) among live rows,
 * PostgreSQL 15's NULLS NOT DISTINCT, an add that replaces a live file
 * fails instead of leaving two live rows: commits then skip those unlinks,
 * and the rare add that does replace a file fails its attempt, after which
 * the commit is attempted once more with the adds unlinked (commit.c). The outcome is decided once per catalog and recorded in
 * dsql_catalog under LIVE_KEY ("unique" or "plain"), by the first such
 * client to open it; other clients of a server (ODBC) read it and skip, on
 * the hint, the look-up of the files their adds replace. Everything else
 * works the same on either index. */
#define LIVE_KEY "live_file_key"

/* In one write transaction, serialized on the schema_version row: the
 * recorded outcome when there is one, else (try set) the unique index or
 * (not set) "plain" recorded. *ddl_failed: an index statement failed. */
static int live_key_decide(dsql_catalog *cat, int try, char *value, size_t cap,
                           int *ddl_failed, dsql_error *err)
{
	char buf[32];
	int rc;

	*ddl_failed = 0;
	snprintf(buf, sizeof(buf), "%d", cat->schema_version);
	rc = db_begin(cat->db, DSQL_BEGIN_WRITE, err);
	if (rc != DSQL_OK)
		return rc;
	rc = write_key(cat, "schema_version", buf, err);
	if (rc == DSQL_OK && read_key(cat, LIVE_KEY, value, cap, NULL) == DSQL_OK) {
		db_rollback(cat->db);
		return DSQL_OK;
	}
	util_copy(value, cap, try ? "unique" : "plain");
	for (const char *const *sql = db_dialect(cat->db)->unique_live_key;
	     try && rc == DSQL_OK && *sql; sql++)
		if ((rc = db_exec(cat->db, *sql, err)) != DSQL_OK)
			*ddl_failed = 1;
	if (rc == DSQL_OK)
		rc = write_key(cat, LIVE_KEY, value, err);
	if (rc != DSQL_OK) {
		db_rollback(cat->db);
		return rc;
	}
	return db_commit(cat->db, err);
}

/* The index statements' failure is the database's answer, to be recorded:
 * live rows that break the key, or SQL it does not have (not PostgreSQL 15
 * or later: a syntax error or an unsupported feature). Not a passing
 * failure, nor a client without the rights (insufficient privilege, 42501),
 * after which the owner's client may still make the key. */
static int refused(int rc, const dsql_error *e)
{
	if (rc == DSQL_EEXISTS || rc == DSQL_EUNSUPPORTED)
		return 1;
	return rc == DSQL_EDB && strncmp(e->sqlstate, "42", 2) == 0 &&
	       strcmp(e->sqlstate, "42501") != 0;
}

/* Sets cat->live_key_unique. A client whose dialect has the statements of
 * a unique live-file key (PostgreSQL, natively or through ODBC) decides
 * the key when it is not recorded yet; other clients of a server read it.
 * Any failure here leaves it clear: unlinking every add is right on either
 * index. */
static void live_key_ensure(dsql_catalog *cat)
{
	const dsql_dialect *d = db_dialect(cat->db);
	char value[16];
	dsql_error e;
	int rc, ddl_failed;

	cat->live_key_unique = 0;
	if (db_choose(cat->db)->serial_writers)
		return; /* SQLite: never a server's key */
	rc = read_key(cat, LIVE_KEY, value, sizeof(value), NULL);
	if (rc == DSQL_ENOTFOUND && d->unique_live_key && !(d->flags & DSQL_DIALECT_DDL_COMMITS)) {
		rc = live_key_decide(cat, 1, value, sizeof(value), &ddl_failed, &e);
		if (ddl_failed && refused(rc, &e))
			rc = live_key_decide(cat, 0, value, sizeof(value), &ddl_failed, NULL);
	}
	cat->live_key_unique = rc == DSQL_OK && strcmp(value, "unique") == 0;
}

/* The look-up of the schema version failed because there is no catalog
 * here: its table is missing (DSQL_ENOTFOUND), or the file is something
 * else, or a database that does not tell why (SQLite's generic HY000)
 * failed. Anything else (a connection, a pooler, a permission, a timeout)
 * is that error, not a missing catalog. */
static int no_catalog(const dsql_error *probe)
{
	if (probe->code == DSQL_ENOTFOUND)
		return 1;
	return (probe->code == DSQL_EDB || probe->code == DSQL_EINVALID) &&
	       strcmp(probe->sqlstate, "HY000") == 0;
}

/* An older schema that this connection cannot migrate (a standby): read as
 * it is when this binary can, else an error naming both versions. */
static int read_older(dsql_catalog *cat, int v, dsql_error *err)
{
	if (v < SCHEMA_READABLE_FROM)
		return dsql_error_set(err, DSQL_ECATALOG_VERSION, NULL, NULL, 0,
		                      "catalog schema version %d is older than this deltasql (%s) "
		                      "reads (%d to %d), and the catalog is read-only here (a "
		                      "standby): open it once where it can be written, which migrates "
		                      "it, or use an older deltasql here",
		                      v, DSQL_VERSION_STRING, SCHEMA_READABLE_FROM,
		                      DSQL_CATALOG_SCHEMA_VERSION);
	cat->schema_version = v;
	return read_key(cat, "catalog_uuid", cat->uuid, sizeof(cat->uuid), err);
}

/* The database refused the role access (SQLSTATE 42501, natively or
 * through ODBC): the catalog may well be there, and init would not help. */
static int denied(int rc, const dsql_error *e)
{
	return rc != DSQL_OK && strcmp(e->sqlstate, "42501") == 0;
}

static int permission_denied(const dsql_error *e, dsql_error *err)
{
	return dsql_error_set(err, DSQL_EDB, e->driver, e->sqlstate, e->native_code,
	                      "permission denied: this role may not use the deltasql catalog "
	                      "at this URI (%s)", e->message);
}

int schema_ensure(dsql_catalog *cat, int create, dsql_error *err)
{
	dsql_error probe, made;
	int rc, v = 0;

	memset(&made, 0, sizeof(made));
	for (int attempt = 0;; attempt++) {
		cat->legacy_key = 0;
		rc = read_schema_version(cat, &v, &probe);
		if (denied(rc, &probe))
			return permission_denied(&probe, err);
		if (rc == DSQL_OK)
			break;
		/* A catalog from before the key column's rename (PostgreSQL says
		 * undefined_column, SQLite a generic error). */
		cat->legacy_key = 1;
		if (rc != DSQL_ECONNECT && read_schema_version(cat, &v, NULL) == DSQL_OK &&
		    v < NAME_KEY_SINCE) {
			rc = DSQL_OK;
			break;
		}
		cat->legacy_key = 0;
		if (!no_catalog(&probe))
			break;
		/* No readable catalog here (the table is missing, or the file is
		 * something else). */
		if (!create)
			return dsql_error_set(err, DSQL_ENOTFOUND, probe.driver, probe.sqlstate,
			                      probe.native_code,
			                      "no deltasql catalog at this URI (run 'deltasql init'): %s",
			                      probe.message);
		if (attempt == 5)
			break;
		rc = create_schema(cat, DSQL_CATALOG_SCHEMA_VERSION, &made);
		if (denied(rc, &made))
			return permission_denied(&made, err);
		if (rc != DSQL_OK && rc != DSQL_ERETRY && rc != DSQL_EEXISTS && rc != DSQL_EDB) {
			if (err)
				*err = made;
			return rc;
		}
		if (rc != DSQL_OK)
			util_sleep_ms(10 + (int64_t)util_random(50));
	}
	if (rc != DSQL_OK) {
		if (err)
			*err = probe;
		return rc;
	}
	if (v > DSQL_CATALOG_SCHEMA_VERSION)
		return dsql_error_set(err, DSQL_ECATALOG_VERSION, NULL, NULL, 0,
		                      "catalog schema version %d is newer than this deltasql "
		                      "(%s) supports (%d); upgrade deltasql",
		                      v, DSQL_VERSION_STRING, DSQL_CATALOG_SCHEMA_VERSION);
	if (v < DSQL_CATALOG_SCHEMA_VERSION) {
		rc = migrate(cat, err);
		if (rc == DSQL_EREADONLY)
			return read_older(cat, v, err);
		if (rc != DSQL_OK)
			return rc;
		v = DSQL_CATALOG_SCHEMA_VERSION;
	}
	cat->schema_version = v;
	rc = read_key(cat, "catalog_uuid", cat->uuid, sizeof(cat->uuid), err);
	if (rc == DSQL_OK)
		live_key_ensure(cat);
	return rc;
}

int schema_create_at(dsql_catalog *cat, int version, dsql_error *err)
{
	if (version < 1 || version > DSQL_CATALOG_SCHEMA_VERSION)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "no schema version %d",
		                      version);
	return create_schema(cat, version, err);
}
