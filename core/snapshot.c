/*
 * Snapshots: a table at one version, loaded by indexed queries on the file
 * index inside one read transaction (so the parts agree with each other).
 */
#include "deltasql/snapshot.h"
#include "arena.h"
#include "catalog_int.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct str_pair {
	char *key;
	char *value;
	int64_t version;
	/* Typed views of a file, made on first use. */
	json_t *parsed;
	char *pv_text, *stats_text, *dv_text;
} str_pair;

typedef struct pair_list {
	str_pair *items;
	size_t n, cap;
} pair_list;

struct dsql_snapshot {
	char *table;
	int64_t version;
	int64_t timestamp_ms;
	char *protocol;
	char *metadata;
	json_t *protocol_json, *metadata_json; /* parsed on first use */
	char *reader_features, *writer_features;
	pair_list files;   /* key: add body */
	pair_list app_txns; /* key: appId, version */
	pair_list domains; /* key: domain, value: configuration */
	arena strings;     /* the lists' keys and values */
};

/* Doubles the list's room. Its memory comes from arena_block_alloc, as the
 * bodies' does: a million files' list is 56 MB, and faulting it in page by
 * page cost more than copying it to each bigger block. 0 when out of
 * memory. */
static int grow(pair_list *l)
{
	size_t cap = l->cap ? l->cap * 2 : 64;
	str_pair *n;

	if (cap > SIZE_MAX / sizeof(*n) || !(n = arena_block_alloc(cap * sizeof(*n))))
		return 0;
	if (l->n)
		memcpy(n, l->items, l->n * sizeof(*n));
	arena_block_free(l->items, l->cap * sizeof(*n));
	l->items = n;
	l->cap = cap;
	return 1;
}

/* Appends a copy of key (len bytes: the file bodies' length is known) and of
 * value, both in the snapshot's arena. */
static int push(pair_list *l, arena *a, const char *key, size_t len, const char *value,
                int64_t version, dsql_error *err)
{
	str_pair *p;

	if (l->n == l->cap && !grow(l))
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	p = &l->items[l->n];
	memset(p, 0, sizeof(*p));
	p->key = arena_strndup(a, key, len);
	p->value = value ? arena_strndup(a, value, strlen(value)) : NULL;
	p->version = version;
	if (!p->key || (value && !p->value))
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	l->n++;
	return DSQL_OK;
}

static void free_list(pair_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		json_decref(l->items[i].parsed);
		free(l->items[i].pv_text);
		free(l->items[i].stats_text);
		free(l->items[i].dv_text);
	}
	arena_block_free(l->items, l->cap * sizeof(*l->items));
}

void dsql_snapshot_free(dsql_snapshot *snap)
{
	if (!snap)
		return;
	free(snap->table);
	free(snap->protocol);
	free(snap->metadata);
	json_decref(snap->protocol_json);
	json_decref(snap->metadata_json);
	free(snap->reader_features);
	free(snap->writer_features);
	free_list(&snap->files);
	free_list(&snap->app_txns);
	free_list(&snap->domains);
	arena_free(&snap->strings);
	free(snap);
}

/* The body of a stored action line {"kind":body}: a substring when the line
 * has the compact form the commit path writes, else parsed again. */
static char *body_of(const char *line, size_t len, const char *kind)
{
	size_t k = strlen(kind);
	json_t *j;
	char *out;

	if (len > k + 5 && line[0] == '{' && line[1] == '"' && strncmp(line + 2, kind, k) == 0 &&
	    line[k + 2] == '"' && line[k + 3] == ':' && line[len - 1] == '}') {
		out = malloc(len - k - 4);
		if (out) {
			memcpy(out, line + k + 4, len - k - 5);
			out[len - k - 5] = '\0';
		}
		return out;
	}
	j = json_loads(line, 0, NULL);
	out = json_dumps(json_object_get(j, kind), JSON_COMPACT);
	json_decref(j);
	return out;
}

/* The protocol and metaData actions in force at the version, in one
 * statement (one round trip on a server database). */
