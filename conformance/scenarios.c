/* The shared commit-path scenarios (see scenarios.h). */
#define _GNU_SOURCE
#include "scenarios.h"

#include <deltasql.h>
#include <deltasql/driver.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

const char *scn_not_supported[8];
size_t scn_n_not_supported;

/* ---------------------------------------------------------------- tables */

static int find_cb(const dsql_table_info *t, void *payload)
{
	const char **want = payload;

	if (*want && strcmp(t->name, *want) == 0) {
		ck_assert_int_eq(t->version, 0);
		*want = NULL;
	}
	return 0;
}

START_TEST(create_list_drop)
{
	dsql_catalog *cat = open_cat();
	const char *name = tname("t"), *want = name;
	dsql_error err;
	dsql_snapshot *s;

	create(cat, name, 0);
	ck_assert_int_eq(version_of(cat, name), 0);
	OK(dsql_table_list(cat, find_cb, &want, &err));
	ck_assert_ptr_null(want);
	ck_assert_int_eq(dsql_table_create(cat, name, NULL, &err), DSQL_EEXISTS);
	ck_assert(strstr(err.message, "already exists"));
	OK(dsql_snapshot_open(&s, cat, name, 0, &err));
	ck_assert(strstr(dsql_snapshot_protocol_json(s), "\"minReaderVersion\":1"));
	ck_assert(strstr(dsql_snapshot_metadata_json(s), "\"schemaString\""));
	dsql_snapshot_free(s);
	OK(dsql_table_drop(cat, name, &err));
	ck_assert_int_eq(dsql_table_version(cat, name, NULL, &err), DSQL_ENOTFOUND);
	ck_assert_int_eq(dsql_table_drop(cat, name, &err), DSQL_ENOTFOUND);
	ck_assert(strstr(err.message, name));
	/* The name can be used again, starting over at version 0. */
	create(cat, name, 0);
	ck_assert_int_eq(history_len(cat, name), 1);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(hostile_names_round_trip)
{
	static const char *names[] = {
		"q'uote", "semi;colon DROP TABLE dsql_table;--", "dq\"x", "ünïcødé_表",
		"back\\slash", "pct%_under",
	};
	dsql_catalog *cat = open_cat();
	char name[200];
	dsql_error err;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(name, sizeof(name), "%s_%s_%d", scn_tag, names[i], (int)getpid());
		create(cat, name, 0);
		ck_assert_int_eq(commit_add(cat, name, "it's; a -- path/ü.parquet"), 1);
		assert_paths(cat, name, 1, "it's; a -- path/ü.parquet");
	}
	ck_assert_int_eq(dsql_table_create(cat, "", NULL, &err), DSQL_EINVALID);
	ck_assert_int_eq(dsql_table_create(cat, "bad\x01name", NULL, &err), DSQL_EINVALID);
	ck_assert_int_eq(dsql_table_create(cat, "bad\xff utf8", NULL, &err), DSQL_EINVALID);
	/* The catalog still works (nothing was executed as SQL). */
	ck_assert_int_eq(version_of(cat, name), 1);
	dsql_catalog_free(cat);
}
END_TEST

/* --------------------------------------------------------------- commits */

