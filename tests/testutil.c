/* Helpers shared by the test programs. */
#define _GNU_SOURCE
#include "testutil.h"

#include <deltasql/driver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];
static pid_t owner; /* forked test children must not clean up */

static void cleanup(void)
{
	char cmd[300];

	if (!dir[0] || getpid() != owner || getenv("DELTASQL_KEEP_TEST_FILES"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

const char *tu_tmpdir(void)
{
	if (!dir[0]) {
		const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

		snprintf(dir, sizeof(dir), "%s/dsqltest-XXXXXX", base);
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			abort();
		}
		owner = getpid();
		atexit(cleanup);
	}
	return dir;
}

const char *tu_sqlite_uri(const char *name)
{
	static char uri[512];
	static unsigned n;

	snprintf(uri, sizeof(uri), "sqlite:%s/%s-%d-%u.db", tu_tmpdir(), name, (int)getpid(), n++);
	return uri;
}

int tu_run(const char *cmd, const char *stdin_text, char **out)
{
	char inpath[300], full[8192];
	FILE *p;
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap);
	int status;
	static unsigned seq;

	inpath[0] = '\0';
	if (stdin_text) {
		FILE *f;

		snprintf(inpath, sizeof(inpath), "%s/stdin-%d-%u", tu_tmpdir(), (int)getpid(), seq++);
		f = fopen(inpath, "w");
		fputs(stdin_text, f);
		fclose(f);
		snprintf(full, sizeof(full), "%s < '%s'", cmd, inpath);
	} else {
		snprintf(full, sizeof(full), "%s < /dev/null", cmd);
	}
	p = popen(full, "r");
	if (!p) {
		free(buf);
		return -1;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 2)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	status = pclose(p);
	if (inpath[0])
		unlink(inpath);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *tu_snapshot_text(dsql_catalog *cat, const char *table, int64_t version, dsql_error *err)
{
	dsql_snapshot *s;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (dsql_snapshot_open(&s, cat, table, version, err) != DSQL_OK)
		return NULL;
	f = open_memstream(&out, &len);
	fprintf(f, "%lld|%lld|%s|%s", (long long)dsql_snapshot_version(s),
	        (long long)dsql_snapshot_timestamp(s), dsql_snapshot_protocol_json(s),
	        dsql_snapshot_metadata_json(s));
	for (size_t i = 0; i < dsql_snapshot_file_count(s); i++)
		fprintf(f, "|%s", dsql_snapshot_file_json(s, i));
	for (size_t i = 0; i < dsql_snapshot_app_txn_count(s); i++) {
		int64_t v;
		const char *app = dsql_snapshot_app_txn(s, i, &v);

		fprintf(f, "|%s=%lld", app, (long long)v);
	}
	dsql_snapshot_free(s);
	fclose(f);
	return out;
}

int tu_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int64_t tu_admin(const char *uri, const char *sql, int64_t *first)
{
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *s;
	dsql_error err;
	int64_t n = 0;

	if (first)
		*first = -1;
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->connect(&c, uri, &err), DSQL_OK);
	ck_assert_msg(d->prepare(&s, c, sql, &err) == DSQL_OK, "%s: %s", sql, err.message);
	while (d->step(s, &err) == DSQL_ROW) {
		if (n == 0 && first)
			*first = d->column_int64(s, 0);
		n++;
	}
	d->finalize(s);
	d->disconnect(c);
	return n;
}

/* uri naming database db instead of its own; malloc'd. */
static char *pg_uri_for(const char *uri, const char *db)
{
	const char *key = strcasestr(uri, "Database=");
	const char *q = strchr(uri, '?'), *slash;
	char *out;

	if (key) { /* ODBC */
		const char *end = strchr(key, ';');

		ck_assert_int_ne(asprintf(&out, "%.*sDatabase=%s%s", (int)(key - uri), uri, db,
		                          end ? end : ""),
		                 -1);
		return out;
	}
	ck_assert_ptr_nonnull(q);
	for (slash = q; slash > uri && slash[-1] != '/'; slash--)
		;
	ck_assert_int_ne(asprintf(&out, "%.*s%s%s", (int)(slash - uri), uri, db, q), -1);
	return out;
}

/* A fresh database named <prefix>_<pid> on the server of native_uri: its
 * native URI in *nat and catalog_uri's for it in *u (both malloc'd). */
static void scratch_db(const char *native_uri, const char *catalog_uri, const char *prefix,
                       char *db, size_t cap, char **nat, char **u)
{
	char sql[128];

	snprintf(db, cap, "%s_%d", prefix, (int)getpid());
	*nat = pg_uri_for(native_uri, db);
	*u = pg_uri_for(catalog_uri, db);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	tu_admin(native_uri, sql, NULL);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	tu_admin(native_uri, sql, NULL);
}

static void scratch_db_drop(const char *native_uri, const char *db, char *nat, char *u)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db);
	tu_admin(native_uri, sql, NULL);
	free(nat);
	free(u);
}