static int load_protocol_metadata(dsql_db *db, dsql_snapshot *s, int64_t id, dsql_error *err)
{
	db_stmt *st;
	int rc;

	rc = db_stmt_get(&st, db,
	                 "SELECT a.kind, a.body FROM dsql_action a WHERE a.table_id = ?"
	                 " AND a.kind IN ('protocol', 'metaData') AND a.version = (SELECT"
	                 " MAX(b.version) FROM dsql_action b WHERE b.table_id = a.table_id"
	                 " AND b.kind = a.kind AND b.version <= ?)",
	                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "ii", id, s->version);
	for (; rc == DSQL_ROW; rc = db_step(st, err)) {
		const char *kind = db_column_text(st, 0, NULL);
		size_t len;
		const char *line = db_column_text(st, 1, &len);
		char **slot = strcmp(kind, "protocol") == 0 ? &s->protocol : &s->metadata;

		free(*slot);
		if (!(*slot = body_of(line, len, kind))) {
			db_stmt_done(st);
			return dsql_error_set(err, DSQL_EDB, NULL, NULL, 0,
			                      "catalog holds a malformed %s action", kind);
		}
	}
	if (rc != DSQL_DONE)
		return rc;
	if (!s->protocol || !s->metadata)
		return dsql_error_set(err, DSQL_EDB, NULL, NULL, 0,
		                      "catalog has no %s action for table id %lld at version %lld",
		                      s->protocol ? "metaData" : "protocol", (long long)id,
		                      (long long)s->version);
	return DSQL_OK;
}

