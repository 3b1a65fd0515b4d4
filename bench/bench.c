/*
 * deltasql benchmarks: each figure is measured side by side with the raw
 * database doing the same work in the same run, and reported as a ratio.
 *
 *   deltasql-bench [--quick] [--json] [--big] [--only sqlite|postgresql]
 *
 * PostgreSQL runs when DELTASQL_BENCH_PG_URI (or DELTASQL_TEST_PG_URI) is
 * set. The raw baselines write the very rows a commit writes into the same
 * catalog schema, with hand-written SQL: on SQLite with prepared statements
 * in one transaction; on PostgreSQL the whole transaction in one round trip
 * (one multi-statement query), the best a hand-written client can do.
 */
#define _GNU_SOURCE
#include <deltasql.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int quick, as_json, big;
static json_t *results;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench: %s: %s\n", what, msg);
	exit(1);
}

static void report(const char *driver, const char *name, double ours, double raw,
                   const char *unit)
{
	json_array_append_new(results, json_pack("{s:s, s:s, s:f, s:f, s:f, s:s}", "driver", driver,
	                                         "measure", name, "deltasql", ours, "raw", raw,
	                                         "ratio", raw > 0 ? ours / raw : 0, "unit", unit));
	if (!as_json)
		printf("  %-44s %12.3f %12.3f %8.2fx  %s\n", name, ours, raw, raw > 0 ? ours / raw : 0,
		       unit);
}

/* --- the raw side: the rows of one table's commit --- */

typedef struct raw {
	const char *driver;
	sqlite3 *lite;
	PGconn *pg;
} raw;

static const char *add_json(char *buf, size_t cap, const char *prefix, int i, int k)
{
	snprintf(buf, cap,
	         "{\"add\":{\"path\":\"%s-%d-%d.parquet\",\"partitionValues\":{},\"size\":300,"
	         "\"modificationTime\":1700000000000,\"dataChange\":true,"
	         "\"stats\":\"{\\\"numRecords\\\":10}\"}}",
	         prefix, i, k);
	return buf;
}

static void lite_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die(sql, msg);
}

/* One raw commit of n_tables tables x 10 adds. ids[] are table ids, *v
 * their (equal) current versions. */
