/* PostgreSQL as it is deployed (docs/DEPLOYMENT.md): through PgBouncer in
 * transaction mode, on a hot standby, across a failover. Each case talks to
 * the real piece, started by the project's scripts (scripts/test.sh):
 * DELTASQL_TEST_PGBOUNCER_URI, DELTASQL_TEST_STANDBY_URI; the failover case
 * starts a primary and a synchronous standby of its own with
 * scripts/pg-server.sh and scripts/pg-standby.sh. What the server sessions
 * hold is observed with libpq directly, never through the driver under test. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <deltasql.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "schema.h"
#include "catalog_int.h"
#include "db.h"
#include "testutil.h"

static const char *primary_uri, *bouncer_uri, *standby_uri;

static int ci(void)
{
	return getenv("CI") && strcmp(getenv("CI"), "true") == 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* A libpq conninfo for uri without deltasql's own option (libpq refuses
 * it); static buffer. */
static const char *libpq_uri(const char *uri)
{
	static char buf[1024];
	char *p;

	snprintf(buf, sizeof(buf), "%s", uri);
	p = strstr(buf, "&deltasql_pool=transaction");
	if (p)
		memmove(p, p + strlen("&deltasql_pool=transaction"),
		        strlen(p + strlen("&deltasql_pool=transaction")) + 1);
	return buf;
}

static PGconn *raw_connect(const char *uri)
{
	PGconn *pg = PQconnectdb(libpq_uri(uri));

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
	return pg;
}

static void raw_exec(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	              "%s: %s", sql, PQerrorMessage(pg));
	PQclear(r);
}

/* Commits one add of path to table (txn id: id, or a fresh one). */
static int commit_add(dsql_catalog *cat, const char *table, const char *path, const char *id,
                      dsql_error *err)
{
	dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
	char action[512];
	dsql_txn *txn;
	int rc;

	o.txn_id = id;
	snprintf(action, sizeof(action),
	         "{\"add\":{\"path\":\"%s\",\"partitionValues\":{},\"size\":1,"
	         "\"modificationTime\":1,\"dataChange\":true}}",
	         path);
	rc = dsql_txn_begin(&txn, cat, &o, err);
	if (rc == DSQL_OK)
		rc = dsql_txn_stage(txn, table, action, err);
	if (rc == DSQL_OK)
		rc = dsql_txn_commit(txn, err);
	dsql_txn_free(txn);
	return rc;
}

/* --- PgBouncer, pool_mode=transaction --- */

/* Three processes commit and read through a pool of two server sessions;
 * then every server session of the pool is held at once by a plain client,
 * which must find the server's defaults and no prepared statement: nothing
 * of deltasql's outlived its transactions. */
START_TEST(pooled_sessions_keep_nothing)
{
	const char *sql = "SELECT current_setting('lock_timeout'), current_setting('enable_seqscan'),"
	                  " current_setting('plan_cache_mode'),"
	                  " (SELECT count(*) FROM pg_prepared_statements)";
	PGconn *holders[2];
	dsql_catalog *cat;
	dsql_error err;
	int status;

	ck_assert_int_eq(dsql_catalog_open(&cat, bouncer_uri, NULL, &err), DSQL_OK);
	for (int w = 0; w < 3; w++) {
		char table[64];

		snprintf(table, sizeof(table), "pooled_%d_%d", (int)getpid(), w);
		ck_assert_int_eq(dsql_table_create(cat, table, NULL, &err), DSQL_OK);
	}
	dsql_catalog_free(cat);
	for (int w = 0; w < 3; w++) {
		if (fork() == 0) {
			char table[64], path[64];
			int64_t v = -1;
			int bad = 0;

			snprintf(table, sizeof(table), "pooled_%d_%d", (int)getppid(), w);
			if (dsql_catalog_open(&cat, bouncer_uri, NULL, &err) != DSQL_OK)
				_exit(10);
			for (int i = 0; i < 15 && !bad; i++) {
				dsql_snapshot *snap;

				snprintf(path, sizeof(path), "f%d.parquet", i);
				bad = commit_add(cat, table, path, NULL, &err) != DSQL_OK;
				if (!bad &&
				    dsql_snapshot_open(&snap, cat, table, DSQL_LATEST, &err) != DSQL_OK)
					bad = 2;
				if (!bad)
					dsql_snapshot_free(snap);
			}
			if (bad)
				fprintf(stderr, "writer %d: %s\n", w, err.message);
			if (!bad && (dsql_table_version(cat, table, &v, &err) != DSQL_OK || v != 15))
				bad = 3;
			dsql_catalog_free(cat);
			_exit(bad);
		}
	}
	for (int w = 0; w < 3; w++) {
		ck_assert_int_ne(wait(&status), -1);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a writer failed: %d",
		              status);
	}
	for (int i = 0; i < 2; i++) {
		PGresult *r;

		holders[i] = raw_connect(bouncer_uri);
		raw_exec(holders[i], "BEGIN");
		r = PQexec(holders[i], sql);
		ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
		ck_assert_str_eq(PQgetvalue(r, 0, 0), "0");
		ck_assert_str_eq(PQgetvalue(r, 0, 1), "on");
		ck_assert_str_eq(PQgetvalue(r, 0, 2), "auto");
		ck_assert_str_eq(PQgetvalue(r, 0, 3), "0");
		PQclear(r);
	}
	for (int i = 0; i < 2; i++)
		PQfinish(holders[i]);
}
END_TEST

