/*
 * Publication: the catalog is the source of truth, and a table's
 * _delta_log/ under its location is its publication for the engines that
 * read files (Spark, delta-rs, DuckDB). After a commit's database
 * transaction, each table it wrote gets its new versions as
 * _delta_log/<version>.json, the bytes export writes, in version order and
 * put-if-absent (delta_log.h). Nothing about publication is kept in the
 * catalog: the files say how far it got, so a commit whose publication
 * failed (a crash, storage away) is caught up by the next commit or by
 * dsql_delta_publish, from any process.
 *
 * A version file that is there with other actions than the catalog's means
 * another writer keeps the table's log: publication of that table stops
 * (for this handle; a new one finds the same file again) and says so.
 */
#include "deltasql/delta.h"
#include "catalog_int.h"
#include "checkpoint.h"
#include "delta_log.h"
#include "log.h"
#include "publish.h"
#include "schema.h"
#include "txn_int.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What a handle knows of one table's publication. */
struct publish_state {
	int64_t id;
	char *dir;         /* the local location; NULL: nothing to publish to */
	int64_t published; /* the highest version known published; -1: not known */
	char *stopped;     /* why publication stopped (a foreign log); NULL: it did not */
	int64_t interval;  /* delta.checkpointInterval at the version published */
};

#define CATALOG_KEY "publish"
#define TABLE_PROPERTY "deltasql.publish"
/* Delta's default delta.checkpointInterval. */
#define CHECKPOINT_INTERVAL 10

void publish_free_all(dsql_catalog *cat)
{
	for (size_t i = 0; i < cat->n_published; i++) {
		free(cat->published[i].dir);
		free(cat->published[i].stopped);
	}
	free(cat->published);
	cat->published = NULL;
	cat->n_published = cat->cap_published = 0;
}

/* The directory of a local location: an absolute path or a file: URI;
 * NULL for any other store (published by nobody here). */
static const char *local_dir(const char *location)
{
	if (!location)
		return NULL;
	if (strncmp(location, "file://", 7) == 0)
		location += 7;
	else if (strncmp(location, "file:", 5) == 0)
		location += 5;
	return location[0] == '/' ? location : NULL;
}

static int load_state(dsql_catalog *cat, int64_t id, publish_state **out, dsql_error *err)
{
	publish_state *s;
	db_stmt *st;
	const char *dir;
	int rc;

	for (size_t i = 0; i < cat->n_published; i++)
		if (cat->published[i].id == id) {
			*out = &cat->published[i];
			return DSQL_OK;
		}
	if ((rc = db_stmt_get(&st, cat->db, "SELECT location FROM dsql_table WHERE id = ?",
	                      err)) != DSQL_OK)
		return rc;
	if ((rc = db_run(st, err, "i", id)) != DSQL_ROW)
		return rc == DSQL_DONE ? dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                                        "table id %lld is gone", (long long)id)
		                       : rc;
	if (cat->n_published == cat->cap_published) {
		size_t cap = cat->cap_published ? cat->cap_published * 2 : 8;
		publish_state *n = realloc(cat->published, cap * sizeof(*n));

		if (!n) {
			db_stmt_done(st);
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		}
		cat->published = n;
		cat->cap_published = cap;
	}
	s = &cat->published[cat->n_published];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->published = -1;
	dir = local_dir(db_column_text_or_null(st, 0));
	if (dir && !(s->dir = strdup(dir))) {
		db_stmt_done(st);
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	}
	db_stmt_done(st);
	cat->n_published++;
	*out = s;
	return DSQL_OK;
}

/* Whether the catalog publishes at all (its 'publish' key; on unless
 * 'off'), read once per handle. */
static int catalog_publishes(dsql_catalog *cat, int *out, dsql_error *err)
{
	int rc;

	if (cat->publish_mode < 0) {
		char value[16];

		rc = schema_get(cat, CATALOG_KEY, value, sizeof(value), err);
		if (rc != DSQL_OK && rc != DSQL_ENOTFOUND)
			return rc;
		cat->publish_mode = !(rc == DSQL_OK && strcmp(value, "off") == 0);
	}
	*out = cat->publish_mode;
	return DSQL_OK;
}

