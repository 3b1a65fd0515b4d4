/*
 * Retention: expiring old versions' detail and listing removable files.
 *
 * Expiry to oldest version R drops the action rows of versions before R
 * (but the protocol and metaData in force at R), the file-index rows of
 * files removed at or before R (moving them to dsql_tombstone, for vacuum),
 * and app-txn and domain rows superseded at or before R. The commit rows
 * stay: history keeps every version. Everything happens in one write
 * transaction holding the table's row lock, so commits wait, briefly.
 */
#define _GNU_SOURCE
#include "deltasql/retention.h"
#include "catalog_int.h"
#include "schema.h"
#include "delta_path.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_MS (24LL * 3600 * 1000)

/* Delta's interval strings: "interval 30 days", "interval 1 week". 0, or
 * -1 when it is not one, -2 when it does not fit in 64-bit milliseconds
 * (refused: a wrapped value would mean "keep nothing"). */
static int parse_interval(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"millisecond", 1}, {"second", 1000}, {"minute", 60000},
	             {"hour", 3600000}, {"day", DAY_MS}, {"week", 7 * DAY_MS}};
	char unit[32], *end;
	long long n;
	int at = 0;

	if (sscanf(s, " interval %n", &at) != 0 || at == 0 || !isdigit((unsigned char)s[at]))
		return -1;
	errno = 0;
	n = strtoll(s + at, &end, 10);
	if (sscanf(end, " %31s", unit) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t len = strlen(units[i].unit);

		if (strncasecmp(unit, units[i].unit, len) == 0 &&
		    (unit[len] == '\0' || (tolower((unsigned char)unit[len]) == 's' && !unit[len + 1]))) {
			if (errno == ERANGE || n > INT64_MAX / units[i].ms)
				return -2;
			*ms = n * units[i].ms;
			return 0;
		}
	}
	return -1;
}

static int table_property_ms(dsql_catalog *cat, int64_t id, int64_t version, const char *key,
                             int64_t dflt, int64_t *out, dsql_error *err)
{
	json_t *meta = NULL, *v;
	int rc = catalog_metadata_at(cat->db, id, version, &meta, NULL, err);

	*out = dflt;
	v = json_object_get(json_object_get(meta, "configuration"), key);
	if (rc == DSQL_OK && json_is_string(v)) {
		int bad = parse_interval(json_string_value(v), out);

		if (bad == -2)
			rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                    "table property %s = '%.200s' is out of range (at most %lld "
			                    "milliseconds)", key, json_string_value(v),
			                    (long long)INT64_MAX);
		else if (bad)
			rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                    "table property %s = '%.200s' is not an interval (e.g. "
			                    "'interval 30 days')", key, json_string_value(v));
	}
	if (rc == DSQL_OK && !json_is_string(v) && dflt < 0)
		*out = -1;
	json_decref(meta);
	return rc;
}

/* Finds a table and, in a write transaction (lock set), locks its row. */
static int lock_row(dsql_catalog *cat, const char *name, int lock, int64_t *id,
                    int64_t *latest, int64_t *oldest, dsql_error *err)
{
	db_stmt *st;
	int rc = catalog_find_table(cat, name, id, NULL, err);

	if (rc == DSQL_OK && lock)
		rc = db_stmt_get(&st, cat->db, "UPDATE dsql_table SET version = version WHERE id = ?",
		                 err);
	if (rc == DSQL_OK && lock)
		rc = db_run(st, err, "i", *id);
	if (rc == DSQL_OK || rc == DSQL_DONE)
		rc = db_stmt_get(&st, cat->db,
		                 "SELECT version, oldest_version FROM dsql_table WHERE id = ?", err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "i", *id);
	if (rc == DSQL_DONE)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0, "no such table: '%s'", name);
	if (rc != DSQL_ROW)
		return rc;
	*latest = db_column_int64(st, 0);
	*oldest = db_column_int64(st, 1);
	db_stmt_done(st);
	return DSQL_OK;
}

/* The oldest version to keep: the one time travel to the cut-off time
 * lands on (the latest committed at or before it), or the latest N. */
