/*
 * Conflict detection between a transaction and the commits that won the
 * race for a table (every version after its read version), by Delta's
 * rules. Called under the table's row lock, so the winners are complete.
 * No conflict means the commit is rebased: written at the next version.
 *
 * Checks, in Delta's order, for each winner:
 *   protocol_changed        the winner changed the protocol and we change it too,
 *                           or we cannot write the new one;
 *   metadata_changed        the winner changed metaData and we change it too, or
 *                           its schema/partitioning differs from what we read
 *                           under while we read or write files;
 *   concurrent_append       the winner added data files matching our read set:
 *                           serializable always, write_serializable unless the
 *                           winner was a blind append, snapshot never;
 *   concurrent_delete_read  the winner removed a file matching our read set;
 *   concurrent_delete_delete the winner removed a file we remove;
 *   concurrent_transaction  the winner wrote a txn for an appId we read or write;
 *   concurrent_domain_metadata the winner wrote a domain we write.
 * A transaction whose file actions are all dataChange=false (compaction) is
 * checked as snapshot isolation.
 */
#include "conflict.h"
#include "protocol.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const rule_names[DSQL_RULE_COUNT] = {
	"concurrent_append", "concurrent_delete_read", "concurrent_delete_delete",
	"metadata_changed", "protocol_changed", "concurrent_transaction",
	"concurrent_domain_metadata",
};

const char *dsql_conflict_rule_name(int rule)
{
	return rule >= 0 && rule < DSQL_RULE_COUNT ? rule_names[rule] : NULL;
}

typedef struct winner {
	int64_t version;
	int blind_append;
	action *actions;
	size_t n, cap;
} winner;

typedef struct check {
	dsql_catalog *cat;
	const dsql_txn *txn;
	const txn_table *t;
	dsql_isolation isolation; /* effective */
	int has_protocol, has_metadata, file_actions;
	json_t *read_metadata;    /* metaData at our read version */
} check;

static int conflict(const check *c, dsql_conflict_rule rule, int64_t winner_version,
                    const char *detail, const char *why, dsql_error *err)
{
	c->cat->metrics.conflicts_by_rule[rule]++;
	dsql_error_set(err, DSQL_ECONFLICT, NULL, NULL, 0,
	               "conflict on table '%s' (%s): %s%s%s%s; winning version %lld", c->t->name,
	               rule_names[rule], why, detail ? " '" : "", detail ? detail : "",
	               detail ? "'" : "", (long long)winner_version);
	if (err) {
		util_copy(err->conflict.rule, sizeof(err->conflict.rule), rule_names[rule]);
		util_copy(err->conflict.table, sizeof(err->conflict.table), c->t->name);
		util_copy(err->conflict.detail, sizeof(err->conflict.detail), detail);
		err->conflict.winning_version = winner_version;
	}
	return DSQL_ECONFLICT;
}

int conflict_expired(const txn_table *t, int64_t oldest, dsql_error *err)
{
	dsql_error_set(err, DSQL_ECONFLICT, NULL, NULL, 0,
	               "table '%s': read version %lld has expired (the oldest version kept is "
	               "%lld); read the table again", t->name, (long long)t->read_version,
	               (long long)oldest);
	if (err) {
		util_copy(err->conflict.rule, sizeof(err->conflict.rule), "read_version_expired");
		util_copy(err->conflict.table, sizeof(err->conflict.table), t->name);
		err->conflict.winning_version = oldest;
	}
	return DSQL_ECONFLICT;
}

/* --- loading the winners --- */

static void free_winners(winner *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < w[i].n; j++)
			action_clear(&w[i].actions[j]);
		free(w[i].actions);
	}
	free(w);
}

static int push_action(winner *w, action *a, dsql_error *err)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		action *n = realloc(w->actions, cap * sizeof(*n));

		if (!n) {
			action_clear(a);
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		}
		w->actions = n;
		w->cap = cap;
	}
	w->actions[w->n++] = *a;
	return DSQL_OK;
}

