/*
 * A pipeline step that advances its own watermark row and commits two lake
 * tables in one database transaction: either the watermark moves and both
 * tables get their new files, or nothing changes at all.
 *
 *   watermark_pipeline [CATALOG-URI]    (default: a fresh SQLite file under $TMPDIR)
 */
#include <deltasql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, const dsql_error *err)
{
	fprintf(stderr, "%s: %s\n", what, err->message);
	return 1;
}

/* One batch: files for both tables, plus the watermark update, in one
 * database transaction. */
static int run_batch(dsql_catalog *cat, int64_t from, int64_t to)
{
	dsql_param p[3] = {{DSQL_TYPE_INT64, to, 0, NULL, 0},
	                   {DSQL_TYPE_TEXT, 0, 0, "orders", 6},
	                   {DSQL_TYPE_INT64, from, 0, NULL, 0}};
	dsql_file_action file = DSQL_FILE_ACTION_INIT;
	char orders[64], customers[64];
	dsql_txn *txn;
	dsql_error err;
	int rc;

	if (dsql_txn_begin(&txn, cat, NULL, &err))
		return fail("begin", &err);
	/* The new files, staged as fields (dsql_txn_stage takes Delta JSON lines). */
	snprintf(orders, sizeof(orders), "orders-%lld.parquet", (long long)to);
	snprintf(customers, sizeof(customers), "customers-%lld.parquet", (long long)to);
	file.path = orders;
	file.size = 100;
	file.timestamp_ms = 0;
	file.stats = "{\"numRecords\":5}";
	rc = dsql_txn_add_file(txn, "fact_orders", &file, &err);
	file.path = customers;
	file.size = 10;
	if (!rc)
		rc = dsql_txn_add_file(txn, "dim_customer", &file, &err);
	if (!rc)
		rc = dsql_txn_add_sql(txn, NULL,
		                      "UPDATE app_watermark SET high = ? WHERE job = ? AND high = ?", p,
		                      3, &err);
	if (!rc)
		rc = dsql_txn_commit(txn, &err);
	if (rc) {
		dsql_txn_free(txn);
		return fail("batch", &err);
	}
	{
		int64_t fo = -1, dc = -1;

		dsql_txn_committed_version(txn, "fact_orders", &fo);
		dsql_txn_committed_version(txn, "dim_customer", &dc);
		printf("batch %lld..%lld: fact_orders v%lld, dim_customer v%lld, watermark rows "
		       "moved: %lld\n",
		       (long long)from, (long long)to, (long long)fo, (long long)dc,
		       (long long)dsql_txn_sql_changes(txn, 0));
	}
	rc = dsql_txn_sql_changes(txn, 0) == 1 ? 0 : 1;
	dsql_txn_free(txn);
	return rc;
}

/* Both batches' files are live, with the statistics they were staged with. */
static int check_files(dsql_catalog *cat)
{
	dsql_snapshot *snap;
	dsql_file_info f;
	dsql_error err;
	int64_t records = 0;
	size_t n;

	if (dsql_snapshot_open(&snap, cat, "fact_orders", DSQL_LATEST, &err))
		return fail("snapshot", &err);
	n = dsql_snapshot_file_count(snap);
	for (size_t i = 0; i < n; i++)
		if (dsql_snapshot_file(snap, i, &f) == DSQL_OK)
			records += f.num_records;
	dsql_snapshot_free(snap);
	printf("fact_orders: %zu files, %lld records\n", n, (long long)records);
	return n == 2 && records == 10 ? 0 : 1;
}

int main(int argc, char **argv)
{
	char uri[512];
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	int rc = 0;

	if (argc > 1)
		snprintf(uri, sizeof(uri), "%s", argv[1]);
	else
		snprintf(uri, sizeof(uri), "sqlite:%s/watermark-example-%d.db",
		         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	if (dsql_catalog_open(&cat, uri, NULL, &err))
		return fail("open", &err);
	dsql_table_drop(cat, "fact_orders", NULL);
	dsql_table_drop(cat, "dim_customer", NULL);
	if (dsql_table_create(cat, "fact_orders", NULL, &err) ||
	    dsql_table_create(cat, "dim_customer", NULL, &err))
		return fail("create", &err);
	/* The application's own table lives in the same database. SQLite takes
	 * schema changes as application SQL; on PostgreSQL application SQL is
	 * one query or DML statement, and the table is made beforehand. */
	if (dsql_txn_begin(&txn, cat, NULL, &err) ||
	    dsql_txn_add_sql(txn, NULL, "DROP TABLE IF EXISTS app_watermark", NULL, 0, &err) ||
	    dsql_txn_add_sql(txn, NULL,
	                     "CREATE TABLE app_watermark (job VARCHAR(32) PRIMARY KEY, high BIGINT)",
	                     NULL, 0, &err) ||
	    dsql_txn_add_sql(txn, NULL, "INSERT INTO app_watermark VALUES ('orders', 0)", NULL, 0,
	                     &err) ||
	    dsql_txn_commit(txn, &err))
		return fail("set up the watermark table", &err);
	dsql_txn_free(txn);

	rc |= run_batch(cat, 0, 100);
	rc |= run_batch(cat, 100, 250);
	rc |= check_files(cat);
	dsql_catalog_free(cat);
	if (argc == 1)
		unlink(uri + 7);
	puts(rc ? "watermark_pipeline: FAILED" : "watermark_pipeline: ok");
	return rc;
}
