/*
 * Commits built on what a catalog handle remembers of its tables (its
 * hints): the handle skips the look-ups a commit would otherwise make and
 * asserts them instead. These cases make the hints wrong on purpose, with a
 * second handle (another writer), and check that every commit still lands
 * on the right version, or fails as it would have without hints.
 */
#include "helpers.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t hint_misses(dsql_catalog *cat)
{
	dsql_metrics m;

	dsql_catalog_metrics(cat, &m, sizeof(m));
	return m.hint_misses;
}

/* Commits one add of path (size bytes) in a single attempt; its version. */
static int64_t add_in_one_attempt(dsql_catalog *cat, const char *table, const char *path,
                                  int64_t size)
{
	dsql_txn *txn;
	dsql_error err;
	int64_t v;

	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, table, add_json(path, size, NULL), &err));
	OK(dsql_txn_commit(txn, &err));
	OK(dsql_txn_committed_version(txn, table, &v));
	ck_assert_uint_eq(dsql_txn_attempts(txn), 1);
	dsql_txn_free(txn);
	return v;
}

/* A writer whose hint is stale appends on top of the other's commit. */
START_TEST(stale_hint_append_lands_on_the_latest_version)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t = tname("hint");

	create(a, t, 0);
	ck_assert_int_eq(commit_add(a, t, "a1"), 1);  /* a's hint: version 1 */
	ck_assert_int_eq(commit_add(b, t, "b1"), 2);
	ck_assert_int_eq(commit_add(b, t, "b2"), 3);
	ck_assert_int_eq(add_in_one_attempt(a, t, "a2", 1), 4);
	ck_assert_uint_eq(hint_misses(a), 1);
	/* The hint is right again: the next commit needs no second try. */
	ck_assert_int_eq(commit_add(a, t, "a3"), 5);
	ck_assert_uint_eq(hint_misses(a), 1);
	assert_paths(b, t, DSQL_LATEST, "a1,a2,a3,b1,b2");
	ck_assert_int_eq(history_len(b, t), 6);
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

static int times_cb(const dsql_commit_info *c, void *payload)
{
	((int64_t *)payload)[c->version] = c->timestamp_ms;
	return 0;
}

/* The commitInfo line of an exported version, parsed. */
static json_t *exported_commit_info(const char *dir, int64_t version)
{
	char path[512];
	json_error_t jerr;
	json_t *line;
	FILE *f;

	snprintf(path, sizeof(path), "%s/_delta_log/%020lld.json", dir, (long long)version);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s was not exported", path);
	line = json_loadf(f, JSON_DISABLE_EOF_CHECK, &jerr);
	fclose(f);
	ck_assert_msg(line != NULL, "%s: %s", path, jerr.text);
	ck_assert_msg(json_object_get(line, "commitInfo"), "%s does not start with commitInfo",
	              path);
	return line;
}