/* Inside a pooled transaction deltasql's settings hold: a stuck lock ends
 * the commit after lock_timeout, not never. */
START_TEST(pooled_transaction_has_the_settings)
{
	dsql_retry_policy p = {1, 1, 1, 30000};
	char table[64];
	dsql_catalog *cat;
	dsql_error err;
	PGconn *holder;
	double t0;
	int rc;

	snprintf(table, sizeof(table), "pooled_lock_%d", (int)getpid());
	ck_assert_int_eq(dsql_catalog_open(&cat, bouncer_uri, NULL, &err), DSQL_OK);
	dsql_catalog_set_retry_policy(cat, &p);
	ck_assert_int_eq(dsql_table_create(cat, table, NULL, &err), DSQL_OK);
	holder = raw_connect(primary_uri);
	raw_exec(holder, "BEGIN");
	{
		char sql[256];

		snprintf(sql, sizeof(sql), "UPDATE dsql_table SET version = version WHERE name = '%s'",
		         table);
		raw_exec(holder, sql);
	}
	t0 = now_s();
	rc = commit_add(cat, table, "x.parquet", NULL, &err);
	ck_assert_msg(rc == DSQL_ETIMEOUT, "commit returned %d: %s", rc, err.message);
	ck_assert_msg(now_s() - t0 < 9, "waited %.1f s", now_s() - t0);
	raw_exec(holder, "ROLLBACK");
	PQfinish(holder);
	dsql_catalog_free(cat);
}
END_TEST

/* "No catalog" only when its tables are missing: a role that may not read
 * them is told so (permission denied, a database error), not "run init". */
START_TEST(no_catalog_only_when_its_tables_are_missing)
{
	char uri[1024], *user;
	dsql_catalog_options o = DSQL_CATALOG_OPTIONS_INIT;
	dsql_catalog *cat;
	dsql_error err;
	PGconn *pg = raw_connect(primary_uri);
	int rc;

	PQclear(PQexec(pg, "CREATE ROLE dsql_no_rights LOGIN"));
	PQfinish(pg);
	ck_assert_int_eq(dsql_catalog_open(&cat, primary_uri, NULL, &err), DSQL_OK);
	dsql_catalog_free(cat);
	snprintf(uri, sizeof(uri), "%s", primary_uri);
	user = strstr(uri, "user=");
	ck_assert_ptr_nonnull(user);
	snprintf(user, sizeof(uri) - (size_t)(user - uri), "user=dsql_no_rights");
	o.create = 0;
	rc = dsql_catalog_open(&cat, uri, &o, &err);
	ck_assert_int_eq(rc, DSQL_EDB);
	ck_assert_msg(strstr(err.message, "permission denied") && !strstr(err.message, "init"), "%s",
	              err.message);
	ck_assert_str_eq(err.sqlstate, "42501");
}
END_TEST

/* --- a hot standby (pg_basebackup -R) --- */