/* Whether the catalog's driver runs application SQL (the counts below are
 * read by it, in each commit's own transaction); through ODBC it runs
 * none, and only the commits themselves are checked. */
static int counting;

/* Commits n adds of files first .. first + n - 1 (with statistics) to
 * table, or removes of them; with check SQL (and counting), also runs it
 * in the commit's transaction, with the catalog's file table's name bound
 * as its parameter, and puts the first row's two columns in out. */
static void commit_files(dsql_catalog *cat, const char *table, int first, int n, int remove,
                         const char *check, int64_t out[2])
{
	dsql_txn *txn;
	dsql_error err;
	char line[512];

	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	for (int i = first; i < first + n; i++) {
		if (remove)
			snprintf(line, sizeof(line),
			         "{\"remove\":{\"path\":\"part-%06d.parquet\",\"deletionTimestamp\":1,"
			         "\"dataChange\":true}}",
			         i);
		else
			snprintf(line, sizeof(line),
			         "{\"add\":{\"path\":\"part-%06d.parquet\",\"partitionValues\":{},"
			         "\"size\":%d,\"modificationTime\":1,\"dataChange\":true,\"stats\":"
			         "\"{\\\"numRecords\\\":%d,\\\"minValues\\\":{\\\"id\\\":%d},"
			         "\\\"maxValues\\\":{\\\"id\\\":%d},\\\"nullCount\\\":{\\\"id\\\":0}}\"}}",
			         i, 1000 + i, i, i * 10, i * 10 + 9);
		ck_assert_msg(dsql_txn_stage(txn, table, line, &err) == DSQL_OK, "%s", err.message);
	}
	if (!counting)
		check = NULL;
	if (check) {
		dsql_param name = {DSQL_TYPE_TEXT, 0, 0, "dsql_file", 9};

		ck_assert_int_eq(dsql_txn_add_sql(txn, NULL, check, &name, 1, &err), DSQL_OK);
	}
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	for (int col = 0; check && col < 2; col++) {
		const char *v = dsql_txn_sql_value(txn, 0, 0, col);

		ck_assert_ptr_nonnull(v);
		out[col] = strtoll(v, NULL, 10);
	}
	dsql_txn_free(txn);
}