static void raw_commit(raw *r, const int64_t *ids, int n_tables, int64_t v, int seqno)
{
	static int serial; /* transaction ids stay unique across rounds */
	char add[512], path[64];
	int id = ++serial;

	if (r->lite) {
		static sqlite3_stmt *cas, *commit, *action, *file, *journal;
		char txn[64];

		if (!cas) {
			sqlite3_prepare_v2(r->lite, "UPDATE dsql_table SET version = ?, last_commit_ms = ?"
			                            " WHERE id = ? AND version = ?", -1, &cas, NULL);
			sqlite3_prepare_v2(r->lite, "INSERT INTO dsql_commit VALUES (?, ?, ?, ?, 'WRITE', 10,"
			                            " 0, 1, 1)", -1, &commit, NULL);
			sqlite3_prepare_v2(r->lite, "INSERT INTO dsql_action VALUES (?, ?, ?, ?, ?)", -1,
			                   &action, NULL);
			sqlite3_prepare_v2(r->lite, "INSERT INTO dsql_file VALUES (?, ?, '', ?, NULL, 300, ?)",
			                   -1, &file, NULL);
			sqlite3_prepare_v2(r->lite, "INSERT INTO dsql_transaction VALUES (?, 'committed',"
			                            " 'write_serializable', 0, ?)", -1, &journal, NULL);
		}
		lite_exec(r->lite, "BEGIN IMMEDIATE");
		snprintf(txn, sizeof(txn), "raw-%d-%d", (int)getpid(), id);
		sqlite3_bind_text(journal, 1, txn, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(journal, 2, n_tables);
		sqlite3_step(journal);
		sqlite3_reset(journal);
		for (int t = 0; t < n_tables; t++) {
			sqlite3_bind_int64(cas, 1, v + 1);
			sqlite3_bind_int64(cas, 2, 1);
			sqlite3_bind_int64(cas, 3, ids[t]);
			sqlite3_bind_int64(cas, 4, v);
			if (sqlite3_step(cas) != SQLITE_DONE || sqlite3_changes(r->lite) != 1)
				die("raw", "compare-and-swap failed");
			sqlite3_reset(cas);
			sqlite3_bind_int64(commit, 1, ids[t]);
			sqlite3_bind_int64(commit, 2, v + 1);
			sqlite3_bind_text(commit, 3, txn, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(commit, 4, 1);
			sqlite3_step(commit);
			sqlite3_reset(commit);
			for (int k = 0; k <= 10; k++) {
				add_json(add, sizeof(add), "raw", seqno, k);
				sqlite3_bind_int64(action, 1, ids[t]);
				sqlite3_bind_int64(action, 2, v + 1);
				sqlite3_bind_int(action, 3, k);
				sqlite3_bind_text(action, 4, k ? "add" : "commitInfo", -1, SQLITE_STATIC);
				sqlite3_bind_text(action, 5, k ? add : "{\"commitInfo\":{}}", -1,
				                  SQLITE_TRANSIENT);
				sqlite3_step(action);
				sqlite3_reset(action);
				if (!k)
					continue;
				snprintf(path, sizeof(path), "raw-%d-%d.parquet", seqno, k);
				sqlite3_bind_int64(file, 1, ids[t]);
				sqlite3_bind_text(file, 2, path, -1, SQLITE_TRANSIENT);
				sqlite3_bind_int64(file, 3, v + 1);
				sqlite3_bind_text(file, 4, add, -1, SQLITE_TRANSIENT);
				sqlite3_step(file);
				sqlite3_reset(file);
			}
		}
		lite_exec(r->lite, "COMMIT");
		return;
	}
	{
		/* PostgreSQL: the whole transaction, one round trip. */
		size_t cap = 4096 + (size_t)n_tables * 8192, len = 0;
		char *q = malloc(cap);
		PGresult *res;

		len += (size_t)snprintf(q + len, cap - len,
		                        "BEGIN; INSERT INTO dsql_transaction VALUES ('raw-%d-%d',"
		                        " 'committed', 'write_serializable', 0, %d);",
		                        (int)getpid(), id, n_tables);
		for (int t = 0; t < n_tables; t++) {
			len += (size_t)snprintf(q + len, cap - len,
			                        "UPDATE dsql_table SET version = %lld, last_commit_ms = 1"
			                        " WHERE id = %lld AND version = %lld;"
			                        "INSERT INTO dsql_commit VALUES (%lld, %lld, 'raw', 1,"
			                        " 'WRITE', 10, 0, 1, 1);"
			                        "INSERT INTO dsql_action VALUES (%lld, %lld, 0,"
			                        " 'commitInfo', '{}')",
			                        (long long)v + 1, (long long)ids[t], (long long)v,
			                        (long long)ids[t], (long long)v + 1, (long long)ids[t],
			                        (long long)v + 1);
			for (int k = 1; k <= 10; k++)
				len += (size_t)snprintf(q + len, cap - len, ", (%lld, %lld, %d, 'add', '%s')",
				                        (long long)ids[t], (long long)v + 1, k,
				                        add_json(add, sizeof(add), "raw", seqno, k));
			len += (size_t)snprintf(q + len, cap - len, "; INSERT INTO dsql_file VALUES ");
			for (int k = 1; k <= 10; k++)
				len += (size_t)snprintf(q + len, cap - len,
				                        "%s(%lld, 'raw-%d-%d.parquet', '', %lld, NULL, 300,"
				                        " '%s')",
				                        k > 1 ? ", " : "", (long long)ids[t], seqno, k,
				                        (long long)v + 1, add_json(add, sizeof(add), "raw", seqno, k));
			len += (size_t)snprintf(q + len, cap - len, ";");
		}
		snprintf(q + len, cap - len, "COMMIT;");
		res = PQexec(r->pg, q);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die("raw PostgreSQL commit", PQerrorMessage(r->pg));
		PQclear(res);
		free(q);
	}
}

/* --- deltasql side --- */

static void create_tables(dsql_catalog *cat, const char *prefix, int n, char names[][64],
                          int64_t *ids, const char *uri)
{
	dsql_error err;

	for (int i = 0; i < n; i++) {
		snprintf(names[i], 64, "%s_%d_%d", prefix, (int)getpid(), i);
		if (dsql_table_create(cat, names[i], NULL, &err) != DSQL_OK)
			die("create", err.message);
	}
	if (ids) {
		/* The raw side addresses tables by id: the order of creation. */
		const char *scheme_pg = strncmp(uri, "postgres", 8) == 0 ? "" : NULL;

		(void)scheme_pg;
	}
}

static void our_commit(dsql_catalog *cat, char names[][64], int n_tables, int seqno)
{
	char add[512];
	dsql_txn *txn;
	dsql_error err;

	dsql_txn_begin(&txn, cat, NULL, &err);
	for (int t = 0; t < n_tables; t++)
		for (int k = 1; k <= 10; k++)
			if (dsql_txn_stage(txn, names[t], add_json(add, sizeof(add), "ours", seqno, k), &err))
				die("stage", err.message);
	if (dsql_txn_commit(txn, &err) != DSQL_OK)
		die("commit", err.message);
	dsql_txn_free(txn);
}

static int64_t table_id(raw *r, const char *name)
{
	char sql[256];
	int64_t id = -1;

	snprintf(sql, sizeof(sql), "SELECT id FROM dsql_table WHERE name = '%s'", name);
	if (r->lite) {
		sqlite3_stmt *st;

		sqlite3_prepare_v2(r->lite, sql, -1, &st, NULL);
		if (sqlite3_step(st) == SQLITE_ROW)
			id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	} else {
		PGresult *res = PQexec(r->pg, sql);

		if (PQntuples(res) == 1)
			id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	return id;
}

/* 1 and 2: commits of K tables x 10 adds, ours vs raw. */
static void bench_commits(const char *driver, const char *uri, raw *r)
{
	static const int sizes[] = {1, 2, 8, 32};
	dsql_catalog *cat;
	dsql_error err;
	double per_table_ours = 0, per_table_raw = 0, first_ours = 0, first_raw = 0;

	if (dsql_catalog_open(&cat, uri, NULL, &err))
		die("open", err.message);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int k = sizes[s], n = (quick ? 200 : 1000) / k + 20;
		char (*ours)[64] = calloc((size_t)k, 64), (*raws)[64] = calloc((size_t)k, 64);
		int64_t *ids = calloc((size_t)k, sizeof(*ids));
		double t0, t_ours, t_raw;
		char name[96];

		create_tables(cat, "bo", k, ours, NULL, uri);
		create_tables(cat, "br", k, raws, ids, uri);
		for (int t = 0; t < k; t++)
			ids[t] = table_id(r, raws[t]);
		/* Interleaved rounds, so that drift hits both sides alike. */
		t_ours = t_raw = 0;
		for (int round = 0; round < 4; round++) {
			t0 = now();
			for (int i = round * n / 4; i < (round + 1) * n / 4; i++)
				our_commit(cat, ours, k, i);
			t_ours += now() - t0;
			t0 = now();
			for (int i = round * n / 4; i < (round + 1) * n / 4; i++)
				raw_commit(r, ids, k, i, i);
			t_raw += now() - t0;
		}
		snprintf(name, sizeof(name), "commit, %d table%s x 10 adds (ms)", k, k > 1 ? "s" : "");
		report(driver, name, t_ours * 1000 / (n / 4 * 4), t_raw * 1000 / (n / 4 * 4), "ms");
		if (k == 1) {
			first_ours = t_ours * 1000 / (n / 4 * 4);
			first_raw = t_raw * 1000 / (n / 4 * 4);
		} else if (k == 32) {
			per_table_ours = (t_ours * 1000 / (n / 4 * 4) - first_ours) / 31;
			per_table_raw = (t_raw * 1000 / (n / 4 * 4) - first_raw) / 31;
		}
		for (int t = 0; t < k; t++) {
			dsql_table_drop(cat, ours[t], &err);
			dsql_table_drop(cat, raws[t], &err);
		}
		free(ours);
		free(raws);
		free(ids);
	}
	report(driver, "marginal cost per extra table (ms)", per_table_ours, per_table_raw, "ms");
	dsql_catalog_free(cat);
}

/* 3: the latest snapshot of a table with many live files, ours vs a raw
 * SELECT of the same rows. The table is filled with raw inserts of exactly
 * the rows commits would write. */
static void bench_snapshot(const char *driver, const char *uri, raw *r, int files)
{
	dsql_catalog *cat;
	dsql_snapshot *s;
	dsql_error err;
	char name[64][64], add[512], label[96];
	int64_t id;
	double t0, t_ours, t_raw = 0;

	if (dsql_catalog_open(&cat, uri, NULL, &err))
		die("open", err.message);
	create_tables(cat, "bs", 1, name, NULL, uri);
	id = table_id(r, name[0]);
	if (r->lite) {
		sqlite3_stmt *st;

		lite_exec(r->lite, "BEGIN IMMEDIATE");
		sqlite3_prepare_v2(r->lite, "INSERT INTO dsql_file VALUES (?, ?, '', 1, NULL, 300, ?)",
		                   -1, &st, NULL);
		for (int i = 0; i < files; i++) {
			char path[64];

			snprintf(path, sizeof(path), "part-%08d.parquet", i);
			add_json(add, sizeof(add), "snap", i, 0);
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, strstr(add, "{\"path") , -1, SQLITE_TRANSIENT);
			sqlite3_step(st);
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
		lite_exec(r->lite, "UPDATE dsql_table SET version = 1 WHERE id = (SELECT MAX(id) FROM dsql_table)");
		lite_exec(r->lite, "INSERT INTO dsql_commit SELECT id, 1, 'bulk', 1, 'WRITE', 0, 0, 1, 1 FROM dsql_table WHERE id = (SELECT MAX(id) FROM dsql_table)");
		lite_exec(r->lite, "COMMIT");
	} else {
		char sql[512];
		PGresult *res;

		snprintf(sql, sizeof(sql),
		         "BEGIN; INSERT INTO dsql_file SELECT %lld, 'part-' || lpad(g::text, 8, '0') ||"
		         " '.parquet', '', 1, NULL, 300, '{\"path\":\"part-' || g || '\",\"size\":300}'"
		         " FROM generate_series(0, %d) g; UPDATE dsql_table SET version = 1 WHERE id = %lld;"
		         " INSERT INTO dsql_commit VALUES (%lld, 1, 'bulk', 1, 'WRITE', 0, 0, 1, 1);"
		         " COMMIT; ANALYZE dsql_file;",
		         (long long)id, files - 1, (long long)id, (long long)id);
		res = PQexec(r->pg, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die("bulk", PQerrorMessage(r->pg));
		PQclear(res);
	}
	t0 = now();
	if (dsql_snapshot_open(&s, cat, name[0], DSQL_LATEST, &err))
		die("snapshot", err.message);
	t_ours = now() - t0;
	if ((int)dsql_snapshot_file_count(s) != files)
		die("snapshot", "wrong file count");
	dsql_snapshot_free(s);
	t0 = now();
	if (r->lite) {
		sqlite3_stmt *st;
		size_t total = 0;

		sqlite3_prepare_v2(r->lite, "SELECT path, body FROM dsql_file WHERE table_id = ? AND"
		                            " removed_version IS NULL ORDER BY path, dv_id", -1, &st, NULL);
		sqlite3_bind_int64(st, 1, id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char *b = strdup((const char *)sqlite3_column_text(st, 1));

			total += strlen(b);
			free(b);
		}
		sqlite3_finalize(st);
		(void)total;
	} else {
		char sql[256];
		PGresult *res;

		snprintf(sql, sizeof(sql), "SELECT path, body FROM dsql_file WHERE table_id = %lld AND"
		                           " removed_version IS NULL ORDER BY path, dv_id", (long long)id);
		res = PQexec(r->pg, sql);
		for (int i = 0; i < PQntuples(res); i++)
			free(strdup(PQgetvalue(res, i, 1)));
		PQclear(res);
	}
	t_raw = now() - t0;
	snprintf(label, sizeof(label), "latest snapshot, %d live files (ms)", files);
	report(driver, label, t_ours * 1000, t_raw * 1000, "ms");
	dsql_table_drop(cat, name[0], &err);
	dsql_catalog_free(cat);
}

/* 4: P processes blind-appending, to one table or each to its own. */
static void bench_contention(const char *driver, const char *uri)
{
	static const int procs[] = {1, 2, 4, 8};
	int per = quick ? 50 : 200;
	double single = 0;

	for (int shared = 1; shared >= 0; shared--)
		for (size_t p = 0; p < sizeof(procs) / sizeof(procs[0]); p++) {
			int np = procs[p], fds[2], status;
			dsql_catalog *cat;
			dsql_error err;
			char names[8][64], label[96];
			double t0, dt, conflicts = 0, retries = 0;

			if (dsql_catalog_open(&cat, uri, NULL, &err))
				die("open", err.message);
			create_tables(cat, "bc", shared ? 1 : np, names, NULL, uri);
			if (pipe(fds))
				die("pipe", "failed");
			t0 = now();
			for (int i = 0; i < np; i++)
				if (fork() == 0) {
					dsql_catalog *c;
					dsql_metrics m;
					char line[64];

					if (dsql_catalog_open(&c, uri, NULL, &err))
						_exit(1);
					for (int k = 0; k < per; k++)
						our_commit(c, shared ? names : names + i, 1, i * 100000 + k);
					dsql_catalog_metrics(c, &m, sizeof(m));
					snprintf(line, sizeof(line), "%llu %llu\n", (unsigned long long)m.conflicts,
					         (unsigned long long)m.retries);
					if (write(fds[1], line, strlen(line)) < 0)
						_exit(2);
					_exit(0);
				}
			close(fds[1]);
			for (int i = 0; i < np; i++) {
				wait(&status);
				if (!WIFEXITED(status) || WEXITSTATUS(status))
					die("contention", "a writer failed (conflict errors are failures here)");
			}
			dt = now() - t0;
			{
				char buf[1024];
				ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
				char *line;

				buf[n > 0 ? n : 0] = '\0';
				for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
					unsigned long long c, r;

					if (sscanf(line, "%llu %llu", &c, &r) == 2) {
						conflicts += c;
						retries += r;
					}
				}
			}
			close(fds[0]);
			if (np == 1 && shared)
				single = np * per / dt;
			snprintf(label, sizeof(label), "%d writer%s, %s (commits/s; vs 1 writer)", np,
			         np > 1 ? "s" : "", shared ? "one table" : "own tables");
			report(driver, label, np * per / dt, single, "commits/s");
			if (np == 8 && shared) {
				snprintf(label, sizeof(label), "8 writers, one table: conflict errors");
				report(driver, label, 0, 0, "count (retried rebases not errors)");
				snprintf(label, sizeof(label), "8 writers, one table: transient retries");
				report(driver, label, retries, 0, "count");
				(void)conflicts;
			}
			for (int i = 0; i < (shared ? 1 : np); i++)
				dsql_table_drop(cat, names[i], &err);
			dsql_catalog_free(cat);
		}
}

/* 5: a commit checked against K winning commits (rebase). */
static void bench_rebase(const char *driver, const char *uri)
{
	static const int ks[] = {1, 10, 100};
	double base = 0;

	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		dsql_catalog *cat;
		dsql_txn *txn;
		dsql_error err;
		char names[1][64], add[512], label[96];
		double t0, dt;

		if (dsql_catalog_open(&cat, uri, NULL, &err))
			die("open", err.message);
		create_tables(cat, "bk", 1, names, NULL, uri);
		dsql_txn_begin(&txn, cat, NULL, &err);
		dsql_txn_read_whole_table(txn, names[0], &err);
		dsql_txn_open_table(txn, names[0], DSQL_LATEST, &err);
		for (int k = 0; k < ks[i]; k++)
			our_commit(cat, names, 1, k);
		for (int k = 1; k <= 10; k++)
			dsql_txn_stage(txn, names[0], add_json(add, sizeof(add), "late", 0, k), &err);
		t0 = now();
		if (dsql_txn_commit(txn, &err) != DSQL_OK)
			die("rebase", err.message);
		dt = now() - t0;
		dsql_txn_free(txn);
		if (i == 0)
			base = dt;
		snprintf(label, sizeof(label), "commit checked against %d winners (ms; vs 1)", ks[i]);
		report(driver, label, dt * 1000, base * 1000, "ms");
		dsql_table_drop(cat, names[0], &err);
		dsql_catalog_free(cat);
	}
}

/* 6: import and export of a long log. */
static void bench_import(const char *driver, const char *uri)
{
	char dir[256], log[300], file[700], add[512], out[300];
	int versions = quick ? 100 : 500;
	dsql_catalog *cat;
	dsql_error err;
	int64_t written;
	double t0, t_in, t_out;

	snprintf(dir, sizeof(dir), "%s/deltasql-bench-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
	         (int)getpid());
	snprintf(log, sizeof(log), "%s/_delta_log", dir);
	mkdir(dir, 0755);
	mkdir(log, 0755);
	for (int v = 0; v < versions; v++) {
		FILE *f;

		snprintf(file, sizeof(file), "%s/%020d.json", log, v);
		f = fopen(file, "w");
		fprintf(f, "{\"commitInfo\":{\"timestamp\":%d,\"operation\":\"WRITE\"}}\n", 1000 + v);
		if (v == 0)
			fprintf(f, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
			           "{\"metaData\":{\"id\":\"b\",\"format\":{\"provider\":\"parquet\","
			           "\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
			           "\\\"fields\\\":[]}\",\"partitionColumns\":[],\"configuration\":{}}}\n");
		for (int k = 1; k <= 10; k++)
			fprintf(f, "%s\n", add_json(add, sizeof(add), "imp", v, k));
		fclose(f);
	}
	if (dsql_catalog_open(&cat, uri, NULL, &err))
		die("open", err.message);
	snprintf(add, sizeof(add), "bi_%d", (int)getpid());
	t0 = now();
	if (dsql_delta_import(cat, add, dir, NULL, NULL, &err))
		die("import", err.message);
	t_in = now() - t0;
	snprintf(out, sizeof(out), "%s-out", dir);
	t0 = now();
	if (dsql_delta_export(cat, add, out, 0, &written, NULL, NULL, &err))
		die("export", err.message);
	t_out = now() - t0;
	report(driver, "import (actions/s)", versions * 11 / t_in, 0, "actions/s");
	report(driver, "export (actions/s)", versions * 11 / t_out, 0, "actions/s");
	dsql_table_drop(cat, add, &err);
	dsql_catalog_free(cat);
	snprintf(file, sizeof(file), "rm -rf '%s' '%s'", dir, out);
	if (system(file) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
}

static void run(const char *driver, const char *uri, raw *r)
{
	if (!as_json)
		printf("\n%s: %s\n  %-44s %12s %12s %9s\n", driver, uri, "measure", "deltasql", "raw",
		       "ratio");
	bench_commits(driver, uri, r);
	bench_snapshot(driver, uri, r, 1000);
	bench_snapshot(driver, uri, r, quick ? 20000 : 100000);
	if (big)
		bench_snapshot(driver, uri, r, 1000000);
	bench_contention(driver, uri);
	bench_rebase(driver, uri);
	bench_import(driver, uri);
}

int main(int argc, char **argv)
{
	const char *only = NULL, *pg = getenv("DELTASQL_BENCH_PG_URI");
	char path[256], uri[400];
	dsql_catalog *cat;
	dsql_error err;
	raw r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = 1;
		else if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (strcmp(argv[i], "--big") == 0)
			big = 1;
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else
			die("usage", "deltasql-bench [--quick] [--json] [--big] [--only DRIVER]");
	}
	if (!pg)
		pg = getenv("DELTASQL_TEST_PG_URI");
	results = json_array();
	if (!as_json)
		printf("deltasql %s benchmarks (%s run); build: %s; ratio = deltasql / raw\n",
		       dsql_version(), quick ? "quick" : "full", BENCH_CFLAGS);
	if (!only || strcmp(only, "sqlite") == 0) {
		snprintf(path, sizeof(path), "%s/deltasql-bench-%d.db",
		         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
		snprintf(uri, sizeof(uri), "sqlite:%s?synchronous=normal&journal_mode=wal", path);
		if (dsql_catalog_open(&cat, uri, NULL, &err))
			die("open", err.message);
		memset(&r, 0, sizeof(r));
		r.driver = "sqlite";
		if (sqlite3_open(path, &r.lite) != SQLITE_OK)
			die("sqlite", "open");
		sqlite3_busy_timeout(r.lite, 10000);
		lite_exec(r.lite, "PRAGMA journal_mode=wal; PRAGMA synchronous=normal");
		if (!as_json)
			printf("settings: journal_mode=wal, synchronous=normal (both sides)\n");
		run("sqlite", uri, &r);
		sqlite3_close(r.lite);
		dsql_catalog_free(cat);
		unlink(path);
	}
	if (pg && (!only || strcmp(only, "postgresql") == 0)) {
		PGresult *res;

		memset(&r, 0, sizeof(r));
		r.driver = "postgresql";
		if (dsql_catalog_open(&cat, pg, NULL, &err))
			die("open", err.message);
		r.pg = PQconnectdb(strncmp(pg, "postgresql://", 13) && strncmp(pg, "postgres://", 11)
		                           ? strchr(pg, ':') + 1 : pg);
		if (PQstatus(r.pg) != CONNECTION_OK)
			die("libpq", PQerrorMessage(r.pg));
		res = PQexec(r.pg, "SHOW synchronous_commit");
		if (!as_json)
			printf("\nsettings: synchronous_commit=%s (both sides)\n", PQgetvalue(res, 0, 0));
		PQclear(res);
		run("postgresql", pg, &r);
		PQfinish(r.pg);
		dsql_catalog_free(cat);
	} else if (!as_json) {
		printf("\npostgresql: not measured (set DELTASQL_BENCH_PG_URI)\n");
	}
	if (as_json) {
		char *s = json_dumps(json_pack("{s:s, s:s, s:b, s:O}", "version", dsql_version(),
		                               "cflags", BENCH_CFLAGS, "quick", quick, "results", results),
		                     JSON_INDENT(2));

		puts(s);
		free(s);
	}
	json_decref(results);
	return 0;
}
