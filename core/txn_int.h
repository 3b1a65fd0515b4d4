/* The transaction's staged state, shared by txn.c (staging) and commit.c
 * (the commit protocol). */
#ifndef DSQL_CORE_TXN_INT_H
#define DSQL_CORE_TXN_INT_H

#include "deltasql/txn.h"
#include "action.h"
#include "catalog_int.h"

typedef struct txn_table {
	char *name;
	int64_t id;           /* 0 until known (a table being created) */
	int64_t read_version; /* -1 for a table being created */
	action *actions;
	size_t n_actions, cap_actions;
	int64_t committed_version;
	/* The read set: whole table, ORed partition predicates (a JSON array
	 * of objects), or paths (a JSON object used as a set). */
	int read_whole;
	json_t *read_predicates;
	json_t *read_files;
	json_t *read_app_ids; /* appIds whose txn version was read (a set) */
	/* Import: the commit time to record (-1: now). Never earlier than the
	 * previous version's, which keeps time travel monotonic. */
	int64_t commit_ms;
	/* Set when this transaction creates the table (version 0). */
	int creating;
	/* Opened implicitly by staging adds alone: the transaction read
	 * nothing of the table, so it reads the version it commits on
	 * (read_version is the handle's hint of it until then). */
	int guessed;
	/* What is staged, as a set (txn.c check_staged). */
	json_t *staged_keys;
	/* The commit time written (commit.c). */
	int64_t written_ms;
	/* This attempt's lock of the table's row and what it read (commit.c). */
	int locked;
	int64_t lock_version, lock_last_ms, lock_oldest;
	char *location;
	char uuid[37];
} txn_table;

/* An application statement and what it returned in the last attempt. */
typedef struct app_sql {
	char *sql;
	dsql_param *params; /* data copied, owned */
	size_t n_params;
	int64_t changes;
	size_t n_rows, n_cols;
	char **values; /* n_rows * n_cols, NULL for SQL NULL */
} app_sql;

enum txn_state { TXN_OPEN, TXN_COMMITTED, TXN_FAILED };

struct dsql_txn {
	dsql_catalog *cat;
	char id[129];
	dsql_isolation isolation;
	dsql_retry_policy retry;
	txn_table *tables;
	size_t n_tables, cap_tables;
	enum txn_state state;
	unsigned int attempts;
	int64_t commit_start_us; /* when dsql_txn_commit was called (monotonic) */
	int64_t attempt_start_us; /* when the current attempt began (monotonic) */
	int replayed;
	/* Import: keep a staged commitInfo byte-for-byte and generate none
	 * when the version has none, so export writes back what came in. */
	int verbatim;
	/* Import of an existing log: history is taken as it was written (a
	 * remove of a file that is not live is a harmless tombstone, old
	 * append-only rules are not re-judged). */
	int importing;
	/* An add of this transaction replaces a live file: attempts unlink the
	 * adds' keys first even where the live-file key is unique (commit.c). */
	int replacing;
	app_sql *sql;
	size_t n_sql, cap_sql;
	char *sql_role; /* the role application SQL runs under; NULL: the connection's */
	/* The attempt's one commit time, written in every table and the
	 * journal (commit.c). */
	int64_t commit_ms;
	/* Two-phase: end the attempt with PREPARE TRANSACTION under gid. */
	int prepare_only;
	char gid[200];
};

/* Import (commit.c, used by delta_log.c): a new table's versions, written
 * one after another into one database transaction, so that an import is
 * all or nothing, however it ends, and costs one COMMIT. import_begin opens
 * the transaction and creates the table's row (DSQL_EEXISTS when a table of
 * that name exists: nothing else is touched); each version's actions are
 * staged on import_table() (txn_stage_parsed, with its commit_ms) and
 * written by import_write; import_finish commits; import_free rolls back
 * whatever was not committed. Versions are validated as imported history
 * is (the importing rules), against the metaData in force among them. */
typedef struct import_writer import_writer;
int import_begin(import_writer **out, dsql_catalog *cat, const char *table,
                 const char *location, dsql_error *err);
txn_table *import_table(import_writer *w);
dsql_txn *import_txn(import_writer *w);
int import_write(import_writer *w, dsql_error *err);
int import_finish(import_writer *w, dsql_error *err);
void import_free(import_writer *w);

/* Two-phase commit helpers (twophase.c). */
int twophase_make_gid(dsql_txn *txn, dsql_error *err);
int twophase_prepared_exists(dsql_catalog *cat, const char *gid, int *exists, dsql_error *err);

/* Runs the transaction's application statements on the open database
 * transaction (appsql.c). */
int appsql_run(dsql_txn *txn, dsql_error *err);
void appsql_free(dsql_txn *txn);

/* Delta's name of an isolation level ("WriteSerializable" for the default),
 * as commitInfo's isolationLevel carries it (txn.c). */
const char *txn_isolation_delta_name(dsql_isolation isolation);

/* Adds a table that the transaction creates (its actions become version
 * 0). Codes: DSQL_OK, DSQL_EINVALID, DSQL_EEXISTS (already in this txn). */
int txn_add_new_table(dsql_txn *txn, const char *name, const char *location,
                      txn_table **out, dsql_error *err);

/* Stages a parsed action, taking ownership of it (also on failure). */
int txn_stage_parsed(dsql_txn *txn, txn_table *t, action *a, dsql_error *err);

txn_table *txn_find(const dsql_txn *txn, const char *name);

#endif
