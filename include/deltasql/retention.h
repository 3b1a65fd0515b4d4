/*
 * deltasql/retention.h: expiring old versions' detail, and listing data
 * files nothing references any more.
 *
 * Expiry keeps, for every table: the latest snapshot, every snapshot from
 * the oldest retained version on, the history summary of every version
 * (version, timestamp, txn id, operation), and the application transaction
 * and domain state. Time travel to an expired version fails with
 * DSQL_ENOTFOUND, never with a wrong snapshot. Vacuum lists; it deletes data
 * files only when asked, and only under the table's local location.
 */
#ifndef DELTASQL_RETENTION_H
#define DELTASQL_RETENTION_H

#include "catalog.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSQL_EXPIRE_OPTIONS_VERSION 1
typedef struct dsql_expire_options {
	/* DSQL_EXPIRE_OPTIONS_VERSION. */
	unsigned int version;
	/* Keep every version that time travel to this time (epoch ms) or later
	 * needs; -1 for none. */
	int64_t before_ms;
	/* Keep the latest N versions; 0 for none. */
	int64_t keep_versions;
	/* Count what would go, change nothing. */
	int dry_run;
} dsql_expire_options;
/* Neither before_ms nor keep_versions: the table's delta.logRetentionDuration
 * (default "interval 30 days"). */
#define DSQL_EXPIRE_OPTIONS_INIT {DSQL_EXPIRE_OPTIONS_VERSION, -1, 0, 0}

typedef struct dsql_expire_result {
	int64_t oldest_version;   /* the oldest version kept whole, after */
	int64_t versions_expired; /* versions whose detail went (or would go) */
	int64_t actions_removed;
	int64_t files_removed;    /* file-index rows (their paths stay for vacuum) */
} dsql_expire_result;

/* Expires old versions of a table. Runs in one short write transaction on
 * the table's row. Codes: DSQL_OK, DSQL_ENOTFOUND, DSQL_EINVALID (options,
 * or an unparsable retention property), database codes. */
DSQL_EXTERN int dsql_table_expire(dsql_catalog *cat, const char *table,
                                  const dsql_expire_options *opts, dsql_expire_result *out,
                                  dsql_error *err);

/* One removable file: its path as in the log (and, when delete was asked,
 * whether it was deleted). Strings borrowed for the callback. */
typedef int (*dsql_vacuum_cb)(const char *path, int64_t removed_ms, int deleted, void *payload);

/* Lists the data files removed from a table more than retain_ms ago and not
 * referenced by any retained version. With delete_files, also deletes each
 * such file that lies under the table's location, a local directory (other
 * paths are listed with deleted = 0). Commits to the table wait while it
 * runs, so a file cannot be re-added half-way. Codes: DSQL_OK,
 * DSQL_ENOTFOUND, DSQL_EINVALID, database codes. */
DSQL_EXTERN int dsql_table_vacuum(dsql_catalog *cat, const char *table, int64_t retain_ms,
                                  int delete_files, dsql_vacuum_cb cb, void *payload,
                                  dsql_error *err);

#ifdef __cplusplus
}
#endif
#endif
