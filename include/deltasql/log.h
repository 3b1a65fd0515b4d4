/*
 * deltasql/log.h: what the library did, as it happens. A catalog handle
 * with a logger calls it for the events an operator watches: commits,
 * conflicts, retries and their backoff, reconnects, the recovery of
 * commits whose outcome was unknown, two-phase decisions, expire and
 * vacuum. Each call carries a level, an event kind, a one-line message and
 * the event's facts as key/value text fields, so that a caller can print
 * text, JSON lines, or feed its own logging system.
 *
 * Nothing is logged unless a logger is set, and a handle without one pays
 * one pointer test per event. The logger runs on the thread that uses the
 * handle, inside the library's call: it must not call back into the same
 * handle.
 */
#ifndef DELTASQL_LOG_H
#define DELTASQL_LOG_H

#include "catalog.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Levels, most severe first; a logger set at a level gets that level and
 * the ones above it. */
typedef enum dsql_log_level {
	DSQL_LOG_ERROR = 0, /* an operation failed */
	DSQL_LOG_WARN = 1,  /* it went on, but an operator should know: conflicts, retries,
	                     * reconnects, recoveries */
	DSQL_LOG_INFO = 2,  /* what changed the catalog: commits, 2PC decisions, expire, vacuum */
	DSQL_LOG_DEBUG = 3  /* how: rebases, cheap tries that missed */
} dsql_log_level;

/* Event kinds; stable values, only ever appended. Each line gives the
 * event's level and its fields (every value is text; numbers in decimal). */
typedef enum dsql_log_event {
	/* info: a transaction committed, or prepared, or was a replay of one
	 * committed earlier. txn, versions ("table=version,..."), attempts,
	 * duration_us, replayed ("true"/"false"), prepared_gid (prepared only) */
	DSQL_EVENT_COMMIT = 0,
	/* error: a commit returned an error other than a conflict. txn, code
	 * (dsql_status_name), attempts, duration_us; the message is the error's */
	DSQL_EVENT_COMMIT_FAILED = 1,
	/* warn: a commit rejected by a conflict. txn, rule, table,
	 * winning_version, attempts, duration_us */
	DSQL_EVENT_CONFLICT = 2,
	/* debug: a table written past winners that did not conflict. txn, table,
	 * read_version, current_version */
	DSQL_EVENT_REBASE = 3,
	/* warn: an attempt failed transiently and is retried after a pause.
	 * txn, attempt, code, backoff_ms (dsql_txn_run's conflict retries: attempt,
	 * code "conflict", backoff_ms) */
	DSQL_EVENT_RETRY = 4,
	/* warn: the connection was opened again. driver, result ("ok" or the
	 * status name) */
	DSQL_EVENT_RECONNECT = 5,
	/* warn: a commit whose COMMIT was cut off, looked up in the journal: txn,
	 * outcome ("committed", "not_committed", "unknown"); or a prepared
	 * transaction left by a crashed process, resolved: gid, decision */
	DSQL_EVENT_RECOVERY = 6,
	/* info (error when it failed): a prepared transaction committed or rolled
	 * back. gid, decision ("commit"/"rollback"), result */
	DSQL_EVENT_TWO_PHASE = 7,
	/* info: old versions' detail dropped. table, dry_run, oldest_version,
	 * versions_expired, actions_removed, files_removed */
	DSQL_EVENT_EXPIRE = 8,
	/* info: unreferenced data files listed or deleted. table, files_listed,
	 * files_deleted, retain_ms */
	DSQL_EVENT_VACUUM = 9,
	/* debug: a commit's cheap first try, built on what the handle knew,
	 * found a table moved and went on under locks. txn, table (may be "") */
	DSQL_EVENT_HINT_MISS = 10,
	/* warn: a table's log could not be published after a commit (it is
	 * caught up later), or publication stopped on another writer's file
	 * (the message names the version and file). table, version, code */
	DSQL_EVENT_PUBLISH = 11,
	DSQL_EVENT_COUNT = 12
} dsql_log_event;

/* One fact of an event: key and value are borrowed for the call only. */
typedef struct dsql_log_field {
	const char *key;
	const char *value;
} dsql_log_field;

/* The logger: level, event kind, message, and n_fields fields (all
 * borrowed until it returns). */
typedef void (*dsql_log_cb)(dsql_log_level level, dsql_log_event event, const char *message,
                            const dsql_log_field *fields, size_t n_fields, void *payload);

/* Sets the catalog's logger: cb receives the events of max_level and the
 * levels above it. cb NULL removes the logger. A handle starts without one. */
DSQL_EXTERN void dsql_catalog_set_logger(dsql_catalog *cat, dsql_log_level max_level,
                                         dsql_log_cb cb, void *payload);

/* "error", "warn", "info", "debug"; NULL for an unknown level. */
DSQL_EXTERN const char *dsql_log_level_name(int level);
/* "commit", "commit_failed", "conflict", ...; NULL for an unknown kind. */
DSQL_EXTERN const char *dsql_log_event_name(int event);

#ifdef __cplusplus
}
#endif
#endif