/* Waits until the standby has replayed table at version v. */
static void await_replay(dsql_catalog *standby, const char *table, int64_t v)
{
	double until = now_s() + 30;
	int64_t got = -1;
	dsql_error err;

	while (now_s() < until) {
		if (dsql_table_version(standby, table, &got, &err) == DSQL_OK && got >= v)
			return;
		usleep(50000);
	}
	ck_abort_msg("the standby did not replay %s at %lld (at %lld)", table, (long long)v,
	             (long long)got);
}

static int vacuum_cb(const char *path, int64_t removed_ms, int deleted, void *payload)
{
	(void)path;
	(void)removed_ms;
	*(int *)payload += 1 + deleted * 1000;
	return 0;
}

static int history_cb(const dsql_commit_info *c, void *payload)
{
	(void)c;
	(*(int *)payload)++;
	return 0;
}

/* Every command that only reads works on the standby; every write fails at
 * once with DSQL_EREADONLY, and nothing changes. */
START_TEST(standby_reads_and_refuses_writes)
{
	dsql_expire_options eo = DSQL_EXPIRE_OPTIONS_INIT;
	dsql_expire_result er;
	dsql_catalog *primary, *standby;
	dsql_snapshot *snap;
	dsql_error err;
	char table[64], cmd[2048], doc[512], *out = NULL;
	int64_t v = -1;
	int listed = 0, versions = 0, rc;
	double t0;

	snprintf(table, sizeof(table), "standby_%d", (int)getpid());
	ck_assert_int_eq(dsql_catalog_open(&primary, primary_uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(primary, table, NULL, &err), DSQL_OK);
	ck_assert_int_eq(commit_add(primary, table, "a.parquet", NULL, &err), DSQL_OK);
	{
		dsql_txn *txn;

		ck_assert_int_eq(dsql_txn_begin(&txn, primary, NULL, &err), DSQL_OK);
		ck_assert_int_eq(dsql_txn_stage(txn, table,
		                                "{\"remove\":{\"path\":\"a.parquet\","
		                                "\"deletionTimestamp\":1,\"dataChange\":true}}",
		                                &err),
		                 DSQL_OK);
		ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
		dsql_txn_free(txn);
	}
	/* Version 2 becomes the oldest: a.parquet is vacuum's to list. */
	eo.keep_versions = 1;
	ck_assert_int_eq(dsql_table_expire(primary, table, &eo, &er, &err), DSQL_OK);
	ck_assert_int_eq(er.oldest_version, 2);
	ck_assert_int_eq(commit_add(primary, table, "b.parquet", NULL, &err), DSQL_OK);
	ck_assert_int_eq(commit_add(primary, table, "c.parquet", NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_catalog_open(&standby, standby_uri, NULL, &err), DSQL_OK);
	await_replay(standby, table, 4);
	ck_assert_int_eq(dsql_snapshot_open(&snap, standby, table, DSQL_LATEST, &err), DSQL_OK);
	ck_assert_int_eq(dsql_snapshot_file_count(snap), 2);
	dsql_snapshot_free(snap);
	ck_assert_int_eq(dsql_history(standby, table, history_cb, &versions, &err), DSQL_OK);
	ck_assert_int_ge(versions, 3);
	/* Listing only: vacuum without deleting, expire's dry run. */
	ck_assert_msg(dsql_table_vacuum(standby, table, 0, 0, vacuum_cb, &listed, &err) == DSQL_OK,
	              "%s", err.message);
	ck_assert_int_eq(listed, 1);
	eo.keep_versions = 1;
	eo.dry_run = 1;
	ck_assert_msg(dsql_table_expire(standby, table, &eo, &er, &err) == DSQL_OK, "%s",
	              err.message);
	ck_assert_int_eq(er.versions_expired, 2); /* 2 and 3 of 2..4 */
	/* Writes: at once, their own kind, nothing changed. */
	t0 = now_s();
	rc = commit_add(standby, table, "b.parquet", NULL, &err);
	ck_assert_int_eq(rc, DSQL_EREADONLY);
	ck_assert_msg(strstr(err.message, "the catalog is read-only here: a standby"), "%s",
	              err.message);
	ck_assert_int_eq(dsql_table_create(standby, "standby_new", NULL, &err), DSQL_EREADONLY);
	eo.dry_run = 0;
	ck_assert_int_eq(dsql_table_expire(standby, table, &eo, &er, &err), DSQL_EREADONLY);
	ck_assert_int_eq(dsql_table_vacuum(standby, table, 0, 1, vacuum_cb, &listed, &err),
	                 DSQL_EREADONLY);
	ck_assert_msg(now_s() - t0 < 2, "writes took %.1f s", now_s() - t0);
	/* Where in_hot_standby is not trusted (pooled: a pooler may replay an
	 * old session's parameters), the server's refusal gives the same kind. */
	{
		char pooled[1024];
		dsql_catalog *p;

		snprintf(pooled, sizeof(pooled), "%s&deltasql_pool=transaction", standby_uri);
		ck_assert_int_eq(dsql_catalog_open(&p, pooled, NULL, &err), DSQL_OK);
		rc = commit_add(p, table, "b.parquet", NULL, &err);
		ck_assert_int_eq(rc, DSQL_EREADONLY);
		ck_assert_msg(strstr(err.message, "read-only here"), "%s", err.message);
		dsql_catalog_free(p);
	}
	/* The command line: exit 1, read-only kind. */
	snprintf(doc, sizeof(doc),
	         "{\"tables\":{\"%s\":{\"actions\":[{\"add\":{\"path\":\"c\",\"size\":1,"
	         "\"partitionValues\":{},\"modificationTime\":1,\"dataChange\":true}}]}}}",
	         table);
	snprintf(cmd, sizeof(cmd), "%s --json --catalog '%s' commit - 2>/dev/null", CLI_PATH,
	         standby_uri);
	rc = tu_run(cmd, doc, &out);
	ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "\"read_only\""), "%s", out);
	free(out);
	ck_assert_int_eq(dsql_table_version(primary, table, &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 4);
	eo.dry_run = 1; /* the oldest is still 2: nothing expired through the standby */
	ck_assert_int_eq(dsql_table_expire(primary, table, &eo, &er, &err), DSQL_OK);
	ck_assert_int_eq(er.versions_expired, 2);
	dsql_catalog_free(standby);
	dsql_catalog_free(primary);
}
END_TEST

/* A catalog whose schema is older than this binary, seen on a standby
 * (where it cannot be migrated): read as it is when the binary can read it,
 * else refused naming both versions, never written. */
START_TEST(standby_with_an_older_schema)
{
	char db_uri[1024], sb_uri[1024], *q;
	struct dsql_catalog old;
	dsql_catalog *cat, *standby;
	dsql_error err;
	PGconn *pg = raw_connect(primary_uri);
	int64_t v = -1;

	for (int version = 3; version <= 4; version++) {
		char sql[128];

		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS dsql_old_%d", version);
		raw_exec(pg, sql);
		snprintf(sql, sizeof(sql), "CREATE DATABASE dsql_old_%d", version);
		raw_exec(pg, sql);
		/* The same URIs with the database swapped. */
		q = strchr(primary_uri, '?');
		snprintf(db_uri, sizeof(db_uri), "postgresql:///dsql_old_%d%s", version, q);
		q = strchr(standby_uri, '?');
		snprintf(sb_uri, sizeof(sb_uri), "postgresql:///dsql_old_%d%s", version, q);
		memset(&old, 0, sizeof(old));
		ck_assert_int_eq(db_open(&old.db, db_uri, &err), DSQL_OK);
		ck_assert_int_eq(schema_create_at(&old, version, &err), DSQL_OK);
		ck_assert_int_eq(db_exec(old.db,
		                         "INSERT INTO dsql_table (id, name, uuid, location, version,"
		                         " last_commit_ms, created_ms) VALUES (1, 't', 'u', NULL, 0, 1,"
		                         " 1)",
		                         &err),
		                 DSQL_OK);
		db_close(old.db);
		schema_free(&old);
		/* Replayed once the standby can connect to the new database. */
		for (double until = now_s() + 30;; usleep(100000)) {
			int rc = dsql_catalog_open(&standby, sb_uri, NULL, &err);

			dsql_catalog_free(standby);
			if (rc == DSQL_OK || rc == DSQL_ECATALOG_VERSION || now_s() > until)
				break;
		}
		if (version == 3) {
			ck_assert_int_eq(dsql_catalog_open(&standby, sb_uri, NULL, &err),
			                 DSQL_ECATALOG_VERSION);
			ck_assert_msg(strstr(err.message, "version 3 is older") &&
			                      strstr(err.message, "read-only here"),
			              "%s", err.message);
			continue;
		}
		ck_assert_msg(dsql_catalog_open(&standby, sb_uri, NULL, &err) == DSQL_OK, "%s",
		              err.message);
		ck_assert_int_eq(dsql_table_version(standby, "t", &v, &err), DSQL_OK);
		ck_assert_int_eq(v, 0);
		{
			dsql_stats st;

			/* What the older schema lacks is refused, not read. */
			ck_assert_int_eq(dsql_catalog_stats(&st, sizeof(st), standby, NULL, 0, NULL, NULL,
			                                    &err),
			                 DSQL_EUNSUPPORTED);
		}
		dsql_catalog_free(standby);
		/* Still version 4 on the primary: nothing was migrated. */
		ck_assert_int_eq(tu_admin(db_uri, "SELECT value FROM dsql_catalog WHERE key ="
		                                  " 'schema_version'", &v),
		                 1);
		ck_assert_int_eq(v, 4);
		/* Opened on the primary, it is migrated as before. */
		ck_assert_int_eq(dsql_catalog_open(&cat, db_uri, NULL, &err), DSQL_OK);
		dsql_catalog_free(cat);
	}
	PQfinish(pg);
}
END_TEST

/* --- failover: a primary, a synchronous standby, pg_ctl promote --- */

#define FO_WRITERS 3

/* The value of `export KEY='value'` in an env file the scripts wrote. */
static void env_value(const char *file, const char *key, char *dst, size_t cap)
{
	char line[1024];
	FILE *f = fopen(file, "r");

	ck_assert_msg(f != NULL, "%s", file);
	dst[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, key);

		if (p && p[strlen(key)] == '=' && p[strlen(key) + 1] == '\'') {
			p += strlen(key) + 2;
			p[strcspn(p, "'")] = '\0';
			snprintf(dst, cap, "%s", p);
		}
	}
	fclose(f);
	ck_assert_msg(dst[0], "%s: no %s", file, key);
}