static void remove_export(const char *dir, int64_t last)
{
	char path[600];

	for (int64_t v = 0; v <= last; v++) {
		snprintf(path, sizeof(path), "%s/_delta_log/%020lld.json", dir, (long long)v);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/_delta_log", dir);
	rmdir(path);
	rmdir(dir);
}

/* Blind appends of a writer whose hint another writer made stale: the
 * hinted try fails once; the next append of a handle that saw other
 * writers goes under locks at once; once no other writer came between,
 * appends go on the hint again. Every version, commit time, commitInfo
 * line and file is as if each commit had read the table first. */
START_TEST(stale_blind_append_takes_the_next_version)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t = tname("hintsv");
	char dir[] = "/tmp/dsql-conf-hintsv-XXXXXX";
	int64_t times[8] = {0};
	dsql_error err;

	create(a, t, 0);
	ck_assert_int_eq(commit_add(a, t, "a1"), 1);
	ck_assert_int_eq(commit_add(b, t, "b1"), 2);
	ck_assert_int_eq(commit_add(b, t, "b2"), 3);
	ck_assert_int_eq(commit_add(a, t, "a2"), 4); /* the hinted try fails */
	ck_assert_uint_eq(hint_misses(a), 1);
	ck_assert_int_eq(commit_add(a, t, "a3"), 5); /* under locks at once */
	ck_assert_uint_eq(hint_misses(a), 1);
	ck_assert_int_eq(commit_add(a, t, "a4"), 6); /* nobody else wrote: on the hint */
	ck_assert_uint_eq(hint_misses(a), 1);
	ck_assert_int_eq(commit_add(b, t, "b3"), 7);
	assert_paths(b, t, 3, "a1,b1,b2");
	assert_paths(b, t, 4, "a1,a2,b1,b2");
	assert_paths(a, t, DSQL_LATEST, "a1,a2,a3,a4,b1,b2,b3");
	OK(dsql_history(b, t, times_cb, times, &err));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	OK(dsql_delta_export(b, t, dir, 0, NULL, NULL, NULL, &err));
	for (int64_t v = 1; v <= 7; v++) {
		json_t *line = exported_commit_info(dir, v);
		json_t *ci = json_object_get(line, "commitInfo");

		ck_assert_msg(times[v] > times[v - 1], "version %lld: commit time %lld after %lld",
		              (long long)v, (long long)times[v], (long long)times[v - 1]);
		ck_assert_int_eq(json_integer_value(json_object_get(ci, "timestamp")), times[v]);
		/* Each read the version it committed on, stale hint or not. */
		ck_assert_int_eq(json_integer_value(json_object_get(ci, "readVersion")), v - 1);
		ck_assert(json_is_true(json_object_get(ci, "isBlindAppend")));
		ck_assert(json_is_string(json_object_get(ci, "txnId")));
		json_decref(line);
	}
	remove_export(dir, 7);
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

/* A remove is staged against the latest version, not against the hint: a
 * file added by another writer since can be removed. */
START_TEST(remove_reads_the_latest_version_not_the_hint)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t = tname("hintrm");
	dsql_txn *txn;
	dsql_error err;
	int64_t v;

	create(a, t, 0);
	commit_add(a, t, "a1");
	commit_add(b, t, "b1");
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t, add_json("a2", 1, NULL), &err));
	OK(stage(txn, t, remove_json("b1"), &err));
	OK(dsql_txn_read_version(txn, t, &v, &err));
	ck_assert_int_eq(v, 2);
	OK(dsql_txn_commit(txn, &err));
	assert_paths(b, t, DSQL_LATEST, "a1,a2");
	dsql_txn_free(txn);
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

/* A true conflict found after the hinted try failed is reported as such,
 * and leaves nothing of either try behind. */
START_TEST(conflict_behind_a_hint_is_reported)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t = tname("hintcf");
	dsql_txn *txn, *w;
	dsql_error err;

	create(a, t, 0);
	commit_add(a, t, "f");
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t, remove_json("f"), &err));
	OK(dsql_txn_begin(&w, b, NULL, &err));
	OK(stage(w, t, remove_json("f"), &err));
	OK(dsql_txn_commit(w, &err));
	dsql_txn_free(w);
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_ECONFLICT);
	ck_assert_str_eq(err.conflict.rule, "concurrent_delete_delete");
	ck_assert_int_eq(err.conflict.winning_version, 2);
	ck_assert_int_eq(version_of(a, t), 2);
	ck_assert_int_eq(history_len(a, t), 3);
	dsql_txn_free(txn);
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

/* One stale table in a multi-table commit: the hinted try fails as a whole
 * (nothing of it is visible), the locked try commits every table. */
START_TEST(multi_table_commit_with_one_stale_hint)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t1 = tname("hintm1"), *t2 = tname("hintm2");
	dsql_txn *txn;
	dsql_error err;
	int64_t v1, v2;

	create(a, t1, 0);
	create(a, t2, 0);
	commit_add(a, t1, "x");
	commit_add(a, t2, "y");
	commit_add(b, t2, "z");
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t1, add_json("x2", 1, NULL), &err));
	OK(stage(txn, t2, add_json("y2", 1, NULL), &err));
	OK(dsql_txn_commit(txn, &err));
	OK(dsql_txn_committed_version(txn, t1, &v1));
	OK(dsql_txn_committed_version(txn, t2, &v2));
	ck_assert_int_eq(v1, 2);
	ck_assert_int_eq(v2, 3);
	ck_assert_uint_eq(hint_misses(a), 1);
	assert_paths(b, t1, DSQL_LATEST, "x,x2");
	assert_paths(b, t2, DSQL_LATEST, "y,y2,z");
	ck_assert_int_eq(history_len(b, t1), 3);
	ck_assert_int_eq(history_len(b, t2), 4);
	dsql_txn_free(txn);
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