/* A remove need not repeat its file's partition values; take them from the
 * add it removed, so that predicate reads are judged precisely. */
static int fill_partition_values(dsql_db *db, const txn_table *t, action *a, int64_t version,
                                 dsql_error *err)
{
	json_t *add;
	db_stmt *st;
	int rc;

	if (a->kind != ACT_REMOVE || json_is_object(json_object_get(a->body, "partitionValues")))
		return DSQL_OK;
	rc = db_stmt_get(&st, db,
	                 "SELECT body FROM dsql_file WHERE table_id = ? AND path = ? AND dv_id = ?"
	                 " AND removed_version = ?",
	                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "itti", t->id, a->path, a->dv_id, version);
	if (rc == DSQL_DONE)
		return DSQL_OK;
	if (rc != DSQL_ROW)
		return rc;
	add = json_loads(db_column_text(st, 0, NULL), 0, NULL);
	db_stmt_done(st);
	if (json_is_object(json_object_get(add, "partitionValues")))
		json_object_set(a->body, "partitionValues", json_object_get(add, "partitionValues"));
	json_decref(add);
	return DSQL_OK;
}

static int load_winners(dsql_db *db, const txn_table *t, int64_t current, int skip_files,
                        winner **out, dsql_error *err)
{
	size_t n = (size_t)(current - t->read_version);
	winner *w = calloc(n, sizeof(*w));
	db_stmt *st;
	int rc;

	if (!w)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	for (size_t i = 0; i < n; i++)
		w[i].version = t->read_version + 1 + (int64_t)i;
	rc = db_stmt_get(&st, db,
	                 "SELECT version, blind_append FROM dsql_commit WHERE table_id = ?"
	                 " AND version > ? AND version <= ?",
	                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "iii", t->id, t->read_version, current);
	for (; rc == DSQL_ROW; rc = db_step(st, err))
		w[db_column_int64(st, 0) - t->read_version - 1].blind_append =
			(int)db_column_int64(st, 1);
	/* A transaction that read nothing and removes nothing cannot conflict
	 * with the winners' file actions: it does not load them. */
	if (rc == DSQL_DONE)
		rc = db_stmt_get(&st, db,
		                 skip_files ? "SELECT version, body FROM dsql_action WHERE table_id = ?"
		                              " AND version > ? AND version <= ? AND kind IN"
		                              " ('protocol', 'metaData', 'txn', 'domainMetadata')"
		                              " ORDER BY version, seq"
		                            : "SELECT version, body FROM dsql_action WHERE table_id = ?"
		                              " AND version > ? AND version <= ? AND kind <> 'commitInfo'"
		                              " ORDER BY version, seq",
		                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "iii", t->id, t->read_version, current);
	for (; rc == DSQL_ROW; rc = db_step(st, err)) {
		winner *win = &w[db_column_int64(st, 0) - t->read_version - 1];
		action a;

		rc = action_parse_stored(&a, db_column_text(st, 1, NULL), err);
		if (rc == DSQL_OK)
			rc = push_action(win, &a, err);
		if (rc != DSQL_OK) {
			db_stmt_done(st);
			break;
		}
	}
	if (rc != DSQL_DONE) {
		free_winners(w, n);
		return rc == DSQL_OK ? DSQL_ERROR : rc;
	}
	rc = DSQL_OK;
	for (size_t i = 0; i < n && rc == DSQL_OK; i++)
		for (size_t j = 0; j < w[i].n && rc == DSQL_OK; j++)
			rc = fill_partition_values(db, t, &w[i].actions[j], w[i].version, err);
	if (rc != DSQL_OK) {
		free_winners(w, n);
		return rc;
	}
	*out = w;
	return DSQL_OK;
}

/* --- read-set matching --- */

static int value_matches(json_t *want, json_t *have)
{
	json_t *item;
	size_t i;

	if (json_is_array(want)) {
		json_array_foreach(want, i, item)
			if (value_matches(item, have))
				return 1;
		return 0;
	}
	if (json_is_null(want))
		return !have || json_is_null(have);
	return json_is_string(have) && strcmp(json_string_value(want), json_string_value(have)) == 0;
}