START_TEST(single_table_versions_and_snapshots)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("single");
	dsql_txn *txn;
	dsql_error err;

	create(cat, t, 0);
	ck_assert_int_eq(commit_add(cat, t, "a"), 1);
	ck_assert_int_eq(commit_add(cat, t, "b"), 2);
	/* Version 3: remove a, add c. */
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, t, remove_json("a"), &err));
	OK(stage(txn, t, add_json("c", 7, NULL), &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	/* Version 4: re-add a. */
	ck_assert_int_eq(commit_add(cat, t, "a"), 4);
	assert_paths(cat, t, 0, "");
	assert_paths(cat, t, 1, "a");
	assert_paths(cat, t, 2, "a,b");
	assert_paths(cat, t, 3, "b,c");
	assert_paths(cat, t, 4, "a,b,c");
	assert_paths(cat, t, DSQL_LATEST, "a,b,c");
	ck_assert_int_eq(history_len(cat, t), 5);
	dsql_catalog_free(cat);
}
END_TEST

/* An add of a file that is live already replaces it (Delta: the last
 * action for a path and deletion vector wins): the table keeps one live
 * entry, with the new add's fields, and older versions keep the old one.
 * 71 files: more than one statement's worth of look-ups. */
static int64_t size_of(dsql_catalog *cat, const char *t, int64_t version, const char *path,
                       size_t *n_files)
{
	dsql_file_info f;
	dsql_snapshot *s;
	dsql_error err;
	int64_t size = -1;

	OK(dsql_snapshot_open(&s, cat, t, version, &err));
	*n_files = dsql_snapshot_file_count(s);
	for (size_t i = 0; i < *n_files; i++) {
		OK(dsql_snapshot_file(s, i, &f));
		if (strcmp(f.path, path) == 0) {
			ck_assert_int_eq(size, -1); /* one live entry per file */
			size = f.size;
		}
	}
	dsql_snapshot_free(s);
	return size;
}

START_TEST(adding_a_live_file_replaces_it)
{
	static const char dv_add[] =
		"{\"add\":{\"path\":\"f\",\"partitionValues\":{},\"size\":%d,\"modificationTime\":1,"
		"\"dataChange\":true,\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":"
		"\"u1\",\"sizeInBytes\":1,\"cardinality\":1}}}";
	dsql_catalog *cat = open_cat();
	const char *t = tname("readd");
	char path[32], line[300];
	size_t n;
	dsql_txn *txn;
	dsql_error err;

	create(cat, t, 0);
	enable_deletion_vectors(cat, t); /* version 1 */
	for (int v = 1; v <= 2; v++) {
		OK(dsql_txn_begin(&txn, cat, NULL, &err));
		for (int i = 0; i < 70; i++) {
			snprintf(path, sizeof(path), "p%02d", i);
			OK(stage(txn, t, add_json(path, v, NULL), &err));
		}
		snprintf(line, sizeof(line), dv_add, 10 * v);
		OK(dsql_txn_stage(txn, t, line, &err));
		if (v == 2)
			OK(stage(txn, t, add_json("c", 5, NULL), &err));
		ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
		dsql_txn_free(txn);
	}
	ck_assert_int_eq(size_of(cat, t, DSQL_LATEST, "p00", &n), 2);
	ck_assert_uint_eq(n, 72);
	ck_assert_int_eq(size_of(cat, t, DSQL_LATEST, "p69", &n), 2);
	ck_assert_int_eq(size_of(cat, t, DSQL_LATEST, "f", &n), 20);
	ck_assert_int_eq(size_of(cat, t, DSQL_LATEST, "c", &n), 5);
	ck_assert_int_eq(size_of(cat, t, 2, "p69", &n), 1);
	ck_assert_uint_eq(n, 71);
	ck_assert_int_eq(size_of(cat, t, 2, "f", &n), 10);
	ck_assert_int_eq(history_len(cat, t), 4);
	dsql_catalog_free(cat);
}
END_TEST

typedef struct hist_row {
	char txn[130];
	char op[40];
	int64_t adds, removes, ts;
} hist_row;

static int collect_cb(const dsql_commit_info *c, void *payload)
{
	hist_row *rows = payload;

	snprintf(rows[c->version].txn, sizeof(rows[0].txn), "%s", c->txn_id);
	snprintf(rows[c->version].op, sizeof(rows[0].op), "%s", c->operation);
	rows[c->version].adds = c->adds;
	rows[c->version].removes = c->removes;
	rows[c->version].ts = c->timestamp_ms;
	return 0;
}

START_TEST(multi_table_commit_is_one_transaction)
{
	dsql_catalog *cat = open_cat();
	const char *a = tname("dim"), *b = tname("fact"), *c = tname("other");
	hist_row ha[4], hb[4];
	dsql_txn *txn;
	dsql_error err;
	int64_t va, vb;

	create(cat, a, 0);
	create(cat, b, 1);
	create(cat, c, 0);
	commit_add_in(cat, b, "seed", "y");
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, a, add_json("a1", 1, NULL), &err));
	OK(stage(txn, a, add_json("a2", 2, NULL), &err));
	OK(stage(txn, b, add_json("p=x/b1", 3, "x"), &err));
	OK(stage(txn, b, remove_json("seed"), &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	OK(dsql_txn_committed_version(txn, a, &va));
	OK(dsql_txn_committed_version(txn, b, &vb));
	ck_assert_int_eq(va, 1);
	ck_assert_int_eq(vb, 2);
	ck_assert_int_eq(dsql_txn_committed_version(txn, c, &va), DSQL_ENOTFOUND);
	ck_assert_uint_eq(dsql_txn_attempts(txn), 1);
	OK(dsql_history(cat, a, collect_cb, ha, &err));
	OK(dsql_history(cat, b, collect_cb, hb, &err));
	ck_assert_str_eq(ha[1].txn, dsql_txn_id(txn));
	ck_assert_str_eq(hb[2].txn, dsql_txn_id(txn));
	ck_assert_int_eq(ha[1].adds, 2);
	ck_assert_int_eq(hb[2].adds, 1);
	ck_assert_int_eq(hb[2].removes, 1);
	ck_assert_str_eq(ha[0].op, "CREATE TABLE");
	ck_assert_str_eq(ha[1].op, "WRITE");
	ck_assert_int_eq(version_of(cat, c), 0); /* untouched */
	dsql_txn_free(txn);
	assert_paths(cat, a, 1, "a1,a2");
	assert_paths(cat, b, 2, "p=x/b1");
	dsql_catalog_free(cat);
}
END_TEST

/* One transaction has one commit time, in every table it writes, and no
 * table's times go backwards: c was imported with a time an hour ahead, so
 * the transaction's time follows it in a and b too. Time travel by
 * timestamp sees the whole transaction or none of it, in every table. (The
 * adds make the tables' writes take a while: time taken per table would
 * differ.) */
START_TEST(multi_table_commit_has_one_timestamp)
{
	dsql_catalog *cat = open_cat();
	const char *a = tname("tsa"), *b = tname("tsb"), *c = tname("tsc");
	const char *names[3] = {a, b, c};
	int64_t ahead = (int64_t)time(NULL) * 1000 + 3600 * 1000;
	char ci[128], path[32];
	hist_row h[3][2];
	dsql_snapshot *s;
	dsql_txn *txn;
	dsql_error err;

	create(cat, a, 0);
	create(cat, b, 0);
	snprintf(ci, sizeof(ci), "{\"commitInfo\":{\"timestamp\":%lld,\"operation\":\"WRITE\"}}",
	         (long long)ahead);
	import_one_version(cat, c, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}",
	                   ci);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "f%05d", i);
		OK(stage(txn, a, add_json(path, 1, NULL), &err));
		OK(stage(txn, b, add_json(path, 1, NULL), &err));
	}
	OK(stage(txn, c, add_json("c1", 1, NULL), &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	for (int k = 0; k < 3; k++)
		OK(dsql_history(cat, names[k], collect_cb, h[k], &err));
	ck_assert_int_eq(h[2][0].ts, ahead);
	ck_assert_int_gt(h[2][1].ts, ahead);
	for (int k = 0; k < 3; k++) {
		ck_assert_msg(h[k][1].ts == h[2][1].ts, "table %d committed at %lld, table c at %lld",
		              k, (long long)h[k][1].ts, (long long)h[2][1].ts);
		ck_assert_int_gt(h[k][1].ts, h[k][0].ts);
		OK(dsql_snapshot_open_at(&s, cat, names[k], h[2][1].ts - 1, &err));
		ck_assert_int_eq(dsql_snapshot_version(s), 0);
		dsql_snapshot_free(s);
		OK(dsql_snapshot_open_at(&s, cat, names[k], h[2][1].ts, &err));
		ck_assert_int_eq(dsql_snapshot_version(s), 1);
		dsql_snapshot_free(s);
	}
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(app_txn_and_domain_metadata)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("apptxn");
	dsql_snapshot *s;
	dsql_txn *txn;
	dsql_error err;
	int64_t v;
	const char *conf;

	create(cat, t, 0);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_stage(txn, t, "{\"txn\":{\"appId\":\"etl\",\"version\":7}}", &err));
	OK(dsql_txn_stage(txn, t,
	                  "{\"domainMetadata\":{\"domain\":\"app.x\",\"configuration\":\"{}\","
	                  "\"removed\":false}}",
	                  &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_stage(txn, t, "{\"txn\":{\"appId\":\"etl\",\"version\":8}}", &err));
	OK(dsql_txn_stage(txn, t,
	                  "{\"domainMetadata\":{\"domain\":\"app.x\",\"configuration\":\"{}\","
	                  "\"removed\":true}}",
	                  &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	OK(dsql_snapshot_open(&s, cat, t, 1, &err));
	ck_assert_uint_eq(dsql_snapshot_app_txn_count(s), 1);
	ck_assert_str_eq(dsql_snapshot_app_txn(s, 0, &v), "etl");
	ck_assert_int_eq(v, 7);
	ck_assert_uint_eq(dsql_snapshot_domain_count(s), 1);
	ck_assert_str_eq(dsql_snapshot_domain(s, 0, &conf), "app.x");
	dsql_snapshot_free(s);
	OK(dsql_snapshot_open(&s, cat, t, DSQL_LATEST, &err));
	dsql_snapshot_app_txn(s, 0, &v);
	ck_assert_int_eq(v, 8);
	ck_assert_uint_eq(dsql_snapshot_domain_count(s), 0); /* tombstoned */
	dsql_snapshot_free(s);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(replayed_txn_id_is_a_no_op)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("replay"), *u = tname("replay2");
	dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
	char id[64];
	dsql_txn *txn;
	dsql_error err;
	int64_t v;

	create(cat, t, 0);
	create(cat, u, 0);
	snprintf(id, sizeof(id), "job-42-%d", (int)getpid());
	o.txn_id = id;
	for (int round = 0; round < 2; round++) {
		OK(dsql_txn_begin(&txn, cat, &o, &err));
		OK(stage(txn, t, add_json("x", 1, NULL), &err));
		OK(stage(txn, u, add_json("y", 1, NULL), &err));
		ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
		ck_assert_int_eq(dsql_txn_was_replayed(txn), round == 1);
		OK(dsql_txn_committed_version(txn, t, &v));
		ck_assert_int_eq(v, 1);
		OK(dsql_txn_committed_version(txn, u, &v));
		ck_assert_int_eq(v, 1);
		dsql_txn_free(txn);
	}
	ck_assert_int_eq(version_of(cat, t), 1);
	ck_assert_int_eq(history_len(cat, u), 2);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(time_travel_by_timestamp)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("tt");
	hist_row h[3];
	dsql_snapshot *s;
	dsql_error err;

	create(cat, t, 0);
	commit_add(cat, t, "a");
	commit_add(cat, t, "b");
	OK(dsql_history(cat, t, collect_cb, h, &err));
	ck_assert(h[0].ts < h[1].ts && h[1].ts < h[2].ts); /* never backwards */
	OK(dsql_snapshot_open_at(&s, cat, t, h[1].ts, &err));
	ck_assert_int_eq(dsql_snapshot_version(s), 1);
	dsql_snapshot_free(s);
	OK(dsql_snapshot_open_at(&s, cat, t, h[2].ts - 1, &err));
	ck_assert_int_eq(dsql_snapshot_version(s), 1);
	dsql_snapshot_free(s);
	OK(dsql_snapshot_open_at(&s, cat, t, h[2].ts + 100000, &err));
	ck_assert_int_eq(dsql_snapshot_version(s), 2);
	dsql_snapshot_free(s);
	ck_assert_int_eq(dsql_snapshot_open_at(&s, cat, t, h[0].ts - 1, &err), DSQL_ENOTFOUND);
	ck_assert_int_eq(dsql_snapshot_open(&s, cat, t, 3, &err), DSQL_ENOTFOUND);
	ck_assert(strstr(err.message, "latest is 2"));
	dsql_catalog_free(cat);
}
END_TEST

/* ------------------------------------------------------------ validation */

/* Stages `bad` (after a good add to table a and one to table b) and
 * expects `code` either at staging or at commit; then checks that neither
 * table changed. */
static void expect_rejected(const char *bad, int code, const char *needle)
{
	dsql_catalog *cat = open_cat();
	const char *a = tname("va"), *b = tname("vb");
	dsql_txn *txn;
	dsql_error err;
	int rc;

	create(cat, a, 1);
	create(cat, b, 0);
	commit_add(cat, b, "live");
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, a, add_json("p=1/ok", 1, "1"), &err));
	OK(stage(txn, b, add_json("ok", 1, NULL), &err));
	rc = dsql_txn_stage(txn, b, bad, &err);
	if (rc == DSQL_OK)
		rc = dsql_txn_commit(txn, &err);
	ck_assert_msg(rc == code, "expected %d for %s, got %d (%s)", code, bad, rc, err.message);
	ck_assert_msg(strstr(err.message, needle), "message '%s' lacks '%s'", err.message, needle);
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, a), 0);
	ck_assert_int_eq(version_of(cat, b), 1);
	ck_assert_int_eq(history_len(cat, a), 1);
	assert_paths(cat, b, DSQL_LATEST, "live");
	dsql_catalog_free(cat);
}