static int load_files(dsql_db *db, dsql_snapshot *s, int64_t id, int64_t latest,
                      dsql_error *err)
{
	db_stmt *st;
	int rc;

	/* The latest version has its own query: it walks the live index. The
	 * order names the index's columns (removed_version is NULL in every
	 * row): the primary key gives (path, dv_id) order too, over the
	 * table's whole history, and a PostgreSQL plan made while the file
	 * index was empty took it, both costing nothing then. */
	if (s->version == latest) {
		rc = db_stmt_get(&st, db,
		                 "SELECT path, body FROM dsql_file WHERE table_id = ?"
		                 " AND removed_version IS NULL ORDER BY removed_version, path, dv_id",
		                 err);
		if (rc == DSQL_OK)
			rc = db_run(st, err, "i", id);
	} else {
		rc = db_stmt_get(&st, db,
		                 "SELECT path, body FROM dsql_file WHERE table_id = ?"
		                 " AND added_version <= ?"
		                 " AND (removed_version IS NULL OR removed_version > ?)"
		                 " ORDER BY path, dv_id",
		                 err);
		if (rc == DSQL_OK)
			rc = db_run(st, err, "iii", id, s->version, s->version);
	}
	for (; rc == DSQL_ROW; rc = db_step(st, err)) {
		size_t len;
		const char *body = db_column_text(st, 1, &len);

		if ((rc = push(&s->files, &s->strings, body, len, NULL, 0, err)) != DSQL_OK) {
			db_stmt_done(st);
			return rc;
		}
	}
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

/* The applications' transaction versions and the live domains, in one
 * statement (kind 0: appId and version; kind 1: domain and configuration). */
static int load_app_txns(dsql_db *db, dsql_snapshot *s, int64_t id, dsql_error *err)
{
	db_stmt *st;
	int rc;

	rc = db_stmt_get(&st, db,
	                 "SELECT 0, a.app_id, a.version, NULL FROM dsql_app_txn a"
	                 " WHERE a.table_id = ? AND a.commit_version = (SELECT"
	                 " MAX(b.commit_version) FROM dsql_app_txn b WHERE b.table_id = a.table_id"
	                 " AND b.app_id = a.app_id AND b.commit_version <= ?)"
	                 " UNION ALL SELECT 1, d.domain, 0, d.configuration FROM dsql_domain d"
	                 " WHERE d.table_id = ? AND d.removed = 0 AND d.commit_version = (SELECT"
	                 " MAX(e.commit_version) FROM dsql_domain e WHERE e.table_id = d.table_id"
	                 " AND e.domain = d.domain AND e.commit_version <= ?) ORDER BY 1, 2",
	                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "iiii", id, s->version, id, s->version);
	for (; rc == DSQL_ROW; rc = db_step(st, err)) {
		size_t len;
		const char *key = db_column_text(st, 1, &len);

		if (db_column_int64(st, 0) == 0)
			rc = push(&s->app_txns, &s->strings, key, len, NULL, db_column_int64(st, 2), err);
		else
			rc = push(&s->domains, &s->strings, key, len, db_column_text(st, 3, NULL), 0, err);
		if (rc != DSQL_OK) {
			db_stmt_done(st);
			return rc;
		}
	}
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

/* Resolves the version to load: an explicit one, the latest (version -1),
 * or the latest at or before a timestamp (at_ms >= 0). */
static int resolve_version(dsql_db *db, const char *name, int64_t *id, int64_t *version,
                           int64_t *latest, int64_t at_ms, int64_t *ts, dsql_error *err)
{
	db_stmt *st;
	int rc;

	int64_t oldest, latest_ms = -1;

	/* The latest version's commit time comes with the table's row. */
	rc = db_stmt_get(&st, db,
	                 "SELECT t.id, t.version, t.oldest_version, c.commit_ms FROM dsql_table t"
	                 " LEFT JOIN dsql_commit c ON c.table_id = t.id AND c.version = t.version"
	                 " WHERE t.name = ?",
	                 err);
	if (rc != DSQL_OK)
		return rc;
	rc = db_run(st, err, "t", name);
	if (rc == DSQL_DONE)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0, "no such table: '%s'", name);
	if (rc != DSQL_ROW)
		return rc;
	*id = db_column_int64(st, 0);
	*latest = db_column_int64(st, 1);
	oldest = db_column_int64(st, 2);
	if (!db_column_is_null(st, 3))
		latest_ms = db_column_int64(st, 3);
	db_stmt_done(st);
	if (at_ms >= 0) {
		rc = db_stmt_get(&st, db,
		                 "SELECT MAX(version) FROM dsql_commit WHERE table_id = ?"
		                 " AND commit_ms <= ?",
		                 err);
		if (rc == DSQL_OK)
			rc = db_run(st, err, "ii", *id, at_ms);
		if (rc != DSQL_ROW)
			return rc == DSQL_DONE ? DSQL_ERROR : rc;
		if (db_column_is_null(st, 0)) {
			db_stmt_done(st);
			return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
			                      "table '%s' had no version at or before %lld ms", name,
			                      (long long)at_ms);
		}
		*version = db_column_int64(st, 0);
		db_stmt_done(st);
	} else if (*version == DSQL_LATEST) {
		*version = *latest;
	}
	if (*version < 0 || *version > *latest)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "table '%s' has no version %lld (its latest is %lld)", name,
		                      (long long)*version, (long long)*latest);
	if (*version < oldest)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "table '%s': version %lld has expired (the oldest version kept "
		                      "is %lld)", name, (long long)*version, (long long)oldest);
	if (*version == *latest && latest_ms >= 0) {
		*ts = latest_ms;
		return DSQL_OK;
	}
	rc = db_stmt_get(&st, db,
	                 "SELECT commit_ms FROM dsql_commit WHERE table_id = ? AND version = ?", err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "ii", *id, *version);
	if (rc == DSQL_ROW) {
		*ts = db_column_int64(st, 0);
		db_stmt_done(st);
		return DSQL_OK;
	}
	return rc == DSQL_DONE ? dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
	                                        "table '%s': version %lld is no longer available",
	                                        name, (long long)*version)
	                       : rc;
}

/* Loads one table's snapshot inside the caller's read transaction. */
static int load_in_txn(dsql_snapshot **out, dsql_catalog *cat, const char *table,
                       int64_t version, int64_t at_ms, dsql_error *err)
{
	dsql_snapshot *s;
	int64_t id = 0, latest = 0;
	int rc;

	*out = NULL;
	if ((rc = util_check_name("table", table, err)) != DSQL_OK)
		return rc;
	if (version < DSQL_LATEST)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "version %lld is negative", (long long)version);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->table = strdup(table))) {
		free(s);
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	}
	s->version = version;
	rc = resolve_version(cat->db, table, &id, &s->version, &latest, at_ms, &s->timestamp_ms,
	                     err);
	if (rc == DSQL_OK)
		rc = load_protocol_metadata(cat->db, s, id, err);
	if (rc == DSQL_OK)
		rc = load_files(cat->db, s, id, latest, err);
	if (rc == DSQL_OK)
		rc = load_app_txns(cat->db, s, id, err);
	if (rc != DSQL_OK) {
		dsql_snapshot_free(s);
		return rc;
	}
	*out = s;
	return DSQL_OK;
}