static int choose_oldest(dsql_catalog *cat, int64_t id, int64_t latest, int64_t before_ms,
                         int64_t keep, int64_t *out, dsql_error *err)
{
	db_stmt *st;
	int rc;

	*out = 0;
	if (keep > 0) {
		*out = latest - keep + 1;
		return DSQL_OK;
	}
	rc = db_stmt_get(&st, cat->db,
	                 "SELECT MAX(version) FROM dsql_commit WHERE table_id = ? AND commit_ms <= ?",
	                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "ii", id, before_ms);
	if (rc != DSQL_ROW)
		return rc == DSQL_DONE ? DSQL_OK : rc;
	if (!db_column_is_null(st, 0))
		*out = db_column_int64(st, 0);
	db_stmt_done(st);
	return DSQL_OK;
}

/* Binds a statement's parameters from a pattern over the table id and R:
 * 'i' is the id, 'r' is R. */
static int run_pattern(db_stmt *st, const char *pattern, int64_t id, int64_t r,
                       dsql_error *err)
{
	int64_t v[5] = {0};
	size_t n = strlen(pattern);

	for (size_t i = 0; i < n && i < 5; i++)
		v[i] = pattern[i] == 'i' ? id : r;
	switch (n) {
	case 2: return db_run(st, err, "ii", v[0], v[1]);
	case 3: return db_run(st, err, "iii", v[0], v[1], v[2]);
	default: return db_run(st, err, "iiii", v[0], v[1], v[2], v[3]);
	}
}

static int count(dsql_catalog *cat, const char *sql, const char *pattern, int64_t id,
                 int64_t r, int64_t *out, dsql_error *err)
{
	db_stmt *st;
	int rc = db_stmt_get(&st, cat->db, sql, err);

	if (rc == DSQL_OK)
		rc = run_pattern(st, pattern, id, r, err);
	if (rc != DSQL_ROW)
		return rc == DSQL_DONE ? DSQL_ERROR : rc;
	*out = db_column_int64(st, 0);
	db_stmt_done(st);
	return DSQL_OK;
}

/* The action rows that go: before R, but the protocol and metaData in force
 * at R. Parameters: id, R, id, R. */
#define ACTIONS_WHERE                                                                      \
	" FROM dsql_action WHERE table_id = ? AND version < ?"                              \
	" AND NOT (kind IN ('protocol', 'metaData') AND version = (SELECT MAX(b.version)"   \
	" FROM dsql_action b WHERE b.table_id = ? AND b.kind = dsql_action.kind"            \
	" AND b.version <= ?))"
#define FILES_WHERE " FROM dsql_file WHERE table_id = ? AND removed_version <= ?"

static const struct {
	const char *sql;
	const char *pattern;
} expire_sql[] = {
	{"DELETE" ACTIONS_WHERE, "irir"},
	{"INSERT INTO dsql_tombstone (table_id, path, dv_id, removed_version, removed_ms, body)"
	 " SELECT f.table_id, f.path, f.dv_id, f.removed_version, c.commit_ms, f.body"
	 " FROM dsql_file f JOIN dsql_commit c ON c.table_id = f.table_id"
	 " AND c.version = f.removed_version WHERE f.table_id = ? AND f.removed_version <= ?",
	 "ir"},
	{"DELETE" FILES_WHERE, "ir"},
	{"DELETE FROM dsql_app_txn WHERE table_id = ? AND commit_version < (SELECT"
	 " MAX(b.commit_version) FROM dsql_app_txn b WHERE b.table_id = ?"
	 " AND b.app_id = dsql_app_txn.app_id AND b.commit_version <= ?)",
	 "iir"},
	{"DELETE FROM dsql_domain WHERE table_id = ? AND commit_version < (SELECT"
	 " MAX(b.commit_version) FROM dsql_domain b WHERE b.table_id = ?"
	 " AND b.domain = dsql_domain.domain AND b.commit_version <= ?)",
	 "iir"},
};

static int run_expire(dsql_catalog *cat, int64_t id, int64_t r, dsql_error *err)
{
	for (size_t i = 0; i < sizeof(expire_sql) / sizeof(expire_sql[0]); i++) {
		db_stmt *st;
		int rc = db_stmt_get(&st, cat->db, expire_sql[i].sql, err);

		if (rc == DSQL_OK)
			rc = run_pattern(st, expire_sql[i].pattern, id, r, err);
		if (rc != DSQL_DONE)
			return rc == DSQL_ROW ? DSQL_ERROR : rc;
	}
	return DSQL_OK;
}