START_TEST(rejects_remove_of_unknown_file)
{
	expect_rejected("{\"remove\":{\"path\":\"ghost\",\"dataChange\":true}}", DSQL_EINVALID,
	                "not a live file");
}
END_TEST

START_TEST(rejects_duplicate_add)
{
	expect_rejected("{\"add\":{\"path\":\"ok\",\"size\":1,\"modificationTime\":1,"
	                "\"dataChange\":true,\"partitionValues\":{}}}",
	                DSQL_EINVALID, "added twice");
}
END_TEST

START_TEST(rejects_add_without_path)
{
	expect_rejected("{\"add\":{\"size\":1,\"dataChange\":true}}", DSQL_EINVALID,
	                "missing \"path\"");
}
END_TEST

START_TEST(rejects_negative_size)
{
	expect_rejected("{\"add\":{\"path\":\"n\",\"size\":-5,\"dataChange\":true}}", DSQL_EINVALID,
	                "negative");
}
END_TEST

START_TEST(rejects_unknown_action_kind)
{
	expect_rejected("{\"addFile\":{\"path\":\"n\"}}", DSQL_EINVALID, "not a Delta action");
}
END_TEST

START_TEST(rejects_invalid_schema_string)
{
	expect_rejected("{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\"},"
	                "\"schemaString\":\"{not json\",\"partitionColumns\":[],"
	                "\"configuration\":{}}}",
	                DSQL_EINVALID, "schemaString");
}
END_TEST

