/*
 * The commit protocol. One attempt is one short database transaction:
 *
 *   1. lock every table's version row in id order (two multi-table commits
 *      cannot deadlock), then read its version and last commit time: read
 *      after lock, so that a winner that committed meanwhile is always
 *      seen; the transaction's one commit time follows every table's last;
 *   2. journal row: its primary key makes a replayed transaction id collide
 *      before anything is judged, and its presence later proves the commit
 *      happened;
 *   3. check for conflicts with the winners (conflict.c), rebase when the
 *      rules allow, and validate against the rules of the version the
 *      commit lands on;
 *   4. write each table's next version with a compare-and-swap on its
 *      version row, plus its commit, action and file-index rows;
 *   5. COMMIT: every table becomes visible at once, or none.
 *
 * Transient failures (busy, serialization failure, deadlock, a connection
 * lost before COMMIT) roll the attempt back and retry it with backoff. A
 * connection lost during COMMIT is resolved through the journal.
 */
#include "batch.h"
#include "conflict.h"
#include "partition.h"
#include "protocol.h"
#include "publish.h"
#include "txn_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENGINE_INFO "deltasql/" DSQL_VERSION_STRING

/* Internal: write_table's compare-and-swap found that the table moved
 * (only where the driver runs statements at once: nothing of the table is
 * written yet, and the attempt can go on reading under locks). */
#define TABLE_MOVED 200
/* Internal: going on under locks after TABLE_MOVED, a table turned out to
 * have a commit as late as the time the tables before it were written
 * with: the attempt is rolled back and made again under locks, which reads
 * every table's time before writing any. */
#define TIME_BEHIND 201

/* What one table's commit looks like, from its staged actions. */
typedef struct commit_shape {
	int64_t adds, removes;
	int has_metadata, has_protocol, has_commit_info;
	int data_change; /* any add/remove with dataChange */
	const char *operation;
} commit_shape;

static void shape_of(const txn_table *t, commit_shape *s)
{
	const action *ci = NULL;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < t->n_actions; i++) {
		const action *a = &t->actions[i];

		switch (a->kind) {
		case ACT_ADD: s->adds++; s->data_change |= a->data_change; break;
		case ACT_REMOVE: s->removes++; s->data_change |= a->data_change; break;
		case ACT_METADATA: s->has_metadata = 1; break;
		case ACT_PROTOCOL: s->has_protocol = 1; break;
		case ACT_COMMITINFO: s->has_commit_info = 1; ci = a; break;
		default: break;
		}
	}
	if (ci && json_is_string(json_object_get(ci->body, "operation")))
		s->operation = json_string_value(json_object_get(ci->body, "operation"));
	else if (t->creating)
		s->operation = "CREATE TABLE";
	else if ((s->adds || s->removes) && !s->data_change)
		s->operation = "OPTIMIZE";
	else if (s->removes && !s->adds)
		s->operation = "DELETE";
	else if (s->adds || s->removes)
		s->operation = "WRITE";
	else if (s->has_metadata || s->has_protocol)
		s->operation = "SET TBLPROPERTIES";
	else
		s->operation = "WRITE";
}

static int shape_is_blind_append(const commit_shape *s, const txn_table *t)
{
	return s->adds > 0 && s->removes == 0 && !s->has_metadata && !s->has_protocol &&
	       !conflict_has_read_set(t);
}

