/*
 * Multi-row statements: the commit path writes its action and file rows a
 * chunk at a time (INSERT ... VALUES (...), (...); UPDATE ... WHERE (a) OR
 * (b)), which costs one statement instead of one per row on a server
 * database; a database in the process (DSQL_CAP_IN_PROCESS) gets one row per
 * statement instead. Plain SQL that every driver's database accepts; the
 * texts are generated once per catalog handle and chunk size, and prepared
 * statements are reused.
 */
#ifndef DSQL_CORE_BATCH_H
#define DSQL_CORE_BATCH_H

#include "action.h"
#include "catalog_int.h"

typedef enum batch_kind {
	/* INSERT INTO dsql_action: table_id, version, seq, kind, body */
	BATCH_ACTION,
	/* INSERT INTO dsql_file: table_id, path, dv_id, added_version, size, body */
	BATCH_FILE,
	/* UPDATE dsql_file SET removed_version = lead1 WHERE table_id = lead2 AND
	 * removed_version IS NULL AND ((path, dv_id) = row...); or the
	 * dialect's row-id form (dsql_dialect.unlink_by_row_id) */
	BATCH_UNLINK,
	BATCH_KINDS
} batch_kind;

/* Binds one row's parameters, starting at parameter number first. For
 * BATCH_UNLINK it is called twice per row: with first negative, to bind
 * only the path at parameter -first; then with the (path, dv_id) pair. */
typedef int (*batch_bind_fn)(db_stmt *st, int first, size_t row, void *ctx, dsql_error *err);

/* Runs n_rows rows in chunks, each a deferred statement (db_defer): errors
 * may surface only at the commit. lead1/lead2 are the leading parameters of
 * BATCH_UNLINK. one_each: every row must change exactly one row (a remove
 * of a live file), or the statement fails with DSQL_ERETRY. */
int batch_run(dsql_catalog *cat, batch_kind kind, size_t n_rows, int64_t lead1, int64_t lead2,
              batch_bind_fn bind, void *ctx, int one_each, dsql_error *err);

/* Sets live[i] for each of the files (adds or removes, by path and
 * deletion vector id) that is live in the table now, as this transaction
 * sees it; leaves the other flags as they were. One read per up to
 * BATCH_MAX_ROWS files. */
int batch_find_live(dsql_catalog *cat, int64_t table_id, const action *const *files,
                    size_t n_files, unsigned char *live, dsql_error *err);

/* Frees the catalog's generated statement texts. */
void batch_free(dsql_catalog *cat);

#endif
