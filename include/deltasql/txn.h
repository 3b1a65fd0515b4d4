/*
 * deltasql/txn.h: a transaction over one or several tables. Opening a table
 * in a transaction records the version it reads; actions are staged in
 * memory, with no database transaction or lock held while the application
 * works; dsql_txn_commit then writes every table's next version in one
 * database transaction: all tables become visible at once, or none do.
 *
 * A dsql_txn is used by one thread at a time, together with its catalog.
 */
#ifndef DELTASQL_TXN_H
#define DELTASQL_TXN_H

#include "catalog.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsql_txn dsql_txn;

/* Delta's isolation levels. */
typedef enum dsql_isolation {
	DSQL_ISOLATION_DEFAULT = 0, /* write_serializable */
	DSQL_ISOLATION_SERIALIZABLE = 1,
	DSQL_ISOLATION_WRITE_SERIALIZABLE = 2,
	DSQL_ISOLATION_SNAPSHOT = 3
} dsql_isolation;

/* "serializable", "write_serializable", "snapshot" (Delta's names
 * "Serializable", "WriteSerializable", "SnapshotIsolation" are accepted
 * too). Codes: DSQL_OK, DSQL_EINVALID. */
DSQL_EXTERN int dsql_isolation_parse(dsql_isolation *out, const char *name, dsql_error *err);
DSQL_EXTERN const char *dsql_isolation_name(dsql_isolation isolation);

#define DSQL_TXN_OPTIONS_VERSION 1
typedef struct dsql_txn_options {
	/* DSQL_TXN_OPTIONS_VERSION. */
	unsigned int version;
	dsql_isolation isolation;
	/* A caller-chosen id (1 to 128 printable ASCII characters) or NULL
	 * for a fresh UUIDv7. Committing an id that the catalog already
	 * holds returns the original result and writes nothing. */
	const char *txn_id;
	/* NULL: the catalog's policy. */
	const dsql_retry_policy *retry;
} dsql_txn_options;
#define DSQL_TXN_OPTIONS_INIT {DSQL_TXN_OPTIONS_VERSION, DSQL_ISOLATION_DEFAULT, NULL, NULL}

/* Starts a transaction; opts may be NULL. Nothing touches the database
 * yet. Free with dsql_txn_free. Codes: DSQL_OK, DSQL_EINVALID, DSQL_ENOMEM. */
DSQL_EXTERN int dsql_txn_begin(dsql_txn **out, dsql_catalog *cat, const dsql_txn_options *opts,
                               dsql_error *err);

/* Adds a table to the transaction, reading at read_version (DSQL_LATEST
 * for the table's current version). Opening a table twice with the same
 * version is a no-op. Codes: DSQL_OK, DSQL_ENOTFOUND (no such table, or a
 * version it never had), DSQL_EINVALID (opened before at another version). */
DSQL_EXTERN int dsql_txn_open_table(dsql_txn *txn, const char *table, int64_t read_version,
                                    dsql_error *err);

/* The version the transaction reads of a table it opened. */
DSQL_EXTERN int dsql_txn_read_version(const dsql_txn *txn, const char *table, int64_t *out,
                                      dsql_error *err);

/* Stages one Delta action, given as one _delta_log line of JSON
 * ({"add": {...}}), for a table; the table is opened at its latest
 * version when it was not opened before. A table the transaction only adds
 * files to, without opening or reading it, reads no version: it is written
 * on top of the latest version when the transaction commits (and the
 * handle's knowledge of the table saves looking it up now). The action's
 * structure is checked now. Codes: DSQL_OK, DSQL_EINVALID, DSQL_ENOTFOUND. */
DSQL_EXTERN int dsql_txn_stage(dsql_txn *txn, const char *table, const char *action_json,
                               dsql_error *err);

/* Typed file actions: an add or remove given as fields instead of JSON.
 * deltasql writes the Delta line itself (the same line a caller would
 * give dsql_txn_stage), with no JSON to build on the caller's side and
 * none to parse on deltasql's: the fast way to stage many files. */