START_TEST(rejects_unknown_partition_column)
{
	expect_rejected("{\"metaData\":{\"id\":\"x\",\"schemaString\":"
	                "\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\","
	                "\"partitionColumns\":[\"nope\"],\"configuration\":{}}}",
	                DSQL_EINVALID, "partition column 'nope'");
}
END_TEST

START_TEST(rejects_partition_values_mismatch)
{
	expect_rejected("{\"add\":{\"path\":\"pv\",\"size\":1,\"dataChange\":true,"
	                "\"partitionValues\":{\"zzz\":\"1\"}}}",
	                DSQL_EINVALID, "not partitioned by");
}
END_TEST

START_TEST(rejects_malformed_json)
{
	expect_rejected("{\"add\": {\"path\": \"x\", ", DSQL_EINVALID, "malformed");
}
END_TEST

START_TEST(rejects_deletion_vector_without_the_feature)
{
	expect_rejected("{\"add\":{\"path\":\"dv\",\"size\":1,\"modificationTime\":1,"
	                "\"dataChange\":true,\"partitionValues\":{},\"deletionVector\":"
	                "{\"storageType\":\"u\",\"pathOrInlineDv\":\"u1\",\"sizeInBytes\":1,"
	                "\"cardinality\":1}}}",
	                DSQL_EINVALID, "'deletionVectors'");
}
END_TEST

