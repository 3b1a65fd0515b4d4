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
	char action[256];
	dsql_txn *txn;
	dsql_error err;
	int rc;

	if (dsql_txn_begin(&txn, cat, NULL, &err))
		return fail("begin", &err);
	snprintf(action, sizeof(action),
	         "{\"add\":{\"path\":\"orders-%lld.parquet\",\"partitionValues\":{},\"size\":100,"
	         "\"modificationTime\":0,\"dataChange\":true}}", (long long)to);
	rc = dsql_txn_stage(txn, "fact_orders", action, &err);
	snprintf(action, sizeof(action),
	         "{\"add\":{\"path\":\"customers-%lld.parquet\",\"partitionValues\":{},\"size\":10,"
	         "\"modificationTime\":0,\"dataChange\":true}}", (long long)to);
	if (!rc)
		rc = dsql_txn_stage(txn, "dim_customer", action, &err);
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
	/* The application's own table lives in the same database. */
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
	dsql_catalog_free(cat);
	if (argc == 1)
		unlink(uri + 7);
	puts(rc ? "watermark_pipeline: FAILED" : "watermark_pipeline: ok");
	return rc;
}
