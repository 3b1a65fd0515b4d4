/*
 * The retry-loop helper: a read-modify-write transaction that is re-run on
 * fresh snapshots whenever another writer wins first.
 *
 *   retry_loop [CATALOG-URI]      (default: a fresh SQLite file under $TMPDIR)
 *
 * Two writers (parent and child process) each add 20 rows to a "balance"
 * table whose single file carries the running total in its stats; every
 * increment reads the current file, removes it and adds its successor.
 * Conflicts (concurrent_delete_delete) are retried by dsql_txn_run, so the
 * final total is exactly 40.
 */
#include <deltasql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct job {
	const char *uri;
	const char *table;
};

/* Reads the table's one file and stages its replacement: total + 1. */
static int increment(dsql_txn *txn, void *payload)
{
	const struct job *job = payload;
	dsql_catalog *cat;
	dsql_snapshot *snap;
	dsql_error err;
	char action[256];
	long total = -1;
	int rc;

	rc = dsql_catalog_open(&cat, job->uri, NULL, &err);
	if (rc != DSQL_OK)
		return rc;
	rc = dsql_snapshot_open(&snap, cat, job->table, DSQL_LATEST, &err);
	if (rc == DSQL_OK) {
		const char *f = dsql_snapshot_file_count(snap) ? dsql_snapshot_file_json(snap, 0) : "";
		const char *at = strstr(f, "total-");

		if (at)
			total = strtol(at + 6, NULL, 10);
		/* Read exactly the version the snapshot showed. */
		rc = dsql_txn_open_table(txn, job->table, dsql_snapshot_version(snap), &err);
		dsql_snapshot_free(snap);
	}
	dsql_catalog_free(cat);
	if (rc != DSQL_OK || total < 0)
		return rc != DSQL_OK ? rc : DSQL_ERROR;
	snprintf(action, sizeof(action), "{\"remove\":{\"path\":\"total-%ld\",\"dataChange\":true}}",
	         total);
	rc = dsql_txn_stage(txn, job->table, action, &err);
	snprintf(action, sizeof(action),
	         "{\"add\":{\"path\":\"total-%ld\",\"partitionValues\":{},\"size\":1,"
	         "\"modificationTime\":0,\"dataChange\":true}}",
	         total + 1);
	return rc != DSQL_OK ? rc : dsql_txn_stage(txn, job->table, action, &err);
}

static int writer(const struct job *job, int n)
{
	dsql_catalog *cat;
	dsql_metrics m;
	dsql_error err;

	if (dsql_catalog_open(&cat, job->uri, NULL, &err) != DSQL_OK) {
		fprintf(stderr, "open: %s\n", err.message);
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (dsql_txn_run(cat, NULL, increment, (void *)job, &err) != DSQL_OK) {
			fprintf(stderr, "increment: %s\n", err.message);
			dsql_catalog_free(cat);
			return 1;
		}
	dsql_catalog_metrics(cat, &m, sizeof(m));
	printf("writer %d: %llu commits, %llu conflicts retried\n", (int)getpid(),
	       (unsigned long long)m.commits, (unsigned long long)m.conflicts);
	fflush(stdout);
	dsql_catalog_free(cat);
	return 0;
}

int main(int argc, char **argv)
{
	char uri[512];
	struct job job = {uri, "balance"};
	dsql_catalog *cat;
	dsql_snapshot *snap;
	dsql_error err;
	dsql_txn *txn;
	int status, ok;
	pid_t child;

	if (argc > 1)
		snprintf(uri, sizeof(uri), "%s", argv[1]);
	else
		snprintf(uri, sizeof(uri), "sqlite:%s/retry-example-%d.db",
		         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	if (dsql_catalog_open(&cat, uri, NULL, &err) != DSQL_OK ||
	    (dsql_table_drop(cat, job.table, &err), dsql_table_create(cat, job.table, NULL, &err)) ||
	    dsql_txn_begin(&txn, cat, NULL, &err) ||
	    dsql_txn_stage(txn, job.table,
	                   "{\"add\":{\"path\":\"total-0\",\"partitionValues\":{},\"size\":1,"
	                   "\"modificationTime\":0,\"dataChange\":true}}",
	                   &err) ||
	    dsql_txn_commit(txn, &err)) {
		fprintf(stderr, "setup: %s\n", err.message);
		return 1;
	}
	dsql_txn_free(txn);
	dsql_catalog_free(cat);

	fflush(stdout);
	child = fork();
	if (child == 0)
		_exit(writer(&job, 20));
	ok = writer(&job, 20) == 0;
	ok &= waitpid(child, &status, 0) == child && WIFEXITED(status) && !WEXITSTATUS(status);

	dsql_catalog_open(&cat, uri, NULL, &err);
	dsql_snapshot_open(&snap, cat, job.table, DSQL_LATEST, &err);
	printf("final file: %s\n", dsql_snapshot_file_json(snap, 0));
	ok &= strstr(dsql_snapshot_file_json(snap, 0), "\"total-40\"") != NULL;
	dsql_snapshot_free(snap);
	dsql_catalog_free(cat);
	if (argc == 1) {
		unlink(uri + 7);
	}
	puts(ok ? "retry_loop: ok, no increment lost" : "retry_loop: FAILED");
	return ok ? 0 : 1;
}