/* A metaData that partitions by a new column while files written before
 * stay live (they have no value for it) is refused; rewriting them in the
 * same commit is not. */
START_TEST(rejects_new_partition_column_over_live_files)
{
	static const char md[] =
		"{\"metaData\":{\"id\":\"m\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
		"\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":"
		"\\\"p\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
		"\"partitionColumns\":[\"p\"],\"configuration\":{}}}";
	dsql_catalog *cat = open_cat();
	const char *t = tname("newpart");
	dsql_txn *txn;
	dsql_error err;

	create(cat, t, 0);
	commit_add(cat, t, "old1");
	commit_add(cat, t, "old2");
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_stage(txn, t, md, &err));
	OK(stage(txn, t, remove_json("old1"), &err));
	OK(stage(txn, t, add_json("p=a/new", 1, "a"), &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "partition column 'p'") && strstr(err.message, "old2"),
	              "%s", err.message);
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, t), 2);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_stage(txn, t, md, &err));
	OK(stage(txn, t, remove_json("old1"), &err));
	OK(stage(txn, t, remove_json("old2"), &err));
	OK(stage(txn, t, add_json("p=a/new", 1, "a"), &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	assert_paths(cat, t, DSQL_LATEST, "p=a/new");
	dsql_catalog_free(cat);
}
END_TEST

/* Imports a one-version log whose protocol is protocol_line: the import
 * and reads work, a commit is refused naming what deltasql cannot write. */
static void imported_protocol_is_read_only(const char *protocol_line, const char *needle)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("future");
	dsql_snapshot *s;
	dsql_txn *txn;
	dsql_error err;

	import_one_version(cat, t, protocol_line, "");
	OK(dsql_snapshot_open(&s, cat, t, DSQL_LATEST, &err));
	ck_assert_uint_eq(dsql_snapshot_file_count(s), 1);
	dsql_snapshot_free(s);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, t, add_json("b", 1, NULL), &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EUNSUPPORTED);
	ck_assert_msg(strstr(err.message, needle) && strstr(err.message, t), "%s", err.message);
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, t), 0);
	assert_paths(cat, t, DSQL_LATEST, "a");
	dsql_catalog_free(cat);
}

START_TEST(rejects_writes_to_protocols_it_cannot_write)
{
	imported_protocol_is_read_only("{\"protocol\":{\"minReaderVersion\":1,"
	                               "\"minWriterVersion\":8}}",
	                               "writer version 8");
	imported_protocol_is_read_only("{\"protocol\":{\"minReaderVersion\":3,"
	                               "\"minWriterVersion\":7,\"readerFeatures\":[],"
	                               "\"writerFeatures\":[\"someFutureWriterFeature\"]}}",
	                               "someFutureWriterFeature");
}
END_TEST

START_TEST(rejects_unknown_table_and_version)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("known");
	dsql_isolation iso;
	dsql_txn *txn;
	dsql_error err;

	create(cat, t, 0);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	ck_assert_int_eq(dsql_txn_stage(txn, "no_such_table_here", "{\"txn\":{\"appId\":\"a\","
	                                "\"version\":1}}", &err),
	                 DSQL_ENOTFOUND);
	ck_assert(strstr(err.message, "no_such_table_here"));
	ck_assert_int_eq(dsql_txn_open_table(txn, t, 5, &err), DSQL_ENOTFOUND);
	ck_assert(strstr(err.message, "no version 5"));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID); /* nothing staged */
	dsql_txn_free(txn);
	ck_assert_int_eq(dsql_isolation_parse(&iso, "read_committed", &err), DSQL_EINVALID);
	ck_assert(strstr(err.message, "read_committed"));
	OK(dsql_isolation_parse(&iso, "snapshot", &err));
	ck_assert_int_eq(iso, DSQL_ISOLATION_SNAPSHOT);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(stale_read_of_removed_file_conflicts)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("stale");
	dsql_txn *t1, *t2;
	dsql_error err;

	create(cat, t, 0);
	commit_add(cat, t, "f");
	OK(dsql_txn_begin(&t1, cat, NULL, &err));
	OK(dsql_txn_begin(&t2, cat, NULL, &err));
	OK(stage(t1, t, remove_json("f"), &err));
	OK(stage(t2, t, remove_json("f"), &err));
	ck_assert_msg(dsql_txn_commit(t1, &err) == DSQL_OK, "%s", err.message);
	ck_assert_int_eq(dsql_txn_commit(t2, &err), DSQL_ECONFLICT);
	ck_assert_str_eq(err.conflict.table, t);
	ck_assert_int_eq(err.conflict.winning_version, 2);
	ck_assert(err.conflict.rule[0] != '\0');
	dsql_txn_free(t1);
	dsql_txn_free(t2);
	ck_assert_int_eq(version_of(cat, t), 2);
	assert_paths(cat, t, DSQL_LATEST, "");
	dsql_catalog_free(cat);
}
END_TEST