/* delta.setTransactionRetentionDuration: app ids not updated for that long
 * are forgotten. */
static int expire_app_txns(dsql_catalog *cat, int64_t id, int64_t latest, dsql_error *err)
{
	int64_t keep_ms;
	db_stmt *st;
	int rc = table_property_ms(cat, id, latest, "delta.setTransactionRetentionDuration", -1,
	                           &keep_ms, err);

	if (rc != DSQL_OK || keep_ms < 0)
		return rc;
	rc = db_stmt_get(&st, cat->db,
	                 "DELETE FROM dsql_app_txn WHERE table_id = ? AND app_id IN (SELECT app_id"
	                 " FROM dsql_app_txn WHERE table_id = ? GROUP BY app_id"
	                 " HAVING MAX(last_updated) < ?)",
	                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "iii", id, id, util_now_ms() - keep_ms);
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

int dsql_table_expire(dsql_catalog *cat, const char *table, const dsql_expire_options *opts,
                      dsql_expire_result *out, dsql_error *err)
{
	dsql_expire_options defaults = DSQL_EXPIRE_OPTIONS_INIT;
	dsql_expire_result res = {0, 0, 0, 0};
	int64_t id, latest, oldest, r, before;
	int rc;

	if (!opts)
		opts = &defaults;
	if (opts->version < 1 || opts->version > DSQL_EXPIRE_OPTIONS_VERSION)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "unknown dsql_expire_options version %u", opts->version);
	if (opts->keep_versions < 0 || (opts->keep_versions > 0 && opts->before_ms >= 0))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "expire: give a cut-off time or a number of versions to keep, "
		                      "not both");
	/* A dry run only lists: a read transaction, which a standby runs. */
	rc = db_begin(cat->db, opts->dry_run ? DSQL_BEGIN_READ : DSQL_BEGIN_WRITE, err);
	if (rc == DSQL_OK)
		rc = lock_row(cat, table, !opts->dry_run, &id, &latest, &oldest, err);
	before = opts->before_ms;
	if (rc == DSQL_OK && before < 0 && opts->keep_versions == 0) {
		int64_t keep_ms;

		rc = table_property_ms(cat, id, latest, "delta.logRetentionDuration", 30 * DAY_MS,
		                       &keep_ms, err);
		before = util_now_ms() - keep_ms;
	}
	if (rc == DSQL_OK)
		rc = choose_oldest(cat, id, latest, before, opts->keep_versions, &r, err);
	if (rc == DSQL_OK) {
		if (r > latest)
			r = latest; /* the latest snapshot always stays */
		if (r < oldest)
			r = oldest;
		res.oldest_version = r;
		res.versions_expired = r - oldest;
	}
	if (rc == DSQL_OK && r > oldest)
		rc = count(cat, "SELECT COUNT(*)" ACTIONS_WHERE, "irir", id, r, &res.actions_removed,
		           err);
	if (rc == DSQL_OK && r > oldest)
		rc = count(cat, "SELECT COUNT(*)" FILES_WHERE, "ir", id, r, &res.files_removed, err);
	if (rc == DSQL_OK && r > oldest && !opts->dry_run)
		rc = run_expire(cat, id, r, err);
	if (rc == DSQL_OK && !opts->dry_run)
		rc = expire_app_txns(cat, id, latest, err);
	if (rc == DSQL_OK && r > oldest && !opts->dry_run) {
		db_stmt *st;

		rc = db_stmt_get(&st, cat->db, "UPDATE dsql_table SET oldest_version = ? WHERE id = ?",
		                 err);
		if (rc == DSQL_OK)
			rc = db_run(st, err, "ii", r, id);
		rc = rc == DSQL_DONE ? DSQL_OK : rc;
	}
	if (rc != DSQL_OK || opts->dry_run) {
		db_rollback(cat->db);
		if (rc != DSQL_OK)
			return rc;
	} else if ((rc = db_commit(cat->db, err)) != DSQL_OK) {
		return rc;
	}
	if (LOG_WANTS(&cat->log, DSQL_LOG_INFO)) {
		log_num o, v, a, f;
		dsql_log_field fields[] = {{"table", table},
		                           {"dry_run", opts->dry_run ? "true" : "false"},
		                           {"oldest_version", log_int(o, res.oldest_version)},
		                           {"versions_expired", log_int(v, res.versions_expired)},
		                           {"actions_removed", log_int(a, res.actions_removed)},
		                           {"files_removed", log_int(f, res.files_removed)}};

		log_emit(&cat->log, DSQL_LOG_INFO, DSQL_EVENT_EXPIRE, fields, LOG_N(fields),
		         "%sexpire of %s: %lld versions expired, oldest kept %lld",
		         opts->dry_run ? "(dry run) " : "", table, (long long)res.versions_expired,
		         (long long)res.oldest_version);
	}
	if (out)
		*out = res;
	return DSQL_OK;
}