static int run_done(db_stmt *st, dsql_error *err, int rc)
{
	(void)st;
	(void)err;
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

/* --- the journal (step 2) --- */

static int insert_journal(dsql_txn *txn, dsql_db *db, dsql_error *err)
{
	db_stmt *st;
	int rc = db_stmt_get(&st, db,
	                     "INSERT INTO dsql_transaction (txn_id, state, isolation, commit_ms,"
	                     " n_tables, attempts, wait_us) VALUES (?, 'committed', ?, ?, ?, ?, ?)",
	                     err);

	if (rc != DSQL_OK)
		return rc;
	/* attempts and the wait before this attempt: what deltasql stats reads */
	return db_run_deferred(st, -1, err, "ttiiii", txn->id, dsql_isolation_name(txn->isolation),
	                       txn->commit_ms, (int64_t)txn->n_tables, (int64_t)txn->attempts,
	                       txn->attempt_start_us - txn->commit_start_us);
}

/* Looks the transaction id up in the journal; when present, fills every
 * table's committed version and sets *found. */
static int lookup_journal(dsql_txn *txn, int *found, dsql_error *err)
{
	dsql_db *db = txn->cat->db;
	db_stmt *st;
	int rc;

	*found = 0;
	rc = db_stmt_get(&st, db, "SELECT state FROM dsql_transaction WHERE txn_id = ?", err);
	if (rc != DSQL_OK)
		return rc;
	rc = db_run(st, err, "t", txn->id);
	db_stmt_done(st);
	if (rc == DSQL_DONE)
		return DSQL_OK;
	if (rc != DSQL_ROW)
		return rc;
	*found = 1;
	rc = db_stmt_get(&st, db,
	                 "SELECT t.name, c.version FROM dsql_commit c"
	                 " JOIN dsql_table t ON t.id = c.table_id WHERE c.txn_id = ?",
	                 err);
	if (rc != DSQL_OK)
		return rc;
	for (rc = db_run(st, err, "t", txn->id); rc == DSQL_ROW; rc = db_step(st, err)) {
		txn_table *t = txn_find(txn, db_column_text(st, 0, NULL));

		if (t)
			t->committed_version = db_column_int64(st, 1);
	}
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

/* --- step 1: lock and read each table's version --- */

static int create_table_row(dsql_txn *txn, txn_table *t, dsql_error *err)
{
	dsql_db *db = txn->cat->db;
	db_stmt *st;
	int rc;

	rc = db_stmt_get(&st, db,
	                 "UPDATE dsql_sequence SET value = value + 1 WHERE name = 'table_id'", err);
	if (rc != DSQL_OK || (rc = run_done(st, err, db_run(st, err, ""))) != DSQL_OK)
		return rc;
	rc = db_stmt_get(&st, db, "SELECT value FROM dsql_sequence WHERE name = 'table_id'", err);
	if (rc != DSQL_OK)
		return rc;
	rc = db_run(st, err, "");
	if (rc != DSQL_ROW)
		return rc == DSQL_DONE ? dsql_error_set(err, DSQL_EDB, NULL, NULL, 0,
		                                        "catalog has no table id sequence")
		                       : rc;
	t->id = db_column_int64(st, 0);
	db_stmt_done(st);
	rc = db_stmt_get(&st, db,
	                 "INSERT INTO dsql_table (id, name, uuid, location, version,"
	                 " last_commit_ms, created_ms) VALUES (?, ?, ?, ?, -1, 0, ?)",
	                 err);
	if (rc != DSQL_OK)
		return rc;
	rc = db_run(st, err, "ittti", t->id, t->name, t->uuid, t->location, util_now_ms());
	if (rc == DSQL_EEXISTS)
		return dsql_error_set(err, DSQL_EEXISTS, NULL, NULL, 0, "table '%s' already exists",
		                      t->name);
	return run_done(st, err, rc);
}

/* The versions of the table's latest metaData and protocol actions, read
 * with the lock (an index probe each): a hint's metadata and protocol stay
 * valid across versions that did not change them. */
#define METADATA_AT                                                                       \
	", (SELECT MAX(a.version) FROM dsql_action a WHERE a.table_id = dsql_table.id"     \
	" AND a.kind = 'metaData')"                                                        \
	", (SELECT MAX(a.version) FROM dsql_action a WHERE a.table_id = dsql_table.id"     \
	" AND a.kind = 'protocol')"

static int lock_table(dsql_db *db, txn_table *t, int64_t *version, int64_t *last_ms,
                      int64_t *oldest, int64_t *metadata_at, int64_t *protocol_at,
                      dsql_error *err)
{
	const db_choices *c = db_choose(db);
	db_stmt *st;
	int rc;

	/* A no-op update takes the row's write lock on every database with
	 * row locks; after it, reads see the latest committed version. In a
	 * database whose writers are serialised (SQLite) the write transaction
	 * holds every writer off from its start, so lock and read can be one
	 * statement (RETURNING). Elsewhere the read must be a statement of its own: at
	 * READ COMMITTED an UPDATE that waited for the lock sees the row as the
	 * winner left it, but its sub-queries (the latest metaData) still read
	 * the snapshot taken before the wait, which misses the winner's
	 * actions. Where statements are queued the two are still one round
	 * trip. Where UPDATE counts changed rows (the no-op changes none), the
	 * read alone tells a dropped table. */
	if (c->lock_returning) {
		rc = db_stmt_get(&st, db,
		                 "UPDATE dsql_table SET version = version WHERE id = ?"
		                 " RETURNING version, last_commit_ms, oldest_version" METADATA_AT,
		                 err);
		if (rc == DSQL_OK)
			rc = db_run(st, err, "i", t->id);
	} else {
		rc = db_stmt_get(&st, db, "UPDATE dsql_table SET version = version WHERE id = ?",
		                 err);
		if (rc == DSQL_OK && c->deferred) {
			/* A dropped table: no row to read below. */
			rc = db_run_deferred(st, -1, err, "i", t->id);
		} else if (rc == DSQL_OK &&
		           (rc = run_done(st, err, db_run(st, err, "i", t->id))) == DSQL_OK &&
		           !c->counts_changed && db_changes(st) == 0) {
			rc = DSQL_DONE;
		}
		if (rc == DSQL_OK)
			rc = db_stmt_get(&st, db,
			                 "SELECT version, last_commit_ms, oldest_version" METADATA_AT
			                 " FROM dsql_table WHERE id = ?",
			                 err);
		if (rc == DSQL_OK)
			rc = db_run(st, err, "i", t->id);
	}
	if (rc != DSQL_ROW)
		return rc == DSQL_DONE ? dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                                        "table '%s' was dropped", t->name)
		                       : rc;
	*version = db_column_int64(st, 0);
	*last_ms = db_column_int64(st, 1);
	*oldest = db_column_int64(st, 2);
	*metadata_at = db_column_is_null(st, 3) ? -1 : db_column_int64(st, 3);
	*protocol_at = db_column_is_null(st, 4) ? -1 : db_column_int64(st, 4);
	db_stmt_done(st);
	return DSQL_OK;
}

/* --- step 3: validation against the rules of the landing version --- */

/* Whether the file is live at version: added at or before it and not
 * removed by then. Two arms, live now or removed since, so that neither
 * has an OR: with "removed_version IS NULL OR removed_version > ?" the
 * live-file index could match on table_id alone, and PostgreSQL, planning
 * on an empty file index, took that walk over every file of the table. */
static int file_live_at(dsql_db *db, const txn_table *t, const action *a, int64_t version,
                        int *live, dsql_error *err)
{
	db_stmt *st;
	int rc = db_stmt_get(&st, db,
	                     "SELECT COUNT(*) FROM (SELECT 1 AS one FROM dsql_file WHERE table_id = ?"
	                     " AND removed_version IS NULL AND path = ? AND dv_id = ?"
	                     " AND added_version <= ?"
	                     " UNION ALL SELECT 1 FROM dsql_file WHERE table_id = ?"
	                     " AND removed_version > ? AND path = ? AND dv_id = ?"
	                     " AND added_version <= ?) live",
	                     err);

	if (rc != DSQL_OK)
		return rc;
	rc = db_run(st, err, "ittiiitti", t->id, a->path, a->dv_id, version, t->id, version,
	            a->path, a->dv_id, version);
	if (rc != DSQL_ROW)
		return rc == DSQL_DONE ? DSQL_ERROR : rc;
	*live = db_column_int64(st, 0) > 0;
	db_stmt_done(st);
	return DSQL_OK;
}

/* The action of kind staged in this commit, or NULL. */
static json_t *staged_body(const txn_table *t, action_kind kind)
{
	for (size_t i = 0; i < t->n_actions; i++)
		if (t->actions[i].kind == kind)
			return t->actions[i].body;
	return NULL;
}

/* The metaData and the protocol in force at version at (the version the
 * commit lands on): from the handle's hint when it is at that version and
 * knows them, else read and kept in the hint. */
static int in_force_at(dsql_catalog *cat, const txn_table *t, int64_t at, table_hint *h,
                       int want_metadata, json_t **metadata, json_t **protocol,
                       dsql_error *err)
{
	int64_t set_at;
	int rc = DSQL_OK;

	*metadata = h && h->metadata ? json_incref(h->metadata) : NULL;
	*protocol = h && h->protocol ? json_incref(h->protocol) : NULL;
	if (!*metadata && want_metadata) {
		rc = catalog_metadata_at(cat->db, t->id, at, metadata, &set_at, err);
		if (rc == DSQL_OK && h && *metadata)
			hint_set_metadata(h, json_incref(*metadata), set_at);
	}
	if (rc == DSQL_OK && !*protocol) {
		rc = catalog_protocol_at(cat->db, t->id, at, protocol, &set_at, err);
		if (rc == DSQL_OK && h && *protocol)
			hint_set_protocol(h, json_incref(*protocol), set_at);
	}
	return rc;
}

/* The rules a commit's actions are checked against: the metaData and the
 * protocol staged in this commit, else those in force at version at, the
 * version the commit lands on (not the one it read: a winner may have made
 * the table append-only, or changed its protocol). Made once per hint. */
static int rules_for(dsql_catalog *cat, const txn_table *t, int64_t at, table_rules *out,
                     dsql_error *err)
{
	json_t *md = staged_body(t, ACT_METADATA), *pr = staged_body(t, ACT_PROTOCOL);
	json_t *md_now = NULL, *pr_now = NULL;
	table_hint *h;
	int rc;

	if (t->creating)
		return rules_from(out, md, pr, err);
	h = hint_by_id(cat, t->id);
	if (h && h->version != at)
		h = NULL;
	if (h && !md && !pr && h->metadata && h->protocol)
		return rules_of_hint(out, h, err);
	rc = in_force_at(cat, t, at, h, !md, &md_now, &pr_now, err);
	if (rc == DSQL_OK && h && !md && !pr && h->metadata && h->protocol)
		rc = rules_of_hint(out, h, err);
	else if (rc == DSQL_OK)
		rc = rules_from(out, md ? md : md_now, pr ? pr : pr_now, err);
	json_decref(md_now);
	json_decref(pr_now);
	return rc;
}

/* An add (or a cdc file) carries a value for each partition column and
 * no other; made through deltasql (not imported), each value must read as
 * its column's type. */
static int check_partition_values(const dsql_txn *txn, const txn_table *t, const action *a,
                                  const table_rules *r, dsql_error *err)
{
	const char *value;
	json_t *key;
	size_t i;

	json_array_foreach(r->keys, i, key) {
		const char *column = json_string_value(json_array_get(r->columns, i));
		const char *type = json_string_value(json_array_get(r->types, i));

		if (!action_partition_value(a, json_string_value(key), &value))
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "table '%s': %s of '%s' lacks a value for partition "
			                      "column '%s'", t->name, action_kind_name(a->kind),
			                      a->path, column);
		if (!txn->importing && !partition_value_ok(type, value))
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "table '%s': %s of '%s': partition value '%.64s' of "
			                      "column '%s' is not a valid %s", t->name,
			                      action_kind_name(a->kind), a->path, value, column, type);
	}
	if (action_partition_value_count(a) != json_array_size(r->keys))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': %s of '%s' has partition values for columns "
		                      "the table is not partitioned by", t->name,
		                      action_kind_name(a->kind), a->path);
	return DSQL_OK;
}

/* Read predicates may only name partition columns: only those are known
 * for every file without reading it. */
static int check_predicates(const txn_table *t, const table_rules *r, dsql_error *err)
{
	json_t *pred, *v, *c;
	const char *col;
	size_t i, j;

	json_array_foreach(t->read_predicates, i, pred) {
		json_object_foreach(pred, col, v) {
			int found = 0;

			json_array_foreach(r->columns, j, c)
				found |= strcmp(json_string_value(c), col) == 0;
			if (!found)
				return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
				                      "table '%s': read predicate on '%s', which is not a "
				                      "partition column", t->name, col);
		}
	}
	return DSQL_OK;
}

/* The protocol in force (or staged) must be one this library writes:
 * keeping a feature's actions without doing what it asks of writers would
 * corrupt the table for every engine that does. Reads are not affected. */
static int check_writable(const txn_table *t, const table_rules *r, dsql_error *err)
{
	dsql_error why;

	if (r->writable)
		return DSQL_OK;
	protocol_check(r->protocol, 1, &why);
	return dsql_error_set(err, DSQL_EUNSUPPORTED, NULL, NULL, 0,
	                      "table '%s' has a protocol this library cannot write: %s (reading "
	                      "it still works)", t->name, why.message);
}

/* Whether a partitionColumns array names column. */
static int lists_column(json_t *columns, const char *column)
{
	json_t *c;
	size_t i;

	json_array_foreach(columns, i, c)
		if (json_is_string(c) && strcmp(json_string_value(c), column) == 0)
			return 1;
	return 0;
}

/* The live file's partition values lack one of the new columns' keys
 * (index i of r->keys: its key under column mapping); *missing: its name. */
static int lacks_new_column(const table_rules *r, json_t *before, const char *body,
                            const char **missing)
{
	json_t *add = json_loads(body, 0, NULL), *values = json_object_get(add, "partitionValues");
	json_t *col;
	size_t i;

	*missing = NULL;
	json_array_foreach(r->columns, i, col) {
		const char *key = json_string_value(json_array_get(r->keys, i));

		if (!lists_column(before, json_string_value(col)) && key &&
		    !json_object_get(values, key)) {
			*missing = json_string_value(col);
			break;
		}
	}
	json_decref(add);
	return *missing != NULL;
}

