/*
 * Delta Lake interoperability: importing a _delta_log and exporting one.
 *
 * Import reads every JSON commit from version 0 (plus the staged commits of
 * a catalog-managed table), checks what a Delta reader must check, and
 * commits each version through the ordinary commit path (verbatim actions,
 * the version's own timestamp), so the file index, app transactions and
 * domains are built by the same code as any commit. Export writes the
 * stored actions back, one per line, commitInfo first.
 */
#define _GNU_SOURCE
#include "deltasql/delta.h"
#include "deltasql/table.h"
#include "catalog_int.h"
#include "protocol.h"
#include "txn_int.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct log_file {
	int64_t version;
	char *path;
} log_file;

typedef struct log_files {
	log_file *items;
	size_t n, cap;
} log_files;

static void free_files(log_files *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].path);
	free(l->items);
}

static int add_file(log_files *l, int64_t version, const char *dir, const char *name,
                    dsql_error *err)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		log_file *n = realloc(l->items, cap * sizeof(*n));

		if (!n)
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		l->items = n;
		l->cap = cap;
	}
	if (asprintf(&l->items[l->n].path, "%s/%s", dir, name) < 0)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	l->items[l->n++].version = version;
	return DSQL_OK;
}

/* "00000000000000000012.json" (published) or, staged,
 * "00000000000000000012.<uuid>.json". */
static int parse_name(const char *name, int staged, int64_t *version)
{
	size_t n = strlen(name);

	if (n < 25 || strspn(name, "0123456789") != 20)
		return 0;
	if (!staged && strcmp(name + 20, ".json") != 0)
		return 0;
	if (staged && (name[20] != '.' || strcmp(name + n - 5, ".json") != 0 || n <= 26))
		return 0;
	*version = strtoll(name, NULL, 10);
	return 1;
}

static int cmp_version(const void *a, const void *b)
{
	const log_file *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

static int scan(const char *dir, int staged, log_files *out, dsql_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = DSQL_OK;

	if (!d)
		return staged ? DSQL_OK
		              : dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                               "no Delta log at '%s': %s", dir, strerror(errno));
	while (rc == DSQL_OK && (e = readdir(d))) {
		int64_t v;

		if (parse_name(e->d_name, staged, &v))
			rc = add_file(out, v, dir, e->d_name, err);
	}
	closedir(d);
	qsort(out->items, out->n, sizeof(*out->items), cmp_version);
	return rc;
}

/* The commit files in version order: published ones, then one staged
 * commit per following version. */
static int list_log(const char *path, log_files *files, dsql_error *err)
{
	char dir[PATH_MAX + 16], staged_dir[PATH_MAX + 48];
	log_files staged = {NULL, 0, 0};
	int64_t next;
	int rc;

	snprintf(dir, sizeof(dir), "%s/_delta_log", path);
	rc = scan(dir, 0, files, err);
	if (rc != DSQL_OK)
		return rc;
	snprintf(staged_dir, sizeof(staged_dir), "%s/_staged_commits", dir);
	rc = scan(staged_dir, 1, &staged, err);
	next = files->n ? files->items[files->n - 1].version + 1 : 0;
	for (size_t i = 0; rc == DSQL_OK && i < staged.n; i++) {
		if (staged.items[i].version < next)
			continue; /* published already */
		if (i + 1 < staged.n && staged.items[i + 1].version == staged.items[i].version) {
			rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                    "ambiguous staged commits for version %lld: the catalog "
			                    "that ratified one of them is needed",
			                    (long long)staged.items[i].version);
			break;
		}
		if (staged.items[i].version != next)
			break; /* a gap: what follows is not ratified in order */
		rc = add_file(files, next++, staged_dir, strrchr(staged.items[i].path, '/') + 1, err);
	}
	free_files(&staged);
	if (rc != DSQL_OK)
		return rc;
	if (files->n == 0)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "no JSON commits in '%s'", dir);
	if (files->items[0].version != 0)
		return dsql_error_set(err, DSQL_EUNSUPPORTED, NULL, NULL, 0,
		                      "versions 0 to %lld of '%s' exist only in a checkpoint; "
		                      "deltasql imports JSON commits from version 0",
		                      (long long)files->items[0].version - 1, dir);
	for (size_t i = 1; i < files->n; i++)
		if (files->items[i].version != files->items[i - 1].version + 1)
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "versions are not contiguous: version %lld is missing "
			                      "from '%s'",
			                      (long long)files->items[i - 1].version + 1, dir);
	return DSQL_OK;
}

