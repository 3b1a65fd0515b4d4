/*
 * The changes between two versions, and the versions after one: indexed
 * ranges on dsql_action ((table_id, version, seq) is its key) and
 * dsql_commit ((table_id, version)), never a snapshot.
 */
#include "deltasql/changes.h"
#include "catalog_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

typedef struct table_row {
	int64_t id, latest, oldest;
} table_row;

static int read_table(dsql_db *db, const char *name, table_row *t, dsql_error *err)
{
	db_stmt *st;
	int rc = db_stmt_get(&st, db,
	                     "SELECT id, version, oldest_version FROM dsql_table WHERE name = ?", err);

	if (rc == DSQL_OK)
		rc = db_run(st, err, "t", name);
	if (rc == DSQL_DONE)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0, "no such table: '%s'", name);
	if (rc != DSQL_ROW)
		return rc;
	t->id = db_column_int64(st, 0);
	t->latest = db_column_int64(st, 1);
	t->oldest = db_column_int64(st, 2);
	db_stmt_done(st);
	return DSQL_OK;
}

static int beyond_latest(const char *name, int64_t v, const table_row *t, dsql_error *err)
{
	return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
	                      "table '%s' has no version %lld (its latest is %lld)", name,
	                      (long long)v, (long long)t->latest);
}

/* Checks from..to against the table (to resolved from DSQL_LATEST). */
static int check_range(const char *name, int64_t from, int64_t *to, const table_row *t,
                       dsql_error *err)
{
	if (from > t->latest)
		return beyond_latest(name, from, t, err);
	if (*to == DSQL_LATEST)
		*to = t->latest;
	if (*to > t->latest)
		return beyond_latest(name, *to, t, err);
	if (from < t->oldest)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "table '%s': the changes of version %lld have expired (the "
		                      "oldest version kept is %lld)",
		                      name, (long long)from, (long long)t->oldest);
	return DSQL_OK;
}

/* The part of an action line {"kind":{...}} after its key, verbatim. */
static const char *body_after_key(const char *line, size_t len, const char *kind, size_t *out)
{
	size_t k = strlen(kind);

	if (len > k + 5 && line[0] == '{' && line[1] == '"' && strncmp(line + 2, kind, k) == 0 &&
	    line[k + 2] == '"' && line[k + 3] == ':' && line[len - 1] == '}') {
		*out = len - k - 5;
		return line + k + 4;
	}
	return NULL;
}

/* One action row into a change, then the callback. */
static int deliver(db_stmt *st, dsql_change_cb cb, void *payload, dsql_error *err)
{
	dsql_change c;
	size_t len, blen;
	const char *kind = db_column_text(st, 2, NULL);
	const char *line = db_column_text(st, 3, &len), *body;
	json_t *j, *a, *size;
	char *text = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	c.version = db_column_int64(st, 0);
	c.seq = db_column_int64(st, 1);
	c.timestamp_ms = db_column_int64(st, 4);
	c.txn_id = db_column_text(st, 5, NULL);
	c.kind = strcmp(kind, "add") == 0      ? DSQL_CHANGE_ADD
	         : strcmp(kind, "remove") == 0 ? DSQL_CHANGE_REMOVE
	                                       : DSQL_CHANGE_CDC;
	j = json_loadb(line, len, 0, NULL);
	a = json_object_get(j, kind);
	if (!json_is_object(a) || !json_is_string(json_object_get(a, "path"))) {
		json_decref(j);
		return dsql_error_set(err, DSQL_EDB, NULL, NULL, 0,
		                      "catalog holds a malformed %s action at version %lld", kind,
		                      (long long)c.version);
	}
	c.path = json_string_value(json_object_get(a, "path"));
	size = json_object_get(a, "size");
	c.size = json_is_integer(size) ? (int64_t)json_integer_value(size) : -1;
	c.data_change = json_is_true(json_object_get(a, "dataChange"));
	body = body_after_key(line, len, kind, &blen);
	if (body) {
		text = malloc(blen + 1);
		if (text) {
			memcpy(text, body, blen);
			text[blen] = '\0';
		}
	} else {
		text = json_dumps(a, JSON_COMPACT);
	}
	if (!text) {
		json_decref(j);
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	}
	c.action_json = text;
	rc = cb(&c, payload);
	free(text);
	json_decref(j);
	return rc;
}

/* The range is stated on both sides: a planner does not carry a range
 * across the join's equality, and would otherwise read every commit row of
 * the table (PostgreSQL hashes them). */
