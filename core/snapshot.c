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
		/* The same rows in the same order where the dialect asks for the
		 * primary key's (MariaDB sorts the other way). */
		rc = db_stmt_get(&st, db,
		                 db_choose(db)->sort_by_key
		                         ? "SELECT path, body FROM dsql_file WHERE table_id = ?"
		                           " AND removed_version IS NULL ORDER BY path, dv_id"
		                         : "SELECT path, body FROM dsql_file WHERE table_id = ?"
		                           " AND removed_version IS NULL"
		                           " ORDER BY removed_version, path, dv_id",
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

/* What a snapshot holds besides its files, in one statement (one round
 * trip on a server): the table's row, the commit of the version, the
 * protocol and metaData in force at it, the applications' transaction
 * versions and the live domains. Each arm finds the table by name; V is
 * the version, as the table's own (the latest) or as a parameter. Rows by
 * kind: 0 the table (id, latest, oldest), 1 the commit (version, time), 2
 * protocol or metaData (kind, line), 3 an appId (id, version), 4 a domain
 * (domain, configuration). */
#define TABLE_ID "(SELECT t2.id FROM dsql_table t2 WHERE t2.name = ?)"
#define HEADER(V)                                                                              \
	"SELECT 0, NULL, NULL, t.id, t.version, t.oldest_version FROM dsql_table t"                \
	" WHERE t.name = ?"                                                                        \
	" UNION ALL SELECT 1, NULL, NULL, c.version, c.commit_ms, 0 FROM dsql_commit c"            \
	" WHERE c.table_id = " TABLE_ID " AND c.version = " V                                      \
	" UNION ALL SELECT 2, a.kind, a.body, a.version, 0, 0 FROM dsql_action a"                  \
	" WHERE a.table_id = " TABLE_ID " AND a.kind IN ('protocol', 'metaData')"                  \
	" AND a.version = (SELECT MAX(b.version) FROM dsql_action b WHERE b.table_id = a.table_id" \
	" AND b.kind = a.kind AND b.version <= " V ")"                                             \
	" UNION ALL SELECT 3, p.app_id, NULL, p.version, 0, 0 FROM dsql_app_txn p"                 \
	" WHERE p.table_id = " TABLE_ID " AND p.commit_version = (SELECT MAX(q.commit_version)"    \
	" FROM dsql_app_txn q WHERE q.table_id = p.table_id AND q.app_id = p.app_id"              \
	" AND q.commit_version <= " V ")"                                                          \
	" UNION ALL SELECT 4, d.domain, d.configuration, 0, 0, 0 FROM dsql_domain d"               \
	" WHERE d.table_id = " TABLE_ID " AND d.removed = 0 AND d.commit_version ="               \
	" (SELECT MAX(e.commit_version) FROM dsql_domain e WHERE e.table_id = d.table_id"          \
	" AND e.domain = d.domain AND e.commit_version <= " V ") ORDER BY 1, 2"

typedef struct header {
	int64_t id, latest, oldest;
	int found, has_commit;
} header;

/* One row of the header statement into the snapshot. */
static int header_row(db_stmt *st, dsql_snapshot *s, header *h, dsql_error *err)
{
	size_t len;
	const char *key = db_column_text(st, 1, &len), *line;
	char **slot;

	switch (db_column_int64(st, 0)) {
	case 0:
		h->found = 1;
		h->id = db_column_int64(st, 3);
		h->latest = db_column_int64(st, 4);
		h->oldest = db_column_int64(st, 5);
		return DSQL_OK;
	case 1:
		h->has_commit = 1;
		s->timestamp_ms = db_column_int64(st, 4);
		return DSQL_OK;
	case 2:
		slot = strcmp(key, "protocol") == 0 ? &s->protocol : &s->metadata;
		line = db_column_text(st, 2, &len);
		free(*slot);
		if (!(*slot = body_of(line, len, key)))
			return dsql_error_set(err, DSQL_EDB, NULL, NULL, 0,
			                      "catalog holds a malformed %s action", key);
		return DSQL_OK;
	case 3:
		return push(&s->app_txns, &s->strings, key, len, NULL, db_column_int64(st, 3), err);
	default:
		return push(&s->domains, &s->strings, key, len, db_column_text(st, 2, NULL), 0, err);
	}
}

/* Loads the header of s->version (DSQL_LATEST: the table's latest, which
 * s->version becomes) and checks that the version can be read. */
static int load_header(dsql_db *db, dsql_snapshot *s, header *h, dsql_error *err)
{
	const char *name = s->table;
	int latest = s->version == DSQL_LATEST;
	db_stmt *st;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = db_stmt_get(&st, db,
	                 latest ? HEADER("(SELECT t3.version FROM dsql_table t3 WHERE t3.name = ?)")
	                        : HEADER("?"),
	                 err);
	if (rc == DSQL_OK && latest)
		rc = db_run(st, err, "ttttttttt", name, name, name, name, name, name, name, name, name);
	else if (rc == DSQL_OK)
		rc = db_run(st, err, "ttitititi", name, name, s->version, name, s->version, name,
		            s->version, name, s->version);
	for (; rc == DSQL_ROW; rc = db_step(st, err))
		if ((rc = header_row(st, s, h, err)) != DSQL_OK) {
			db_stmt_done(st);
			return rc;
		}
	if (rc != DSQL_DONE)
		return rc;
	if (!h->found)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0, "no such table: '%s'", name);
	if (latest)
		s->version = h->latest;
	if (s->version > h->latest)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "table '%s' has no version %lld (its latest is %lld)", name,
		                      (long long)s->version, (long long)h->latest);
	if (s->version < h->oldest)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "table '%s': version %lld has expired (the oldest version kept "
		                      "is %lld)", name, (long long)s->version, (long long)h->oldest);
	if (!h->has_commit)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "table '%s': version %lld is no longer available", name,
		                      (long long)s->version);
	if (!s->protocol || !s->metadata)
		return dsql_error_set(err, DSQL_EDB, NULL, NULL, 0,
		                      "catalog has no %s action for table id %lld at version %lld",
		                      s->protocol ? "metaData" : "protocol", (long long)h->id,
		                      (long long)s->version);
	return DSQL_OK;
}

