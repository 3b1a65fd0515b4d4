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
#define DSQL_CATALOG_SCHEMA_VERSION 8

/* Opens a catalog; opts may be NULL (DSQL_CATALOG_OPTIONS_INIT). An older
 * catalog schema is upgraded in place where it can be written; where it
 * cannot (a hot standby) it is read as it is when this library can read
 * it. The handle belongs to the caller: dsql_catalog_free. Codes: DSQL_OK,
 * DSQL_EINVALID (bad URI or options), DSQL_ECONNECT, DSQL_ENOTFOUND (the
 * catalog's tables are missing and !create), DSQL_ECATALOG_VERSION (written
 * by a newer deltasql, or too old to read without migrating on a standby),
 * DSQL_EREADONLY (create on a standby), DSQL_EDB (e.g. permission denied). */
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

/* --- native two-phase commit (drivers with DSQL_CAP_TWO_PHASE) ---
 *
 * dsql_txn_prepare (txn.h) runs a commit up to PREPARE TRANSACTION and
 * returns its global id; a coordinator later commits or rolls it back by
 * that id, from this or any other process. Codes of every call below
 * include DSQL_EUNSUPPORTED when the driver has no native 2PC. */

/* Commits a prepared transaction: first records the decision in the
 * catalog (so recovery finishes it, should this process die), then
 * COMMIT PREPARED. Codes: DSQL_OK, DSQL_ENOTFOUND (no such prepared
 * transaction), DSQL_EINVALID, database codes. */
DSQL_EXTERN int dsql_prepared_commit(dsql_catalog *cat, const char *gid, dsql_error *err);

/* Rolls back a prepared transaction. Refused (DSQL_EINVALID, naming the
 * decision) when its decision to commit was recorded: such a transaction
 * can only be committed. Codes: as dsql_prepared_commit. */
DSQL_EXTERN int dsql_prepared_rollback(dsql_catalog *cat, const char *gid, dsql_error *err);

/* Calls cb for every transaction of this catalog that is prepared and not
 * yet resolved. A non-zero return from cb stops and is returned. */
typedef int (*dsql_gid_cb)(const char *gid, int64_t prepared_ms, int decided, void *payload);
DSQL_EXTERN int dsql_prepared_list(dsql_catalog *cat, dsql_gid_cb cb, void *payload,
                                   dsql_error *err);

/* Resolves the prepared transactions of this catalog left by crashed
 * processes: those prepared more than older_than_ms ago are committed when
 * their commit was decided, and rolled back otherwise (presumed abort).
 * *committed and *rolled_back (may be NULL) receive the counts. */
DSQL_EXTERN int dsql_prepared_recover(dsql_catalog *cat, int64_t older_than_ms,
                                      unsigned int *committed, unsigned int *rolled_back,
                                      dsql_error *err);

#ifdef __cplusplus
}
#endif
#endif
