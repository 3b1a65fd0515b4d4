/* The SQLite driver: the shared scenarios on a SQLite file, plus what only
 * a file-based embedded catalog has (schema migration, files that are not
 * catalogs, busy timeouts). */
#define _GNU_SOURCE
#include <check.h>
#include <deltasql.h>
#include <deltasql/driver.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog_int.h"
#include "schema.h"
#include "testutil.h"

/* Runs SQL on the catalog file through the driver vtable, outside the
 * library's catalog logic (to set up old or damaged catalogs). */
static void raw_exec(const char *uri, const char *sql)
{
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *s;
	dsql_error err;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->connect(&c, uri, &err), DSQL_OK);
	ck_assert_msg(d->prepare(&s, c, sql, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(d->step(s, &err), DSQL_DONE);
	d->finalize(s);
	d->disconnect(c);
}

static int raw_count(const char *uri, const char *sql)
{
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *s;
	dsql_error err;
	int n;

	ck_assert_int_eq(d->connect(&c, uri, &err), DSQL_OK);
	ck_assert_msg(d->prepare(&s, c, sql, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(d->step(s, &err), DSQL_ROW);
	n = (int)d->column_int64(s, 0);
	d->finalize(s);
	d->disconnect(c);
	return n;
}

/* The commitInfo deltasql generates is written without a JSON tree: it
 * must be, byte for byte, what jansson writes for the same object, with
 * the fields each commit calls for, in the order deltasql always wrote
 * them (a caller's id with a quote and a backslash escaped; readVersion on
 * every version after the first). */
START_TEST(generated_commit_info_is_janssons_rendering)
{
	static const struct {
		const char *id, *line, *operation, *level;
		dsql_isolation isolation;
		int blind;
	} commits[] = {
		{NULL, NULL, "CREATE TABLE", "WriteSerializable", DSQL_ISOLATION_DEFAULT, 0},
		{"q\"uo\\te/{x}", "{\"add\":{\"path\":\"a\",\"partitionValues\":{},\"size\":1,"
		                  "\"modificationTime\":1,\"dataChange\":true}}",
		 "WRITE", "WriteSerializable", DSQL_ISOLATION_DEFAULT, 1},
		{NULL, "{\"remove\":{\"path\":\"a\",\"deletionTimestamp\":1,\"dataChange\":true}}",
		 "DELETE", "SnapshotIsolation", DSQL_ISOLATION_SNAPSHOT, 0},
		{"plain-id", "{\"add\":{\"path\":\"b\",\"partitionValues\":{},\"size\":1,"
		             "\"modificationTime\":1,\"dataChange\":true}}",
		 "WRITE", "Serializable", DSQL_ISOLATION_SERIALIZABLE, 1},
	};
	const char *uri = tu_sqlite_uri("commitinfo");
	const dsql_driver *d = dsql_driver_find(uri);
	char ids[4][130];
	dsql_driver_conn *c;
	dsql_driver_stmt *st;
	dsql_catalog *cat;
	dsql_error err;
	size_t n = 0;

	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, "t", NULL, &err), DSQL_OK);
	for (size_t i = 1; i < 4; i++) {
		dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
		dsql_txn *txn;

		o.isolation = commits[i].isolation;
		o.txn_id = commits[i].id;
		ck_assert_int_eq(dsql_txn_begin(&txn, cat, &o, &err), DSQL_OK);
		ck_assert_int_eq(dsql_txn_stage(txn, "t", commits[i].line, &err), DSQL_OK);
		ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
		snprintf(ids[i], sizeof(ids[i]), "%s", dsql_txn_id(txn));
		dsql_txn_free(txn);
	}
	dsql_catalog_free(cat);

	ck_assert_int_eq(d->connect(&c, uri, &err), DSQL_OK);
	ck_assert_int_eq(d->prepare(&st, c,
	                            "SELECT version, body FROM dsql_action WHERE kind = 'commitInfo'"
	                            " ORDER BY version",
	                            &err),
	                 DSQL_OK);
	while (d->step(st, &err) == DSQL_ROW) {
		int64_t v = d->column_int64(st, 0);
		const char *body = d->column_text(st, 1, NULL);
		json_t *line = json_loads(body, 0, NULL), *ci;
		char *again;

		ck_assert_msg(line != NULL, "version %lld: not JSON: %s", (long long)v, body);
		again = json_dumps(line, JSON_COMPACT);
		ck_assert_str_eq(body, again);
		free(again);
		ck_assert_int_eq(v, (int64_t)n);
		ci = json_object_get(line, "commitInfo");
		{
			static const char *const order[] = {"operation", "operationParameters",
			                                     "isolationLevel", "isBlindAppend",
			                                     "engineInfo", "timestamp", "txnId",
			                                     "readVersion"};
			size_t k = 0;

			for (void *it = json_object_iter(ci); it; it = json_object_iter_next(ci, it))
				ck_assert_str_eq(json_object_iter_key(it), order[k++]);
			ck_assert_uint_eq(k, n > 0 ? 8 : 7);
		}
		ck_assert_str_eq(json_string_value(json_object_get(ci, "operation")),
		                 commits[n].operation);
		ck_assert_str_eq(json_string_value(json_object_get(ci, "isolationLevel")),
		                 commits[n].level);
		ck_assert_int_eq(json_is_true(json_object_get(ci, "isBlindAppend")), commits[n].blind);
		ck_assert_int_eq(strncmp(json_string_value(json_object_get(ci, "engineInfo")),
		                         "deltasql/", 9),
		                 0);
		ck_assert(json_integer_value(json_object_get(ci, "timestamp")) > 0);
		if (n > 0) {
			ck_assert_str_eq(json_string_value(json_object_get(ci, "txnId")), ids[n]);
			ck_assert_int_eq(json_integer_value(json_object_get(ci, "readVersion")), v - 1);
		} else {
			ck_assert_ptr_null(json_object_get(ci, "readVersion"));
		}
		json_decref(line);
		n++;
	}
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(ids[1], commits[1].id);
	d->finalize(st);
	d->disconnect(c);
}
END_TEST

START_TEST(old_catalog_is_migrated)
{
	char uri[600];
	struct dsql_catalog old;
	dsql_catalog *cat;
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	dsql_error err;
	dsql_txn *txn;

	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("old"));
	memset(&old, 0, sizeof(old));
	ck_assert_int_eq(db_open(&old.db, uri, &err), DSQL_OK);
	ck_assert_int_eq(schema_create_at(&old, 1, &err), DSQL_OK);
	db_close(old.db);
	schema_free(&old);
	/* The first schema's key column: "key", renamed "name" by version 8. */
	raw_exec(uri, "INSERT INTO dsql_catalog (key, value) VALUES ('marker', 'kept')");
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM sqlite_master WHERE name = "
	                                "'dsql_domain'"), 0);
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM sqlite_master WHERE name = "
	                                "'dsql_domain'"), 1);
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM dsql_catalog WHERE name = 'marker'"),
	                 1);
	ck_assert_int_eq(raw_count(uri, "SELECT CAST(value AS INTEGER) FROM dsql_catalog WHERE "
	                                "name = 'schema_version'"),
	                 DSQL_CATALOG_SCHEMA_VERSION);
	/* The upgraded catalog works, including what the migration added. */
	ck_assert_int_eq(dsql_table_create(cat, "t", &o, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "t", "{\"domainMetadata\":{\"domain\":\"d\","
	                                          "\"configuration\":\"{}\",\"removed\":false}}",
	                                &err),
	                 DSQL_OK);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	/* and the journal's monitoring columns (schema 6) */
	{
		dsql_stats st;

		ck_assert_int_eq(dsql_catalog_stats(&st, sizeof(st), cat, NULL, 0, NULL, NULL, &err),
		                 DSQL_OK);
		ck_assert_uint_eq(st.commits, 2);
		ck_assert_uint_eq(st.max_attempts, 1);
	}
	dsql_catalog_free(cat);
}
END_TEST