/* --- vacuum --- */

/* Where vacuum may delete: the table's location, a local directory opened
 * once, and the two spellings of it an absolute path may use (as stored,
 * resolved). Files are reached from its descriptor, one directory at a time
 * without following symbolic links, never by a path resolved again: a
 * directory swapped for a link during the walk leads nowhere. */
typedef struct vac_root {
	int fd; /* -1: nothing is deleted */
	char base[PATH_MAX], real[PATH_MAX];
	/* The decoded relative paths of every retained file, when the catalog
	 * holds paths the migration could not canonicalise (schema.c). */
	json_t *retained;
} vac_root;

static void root_open(vac_root *r, const char *location)
{
	const char *loc = location;
	size_t n;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (!loc)
		return;
	if (strncmp(loc, "file://", 7) == 0)
		loc += 7;
	else if (strncmp(loc, "file:", 5) == 0)
		loc += 5;
	else if (strstr(loc, "://"))
		return; /* an object store: not ours */
	if (loc[0] != '/' || !realpath(loc, r->real))
		return;
	util_copy(r->base, sizeof(r->base), loc);
	while ((n = strlen(r->base)) > 1 && r->base[n - 1] == '/')
		r->base[n - 1] = '\0';
	r->fd = open(r->real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void root_close(vac_root *r)
{
	if (r->fd >= 0)
		close(r->fd);
	json_decref(r->retained);
}

/* The part of abs under dir ("dir/x" -> "x"), or NULL. */
static const char *under(const char *abs, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return abs + 1;
	return strncmp(abs, dir, n) == 0 && abs[n] == '/' ? abs + n + 1 : NULL;
}

/* The file a log path names, as a decoded path relative to the location
 * (malloc'd), or NULL when it names none there: another store, outside
 * the location, "..", an invalid escape. */
static char *relative_path(const vac_root *r, const char *path)
{
	char *canon = NULL, *dec, *rel = NULL;
	const char *p, *s;

	if (delta_path_canonical(path, &canon, NULL) != DSQL_OK)
		return NULL;
	dec = delta_path_decode(canon ? canon : path);
	free(canon);
	if (!dec)
		return NULL;
	p = dec;
	if (strncmp(p, "file:", 5) == 0) {
		p += 5;
		if (strncmp(p, "//", 2) == 0) { /* an authority: none, or this host */
			p += 2;
			if (strncmp(p, "localhost/", 10) == 0)
				p += 9;
			else if (*p != '/')
				p = "";
		}
	} else if (strcspn(p, ":") < strcspn(p, "/")) {
		p = ""; /* another scheme */
	}
	if (*p == '/')
		p = (s = under(p, r->base)) ? s : under(p, r->real);
	for (s = p; p && *s;) { /* every segment names an entry below */
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			p = NULL;
		s += n + (s[n] == '/');
	}
	if (p && *p && p[strlen(p) - 1] != '/')
		rel = strdup(p);
	free(dec);
	return rel;
}

/* Deletes rel below the root's descriptor: each directory opened with
 * O_NOFOLLOW from the one before, the file unlinked in the last one (a
 * symbolic link is unlinked itself, never followed). 1 when deleted. */
static int unlink_under(int root, const char *rel)
{
	char buf[PATH_MAX], *s = buf, *slash;
	struct stat st;
	int dir = dup(root), deleted = 0;

	if (dir < 0 || strlen(rel) >= sizeof(buf)) {
		if (dir >= 0)
			close(dir);
		return 0;
	}
	util_copy(buf, sizeof(buf), rel);
	while (dir >= 0 && (slash = strchr(s, '/')) != NULL) {
		int next;

		*slash = '\0';
		next = openat(dir, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dir);
		dir = next;
		s = slash + 1;
	}
	if (dir < 0)
		return 0;
	if (fstatat(dir, s, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
		deleted = unlinkat(dir, s, 0) == 0 || errno == ENOENT;
	close(dir);
	return deleted;
}

/* Whether a retained version names the file under another spelling: an
 * absolute one (the location as stored or resolved, with or without
 * "file:"), or, where the catalog keeps paths it could not canonicalise,
 * any spelling at all. */
static int referenced_elsewhere(dsql_catalog *cat, vac_root *r, int64_t id, int64_t oldest,
                                const char *rel, int *found, dsql_error *err)
{
	char *spell[7] = {NULL}, *abs_base = NULL, *abs_real = NULL;
	db_stmt *st;
	int rc = DSQL_OK;

	*found = r->retained && json_object_get(r->retained, rel) != NULL;
	if (*found)
		return DSQL_OK;
	if (asprintf(&abs_base, "%s/%s", r->base, rel) < 0)
		abs_base = NULL;
	if (asprintf(&abs_real, "%s/%s", r->real, rel) < 0)
		abs_real = NULL;
	spell[0] = delta_path_encode(rel);
	spell[1] = abs_base ? delta_path_encode(abs_base) : NULL;
	spell[2] = abs_real ? delta_path_encode(abs_real) : NULL;
	for (int i = 0; i < 2; i++)
		if (spell[1 + i] && (asprintf(&spell[3 + 2 * i], "file:%s", spell[1 + i]) < 0 ||
		                     asprintf(&spell[4 + 2 * i], "file://%s", spell[1 + i]) < 0))
			spell[3 + 2 * i] = spell[4 + 2 * i] = NULL;
	for (int i = 0; i < 7; i++)
		if (!spell[i])
			rc = dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	if (rc == DSQL_OK)
		rc = db_stmt_get(&st, cat->db,
		                 "SELECT COUNT(*) FROM dsql_file WHERE table_id = ?"
		                 " AND path IN (?, ?, ?, ?, ?, ?, ?)"
		                 " AND (removed_version IS NULL OR removed_version > ?)",
		                 err);
	if (rc == DSQL_OK &&
	    (rc = db_run(st, err, "itttttti", id, spell[0], spell[1], spell[2], spell[3],
	                 spell[4], spell[5], spell[6], oldest)) == DSQL_ROW) {
		*found = db_column_int64(st, 0) > 0;
		db_stmt_done(st);
		rc = DSQL_OK;
	} else if (rc == DSQL_DONE) {
		rc = DSQL_ERROR;
	}
	for (int i = 0; i < 7; i++)
		free(spell[i]);
	free(abs_base);
	free(abs_real);
	return rc;
}

/* Where the migration left paths it could not canonicalise (schema.c), the
 * files every retained row of the table names, compared as files. */
static int load_retained(dsql_catalog *cat, vac_root *r, int64_t id, int64_t oldest,
                         dsql_error *err)
{
	char left[32];
	db_stmt *st;
	int rc = schema_get(cat, "noncanonical_paths", left, sizeof(left), NULL);

	if (rc == DSQL_ENOTFOUND)
		return DSQL_OK; /* every stored path is canonical */
	if (rc != DSQL_OK)
		return schema_get(cat, "noncanonical_paths", left, sizeof(left), err);
	if (atoll(left) <= 0)
		return DSQL_OK;
	r->retained = json_object();
	rc = db_stmt_get(&st, cat->db,
	                 "SELECT path FROM dsql_file WHERE table_id = ?"
	                 " AND (removed_version IS NULL OR removed_version > ?)",
	                 err);
	for (rc = rc == DSQL_OK ? db_run(st, err, "ii", id, oldest) : rc; rc == DSQL_ROW;
	     rc = db_step(st, err)) {
		char *rel = relative_path(r, db_column_text(st, 0, NULL));

		if (rel)
			json_object_set_new(r->retained, rel, json_true());
		free(rel);
	}
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

int dsql_table_vacuum(dsql_catalog *cat, const char *table, int64_t retain_ms,
                      int delete_files, dsql_vacuum_cb cb, void *payload, dsql_error *err)
{
	int64_t id, latest, oldest, cutoff = util_now_ms() - retain_ms, listed = 0, removed = 0;
	vac_root root;
	db_stmt *st;
	int rc;

	if (retain_ms < 0)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "vacuum: the retention period is negative");
	root_open(&root, NULL);
	/* Deleting: a write transaction, whose row lock keeps commits (and
	 * re-adds) out until the deleting is done. Listing only: a read
	 * transaction's snapshot (which a standby runs). */
	rc = db_begin(cat->db, delete_files ? DSQL_BEGIN_WRITE : DSQL_BEGIN_READ, err);
	if (rc == DSQL_OK)
		rc = lock_row(cat, table, delete_files, &id, &latest, &oldest, err);
	if (rc == DSQL_OK && delete_files) {
		rc = db_stmt_get(&st, cat->db, "SELECT location FROM dsql_table WHERE id = ?", err);
		if (rc == DSQL_OK && (rc = db_run(st, err, "i", id)) == DSQL_ROW) {
			root_open(&root, db_column_text_or_null(st, 0));
			db_stmt_done(st);
			rc = DSQL_OK;
		}
		if (rc == DSQL_OK && root.fd >= 0)
			rc = load_retained(cat, &root, id, oldest, err);
	}
	/* Removed files (index rows, or tombstones left by expiry) whose every
	 * row was removed at or before the oldest retained version, longer ago
	 * than the retention period. Stored paths are canonical: one spelling
	 * per file, so the string comparison is the file's. */
	if (rc == DSQL_OK)
		rc = db_stmt_get(&st, cat->db,
		                 "SELECT x.path, MAX(x.removed_ms) FROM ("
		                 " SELECT path, removed_ms FROM dsql_tombstone WHERE table_id = ?"
		                 " UNION ALL"
		                 " SELECT f.path, c.commit_ms FROM dsql_file f JOIN dsql_commit c"
		                 " ON c.table_id = f.table_id AND c.version = f.removed_version"
		                 " WHERE f.table_id = ? AND f.removed_version <= ?) x"
		                 " WHERE NOT EXISTS (SELECT 1 FROM dsql_file g WHERE g.table_id = ?"
		                 " AND g.path = x.path AND (g.removed_version IS NULL"
		                 " OR g.removed_version > ?))"
		                 " GROUP BY x.path HAVING MAX(x.removed_ms) <= ? ORDER BY x.path",
		                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "iiiiii", id, id, oldest, id, oldest, cutoff);
	/* The candidates first: the checks below run statements of their own. */
	{
		json_t *rows = json_array();

		for (; rc == DSQL_ROW; rc = db_step(st, err))
			json_array_append_new(rows, json_pack("[s, I]", db_column_text(st, 0, NULL),
			                                      (json_int_t)db_column_int64(st, 1)));
		for (size_t i = 0; rc == DSQL_DONE && i < json_array_size(rows); i++) {
			json_t *row = json_array_get(rows, i);
			const char *path = json_string_value(json_array_get(row, 0));
			char *rel = root.fd >= 0 ? relative_path(&root, path) : NULL;
			int deleted = 0, elsewhere = 0, stop;

			if (rel)
				rc = referenced_elsewhere(cat, &root, id, oldest, rel, &elsewhere, err);
			if (rc == DSQL_OK)
				rc = DSQL_DONE;
			if (rc == DSQL_DONE && rel && !elsewhere)
				deleted = unlink_under(root.fd, rel);
			free(rel);
			listed += rc == DSQL_DONE;
			removed += deleted;
			stop = rc == DSQL_DONE && cb
			               ? cb(path, json_integer_value(json_array_get(row, 1)), deleted, payload)
			               : 0;
			if (stop)
				rc = stop;
		}
		json_decref(rows);
	}
	root_close(&root);
	if (rc != DSQL_DONE) {
		db_rollback(cat->db);
		return rc;
	}
	rc = db_commit(cat->db, err);
	if (rc == DSQL_OK && LOG_WANTS(&cat->log, DSQL_LOG_INFO)) {
		log_num n, d, r;
		dsql_log_field f[] = {{"table", table}, {"files_listed", log_int(n, listed)},
		                      {"files_deleted", log_int(d, removed)},
		                      {"retain_ms", log_int(r, retain_ms)}};

		log_emit(&cat->log, DSQL_LOG_INFO, DSQL_EVENT_VACUUM, f, LOG_N(f),
		         "vacuum of %s: %lld unreferenced files, %lld deleted", table,
		         (long long)listed, (long long)removed);
	}
	return rc;
}