static int load(dsql_snapshot **out, dsql_catalog *cat, const char *table, int64_t version,
                int64_t at_ms, dsql_error *err)
{
	int rc;

	*out = NULL;
	if (!cat)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "catalog is NULL");
	rc = db_begin(cat->db, DSQL_BEGIN_READ, err);
	if (rc == DSQL_OK)
		rc = load_in_txn(out, cat, table, version, at_ms, err);
	if (rc == DSQL_OK)
		rc = db_commit(cat->db, err);
	else
		db_rollback(cat->db);
	if (rc != DSQL_OK) {
		dsql_snapshot_free(*out);
		*out = NULL;
	}
	return rc;
}

int dsql_snapshot_open_many(dsql_snapshot **out, dsql_catalog *cat, const char *const *tables,
                            size_t n, dsql_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	if (!cat)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "catalog is NULL");
	/* One read transaction: the snapshots are of one moment, so every
	 * multi-table commit is in all of them or in none. */
	rc = db_begin(cat->db, DSQL_BEGIN_READ, err);
	for (i = 0; rc == DSQL_OK && i < n; i++)
		rc = load_in_txn(&out[i], cat, tables[i], DSQL_LATEST, -1, err);
	if (rc == DSQL_OK)
		rc = db_commit(cat->db, err);
	else
		db_rollback(cat->db);
	if (rc != DSQL_OK)
		for (i = 0; i < n; i++) {
			dsql_snapshot_free(out[i]);
			out[i] = NULL;
		}
	return rc;
}

int dsql_snapshot_open(dsql_snapshot **out, dsql_catalog *cat, const char *table,
                       int64_t version, dsql_error *err)
{
	return load(out, cat, table, version, -1, err);
}

int dsql_snapshot_open_at(dsql_snapshot **out, dsql_catalog *cat, const char *table,
                          int64_t timestamp_ms, dsql_error *err)
{
	if (timestamp_ms < 0)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "timestamp is negative");
	return load(out, cat, table, DSQL_LATEST, timestamp_ms, err);
}

const char *dsql_snapshot_table(const dsql_snapshot *s) { return s->table; }
int64_t dsql_snapshot_version(const dsql_snapshot *s) { return s->version; }
int64_t dsql_snapshot_timestamp(const dsql_snapshot *s) { return s->timestamp_ms; }
const char *dsql_snapshot_protocol_json(const dsql_snapshot *s) { return s->protocol; }
const char *dsql_snapshot_metadata_json(const dsql_snapshot *s) { return s->metadata; }
size_t dsql_snapshot_file_count(const dsql_snapshot *s) { return s->files.n; }

const char *dsql_snapshot_file_json(const dsql_snapshot *s, size_t i)
{
	return i < s->files.n ? s->files.items[i].key : NULL;
}

size_t dsql_snapshot_app_txn_count(const dsql_snapshot *s) { return s->app_txns.n; }

const char *dsql_snapshot_app_txn(const dsql_snapshot *s, size_t i, int64_t *version)
{
	if (i >= s->app_txns.n)
		return NULL;
	if (version)
		*version = s->app_txns.items[i].version;
	return s->app_txns.items[i].key;
}

size_t dsql_snapshot_domain_count(const dsql_snapshot *s) { return s->domains.n; }

const char *dsql_snapshot_domain(const dsql_snapshot *s, size_t i, const char **configuration)
{
	if (i >= s->domains.n)
		return NULL;
	if (configuration)
		*configuration = s->domains.items[i].value;
	return s->domains.items[i].key;
}

/* --- typed views --- */

