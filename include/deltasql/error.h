/*
 * deltasql/error.h: the error report. The caller allocates a dsql_error
 * (usually on the stack) and passes its address as the last argument of any
 * call; the library fills it when the call fails. NULL is accepted wherever
 * an error pointer is taken. There is nothing to free, no thread-local
 * "last error", and credentials never appear in a message.
 */
#ifndef DELTASQL_ERROR_H
#define DELTASQL_ERROR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSQL_ERROR_MESSAGE_MAX 1024
#define DSQL_NAME_MAX 256

/* Details of a logical conflict (code DSQL_ECONFLICT). */
typedef struct dsql_conflict {
	/* Delta's rule name: "concurrent_append", "concurrent_delete_read",
	 * "concurrent_delete_delete", "metadata_changed", "protocol_changed",
	 * "concurrent_transaction", "concurrent_domain_metadata", or
	 * "stale_read_version" when the read version is simply out of date. */
	char rule[40];
	/* The table where the conflict was found. */
	char table[DSQL_NAME_MAX];
	/* The version written by the winning transaction, or -1. */
	int64_t winning_version;
	/* The file path, appId or domain involved, if any. */
	char detail[DSQL_NAME_MAX];
} dsql_conflict;

typedef struct dsql_error {
	/* A dsql_status value (negative). */
	int code;
	/* The five-character SQLSTATE, NUL-terminated; empty when the error
	 * did not come from the database. */
	char sqlstate[6];
	/* The database's own error code (e.g. SQLite's extended result code),
	 * or 0. */
	int64_t native_code;
	/* The name of the driver that raised the error, or "core". */
	char driver[32];
	/* Set when code == DSQL_ECONFLICT. */
	dsql_conflict conflict;
	/* For application statements run inside a commit: the failing
	 * statement's index, or -1. */
	int statement_index;
	/* A one-line message naming what was wrong. */
	char message[DSQL_ERROR_MESSAGE_MAX];
} dsql_error;

/* Resets an error report to "no error". NULL is accepted. */
DSQL_EXTERN void dsql_error_clear(dsql_error *err);

/* Fills an error report (for drivers, and for applications that wrap
 * deltasql calls) (any of err, sqlstate may be NULL)
 * and returns code. The message is printf-style and truncated to fit. */
DSQL_EXTERN int dsql_error_set(dsql_error *err, int code, const char *driver,
                               const char *sqlstate, int64_t native_code, const char *fmt,
                               ...)
#ifdef __GNUC__
	__attribute__((format(printf, 6, 7)))
#endif
	;

#ifdef __cplusplus
}
#endif
#endif
