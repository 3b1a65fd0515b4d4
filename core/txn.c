/*
 * Transactions, before commit: which tables they read at which version,
 * and what they stage. Nothing here touches the database but the look-up
 * of a table's current version when it is opened.
 */
#include "txn_int.h"
#include "delta_path.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	const char *delta_name;
	dsql_isolation level;
} isolations[] = {
	{"serializable", "Serializable", DSQL_ISOLATION_SERIALIZABLE},
	{"write_serializable", "WriteSerializable", DSQL_ISOLATION_WRITE_SERIALIZABLE},
	{"snapshot", "SnapshotIsolation", DSQL_ISOLATION_SNAPSHOT},
};

int dsql_isolation_parse(dsql_isolation *out, const char *name, dsql_error *err)
{
	for (size_t i = 0; name && i < sizeof(isolations) / sizeof(isolations[0]); i++)
		if (strcmp(name, isolations[i].name) == 0 ||
		    strcmp(name, isolations[i].delta_name) == 0) {
			*out = isolations[i].level;
			return DSQL_OK;
		}
	return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
	                      "unknown isolation level '%.64s' (expected serializable, "
	                      "write_serializable or snapshot)", name ? name : "(null)");
}

static size_t isolation_index(dsql_isolation isolation)
{
	if (isolation == DSQL_ISOLATION_DEFAULT)
		isolation = DSQL_ISOLATION_WRITE_SERIALIZABLE;
	for (size_t i = 0; i < sizeof(isolations) / sizeof(isolations[0]); i++)
		if (isolations[i].level == isolation)
			return i;
	return sizeof(isolations) / sizeof(isolations[0]);
}

const char *dsql_isolation_name(dsql_isolation isolation)
{
	size_t i = isolation_index(isolation);

	return i < sizeof(isolations) / sizeof(isolations[0]) ? isolations[i].name : "unknown";
}

const char *txn_isolation_delta_name(dsql_isolation isolation)
{
	size_t i = isolation_index(isolation);

	return i < sizeof(isolations) / sizeof(isolations[0]) ? isolations[i].delta_name
	                                                      : "WriteSerializable";
}

static int check_txn_id(const char *id, dsql_error *err)
{
	size_t n = strlen(id);

	if (n == 0 || n > 128)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "transaction id must be 1 to 128 characters long");
	for (size_t i = 0; i < n; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "transaction id may only contain printable ASCII "
			                      "without spaces");
	return DSQL_OK;
}

int dsql_txn_begin(dsql_txn **out, dsql_catalog *cat, const dsql_txn_options *opts,
                   dsql_error *err)
{
	dsql_txn_options defaults = DSQL_TXN_OPTIONS_INIT;
	dsql_txn *txn;
	int rc;

	*out = NULL;
	if (!cat)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "catalog is NULL");
	if (!opts)
		opts = &defaults;
	if (opts->version < 1 || opts->version > DSQL_TXN_OPTIONS_VERSION)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "unknown dsql_txn_options version %u", opts->version);
	if (opts->isolation < DSQL_ISOLATION_DEFAULT || opts->isolation > DSQL_ISOLATION_SNAPSHOT)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "unknown isolation level %d", (int)opts->isolation);
	if (opts->txn_id && (rc = check_txn_id(opts->txn_id, err)) != DSQL_OK)
		return rc;
	txn = calloc(1, sizeof(*txn));
	if (!txn)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	txn->cat = cat;
	txn->isolation = opts->isolation == DSQL_ISOLATION_DEFAULT
	                         ? DSQL_ISOLATION_WRITE_SERIALIZABLE
	                         : opts->isolation;
	txn->retry = opts->retry ? *opts->retry : cat->retry;
	if (opts->txn_id)
		util_copy(txn->id, sizeof(txn->id), opts->txn_id);
	else
		util_uuid7(txn->id);
	*out = txn;
	return DSQL_OK;
}

txn_table *txn_find(const dsql_txn *txn, const char *name)
{
	for (size_t i = 0; i < txn->n_tables; i++)
		if (strcmp(txn->tables[i].name, name) == 0)
			return &txn->tables[i];
	return NULL;
}

static int check_open(const dsql_txn *txn, dsql_error *err)
{
	if (!txn)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "transaction is NULL");
	if (txn->state != TXN_OPEN)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "transaction %s is already %s", txn->id,
		                      txn->state == TXN_COMMITTED ? "committed" : "finished");
	return DSQL_OK;
}