void tu_pg_plans_replay(const char *native_uri, const char *catalog_uri)
{
	const char *scans = "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables"
	                    " WHERE relname = ?";
	const char *fetched = "SELECT seq_scan, idx_tup_fetch FROM pg_stat_xact_user_tables"
	                      " WHERE relname = ?";
	const dsql_driver *d = dsql_driver_find(catalog_uri);
	char db[64], *nat, *u;
	dsql_catalog *cat, *other;
	dsql_error err;
	int64_t scanned[2] = {0, 0}, v = -1; /* sequential scans, index scans or rows */

	scratch_db(native_uri, catalog_uri, "deltasql_plans", db, sizeof(db), &nat, &u);
	counting = d && d->prepare_application;
	if (!counting)
		fprintf(stderr, "NOTE: the %s driver runs no application SQL: the plans' scan counts "
		        "are checked on the native driver only\n", d ? d->name : "?");

	/* A file index with pages, emptied (the table dropped) and vacuumed. */
	ck_assert_msg(dsql_catalog_open(&cat, u, NULL, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(dsql_table_create(cat, "filled", NULL, &err), DSQL_OK);
	for (int c = 0; c < 10; c++)
		commit_files(cat, "filled", c * 50, 50, 0, NULL, NULL);
	ck_assert_int_eq(dsql_table_drop(cat, "filled", &err), DSQL_OK);
	dsql_catalog_free(cat);
	tu_admin(nat, "VACUUM dsql_file", NULL);
	tu_admin(nat, "SELECT pg_relation_size('dsql_file')", &v);
	ck_assert_int_eq(v, 0);

	/* New connections: their first commits plan on the empty index, a
	 * remove of two files on the handle's hint and one under locks (after
	 * other moved the table). */
	ck_assert_int_eq(dsql_catalog_open(&cat, u, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_catalog_open(&other, u, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, "grown", NULL, &err), DSQL_OK);
	commit_files(cat, "grown", 0, 10, 0, scans, scanned);
	ck_assert_msg(!counting || scanned[0] == 0,
	              "first commit: %lld sequential scans of dsql_file", (long long)scanned[0]);
	commit_files(cat, "grown", 0, 2, 1, NULL, NULL);
	commit_files(other, "grown", 3000, 2, 0, NULL, NULL);
	commit_files(cat, "grown", 2, 2, 1, NULL, NULL);
	for (int c = 1; c < 40; c++)
		commit_files(cat, "grown", c * 50, 50, 0, NULL, NULL);
	/* Fifteen new files and five that replace live ones (1995-1999). */
	commit_files(cat, "grown", 1995, 20, 0, scans, scanned);
	ck_assert_msg(!counting || scanned[0] == 0, "%lld sequential scans of dsql_file",
	              (long long)scanned[0]);
	ck_assert(!counting || scanned[1] > 0);
	ck_assert_int_eq(dsql_table_version(cat, "grown", &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 44);
	tu_admin(nat, "SELECT count(*) FROM dsql_file WHERE removed_version = 44", &v);
	ck_assert_int_eq(v, 5);
	/* Two of ~2 000 live files go, on the hint and under locks: a few
	 * rows fetched by index scans, not the table's files. */
	commit_files(cat, "grown", 100, 2, 1, fetched, scanned);
	ck_assert_msg(!counting || (scanned[0] == 0 && scanned[1] < 50),
	              "hinted remove: %lld sequential scans, %lld rows fetched by index scans",
	              (long long)scanned[0], (long long)scanned[1]);
	commit_files(other, "grown", 3002, 2, 0, NULL, NULL);
	commit_files(cat, "grown", 102, 2, 1, fetched, scanned);
	ck_assert_msg(!counting || (scanned[0] == 0 && scanned[1] < 50),
	              "locked remove: %lld sequential scans, %lld rows fetched by index scans",
	              (long long)scanned[0], (long long)scanned[1]);
	tu_admin(nat,
	         "SELECT count(*) FROM dsql_file WHERE removed_version IN (45, 47) AND path IN"
	         " ('part-000100.parquet', 'part-000101.parquet', 'part-000102.parquet',"
	         " 'part-000103.parquet')",
	         &v);
	ck_assert_int_eq(v, 4);
	dsql_catalog_free(other);
	dsql_catalog_free(cat);
	scratch_db_drop(native_uri, db, nat, u);
}

/* Rows of the file index for one path: live ones, and all. */
static void path_rows(const char *nat, const char *path, int64_t *live, int64_t *all)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM dsql_file WHERE path = '%s' AND removed_version IS NULL", path);
	tu_admin(nat, sql, live);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM dsql_file WHERE path = '%s'", path);
	tu_admin(nat, sql, all);
}

static uint64_t hint_misses(const dsql_catalog *cat)
{
	dsql_metrics m;

	dsql_catalog_metrics(cat, &m, sizeof(m));
	return m.hint_misses;
}

/* The key as recorded (1 "unique", 0 "plain", -1 none) and whether the
 * live-file index is unique (-1: no such index). */
static void live_key_state(const char *nat, int64_t *recorded, int64_t *unique)
{
	int64_t v = -1;

	*recorded = -1;
	if (tu_admin(nat, "SELECT value = 'unique' FROM dsql_catalog WHERE name = 'live_file_key'",
	             &v) == 1)
		*recorded = v;
	*unique = -1;
	if (tu_admin(nat, "SELECT i.indisunique FROM pg_index i JOIN pg_class c ON c.oid ="
	                  " i.indexrelid WHERE c.relname = 'dsql_file_live'", &v) == 1)
		*unique = v;
}

/* The index as an older deltasql left it: not unique, no key recorded. */
static void live_key_forget(const char *nat)
{
	tu_admin(nat, "DROP INDEX dsql_file_live", NULL);
	tu_admin(nat, "CREATE INDEX dsql_file_live ON dsql_file (table_id, removed_version, path,"
	              " dv_id)", NULL);
	tu_admin(nat, "DELETE FROM dsql_catalog WHERE name = 'live_file_key'", NULL);
}

void tu_pg_live_key(const char *native_uri, const char *catalog_uri)
{
	char db[64], sql[128], *nat, *u;
	dsql_catalog *cat, *first;
	dsql_error err;
	int64_t live, all, recorded, unique, v = -1;
	uint64_t misses;

	scratch_db(native_uri, catalog_uri, "deltasql_livekey", db, sizeof(db), &nat, &u);

	/* A new catalog gets the unique key from its first client, native or
	 * through ODBC. */
	ck_assert_msg(dsql_catalog_open(&first, u, NULL, &err) == DSQL_OK, "%s", err.message);
	live_key_state(nat, &recorded, &unique);
	ck_assert_int_eq(recorded, 1);
	ck_assert_int_eq(unique, 1);
	dsql_catalog_free(first);

	/* Adds on the handle's hint: new files cost no second attempt; one
	 * that replaces a live file does (the unique key fails the hinted
	 * attempt, natively and through ODBC) and leaves exactly one live row. */
	ck_assert_int_eq(dsql_catalog_open(&cat, u, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, "t", NULL, &err), DSQL_OK);
	commit_files(cat, "t", 0, 3, 0, NULL, NULL);
	misses = hint_misses(cat);
	commit_files(cat, "t", 10, 2, 0, NULL, NULL);
	ck_assert_uint_eq(hint_misses(cat), misses);
	commit_files(cat, "t", 2, 2, 0, NULL, NULL);
	ck_assert_uint_eq(hint_misses(cat), misses + 1);
	ck_assert_int_eq(dsql_table_version(cat, "t", &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 3);
	path_rows(nat, "part-000002.parquet", &live, &all);
	ck_assert_int_eq(live, 1);
	ck_assert_int_eq(all, 2);
	tu_admin(nat, "SELECT added_version FROM dsql_file WHERE path = 'part-000002.parquet'"
	              " AND removed_version IS NULL", &v);
	ck_assert_int_eq(v, 3);
	tu_admin(nat, "SELECT removed_version FROM dsql_file WHERE path = 'part-000002.parquet'"
	              " AND added_version = 1", &v);
	ck_assert_int_eq(v, 3);
	/* Remove and add again in one commit, on the hint: no failure. */
	{
		dsql_txn *txn;

		ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
		ck_assert_int_eq(dsql_txn_stage(txn, "t",
		                                "{\"remove\":{\"path\":\"part-000000.parquet\","
		                                "\"deletionTimestamp\":1,\"dataChange\":true}}",
		                                &err),
		                 DSQL_OK);
		ck_assert_int_eq(dsql_txn_stage(txn, "t",
		                                "{\"add\":{\"path\":\"part-000000.parquet\","
		                                "\"partitionValues\":{},\"size\":5,"
		                                "\"modificationTime\":1,\"dataChange\":true}}",
		                                &err),
		                 DSQL_OK);
		misses = hint_misses(cat);
		ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
		ck_assert_uint_eq(hint_misses(cat), misses);
		dsql_txn_free(txn);
	}
	path_rows(nat, "part-000000.parquet", &live, &all);
	ck_assert_int_eq(live, 1);
	ck_assert_int_eq(all, 2);
	dsql_catalog_free(cat);

	/* A catalog from before the key is given it when next opened. */
	live_key_forget(nat);
	live_key_state(nat, &recorded, &unique);
	ck_assert_int_eq(recorded, -1);
	ck_assert_int_eq(unique, 0);
	/* by whichever of four processes opening it at once (two of them
	 * through catalog_uri) gets there first */
	for (int i = 0; i < 4; i++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int rc = dsql_catalog_open(&first, i % 2 ? nat : u, NULL, &err);

			if (rc != DSQL_OK)
				fprintf(stderr, "live key: open: %s\n", err.message);
			dsql_catalog_free(first);
			_exit(rc == DSQL_OK ? 0 : 1);
		}
	}
	for (int i = 0, status; i < 4; i++) {
		ck_assert_int_gt(wait(&status), 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	live_key_state(nat, &recorded, &unique);
	ck_assert_int_eq(recorded, 1);
	ck_assert_int_eq(unique, 1);

	/* A client without the rights to make it (not the tables' owner)
	 * records nothing, so that the owner's client still can. */
	live_key_forget(nat);
	{
		char role[64], *limited;
		const char *at = strstr(nat, "user=");
		size_t rest;

		snprintf(role, sizeof(role), "dsql_livekey_%d", (int)getpid());
		ck_assert_ptr_nonnull(at);
		rest = strcspn(at, "&");
		ck_assert_int_ne(asprintf(&limited, "%.*suser=%s%s", (int)(at - nat), nat, role,
		                          at + rest),
		                 -1);
		snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", role);
		tu_admin(nat, sql, NULL);
		snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN", role);
		tu_admin(nat, sql, NULL);
		snprintf(sql, sizeof(sql), "GRANT ALL ON ALL TABLES IN SCHEMA public TO %s", role);
		tu_admin(nat, sql, NULL);
		ck_assert_msg(dsql_catalog_open(&first, limited, NULL, &err) == DSQL_OK, "%s",
		              err.message);
		live_key_state(nat, &recorded, &unique);
		ck_assert_int_eq(recorded, -1);
		ck_assert_int_eq(unique, 0);
		commit_files(first, "t", 20, 1, 0, NULL, NULL);
		dsql_catalog_free(first);
		snprintf(sql, sizeof(sql), "DROP OWNED BY %s", role);
		tu_admin(nat, sql, NULL);
		snprintf(sql, sizeof(sql), "DROP ROLE %s", role);
		tu_admin(nat, sql, NULL);
		free(limited);
	}
	ck_assert_int_eq(dsql_catalog_open(&first, nat, NULL, &err), DSQL_OK);
	dsql_catalog_free(first);
	live_key_state(nat, &recorded, &unique);
	ck_assert_int_eq(recorded, 1);
	ck_assert_int_eq(unique, 1);

	/* One whose live rows break the key (two live rows of a file) keeps
	 * its index, records "plain", and its adds are unlinked as before,
	 * both rows, natively and through catalog_uri. */
	live_key_forget(nat);
	tu_admin(nat, "INSERT INTO dsql_file SELECT table_id, path, dv_id, added_version + 100,"
	              " NULL, size, body FROM dsql_file WHERE path = 'part-000003.parquet'"
	              " AND removed_version IS NULL", NULL);
	ck_assert_int_eq(dsql_catalog_open(&first, u, NULL, &err), DSQL_OK);
	live_key_state(nat, &recorded, &unique);
	ck_assert_int_eq(recorded, 0);
	ck_assert_int_eq(unique, 0);
	commit_files(first, "t", 3, 1, 0, NULL, NULL);
	misses = hint_misses(first);
	commit_files(first, "t", 3, 1, 0, NULL, NULL);
	ck_assert_uint_eq(hint_misses(first), misses);
	path_rows(nat, "part-000003.parquet", &live, &all);
	ck_assert_int_eq(live, 1);
	ck_assert_int_eq(all, 4);
	tu_admin(nat, "INSERT INTO dsql_file SELECT table_id, path, dv_id, added_version + 100,"
	              " NULL, size, body FROM dsql_file WHERE path = 'part-000003.parquet'"
	              " AND removed_version IS NULL", NULL);
	ck_assert_int_eq(dsql_catalog_open(&cat, nat, NULL, &err), DSQL_OK);
	commit_files(cat, "t", 3, 1, 0, NULL, NULL);
	dsql_catalog_free(cat);
	path_rows(nat, "part-000003.parquet", &live, &all);
	ck_assert_int_eq(live, 1);
	ck_assert_int_eq(all, 6);
	dsql_catalog_free(first);

	scratch_db_drop(native_uri, db, nat, u);
}
