/*
 * deltasql/catalog.h: a catalog is one database holding the metadata of
 * many Delta tables. It is opened by URI ("sqlite:/path/lake.db",
 * "postgresql://host/db", "odbc:DSN=x"); the URI's scheme picks the driver.
 *
 * A dsql_catalog handle owns one database connection and is used by one
 * thread at a time; open one handle per thread or process.
 */
#ifndef DELTASQL_CATALOG_H
#define DELTASQL_CATALOG_H

#include "common.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsql_catalog dsql_catalog;

/* How transient database failures (busy, serialization failure, deadlock,
 * lost connection before COMMIT) are retried: exponential backoff with full
 * jitter, delay = random(0, min(max_delay_ms, base_delay_ms * 2^attempt)),
 * for at most max_attempts attempts and timeout_ms in all. */
typedef struct dsql_retry_policy {
	unsigned int max_attempts;
	unsigned int base_delay_ms;
	unsigned int max_delay_ms;
	unsigned int timeout_ms;
} dsql_retry_policy;
#define DSQL_RETRY_POLICY_INIT {20, 2, 500, 60000}

#define DSQL_CATALOG_OPTIONS_VERSION 1
typedef struct dsql_catalog_options {
	/* DSQL_CATALOG_OPTIONS_VERSION. */
	unsigned int version;
	/* Non-zero: create the catalog schema when the database has none.
	 * Zero: fail with DSQL_ENOTFOUND instead. */
	int create;
	/* The default policy of the catalog's transactions. */
	dsql_retry_policy retry;
} dsql_catalog_options;
#define DSQL_CATALOG_OPTIONS_INIT {DSQL_CATALOG_OPTIONS_VERSION, 1, DSQL_RETRY_POLICY_INIT}

/* The schema version this library writes. */
#define DSQL_CATALOG_SCHEMA_VERSION 2

/* Opens a catalog; opts may be NULL (DSQL_CATALOG_OPTIONS_INIT). An older
 * catalog schema is upgraded in place. The handle belongs to the caller:
 * dsql_catalog_free. Codes: DSQL_OK, DSQL_EINVALID (bad URI or options),
 * DSQL_ECONNECT, DSQL_ENOTFOUND (no catalog and !create),
 * DSQL_ECATALOG_VERSION (written by a newer deltasql), DSQL_EDB. */
DSQL_EXTERN int dsql_catalog_open(dsql_catalog **out, const char *uri,
                                  const dsql_catalog_options *opts, dsql_error *err);

/* Closes the connection and frees the handle. NULL-safe. */
DSQL_EXTERN void dsql_catalog_free(dsql_catalog *cat);

/* The name of the driver serving the catalog; borrowed, static. */
DSQL_EXTERN const char *dsql_catalog_driver(const dsql_catalog *cat);

/* The catalog's unique id (36 characters); borrowed until free. */
DSQL_EXTERN const char *dsql_catalog_uuid(const dsql_catalog *cat);

/* Sets the retry policy used by transactions that do not bring their own. */
DSQL_EXTERN void dsql_catalog_set_retry_policy(dsql_catalog *cat,
                                               const dsql_retry_policy *policy);

#ifdef __cplusplus
}
#endif
#endif