/* A staged metaData that adds a partition column (rules: made from it)
 * needs a value for it in every file that stays live at version at (the
 * version the commit lands on): files written before carry none. Only
 * commits that change the partitioning read the live files. */
static int check_new_partition_columns(dsql_db *db, const txn_table *t, const table_rules *r,
                                       int64_t at, dsql_error *err)
{
	json_t *before_md = NULL, *before, *removed = NULL, *col;
	const char *missing = NULL;
	db_stmt *st;
	size_t i;
	int rc = catalog_metadata_at(db, t->id, at, &before_md, NULL, err), added = 0;

	before = json_object_get(before_md, "partitionColumns");
	json_array_foreach(r->columns, i, col)
		added |= !lists_column(before, json_string_value(col));
	if (rc != DSQL_OK || !added)
		goto out;
	removed = json_object();
	for (size_t k = 0; removed && k < t->n_actions; k++)
		if (t->actions[k].kind == ACT_REMOVE)
			json_object_set_new(removed, t->actions[k].path, json_true());
	rc = db_stmt_get(&st, db,
	                 "SELECT path, body FROM dsql_file WHERE table_id = ?"
	                 " AND removed_version IS NULL",
	                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "i", t->id);
	for (; rc == DSQL_ROW; rc = db_step(st, err)) {
		const char *path = db_column_text(st, 0, NULL);

		if (json_object_get(removed, path) ||
		    !lacks_new_column(r, before, db_column_text(st, 1, NULL), &missing))
			continue;
		rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                    "table '%s': the metaData adds partition column '%s', but live "
		                    "file '%s' has no value for it (remove or rewrite the files in "
		                    "the same commit)", t->name, missing, path);
		db_stmt_done(st);
		break;
	}
	if (rc == DSQL_DONE)
		rc = DSQL_OK;
out:
	json_decref(removed);
	json_decref(before_md);
	return rc;
}

/* Checks the staged actions against the table's rules at version at, the
 * version the commit lands on. check_live: look each removed file up at
 * the read version (the conflict rules cover the winners since; without
 * it, the commit asserts instead that every remove unlinks one live file). */
static int validate_table(dsql_db *db, const dsql_txn *txn, const txn_table *t,
                          const table_rules *rules, int check_live, int64_t at,
                          dsql_error *err)
{
	int rc = DSQL_OK, have_protocol = 0, live = 0;

	if (!txn->importing)
		rc = check_writable(t, rules, err);
	if (rc == DSQL_OK && t->read_predicates)
		rc = check_predicates(t, rules, err);
	for (size_t i = 0; i < t->n_actions && rc == DSQL_OK; i++) {
		const action *a = &t->actions[i];

		have_protocol |= a->kind == ACT_PROTOCOL;
		if (a->kind == ACT_PROTOCOL && !txn->importing &&
		    (rc = protocol_check(a->body, 1, err)) != DSQL_OK)
			break;
		if (a->kind == ACT_REMOVE && txn->importing) {
			continue;
		} else if (a->kind == ACT_REMOVE) {
			live = !t->creating;
			if (!t->creating && check_live)
				rc = file_live_at(db, t, a, t->read_version, &live, err);
			if (rc == DSQL_OK && !live)
				rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
				                    "table '%s': cannot remove '%s': it is not a live "
				                    "file at version %lld", t->name, a->path,
				                    (long long)t->read_version);
			else if (rc == DSQL_OK && a->data_change && rules->append_only)
				rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
				                    "table '%s' is append-only (delta.appendOnly): cannot "
				                    "remove '%s' with dataChange", t->name, a->path);
		} else if ((a->kind == ACT_ADD || (a->kind == ACT_CDC && !txn->importing)) &&
		           rules->metadata) {
			rc = check_partition_values(txn, t, a, rules, err);
		}
		if (rc == DSQL_OK && a->kind == ACT_ADD && a->dv_id[0] && !rules->dv_allowed &&
		    !txn->importing)
			rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                    "table '%s': add of '%s' carries a deletion vector, but the "
			                    "table's protocol lacks the writer feature "
			                    "'deletionVectors'", t->name, a->path);
	}
	if (rc == DSQL_OK && t->creating && (!rules->metadata || !have_protocol))
		rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                    "table '%s': version 0 needs a protocol and a metaData "
		                    "action", t->name);
	if (rc == DSQL_OK && !t->creating && !txn->importing && staged_body(t, ACT_METADATA) &&
	    json_array_size(rules->columns) > 0)
		rc = check_new_partition_columns(db, t, rules, at, err);
	return rc;
}

/* --- step 4: writing a table's next version --- */

/* The commitInfo deltasql writes when none was staged, written directly,
 * as jansson would write the same object (compact, keys in this order):
 * building and dumping a tree cost more than the rest of a table's commit
 * on the client. */
static char *generated_commit_info(const dsql_txn *txn, const txn_table *t,
                                   const commit_shape *s, int64_t ts)
{
	size_t cap = 256 + 6 * (strlen(s->operation) + strlen(txn->id) + strlen(ENGINE_INFO));
	char *out = malloc(cap), *p = out;

	if (!out)
		return NULL;
	p += sprintf(p, "{\"commitInfo\":{\"operation\":");
	p += action_json_string(p, s->operation);
	p += sprintf(p, ",\"operationParameters\":{},\"isolationLevel\":\"%s\",\"isBlindAppend\":%s,"
	             "\"engineInfo\":",
	             txn_isolation_delta_name(txn->isolation), shape_is_blind_append(s, t) ? "true" : "false");
	p += action_json_string(p, ENGINE_INFO);
	p += sprintf(p, ",\"timestamp\":%lld,\"txnId\":", (long long)ts);
	p += action_json_string(p, txn->id);
	if (!t->creating)
		p += sprintf(p, ",\"readVersion\":%lld", (long long)t->read_version);
	memcpy(p, "}}", 3);
	return out;
}

/* The commitInfo line: the staged one (verbatim, or with the keys deltasql
 * adds where it lacks them), else the generated one. */
static char *commit_info_text(const dsql_txn *txn, const txn_table *t,
                              const commit_shape *s, int64_t ts)
{
	json_t *body = NULL, *line;
	char *text;

	for (size_t i = 0; i < t->n_actions; i++)
		if (t->actions[i].kind == ACT_COMMITINFO) {
			if (txn->verbatim)
				return strdup(t->actions[i].text);
			body = json_copy(t->actions[i].body);
		}
	if (!body)
		return generated_commit_info(txn, t, s, ts);
	if (!json_object_get(body, "timestamp"))
		json_object_set_new(body, "timestamp", json_integer(ts));
	if (!json_object_get(body, "txnId"))
		json_object_set_new(body, "txnId", json_string(txn->id));
	if (!t->creating && !json_object_get(body, "readVersion"))
		json_object_set_new(body, "readVersion", json_integer(t->read_version));
	line = json_pack("{s:o}", "commitInfo", body);
	text = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	return text;
}

static int index_app_txn(dsql_db *db, const txn_table *t, const action *a, int64_t version,
                         dsql_error *err)
{
	json_t *lu = json_object_get(a->body, "lastUpdated");
	db_stmt *st;
	int rc;

	if (a->kind == ACT_TXN) {
		rc = db_stmt_get(&st, db,
		                 "INSERT INTO dsql_app_txn (table_id, app_id, commit_version, version,"
		                 " last_updated) VALUES (?, ?, ?, ?, ?)",
		                 err);
		if (rc != DSQL_OK)
			return rc;
		if (json_is_integer(lu))
			return db_run_deferred(st, -1, err, "itiii", t->id, a->app_id, version,
			                       a->app_version, (int64_t)json_integer_value(lu));
		return db_run_deferred(st, -1, err, "itiin", t->id, a->app_id, version,
		                       a->app_version);
	}
	rc = db_stmt_get(&st, db,
	                 "INSERT INTO dsql_domain (table_id, domain, commit_version, configuration,"
	                 " removed) VALUES (?, ?, ?, ?, ?)",
	                 err);
	if (rc != DSQL_OK)
		return rc;
	return db_run_deferred(st, -1, err, "ititi", t->id, a->domain, version,
	                       json_string_value(json_object_get(a->body, "configuration")),
	                       (int64_t)a->domain_removed);
}

/* The rows of one table's commit, for the batch binders. The texts are
 * borrowed from the staged actions, except the generated commitInfo. */
typedef struct rows {
	const txn_table *t;
	int64_t version;
	size_t n;
	const action **actions; /* NULL entry: the generated commitInfo */
	const char **texts;     /* the action line, or the add body for files */
	size_t *lens;
	char *owned;            /* the generated commitInfo */
} rows;