/* Whether the table's metaData at version leaves publication on (its
 * configuration has no deltasql.publish=false), and its checkpoint
 * interval. */
static int table_publishes(dsql_catalog *cat, int64_t id, int64_t version, int *out,
                           int64_t *interval, dsql_error *err)
{
	table_hint *h = hint_by_id(cat, id);
	json_t *md = NULL, *v;
	int rc = DSQL_OK;

	if (h && h->version == version && h->metadata)
		md = json_incref(h->metadata);
	else if ((rc = catalog_metadata_at(cat->db, id, version, &md, NULL, err)) != DSQL_OK)
		return rc;
	v = json_object_get(json_object_get(md, "configuration"), TABLE_PROPERTY);
	*out = !(json_is_string(v) && strcmp(json_string_value(v), "false") == 0);
	v = json_object_get(json_object_get(md, "configuration"), "delta.checkpointInterval");
	*interval = json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
	if (*interval <= 0)
		*interval = CHECKPOINT_INTERVAL;
	json_decref(md);
	return DSQL_OK;
}

/* A commit file's name: twenty digits and ".json"; -1 for anything else. */
static int64_t version_of_name(const char *name)
{
	int64_t v = 0;

	if (strlen(name) != 25 || strcmp(name + 20, ".json") != 0)
		return -1;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

static int highest_in_dir(const char *logdir, int64_t *out, dsql_error *err)
{
	DIR *d = opendir(logdir);
	struct dirent *e;

	*out = -1;
	if (!d)
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot read '%s': %s", logdir,
		                      strerror(errno));
	while ((e = readdir(d)) != NULL) {
		int64_t v = version_of_name(e->d_name);

		if (v > *out)
			*out = v;
	}
	closedir(d);
	return DSQL_OK;
}

static void version_file(char *out, size_t cap, const char *logdir, int64_t v)
{
	snprintf(out, cap, "%s/%020lld.json", logdir, (long long)v);
}

static int exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* The lines of a commit file, each parsed and written back in one form
 * (keys sorted), sorted: two files with these equal hold the same actions,
 * however their writer spelled and ordered them. */
static json_t *canonical_lines(const char *text, size_t len)
{
	json_t *out = json_array();
	const char *p = text, *end = text + len;

	while (out && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *line;
		char *form;

		if (n > 0) {
			if (!(line = json_loadb(p, n, JSON_DECODE_ANY, NULL))) {
				json_decref(out);
				return NULL;
			}
			form = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
			json_decref(line);
			if (!form || json_array_append_new(out, json_string(form)) != 0) {
				free(form);
				json_decref(out);
				return NULL;
			}
			free(form);
		}
		p += n + 1;
	}
	return out;
}

static int cmp_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int same_lines(json_t *a, json_t *b)
{
	size_t n = json_array_size(a);
	const char **x, **y;
	int same = 1;

	if (n != json_array_size(b))
		return 0;
	x = malloc((n + 1) * sizeof(*x));
	y = malloc((n + 1) * sizeof(*y));
	if (!x || !y) {
		free(x);
		free(y);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		x[i] = json_string_value(json_array_get(a, i));
		y[i] = json_string_value(json_array_get(b, i));
	}
	qsort(x, n, sizeof(*x), cmp_strings);
	qsort(y, n, sizeof(*y), cmp_strings);
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(x[i], y[i]) == 0;
	free(x);
	free(y);
	return same;
}

/* A whole file, malloc'ed (NULL when it cannot be read). */
static char *read_file(const char *file, size_t *len)
{
	FILE *f = fopen(file, "rb");
	struct stat sb;
	char *buf = NULL;

	if (f && fstat(fileno(f), &sb) == 0 && (buf = malloc((size_t)sb.st_size + 1)) != NULL)
		*len = fread(buf, 1, (size_t)sb.st_size, f);
	if (f)
		fclose(f);
	return buf;
}

/* Whether file holds the version's actions: its bytes, or (a log that an
 * engine wrote and deltasql imported) the same actions written otherwise. */