/* Reads one commit file's actions (one JSON object per line). */
static int read_commit(const char *file, json_t **out, int64_t *mtime_ms, dsql_error *err)
{
	FILE *f = fopen(file, "r");
	json_t *actions = json_array();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = DSQL_OK;
	struct stat st;

	*out = NULL;
	if (!f) {
		json_decref(actions);
		return dsql_error_set(err, errno == ENOENT ? DSQL_ENOTFOUND : DSQL_EIO, NULL, NULL, 0,
		                      "cannot read '%s': %s", file, strerror(errno));
	}
	*mtime_ms = fstat(fileno(f), &st) == 0 ? (int64_t)st.st_mtime * 1000 : 0;
	while (rc == DSQL_OK && (n = getline(&line, &cap, f)) >= 0) {
		json_error_t jerr;
		json_t *a;

		lineno++;
		if (strspn(line, " \t\r\n") == (size_t)n)
			continue;
		a = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
		if (!a)
			rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                    "'%s' line %d: malformed JSON: %s", file, lineno, jerr.text);
		else
			json_array_append_new(actions, a);
	}
	if (rc == DSQL_OK && ferror(f))
		rc = dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot read '%s' after line %d: %s",
		                    file, lineno, strerror(errno));
	free(line);
	fclose(f);
	if (rc != DSQL_OK) {
		json_decref(actions);
		return rc;
	}
	*out = actions;
	return DSQL_OK;
}

/* The version's commit time: inCommitTimestamp, commitInfo.timestamp, or
 * the file's modification time. */
static int64_t commit_time(json_t *actions, int64_t mtime_ms)
{
	json_t *a, *ci, *v;
	size_t i;

	json_array_foreach(actions, i, a)
		if ((ci = json_object_get(a, "commitInfo"))) {
			if (json_is_integer(v = json_object_get(ci, "inCommitTimestamp")))
				return json_integer_value(v);
			if (json_is_integer(v = json_object_get(ci, "timestamp")))
				return json_integer_value(v);
		}
	return mtime_ms;
}

static int stage_version(dsql_txn *txn, txn_table *t, json_t *actions, const char *file,
                         int need_v0, dsql_error *err)
{
	int have_protocol = 0, have_metadata = 0;
	json_t *line;
	size_t i;

	json_array_foreach(actions, i, line) {
		action a;
		int rc = action_parse_json(&a, line, err);

		if (rc != DSQL_OK) {
			char msg[DSQL_ERROR_MESSAGE_MAX];

			snprintf(msg, sizeof(msg), "'%.400s' action %zu: %.500s", file, i + 1,
			         err ? err->message : "");
			return dsql_error_set(err, rc, NULL, NULL, 0, "%s", msg);
		}
		if (a.kind == ACT_PROTOCOL && (rc = protocol_check(a.body, 0, err)) != DSQL_OK) {
			action_clear(&a);
			return rc;
		}
		have_protocol |= a.kind == ACT_PROTOCOL;
		have_metadata |= a.kind == ACT_METADATA;
		if ((rc = txn_stage_parsed(txn, t, &a, err)) != DSQL_OK)
			return rc;
	}
	if (need_v0 && !have_protocol)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "'%s': no protocol found in version 0", file);
	if (need_v0 && !have_metadata)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "'%s': no metadata found in version 0", file);
	return DSQL_OK;
}