/* The latest version at or before a timestamp. */
static int version_at(dsql_db *db, const char *name, int64_t at_ms, int64_t *version,
                      dsql_error *err)
{
	db_stmt *st;
	int rc;

	rc = db_stmt_get(&st, db,
	                 "SELECT (SELECT MAX(c.version) FROM dsql_commit c WHERE c.table_id = t.id"
	                 " AND c.commit_ms <= ?) FROM dsql_table t WHERE t.name = ?",
	                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "it", at_ms, name);
	if (rc == DSQL_DONE)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0, "no such table: '%s'", name);
	if (rc != DSQL_ROW)
		return rc;
	rc = db_column_is_null(st, 0)
	             ? dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
	                              "table '%s' had no version at or before %lld ms", name,
	                              (long long)at_ms)
	             : DSQL_OK;
	*version = db_column_int64(st, 0);
	db_stmt_done(st);
	return rc;
}

/* Loads one table's snapshot inside the caller's read transaction. */
static int load_in_txn(dsql_snapshot **out, dsql_catalog *cat, const char *table,
                       int64_t version, int64_t at_ms, dsql_error *err)
{
	dsql_snapshot *s;
	header h;
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
	rc = at_ms >= 0 ? version_at(cat->db, table, at_ms, &s->version, err) : DSQL_OK;
	if (rc == DSQL_OK)
		rc = load_header(cat->db, s, &h, err);
	if (rc == DSQL_OK)
		rc = load_files(cat->db, s, h.id, h.latest, err);
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
