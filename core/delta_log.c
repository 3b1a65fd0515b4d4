/*
 * Delta Lake interoperability: importing a _delta_log and exporting one.
 *
 * Import reads every JSON commit from version 0 (plus the staged commits of
 * a catalog-managed table), bounded (a regular file, a longest line),
 * checks what a Delta reader must check, and writes all the versions in
 * one database transaction through the commit path's own writer (verbatim
 * actions, the version's own timestamp; commit.c import_*), so the file
 * index, app transactions and domains are built by the same code as any
 * commit, and an import that fails or is killed leaves nothing behind.
 * Export writes the stored actions back, one per line, commitInfo first.
 */
#define _GNU_SOURCE
#include "deltasql/delta.h"
#include "deltasql/table.h"
#include "catalog_int.h"
#include "delta_log.h"
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

/* What import reads of a log, at most (docs/DELTA.md, "Limits"): a commit
 * file is read in chunks, and no line may grow past LINE_MAX_BYTES, so
 * neither a huge file nor an endless one (a FIFO, a device behind a
 * symlink: only regular files are read) holds the import or its memory. */
#define COMMIT_MAX_BYTES ((int64_t)1 << 30)
#define LINE_MAX_BYTES ((size_t)64 << 20)
#define READ_CHUNK ((size_t)1 << 20)

/* One commit file, read in chunks: buf[start, len) is unread text. */
typedef struct line_reader {
	const char *file;
	int fd;
	char *buf;
	size_t start, len, cap;
	int64_t total;
	int eof;
} line_reader;

static int reader_open(line_reader *r, const char *file, int64_t *mtime_ms, dsql_error *err)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->file = file;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	r->fd = open(file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (r->fd < 0)
		return dsql_error_set(err, errno == ENOENT ? DSQL_ENOTFOUND : DSQL_EIO, NULL, NULL, 0,
		                      "cannot read '%s': %s", file, strerror(errno));
	if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		const char *why = fstat(r->fd, &st) != 0 ? strerror(errno) : "not a regular file";

		close(r->fd);
		r->fd = -1;
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot read '%s': %s", file, why);
	}
	if (st.st_size > COMMIT_MAX_BYTES) {
		close(r->fd);
		r->fd = -1;
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "'%s' is %lld bytes long: a commit file may hold at most %lld",
		                      file, (long long)st.st_size, (long long)COMMIT_MAX_BYTES);
	}
	*mtime_ms = (int64_t)st.st_mtime * 1000;
	return DSQL_OK;
}

static void reader_close(line_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
}

/* Reads more text behind what is unread, growing the buffer within the
 * line limit. */
static int reader_fill(line_reader *r, int lineno, dsql_error *err)
{
	ssize_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	if (r->len >= LINE_MAX_BYTES)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "'%s' line %d is longer than %zu bytes, the longest action "
		                      "line deltasql reads", r->file, lineno, LINE_MAX_BYTES);
	if (r->cap - r->len < READ_CHUNK) {
		size_t cap = r->cap ? r->cap * 2 : READ_CHUNK;
		char *b;

		if (cap < r->len + READ_CHUNK)
			cap = r->len + READ_CHUNK;
		if (!(b = realloc(r->buf, cap + 1)))
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0,
			                      "out of memory reading '%s' line %d", r->file, lineno);
		r->buf = b;
		r->cap = cap;
	}
	do
		n = read(r->fd, r->buf + r->len, READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot read '%s' at line %d: %s",
		                      r->file, lineno, strerror(errno));
	r->eof = n == 0;
	r->len += (size_t)n;
	r->total += n;
	if (r->total > COMMIT_MAX_BYTES)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "'%s' grew past %lld bytes while it was read", r->file,
		                      (long long)COMMIT_MAX_BYTES);
	return DSQL_OK;
}

/* The next line (without its newline, NUL-terminated), borrowed until the
 * next call; *line NULL at the end of the file. */
static int reader_line(line_reader *r, int lineno, char **line, size_t *n, dsql_error *err)
{
	size_t scanned = 0;

	*line = NULL;
	for (;;) {
		char *from = r->buf ? r->buf + r->start + scanned : NULL;
		char *nl = from ? memchr(from, '\n', r->len - r->start - scanned) : NULL;
		int rc;

		if (nl || (r->eof && r->len > r->start)) {
			*line = r->buf + r->start;
			*n = nl ? (size_t)(nl - *line) : r->len - r->start;
			(*line)[*n] = '\0'; /* the newline, or the byte kept free behind len */
			r->start += *n + (nl != NULL);
			return DSQL_OK;
		}
		if (r->eof)
			return DSQL_OK;
		scanned = r->len - r->start;
		if ((rc = reader_fill(r, lineno, err)) != DSQL_OK)
			return rc;
	}
}

/* Stages one action line of a version, the text kept as written when it
 * is compact (Delta writers write compact lines): no second rendering. */
static int stage_line(dsql_txn *txn, txn_table *t, const char *file, int lineno,
                      const char *text, size_t n, int *have, dsql_error *err)
{
	json_error_t jerr;
	json_t *line = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
	action a;
	int rc;

	if (!line && json_error_code(&jerr) == json_error_out_of_memory)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0,
		                      "out of memory reading '%s' line %d", file, lineno);
	if (!line)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "'%s' line %d: malformed JSON: %s", file, lineno, jerr.text);
	rc = action_parse_json_text(&a, line, text, err);
	json_decref(line);
	if (rc != DSQL_OK) {
		char msg[DSQL_ERROR_MESSAGE_MAX];

		snprintf(msg, sizeof(msg), "'%.400s' line %d: %.500s", file, lineno,
		         err ? err->message : "");
		return dsql_error_set(err, rc, NULL, NULL, 0, "%s", msg);
	}
	if (a.kind == ACT_PROTOCOL && (rc = protocol_check(a.body, 0, err)) != DSQL_OK) {
		action_clear(&a);
		return rc;
	}
	*have |= 1 << a.kind;
	return txn_stage_parsed(txn, t, &a, err);
}