/* ----------------------------------------------------------- concurrency */

#define WORKERS 8
#define COMMITS 10

/* One worker process: COMMITS transactions, each touching the shared
 * tables a and b together and its own table; every success's txn id is
 * written to fd. */
static void worker(int id, const char *a, const char *b, const char *own, int fd)
{
	dsql_catalog *cat = NULL;
	dsql_error err;
	int done = 0;

	if (dsql_catalog_open(&cat, scn_uri, NULL, &err) != DSQL_OK)
		_exit(10);
	while (done < COMMITS) {
		dsql_txn *txn;
		char path[64], line[200];
		int rc;

		snprintf(path, sizeof(path), "w%d-%d", id, done);
		if (dsql_txn_begin(&txn, cat, NULL, &err) != DSQL_OK)
			_exit(11);
		if (stage(txn, a, add_json(path, 1, NULL), &err) ||
		    stage(txn, b, add_json(path, 1, NULL), &err) ||
		    stage(txn, own, add_json(path, 1, NULL), &err))
			_exit(12);
		rc = dsql_txn_commit(txn, &err);
		if (rc == DSQL_OK) {
			snprintf(line, sizeof(line), "%s\n", dsql_txn_id(txn));
			if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
				_exit(13);
			done++;
		} else if (rc != DSQL_ECONFLICT && rc != DSQL_ERETRY) {
			fprintf(stderr, "worker %d: %s\n", id, err.message);
			_exit(14);
		}
		dsql_txn_free(txn);
	}
	dsql_catalog_free(cat);
	_exit(0);
}

typedef struct seen {
	char (*ids)[130];
	int n;
} seen;

static int seen_cb(const dsql_commit_info *c, void *payload)
{
	seen *s = payload;

	ck_assert_int_eq(c->version, s->n); /* contiguous */
	snprintf(s->ids[s->n++], 130, "%s", c->txn_id);
	return 0;
}

static int count_id(const seen *s, const char *id)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		n += strcmp(s->ids[i], id) == 0;
	return n;
}

START_TEST(concurrent_processes_never_lose_or_split_a_commit)
{
	dsql_catalog *cat = open_cat();
	char a[128], b[128], own[WORKERS][128], buf[WORKERS * COMMITS * 130 + 1];
	int fds[2], status;
	seen sa, sb;
	size_t len = 0;
	ssize_t n;
	dsql_error err;

	snprintf(a, sizeof(a), "%s", tname("ca"));
	snprintf(b, sizeof(b), "%s", tname("cb"));
	create(cat, a, 0);
	create(cat, b, 0);
	for (int i = 0; i < WORKERS; i++) {
		snprintf(own[i], sizeof(own[i]), "%s", tname("own"));
		create(cat, own[i], 0);
	}
	ck_assert_int_eq(pipe(fds), 0);
	for (int i = 0; i < WORKERS; i++)
		if (fork() == 0) {
			close(fds[0]);
			worker(i, a, b, own[i], fds[1]);
		}
	close(fds[1]);
	while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fds[0]);
	for (int i = 0; i < WORKERS; i++) {
		ck_assert_int_ne(wait(&status), -1);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker failed: %d",
		              status);
	}
	sa.ids = calloc(WORKERS * COMMITS + 1, 130);
	sb.ids = calloc(WORKERS * COMMITS + 1, 130);
	sa.n = sb.n = 0;
	OK(dsql_history(cat, a, seen_cb, &sa, &err));
	OK(dsql_history(cat, b, seen_cb, &sb, &err));
	ck_assert_int_eq(sa.n, WORKERS * COMMITS + 1);
	ck_assert_int_eq(sb.n, WORKERS * COMMITS + 1);
	/* Every reported success is in both tables exactly once. */
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		ck_assert_int_eq(count_id(&sa, line), 1);
		ck_assert_int_eq(count_id(&sb, line), 1);
	}
	for (int i = 0; i < WORKERS; i++)
		ck_assert_int_eq(version_of(cat, own[i]), COMMITS);
	{
		char *paths = paths_at(cat, a, DSQL_LATEST);
		int files = 0;

		for (char *p = paths; *p; p++)
			files += *p == ',';
		ck_assert_int_eq(files + 1, WORKERS * COMMITS);
		free(paths);
	}
	free(sa.ids);
	free(sb.ids);
	dsql_catalog_free(cat);
}
END_TEST