/* Commits fo-w<k>-<i> for i = 0, 1, ... until the stop file appears, each
 * one until it succeeds, whatever happens to the server: reported "S k i t"
 * on fd, then "E k errors". A transaction id the catalog holds already
 * commits nothing again (txn.h), so a writer that cannot know whether its
 * commit happened just commits it again. */
static void failover_writer(int k, const char *uri, const char *stop, int fd)
{
	dsql_retry_policy policy = {50, 10, 500, 60000};
	dsql_catalog_options o = DSQL_CATALOG_OPTIONS_INIT;
	dsql_catalog *cat = NULL;
	dsql_metrics m;
	dsql_error err;
	long errors = 0, retries = 0, replays = 0;

	o.create = 0;
	o.retry = policy;
	for (int i = 0; access(stop, F_OK) != 0; i++) {
		char id[64], path[64];
		double give_up = now_s() + 90;
		int rc;

		snprintf(id, sizeof(id), "fo-w%d-%d", k, i);
		snprintf(path, sizeof(path), "w%d-%d.parquet", k, i);
		for (;;) {
			if (!cat && dsql_catalog_open(&cat, uri, &o, &err) != DSQL_OK)
				cat = NULL;
			rc = cat ? commit_add(cat, "fo", path, id, &err) : err.code;
			if (rc == DSQL_OK)
				break;
			if (errors++ == 0)
				fprintf(stderr, "failover: writer %d, %s: %s (committed again)\n", k, id,
				        err.message);
			if (rc == DSQL_ECONFLICT || rc == DSQL_EINVALID) {
				dprintf(fd, "X %d %s: %s\n", k, id, err.message);
				_exit(3);
			}
			if (now_s() > give_up) {
				dprintf(fd, "X %d %s gave up: %s\n", k, id, err.message);
				_exit(4);
			}
			/* A lost server: start again from a new connection. */
			if (cat) {
				dsql_catalog_metrics(cat, &m, sizeof(m));
				retries += (long)m.retries;
				replays += (long)m.replays;
			}
			dsql_catalog_free(cat);
			cat = NULL;
			usleep(100000);
		}
		dprintf(fd, "S %d %d %.3f\n", k, i, now_s());
	}
	if (cat) {
		dsql_catalog_metrics(cat, &m, sizeof(m));
		retries += (long)m.retries;
		replays += (long)m.replays;
	}
	dprintf(fd, "E %d %ld %ld %ld\n", k, errors, retries, replays);
	dsql_catalog_free(cat);
	_exit(0);
}