/* A file (add or remove body) matches one ANDed predicate. A remove
 * without partition values matches conservatively. */
static int predicate_matches(json_t *pred, json_t *file)
{
	json_t *values = json_object_get(file, "partitionValues"), *want;
	const char *col;

	if (!json_is_object(values) || json_object_size(values) == 0)
		return 1;
	json_object_foreach(pred, col, want)
		if (!value_matches(want, json_object_get(values, col)))
			return 0;
	return 1;
}

static int read_set_matches(const txn_table *t, const action *a)
{
	json_t *pred;
	size_t i;

	if (t->read_whole)
		return 1;
	if (t->read_files && json_object_get(t->read_files, a->path))
		return 1;
	json_array_foreach(t->read_predicates, i, pred)
		if (predicate_matches(pred, a->body))
			return 1;
	return 0;
}

int conflict_has_read_set(const txn_table *t)
{
	if (t->read_whole || t->read_files || t->read_predicates)
		return 1;
	for (size_t i = 0; i < t->n_actions; i++)
		if (t->actions[i].kind == ACT_REMOVE)
			return 1; /* removing a file means having read it */
	return 0;
}

/* --- the rules --- */

static const action *our_action(const txn_table *t, action_kind kind, const char *key)
{
	for (size_t i = 0; i < t->n_actions; i++) {
		const action *a = &t->actions[i];

		if (a->kind != kind)
			continue;
		if (kind == ACT_TXN && strcmp(a->app_id, key) == 0)
			return a;
		if (kind == ACT_DOMAIN && strcmp(a->domain, key) == 0)
			return a;
		if (kind == ACT_REMOVE && strcmp(a->path, key) == 0)
			return a;
	}
	return NULL;
}

static int same_json_field(json_t *a, json_t *b, const char *field)
{
	return json_equal(json_object_get(a, field), json_object_get(b, field));
}

static int check_winner_action(const check *c, const winner *w, const action *a,
                               dsql_error *err)
{
	const txn_table *t = c->t;
	const action *mine;

	switch (a->kind) {
	case ACT_PROTOCOL:
		if (c->has_protocol)
			return conflict(c, DSQL_RULE_PROTOCOL_CHANGED, w->version, NULL,
			                "both transactions change the protocol", err);
		if (protocol_check(a->body, 1, NULL) != DSQL_OK)
			return conflict(c, DSQL_RULE_PROTOCOL_CHANGED, w->version, NULL,
			                "the table was upgraded to a protocol this library cannot "
			                "write", err);
		return DSQL_OK;
	case ACT_METADATA:
		if (c->has_metadata)
			return conflict(c, DSQL_RULE_METADATA_CHANGED, w->version, NULL,
			                "both transactions change the metadata", err);
		if ((c->file_actions || conflict_has_read_set(t)) &&
		    (!same_json_field(a->body, c->read_metadata, "schemaString") ||
		     !same_json_field(a->body, c->read_metadata, "partitionColumns")))
			return conflict(c, DSQL_RULE_METADATA_CHANGED, w->version, NULL,
			                "the schema or partitioning changed after it was read", err);
		return DSQL_OK;
	case ACT_ADD:
		if (!a->data_change || c->isolation == DSQL_ISOLATION_SNAPSHOT)
			return DSQL_OK;
		if (c->isolation == DSQL_ISOLATION_WRITE_SERIALIZABLE && w->blind_append)
			return DSQL_OK;
		if (read_set_matches(t, a) || our_action(t, ACT_REMOVE, a->path))
			return conflict(c, DSQL_RULE_CONCURRENT_APPEND, w->version, a->path,
			                "a concurrent transaction added a file the transaction read",
			                err);
		return DSQL_OK;
	case ACT_REMOVE:
		mine = our_action(t, ACT_REMOVE, a->path);
		if (mine && strcmp(mine->dv_id, a->dv_id) == 0)
			return conflict(c, DSQL_RULE_CONCURRENT_DELETE_DELETE, w->version, a->path,
			                "both transactions remove the file", err);
		if (read_set_matches(t, a))
			return conflict(c, DSQL_RULE_CONCURRENT_DELETE_READ, w->version, a->path,
			                "a concurrent transaction removed a file the transaction read",
			                err);
		return DSQL_OK;
	case ACT_TXN:
		if (our_action(t, ACT_TXN, a->app_id) ||
		    (t->read_app_ids && json_object_get(t->read_app_ids, a->app_id)))
			return conflict(c, DSQL_RULE_CONCURRENT_TRANSACTION, w->version, a->app_id,
			                "a concurrent transaction wrote an application id the "
			                "transaction read or writes", err);
		return DSQL_OK;
	case ACT_DOMAIN:
		if (our_action(t, ACT_DOMAIN, a->domain))
			return conflict(c, DSQL_RULE_CONCURRENT_DOMAIN_METADATA, w->version, a->domain,
			                "a concurrent transaction wrote the same domain", err);
		return DSQL_OK;
	default:
		return DSQL_OK;
	}
}