static int holds_version(const char *file, const char *text, size_t len)
{
	size_t n = 0;
	char *buf;
	json_t *a, *b;
	int same;

	if (log_same_content(file, text, len))
		return 1;
	if (!(buf = read_file(file, &n)))
		return 0;
	a = canonical_lines(buf, n);
	b = canonical_lines(text, len);
	same = a && b && same_lines(a, b);
	json_decref(a);
	json_decref(b);
	free(buf);
	return same;
}

static int stop(publish_state *s, const char *table, int64_t v, const char *file,
                dsql_error *err)
{
	char why[DSQL_ERROR_MESSAGE_MAX];

	snprintf(why, sizeof(why),
	         "table '%s': '%s' (version %lld) exists with other actions than the catalog's: "
	         "another writer keeps this table's log, so deltasql stopped publishing it",
	         table, file, (long long)v);
	free(s->stopped);
	s->stopped = strdup(why);
	return dsql_error_set(err, DSQL_EEXISTS, NULL, NULL, 0, "%s", why);
}

/* How far the log has the table: target or the version before it when
 * that file is there (versions are only ever published in order), else the
 * highest in the directory. The file found is checked against the
 * catalog; a log that runs past target is another writer's. */
static int find_published(dsql_catalog *cat, publish_state *s, const char *table,
                          const char *logdir, int64_t target, int64_t *out, dsql_error *err)
{
	char file[PATH_MAX + 64], *text = NULL;
	size_t len = 0;
	int64_t h = -1;
	int rc;

	if (version_file(file, sizeof(file), logdir, target), exists(file))
		h = target;
	else if (version_file(file, sizeof(file), logdir, target - 1), target > 0 && exists(file))
		h = target - 1;
	else if ((rc = highest_in_dir(logdir, &h, err)) != DSQL_OK)
		return rc;
	*out = h;
	if (h < 0)
		return DSQL_OK;
	if (h > target) {
		version_file(file, sizeof(file), logdir, h);
		return stop(s, table, h, file, err);
	}
	version_file(file, sizeof(file), logdir, h);
	rc = log_version_text(cat, s->id, h, &text, &len, err);
	if (rc == DSQL_ENOTFOUND) {
		dsql_error_clear(err); /* expired here: nothing to compare with */
		return DSQL_OK;
	}
	if (rc == DSQL_OK && !holds_version(file, text, len))
		rc = stop(s, table, h, file, err);
	free(text);
	return rc;
}

static int publish_state_upto(dsql_catalog *cat, publish_state *s, const char *table,
                              int64_t target, int64_t *written, dsql_error *err)
{
	char logdir[PATH_MAX + 16], file[PATH_MAX + 64];
	int64_t next, v;
	struct stat sb;
	int rc = DSQL_OK;

	if (s->stopped)
		return dsql_error_set(err, DSQL_EEXISTS, NULL, NULL, 0, "%s", s->stopped);
	if (s->published >= target)
		return DSQL_OK;
	if (stat(s->dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0,
		                      "table '%s': location '%s' is not a directory (%s); its log is "
		                      "not published yet",
		                      table, s->dir, errno ? strerror(errno) : "not a directory");
	snprintf(logdir, sizeof(logdir), "%s/_delta_log", s->dir);
	if (mkdir(logdir, 0755) != 0 && errno != EEXIST)
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot create '%s': %s", logdir,
		                      strerror(errno));
	if (s->published >= 0) {
		next = s->published + 1;
	} else {
		if ((rc = find_published(cat, s, table, logdir, target, &v, err)) != DSQL_OK)
			return rc;
		next = v + 1;
		s->published = v;
	}
	for (v = next; v <= target && rc == DSQL_OK; v++) {
		char *text = NULL;
		size_t len = 0;

		version_file(file, sizeof(file), logdir, v);
		rc = log_version_text(cat, s->id, v, &text, &len, err);
		if (rc == DSQL_ENOTFOUND)
			rc = dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
			                    "table '%s': version %lld expired before it was published; "
			                    "its log cannot be published from version %lld on",
			                    table, (long long)v, (long long)v);
		/* Another publisher (a process committing to the table too) may
		 * have written it: then the file is there and holds the version. */
		int there = rc == DSQL_OK && exists(file);

		if (rc == DSQL_OK && !there)
			rc = log_write_file(file, text, len, err);
		if ((there || rc == DSQL_EEXISTS) && !holds_version(file, text, len))
			rc = stop(s, table, v, file, err);
		else if (rc == DSQL_EEXISTS)
			rc = DSQL_OK; /* the same actions, written otherwise */
		free(text);
		if (rc == DSQL_OK) {
			s->published = v;
			if (!there) {
				cat->metrics.published_files++;
				if (written)
					(*written)++;
			}
		}
	}
	if (s->published >= next) {
		int rc2 = log_sync_dir(logdir, rc == DSQL_OK ? err : NULL);

		if (rc == DSQL_OK)
			rc = rc2;
	}
	/* A checkpoint at the newest multiple of the interval just published
	 * (a catch-up of many versions writes one, not one per interval). */
	if (rc == DSQL_OK && checkpoint_enabled() && s->published >= next) {
		int64_t c = s->published / s->interval * s->interval;

		if (c > 0 && c >= next)
			rc = checkpoint_write(cat, table, c, logdir, err);
	}
	return rc;
}