#define SQL_CHANGES                                                                            \
	"SELECT a.version, a.seq, a.kind, a.body, c.commit_ms, c.txn_id"                           \
	" FROM dsql_action a JOIN dsql_commit c ON c.table_id = a.table_id AND c.version = a.version" \
	" WHERE a.table_id = ? AND a.version >= ? AND a.version <= ?"                              \
	" AND a.kind IN ('add', 'remove', 'cdc') AND c.version >= ? AND c.version <= ?"            \
	" ORDER BY a.version, a.seq"

static int changes_in_txn(int64_t *out, dsql_catalog *cat, const char *table, int64_t from,
                          int64_t to, dsql_change_cb cb, void *payload, dsql_error *err)
{
	table_row t;
	db_stmt *st;
	int rc;

	if ((rc = read_table(cat->db, table, &t, err)) != DSQL_OK ||
	    (rc = check_range(table, from, &to, &t, err)) != DSQL_OK)
		return rc;
	if (out)
		*out = to;
	/* A test pauses here while an expiry runs: the range was checked
	 * against the transaction's snapshot, which must still hold it. */
	db_fault_point(cat->db, "changes_read");
	if ((rc = db_stmt_get(&st, cat->db, SQL_CHANGES, err)) != DSQL_OK)
		return rc;
	for (rc = db_run(st, err, "iiiii", t.id, from, to, from, to); rc == DSQL_ROW; rc = db_step(st, err)) {
		int stop = deliver(st, cb, payload, err);

		if (stop) {
			db_stmt_done(st);
			return stop;
		}
	}
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

static int after_in_txn(int64_t *out, dsql_catalog *cat, const char *table, int64_t after,
                        dsql_history_cb cb, void *payload, dsql_error *err)
{
	dsql_commit_info c;
	table_row t;
	db_stmt *st;
	int rc;

	if ((rc = read_table(cat->db, table, &t, err)) != DSQL_OK)
		return rc;
	if (after > t.latest)
		return beyond_latest(table, after, &t, err);
	if (out)
		*out = t.latest;
	rc = db_stmt_get(&st, cat->db,
	                 "SELECT version, commit_ms, txn_id, operation, n_adds, n_removes"
	                 " FROM dsql_commit WHERE table_id = ? AND version > ? ORDER BY version",
	                 err);
	if (rc != DSQL_OK)
		return rc;
	for (rc = db_run(st, err, "ii", t.id, after); rc == DSQL_ROW; rc = db_step(st, err)) {
		int stop;

		c.version = db_column_int64(st, 0);
		c.timestamp_ms = db_column_int64(st, 1);
		c.txn_id = db_column_text(st, 2, NULL);
		c.operation = db_column_text(st, 3, NULL);
		c.adds = db_column_int64(st, 4);
		c.removes = db_column_int64(st, 5);
		if ((stop = cb(&c, payload)) != 0) {
			db_stmt_done(st);
			return stop;
		}
	}
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

/* Ends the read transaction a walk ran in. */
static int end_read(dsql_catalog *cat, int rc, dsql_error *err)
{
	if (rc == DSQL_OK)
		return db_commit(cat->db, err);
	db_rollback(cat->db);
	return rc;
}

static int check_args(dsql_catalog *cat, const char *table, dsql_error *err)
{
	if (!cat)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "catalog is NULL");
	return util_check_name("table", table, err);
}

int dsql_changes(int64_t *out, dsql_catalog *cat, const char *table, int64_t from, int64_t to,
                 dsql_change_cb cb, void *payload, dsql_error *err)
{
	int rc;

	if ((rc = check_args(cat, table, err)) != DSQL_OK)
		return rc;
	if (!cb)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "callback is NULL");
	if (from < 0 || to < DSQL_LATEST)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': version %lld is negative", table,
		                      (long long)(from < 0 ? from : to));
	if (to != DSQL_LATEST && from > to)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': the range %lld..%lld is empty (from is after to)",
		                      table, (long long)from, (long long)to);
	if ((rc = db_begin(cat->db, DSQL_BEGIN_READ, err)) != DSQL_OK)
		return rc;
	rc = changes_in_txn(out, cat, table, from, to, cb, payload, err);
	return end_read(cat, rc, err);
}

int dsql_changes_after(int64_t *out, dsql_catalog *cat, const char *table, int64_t after,
                       dsql_history_cb cb, void *payload, dsql_error *err)
{
	int rc;

	if ((rc = check_args(cat, table, err)) != DSQL_OK)
		return rc;
	if (!cb)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "callback is NULL");
	if (after < DSQL_LATEST)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': version %lld is below -1", table, (long long)after);
	if ((rc = db_begin(cat->db, DSQL_BEGIN_READ, err)) != DSQL_OK)
		return rc;
	rc = after_in_txn(out, cat, table, after, cb, payload, err);
	return end_read(cat, rc, err);
}