static void rows_free(rows *r)
{
	free(r->owned);
	free(r->texts);
	free(r->lens);
	free(r->actions);
}

static int rows_alloc(rows *r, const txn_table *t, int64_t version, size_t cap,
                      dsql_error *err)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	r->version = version;
	r->actions = calloc(cap ? cap : 1, sizeof(*r->actions));
	r->texts = calloc(cap ? cap : 1, sizeof(*r->texts));
	r->lens = calloc(cap ? cap : 1, sizeof(*r->lens));
	if (!r->actions || !r->texts || !r->lens) {
		rows_free(r);
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	}
	return DSQL_OK;
}

static int bind_action_row(db_stmt *st, int p, size_t i, void *ctx, dsql_error *err)
{
	const rows *r = ctx;
	const char *kind = r->actions[i] ? action_kind_name(r->actions[i]->kind) : "commitInfo";
	int rc = db_bind(st, p, DSQL_TYPE_INT64, r->t->id, 0, NULL, 0, err);

	if (rc == DSQL_OK)
		rc = db_bind(st, p + 1, DSQL_TYPE_INT64, r->version, 0, NULL, 0, err);
	if (rc == DSQL_OK)
		rc = db_bind(st, p + 2, DSQL_TYPE_INT64, (int64_t)i, 0, NULL, 0, err);
	if (rc == DSQL_OK)
		rc = db_bind(st, p + 3, DSQL_TYPE_TEXT, 0, 0, kind, strlen(kind), err);
	if (rc == DSQL_OK)
		rc = db_bind(st, p + 4, DSQL_TYPE_TEXT, 0, 0, r->texts[i], r->lens[i], err);
	return rc;
}

static int bind_file_key(db_stmt *st, int p, size_t i, void *ctx, dsql_error *err)
{
	const action *a = ((const rows *)ctx)->actions[i];
	int rc;

	if (p < 0) /* the IN list: the path alone */
		return db_bind(st, -p, DSQL_TYPE_TEXT, 0, 0, a->path, strlen(a->path), err);
	rc = db_bind(st, p, DSQL_TYPE_TEXT, 0, 0, a->path, strlen(a->path), err);

	return rc ? rc : db_bind(st, p + 1, DSQL_TYPE_TEXT, 0, 0, a->dv_id, strlen(a->dv_id), err);
}

static int bind_file_row(db_stmt *st, int p, size_t i, void *ctx, dsql_error *err)
{
	const rows *r = ctx;
	const action *a = r->actions[i];
	int rc = db_bind(st, p, DSQL_TYPE_INT64, r->t->id, 0, NULL, 0, err);

	if (rc == DSQL_OK)
		rc = db_bind(st, p + 1, DSQL_TYPE_TEXT, 0, 0, a->path, strlen(a->path), err);
	if (rc == DSQL_OK)
		rc = db_bind(st, p + 2, DSQL_TYPE_TEXT, 0, 0, a->dv_id, strlen(a->dv_id), err);
	if (rc == DSQL_OK)
		rc = db_bind(st, p + 3, DSQL_TYPE_INT64, r->version, 0, NULL, 0, err);
	if (rc == DSQL_OK)
		rc = db_bind(st, p + 4, DSQL_TYPE_INT64, a->size, 0, NULL, 0, err);
	if (rc == DSQL_OK)
		rc = db_bind(st, p + 5, DSQL_TYPE_TEXT, 0, 0, r->texts[i], r->lens[i], err);
	return rc;
}

/* Every action verbatim, in staged order, commitInfo first (seq 0) as
 * Delta writers put it. */
static int write_actions(dsql_txn *txn, const txn_table *t, const commit_shape *s,
                         int64_t version, int64_t ts, dsql_error *err)
{
	rows r;
	int rc = rows_alloc(&r, t, version, t->n_actions + 1, err);

	if (rc != DSQL_OK)
		return rc;
	if (!txn->verbatim || s->has_commit_info) {
		if (!(r.owned = commit_info_text(txn, t, s, ts)))
			rc = dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		r.texts[r.n] = r.owned;
		r.lens[r.n] = r.owned ? strlen(r.owned) : 0;
		r.actions[r.n++] = NULL;
	}
	for (size_t i = 0; i < t->n_actions; i++) {
		if (t->actions[i].kind == ACT_COMMITINFO)
			continue;
		r.actions[r.n] = &t->actions[i];
		r.texts[r.n] = action_line(&t->actions[i], &r.lens[r.n]);
		r.n++;
	}
	if (rc == DSQL_OK)
		rc = batch_run(txn->cat, BATCH_ACTION, r.n, 0, 0, bind_action_row, &r, 0, err);
	rows_free(&r);
	return rc;
}

/* Whether an attempt unlinks the live files its adds replace. Not where
 * the live-file key is unique (schema.c): there an add that replaces a
 * live file fails the attempt on the key, and the commit is attempted once
 * more with the unlinks (attempt_best). Adds almost never replace a file,
 * and the unlink costs every commit a statement (or, where statements run
 * at once, a look-up) inside the table's lock. An import always unlinks:
 * old logs re-add live files. */
static int unlinks_adds(const dsql_txn *txn)
{
	return !txn->cat->live_key_unique || txn->importing || txn->replacing;
}

/* Adds of files that are live already replace them. Where statements run
 * one at a time (SQLite in the process, any driver that does not defer
 * them) the live ones are looked up first, one read of exact probes for
 * many files, and only those are unlinked: an add almost never replaces a
 * file, and an UPDATE that changes nothing costs SQLite as much as one
 * that does. Where statements are queued (PostgreSQL), the look-up would
 * cost a round trip of its own: the adds are unlinked instead, in the same
 * round trip as the rest (one statement per table where rows have ids,
 * else one per add; see batch.c). Neither is needed where the live-file
 * key is unique (unlinks_adds). */
static int unlink_replaced(dsql_catalog *cat, const txn_table *t, int64_t version,
                           const rows *adds, dsql_error *err)
{
	unsigned char *live;
	size_t n_live = 0;
	rows replaced;
	int rc;

	if (adds->n == 0)
		return DSQL_OK;
	live = calloc(adds->n, 1);
	if (!live)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	rc = batch_find_live(cat, t->id, adds->actions, adds->n, live, err);
	for (size_t i = 0; rc == DSQL_OK && i < adds->n; i++)
		n_live += live[i];
	/* Almost always none: then nothing more to allocate or run. */
	if (rc == DSQL_OK && n_live > 0)
		rc = rows_alloc(&replaced, t, version, n_live, err);
	if (rc == DSQL_OK && n_live > 0) {
		for (size_t i = 0; i < adds->n; i++)
			if (live[i])
				replaced.actions[replaced.n++] = adds->actions[i];
		/* Not asserted one each: under the table's lock nothing else
		 * unlinks them, and a file live twice (a catalog written by hand)
		 * is unlinked twice, as where statements are queued. */
		rc = batch_run(cat, BATCH_UNLINK, replaced.n, version, t->id, bind_file_key, &replaced,
		               0, err);
		rows_free(&replaced);
	}
	free(live);
	return rc;
}

/* The file index: removes first (so that remove(p) + add(p) leaves p live),
 * then adds, each replacing a live file of the same key (Delta's
 * reconciliation: the last action wins). Each remove must unlink exactly
 * one live file: validation proved it, or (on a commit built on a hint)
 * the assertion is the proof. */
static int write_file_index(dsql_catalog *cat, const dsql_txn *txn, const txn_table *t,
                            int64_t version, dsql_error *err)
{
	int unlink_adds = unlinks_adds(txn);
	rows removes, adds;
	int rc = rows_alloc(&removes, t, version, t->n_actions, err);

	if (rc != DSQL_OK)
		return rc;
	rc = rows_alloc(&adds, t, version, t->n_actions, err);
	if (rc != DSQL_OK) {
		rows_free(&removes);
		return rc;
	}
	for (size_t i = 0; i < t->n_actions; i++) {
		const action *a = &t->actions[i];

		if (a->kind == ACT_REMOVE) {
			removes.actions[removes.n++] = a;
		} else if (a->kind == ACT_ADD) {
			adds.actions[adds.n] = a;
			adds.texts[adds.n] = action_body(a, &adds.lens[adds.n]);
			adds.n++;
		}
	}
	rc = batch_run(cat, BATCH_UNLINK, removes.n, version, t->id, bind_file_key, &removes,
	               !txn->importing, err);
	if (rc == DSQL_OK && unlink_adds && !db_choose(cat->db)->deferred)
		rc = unlink_replaced(cat, t, version, &adds, err);
	else if (rc == DSQL_OK && unlink_adds)
		rc = batch_run(cat, BATCH_UNLINK, adds.n, version, t->id, bind_file_key, &adds, 0,
		               err);
	if (rc == DSQL_OK)
		rc = batch_run(cat, BATCH_FILE, adds.n, 0, 0, bind_file_row, &adds, 0, err);
	rows_free(&removes);
	rows_free(&adds);
	return rc;
}