/* Publishes one table up to target when publication is on for it;
 * *active (may be NULL) says whether it is. */
static int publish_table(dsql_catalog *cat, int64_t id, const char *table, int64_t target,
                         int *active, int64_t *written, dsql_error *err)
{
	publish_state *s = NULL;
	int on = 0, rc;

	if (active)
		*active = 0;
	if ((rc = catalog_publishes(cat, &on, err)) != DSQL_OK || !on)
		return rc;
	if ((rc = load_state(cat, id, &s, err)) != DSQL_OK || !s->dir)
		return rc;
	if ((rc = table_publishes(cat, id, target, &on, &s->interval, err)) != DSQL_OK || !on)
		return rc;
	if (active)
		*active = 1;
	return publish_state_upto(cat, s, table, target, written, err);
}

void publish_after_commit(dsql_txn *txn)
{
	dsql_catalog *cat = txn->cat;

	if (txn->verbatim)
		return; /* an import: the log it came from is there already */
	for (size_t i = 0; i < txn->n_tables; i++) {
		const txn_table *t = &txn->tables[i];
		dsql_error err;
		int rc;

		if (t->committed_version < 0)
			continue;
		dsql_error_clear(&err);
		rc = publish_table(cat, t->id, t->name, t->committed_version, NULL, NULL, &err);
		if (rc == DSQL_OK)
			continue;
		cat->metrics.publish_failures++;
		if (LOG_WANTS(&cat->log, DSQL_LOG_WARN)) {
			log_num v;
			dsql_log_field f[] = {{"table", t->name},
			                      {"version", log_int(v, t->committed_version)},
			                      {"code", dsql_status_name(rc)}};

			log_emit(&cat->log, DSQL_LOG_WARN, DSQL_EVENT_PUBLISH, f, LOG_N(f), "%s",
			         err.message);
		}
	}
}

int dsql_delta_publish(dsql_catalog *cat, const char *table, int64_t *written, dsql_error *err)
{
	int64_t id, latest;
	int rc, active = 0;

	if (written)
		*written = 0;
	if (!cat || !table)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "publish: missing argument");
	if ((rc = catalog_find_table(cat, table, &id, &latest, err)) != DSQL_OK)
		return rc;
	rc = publish_table(cat, id, table, latest, &active, written, err);
	if (rc == DSQL_OK && !active)
		return dsql_error_set(err, DSQL_EUNSUPPORTED, NULL, NULL, 0,
		                      "table '%s' is not published: it has no local location, or "
		                      "publication is off (" TABLE_PROPERTY "=false, or catalog-wide)",
		                      table);
	if (rc != DSQL_OK)
		cat->metrics.publish_failures++;
	return rc;
}

int dsql_catalog_set_publish(dsql_catalog *cat, int on, dsql_error *err)
{
	int rc;

	if (!cat)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "catalog is NULL");
	if ((rc = schema_set(cat, CATALOG_KEY, on ? "on" : "off", err)) != DSQL_OK)
		return rc;
	cat->publish_mode = on ? 1 : 0;
	return DSQL_OK;
}