/* The version's commit time: inCommitTimestamp, commitInfo.timestamp, or
 * the file's modification time. */
static int64_t commit_time(const txn_table *t, int64_t mtime_ms)
{
	for (size_t i = 0; i < t->n_actions; i++) {
		json_t *v, *ci = t->actions[i].body;

		if (t->actions[i].kind != ACT_COMMITINFO)
			continue;
		if (json_is_integer(v = json_object_get(ci, "inCommitTimestamp")))
			return json_integer_value(v);
		if (json_is_integer(v = json_object_get(ci, "timestamp")))
			return json_integer_value(v);
	}
	return mtime_ms;
}

/* Reads one commit file (one JSON action per line) and stages its actions
 * as the table's next version. */
static int read_version(dsql_txn *txn, txn_table *t, const log_file *f, dsql_error *err)
{
	line_reader r;
	int64_t mtime = 0;
	int lineno = 0, have = 0, rc = reader_open(&r, f->path, &mtime, err);

	while (rc == DSQL_OK) {
		char *line;
		size_t n;

		rc = reader_line(&r, ++lineno, &line, &n, err);
		if (rc != DSQL_OK || !line)
			break;
		if (strspn(line, " \t\r") < n)
			rc = stage_line(txn, t, f->path, lineno, line, n, &have, err);
	}
	reader_close(&r);
	if (rc != DSQL_OK)
		return rc;
	if (f->version == 0 && !(have & 1 << ACT_PROTOCOL))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "'%s': no protocol found in version 0", f->path);
	if (f->version == 0 && !(have & 1 << ACT_METADATA))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "'%s': no metadata found in version 0", f->path);
	if (t->n_actions == 0)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "'%s' holds no actions",
		                      f->path);
	t->commit_ms = commit_time(t, mtime);
	return DSQL_OK;
}

/* One attempt: every version into one database transaction. */
static int import_log(dsql_catalog *cat, const char *table, const char *location,
                      const log_files *files, dsql_progress_cb progress, void *payload,
                      dsql_error *err)
{
	import_writer *w;
	int rc = import_begin(&w, cat, table, location, err);

	for (size_t i = 0; rc == DSQL_OK && i < files->n; i++) {
		rc = read_version(import_txn(w), import_table(w), &files->items[i], err);
		if (rc == DSQL_OK)
			rc = import_write(w, err);
		if (rc == DSQL_OK && progress)
			progress((int64_t)i + 1, (int64_t)files->n, payload);
	}
	if (rc == DSQL_OK)
		rc = import_finish(w, err);
	import_free(w);
	return rc;
}

int dsql_delta_import(dsql_catalog *cat, const char *table, const char *path,
                      dsql_progress_cb progress, void *payload, dsql_error *err)
{
	log_files files = {NULL, 0, 0};
	char location[PATH_MAX];
	unsigned int attempts = 0;
	int rc;

	if (!cat || !table || !path)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "import: missing argument");
	if ((rc = util_check_name("table", table, err)) != DSQL_OK)
		return rc;
	if (!realpath(path, location))
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0, "cannot open '%s': %s", path,
		                      strerror(errno));
	rc = list_log(location, &files, err);
	/* A failed attempt rolled everything back: a transient failure (busy,
	 * a lost connection) runs the whole import again, within the policy. */
	while (rc == DSQL_OK || rc == DSQL_ERETRY || rc == DSQL_ECONNECT) {
		if (rc == DSQL_ECONNECT)
			db_reconnect(cat->db, NULL);
		if (attempts && (attempts >= cat->retry.max_attempts))
			break;
		if (attempts)
			util_sleep_ms((int64_t)util_random(50u << (attempts < 6 ? attempts : 6)));
		attempts++;
		rc = import_log(cat, table, location, &files, progress, payload, err);
		if (rc == DSQL_OK)
			break;
	}
	free_files(&files);
	return rc;
}

/* --- export --- */

int log_version_text(dsql_catalog *cat, int64_t id, int64_t version, char **out,
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

int log_same_content(const char *file, const char *text, size_t len)
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

int log_write_file(const char *file, const char *text, size_t len, dsql_error *err)
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
		if (e == EEXIST && log_same_content(file, text, len))
			return DSQL_OK;
		return dsql_error_set(err, e == EEXIST ? DSQL_EEXISTS : DSQL_EIO, NULL, NULL, 0,
		                      "cannot write '%s': %s", file, strerror(e));
	}
	unlink(tmp);
	return DSQL_OK;
}

/* Makes the files linked into DIR survive a crash of the machine. */
int log_sync_dir(const char *dir, dsql_error *err)
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
		rc = log_version_text(cat, id, v, &text, &len, err);
		if (rc == DSQL_OK && access(file, F_OK) == 0) {
			if (!log_same_content(file, text, len))
				rc = dsql_error_set(err, DSQL_EEXISTS, NULL, NULL, 0,
				                    "'%s' exists with different content; not overwritten",
				                    file);
		} else if (rc == DSQL_OK) {
			rc = log_write_file(file, text, len, err);
			count += rc == DSQL_OK;
		}
		free(text);
		if (rc == DSQL_OK && progress)
			progress(v - from_version + 1, latest - from_version + 1, payload);
	}
	if (rc == DSQL_OK && count)
		rc = log_sync_dir(logdir, err);
	if (written)
		*written = count;
	return rc;
}