/* Delta's order of checks, across all of one winner's actions. */
static const action_kind order[] = {ACT_PROTOCOL, ACT_METADATA, ACT_ADD, ACT_REMOVE,
                                    ACT_TXN, ACT_DOMAIN};

static void describe_self(check *c)
{
	int data_change = 0;

	c->isolation = c->txn->isolation;
	for (size_t i = 0; i < c->t->n_actions; i++) {
		const action *a = &c->t->actions[i];

		c->has_protocol |= a->kind == ACT_PROTOCOL;
		c->has_metadata |= a->kind == ACT_METADATA;
		if (a->kind == ACT_ADD || a->kind == ACT_REMOVE) {
			c->file_actions++;
			data_change |= a->data_change;
		}
	}
	if (c->file_actions && !data_change)
		c->isolation = DSQL_ISOLATION_SNAPSHOT;
}

int conflict_check(dsql_catalog *cat, const dsql_txn *txn, const txn_table *t,
                   int64_t current, dsql_error *err)
{
	check c = {cat, txn, t, DSQL_ISOLATION_DEFAULT, 0, 0, 0, NULL};
	winner *w = NULL;
	size_t n = (size_t)(current - t->read_version);
	int rc;

	describe_self(&c);
	rc = catalog_metadata_at(cat->db, t->id, t->read_version, &c.read_metadata, NULL, err);
	if (rc == DSQL_OK)
		rc = load_winners(cat->db, t, current, !conflict_has_read_set(t), &w, err);
	for (size_t i = 0; i < n && rc == DSQL_OK; i++)
		for (size_t k = 0; k < sizeof(order) / sizeof(order[0]) && rc == DSQL_OK; k++)
			for (size_t j = 0; j < w[i].n && rc == DSQL_OK; j++)
				if (w[i].actions[j].kind == order[k])
					rc = check_winner_action(&c, &w[i], &w[i].actions[j], err);
	if (rc == DSQL_OK) {
		cat->metrics.rebases++;
		if (LOG_WANTS(&cat->log, DSQL_LOG_DEBUG)) {
			log_num from, to;
			dsql_log_field f[] = {{"txn", txn->id},
			                      {"table", t->name},
			                      {"read_version", log_int(from, t->read_version)},
			                      {"current_version", log_int(to, current)}};

			log_emit(&cat->log, DSQL_LOG_DEBUG, DSQL_EVENT_REBASE, f, LOG_N(f),
			         "%s rebased onto table %s's version %lld (read at %lld)", txn->id,
			         t->name, (long long)current, (long long)t->read_version);
		}
	} else if (rc == DSQL_ECONFLICT)
		cat->metrics.conflicts++;
	free_winners(w, w ? n : 0);
	json_decref(c.read_metadata);
	return rc;
}