/* Writes version current + 1. Every statement is deferred (db_defer): on a
 * driver that queues them, they travel with the COMMIT. The version
 * compare-and-swap asserts one changed row, so a commit built on a stale
 * hint fails instead of writing. */
static int write_table(dsql_txn *txn, txn_table *t, int64_t current, dsql_error *err)
{
	dsql_db *db = txn->cat->db;
	int64_t version = current + 1, ts = txn->commit_ms;
	commit_shape s;
	db_stmt *st;
	int rc;

	shape_of(t, &s);
	/* An import moves the table's row once, after its last version
	 * (import_finish): no other writer can see the row before. */
	rc = txn->importing ? DSQL_OK
	                    : db_stmt_get(&st, db,
	                                  "UPDATE dsql_table SET version = ?, last_commit_ms = ?"
	                                  " WHERE id = ? AND version = ?",
	                                  err);
	if (rc == DSQL_OK && !txn->importing)
		rc = db_run_deferred(st, 1, err, "iiii", version, ts, t->id, current);
	if (rc == DSQL_ERETRY && !db_choose(db)->deferred)
		return TABLE_MOVED;
	if (rc != DSQL_OK)
		return rc;
	rc = db_stmt_get(&st, db,
	                 "INSERT INTO dsql_commit (table_id, version, txn_id, commit_ms, operation,"
	                 " n_adds, n_removes, blind_append, data_change)"
	                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                 err);
	if (rc != DSQL_OK)
		return rc;
	rc = db_run_deferred(st, -1, err, "iititiiii", t->id, version, txn->id, ts, s.operation,
	                     s.adds, s.removes, (int64_t)shape_is_blind_append(&s, t),
	                     (int64_t)s.data_change);
	if (rc != DSQL_OK)
		return rc;
	rc = write_actions(txn, t, &s, version, ts, err);
	if (rc == DSQL_OK)
		rc = write_file_index(txn->cat, txn, t, version, err);
	for (size_t i = 0; i < t->n_actions && rc == DSQL_OK; i++)
		if (t->actions[i].kind == ACT_TXN || t->actions[i].kind == ACT_DOMAIN)
			rc = index_app_txn(db, t, &t->actions[i], version, err);
	if (rc == DSQL_OK) {
		t->committed_version = version;
		t->written_ms = ts;
	}
	return rc;
}

/* --- one attempt --- */

static int cmp_table_id(const void *a, const void *b)
{
	const txn_table *x = a, *y = b;

	/* Tables being created (id 0) go last: their ids come from the
	 * sequence, which is locked after every existing table. */
	if (x->creating != y->creating)
		return x->creating - y->creating;
	return (x->id > y->id) - (x->id < y->id);
}

/* Locks a table's row and reads its version (the table may have been
 * dropped and created again since the transaction named it: a table it
 * only appends to is then found again by name). */
static int lock_and_read(dsql_txn *txn, txn_table *t, int64_t *current, int64_t *last_ms,
                         int64_t *oldest, dsql_error *err)
{
	dsql_catalog *cat = txn->cat;
	int64_t metadata_at = -1, protocol_at = -1;
	int rc = lock_table(cat->db, t, current, last_ms, oldest, &metadata_at, &protocol_at, err);
	int contended;
	table_hint *h;

	if (rc == DSQL_ENOTFOUND) {
		hint_forget(cat, t->id);
		if (t->guessed && catalog_find_table(cat, t->name, &t->id, NULL, NULL) == DSQL_OK)
			rc = lock_table(cat->db, t, current, last_ms, oldest, &metadata_at,
			                &protocol_at, err);
	}
	if (rc != DSQL_OK)
		return rc;
	/* Another writer committed since this handle last looked: the next
	 * commit goes under locks at once rather than try its hint first. */
	h = hint_by_id(cat, t->id);
	contended = h && h->version != *current;
	hint_saw(cat, t->name, t->id, *current, *last_ms, metadata_at, protocol_at);
	if ((h = hint_by_id(cat, t->id)) != NULL)
		h->contended = contended;
	/* Staged adds alone read nothing: they read the version they commit on. */
	if (t->guessed)
		t->read_version = *current;
	return DSQL_OK;
}

/* Step 1 of the locked attempt for every table it writes, in id order,
 * before anything is written: the commit time depends on every table's
 * last one. */
static int lock_tables(dsql_txn *txn, dsql_error *err)
{
	int rc = DSQL_OK;

	for (size_t i = 0; i < txn->n_tables && rc == DSQL_OK; i++) {
		txn_table *t = &txn->tables[i];

		if (t->n_actions > 0 && !t->creating)
			rc = lock_and_read(txn, t, &t->lock_version, &t->lock_last_ms, &t->lock_oldest,
			                   err);
		t->locked = rc == DSQL_OK;
	}
	return rc;
}

/* The transaction's one commit time, the same in every table it writes
 * (time travel by timestamp sees all of it or none of it) and in the
 * journal: now (an import: the version's own time), but later than the
 * last commit of each table, so that a table's times never go backwards.
 * hinted: the tables' last times are the hints'. */
static int64_t commit_time(dsql_txn *txn, int hinted)
{
	int64_t ts = util_now_ms();

	for (size_t i = 0; i < txn->n_tables; i++) {
		const txn_table *t = &txn->tables[i];
		const table_hint *h;
		int64_t last = -1;

		if (t->commit_ms >= 0)
			ts = t->commit_ms;
		if (t->creating || t->n_actions == 0)
			continue;
		if (!hinted)
			last = t->lock_last_ms;
		else if ((h = hint_by_id(txn->cat, t->id)) != NULL)
			last = h->last_ms;
		if (ts <= last)
			ts = last + 1;
	}
	return ts;
}

/* One table's part of an attempt: lock and read (when lock_tables did
 * not), check conflicts with the winners since the read version,
 * validate, write. */
static int commit_table_locked(dsql_txn *txn, txn_table *t, dsql_error *err)
{
	dsql_db *db = txn->cat->db;
	int64_t current = -1;
	table_rules rules;
	int rc = DSQL_OK;

	if (t->creating) {
		rc = create_table_row(txn, t, err);
	} else if (!t->locked) {
		/* Locked late: the hinted attempt went on under locks here. */
		rc = lock_and_read(txn, t, &t->lock_version, &t->lock_last_ms, &t->lock_oldest,
		                   err);
		t->locked = rc == DSQL_OK;
		if (rc == DSQL_OK && t->lock_last_ms >= txn->commit_ms)
			return TIME_BEHIND;
	}
	if (!t->creating)
		current = t->lock_version;
	if (rc == DSQL_OK && !t->creating && t->read_version < t->lock_oldest)
		rc = conflict_expired(t, t->lock_oldest, err);
	if (rc == DSQL_OK && current != t->read_version)
		rc = conflict_check(txn->cat, txn, t, current, err);
	/* Rebased or not, the rules are those of the version it lands on. */
	if (rc != DSQL_OK || (rc = rules_for(txn->cat, t, current, &rules, err)) != DSQL_OK)
		return rc;
	rc = validate_table(db, txn, t, &rules, 1, current, err);
	rules_clear(&rules);
	if (rc == DSQL_OK)
		rc = write_table(txn, t, current, err);
	return rc;
}

/* A commit built on the handle's hints: when no other writer moved the
 * tables since, the read version is the latest, there are no winners to
 * check and nothing needs reading inside the transaction. The version
 * compare-and-swap and the removes assert what the locked path would
 * read; on a driver that defers statements the whole attempt is one round
 * trip. */
static int hinted_ready(dsql_txn *txn, dsql_error *err)
{
	size_t writes = 0;

	if (txn->n_sql || txn->prepare_only)
		return 0;
	for (size_t i = 0; i < txn->n_tables; i++) {
		txn_table *t = &txn->tables[i];
		table_rules rules;
		table_hint *h;
		int known;

		if (t->n_actions == 0 && !t->creating)
			continue;
		h = t->creating ? NULL : hint_by_id(txn->cat, t->id);
		if (!h || h->version != t->read_version || h->last_ms < 0 || h->contended)
			return 0;
		/* Reads the metadata into the hint now, outside the write
		 * transaction, when the hint does not hold it yet. */
		if (rules_for(txn->cat, t, t->read_version, &rules, err) != DSQL_OK)
			return 0;
		known = rules.metadata != NULL && rules.protocol != NULL;
		rules_clear(&rules);
		if (!known)
			return 0;
		writes++;
	}
	return writes > 0;
}