static void commit_text(dsql_catalog *cat, const char *table, const char *action)
{
	dsql_txn *txn;
	dsql_error err;

	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_msg(dsql_txn_stage(txn, table, action, &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
}

#define ADD(p) "{\"add\":{\"path\":\"" p "\",\"partitionValues\":{},\"size\":1," \
	"\"modificationTime\":1,\"dataChange\":true}}"

/* Migration 7: file paths stored by an older version in other spellings
 * take their canonical one, so that commits (which stage canonical paths)
 * and vacuum find them; a path whose canonical key is taken (one file live
 * under two spellings) keeps its spelling, and is counted. */
START_TEST(stored_paths_are_made_canonical)
{
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	dsql_catalog *cat;
	dsql_error err;
	char uri[600];

	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("paths"));
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	o.schema_json = "{\"type\":\"struct\",\"fields\":[]}";
	ck_assert_int_eq(dsql_table_create(cat, "t", &o, &err), DSQL_OK);
	commit_text(cat, "t", ADD("a.parquet"));
	commit_text(cat, "t", ADD("c.parquet"));
	commit_text(cat, "t", ADD("d.parquet"));
	dsql_catalog_free(cat);
	/* As an older version stored them: */
	raw_exec(uri, "UPDATE dsql_file SET path = './a.parquet' WHERE path = 'a.parquet'");
	raw_exec(uri, "UPDATE dsql_file SET path = 'c%2eparquet' WHERE path = 'c.parquet'");
	raw_exec(uri, "INSERT INTO dsql_file SELECT table_id, 'd.parquet', dv_id, added_version + 1,"
	              " NULL, size, body FROM dsql_file WHERE path = 'd.parquet'");
	raw_exec(uri, "UPDATE dsql_file SET path = './d.parquet' WHERE path = 'd.parquet'"
	              " AND added_version = 3");
	/* A schema 6 catalog, its key column by its old name (schema 8 renamed it). */
	raw_exec(uri, "ALTER TABLE dsql_catalog RENAME COLUMN name TO key");
	raw_exec(uri, "UPDATE dsql_catalog SET value = '6' WHERE key = 'schema_version'");

	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM dsql_file WHERE path IN"
	                                " ('a.parquet', 'c.parquet')"), 2);
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM dsql_file WHERE path = './d.parquet'"),
	                 1);
	ck_assert_int_eq(raw_count(uri, "SELECT CAST(value AS INTEGER) FROM dsql_catalog"
	                                " WHERE name = 'noncanonical_paths'"), 1);
	ck_assert_int_eq(raw_count(uri, "SELECT CAST(value AS INTEGER) FROM dsql_catalog"
	                                " WHERE name = 'schema_version'"),
	                 DSQL_CATALOG_SCHEMA_VERSION);
	/* Removes under any spelling find them. */
	commit_text(cat, "t", "{\"remove\":{\"path\":\"a.parquet\",\"dataChange\":true}}");
	commit_text(cat, "t", "{\"remove\":{\"path\":\"./c%2Eparquet\",\"dataChange\":true}}");
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM dsql_file WHERE removed_version"
	                                " IS NULL AND path IN ('a.parquet', 'c.parquet')"), 0);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(newer_catalog_is_refused)
{
	char uri[600];
	dsql_catalog *cat;
	dsql_error err;

	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("newer"));
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	dsql_catalog_free(cat);
	raw_exec(uri, "UPDATE dsql_catalog SET value = '99' WHERE name = 'schema_version'");
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_ECATALOG_VERSION);
	ck_assert_ptr_null(cat);
	ck_assert(strstr(err.message, "99"));
	ck_assert(strstr(err.message, "newer"));
}
END_TEST