static int append_table(dsql_txn *txn, const char *name, txn_table **out, dsql_error *err)
{
	txn_table *t;

	if (txn->n_tables == txn->cap_tables) {
		size_t cap = txn->cap_tables ? txn->cap_tables * 2 : 4;
		txn_table *n = realloc(txn->tables, cap * sizeof(*n));

		if (!n)
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		txn->tables = n;
		txn->cap_tables = cap;
	}
	t = &txn->tables[txn->n_tables];
	memset(t, 0, sizeof(*t));
	t->committed_version = -1;
	t->commit_ms = -1;
	t->name = strdup(name);
	if (!t->name)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	txn->n_tables++;
	*out = t;
	return DSQL_OK;
}

int dsql_txn_open_table(dsql_txn *txn, const char *table, int64_t read_version,
                        dsql_error *err)
{
	int64_t id, current;
	txn_table *t;
	int rc;

	if ((rc = check_open(txn, err)) != DSQL_OK)
		return rc;
	if (read_version < DSQL_LATEST)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "read version %lld of table '%s' is negative",
		                      (long long)read_version, table);
	rc = catalog_find_table(txn->cat, table, &id, &current, err);
	if (rc != DSQL_OK)
		return rc;
	if (read_version == DSQL_LATEST)
		read_version = current;
	if (read_version > current)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "table '%s' has no version %lld (its latest is %lld)", table,
		                      (long long)read_version, (long long)current);
	t = txn_find(txn, table);
	if (t && t->guessed) {
		/* Staged adds alone, until now: the read starts here. */
		t->guessed = 0;
		t->id = id;
		t->read_version = read_version;
		return DSQL_OK;
	}
	if (t) {
		if (t->read_version != read_version)
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "table '%s' is already open at version %lld", table,
			                      (long long)t->read_version);
		return DSQL_OK;
	}
	rc = append_table(txn, table, &t, err);
	if (rc != DSQL_OK)
		return rc;
	t->id = id;
	t->read_version = read_version;
	return DSQL_OK;
}

int txn_add_new_table(dsql_txn *txn, const char *name, const char *location,
                      txn_table **out, dsql_error *err)
{
	txn_table *t;
	int rc;

	if ((rc = check_open(txn, err)) != DSQL_OK ||
	    (rc = util_check_name("table", name, err)) != DSQL_OK)
		return rc;
	if (txn_find(txn, name))
		return dsql_error_set(err, DSQL_EEXISTS, NULL, NULL, 0,
		                      "table '%s' is already part of this transaction", name);
	rc = append_table(txn, name, &t, err);
	if (rc != DSQL_OK)
		return rc;
	t->creating = 1;
	t->read_version = -1;
	util_uuid4(t->uuid);
	if (location && !(t->location = strdup(location)))
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	*out = t;
	return DSQL_OK;
}

int dsql_txn_read_version(const dsql_txn *txn, const char *table, int64_t *out,
                          dsql_error *err)
{
	const txn_table *t = txn_find(txn, table);

	if (!t)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "table '%s' is not open in this transaction", table);
	*out = t->read_version;
	return DSQL_OK;
}

/* The key under which an action is unique within one table's commit:
 * kind, then what identifies it (NUL-separated; paths hold no NUL), in buf
 * or, when longer, in *big (malloc'd). Its length; 0 when any number of
 * such actions may be staged. */
static size_t staged_key(const action *a, char *buf, size_t cap, char **big)
{
	const char *id = "", *id2 = "";
	size_t n1, n2, n;
	char *k = buf;

	*big = NULL;
	switch (a->kind) {
	case ACT_ADD: case ACT_REMOVE: id = a->path; id2 = a->dv_id; break;
	case ACT_TXN: id = a->app_id; break;
	case ACT_DOMAIN: id = a->domain; break;
	case ACT_METADATA: case ACT_PROTOCOL: case ACT_COMMITINFO: break;
	default: return 0;
	}
	n1 = strlen(id);
	n2 = strlen(id2);
	n = 1 + n1 + 1 + n2;
	if (n > cap && !(k = *big = malloc(n)))
		return 0;
	k[0] = (char)('a' + (int)a->kind);
	memcpy(k + 1, id, n1);
	k[1 + n1] = '\0';
	memcpy(k + 2 + n1, id2, n2);
	return n;
}