/* A key and its value, for partition values and tags. A NULL value is
 * JSON null. */
typedef struct dsql_key_value {
	const char *key;
	const char *value;
} dsql_key_value;

/* Delta's deletion vector descriptor. */
typedef struct dsql_deletion_vector {
	const char *storage_type;      /* "u", "p" or "i" */
	const char *path_or_inline_dv; /* as the storage type says */
	int64_t offset;                /* -1: absent */
	int64_t size_in_bytes;
	int64_t cardinality;
} dsql_deletion_vector;

#define DSQL_FILE_ACTION_VERSION 1
/* One data file added or removed. Every string is UTF-8 and only read
 * during the call. Numbers that may be absent take -1 for "absent". */
typedef struct dsql_file_action {
	/* DSQL_FILE_ACTION_VERSION. */
	unsigned int version;
	/* The file's path as Delta writes it (relative to the table, URL-
	 * encoded, or an absolute URI). Required. */
	const char *path;
	/* The file's partition values, one per partition column. */
	const dsql_key_value *partition_values;
	size_t n_partition_values;
	/* Bytes. An add requires it; a remove may leave it -1. */
	int64_t size;
	/* Milliseconds since the epoch: an add's modificationTime (required),
	 * a remove's deletionTimestamp (-1: absent). */
	int64_t timestamp_ms;
	/* Delta's dataChange: 0 for a file rearranged without changing the
	 * table's data (compaction), else 1. */
	int data_change;
	/* The file's statistics, a JSON document as Delta writes it (stored
	 * as given, not parsed: see docs/DELTA.md); NULL: none. */
	const char *stats;
	const dsql_key_value *tags;
	size_t n_tags;
	/* NULL: the file has none. */
	const dsql_deletion_vector *deletion_vector;
	/* Row tracking (-1: absent). */
	int64_t base_row_id;
	int64_t default_row_commit_version;
} dsql_file_action;
#define DSQL_FILE_ACTION_INIT                                                                  \
	{DSQL_FILE_ACTION_VERSION, NULL, NULL, 0, -1, -1, 1, NULL, NULL, 0, NULL, -1, -1}

/* Stages an add (a remove) of one file for a table, exactly as
 * dsql_txn_stage stages the equivalent {"add": {...}} ({"remove": ...})
 * line: the same checks, now and at commit, and the same rows. The
 * fields are checked now; the message names the one that is wrong.
 * Codes: DSQL_OK, DSQL_EINVALID, DSQL_ENOTFOUND, DSQL_ENOMEM. */
DSQL_EXTERN int dsql_txn_add_file(dsql_txn *txn, const char *table,
                                  const dsql_file_action *file, dsql_error *err);
DSQL_EXTERN int dsql_txn_remove_file(dsql_txn *txn, const char *table,
                                     const dsql_file_action *file, dsql_error *err);

/* Read sets: what the transaction read of a table, checked against the
 * commits that win before it (the conflict rules in docs/CONFLICTS.md). A
 * table with no read set is a blind writer; files it removes count as read.
 * Each call adds to the table's read set (the table is opened at its latest
 * version when it was not open). */

/* The whole table was read. */
DSQL_EXTERN int dsql_txn_read_whole_table(dsql_txn *txn, const char *table, dsql_error *err);

/* The files matching a partition predicate were read: a JSON object of
 * partition column to value, a list of values (IN), or null (IS NULL),
 * ANDed: {"country": "DE", "day": ["2026-01-01", "2026-01-02"]}. Several
 * predicates are ORed. Columns must be partition columns (checked at
 * commit). Codes: DSQL_OK, DSQL_EINVALID, DSQL_ENOTFOUND. */
DSQL_EXTERN int dsql_txn_read_predicate(dsql_txn *txn, const char *table,
                                        const char *predicate_json, dsql_error *err);

/* These files (by path) were read. */
DSQL_EXTERN int dsql_txn_read_files(dsql_txn *txn, const char *table, const char *const *paths,
                                    size_t n_paths, dsql_error *err);