/* The size of the one live file at path (0 when absent, -1 when twice). */
static int64_t live_size(dsql_catalog *cat, const char *table, int64_t version,
                         const char *path)
{
	dsql_snapshot *s;
	dsql_error err;
	int64_t size = 0;

	ck_assert_msg(dsql_snapshot_open(&s, cat, table, version, &err) == DSQL_OK, "%s",
	              err.message);
	for (size_t i = 0; i < dsql_snapshot_file_count(s); i++) {
		json_t *f = json_loads(dsql_snapshot_file_json(s, i), 0, NULL);

		if (strcmp(json_string_value(json_object_get(f, "path")), path) == 0)
			size = size ? -1 : json_integer_value(json_object_get(f, "size"));
		json_decref(f);
	}
	dsql_snapshot_free(s);
	return size;
}

/* Adds that replace live files, on a right hint, in a commit of two tables
 * (one add replaces, one is new): where the database refuses a second live
 * row of a file (a unique live-file key) the hinted attempt fails and the
 * locked one commits; either way both tables move once, the replaced file
 * is live once with the new size, and the old version still has the old. */
START_TEST(adds_that_replace_files_on_the_hint)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t1 = tname("hintr1"), *t2 = tname("hintr2");
	dsql_txn *txn;
	dsql_error err;
	int64_t v1, v2;

	create(a, t1, 0);
	create(a, t2, 0);
	commit_add(a, t1, "p");
	commit_add(a, t2, "q");
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t1, add_json("p", 77, NULL), &err));
	OK(stage(txn, t2, add_json("q2", 5, NULL), &err));
	OK(dsql_txn_commit(txn, &err));
	OK(dsql_txn_committed_version(txn, t1, &v1));
	OK(dsql_txn_committed_version(txn, t2, &v2));
	ck_assert_int_eq(v1, 2);
	ck_assert_int_eq(v2, 2);
	ck_assert_uint_le(hint_misses(a), 1);
	dsql_txn_free(txn);
	assert_paths(b, t1, DSQL_LATEST, "p");
	ck_assert_int_eq(live_size(b, t1, DSQL_LATEST, "p"), 77);
	ck_assert_int_ne(live_size(b, t1, 1, "p"), 77);
	ck_assert_int_gt(live_size(b, t1, 1, "p"), 0);
	assert_paths(b, t2, DSQL_LATEST, "q,q2");
	ck_assert_int_eq(history_len(b, t1), 3);
	ck_assert_int_eq(history_len(b, t2), 3);
	/* And again on the hint: the same, once more. */
	ck_assert_int_eq(commit_add(a, t1, "p"), 3);
	assert_paths(b, t1, DSQL_LATEST, "p");
	ck_assert_int_eq(live_size(b, t1, 2, "p"), 77);
	/* And under locks: a has seen another writer, whose commit makes its
	 * hint stale again. */
	ck_assert_int_eq(commit_add(b, t1, "r1"), 4);
	ck_assert_int_eq(commit_add(a, t1, "r2"), 5);
	ck_assert_int_eq(commit_add(b, t1, "r3"), 6);
	ck_assert_int_eq(add_in_one_attempt(a, t1, "p", 99), 7);
	assert_paths(b, t1, DSQL_LATEST, "p,r1,r2,r3");
	ck_assert_int_eq(live_size(b, t1, DSQL_LATEST, "p"), 99);
	ck_assert_int_eq(live_size(b, t1, 6, "p"), live_size(b, t1, 3, "p"));
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

/* The table was dropped and created again under the same name by another
 * writer: an append goes to the new table; an explicit read of the old one
 * finds it gone. */
