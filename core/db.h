/*
 * The core's only door to a database: thin wrappers around the driver
 * vtable. Nothing else in the core calls a driver method directly, so this
 * is where statements are cached, where errors are labelled with the driver
 * that raised them, and where faults can be injected in tests.
 */
#ifndef DSQL_CORE_DB_H
#define DSQL_CORE_DB_H

#include "deltasql/driver.h"

typedef struct dsql_db dsql_db;
typedef struct db_stmt db_stmt;

int db_open(dsql_db **out, const char *uri, dsql_error *err);
void db_close(dsql_db *db);
/* Drops the connection and opens a new one to the same URI (after a lost
 * connection). Cached statements are discarded. */
int db_reconnect(dsql_db *db, dsql_error *err);
/* Where db_reconnect reports (the catalog's logger; borrowed). */
struct core_logger;
void db_set_logger(dsql_db *db, const struct core_logger *log);

/* How the core shapes its statements on one connection: named choices made
 * once per connection (db_open, db_reconnect) from the driver's
 * capabilities and dialect, so that the commit path asks a question, not a
 * combination of bits. */
typedef struct db_choices {
	/* Writers are serialised by the database (DSQL_CAP_SERIAL_WRITERS):
	 * nothing moves between two statements of a write transaction. */
	int serial_writers;
	/* Lock a table's row and read it in one UPDATE ... RETURNING (serial
	 * writers, and RETURNING works). */
	int lock_returning;
	/* Statements are queued and sent together (DSQL_CAP_DEFERRED). */
	int deferred;
	/* One row per statement (DSQL_CAP_IN_PROCESS: no round trip to save). */
	int row_per_statement;
	/* Unlink many files in one statement by the dialect's row-id form. */
	int unlink_by_row_id;
	/* Unlink each file by a statement of its own: statements are queued
	 * and there is no row-id form (an IN list may be planned as a walk). */
	int unlink_each;
	/* UPDATE counts changed rows, not matched ones
	 * (DSQL_DIALECT_COUNTS_CHANGED): a count of 0 proves nothing. */
	int counts_changed;
	/* DDL commits the open transaction (DSQL_DIALECT_DDL_COMMITS). */
	int ddl_commits;
	/* A latest snapshot's files in primary-key order
	 * (DSQL_DIALECT_SORT_BY_KEY). */
	int sort_by_key;
} db_choices;

const dsql_driver *db_driver(const dsql_db *db);
/* The DSQL_CAP_* bits that hold on this connection: the driver's, with
 * the statement-shape bits the connection reports (driver.h). */
unsigned int db_capabilities(const dsql_db *db);
/* This connection's choices; borrowed until db_close. */
const db_choices *db_choose(const dsql_db *db);
/* This connection's dialect, every field filled (the driver's where it
 * has one, the portable default elsewhere); borrowed until the next
 * db_reconnect or db_close. */
const dsql_dialect *db_dialect(const dsql_db *db);
/* Expands a statement template of the catalog's: "{name}", "{path}",
 * "{dv}", "{text}", "{bytes}" become the dialect's type names, "{table
 * options}" its table options, "{q:IDENT}" the quoted identifier. Returns
 * a string to free, or NULL (out of memory). */
char *db_expand(const dsql_db *db, const char *template);
const char *db_uri(const dsql_db *db);
int db_in_txn(const dsql_db *db);

int db_begin(dsql_db *db, dsql_begin_mode mode, dsql_error *err);
int db_commit(dsql_db *db, dsql_error *err);
/* Rolls back if a transaction is open; never fails the caller (a dead
 * connection has rolled back already). */
void db_rollback(dsql_db *db);

int db_prepare_transaction(dsql_db *db, const char *gid, dsql_error *err);
int db_commit_prepared(dsql_db *db, const char *gid, dsql_error *err);
int db_rollback_prepared(dsql_db *db, const char *gid, dsql_error *err);
int db_list_prepared(dsql_db *db, const char *prefix, dsql_prepared_cb cb, void *payload,
                     dsql_error *err);