static int commit_table_hinted(dsql_txn *txn, txn_table *t, dsql_error *err)
{
	table_hint *h = hint_by_id(txn->cat, t->id);
	table_rules rules;
	int rc;

	if (!h)
		return dsql_error_set(err, DSQL_ERETRY, NULL, NULL, 0, "table '%s' is not known",
		                      t->name);
	rc = rules_for(txn->cat, t, t->read_version, &rules, err);
	if (rc != DSQL_OK)
		return rc;
	rc = validate_table(txn->cat->db, txn, t, &rules, 0, t->read_version, err);
	rules_clear(&rules);
	return rc == DSQL_OK ? write_table(txn, t, t->read_version, err) : rc;
}

static void log_hint_miss(const dsql_txn *txn, const char *table)
{
	if (LOG_WANTS(&txn->cat->log, DSQL_LOG_DEBUG)) {
		dsql_log_field f[] = {{"txn", txn->id}, {"table", table ? table : ""}};

		log_emit(&txn->cat->log, DSQL_LOG_DEBUG, DSQL_EVENT_HINT_MISS, f, LOG_N(f),
		         "the cheap try of %s missed%s%s; going on under locks", txn->id,
		         table ? ": moved table " : "", table ? table : "");
	}
}

/* One attempt; *hinted: built on the hints (cleared when the attempt went on
 * under locks after a table proved to have moved). */
static int attempt(dsql_txn *txn, int *hinted, dsql_error *err)
{
	dsql_db *db = txn->cat->db;
	int rc;

	for (size_t i = 0; i < txn->n_tables; i++) {
		txn->tables[i].committed_version = -1;
		txn->tables[i].locked = 0;
	}
	txn->attempt_start_us = util_monotonic_us();
	rc = db_begin(db, DSQL_BEGIN_WRITE, err);
	if (rc != DSQL_OK)
		return rc;
	/* The journal goes first (a replayed id collides before anything is
	 * judged); under locks it follows the locks, whose reads decide the
	 * commit time it records. */
	if (!*hinted)
		rc = lock_tables(txn, err);
	if (rc == DSQL_OK) {
		txn->commit_ms = commit_time(txn, *hinted);
		rc = insert_journal(txn, db, err);
	}
	for (size_t i = 0; i < txn->n_tables && rc == DSQL_OK; i++) {
		txn_table *t = &txn->tables[i];

		if (t->n_actions == 0 && !t->creating)
			continue; /* read only: nothing to lock or write */
		rc = *hinted ? commit_table_hinted(txn, t, err) : commit_table_locked(txn, t, err);
		if (rc == TABLE_MOVED && *hinted) {
			/* The tables before this one were as hinted; go on under locks. */
			*hinted = 0;
			txn->cat->metrics.hint_misses++;
			log_hint_miss(txn, t->name);
			rc = commit_table_locked(txn, t, err);
		}
		if (rc == TABLE_MOVED)
			rc = dsql_error_set(err, DSQL_ERETRY, NULL, NULL, 0,
			                    "table '%s' moved during the commit", t->name);
		db_fault_point(db, "after_table_write");
	}
	if (rc == DSQL_OK && txn->n_sql)
		rc = appsql_run(txn, err);
	if (rc != DSQL_OK) {
		db_rollback(db);
		return rc;
	}
	if (txn->prepare_only) {
		db_fault_point(db, "before_prepare");
		rc = db_prepare_transaction(db, txn->gid, err);
		db_fault_point(db, "after_prepare");
		return rc;
	}
	db_fault_point(db, "before_commit");
	rc = db_commit(db, err);
	db_fault_point(db, "after_commit");
	return rc;
}

/* The attempt, which did not unlink the files its adds replace, failed on
 * a unique key: most likely an add that replaces a live file, on the
 * live-file key (see unlinks_adds). Drivers report every unique violation
 * as DSQL_EEXISTS; a replayed transaction id (the journal's key) also
 * comes here, and costs one more attempt before it is looked up. */
static int replaced_live_file(const dsql_txn *txn, int rc)
{
	return rc == DSQL_EEXISTS && !unlinks_adds(txn);
}

/* The hinted attempt first when the hints allow it; when it fails for any
 * reason but a lost connection, a lock wait that timed out or a read-only
 * database (the locked attempt would meet the same), the locked attempt
 * decides (and reports errors with their detail). An attempt whose add replaced a live file
 * without unlinking it goes again, unlinking. */
static int attempt_best(dsql_txn *txn, dsql_error *err)
{
	int hinted = hinted_ready(txn, err), rc;

	rc = attempt(txn, &hinted, err);
	if (rc == TIME_BEHIND) /* hinted is 0: the miss is counted */
		rc = attempt(txn, &hinted, err);
	if (hinted && rc != DSQL_OK && rc != DSQL_EUNKNOWN && rc != DSQL_ECONNECT &&
	    rc != DSQL_ETIMEOUT && rc != DSQL_EREADONLY) {
		txn->cat->metrics.hint_misses++;
		log_hint_miss(txn, NULL);
		txn->replacing |= replaced_live_file(txn, rc);
		hinted = 0;
		rc = attempt(txn, &hinted, err);
	}
	if (replaced_live_file(txn, rc)) { /* hinted is 0 here */
		txn->replacing = 1;
		rc = attempt(txn, &hinted, err);
	}
	return rc;
}

/* After a commit: what this handle now knows of the tables it wrote. */
static void remember(dsql_txn *txn)
{
	for (size_t i = 0; i < txn->n_tables; i++) {
		txn_table *t = &txn->tables[i];
		table_hint *h = hint_by_id(txn->cat, t->id);
		json_t *staged, *staged_pr;
		int followed;

		if (t->committed_version < 0)
			continue;
		staged = staged_body(t, ACT_METADATA);
		staged_pr = staged_body(t, ACT_PROTOCOL);
		/* Without a staged metaData (protocol), the one in force is still
		 * the hint's, when the hint was at the version this commit followed. */
		followed = h && h->version == t->committed_version - 1;
		hint_saw(txn->cat, t->name, t->id, t->committed_version, t->written_ms,
		         !staged && followed ? h->metadata_at : -1,
		         !staged_pr && followed ? h->protocol_at : -1);
		if (staged && (h = hint_by_id(txn->cat, t->id)) != NULL)
			hint_set_metadata(h, json_incref(staged), t->committed_version);
		if (staged_pr && (h = hint_by_id(txn->cat, t->id)) != NULL)
			hint_set_protocol(h, json_incref(staged_pr), t->committed_version);
	}
}

/* The connection died during COMMIT. Reconnect, then wait for the old
 * transaction to end by locking the rows it locked, and ask the journal. */
static int resolve_unknown(dsql_txn *txn, int *found, dsql_error *err)
{
	dsql_db *db = txn->cat->db;
	dsql_error e;
	int rc = DSQL_ECONNECT;

	for (int i = 0; i < 10 && rc != DSQL_OK; i++) {
		rc = db_reconnect(db, &e);
		if (rc != DSQL_OK)
			util_sleep_ms(50 << (i < 5 ? i : 5));
	}
	if (rc == DSQL_OK)
		rc = db_begin(db, DSQL_BEGIN_WRITE, &e);
	for (size_t i = 0; i < txn->n_tables && rc == DSQL_OK; i++) {
		int64_t v, ms, oldest, md, pr;

		if (txn->tables[i].id == 0 || txn->tables[i].n_actions == 0)
			continue;
		rc = lock_table(db, &txn->tables[i], &v, &ms, &oldest, &md, &pr, &e);
		if (rc == DSQL_ENOTFOUND)
			rc = DSQL_OK;
	}
	if (rc == DSQL_OK)
		rc = lookup_journal(txn, found, &e);
	db_rollback(db);
	if (rc == DSQL_OK && !*found && txn->prepare_only)
		rc = twophase_prepared_exists(txn->cat, txn->gid, found, &e);
	if (rc != DSQL_OK)
		return dsql_error_set(err, DSQL_EUNKNOWN, e.driver, e.sqlstate, e.native_code,
		                      "the connection was lost during COMMIT and the outcome of "
		                      "transaction %s could not be looked up (%s); look it up later "
		                      "by its id", txn->id, e.message);
	return DSQL_OK;
}

static int64_t backoff_ms(const dsql_retry_policy *p, unsigned int attempt)
{
	uint64_t cap = p->base_delay_ms ? p->base_delay_ms : 1;

	for (unsigned int i = 1; i < attempt && cap < p->max_delay_ms; i++)
		cap *= 2;
	if (p->max_delay_ms && cap > p->max_delay_ms)
		cap = p->max_delay_ms;
	return (int64_t)util_random(cap + 1); /* full jitter */
}

static int is_transient(int rc)
{
	return rc == DSQL_ERETRY || rc == DSQL_ECONNECT;
}

static int commit_ready(dsql_txn *txn, dsql_error *err)
{
	size_t staged = 0;

	if (!txn)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "transaction is NULL");
	if (txn->state != TXN_OPEN)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "transaction %s was already %s", txn->id,
		                      txn->state == TXN_COMMITTED ? "committed" : "finished");
	for (size_t i = 0; i < txn->n_tables; i++)
		staged += txn->tables[i].n_actions;
	if (staged == 0 && txn->n_sql == 0)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "transaction %s has no staged actions", txn->id);
	if (txn->n_tables > 1)
		qsort(txn->tables, txn->n_tables, sizeof(txn->tables[0]), cmp_table_id);
	return DSQL_OK;
}