/* Many processes blind-append to one table: every commit succeeds (rebased
 * past the others), none reports a conflict. */
START_TEST(concurrent_blind_appends_never_conflict)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("blind");
	int status;

	create(cat, t, 0);
	for (int i = 0; i < WORKERS * 2; i++)
		if (fork() == 0) {
			dsql_catalog *c = NULL;
			dsql_error err;

			if (dsql_catalog_open(&c, scn_uri, NULL, &err) != DSQL_OK)
				_exit(10);
			for (int k = 0; k < COMMITS; k++) {
				dsql_txn *txn;
				char path[64];

				snprintf(path, sizeof(path), "b%d-%d", i, k);
				if (dsql_txn_begin(&txn, c, NULL, &err) ||
				    stage(txn, t, add_json(path, 1, NULL), &err))
					_exit(11);
				if (dsql_txn_commit(txn, &err) != DSQL_OK) {
					fprintf(stderr, "blind append failed: %s\n", err.message);
					_exit(12);
				}
				dsql_txn_free(txn);
			}
			dsql_catalog_free(c);
			_exit(0);
		}
	for (int i = 0; i < WORKERS * 2; i++) {
		ck_assert_int_ne(wait(&status), -1);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker failed: %d",
		              status);
	}
	ck_assert_int_eq(history_len(cat, t), WORKERS * 2 * COMMITS + 1);
	{
		char *paths = paths_at(cat, t, DSQL_LATEST);
		int files = 1;

		for (char *p = paths; *p; p++)
			files += *p == ',';
		ck_assert_int_eq(files, WORKERS * 2 * COMMITS);
		free(paths);
	}
	dsql_catalog_free(cat);
}
END_TEST

/* Read-modify-write through the retry helper from several processes: each
 * increment replaces the one counter file; conflicts are retried, and no
 * increment is lost. */
typedef struct rmw {
	const char *table;
	dsql_catalog *reader; /* a second handle, only for the snapshot */
} rmw;

static int rmw_increment(dsql_txn *txn, void *payload)
{
	const rmw *job = payload;
	dsql_snapshot *s;
	dsql_error err;
	char path[64], *add;
	int value = -1, rc;

	rc = dsql_snapshot_open(&s, job->reader, job->table, DSQL_LATEST, &err);
	if (rc == DSQL_OK) {
		if (dsql_snapshot_file_count(s) == 1)
			sscanf(strstr(dsql_snapshot_file_json(s, 0), "n-") + 2, "%d", &value);
		rc = dsql_txn_open_table(txn, job->table, dsql_snapshot_version(s), &err);
		dsql_snapshot_free(s);
	}
	if (rc != DSQL_OK || value < 0)
		return rc != DSQL_OK ? rc : DSQL_ERROR;
	snprintf(path, sizeof(path), "n-%d", value);
	rc = stage(txn, job->table, remove_json(path), &err);
	snprintf(path, sizeof(path), "n-%d", value + 1);
	add = add_json(path, 1, NULL);
	return rc ? rc : stage(txn, job->table, add, &err);
}

START_TEST(concurrent_read_modify_write_loses_nothing)
{
	dsql_catalog *cat = open_cat();
	rmw job = {tname("rmw"), NULL};
	dsql_retry_policy p = {1000, 1, 50, 120000};
	int status;

	create(cat, job.table, 0);
	commit_add(cat, job.table, "n-0");
	for (int i = 0; i < WORKERS; i++)
		if (fork() == 0) {
			dsql_catalog *c = NULL;
			dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
			dsql_error err;

			o.retry = &p;
			if (dsql_catalog_open(&c, scn_uri, NULL, &err) != DSQL_OK ||
			    dsql_catalog_open(&job.reader, scn_uri, NULL, &err) != DSQL_OK)
				_exit(10);
			for (int k = 0; k < COMMITS; k++)
				if (dsql_txn_run(c, &o, rmw_increment, &job, &err) != DSQL_OK) {
					fprintf(stderr, "increment failed: %s\n", err.message);
					_exit(11);
				}
			dsql_catalog_free(job.reader);
			dsql_catalog_free(c);
			_exit(0);
		}
	for (int i = 0; i < WORKERS; i++) {
		ck_assert_int_ne(wait(&status), -1);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker failed: %d",
		              status);
	}
	{
		char want[32];

		snprintf(want, sizeof(want), "n-%d", WORKERS * COMMITS);
		assert_paths(cat, job.table, DSQL_LATEST, want);
	}
	ck_assert_int_eq(history_len(cat, job.table), WORKERS * COMMITS + 2);
	dsql_catalog_free(cat);
}
END_TEST

