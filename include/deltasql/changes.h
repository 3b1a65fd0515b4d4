/*
 * deltasql/changes.h: what changed in a table between two versions, and
 * which versions were committed after a given one (for a poller).
 *
 * Changes are read from the catalog's verbatim action rows by version range
 * (one indexed range on (table, version)), joined to each version's commit
 * row for its timestamp and transaction id: no snapshot is loaded, and the
 * cost grows with the versions asked for, not with the table. Each call
 * reads inside one database read transaction, so a concurrent expiry or
 * commit cannot show half of itself.
 *
 * The callbacks run inside that read transaction: they must not use the
 * catalog handle (a handle is used by one thread at a time, as everywhere).
 */
#ifndef DELTASQL_CHANGES_H
#define DELTASQL_CHANGES_H

#include "catalog.h"
#include "history.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a change is: the Delta action it comes from. Stable values. */
typedef enum dsql_change_kind {
	DSQL_CHANGE_ADD = 1,    /* an add action: a file (or a new deletion vector) */
	DSQL_CHANGE_REMOVE = 2, /* a remove action */
	DSQL_CHANGE_CDC = 3     /* a cdc action: a change data file (_change_data/) */
} dsql_change_kind;

/* One file change. Strings are borrowed for the callback's duration. */
typedef struct dsql_change {
	int64_t version;      /* the table version that committed it */
	int64_t timestamp_ms; /* that version's commit time, epoch milliseconds */
	const char *txn_id;   /* the transaction (shared by a multi-table commit) */
	int64_t seq;          /* position of the action within its version's log */
	dsql_change_kind kind;
	const char *path;     /* as in the Delta log (URL-encoded) */
	int64_t size;         /* bytes; -1 when the action has none (a remove may not) */
	int data_change;      /* the action's dataChange flag */
	const char *action_json; /* the action's body as JSON text, as committed */
} dsql_change;

typedef int (*dsql_change_cb)(const dsql_change *change, void *payload);

/* Calls cb for every add, remove and cdc action of versions from..to of the
 * table (both included; to = DSQL_LATEST: up to the latest version), in
 * commit order: by version, then by position in the version. *out (may be
 * NULL) receives the last version covered, to resolved (the next poll
 * starts after it). A version without file actions yields no call. A
 * non-zero return from cb stops the walk and is returned.
 *
 * Codes: DSQL_OK; DSQL_EINVALID (a negative from, from after to, a NULL cb);
 * DSQL_ENOTFOUND (no such table; from or to beyond the latest version;
 * from before the oldest version an expiry kept, whose actions are gone:
 * the message names that oldest version); database codes. */
DSQL_EXTERN int dsql_changes(int64_t *out, dsql_catalog *cat, const char *table, int64_t from,
                             int64_t to, dsql_change_cb cb, void *payload, dsql_error *err);

/* Calls cb for every version of the table committed after version `after`
 * (DSQL_LATEST = -1: from version 0), oldest first, with the same summary
 * dsql_history gives; expired versions are included, since expiry keeps
 * every version's summary. *out (may be NULL) receives the table's latest
 * version at the time of the read. No newer version: no call, DSQL_OK. A
 * non-zero return from cb stops and is returned.
 *
 * Codes: DSQL_OK; DSQL_EINVALID (after below -1, a NULL cb); DSQL_ENOTFOUND (no such
 * table; after beyond the latest version); database codes. */
DSQL_EXTERN int dsql_changes_after(int64_t *out, dsql_catalog *cat, const char *table,
                                   int64_t after, dsql_history_cb cb, void *payload,
                                   dsql_error *err);

#ifdef __cplusplus
}
#endif
#endif