/* Returns the cached statement for this SQL text, prepared on first use and
 * reset on every later use. The statement stays owned by the db. */
int db_stmt_get(db_stmt **out, dsql_db *db, const char *sql, dsql_error *err);

/* DSQL_OK when the driver has the database judge application statements;
 * else DSQL_EUNSUPPORTED, saying so. */
int db_judges_app_sql(const dsql_db *db, dsql_error *err);
/* An application statement, judged by the database (driver.h,
 * prepare_application): prepared for one use and freed with db_stmt_free.
 * DSQL_EUNSUPPORTED when the driver cannot judge one. */
int db_stmt_prepare_app(db_stmt **out, dsql_db *db, const char *sql, dsql_error *err);
/* Non-zero while the open write transaction is still open on the database
 * (after an application statement). */
int db_txn_still_open(dsql_db *db);
/* Runs what follows in the open transaction under a database role. */
int db_set_app_role(dsql_db *db, const char *role, dsql_error *err);
/* Waits for the deferred statements of the open transaction, so that
 * their errors are reported now, as theirs. */
int db_flush(dsql_db *db, dsql_error *err);
void db_stmt_free(db_stmt *st);
/* Binds one parameter of any type (1-based idx). */
int db_bind(db_stmt *st, int idx, dsql_type type, int64_t i64, double f64, const void *data,
            size_t len, dsql_error *err);
int db_column_count(db_stmt *st);
dsql_type db_column_type(db_stmt *st, int col);
double db_column_double(db_stmt *st, int col);
const void *db_column_blob(db_stmt *st, int col, size_t *len);

/* Binds parameters from a type string and executes the statement, stopping
 * at the first row: 'i' int64_t, 't' const char * (NULL binds SQL NULL),
 * 'n' SQL NULL (no argument), 'd' double. Returns DSQL_ROW, DSQL_DONE or an
 * error code. */
int db_run(db_stmt *st, dsql_error *err, const char *types, ...);
int db_step(db_stmt *st, dsql_error *err);
/* Executes a bound statement that returns no rows without waiting for its
 * outcome where the driver can queue it (DSQL_CAP_DEFERRED): its failure is
 * then reported by the next call that waits for the database, at the
 * latest db_commit. expect >= 0: it must change exactly that many rows, or
 * it fails with DSQL_ERETRY (checked here for drivers that cannot defer). */
int db_defer(db_stmt *st, int64_t expect, dsql_error *err);
/* Binds like db_run, then db_defer. */
int db_run_deferred(db_stmt *st, int64_t expect, dsql_error *err, const char *types, ...);
/* Ends the use of a statement before its last row: releases its result (and
 * with it any read lock or snapshot the database holds for it). */
void db_stmt_done(db_stmt *st);
int64_t db_changes(db_stmt *st);
int db_column_is_null(db_stmt *st, int col);
int64_t db_column_int64(db_stmt *st, int col);
/* Borrowed until the next step; "" for NULL unless null_ok. */
const char *db_column_text(db_stmt *st, int col, size_t *len);
/* Like db_column_text but NULL for SQL NULL. */
const char *db_column_text_or_null(db_stmt *st, int col);

/* Runs one statement with no parameters and no result rows (DDL). */
int db_exec(dsql_db *db, const char *sql, dsql_error *err);

/* Test builds (--enable-fault-injection): a named fault point. When the
 * environment variable DELTASQL_FAULT names this point, the process kills
 * itself (SIGKILL); when DELTASQL_PAUSE names it, it sleeps there for
 * DELTASQL_PAUSE_MS milliseconds (default 1000). Deferred statements of
 * db's open transaction are executed first, so that the point means the
 * same on every driver: what came before it has run (locks are held). */
void db_fault_point(dsql_db *db, const char *name);

#endif
