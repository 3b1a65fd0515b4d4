/*
 * deltasql/common.h: what every other header needs: the export macro,
 * the library's version, and the status codes every function returns.
 *
 * Status codes are stable: a value, once published, is never renumbered. They
 * are grouped by what the caller should do next: retry, re-read and redo,
 * fix the input, or give up.
 */
#ifndef DELTASQL_COMMON_H
#define DELTASQL_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(DSQL_BUILDING_LIBRARY) && defined(__GNUC__)
#define DSQL_EXTERN __attribute__((visibility("default")))
#else
#define DSQL_EXTERN
#endif

#define DSQL_VERSION_MAJOR 0
#define DSQL_VERSION_MINOR 1
#define DSQL_VERSION_PATCH 0
#define DSQL_VERSION_STRING "0.1.0"

/* "The latest version", wherever a version is asked for. */
#define DSQL_LATEST ((int64_t)-1)

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. Zero is success, negative values are errors, and the two
 * positive values are only returned by statement stepping in driver.h. */
typedef enum dsql_status {
	DSQL_OK = 0,
	/* Anything not covered below (a bug, an unexpected database state). */
	DSQL_ERROR = -1,
	/* A logical Delta conflict: another transaction won. Re-read and redo
	 * the work; dsql_error.conflict says which table, rule and version. */
	DSQL_ECONFLICT = -2,
	/* A transient database failure (serialization failure, deadlock,
	 * busy/locked). Safe to retry the whole transaction. */
	DSQL_ERETRY = -3,
	/* The connection was lost while COMMIT was under way and the outcome
	 * could not be established. Look the transaction id up later. */
	DSQL_EUNKNOWN = -4,
	/* No such table, catalog, version or prepared transaction. */
	DSQL_ENOTFOUND = -5,
	/* The thing to be created exists already. */
	DSQL_EEXISTS = -6,
	/* The caller's input is invalid; nothing was written. */
	DSQL_EINVALID = -7,
	/* The driver or the catalog does not support what was asked. */
	DSQL_EUNSUPPORTED = -8,
	/* The database could not be reached or the connection was refused. */
	DSQL_ECONNECT = -9,
	/* Any other error reported by the database. */
	DSQL_EDB = -10,
	/* The transaction ran past its time limit; nothing was written. */
	DSQL_ETIMEOUT = -11,
	/* Out of memory. */
	DSQL_ENOMEM = -12,
	/* The catalog was written by a newer deltasql (schema version too high). */
	DSQL_ECATALOG_VERSION = -13,
	/* A file could not be read or written (Delta import and export); the
	 * message names the file and the system's reason. */
	DSQL_EIO = -14,
	/* The catalog cannot be written through this connection (a hot
	 * standby, a read-only transaction or server); nothing was written.
	 * Write through the primary. */
	DSQL_EREADONLY = -15,
	/* Statement stepping (driver.h): a row is available / no more rows. */
	DSQL_ROW = 100,
	DSQL_DONE = 101
} dsql_status;

/* Value types: of bound parameters and of result columns. */
typedef enum dsql_type {
	DSQL_TYPE_NULL = 0,
	DSQL_TYPE_INT64 = 1,
	DSQL_TYPE_DOUBLE = 2,
	DSQL_TYPE_TEXT = 3,
	DSQL_TYPE_BLOB = 4
} dsql_type;

/* The library's version as "MAJOR.MINOR.PATCH"; a static string. */
DSQL_EXTERN const char *dsql_version(void);

/* A short, static, human-readable name for a status code ("conflict"). */
DSQL_EXTERN const char *dsql_status_name(int code);

#ifdef __cplusplus
}
#endif
#endif
