/*
 * deltasql/history.h: a table's commits, one entry per version.
 */
#ifndef DELTASQL_HISTORY_H
#define DELTASQL_HISTORY_H

#include "catalog.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One version of a table; strings borrowed for the callback's duration. */
typedef struct dsql_commit_info {
	int64_t version;
	int64_t timestamp_ms;
	const char *txn_id;
	const char *operation;
	int64_t adds;
	int64_t removes;
} dsql_commit_info;

typedef int (*dsql_history_cb)(const dsql_commit_info *commit, void *payload);

/* Calls cb for every version of the table, oldest first. A non-zero return
 * from cb stops and is returned. Codes: DSQL_OK, DSQL_ENOTFOUND, database
 * codes. */
DSQL_EXTERN int dsql_history(dsql_catalog *cat, const char *table, dsql_history_cb cb,
                             void *payload, dsql_error *err);

#ifdef __cplusplus
}
#endif
#endif
