/*
 * Checkpoints of the published log (publish.c calls checkpoint_write at the
 * table's delta.checkpointInterval): a classic single-file checkpoint,
 * _delta_log/%020d.checkpoint.parquet, holding the snapshot of its version
 * (protocol, metaData, live adds, txn, domainMetadata), and _last_checkpoint
 * pointing at the newest. Readers then start from it instead of replaying
 * every JSON file. The Parquet is written by the Apache Arrow project's
 * `parquet` crate (checkpoint/, built by cargo with --enable-checkpoints);
 * without it no checkpoint is written (docs/DELTA.md says why the choice).
 */
#include "config.h"

#include "deltasql/snapshot.h"
#include "checkpoint.h"
#include "delta_log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef DSQL_CHECKPOINTS

/* checkpoint/src/lib.rs */
int64_t dsqlcp_write(const char *path, const char *lines, size_t len, char *err, size_t cap);

int checkpoint_enabled(void)
{
	return 1;
}

static int put_line(FILE *f, const char *kind, json_t *body)
{
	json_t *line = json_pack("{s:o}", kind, body);
	int rc = line ? json_dumpf(line, f, JSON_COMPACT) : -1;

	json_decref(line);
	return rc == 0 && fputc('\n', f) != EOF ? 0 : -1;
}

/* The snapshot as JSON lines, one action each. */
static int snapshot_lines(dsql_snapshot *snap, FILE *f)
{
	int bad = 0;

	fprintf(f, "{\"protocol\":%s}\n", dsql_snapshot_protocol_json(snap));
	if (dsql_snapshot_metadata_json(snap))
		fprintf(f, "{\"metaData\":%s}\n", dsql_snapshot_metadata_json(snap));
	for (size_t i = 0; i < dsql_snapshot_file_count(snap); i++)
		fprintf(f, "{\"add\":%s}\n", dsql_snapshot_file_json(snap, i));
	for (size_t i = 0; !bad && i < dsql_snapshot_app_txn_count(snap); i++) {
		int64_t version;
		const char *app = dsql_snapshot_app_txn(snap, i, &version);

		bad = put_line(f, "txn", json_pack("{s:s, s:I}", "appId", app, "version",
		                                   (json_int_t)version));
	}
	for (size_t i = 0; !bad && i < dsql_snapshot_domain_count(snap); i++) {
		const char *conf, *domain = dsql_snapshot_domain(snap, i, &conf);

		bad = put_line(f, "domainMetadata", json_pack("{s:s, s:s, s:b}", "domain", domain,
		                                              "configuration", conf, "removed", 0));
	}
	return bad || ferror(f) ? -1 : 0;
}

/* The version _last_checkpoint names; -1 without one. */
static int64_t last_checkpoint(const char *file)
{
	json_t *j = json_load_file(file, 0, NULL);
	json_t *v = json_object_get(j, "version");
	int64_t out = json_is_integer(v) ? json_integer_value(v) : -1;

	json_decref(j);
	return out;
}

/* Points _last_checkpoint at version, unless it names a newer one: a
 * temporary of its own renamed over it (the one file of the log that is
 * replaced; readers take it as a hint and list the log after it). */
static int point_last_checkpoint(const char *logdir, int64_t version, int64_t rows,
                                 dsql_error *err)
{
	char file[PATH_MAX + 32], tmp[PATH_MAX + 96], text[96];
	int fd, n;

	snprintf(file, sizeof(file), "%s/_last_checkpoint", logdir);
	if (last_checkpoint(file) >= version)
		return DSQL_OK;
	snprintf(tmp, sizeof(tmp), "%s/._last_checkpoint.%d.tmp", logdir, (int)getpid());
	n = snprintf(text, sizeof(text), "{\"version\":%lld,\"size\":%lld}\n", (long long)version,
	             (long long)rows);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, (size_t)n) != n || fsync(fd) != 0 || close(fd) != 0 ||
	    rename(tmp, file) != 0) {
		int e = errno;

		if (fd >= 0)
			unlink(tmp);
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot write '%s': %s", file,
		                      strerror(e));
	}
	return DSQL_OK;
}

int checkpoint_write(dsql_catalog *cat, const char *table, int64_t version,
                     const char *logdir, dsql_error *err)
{
	char file[PATH_MAX + 64], tmp[PATH_MAX + 128], why[512];
	dsql_snapshot *snap = NULL;
	char *lines = NULL;
	size_t len = 0;
	int64_t rows;
	FILE *f;
	int rc;

	snprintf(file, sizeof(file), "%s/%020lld.checkpoint.parquet", logdir, (long long)version);
	if (access(file, F_OK) == 0)
		return DSQL_OK; /* another publisher's, of the same snapshot */
	if ((rc = dsql_snapshot_open(&snap, cat, table, version, err)) != DSQL_OK)
		return rc;
	if (!(f = open_memstream(&lines, &len))) {
		dsql_snapshot_free(snap);
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	}
	rc = snapshot_lines(snap, f);
	fclose(f);
	dsql_snapshot_free(snap);
	if (rc != 0) {
		free(lines);
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	}
	snprintf(tmp, sizeof(tmp), "%s/.%020lld.checkpoint.parquet.%d.tmp", logdir,
	         (long long)version, (int)getpid());
	rows = dsqlcp_write(tmp, lines, len, why, sizeof(why));
	free(lines);
	if (rows < 0) {
		unlink(tmp);
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0,
		                      "table '%s': cannot write the checkpoint of version %lld: %s",
		                      table, (long long)version, why);
	}
	/* Put-if-absent like the commit files. */
	if (link(tmp, file) != 0 && errno != EEXIST) {
		int e = errno;

		unlink(tmp);
		return dsql_error_set(err, DSQL_EIO, NULL, NULL, 0, "cannot write '%s': %s", file,
		                      strerror(e));
	}
	unlink(tmp);
	if ((rc = log_sync_dir(logdir, err)) != DSQL_OK)
		return rc;
	return point_last_checkpoint(logdir, version, rows, err);
}

#else

int checkpoint_enabled(void)
{
	return 0;
}

int checkpoint_write(dsql_catalog *cat, const char *table, int64_t version,
                     const char *logdir, dsql_error *err)
{
	(void)cat, (void)table, (void)version, (void)logdir, (void)err;
	return DSQL_OK;
}

#endif