/* --- what the commit tells the catalog's logger (deltasql/log.h) --- */

/* "name=version,..." of the tables written, into buf. */
static const char *versions_text(const dsql_txn *txn, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < txn->n_tables && len < cap; i++) {
		const txn_table *t = &txn->tables[i];

		if (t->committed_version >= 0)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s=%lld", len ? "," : "",
			                        t->name, (long long)t->committed_version);
	}
	return buf;
}

static void log_outcome(const dsql_txn *txn, int rc, int64_t us, const dsql_error *err)
{
	const core_logger *lg = &txn->cat->log;
	log_num attempts, duration, winner;
	char versions[512];

	log_int(attempts, txn->attempts);
	log_int(duration, us);
	if (rc == DSQL_OK && LOG_WANTS(lg, DSQL_LOG_INFO)) {
		dsql_log_field f[] = {{"txn", txn->id},
		                      {"versions", versions_text(txn, versions, sizeof(versions))},
		                      {"attempts", attempts},
		                      {"duration_us", duration},
		                      {"replayed", txn->replayed ? "true" : "false"},
		                      {"prepared_gid", txn->gid}};

		/* prepared_gid only for a prepared transaction */
		log_emit(lg, DSQL_LOG_INFO, DSQL_EVENT_COMMIT, f, LOG_N(f) - !txn->prepare_only,
		         "%s %s%s",
		         txn->prepare_only ? "prepared" : "committed", txn->id,
		         txn->replayed ? " (a replay: committed earlier)" : "");
	} else if (rc == DSQL_ECONFLICT && LOG_WANTS(lg, DSQL_LOG_WARN)) {
		dsql_log_field f[] = {{"txn", txn->id},
		                      {"rule", err->conflict.rule},
		                      {"table", err->conflict.table},
		                      {"winning_version", log_int(winner, err->conflict.winning_version)},
		                      {"attempts", attempts},
		                      {"duration_us", duration}};

		log_emit(lg, DSQL_LOG_WARN, DSQL_EVENT_CONFLICT, f, LOG_N(f), "%s", err->message);
	} else if (rc != DSQL_OK && rc != DSQL_ECONFLICT && LOG_WANTS(lg, DSQL_LOG_ERROR)) {
		dsql_log_field f[] = {{"txn", txn->id},
		                      {"code", dsql_status_name(rc)},
		                      {"attempts", attempts},
		                      {"duration_us", duration}};

		log_emit(lg, DSQL_LOG_ERROR, DSQL_EVENT_COMMIT_FAILED, f, LOG_N(f), "%s",
		         err->message);
	}
}

static void log_retry(const dsql_txn *txn, int64_t delay_ms, const dsql_error *err)
{
	log_num attempt, delay;
	dsql_log_field f[] = {{"txn", txn->id},
	                      {"attempt", log_int(attempt, txn->attempts)},
	                      {"code", dsql_status_name(err->code)},
	                      {"backoff_ms", log_int(delay, delay_ms)}};

	log_emit(&txn->cat->log, DSQL_LOG_WARN, DSQL_EVENT_RETRY, f, LOG_N(f),
	         "attempt %u of %s failed (%s); retrying in %lld ms", txn->attempts, txn->id,
	         err->message, (long long)delay_ms);
}

static void log_recovery(const dsql_txn *txn, int rc, int found)
{
	dsql_log_field f[] = {{"txn", txn->id},
	                      {"outcome", rc != DSQL_OK ? "unknown"
	                                  : found     ? "committed"
	                                              : "not_committed"}};

	log_emit(&txn->cat->log, DSQL_LOG_WARN, DSQL_EVENT_RECOVERY, f, LOG_N(f),
	         "the connection was lost during COMMIT of %s; the journal says: %s", txn->id,
	         f[1].value);
}

static void record_latency(dsql_metrics *m, int64_t us)
{
	static const int64_t bounds[DSQL_LATENCY_BUCKETS] = DSQL_LATENCY_BOUNDS_MS;
	size_t b = 0;

	while (b + 1 < DSQL_LATENCY_BUCKETS && us >= bounds[b] * 1000)
		b++;
	m->latency_buckets[b]++;
	m->latency_count++;
	m->latency_sum_us += (uint64_t)us;
	if ((uint64_t)us > m->latency_max_us)
		m->latency_max_us = (uint64_t)us;
}

/* A commit rejected by a conflict leaves a row for deltasql stats, in a
 * transaction of its own after the rollback (best effort: a failure to
 * write it changes nothing of the commit's answer). */
static void record_conflict(dsql_txn *txn, const dsql_error *err)
{
	dsql_db *db = txn->cat->db;
	db_stmt *st;
	int rc = db_begin(db, DSQL_BEGIN_WRITE, NULL);

	if (rc == DSQL_OK)
		rc = db_stmt_get(&st, db,
		                 "INSERT INTO dsql_conflict (txn_id, conflict_ms, rule, table_name,"
		                 " winning_version, attempts) VALUES (?, ?, ?, ?, ?, ?)",
		                 NULL);
	if (rc == DSQL_OK)
		rc = db_run(st, NULL, "tittii", txn->id, util_now_ms(), err->conflict.rule,
		            err->conflict.table, err->conflict.winning_version,
		            (int64_t)txn->attempts);
	if (rc == DSQL_DONE)
		rc = db_commit(db, NULL);
	else
		db_rollback(db);
}

int dsql_txn_commit(dsql_txn *txn, dsql_error *err)
{
	const dsql_retry_policy *p;
	int64_t start = util_monotonic_ms(), start_us = util_monotonic_us();
	dsql_metrics *m;
	dsql_error local;
	int rc, found;

	if (!err)
		err = &local;
	if ((rc = commit_ready(txn, err)) != DSQL_OK)
		return rc;
	if (txn->prepare_only && (rc = twophase_make_gid(txn, err)) != DSQL_OK)
		return rc;
	p = &txn->retry;
	m = &txn->cat->metrics;
	txn->commit_start_us = start_us;
	for (;;) {
		txn->attempts++;
		rc = attempt_best(txn, err);
		if (rc == DSQL_EUNKNOWN) {
			rc = resolve_unknown(txn, &found, err);
			if (LOG_WANTS(&txn->cat->log, DSQL_LOG_WARN))
				log_recovery(txn, rc, found);
			if (rc == DSQL_OK && found)
				break;
			if (rc == DSQL_OK)
				rc = dsql_error_set(err, DSQL_ERETRY, NULL, NULL, 0,
				                    "the connection was lost during COMMIT; the "
				                    "transaction did not commit");
		} else if (rc == DSQL_EEXISTS) {
			/* Our journal row exists: an earlier commit of this id. */
			int rc2 = lookup_journal(txn, &found, NULL);

			if (rc2 == DSQL_OK && found) {
				txn->replayed = 1;
				rc = DSQL_OK;
				break;
			}
		}
		if (rc == DSQL_OK || !is_transient(rc))
			break;
		if (rc == DSQL_ECONNECT)
			db_reconnect(txn->cat->db, NULL);
		if (txn->attempts >= p->max_attempts) {
			dsql_error e = *err;

			rc = dsql_error_set(err, DSQL_ERETRY, e.driver, e.sqlstate, e.native_code,
			                    "gave up after %u attempts: %s", txn->attempts, e.message);
			break;
		}
		if (p->timeout_ms && util_monotonic_ms() - start >= p->timeout_ms) {
			rc = dsql_error_set(err, DSQL_ETIMEOUT, NULL, NULL, 0,
			                    "transaction %s timed out after %u attempts (%u ms)",
			                    txn->id, txn->attempts, p->timeout_ms);
			break;
		}
		{
			int64_t delay = backoff_ms(p, txn->attempts);

			m->retries++;
			m->backoff_ms += (uint64_t)delay;
			if (LOG_WANTS(&txn->cat->log, DSQL_LOG_WARN))
				log_retry(txn, delay, err);
			util_sleep_ms(delay);
		}
	}
	record_latency(m, util_monotonic_us() - start_us);
	if (rc == DSQL_ECONFLICT)
		record_conflict(txn, err);
	if (txn->cat->log.cb)
		log_outcome(txn, rc, util_monotonic_us() - start_us, err);
	if (rc == DSQL_OK) {
		m->commits++;
		m->replays += (uint64_t)txn->replayed;
		if (!txn->replayed && !txn->prepare_only) {
			remember(txn);
			publish_after_commit(txn);
		}
	} else {
		m->failures++;
	}
	txn->state = rc == DSQL_OK ? TXN_COMMITTED : TXN_FAILED;
	for (size_t i = 0; rc != DSQL_OK && i < txn->n_tables; i++)
		txn->tables[i].committed_version = -1;
	return rc;
}