/* Checks that hold within the staged actions alone: a file added or
 * removed twice, two metaData, protocol or commitInfo actions, two txn
 * actions of one appId, two domainMetadata of one domain. A hash set of
 * keys keeps this linear in the number of actions. */
static int check_staged(txn_table *t, const action *a, dsql_error *err)
{
	char buf[1024], *big;
	size_t n = staged_key(a, buf, sizeof(buf), &big);
	const char *key = big ? big : buf;
	int dup, added = 0;

	if (n == 0 && a->kind != ACT_CDC)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	if (n == 0)
		return DSQL_OK;
	if (!t->staged_keys)
		t->staged_keys = json_object();
	dup = t->staged_keys && json_object_getn(t->staged_keys, key, n) != NULL;
	if (t->staged_keys && !dup)
		added = json_object_setn_new_nocheck(t->staged_keys, key, n, json_true()) == 0;
	free(big);
	if (!dup)
		return added ? DSQL_OK
		             : dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	switch (a->kind) {
	case ACT_ADD:
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': file '%s' is added twice in one commit", t->name,
		                      a->path);
	case ACT_REMOVE:
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': file '%s' is removed twice in one commit",
		                      t->name, a->path);
	case ACT_TXN:
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': two txn actions for appId '%s'", t->name,
		                      a->app_id);
	case ACT_DOMAIN:
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': two domainMetadata actions for domain '%s'",
		                      t->name, a->domain);
	default:
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': more than one %s action in one commit", t->name,
		                      action_kind_name(a->kind));
	}
}

/* A file's key must fit the catalog's database: each driver bounds paths
 * and deletion-vector ids (dsql_dialect.max_path_bytes, max_dv_bytes; the
 * limits are in docs/RELIABILITY.md), refused here with one message on
 * every driver rather than by the database's own error at commit. */
static int check_key_fits(const dsql_txn *txn, const txn_table *t, const action *a,
                          dsql_error *err)
{
	const dsql_dialect *d = db_dialect(txn->cat->db);
	const char *driver = db_driver(txn->cat->db)->name;
	size_t n;

	if (a->kind != ACT_ADD && a->kind != ACT_REMOVE)
		return DSQL_OK;
	if ((n = strlen(a->path)) > d->max_path_bytes)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': a path of %zu bytes is longer than the %s driver's "
		                      "limit of %zu bytes",
		                      t->name, n, driver, d->max_path_bytes);
	if ((n = strlen(a->dv_id)) > d->max_dv_bytes)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table '%s': file '%.200s': a deletion vector id of %zu bytes is "
		                      "longer than the %s driver's limit of %zu bytes",
		                      t->name, a->path, n, driver, d->max_dv_bytes);
	return DSQL_OK;
}

int txn_stage_parsed(dsql_txn *txn, txn_table *t, action *a, dsql_error *err)
{
	int rc = check_key_fits(txn, t, a, err);

	if (rc == DSQL_OK)
		rc = check_staged(t, a, err);

	if (rc != DSQL_OK) {
		action_clear(a);
		return rc;
	}
	if (t->n_actions == t->cap_actions) {
		size_t cap = t->cap_actions ? t->cap_actions * 2 : 16;
		action *n = realloc(t->actions, cap * sizeof(*n));

		if (!n) {
			action_clear(a);
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		}
		t->actions = n;
		t->cap_actions = cap;
	}
	t->actions[t->n_actions++] = *a;
	return DSQL_OK;
}

/* A table first named by a staged action: a table this handle knows is
 * taken from its hint, without a look-up; the commit checks the hint. */
static int open_for_staging(dsql_txn *txn, const char *table, txn_table **out,
                            dsql_error *err)
{
	table_hint *h = hint_find(txn->cat, table);
	int rc;

	if (!h) {
		rc = dsql_txn_open_table(txn, table, DSQL_LATEST, err);
		if (rc == DSQL_OK)
			*out = txn_find(txn, table);
		if (rc == DSQL_OK && (h = hint_find(txn->cat, table)) != NULL)
			(*out)->guessed = 1;
		return rc;
	}
	rc = append_table(txn, table, out, err);
	if (rc != DSQL_OK)
		return rc;
	(*out)->id = h->id;
	(*out)->read_version = h->version;
	(*out)->guessed = 1;
	return DSQL_OK;
}