START_TEST(append_after_drop_and_create_finds_the_new_table)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t = tname("hintdc");
	dsql_txn *txn;
	dsql_error err;
	int64_t v;

	create(a, t, 0);
	commit_add(a, t, "old");
	OK(dsql_table_drop(b, t, &err));
	create(b, t, 0);
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t, add_json("new", 1, NULL), &err));
	OK(dsql_txn_commit(txn, &err));
	OK(dsql_txn_committed_version(txn, t, &v));
	ck_assert_int_eq(v, 1);
	dsql_txn_free(txn);
	assert_paths(b, t, DSQL_LATEST, "new");
	/* Dropped for good: the hint does not make it live again. */
	OK(dsql_table_drop(b, t, &err));
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t, add_json("ghost", 1, NULL), &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_ENOTFOUND);
	ck_assert_msg(strstr(err.message, t), "%s", err.message);
	dsql_txn_free(txn);
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	ck_assert_int_eq(stage(txn, t, add_json("ghost", 1, NULL), &err), DSQL_ENOTFOUND);
	dsql_txn_free(txn);
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

/* The metadata a hint holds follows metadata changes made elsewhere: an
 * add is checked against the partitioning in force when it commits. */
START_TEST(partition_check_follows_a_metadata_change_elsewhere)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t = tname("hintmd");
	dsql_txn *txn;
	dsql_error err;

	create(a, t, 1); /* partitioned by p */
	commit_add_in(a, t, "p=1/a", "1");
	OK(dsql_table_drop(b, t, &err));
	create(b, t, 0); /* same name, not partitioned */
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t, add_json("p=2/b", 1, "2"), &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "not partitioned by"), "%s", err.message);
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(b, t), 0);
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

/* A metaData without partition columns. */
static const char *const unpartitioned =
	"{\"metaData\":{\"id\":\"m\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
	"\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":"
	"\\\"x\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
	"\"partitionColumns\":[],\"configuration\":{}}}";

/* Another writer changes the table's metaData (drops the partitioning):
 * the stale hint's metadata is not used; the add is checked against the
 * metadata in force when it commits. */
START_TEST(stale_hint_does_not_keep_changed_metadata)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t = tname("hintm2");
	dsql_txn *txn;
	dsql_error err;

	create(a, t, 1);
	commit_add_in(a, t, "p=1/a", "1"); /* a's hint holds the partitioned metadata */
	OK(dsql_txn_begin(&txn, b, NULL, &err));
	OK(dsql_txn_stage(txn, t, unpartitioned, &err));
	OK(dsql_txn_commit(txn, &err));
	dsql_txn_free(txn);
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t, add_json("p=2/b", 1, "2"), &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "not partitioned by"), "%s", err.message);
	dsql_txn_free(txn);
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t, add_json("c", 1, NULL), &err));
	OK(dsql_txn_commit(txn, &err));
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(b, t), 3);
	assert_paths(b, t, DSQL_LATEST, "c,p=1/a");
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

static int last_time_cb(const dsql_commit_info *c, void *payload)
{
	*(int64_t *)payload = c->timestamp_ms;
	return 0;
}

/* The same metaData, made append-only. */
static const char *const unpartitioned_append_only =
	"{\"metaData\":{\"id\":\"m\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
	"\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":"
	"\\\"x\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
	"\"partitionColumns\":[],\"configuration\":{\"delta.appendOnly\":\"true\"}}}";

/* A commit read under a hint that another handle made stale obeys the
 * rules of the version it lands on: here the other handle made the table
 * append-only (a configuration change: no conflict), and the remove this
 * handle read before is refused, not rebased. */
START_TEST(stale_hint_obeys_the_landing_rules)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t = tname("hintao");
	dsql_txn *txn, *mine;
	dsql_error err;

	create(a, t, 0);
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(dsql_txn_stage(txn, t, unpartitioned, &err));
	OK(stage(txn, t, add_json("f", 1, NULL), &err));
	OK(dsql_txn_commit(txn, &err));
	dsql_txn_free(txn); /* a's hint: version 1 and its metadata */
	OK(dsql_txn_begin(&mine, a, NULL, &err));
	OK(dsql_txn_open_table(mine, t, DSQL_LATEST, &err));
	OK(stage(mine, t, remove_json("f"), &err));
	OK(dsql_txn_begin(&txn, b, NULL, &err));
	OK(dsql_txn_stage(txn, t, unpartitioned_append_only, &err));
	OK(dsql_txn_commit(txn, &err));
	dsql_txn_free(txn);
	ck_assert_int_eq(dsql_txn_commit(mine, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "append-only"), "%s", err.message);
	dsql_txn_free(mine);
	ck_assert_int_eq(version_of(b, t), 2);
	assert_paths(b, t, DSQL_LATEST, "f");
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