START_TEST(missing_or_foreign_catalog)
{
	dsql_catalog_options o = DSQL_CATALOG_OPTIONS_INIT;
	char path[512], uri[600];
	dsql_catalog *cat;
	dsql_error err;
	FILE *f;

	o.create = 0;
	ck_assert_int_eq(dsql_catalog_open(&cat, tu_sqlite_uri("absent"), &o, &err),
	                 DSQL_ENOTFOUND);
	ck_assert(strstr(err.message, "deltasql init"));
	snprintf(path, sizeof(path), "%s/garbage.db", tu_tmpdir());
	f = fopen(path, "w");
	fputs("this is not a database, just text that is long enough to look like a header. "
	      "0123456789012345678901234567890123456789",
	      f);
	fclose(f);
	snprintf(uri, sizeof(uri), "sqlite:%s", path);
	ck_assert_int_ne(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_ptr_null(cat);
	ck_assert(strstr(err.message, "not a database"));
	ck_assert_int_eq(dsql_catalog_open(&cat, "sqlite:", NULL, &err), DSQL_EINVALID);
	ck_assert_int_eq(dsql_catalog_open(&cat, "nosuchdb:/x", NULL, &err), DSQL_EINVALID);
	ck_assert(strstr(err.message, "nosuchdb"));
	ck_assert_int_eq(dsql_catalog_open(&cat, "no-scheme", NULL, &err), DSQL_EINVALID);
	ck_assert_int_eq(dsql_catalog_open(&cat, "sqlite:/tmp/x.db?bogus=1", NULL, &err),
	                 DSQL_EINVALID);
	ck_assert(strstr(err.message, "bogus"));
	ck_assert_int_eq(dsql_catalog_open(&cat, "sqlite:/nonexistent-dir/sub/x.db", NULL, &err),
	                 DSQL_ECONNECT);
}
END_TEST

/* A commit blocked by another writer gives up after the busy timeout
 * (options: the URI's busy_timeout), once: not again on every retry of
 * the policy (10 s a wait and a 60 s policy made 80 s). */
static void locked_catalog_gives_up(const char *options, int64_t want_ms)
{
	const char *uri0 = tu_sqlite_uri("busy");
	char uri[600];
	const dsql_driver *d;
	dsql_driver_conn *holder;
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	struct timespec t0, t1;
	int64_t took_ms;

	snprintf(uri, sizeof(uri), "%s%s", uri0, options);
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, "t", NULL, &err), DSQL_OK);
	d = dsql_driver_find(uri);
	ck_assert_int_eq(d->connect(&holder, uri, &err), DSQL_OK);
	ck_assert_int_eq(d->begin(holder, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	/* The default policy (20 attempts, 60 s). */
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "t", "{\"txn\":{\"appId\":\"a\",\"version\":1}}", &err),
	                 DSQL_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_ETIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(took_ms >= want_ms && took_ms < want_ms + 1500, "gave up after %lld ms",
	              (long long)took_ms);
	ck_assert_uint_eq(dsql_txn_attempts(txn), 1);
	ck_assert_msg(strstr(err.message, "busy timeout"), "%s", err.message);
	ck_assert_str_eq(err.sqlstate, "55P03");
	dsql_txn_free(txn);
	/* Once the lock is gone, a new transaction goes through. */
	ck_assert_int_eq(d->rollback(holder, &err), DSQL_OK);
	d->disconnect(holder);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "t", "{\"txn\":{\"appId\":\"a\",\"version\":1}}", &err),
	                 DSQL_OK);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	dsql_catalog_free(cat);
}