/* The read set in the commit document's form: {"whole_table": true},
 * {"predicate": {...}}, {"files": ["path", ...]} or {"app_ids": ["id", ...]}
 * (the application transaction versions read; keys may be combined). */
DSQL_EXTERN int dsql_txn_read(dsql_txn *txn, const char *table, const char *read_json,
                              dsql_error *err);

/* Commits every table with staged actions atomically, retrying transient
 * failures under the retry policy. Validation against what was read (a
 * remove must name a live file, adds must carry the table's partition
 * columns, each value in Delta's form of its column's type: "7" for an
 * integer, "2026-12-03" for a date; "" or null is null) happens first;
 * nothing is written when it fails.
 * Codes: DSQL_OK; DSQL_ECONFLICT (a table moved past its read version and
 * the change conflicts; err->conflict says where); DSQL_EINVALID;
 * DSQL_ENOTFOUND (a table was dropped); DSQL_ERETRY (attempts exhausted);
 * DSQL_ETIMEOUT (the policy's time limit, or a lock wait past the lock
 * timeout); DSQL_EREADONLY (the catalog cannot be written here: a hot
 * standby; nothing was sent); DSQL_EUNKNOWN (the connection died during
 * COMMIT and the outcome could not be looked up; the txn id tells later);
 * database codes.
 * A transaction is committed at most once; afterwards only the accessors
 * below and dsql_txn_free are valid. */
DSQL_EXTERN int dsql_txn_commit(dsql_txn *txn, dsql_error *err);

/* Like dsql_txn_commit, but ends with the database's PREPARE TRANSACTION
 * instead of COMMIT (drivers with DSQL_CAP_TWO_PHASE): every check has
 * passed and every row is written, durably, but nothing is visible until
 * dsql_prepared_commit(dsql_txn_gid(txn)); dsql_prepared_rollback drops it.
 * While prepared, the tables' version rows stay locked. Codes: as
 * dsql_txn_commit, plus DSQL_EUNSUPPORTED. */
DSQL_EXTERN int dsql_txn_prepare(dsql_txn *txn, dsql_error *err);

/* The global id of a prepared transaction ("dsql_<catalog>_<ms>_<txn id>");
 * NULL before dsql_txn_prepare succeeded, and once
 * dsql_txn_commit_two_phase has committed it (nothing is prepared then).
 * Borrowed until dsql_txn_free. */
DSQL_EXTERN const char *dsql_txn_gid(const dsql_txn *txn);

/* Two-phase commit on the driver's native 2PC in one call: prepare, record
 * the decision, commit prepared. A crash between the phases is finished by
 * dsql_prepared_recover. Codes: as dsql_txn_commit, plus
 * DSQL_EUNSUPPORTED. */
DSQL_EXTERN int dsql_txn_commit_two_phase(dsql_txn *txn, dsql_error *err);

/* The transaction's id; borrowed until dsql_txn_free. */
DSQL_EXTERN const char *dsql_txn_id(const dsql_txn *txn);

/* After a successful commit: the version written for a table. Codes:
 * DSQL_OK, DSQL_ENOTFOUND (table not part of the commit). */
DSQL_EXTERN int dsql_txn_committed_version(const dsql_txn *txn, const char *table,
                                           int64_t *out);

/* How many attempts the commit took (1 when it succeeded at once). */
DSQL_EXTERN unsigned int dsql_txn_attempts(const dsql_txn *txn);

/* Non-zero when the commit found its id already committed and returned the
 * original result without writing. */
DSQL_EXTERN int dsql_txn_was_replayed(const dsql_txn *txn);

/* Discards the transaction (staged actions are dropped when it was not
 * committed). NULL-safe. */
DSQL_EXTERN void dsql_txn_free(dsql_txn *txn);