/* The table an action is staged for: opened now when the transaction has
 * not seen it. */
static int staging_table(dsql_txn *txn, const char *table, txn_table **out, dsql_error *err)
{
	int rc = check_open(txn, err);

	if (rc != DSQL_OK)
		return rc;
	if (!table)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "table name is NULL");
	*out = txn_find(txn, table);
	return *out ? DSQL_OK : open_for_staging(txn, table, out, err);
}

/* Anything but an add reads the table: one opened by adds alone is now
 * read at its latest version. Takes the action, also on failure. */
static int stage_action(dsql_txn *txn, txn_table *t, action *a, dsql_error *err)
{
	int rc;

	if (t->guessed && a->kind != ACT_ADD &&
	    (rc = dsql_txn_open_table(txn, t->name, DSQL_LATEST, err)) != DSQL_OK) {
		action_clear(a);
		return rc;
	}
	return txn_stage_parsed(txn, t, a, err);
}

int dsql_txn_stage(dsql_txn *txn, const char *table, const char *action_json, dsql_error *err)
{
	txn_table *t;
	action a;
	int rc;

	if ((rc = check_open(txn, err)) != DSQL_OK)
		return rc;
	if (!action_json)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "action is NULL");
	if ((rc = staging_table(txn, table, &t, err)) != DSQL_OK ||
	    (rc = action_parse_text(&a, action_json, err)) != DSQL_OK)
		return rc;
	return stage_action(txn, t, &a, err);
}

static int stage_file(dsql_txn *txn, const char *table, action_kind kind,
                      const dsql_file_action *file, dsql_error *err)
{
	txn_table *t;
	action a;
	int rc;

	if ((rc = staging_table(txn, table, &t, err)) != DSQL_OK ||
	    (rc = action_from_file(&a, kind, file, err)) != DSQL_OK)
		return rc;
	return stage_action(txn, t, &a, err);
}

int dsql_txn_add_file(dsql_txn *txn, const char *table, const dsql_file_action *file,
                      dsql_error *err)
{
	return stage_file(txn, table, ACT_ADD, file, err);
}

int dsql_txn_remove_file(dsql_txn *txn, const char *table, const dsql_file_action *file,
                         dsql_error *err)
{
	return stage_file(txn, table, ACT_REMOVE, file, err);
}

const char *dsql_txn_id(const dsql_txn *txn)
{
	return txn->id;
}

int dsql_txn_committed_version(const dsql_txn *txn, const char *table, int64_t *out)
{
	const txn_table *t = txn_find(txn, table);

	if (!t || txn->state != TXN_COMMITTED || t->committed_version < 0)
		return DSQL_ENOTFOUND;
	*out = t->committed_version;
	return DSQL_OK;
}

unsigned int dsql_txn_attempts(const dsql_txn *txn)
{
	return txn->attempts;
}

int dsql_txn_was_replayed(const dsql_txn *txn)
{
	return txn->replayed;
}

void dsql_txn_free(dsql_txn *txn)
{
	if (!txn)
		return;
	for (size_t i = 0; i < txn->n_tables; i++) {
		txn_table *t = &txn->tables[i];

		for (size_t j = 0; j < t->n_actions; j++)
			action_clear(&t->actions[j]);
		free(t->actions);
		json_decref(t->read_predicates);
		json_decref(t->read_files);
		json_decref(t->read_app_ids);
		json_decref(t->staged_keys);
		free(t->name);
		free(t->location);
	}
	free(txn->tables);
	appsql_free(txn);
	free(txn);
}

/* --- read sets --- */

static int table_for_read(dsql_txn *txn, const char *table, txn_table **out, dsql_error *err)
{
	int rc = check_open(txn, err);

	if (rc != DSQL_OK)
		return rc;
	*out = txn_find(txn, table);
	if (*out)
		return DSQL_OK;
	rc = dsql_txn_open_table(txn, table, DSQL_LATEST, err);
	*out = txn_find(txn, table);
	return rc;
}

int dsql_txn_read_whole_table(dsql_txn *txn, const char *table, dsql_error *err)
{
	txn_table *t;
	int rc = table_for_read(txn, table, &t, err);

	if (rc == DSQL_OK)
		t->read_whole = 1;
	return rc;
}