START_TEST(locked_catalog_gives_up_at_the_busy_timeout)
{
	locked_catalog_gives_up("?busy_timeout=300", 300);
}
END_TEST

/* docs/RELIABILITY.md: 5 s unless the URI says otherwise. */
START_TEST(locked_catalog_gives_up_at_the_default_busy_timeout)
{
	locked_catalog_gives_up("", 5000);
}
END_TEST

START_TEST(two_phase_is_unsupported)
{
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;

	ck_assert_int_eq(dsql_catalog_open(&cat, tu_sqlite_uri("tpc"), NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, "t", NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "t", "{\"txn\":{\"appId\":\"a\",\"version\":1}}", &err),
	                 DSQL_OK);
	ck_assert_int_eq(dsql_txn_prepare(txn, &err), DSQL_EUNSUPPORTED);
	ck_assert(strstr(err.message, "two-phase"));
	ck_assert_ptr_null(dsql_txn_gid(txn));
	ck_assert_int_eq(dsql_prepared_recover(cat, 0, NULL, NULL, &err), DSQL_EUNSUPPORTED);
	ck_assert_int_eq(dsql_prepared_commit(cat, "x", &err), DSQL_EUNSUPPORTED);
	/* Nothing was written, and the transaction can still commit normally. */
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	dsql_catalog_free(cat);
}
END_TEST

/* SQLite's authorizer judges what an application statement would touch,
 * not its text: a statement on the application's own table whose trigger
 * writes the catalog is refused, as is one reading the catalog through a
 * view, and ATTACH creates no file. What the authorizer allows runs. */