/* Lock, then read: a commit that waits for a table's lock must see the
 * winner that held it. The winner (another process) pauses just before its
 * COMMIT, holding the table; ours, from the same read version, waits for
 * the lock and must then find the winner's remove: a conflict, never a
 * second remove of the same file. (Without fault injection compiled in the
 * winner does not pause; the outcome must be the same.) */
START_TEST(waiting_commit_sees_the_winner)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("lockread");
	dsql_txn *me;
	dsql_error err;
	pid_t pid;

	create(cat, t, 0);
	commit_add(cat, t, "f");
	OK(dsql_txn_begin(&me, cat, NULL, &err));
	OK(dsql_txn_open_table(me, t, 1, &err));
	OK(stage(me, t, remove_json("f"), &err));
	pid = start_paused_winner(t, remove_json("f"));
	ck_assert_int_eq(dsql_txn_commit(me, &err), DSQL_ECONFLICT);
	ck_assert_str_eq(err.conflict.rule, "concurrent_delete_delete");
	ck_assert_int_eq(err.conflict.winning_version, 2);
	dsql_txn_free(me);
	end_winner(pid);
	ck_assert_int_eq(version_of(cat, t), 2);
	dsql_catalog_free(cat);
}
END_TEST

Suite *scenarios_suite(const char *label, const char *uri, unsigned int capabilities)
{
	Suite *s = suite_create(label);
	TCase *tables = tcase_create("tables");
	TCase *commits = tcase_create("commits");
	TCase *validation = tcase_create("validation");
	TCase *concurrency = tcase_create("concurrency");

	scn_uri = uri;
	tcase_add_test(tables, create_list_drop);
	tcase_add_test(tables, hostile_names_round_trip);
	tcase_set_timeout(tables, 60);
	suite_add_tcase(s, tables);

	tcase_add_test(commits, single_table_versions_and_snapshots);
	tcase_add_test(commits, adding_a_live_file_replaces_it);
	tcase_add_test(commits, multi_table_commit_is_one_transaction);
	tcase_add_test(commits, multi_table_commit_has_one_timestamp);
	tcase_add_test(commits, app_txn_and_domain_metadata);
	tcase_add_test(commits, replayed_txn_id_is_a_no_op);
	tcase_add_test(commits, time_travel_by_timestamp);
	tcase_add_test(commits, stale_read_of_removed_file_conflicts);
	tcase_set_timeout(commits, 60);
	suite_add_tcase(s, commits);

	tcase_add_test(validation, rejects_remove_of_unknown_file);
	tcase_add_test(validation, rejects_duplicate_add);
	tcase_add_test(validation, rejects_add_without_path);
	tcase_add_test(validation, rejects_negative_size);
	tcase_add_test(validation, rejects_unknown_action_kind);
	tcase_add_test(validation, rejects_invalid_schema_string);
	tcase_add_test(validation, rejects_unknown_partition_column);
	tcase_add_test(validation, rejects_partition_values_mismatch);
	tcase_add_test(validation, rejects_malformed_json);
	tcase_add_test(validation, rejects_unknown_table_and_version);
	tcase_add_test(validation, rejects_deletion_vector_without_the_feature);
	tcase_add_test(validation, rejects_new_partition_column_over_live_files);
	tcase_add_test(validation, rejects_writes_to_protocols_it_cannot_write);
	tcase_set_timeout(validation, 60);
	suite_add_tcase(s, validation);

	driver_cases(s);
	typed_file_cases(s);
	exact_cases(s);
	hint_cases(s);
	conflict_cases(s);
	appsql_cases(s);
	retention_cases(s);
	changes_cases(s);
	delta_cases(s);

	if (capabilities & DSQL_CAP_TWO_PHASE)
		twophase_cases(s);
	else
		scn_not_supported[scn_n_not_supported++] =
			"two-phase commit: prepare, resolve from another process, recovery "
			"(DSQL_CAP_TWO_PHASE)";

	if (capabilities & DSQL_CAP_MULTI_PROCESS) {
		crash_cases(s);
		bank_cases(s);
		tcase_add_test(concurrency, concurrent_processes_never_lose_or_split_a_commit);
		tcase_add_test(concurrency, waiting_commit_sees_the_winner);
		tcase_add_test(concurrency, concurrent_blind_appends_never_conflict);
		tcase_add_test(concurrency, concurrent_read_modify_write_loses_nothing);
		tcase_set_timeout(concurrency, 300);
		suite_add_tcase(s, concurrency);
	} else {
		scn_not_supported[scn_n_not_supported++] =
			"concurrency: several processes sharing one catalog (DSQL_CAP_MULTI_PROCESS)";
	}
	return s;
}