/* A multi-table commit on hints, one of them stale: the tables before the
 * stale one were written with a time from the hints, and the stale table
 * has a later commit since (another handle committed on top of a time an
 * hour ahead, from an import). The commit is made again under locks, with
 * one time, later than every table's last. */
START_TEST(stale_hint_with_a_later_time_is_redone_under_locks)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t = tname("hintts"), *c = tname("hintts_ahead");
	int64_t ahead = (int64_t)time(NULL) * 1000 + 3600 * 1000, tt = -1, tc = -2;
	dsql_txn *txn;
	dsql_error err;

	create(a, t, 0);
	commit_add(a, t, "t1");
	{
		char ci[128];

		snprintf(ci, sizeof(ci), "{\"commitInfo\":{\"timestamp\":%lld}}", (long long)ahead);
		import_one_version(a, c, "{\"protocol\":{\"minReaderVersion\":1,"
		                         "\"minWriterVersion\":2}}", ci);
	}
	commit_add(a, c, "c1");     /* a's hints: both tables, c at ahead + 1 */
	commit_add(b, c, "c2");     /* c moves on, at ahead + 2 */
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t, add_json("t2", 1, NULL), &err));
	OK(stage(txn, c, add_json("c3", 1, NULL), &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	OK(dsql_history(b, t, last_time_cb, &tt, &err));
	OK(dsql_history(b, c, last_time_cb, &tc, &err));
	ck_assert_int_eq(tt, tc);
	ck_assert_int_eq(tc, ahead + 3);
	assert_paths(b, c, DSQL_LATEST, "a,c1,c2,c3");
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

/* Another process drops the partitioning while this handle's commit, under
 * locks (the handle saw other writers), waits for the table: the add must
 * be checked against the metaData the winner committed, not the one the
 * handle's hint holds. At READ COMMITTED the statement that waited for the
 * lock sees the winner's row, but a sub-query of it still reads the
 * snapshot from before the wait, which misses the winner's metaData.
 * (Without fault injection compiled in the winner does not pause; the
 * outcome must be the same.) */
START_TEST(waiting_commit_sees_a_metadata_change)
{
	dsql_catalog *a = open_cat(), *b = open_cat();
	const char *t = tname("hintwm");
	dsql_txn *txn;
	dsql_error err;
	pid_t pid;

	create(a, t, 1); /* partitioned by p */
	ck_assert_int_eq(commit_add_in(a, t, "p=1/a", "1"), 1);
	ck_assert_int_eq(commit_add_in(b, t, "p=1/b", "1"), 2);
	ck_assert_int_eq(commit_add_in(a, t, "p=1/c", "1"), 3); /* a saw another writer */
	pid = start_paused_winner(t, strdup(unpartitioned));
	OK(dsql_txn_begin(&txn, a, NULL, &err));
	OK(stage(txn, t, add_json("p=2/d", 1, "2"), &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "not partitioned by"), "%s", err.message);
	dsql_txn_free(txn);
	end_winner(pid);
	ck_assert_int_eq(version_of(b, t), 4);
	assert_paths(b, t, DSQL_LATEST, "p=1/a,p=1/b,p=1/c");
	dsql_catalog_free(a);
	dsql_catalog_free(b);
}
END_TEST

void hint_cases(Suite *s)
{
	TCase *tc = tcase_create("hints");

	tcase_add_test(tc, stale_hint_append_lands_on_the_latest_version);
	tcase_add_test(tc, stale_blind_append_takes_the_next_version);
	tcase_add_test(tc, remove_reads_the_latest_version_not_the_hint);
	tcase_add_test(tc, conflict_behind_a_hint_is_reported);
	tcase_add_test(tc, multi_table_commit_with_one_stale_hint);
	tcase_add_test(tc, adds_that_replace_files_on_the_hint);
	tcase_add_test(tc, append_after_drop_and_create_finds_the_new_table);
	tcase_add_test(tc, partition_check_follows_a_metadata_change_elsewhere);
	tcase_add_test(tc, stale_hint_does_not_keep_changed_metadata);
	tcase_add_test(tc, stale_hint_obeys_the_landing_rules);
	tcase_add_test(tc, stale_hint_with_a_later_time_is_redone_under_locks);
	tcase_add_test(tc, waiting_commit_sees_a_metadata_change);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
}