static int bad_predicate(dsql_error *err, const char *why)
{
	return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "invalid read predicate: %s", why);
}

static int add_predicate(txn_table *t, json_t *pred, dsql_error *err)
{
	const char *col;
	json_t *v, *item;
	size_t i;

	if (!json_is_object(pred) || json_object_size(pred) == 0)
		return bad_predicate(err, "expected a non-empty object of partition column to value");
	json_object_foreach(pred, col, v) {
		if (json_is_string(v) || json_is_null(v))
			continue;
		if (!json_is_array(v) || json_array_size(v) == 0)
			return bad_predicate(err, "a value must be a string, null or a non-empty list");
		json_array_foreach(v, i, item)
			if (!json_is_string(item) && !json_is_null(item))
				return bad_predicate(err, "a list may only hold strings and nulls");
	}
	if (!t->read_predicates)
		t->read_predicates = json_array();
	json_array_append(t->read_predicates, pred);
	return DSQL_OK;
}

int dsql_txn_read_predicate(dsql_txn *txn, const char *table, const char *predicate_json,
                            dsql_error *err)
{
	json_error_t jerr;
	txn_table *t;
	json_t *pred;
	int rc = table_for_read(txn, table, &t, err);

	if (rc != DSQL_OK)
		return rc;
	pred = json_loads(predicate_json ? predicate_json : "", JSON_REJECT_DUPLICATES, &jerr);
	if (!pred)
		return bad_predicate(err, jerr.text);
	rc = add_predicate(t, pred, err);
	json_decref(pred);
	return rc;
}

/* A file read, under its canonical spelling: the one the winners' actions
 * are compared in. */
static int add_file(txn_table *t, const char *path, dsql_error *err)
{
	char *canon;
	int rc;

	if (!path || !*path)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "read file path is empty");
	if ((rc = delta_path_canonical(path, &canon, err)) != DSQL_OK)
		return rc;
	if (!t->read_files)
		t->read_files = json_object();
	json_object_set_new(t->read_files, canon ? canon : path, json_true());
	free(canon);
	return DSQL_OK;
}

int dsql_txn_read_files(dsql_txn *txn, const char *table, const char *const *paths,
                        size_t n_paths, dsql_error *err)
{
	txn_table *t;
	int rc = table_for_read(txn, table, &t, err);

	for (size_t i = 0; rc == DSQL_OK && i < n_paths; i++)
		rc = add_file(t, paths[i], err);
	return rc;
}

int dsql_txn_read(dsql_txn *txn, const char *table, const char *read_json, dsql_error *err)
{
	json_t *read, *v, *item;
	json_error_t jerr;
	const char *key;
	txn_table *t;
	size_t i;
	int rc = table_for_read(txn, table, &t, err);

	if (rc != DSQL_OK)
		return rc;
	read = json_loads(read_json ? read_json : "", JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(read)) {
		json_decref(read);
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "invalid read set for table '%s': expected an object", table);
	}
	json_object_foreach(read, key, v) {
		if (rc != DSQL_OK)
			break;
		if (strcmp(key, "whole_table") == 0 && json_is_boolean(v)) {
			t->read_whole |= json_is_true(v);
		} else if (strcmp(key, "predicate") == 0 && json_is_array(v)) {
			json_array_foreach(v, i, item)
				if (rc == DSQL_OK)
					rc = add_predicate(t, item, err);
		} else if (strcmp(key, "predicate") == 0) {
			rc = add_predicate(t, v, err);
		} else if (strcmp(key, "app_ids") == 0 && json_is_array(v)) {
			json_array_foreach(v, i, item) {
				if (!json_is_string(item)) {
					rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
					                    "invalid read set for table '%s': app_ids must be "
					                    "strings", table);
					break;
				}
				if (!t->read_app_ids)
					t->read_app_ids = json_object();
				json_object_set_new(t->read_app_ids, json_string_value(item), json_true());
			}
		} else if (strcmp(key, "files") == 0 && json_is_array(v)) {
			json_array_foreach(v, i, item)
				if (rc == DSQL_OK)
					rc = add_file(t, json_string_value(item), err);
		} else {
			rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                    "invalid read set for table '%s': unknown or malformed "
			                    "'%.40s' (expected whole_table, predicate, files or app_ids)",
			                    table, key);
		}
	}
	json_decref(read);
	return rc;
}