/* Application SQL (docs/APPLICATION-SQL.md). A transaction can carry the
 * application's own SQL statements, run inside the same database
 * transaction as the metadata commit: after the conflict check and the
 * metadata writes, before COMMIT. If any statement fails, nothing is
 * committed, neither metadata nor the application's rows, and
 * err->statement_index names the statement. On a retry (transient failure)
 * the statements run again in the new attempt (the failed attempt was
 * rolled back). The database judges each statement before it runs: exactly
 * one statement, no transaction control, nothing that changes the session,
 * nothing touching the catalog's own tables (dsql_*); what it refuses fails
 * the commit with DSQL_EINVALID. A driver that cannot have the database
 * judge (ODBC) runs none: DSQL_EUNSUPPORTED. Placeholders are '?'; every
 * value is bound, never spliced. */

/* One bound parameter. */
typedef struct dsql_param {
	dsql_type type;
	int64_t i64;      /* DSQL_TYPE_INT64 */
	double f64;       /* DSQL_TYPE_DOUBLE */
	const void *data; /* DSQL_TYPE_TEXT (UTF-8) and DSQL_TYPE_BLOB; copied */
	size_t len;       /* bytes of data */
} dsql_param;

/* Adds a statement; *out (may be NULL) receives its index, from 0 in
 * order of addition. Codes: DSQL_OK, DSQL_EINVALID (empty, text naming the
 * catalog's tables, a parameter of unknown type or with a length but no
 * data), DSQL_EUNSUPPORTED (the driver runs no application SQL),
 * DSQL_ENOMEM. The database judges the statement itself when the
 * commit runs it. */
DSQL_EXTERN int dsql_txn_add_sql(dsql_txn *txn, size_t *out, const char *sql,
                                 const dsql_param *params, size_t n_params, dsql_error *err);

/* Runs the transaction's application statements under the database role
 * role (copied; NULL: the catalog connection's own), so that they have
 * only that role's rights: on PostgreSQL SET LOCAL ROLE, for the rest of
 * the commit's transaction. The connection's user must be a member of the
 * role. Codes: DSQL_OK, DSQL_EINVALID, DSQL_ENOMEM; the commit fails with
 * DSQL_EUNSUPPORTED on a driver without roles, or with the database's error
 * for a role it refuses. */
DSQL_EXTERN int dsql_txn_set_sql_role(dsql_txn *txn, const char *role, dsql_error *err);

/* After a successful commit: what a statement returned. Rows changed by an
 * INSERT/UPDATE/DELETE, and the rows it returned (SELECT, RETURNING), with
 * every value as text; NULL for SQL NULL or out of range. Borrowed until
 * dsql_txn_free. */
DSQL_EXTERN int64_t dsql_txn_sql_changes(const dsql_txn *txn, size_t stmt);
DSQL_EXTERN size_t dsql_txn_sql_row_count(const dsql_txn *txn, size_t stmt);
DSQL_EXTERN size_t dsql_txn_sql_column_count(const dsql_txn *txn, size_t stmt);
DSQL_EXTERN const char *dsql_txn_sql_value(const dsql_txn *txn, size_t stmt, size_t row,
                                           size_t col);

/* The function run by dsql_txn_run: reads (snapshots, read sets) and
 * stages actions in txn. Returning anything but DSQL_OK abandons the
 * transaction and makes dsql_txn_run return that value. */
typedef int (*dsql_txn_fn)(dsql_txn *txn, void *payload);

/* Runs fn in a fresh transaction and commits it; on a conflict, runs it
 * again in a new transaction (on fresh snapshots) after a backoff, within
 * the retry policy's attempts and timeout. The C counterpart of a
 * transaction context manager. opts may be NULL. When opts->txn_id is set,
 * every attempt uses that id. Codes: those of fn and dsql_txn_commit;
 * DSQL_ECONFLICT when the attempts ran out (err names the last conflict). */
DSQL_EXTERN int dsql_txn_run(dsql_catalog *cat, const dsql_txn_options *opts, dsql_txn_fn fn,
                             void *payload, dsql_error *err);

#ifdef __cplusplus
}
#endif
#endif