START_TEST(authorizer_keeps_application_sql_off_the_catalog)
{
	static const char *const refused[] = {
		"INSERT INTO app_t VALUES (1)",   /* its trigger bumps dsql_table */
		"SELECT * FROM app_peek",         /* a view over dsql_commit */
		"ATTACH DATABASE 'appsql-attached.db' AS elsewhere",
		"PRAGMA query_only = 1", "PRAGMA writable_schema = 1", "BEGIN", "SAVEPOINT s",
		"SELECT 1; SELECT 2", "SELECT 1 AS [x'];DELETE FROM app_u;--]",
	};
	const char *uri = tu_sqlite_uri("authorizer");
	const dsql_driver *d = dsql_driver_find(uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *s;
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	int64_t v;

	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_create(cat, "t", NULL, &err), DSQL_OK);
	raw_exec(uri, "CREATE TABLE app_t (x INTEGER)");
	raw_exec(uri, "CREATE TABLE app_u (x INTEGER)");
	raw_exec(uri, "INSERT INTO app_u VALUES (7)");
	raw_exec(uri, "CREATE TRIGGER app_t_bump AFTER INSERT ON app_t BEGIN"
	              " UPDATE dsql_table SET version = version + 5; END");
	raw_exec(uri, "CREATE VIEW app_peek AS SELECT * FROM dsql_commit");
	ck_assert_int_eq(d->connect(&c, uri, &err), DSQL_OK);
	ck_assert_int_eq(d->begin(c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ck_assert_msg(d->prepare_application(&s, c, refused[i], &err) == DSQL_EINVALID,
		              "accepted '%s'", refused[i]);
		ck_assert_msg(strstr(err.message, "refused"), "%s", err.message);
	}
	ck_assert_msg(strstr(err.message, "more than one"), "%s", err.message);
	ck_assert(d->in_transaction(c));
	/* Allowed: the application's own tables, schema changes of them. */
	ck_assert_msg(d->prepare_application(&s, c, "CREATE TABLE app_v (x INTEGER)", &err) ==
	                      DSQL_OK,
	              "%s", err.message);
	ck_assert_int_eq(d->step(s, &err), DSQL_DONE);
	d->finalize(s);
	ck_assert_int_eq(d->rollback(c, &err), DSQL_OK);
	d->disconnect(c);
	ck_assert_int_eq(access("appsql-attached.db", F_OK), -1);

	/* Through a commit: refused whole, the table at version 0. */
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "t", "{\"txn\":{\"appId\":\"a\",\"version\":1}}", &err),
	                 DSQL_OK);
	ck_assert_int_eq(dsql_txn_add_sql(txn, NULL, "INSERT INTO app_t VALUES (1)", NULL, 0, &err),
	                 DSQL_OK);
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "dsql_table"), "%s", err.message);
	ck_assert_int_eq(err.statement_index, 0);
	dsql_txn_free(txn);
	ck_assert_int_eq(dsql_table_version(cat, "t", &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM app_t"), 0);
	ck_assert_int_eq(raw_count(uri, "SELECT COUNT(*) FROM app_u"), 1);
	dsql_catalog_free(cat);
}
END_TEST

/* Rows per statement: SQLite declares DSQL_CAP_IN_PROCESS and gets one row
 * per statement; the same driver without the bit gets multi-row statements.
 * Both write the same catalog. Statement texts are watched through a
 * driver registered with the SQLite driver's own methods. */
extern const dsql_driver dsql_sqlite_driver;
static size_t most_file_rows, most_action_rows, most_unlinks;

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static size_t lock_returning, ctid_statements;

static int watching_prepare(dsql_driver_stmt **out, dsql_driver_conn *c, const char *sql,
                            dsql_error *err)
{
	size_t n;

	if (strncmp(sql, "UPDATE dsql_table SET version = version", 39) == 0 &&
	    strstr(sql, "RETURNING"))
		lock_returning++;
	if (strstr(sql, "ctid"))
		ctid_statements++;
	if (strncmp(sql, "INSERT INTO dsql_file ", 22) == 0 &&
	    (n = count_of(sql, "(?, ?, ?, ?, NULL, ?, ?)")) > most_file_rows)
		most_file_rows = n;
	if (strncmp(sql, "INSERT INTO dsql_action ", 24) == 0 &&
	    (n = count_of(sql, "(?, ?, ?, ?, ?)")) > most_action_rows)
		most_action_rows = n;
	if (strncmp(sql, "UPDATE dsql_file SET removed_version", 36) == 0 &&
	    (n = count_of(sql, "path = ? AND dv_id = ?")) > most_unlinks)
		most_unlinks = n;
	return dsql_sqlite_driver.prepare(out, c, sql, err);
}

/* 70 adds (more than one multi-row chunk), then 14 of them removed and 10
 * added again (the last action for a file wins): the live files, as
 * "path|path|...". */
static char *write_and_list(const char *uri)
{
	dsql_catalog *cat;
	dsql_snapshot *snap;
	dsql_txn *txn;
	dsql_error err;
	char line[256], *out = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_msg(dsql_catalog_open(&cat, uri, NULL, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(dsql_table_create(cat, "t", NULL, &err), DSQL_OK);
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
		for (int i = 0; i < 70; i++) {
			if (round == 1 && i % 5 != 0 && i % 6 != 1)
				continue;
			if (round == 1 && i % 5 == 0)
				snprintf(line, sizeof(line),
				         "{\"remove\":{\"path\":\"f%02d.parquet\",\"dataChange\":true}}", i);
			else
				snprintf(line, sizeof(line),
				         "{\"add\":{\"path\":\"f%02d.parquet\",\"partitionValues\":{},"
				         "\"size\":%d,\"modificationTime\":1,\"dataChange\":true}}",
				         i, 100 + round);
			ck_assert_msg(dsql_txn_stage(txn, "t", line, &err) == DSQL_OK, "%s", err.message);
		}
		ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
		dsql_txn_free(txn);
	}
	ck_assert_int_eq(dsql_snapshot_open(&snap, cat, "t", DSQL_LATEST, &err), DSQL_OK);
	f = open_memstream(&out, &len);
	for (size_t i = 0; i < dsql_snapshot_file_count(snap); i++)
		fprintf(f, "%s|", dsql_snapshot_file_json(snap, i));
	fclose(f);
	dsql_snapshot_free(snap);
	dsql_catalog_free(cat);
	return out;
}

/* Registers the SQLite driver's methods under schemes[0], statements
 * watched, with these capabilities and per-connection report. */
static void register_watched(const char *const *schemes, unsigned int caps,
                             unsigned int (*conn_caps)(dsql_driver_conn *))
{
	dsql_driver d = dsql_sqlite_driver;
	dsql_error err;

	d.prepare = watching_prepare;
	d.name = schemes[0];
	d.uri_schemes = schemes;
	d.capabilities = caps;
	d.connection_capabilities = conn_caps;
	ck_assert_int_eq(dsql_driver_register(&d, &err), DSQL_OK);
}

/* write_and_list into a new catalog file through a watched scheme, whose
 * URI goes to uri; asserts the statement shapes: one row per statement, or
 * chunks of BATCH_MAX_ROWS (64). */
static char *write_watched(const char *scheme, int one_row, char uri[600])
{
	char *out;

	snprintf(uri, 600, "%s:%s", scheme, strchr(tu_sqlite_uri(scheme), ':') + 1);
	most_file_rows = most_action_rows = most_unlinks = 0;
	out = write_and_list(uri);
	ck_assert_uint_eq(most_file_rows, one_row ? 1 : 64);
	ck_assert_uint_eq(most_action_rows, one_row ? 1 : 64);
	if (one_row)
		ck_assert_uint_eq(most_unlinks, 1);
	else
		ck_assert_uint_ge(most_unlinks, 4);
	return out;
}

START_TEST(rows_per_statement_follow_in_process)
{
	static const char *const one_row[] = {"sqlite-onerow", NULL};
	static const char *const batched[] = {"sqlite-batched", NULL};
	unsigned int caps = dsql_sqlite_driver.capabilities;
	char uri[600], *a, *b;

	ck_assert(caps & DSQL_CAP_IN_PROCESS);
	register_watched(one_row, caps, NULL);
	register_watched(batched, caps & ~DSQL_CAP_IN_PROCESS, NULL);
	a = write_watched(one_row[0], 1, uri);
	b = write_watched(batched[0], 0, uri);
	/* 70 files, 14 removed, 10 replaced by their new adds (size 101). */
	ck_assert_uint_eq(count_of(a, "|"), 56);
	ck_assert_uint_eq(count_of(a, "\"size\":101"), 10);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

/* A driver that reaches several databases tells each connection's
 * statement-shape bits (ABI 3): they override the driver's, and only those
 * bits do. The connections here claim two-phase commit and deferred
 * statements too, which the SQLite driver lacks: ignored. */
static unsigned int claim_in_process(dsql_driver_conn *c)
{
	(void)c;
	return DSQL_CAP_IN_PROCESS | DSQL_CAP_TWO_PHASE | DSQL_CAP_DEFERRED;
}

static unsigned int claim_nothing(dsql_driver_conn *c)
{
	(void)c;
	return 0;
}

START_TEST(connection_capabilities_override_the_drivers)
{
	static const char *const claims[] = {"sqlite-claims", NULL};
	static const char *const denies[] = {"sqlite-denies", NULL};
	unsigned int caps = dsql_sqlite_driver.capabilities;
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	char uri[600], *a, *b;

	register_watched(claims, caps & ~DSQL_CAP_IN_PROCESS, claim_in_process);
	register_watched(denies, caps | DSQL_CAP_IN_PROCESS, claim_nothing);
	a = write_watched(claims[0], 1, uri);
	/* The claimed two-phase commit is not taken: the driver has none. */
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "t", "{\"txn\":{\"appId\":\"a\",\"version\":1}}", &err),
	                 DSQL_OK);
	ck_assert_int_eq(dsql_txn_prepare(txn, &err), DSQL_EUNSUPPORTED);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	dsql_catalog_free(cat);
	b = write_watched(denies[0], 0, uri);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

/* The ABI promise: a driver built for ABI 3 (its struct ends before
 * dialect) keeps working. It gets the portable dialect; its IN_PROCESS
 * still means serialised writers, as before ABI 4 (the lock and read in
 * one UPDATE ... RETURNING); the retired ROW_IDS and NULLS_NOT_DISTINCT
 * bits it declares are ignored (no ctid statement reaches SQLite). */
START_TEST(abi3_driver_keeps_working)
{
	static const char *const schemes[] = {"sqlite-abi3", NULL};
	dsql_driver d = dsql_sqlite_driver;
	dsql_catalog *cat, *other;
	dsql_txn *txn;
	dsql_error err;
	char uri[600], *a;

	d.abi_version = 3;
	d.struct_size = offsetof(dsql_driver, dialect);
	d.dialect = NULL;
	d.prepare = watching_prepare;
	d.name = schemes[0];
	d.uri_schemes = schemes;
	d.capabilities = DSQL_CAP_MULTI_PROCESS | DSQL_CAP_RETURNING | DSQL_CAP_IN_PROCESS |
	                 DSQL_CAP_ROW_IDS | DSQL_CAP_NULLS_NOT_DISTINCT;
	ck_assert_int_eq(dsql_driver_register(&d, &err), DSQL_OK);
	lock_returning = ctid_statements = 0;
	a = write_watched(schemes[0], 1, uri);
	ck_assert_uint_eq(count_of(a, "|"), 56);
	free(a);
	/* Two handles taking turns: each commits behind the other's hint,
	 * under the lock statement. */
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_catalog_open(&other, uri, NULL, &err), DSQL_OK);
	for (int i = 0; i < 4; i++) {
		char line[160];

		snprintf(line, sizeof(line),
		         "{\"add\":{\"path\":\"g%d.parquet\",\"partitionValues\":{},\"size\":1,"
		         "\"modificationTime\":1,\"dataChange\":true}}", i);
		ck_assert_int_eq(dsql_txn_begin(&txn, i % 2 ? other : cat, NULL, &err), DSQL_OK);
		ck_assert_int_eq(dsql_txn_stage(txn, "t", line, &err), DSQL_OK);
		ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
		dsql_txn_free(txn);
	}
	dsql_catalog_free(cat);
	dsql_catalog_free(other);
	ck_assert_uint_gt(lock_returning, 0);
	ck_assert_uint_eq(ctid_statements, 0);
}
END_TEST

static Suite *sqlite_only_suite(void)
{
	Suite *s = suite_create("sqlite-specific");
	TCase *tc = tcase_create("catalog file");

	tcase_add_test(tc, generated_commit_info_is_janssons_rendering);
	tcase_add_test(tc, old_catalog_is_migrated);
	tcase_add_test(tc, stored_paths_are_made_canonical);
	tcase_add_test(tc, newer_catalog_is_refused);
	tcase_add_test(tc, missing_or_foreign_catalog);
	tcase_add_test(tc, locked_catalog_gives_up_at_the_busy_timeout);
	tcase_add_test(tc, locked_catalog_gives_up_at_the_default_busy_timeout);
	tcase_add_test(tc, two_phase_is_unsupported);
	tcase_add_test(tc, authorizer_keeps_application_sql_off_the_catalog);
	tcase_add_test(tc, rows_per_statement_follow_in_process);
	tcase_add_test(tc, connection_capabilities_override_the_drivers);
	tcase_add_test(tc, abi3_driver_keeps_working);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int failed;

	/* The shared scenarios run through deltasql-conformance
	 * (tests/run-conformance.sh); these are SQLite's own. */
	failed = tu_run_suite(sqlite_only_suite());
	return failed;
}