typedef struct fo_history {
	char ids[20000][32];
	int n;
} fo_history;

static int fo_collect(const dsql_commit_info *c, void *payload)
{
	fo_history *h = payload;

	if (h->n < 20000)
		snprintf(h->ids[h->n++], sizeof(h->ids[0]), "%s", c->txn_id);
	return 0;
}

/* Three processes commit through a multi-host URI
 * (target_session_attrs=read-write) to a primary whose standby is
 * synchronous; the primary is killed in the middle of their commits and the
 * standby promoted. Every commit a writer was told succeeded is in the log
 * exactly once, none is there twice, the log has nothing else, and every
 * writer goes on committing on the new primary. */
START_TEST(failover_loses_nothing_and_applies_nothing_twice)
{
	char dir[512], p_env[600], s_env[600], cmd[2048], uri[2048], stop[600];
	char psock[512], pport[16], user[64], ssock[512], sport[16];
	int n_ok[FO_WRITERS] = {0}, after[FO_WRITERS] = {0}, fds[2], status;
	static fo_history h;
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	double promoted;
	dsql_catalog *cat;
	dsql_error err;
	ssize_t n;
	long errors = 0, retries = 0, replays = 0;

	snprintf(dir, sizeof(dir), "%s/dsql-failover-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(cmd, sizeof(cmd), "%s/pg-server.sh start %s/p >&2", SCRIPTS_DIR, dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/pg-standby.sh start %s/s %s/p --sync >&2", SCRIPTS_DIR, dir,
	         dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(p_env, sizeof(p_env), "%s/p/env", dir);
	snprintf(s_env, sizeof(s_env), "%s/s/env", dir);
	env_value(p_env, "DELTASQL_TEST_PG_SOCKDIR", psock, sizeof(psock));
	env_value(p_env, "DELTASQL_TEST_PG_PORT", pport, sizeof(pport));
	env_value(p_env, "DELTASQL_TEST_PG_USER", user, sizeof(user));
	env_value(s_env, "DELTASQL_TEST_STANDBY_SOCKDIR", ssock, sizeof(ssock));
	env_value(s_env, "DELTASQL_TEST_STANDBY_PORT", sport, sizeof(sport));
	snprintf(uri, sizeof(uri),
	         "postgresql:///deltasql_test?host=%s,%s&port=%s,%s&user=%s"
	         "&target_session_attrs=read-write",
	         psock, ssock, pport, sport, user);
	snprintf(stop, sizeof(stop), "%s/stop", dir);
	ck_assert_msg(dsql_catalog_open(&cat, uri, NULL, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(dsql_table_create(cat, "fo", NULL, &err), DSQL_OK);
	dsql_catalog_free(cat);

	ck_assert_int_eq(pipe(fds), 0);
	for (int k = 0; k < FO_WRITERS; k++)
		if (fork() == 0) {
			close(fds[0]);
			failover_writer(k, uri, stop, fds[1]);
		}
	close(fds[1]);
	usleep(1500000);
	snprintf(cmd, sizeof(cmd), "%s/pg-server.sh crash %s/p >&2", SCRIPTS_DIR, dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/pg-standby.sh promote %s/s >&2", SCRIPTS_DIR, dir);
	ck_assert_int_eq(system(cmd), 0);
	promoted = now_s();
	usleep(3000000);
	close(open(stop, O_CREAT | O_WRONLY, 0644));
	while ((n = read(fds[0], buf + len, cap - len - 1)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fds[0]);
	for (int k = 0; k < FO_WRITERS; k++) {
		ck_assert_int_ne(wait(&status), -1);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a writer failed (%d): %s",
		              status, buf);
	}
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		int k, i;
		long e, r, p;
		double t;

		if (sscanf(line, "S %d %d %lf", &k, &i, &t) == 3) {
			ck_assert_int_eq(i, n_ok[k]); /* each id until it succeeded, in order */
			n_ok[k]++;
			after[k] += t > promoted;
		} else if (sscanf(line, "E %d %ld %ld %ld", &k, &e, &r, &p) == 4) {
			errors += e;
			retries += r;
			replays += p;
		}
	}
	/* On the promoted standby (the URI's only read-write host now). */
	ck_assert_msg(dsql_catalog_open(&cat, uri, NULL, &err) == DSQL_OK, "%s", err.message);
	h.n = 0;
	ck_assert_int_eq(dsql_history(cat, "fo", fo_collect, &h, &err), DSQL_OK);
	{
		int total = 0;

		for (int k = 0; k < FO_WRITERS; k++) {
			total += n_ok[k];
			ck_assert_msg(after[k] > 0, "writer %d committed nothing after the failover", k);
			for (int i = 0; i < n_ok[k]; i++) {
				char id[64];
				int found = 0;

				snprintf(id, sizeof(id), "fo-w%d-%d", k, i);
				for (int j = 0; j < h.n; j++)
					found += strcmp(h.ids[j], id) == 0;
				ck_assert_msg(found == 1, "%s is in the log %d times", id, found);
			}
		}
		/* Version 0 (the table's creation) and the writers' commits, nothing else. */
		ck_assert_int_eq(h.n, total + 1);
		fprintf(stderr, "failover: %d commits, %d after the promotion; %ld commits failed and"
		                " were committed again, %ld attempts retried, %ld replays\n",
		        total, after[0] + after[1] + after[2], errors, retries, replays);
		/* The kill met commits under way: else this tested nothing. */
		ck_assert_int_gt(errors + retries, 0);
	}
	dsql_catalog_free(cat);
	free(buf);
	snprintf(cmd, sizeof(cmd),
	         "%s/pg-standby.sh stop %s/s; %s/pg-server.sh stop %s/p; rm -rf %s >&2",
	         SCRIPTS_DIR, dir, SCRIPTS_DIR, dir, dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("deployment");
	TCase *pooler = tcase_create("pgbouncer"), *standby = tcase_create("standby");
	int missing = 0;

	primary_uri = getenv("DELTASQL_TEST_PG_URI");
	bouncer_uri = getenv("DELTASQL_TEST_PGBOUNCER_URI");
	standby_uri = getenv("DELTASQL_TEST_STANDBY_URI");
	if (!primary_uri || !*primary_uri) {
		fprintf(stderr, "%s: DELTASQL_TEST_PG_URI is not set\n", ci() ? "FAIL" : "SKIPPED");
		return ci() ? 1 : 77;
	}
	if (bouncer_uri && *bouncer_uri) {
		tcase_add_test(pooler, pooled_sessions_keep_nothing);
		tcase_add_test(pooler, pooled_transaction_has_the_settings);
		tcase_set_timeout(pooler, 120);
		suite_add_tcase(s, pooler);
	} else {
		fprintf(stderr, "%s: PgBouncer tests *** DELTASQL_TEST_PGBOUNCER_URI is not set ***\n",
		        ci() ? "FAIL" : "SKIPPED");
		missing = 1;
	}
	if (standby_uri && *standby_uri) {
		tcase_add_test(standby, standby_reads_and_refuses_writes);
		tcase_add_test(standby, standby_with_an_older_schema);
		tcase_set_timeout(standby, 120);
		suite_add_tcase(s, standby);
	} else {
		fprintf(stderr, "%s: standby tests *** DELTASQL_TEST_STANDBY_URI is not set ***\n",
		        ci() ? "FAIL" : "SKIPPED");
		missing = 1;
	}
	{
		TCase *errors = tcase_create("errors"), *failover = tcase_create("failover");

		tcase_add_test(errors, no_catalog_only_when_its_tables_are_missing);
		suite_add_tcase(s, errors);
		/* A primary and a standby of its own: it kills the primary. */
		tcase_add_test(failover, failover_loses_nothing_and_applies_nothing_twice);
		tcase_set_timeout(failover, 300);
		suite_add_tcase(s, failover);
	}
	if (tu_run_suite(s) != 0)
		return 1;
	return missing && ci() ? 1 : 0;
}
