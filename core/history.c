/* A table's history: one row per version from the commit table. */
#include "deltasql/history.h"
#include "catalog_int.h"

int dsql_history(dsql_catalog *cat, const char *table, dsql_history_cb cb, void *payload,
                 dsql_error *err)
{
	dsql_commit_info c;
	int64_t id;
	db_stmt *st;
	int rc;

	rc = catalog_find_table(cat, table, &id, NULL, err);
	if (rc != DSQL_OK)
		return rc;
	rc = db_stmt_get(&st, cat->db,
	                 "SELECT version, commit_ms, txn_id, operation, n_adds, n_removes"
	                 " FROM dsql_commit WHERE table_id = ? ORDER BY version",
	                 err);
	if (rc != DSQL_OK)
		return rc;
	for (rc = db_run(st, err, "i", id); rc == DSQL_ROW; rc = db_step(st, err)) {
		int stop;

		c.version = db_column_int64(st, 0);
		c.timestamp_ms = db_column_int64(st, 1);
		c.txn_id = db_column_text(st, 2, NULL);
		c.operation = db_column_text(st, 3, NULL);
		c.adds = db_column_int64(st, 4);
		c.removes = db_column_int64(st, 5);
		stop = cb(&c, payload);
		if (stop) {
			db_stmt_done(st);
			return stop;
		}
	}
	return rc == DSQL_DONE ? DSQL_OK : rc;
}