/* --- import: a new table's whole log in one database transaction --- */

/* After this many versions a writer whose driver queues statements waits
 * for them once (checking the version it wrote): a pipeline of a whole log
 * would otherwise hold every statement and answer in memory. */
#define IMPORT_SYNC_EVERY 256

struct import_writer {
	dsql_txn *txn;
	txn_table *t;
	table_rules rules; /* of the metaData in force; metadata NULL before v0 */
	int64_t version;   /* the last version written; -1 before version 0 */
	int64_t last_ms;   /* its commit time */
	int open;          /* the database transaction is open */
};

int import_begin(import_writer **out, dsql_catalog *cat, const char *table,
                 const char *location, dsql_error *err)
{
	dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
	import_writer *w;
	int rc;

	*out = NULL;
	if (!(w = calloc(1, sizeof(*w))))
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	w->version = -1;
	o.isolation = DSQL_ISOLATION_SNAPSHOT;
	rc = dsql_txn_begin(&w->txn, cat, &o, err);
	if (rc == DSQL_OK) {
		w->txn->verbatim = 1;
		w->txn->importing = 1;
		w->txn->attempts = 1; /* the journal's monitoring columns */
		w->txn->commit_start_us = util_monotonic_us();
		w->txn->attempt_start_us = w->txn->commit_start_us;
		w->txn->commit_ms = util_now_ms();
		rc = txn_add_new_table(w->txn, table, location, &w->t, err);
	}
	if (rc == DSQL_OK && (rc = db_begin(cat->db, DSQL_BEGIN_WRITE, err)) == DSQL_OK) {
		w->open = 1;
		rc = insert_journal(w->txn, cat->db, err);
	}
	/* The table's row now: a table of that name makes the import fail
	 * before anything is read, and no other writer can see or lock the new
	 * row until the import commits. */
	if (rc == DSQL_OK)
		rc = create_table_row(w->txn, w->t, err);
	if (rc != DSQL_OK) {
		import_free(w);
		return rc;
	}
	*out = w;
	return DSQL_OK;
}

txn_table *import_table(import_writer *w)
{
	return w->t;
}

dsql_txn *import_txn(import_writer *w)
{
	return w->txn;
}

/* The version's metaData, if it has one, becomes the rules of the
 * versions from it on (imported history is not re-read from the database:
 * where statements are queued, that would cost a round trip a version). */
static int import_rules(import_writer *w, dsql_error *err)
{
	const txn_table *t = w->t;

	for (size_t i = 0; i < t->n_actions; i++)
		if (t->actions[i].kind == ACT_METADATA) {
			rules_clear(&w->rules);
			return rules_from(&w->rules, t->actions[i].body, NULL, err);
		}
	return w->rules.metadata || w->version >= 0 ? DSQL_OK
	                                            : rules_from(&w->rules, NULL, NULL, err);
}

/* Waits for the queued statements and checks what they did. */
static int import_sync(import_writer *w, dsql_error *err)
{
	db_stmt *st;
	int rc = db_stmt_get(&st, w->txn->cat->db,
	                     "SELECT MAX(version) FROM dsql_commit WHERE table_id = ?", err);

	int64_t v;

	if (rc != DSQL_OK)
		return rc;
	if ((rc = db_run(st, err, "i", w->t->id)) != DSQL_ROW)
		return rc == DSQL_DONE ? DSQL_ERROR : rc;
	v = db_column_int64(st, 0);
	db_stmt_done(st);
	return v == w->version ? DSQL_OK
	                       : dsql_error_set(err, DSQL_EDB, NULL, NULL, 0,
	                                        "import of '%s': the catalog does not hold version "
	                                        "%lld after writing it", w->t->name,
	                                        (long long)w->version);
}

int import_write(import_writer *w, dsql_error *err)
{
	txn_table *t = w->t;
	int rc;

	if (t->n_actions == 0)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "version %lld holds no actions", (long long)w->version + 1);
	t->creating = w->version < 0;
	t->read_version = w->version;
	rc = import_rules(w, err);
	if (rc == DSQL_OK)
		rc = validate_table(w->txn->cat->db, w->txn, t, &w->rules, 1, w->version, err);
	/* Each version its own time, never before the previous one's. */
	w->txn->commit_ms = t->commit_ms >= 0 ? t->commit_ms : util_now_ms();
	if (w->version >= 0 && w->txn->commit_ms <= w->last_ms)
		w->txn->commit_ms = w->last_ms + 1;
	if (rc == DSQL_OK)
		rc = write_table(w->txn, t, w->version, err);
	if (rc != DSQL_OK)
		return rc;
	w->version = t->committed_version;
	w->last_ms = t->written_ms;
	for (size_t i = 0; i < t->n_actions; i++)
		action_clear(&t->actions[i]);
	t->n_actions = 0;
	json_object_clear(t->staged_keys);
	db_fault_point(w->txn->cat->db, "import_version");
	if ((w->version + 1) % IMPORT_SYNC_EVERY == 0 &&
	    (db_capabilities(w->txn->cat->db) & DSQL_CAP_DEFERRED))
		return import_sync(w, err);
	return DSQL_OK;
}

int import_finish(import_writer *w, dsql_error *err)
{
	dsql_db *db = w->txn->cat->db;
	int rc, found = 0;

	db_stmt *st;

	if (w->version < 0)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "nothing to import");
	rc = db_stmt_get(&st, db,
	                 "UPDATE dsql_table SET version = ?, last_commit_ms = ? WHERE id = ?"
	                 " AND version = -1",
	                 err);
	if (rc == DSQL_OK)
		rc = db_run_deferred(st, 1, err, "iii", w->version, w->last_ms, w->t->id);
	if (rc != DSQL_OK)
		return rc;
	db_fault_point(db, "before_commit");
	rc = db_commit(db, err);
	w->open = 0;
	db_fault_point(db, "after_commit");
	if (rc == DSQL_EUNKNOWN) {
		/* The journal row says whether the whole import committed. */
		rc = resolve_unknown(w->txn, &found, err);
		if (rc == DSQL_OK && !found)
			rc = dsql_error_set(err, DSQL_ERETRY, NULL, NULL, 0,
			                    "the connection was lost during COMMIT; the import of '%s' "
			                    "did not commit", w->t->name);
	}
	if (rc == DSQL_OK)
		w->txn->state = TXN_COMMITTED;
	return rc;
}

void import_free(import_writer *w)
{
	if (!w)
		return;
	if (w->open)
		db_rollback(w->txn->cat->db);
	rules_clear(&w->rules);
	dsql_txn_free(w->txn);
	free(w);
}

/* --- the retry-loop helper --- */

int dsql_txn_run(dsql_catalog *cat, const dsql_txn_options *opts, dsql_txn_fn fn,
                 void *payload, dsql_error *err)
{
	dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
	dsql_retry_policy p;
	int64_t start = util_monotonic_ms();
	dsql_error local;
	int rc;

	if (!err)
		err = &local;
	if (!cat || !fn)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "catalog or function is NULL");
	if (opts)
		o = *opts;
	p = o.retry ? *o.retry : cat->retry;
	for (unsigned int attempt = 1;; attempt++) {
		dsql_txn *txn = NULL;

		dsql_error_clear(err);
		rc = dsql_txn_begin(&txn, cat, &o, err);
		if (rc == DSQL_OK) {
			rc = fn(txn, payload);
			if (rc == DSQL_OK)
				rc = dsql_txn_commit(txn, err);
			else if (err->code == 0)
				dsql_error_set(err, rc, NULL, NULL, 0, "the transaction function returned %d",
				               rc);
		}
		dsql_txn_free(txn);
		if (rc != DSQL_ECONFLICT)
			return rc;
		if (attempt >= p.max_attempts)
			return rc; /* err describes the last conflict */
		if (p.timeout_ms && util_monotonic_ms() - start >= p.timeout_ms)
			return dsql_error_set(err, DSQL_ETIMEOUT, NULL, NULL, 0,
			                      "transaction function still conflicting after %u attempts "
			                      "and %u ms", attempt, p.timeout_ms);
		cat->metrics.retries++;
		{
			int64_t delay = backoff_ms(&p, attempt);

			if (LOG_WANTS(&cat->log, DSQL_LOG_WARN)) {
				log_num n, d;
				dsql_log_field f[] = {{"attempt", log_int(n, attempt)},
				                      {"code", "conflict"},
				                      {"backoff_ms", log_int(d, delay)}};

				log_emit(&cat->log, DSQL_LOG_WARN, DSQL_EVENT_RETRY, f, LOG_N(f),
				         "the transaction function's attempt %u conflicted (%s); running it "
				         "again in %lld ms", attempt, err->message, (long long)delay);
			}
			util_sleep_ms(delay);
		}
	}
}