static int import_version(dsql_catalog *cat, const char *table, const char *location,
                          const log_file *f, dsql_error *err)
{
	dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
	json_t *actions = NULL;
	dsql_txn *txn = NULL;
	txn_table *t = NULL;
	int64_t mtime = 0;
	int rc;

	/* A fixed id per (table, version) would make a re-run a replay; the
	 * import is all-or-nothing instead, so each version gets a fresh id. */
	o.isolation = DSQL_ISOLATION_SNAPSHOT;
	rc = read_commit(f->path, &actions, &mtime, err);
	if (rc == DSQL_OK)
		rc = dsql_txn_begin(&txn, cat, &o, err);
	if (rc == DSQL_OK) {
		txn->verbatim = 1;
		txn->importing = 1;
		if (f->version == 0)
			rc = txn_add_new_table(txn, table, location, &t, err);
		else if ((rc = dsql_txn_open_table(txn, table, f->version - 1, err)) == DSQL_OK)
			t = txn_find(txn, table);
	}
	if (rc == DSQL_OK) {
		t->commit_ms = commit_time(actions, mtime);
		rc = stage_version(txn, t, actions, f->path, f->version == 0, err);
	}
	if (rc == DSQL_OK && t->n_actions == 0)
		rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "'%s' holds no actions",
		                    f->path);
	if (rc == DSQL_OK)
		rc = dsql_txn_commit(txn, err);
	if (rc == DSQL_OK && t->committed_version != f->version)
		rc = dsql_error_set(err, DSQL_ECONFLICT, NULL, NULL, 0,
		                    "table '%s' changed during the import (version %lld became %lld)",
		                    table, (long long)f->version, (long long)t->committed_version);
	dsql_txn_free(txn);
	json_decref(actions);
	return rc;
}

int dsql_delta_import(dsql_catalog *cat, const char *table, const char *path,
                      dsql_progress_cb progress, void *payload, dsql_error *err)
{
	log_files files = {NULL, 0, 0};
	char location[PATH_MAX];
	int rc;

	if (!cat || !table || !path)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "import: missing argument");
	if ((rc = util_check_name("table", table, err)) != DSQL_OK)
		return rc;
	if (!realpath(path, location))
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0, "cannot open '%s': %s", path,
		                      strerror(errno));
	rc = list_log(location, &files, err);
	for (size_t i = 0; rc == DSQL_OK && i < files.n; i++) {
		rc = import_version(cat, table, location, &files.items[i], err);
		if (rc == DSQL_OK && progress)
			progress((int64_t)i + 1, (int64_t)files.n, payload);
	}
	/* All or nothing: versions committed so far go again. */
	if (rc != DSQL_OK && rc != DSQL_EEXISTS && files.n)
		dsql_table_drop(cat, table, NULL);
	free_files(&files);
	return rc;
}

/* --- export --- */

static int version_text(dsql_catalog *cat, int64_t id, int64_t version, char **out,
                        size_t *len, dsql_error *err)
{
	FILE *f = open_memstream(out, len);
	db_stmt *st;
	int rc, rows = 0;

	if (!f)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	rc = db_stmt_get(&st, cat->db,
	                 "SELECT body FROM dsql_action WHERE table_id = ? AND version = ?"
	                 " ORDER BY seq",
	                 err);
	if (rc == DSQL_OK)
		rc = db_run(st, err, "ii", id, version);
	for (; rc == DSQL_ROW; rc = db_step(st, err), rows++)
		fprintf(f, "%s\n", db_column_text(st, 0, NULL));
	fclose(f);
	if (rc == DSQL_DONE && rows == 0)
		rc = dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                    "version %lld has no actions in the catalog", (long long)version);
	if (rc != DSQL_DONE) {
		free(*out);
		*out = NULL;
		return rc;
	}
	return DSQL_OK;
}

static int same_content(const char *file, const char *text, size_t len)
{
	FILE *f = fopen(file, "rb");
	char *buf;
	size_t n;
	int same;

	if (!f)
		return 0;
	buf = malloc(len + 1);
	n = buf ? fread(buf, 1, len + 1, f) : 0;
	same = buf && n == len && memcmp(buf, text, len) == 0;
	free(buf);
	fclose(f);
	return same;
}

/* Creates a temporary file of its own next to the commit file: hidden (a
 * leading dot) and not named like a commit, so that no reader listing the
 * log takes it for one, and created exclusively, so that exports of the
 * same table by other threads or processes never write into it. */
static int open_temporary(const char *file, char *tmp, size_t cap)
{
	static unsigned int counter;
	const char *name = strrchr(file, '/') + 1;

	for (int tries = 0; tries < 100; tries++) {
		unsigned int n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
		int fd;

		snprintf(tmp, cap, "%.*s.%s.%d.%u.tmp", (int)(name - file), file, name, (int)getpid(),
		         n);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static int write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		text += n;
		len -= (size_t)n;
	}
	return fsync(fd);
}

