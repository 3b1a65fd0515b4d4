/*
 * deltasql/delta.h: Delta Lake interoperability. Import an existing table's
 * _delta_log (JSON commits from version 0) into the catalog, keeping every
 * action verbatim; export the catalog's commits back as _delta_log files
 * any Delta reader can read.
 */
#ifndef DELTASQL_DELTA_H
#define DELTASQL_DELTA_H

#include "catalog.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Progress of a long import or export: versions done out of total. */
typedef void (*dsql_progress_cb)(int64_t done, int64_t total, void *payload);

/* Imports PATH/_delta_log into a new table of the catalog (location PATH).
 * Versions must be contiguous JSON commits from 0 (a table whose early
 * commits survive only in a checkpoint is refused, naming the missing
 * versions); staged commits of a catalog-managed table
 * (_delta_log/_staged_commits/<v>.<uuid>.json, one per version) continue the
 * published ones. Version 0 must carry protocol and metaData; reader
 * versions above 3 and unknown reader features are refused. Each version is
 * committed with its own timestamp (inCommitTimestamp, else
 * commitInfo.timestamp, else the file's time). All or nothing: on any error
 * the table is dropped again. progress may be NULL. Codes: DSQL_OK,
 * DSQL_ENOTFOUND (no log), DSQL_EINVALID (malformed log: the message names
 * the file and line), DSQL_EUNSUPPORTED (protocol), DSQL_EEXISTS (table
 * exists), DSQL_EIO (a commit file that cannot be read), database codes. */
DSQL_EXTERN int dsql_delta_import(dsql_catalog *cat, const char *table, const char *path,
                                  dsql_progress_cb progress, void *payload, dsql_error *err);

/* Writes DIR/_delta_log/%020d.json for every version from from_version on
 * that is not there yet (DIR and its missing parents are created): one
 * action per line, commitInfo first. An existing
 * file with the same content is left alone; one with different content is
 * never overwritten (DSQL_EEXISTS). Each file is written to a hidden
 * temporary file of its own (created exclusively: concurrent exports of
 * the same table into one directory all succeed), synced, and linked into
 * place (a link, unlike a rename, never replaces a file another writer put
 * there meanwhile); the directory is synced once they are all in place.
 * Versions that retention expired are refused (DSQL_ENOTFOUND, naming the
 * oldest exportable version). *written (may be NULL) receives the number
 * of files written. Codes: DSQL_OK, DSQL_ENOTFOUND, DSQL_EEXISTS,
 * DSQL_EINVALID, DSQL_EIO (a file or directory that cannot be written: the
 * message names it and gives errno's reason), database codes. */
DSQL_EXTERN int dsql_delta_export(dsql_catalog *cat, const char *table, const char *dir,
                                  int64_t from_version, int64_t *written,
                                  dsql_progress_cb progress, void *payload, dsql_error *err);

/* --- publication ---
 *
 * A table whose location is a local directory (an absolute path or a
 * file: URI) has its log published there: after each commit's database
 * transaction, every version not yet there is written as
 * LOCATION/_delta_log/%020d.json (the bytes dsql_delta_export writes), in
 * version order, put-if-absent. The commit never fails for it: the next
 * commit, or dsql_delta_publish, catches up (the counts are in
 * dsql_metrics). Off for a table whose metaData configuration has
 * deltasql.publish=false, and for a whole catalog by
 * dsql_catalog_set_publish. */

/* Publishes every version of table not yet in its log. *written (may be
 * NULL) receives the number of files written. Codes: DSQL_OK,
 * DSQL_ENOTFOUND (no such table; a version expired before it was
 * published), DSQL_EUNSUPPORTED (no local location, or publication off),
 * DSQL_EEXISTS (a version file holds other actions: another writer keeps
 * the log, and this handle stops publishing the table; the message names
 * the version and file), DSQL_EIO (the location is not a directory, or a
 * file cannot be written), database codes. */
DSQL_EXTERN int dsql_delta_publish(dsql_catalog *cat, const char *table, int64_t *written,
                                   dsql_error *err);

/* Turns publication on or off for the whole catalog (its 'publish' key),
 * for this handle at once and for handles opened later. Codes: DSQL_OK,
 * DSQL_EINVALID, database codes. */
DSQL_EXTERN int dsql_catalog_set_publish(dsql_catalog *cat, int on, dsql_error *err);

#ifdef __cplusplus
}
#endif
#endif