/* The snapshot is immutable to its users; the parsed forms are caches. */
static json_t *protocol_of(const dsql_snapshot *s)
{
	dsql_snapshot *m = (dsql_snapshot *)s;

	if (!m->protocol_json)
		m->protocol_json = json_loads(s->protocol, 0, NULL);
	return m->protocol_json;
}

static json_t *metadata_of(const dsql_snapshot *s)
{
	dsql_snapshot *m = (dsql_snapshot *)s;

	if (!m->metadata_json)
		m->metadata_json = json_loads(s->metadata, 0, NULL);
	return m->metadata_json;
}

int dsql_snapshot_min_reader_version(const dsql_snapshot *s)
{
	return (int)json_integer_value(json_object_get(protocol_of(s), "minReaderVersion"));
}

int dsql_snapshot_min_writer_version(const dsql_snapshot *s)
{
	return (int)json_integer_value(json_object_get(protocol_of(s), "minWriterVersion"));
}

static const char *features(const dsql_snapshot *s, const char *key, char **cache)
{
	json_t *f = json_object_get(protocol_of(s), key);

	if (!*cache)
		*cache = f ? json_dumps(f, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("[]");
	return *cache;
}

const char *dsql_snapshot_reader_features(const dsql_snapshot *s)
{
	return features(s, "readerFeatures", &((dsql_snapshot *)s)->reader_features);
}

const char *dsql_snapshot_writer_features(const dsql_snapshot *s)
{
	return features(s, "writerFeatures", &((dsql_snapshot *)s)->writer_features);
}

const char *dsql_snapshot_metadata_id(const dsql_snapshot *s)
{
	return json_string_value(json_object_get(metadata_of(s), "id"));
}

const char *dsql_snapshot_schema_string(const dsql_snapshot *s)
{
	return json_string_value(json_object_get(metadata_of(s), "schemaString"));
}

size_t dsql_snapshot_partition_column_count(const dsql_snapshot *s)
{
	return json_array_size(json_object_get(metadata_of(s), "partitionColumns"));
}

const char *dsql_snapshot_partition_column(const dsql_snapshot *s, size_t i)
{
	return json_string_value(json_array_get(json_object_get(metadata_of(s), "partitionColumns"),
	                                        i));
}

const char *dsql_snapshot_property(const dsql_snapshot *s, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(metadata_of(s), "configuration"), key));
}

int dsql_snapshot_file(const dsql_snapshot *s, size_t i, dsql_file_info *out)
{
	str_pair *f;
	json_t *b, *v, *dv, *stats = NULL;

	if (i >= s->files.n)
		return DSQL_ENOTFOUND;
	f = &s->files.items[i];
	if (!f->parsed) {
		f->parsed = json_loads(f->key, 0, NULL);
		if (!f->parsed)
			return DSQL_ENOMEM;
		v = json_object_get(f->parsed, "partitionValues");
		f->pv_text = v ? json_dumps(v, JSON_COMPACT) : strdup("{}");
		if ((dv = json_object_get(f->parsed, "deletionVector")) && json_is_object(dv))
			f->dv_text = json_dumps(dv, JSON_COMPACT);
		if (json_is_string(v = json_object_get(f->parsed, "stats")))
			f->stats_text = strdup(json_string_value(v));
	}
	b = f->parsed;
	memset(out, 0, sizeof(*out));
	out->path = json_string_value(json_object_get(b, "path"));
	out->size = json_integer_value(json_object_get(b, "size"));
	v = json_object_get(b, "modificationTime");
	out->modification_time = json_is_integer(v) ? json_integer_value(v) : -1;
	out->data_change = !json_is_false(json_object_get(b, "dataChange"));
	out->partition_values_json = f->pv_text;
	out->stats_json = f->stats_text;
	out->num_records = -1;
	if (f->stats_text && (stats = json_loads(f->stats_text, 0, NULL)) &&
	    json_is_integer(v = json_object_get(stats, "numRecords")))
		out->num_records = json_integer_value(v);
	json_decref(stats);
	dv = json_object_get(b, "deletionVector");
	out->has_deletion_vector = json_is_object(dv);
	out->dv_cardinality = json_integer_value(json_object_get(dv, "cardinality"));
	out->dv_json = f->dv_text;
	return DSQL_OK;
}