static int write_atomically(const char *file, const char *text, size_t len, dsql_error *err)
{
	char tmp[PATH_MAX + 128];
	int fd = open_temporary(file, tmp, sizeof(tmp));

	if (fd < 0)
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot write '%s': %s", tmp,
		                      strerror(errno));
	if (write_all(fd, text, len) != 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot write '%s': %s", tmp,
		                      strerror(e));
	}
	close(fd);
	/* link() refuses to replace an existing file, unlike rename(): a
	 * writer that raced us to this version keeps its file. */
	if (link(tmp, file) != 0) {
		int e = errno;

		unlink(tmp);
		if (e == EEXIST && same_content(file, text, len))
			return DSQL_OK;
		return dsql_error_set(err, e == EEXIST ? DSQL_EEXISTS : DSQL_EIO, NULL, NULL, 0,
		                      "cannot write '%s': %s", file, strerror(e));
	}
	unlink(tmp);
	return DSQL_OK;
}

/* Makes the files linked into DIR survive a crash of the machine. */
static int sync_dir(const char *dir, dsql_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc = fd >= 0 ? fsync(fd) : -1;
	int e = errno;

	if (fd >= 0)
		close(fd);
	return rc == 0 ? DSQL_OK
	               : dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot sync '%s': %s", dir,
	                                strerror(e));
}

/* mkdir -p: creates path and its missing parents (0755). */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int dsql_delta_export(dsql_catalog *cat, const char *table, const char *dir,
                      int64_t from_version, int64_t *written, dsql_progress_cb progress,
                      void *payload, dsql_error *err)
{
	char logdir[PATH_MAX + 16];
	int64_t id, latest, oldest = 0, count = 0;
	db_stmt *st;
	int rc;

	if (written)
		*written = 0;
	if (!cat || !table || !dir || from_version < 0)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "export: invalid argument");
	rc = catalog_find_table(cat, table, &id, &latest, err);
	if (rc == DSQL_OK)
		rc = db_stmt_get(&st, cat->db, "SELECT oldest_version FROM dsql_table WHERE id = ?",
		                 err);
	if (rc == DSQL_OK && (rc = db_run(st, err, "i", id)) == DSQL_ROW) {
		oldest = db_column_int64(st, 0);
		db_stmt_done(st);
		rc = DSQL_OK;
	}
	if (rc != DSQL_OK)
		return rc;
	if (from_version < oldest)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "table '%s': versions %lld to %lld have expired and cannot be "
		                      "exported; export from version %lld on (--from-version %lld)",
		                      table, (long long)from_version, (long long)oldest - 1,
		                      (long long)oldest, (long long)oldest);
	if (from_version > latest)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "table '%s' has no version %lld (its latest is %lld)", table,
		                      (long long)from_version, (long long)latest);
	snprintf(logdir, sizeof(logdir), "%s/_delta_log", dir);
	if (make_dirs(logdir) != 0)
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot create '%s': %s", logdir,
		                      strerror(errno));
	for (int64_t v = from_version; v <= latest && rc == DSQL_OK; v++) {
		char file[PATH_MAX + 64], *text = NULL;
		size_t len = 0;

		snprintf(file, sizeof(file), "%s/%020lld.json", logdir, (long long)v);
		rc = version_text(cat, id, v, &text, &len, err);
		if (rc == DSQL_OK && access(file, F_OK) == 0) {
			if (!same_content(file, text, len))
				rc = dsql_error_set(err, DSQL_EEXISTS, NULL, NULL, 0,
				                    "'%s' exists with different content; not overwritten",
				                    file);
		} else if (rc == DSQL_OK) {
			rc = write_atomically(file, text, len, err);
			count += rc == DSQL_OK;
		}
		free(text);
		if (rc == DSQL_OK && progress)
			progress(v - from_version + 1, latest - from_version + 1, payload);
	}
	if (rc == DSQL_OK && count)
		rc = sync_dir(logdir, err);
	if (written)
		*written = count;
	return rc;
}
