/*
 * The conflict rules, each from both sides: two transactions read the same
 * version of a table; the winner commits first; the loser either conflicts
 * (by the named rule, at the named winning version, with nothing written)
 * or is rebased onto the next version.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*stage_fn)(dsql_txn *txn, const char *t);

static void ok_stage(dsql_txn *txn, const char *t, char *json)
{
	dsql_error err;

	ck_assert_msg(stage(txn, t, json, &err) == DSQL_OK, "stage: %s", err.message);
}

static void ok_read(dsql_txn *txn, const char *t, const char *read)
{
	dsql_error err;

	ck_assert_msg(dsql_txn_read(txn, t, read, &err) == DSQL_OK, "read: %s", err.message);
}

/* --- what the two sides do --- */

static void blind_append_a(dsql_txn *x, const char *t)
{
	ok_stage(x, t, add_json("p=a/new", 1, "a"));
}

static void blind_append_a2(dsql_txn *x, const char *t)
{
	ok_stage(x, t, add_json("p=a/other", 1, "a"));
}

static void read_a_append_a(dsql_txn *x, const char *t)
{
	ok_read(x, t, "{\"predicate\": {\"p\": \"a\"}}");
	ok_stage(x, t, add_json("p=a/rmw", 1, "a"));
}

static void read_b_append_b(dsql_txn *x, const char *t)
{
	ok_read(x, t, "{\"predicate\": {\"p\": [\"b\", \"c\"]}}");
	ok_stage(x, t, add_json("p=b/rmw", 1, "b"));
}

static void read_whole_append_b(dsql_txn *x, const char *t)
{
	ok_read(x, t, "{\"whole_table\": true}");
	ok_stage(x, t, add_json("p=b/whole", 1, "b"));
}

static void read_file_a1_append(dsql_txn *x, const char *t)
{
	ok_read(x, t, "{\"files\": [\"p=a/1\"]}");
	ok_stage(x, t, add_json("p=b/f", 1, "b"));
}

static void remove_a1(dsql_txn *x, const char *t)
{
	ok_stage(x, t, remove_json("p=a/1"));
}

static void remove_b1(dsql_txn *x, const char *t)
{
	ok_stage(x, t, remove_json("p=b/1"));
}

static void compact_a(dsql_txn *x, const char *t)
{
	ok_read(x, t, "{\"predicate\": {\"p\": \"a\"}}");
	ok_stage(x, t, strdup("{\"remove\":{\"path\":\"p=a/1\",\"dataChange\":false}}"));
	ok_stage(x, t, strdup("{\"add\":{\"path\":\"p=a/compacted\",\"partitionValues\":{\"p\":\"a\"},"
	                      "\"size\":1,\"modificationTime\":1,\"dataChange\":false}}"));
}

static char *metadata_json(const char *extra_field, const char *config)
{
	char *s;

	ck_assert(asprintf(&s,
	                   "{\"metaData\":{\"id\":\"m\",\"format\":{\"provider\":\"parquet\","
	                   "\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
	                   "\\\"fields\\\":[{\\\"name\\\":\\\"x\\\",\\\"type\\\":\\\"long\\\","
	                   "\\\"nullable\\\":true,\\\"metadata\\\":{}},{\\\"name\\\":\\\"p\\\","
	                   "\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}%s]}\","
	                   "\"partitionColumns\":[\"p\"],\"configuration\":{%s}}}",
	                   extra_field, config) > 0);
	return s;
}

static void change_schema(dsql_txn *x, const char *t)
{
	ok_stage(x, t, metadata_json(",{\\\"name\\\":\\\"y\\\",\\\"type\\\":\\\"long\\\","
	                             "\\\"nullable\\\":true,\\\"metadata\\\":{}}",
	                             ""));
}

static void change_config_only(dsql_txn *x, const char *t)
{
	ok_stage(x, t, metadata_json("", "\"owner\":\"team-a\""));
}

static void make_append_only(dsql_txn *x, const char *t)
{
	ok_stage(x, t, metadata_json("", "\"delta.appendOnly\":\"true\""));
}

/* Partitioned by p and q (a new string column): every file that stays
 * live needs a value for q. */
static char *metadata_pq(void)
{
	return strdup("{\"metaData\":{\"id\":\"m\",\"format\":{\"provider\":\"parquet\","
	              "\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
	              "\\\"fields\\\":[{\\\"name\\\":\\\"p\\\",\\\"type\\\":\\\"string\\\","
	              "\\\"nullable\\\":true,\\\"metadata\\\":{}},{\\\"name\\\":\\\"q\\\","
	              "\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
	              "\"partitionColumns\":[\"p\",\"q\"],\"configuration\":{}}}");
}

static char *add_pq(const char *path, const char *p, const char *q)
{
	char *s;

	ck_assert(asprintf(&s,
	                   "{\"add\":{\"path\":\"%s\",\"partitionValues\":{\"p\":\"%s\","
	                   "\"q\":\"%s\"},\"size\":1,\"modificationTime\":1,"
	                   "\"dataChange\":true}}", path, p, q) > 0);
	return s;
}

/* Repartitions by (p, q): rewrites both files of version 1. */
static void repartition(dsql_txn *x, const char *t)
{
	ok_stage(x, t, metadata_pq());
	ok_stage(x, t, remove_json("p=a/1"));
	ok_stage(x, t, remove_json("p=b/1"));
	ok_stage(x, t, add_pq("p=a/q=1/1", "a", "1"));
	ok_stage(x, t, add_pq("p=b/q=1/1", "b", "1"));
}

static void upgrade_protocol(dsql_txn *x, const char *t)
{
	ok_stage(x, t, strdup("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":3}}"));
}

static void app_txn_etl(dsql_txn *x, const char *t)
{
	ok_stage(x, t, strdup("{\"txn\":{\"appId\":\"etl\",\"version\":5}}"));
}

static void app_txn_other(dsql_txn *x, const char *t)
{
	ok_stage(x, t, strdup("{\"txn\":{\"appId\":\"other\",\"version\":1}}"));
}

static void read_app_etl_append(dsql_txn *x, const char *t)
{
	ok_read(x, t, "{\"app_ids\": [\"etl\"]}");
	ok_stage(x, t, add_json("p=a/idem", 1, "a"));
}

static void domain_x(dsql_txn *x, const char *t)
{
	ok_stage(x, t, strdup("{\"domainMetadata\":{\"domain\":\"x\",\"configuration\":\"{}\","
	                      "\"removed\":false}}"));
}

static void domain_y(dsql_txn *x, const char *t)
{
	ok_stage(x, t, strdup("{\"domainMetadata\":{\"domain\":\"y\",\"configuration\":\"{}\","
	                      "\"removed\":false}}"));
}

/* --- the race --- */

/* Table partitioned by p with files p=a/1 and p=b/1 at version 1; the
 * winner and ours both read version 1; the winner commits version 2; then
 * ours commits. Checks the outcome: rule NULL means ours is rebased to
 * version 3, otherwise it conflicts by that rule and nothing is written;
 * refused (a code) means the rules of version 2, where ours would land,
 * refuse it with a message containing why, and nothing is written. */
static void race_to(dsql_isolation iso, stage_fn winner, stage_fn ours, const char *rule,
                    int refused, const char *why)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("race");
	dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
	dsql_txn *w, *me;
	dsql_error err;
	char *before;
	int64_t v;
	int rc;

	create(cat, t, 1);
	OK(dsql_txn_begin(&w, cat, NULL, &err));
	ok_stage(w, t, add_json("p=a/1", 1, "a"));
	ok_stage(w, t, add_json("p=b/1", 1, "b"));
	ck_assert_msg(dsql_txn_commit(w, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(w);

	o.isolation = iso;
	OK(dsql_txn_begin(&me, cat, &o, &err));
	OK(dsql_txn_open_table(me, t, DSQL_LATEST, &err));
	OK(dsql_txn_begin(&w, cat, NULL, &err));
	OK(dsql_txn_open_table(w, t, DSQL_LATEST, &err));
	winner(w, t);
	ck_assert_msg(dsql_txn_commit(w, &err) == DSQL_OK, "winner: %s", err.message);
	dsql_txn_free(w);
	before = paths_at(cat, t, DSQL_LATEST);

	ours(me, t);
	rc = dsql_txn_commit(me, &err);
	if (refused) {
		ck_assert_msg(rc == refused, "expected refusal %d under %s, got %d (%s)", refused,
		              dsql_isolation_name(iso), rc, rc ? err.message : "committed");
		ck_assert_msg(strstr(err.message, why), "%s", err.message);
		ck_assert_int_eq(version_of(cat, t), 2);
		assert_paths(cat, t, DSQL_LATEST, before);
	} else if (!rule) {
		ck_assert_msg(rc == DSQL_OK, "expected a rebase under %s, got %d: %s",
		              dsql_isolation_name(iso), rc, err.message);
		OK(dsql_txn_committed_version(me, t, &v));
		ck_assert_int_eq(v, 3);
	} else {
		ck_assert_msg(rc == DSQL_ECONFLICT, "expected %s under %s, got %d (%s)", rule,
		              dsql_isolation_name(iso), rc, rc ? err.message : "committed");
		ck_assert_str_eq(err.conflict.rule, rule);
		ck_assert_str_eq(err.conflict.table, t);
		ck_assert_int_eq(err.conflict.winning_version, 2);
		ck_assert(strstr(err.message, rule));
		ck_assert_int_eq(version_of(cat, t), 2);
		assert_paths(cat, t, DSQL_LATEST, before);
	}
	free(before);
	dsql_txn_free(me);
	dsql_catalog_free(cat);
}

static void race(dsql_isolation iso, stage_fn winner, stage_fn ours, const char *rule)
{
	race_to(iso, winner, ours, rule, 0, NULL);
}

static void race_refused(dsql_isolation iso, stage_fn winner, stage_fn ours, int code,
                         const char *why)
{
	race_to(iso, winner, ours, NULL, code, why);
}

#define S DSQL_ISOLATION_SERIALIZABLE
#define WS DSQL_ISOLATION_WRITE_SERIALIZABLE
#define SI DSQL_ISOLATION_SNAPSHOT

START_TEST(append_vs_read_by_isolation)
{
	/* The winner read and appended (not a blind append). */
	race(S, read_a_append_a, read_a_append_a, "concurrent_append");
	race(WS, read_a_append_a, read_a_append_a, "concurrent_append");
	race(SI, read_a_append_a, read_a_append_a, NULL);
	/* The winner blind-appended into what we read. */
	race(S, blind_append_a, read_a_append_a, "concurrent_append");
	race(WS, blind_append_a, read_a_append_a, NULL);
	race(SI, blind_append_a, read_a_append_a, NULL);
	/* The winner's files are outside our predicate (IN list). */
	race(S, read_a_append_a, read_b_append_b, NULL);
	/* Whole-table and file-list reads. */
	race(S, read_a_append_a, read_whole_append_b, "concurrent_append");
	race(S, read_a_append_a, read_file_a1_append, NULL);
}
END_TEST

START_TEST(blind_appends_always_rebase)
{
	race(S, blind_append_a, blind_append_a2, NULL);
	race(WS, read_a_append_a, blind_append_a2, NULL);
	race(SI, blind_append_a, blind_append_a2, NULL);
}
END_TEST

START_TEST(delete_vs_read)
{
	race(S, remove_a1, read_a_append_a, "concurrent_delete_read");
	race(WS, remove_a1, read_a_append_a, "concurrent_delete_read");
	race(SI, remove_a1, read_a_append_a, "concurrent_delete_read");
	race(WS, remove_a1, read_file_a1_append, "concurrent_delete_read");
	race(WS, remove_b1, read_whole_append_b, "concurrent_delete_read");
	race(WS, remove_b1, read_a_append_a, NULL);
	race(WS, remove_a1, blind_append_a2, NULL);
}
END_TEST

START_TEST(delete_vs_delete)
{
	race(S, remove_a1, remove_a1, "concurrent_delete_delete");
	race(SI, remove_a1, remove_a1, "concurrent_delete_delete");
	race(WS, remove_b1, remove_a1, NULL);
}
END_TEST

START_TEST(compaction_is_checked_as_snapshot)
{
	/* Under serializable a read-and-append winner conflicts with a reader of
	 * partition a, but not with a dataChange=false rewrite of it. */
	race(S, read_a_append_a, compact_a, NULL);
	/* A compaction still conflicts when its input file was deleted. */
	race(S, remove_a1, compact_a, "concurrent_delete_delete");
}
END_TEST

START_TEST(metadata_rules)
{
	race(WS, change_schema, change_config_only, "metadata_changed");
	race(WS, change_schema, blind_append_a, "metadata_changed");
	race(WS, change_config_only, blind_append_a, NULL);
	race(WS, change_schema, app_txn_etl, NULL);
}
END_TEST

/* The table's rules hold for a rebased commit as for a fresh one: they are
 * those of the version the commit lands on, not of the one it read. */
START_TEST(rules_of_the_landing_version)
{
	/* A winner made the table append-only: a remove read before is
	 * refused; appends and compactions (dataChange=false) still rebase. */
	race_refused(WS, make_append_only, remove_a1, DSQL_EINVALID, "append-only");
	race_refused(SI, make_append_only, remove_a1, DSQL_EINVALID, "append-only");
	race(WS, make_append_only, blind_append_a, NULL);
	race(SI, make_append_only, compact_a, NULL);
	/* A repartitioning that read version 1 would leave the winner's blind
	 * append without a value for the new column. */
	race_refused(WS, blind_append_a, repartition, DSQL_EINVALID, "partition column 'q'");
	race(WS, remove_b1, read_a_append_a, NULL);
}
END_TEST

START_TEST(protocol_rules)
{
	race(WS, upgrade_protocol, upgrade_protocol, "protocol_changed");
	race(WS, upgrade_protocol, read_a_append_a, NULL);
}
END_TEST

START_TEST(app_txn_and_domain_rules)
{
	race(WS, app_txn_etl, app_txn_etl, "concurrent_transaction");
	race(SI, app_txn_etl, app_txn_etl, "concurrent_transaction");
	race(WS, app_txn_etl, app_txn_other, NULL);
	race(SI, app_txn_etl, read_app_etl_append, "concurrent_transaction");
	race(WS, app_txn_other, read_app_etl_append, NULL);
	race(WS, domain_x, domain_x, "concurrent_domain_metadata");
	race(WS, domain_x, domain_y, NULL);
}
END_TEST

START_TEST(one_conflicting_table_aborts_all)
{
	dsql_catalog *cat = open_cat();
	const char *x = tname("mx"), *y = tname("my");
	dsql_txn *w, *me;
	dsql_error err;

	create(cat, x, 0);
	create(cat, y, 0);
	commit_add(cat, x, "f");
	OK(dsql_txn_begin(&me, cat, NULL, &err));
	OK(dsql_txn_open_table(me, x, DSQL_LATEST, &err));
	OK(dsql_txn_open_table(me, y, DSQL_LATEST, &err));
	OK(dsql_txn_begin(&w, cat, NULL, &err));
	OK(stage(w, x, remove_json("f"), &err));
	ck_assert_msg(dsql_txn_commit(w, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(w);
	OK(stage(me, y, add_json("fine", 1, NULL), &err));   /* would rebase */
	OK(stage(me, x, remove_json("f"), &err));            /* conflicts */
	ck_assert_int_eq(dsql_txn_commit(me, &err), DSQL_ECONFLICT);
	ck_assert_str_eq(err.conflict.table, x);
	ck_assert_str_eq(err.conflict.rule, "concurrent_delete_delete");
	ck_assert_str_eq(err.conflict.detail, "f");
	dsql_txn_free(me);
	ck_assert_int_eq(version_of(cat, y), 0);
	assert_paths(cat, y, DSQL_LATEST, "");
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(read_predicate_must_name_partition_columns)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("pred");
	dsql_txn *txn;
	dsql_error err;

	create(cat, t, 1);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	ck_assert_int_eq(dsql_txn_read(txn, t, "{\"predicate\": {\"x\": \"1\"}}", &err), DSQL_OK);
	OK(stage(txn, t, add_json("p=a/z", 1, "a"), &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID);
	ck_assert(strstr(err.message, "not a partition column"));
	dsql_txn_free(txn);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	ck_assert_int_eq(dsql_txn_read(txn, t, "{\"predicate\": {\"p\": 1}}", &err), DSQL_EINVALID);
	ck_assert_int_eq(dsql_txn_read(txn, t, "{\"rows\": 1}", &err), DSQL_EINVALID);
	ck_assert_int_eq(dsql_txn_read_predicate(txn, t, "[", &err), DSQL_EINVALID);
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, t), 0);
	dsql_catalog_free(cat);
}
END_TEST

/* The retry helper re-runs the function on a fresh snapshot after a
 * conflict: here a read-modify-write of a counter file, with a competing
 * writer injected before the first attempt commits. */
typedef struct counter_job {
	const char *table;
	int calls;
} counter_job;

static int counter_value(dsql_catalog *cat, const char *table, int64_t *version)
{
	dsql_snapshot *s;
	dsql_error err;
	int value = -1;

	OK(dsql_snapshot_open(&s, cat, table, DSQL_LATEST, &err));
	if (dsql_snapshot_file_count(s) == 1)
		sscanf(strstr(dsql_snapshot_file_json(s, 0), "counter-") + 8, "%d", &value);
	if (version)
		*version = dsql_snapshot_version(s);
	dsql_snapshot_free(s);
	return value;
}

static void bump(dsql_txn *txn, const char *table, int from, int64_t version)
{
	char path[64], *add;
	dsql_error err;

	OK(dsql_txn_open_table(txn, table, version, &err));
	snprintf(path, sizeof(path), "counter-%d", from);
	ok_stage(txn, table, remove_json(path));
	snprintf(path, sizeof(path), "counter-%d", from + 1);
	add = add_json(path, 1, NULL);
	ok_stage(txn, table, add);
}

static int increment(dsql_txn *txn, void *payload)
{
	counter_job *job = payload;
	dsql_catalog *cat = open_cat();
	int64_t v;
	int value = counter_value(cat, job->table, &v);

	bump(txn, job->table, value, v);
	if (job->calls++ == 0) {
		/* Someone else increments first: our first attempt must conflict. */
		dsql_txn *other;
		dsql_error err;

		OK(dsql_txn_begin(&other, cat, NULL, &err));
		bump(other, job->table, value, v);
		ck_assert_msg(dsql_txn_commit(other, &err) == DSQL_OK, "%s", err.message);
		dsql_txn_free(other);
	}
	dsql_catalog_free(cat);
	return DSQL_OK;
}

START_TEST(retry_helper_reruns_on_conflict)
{
	dsql_catalog *cat = open_cat();
	counter_job job = {tname("counter"), 0};
	dsql_metrics m;
	dsql_error err;

	create(cat, job.table, 0);
	commit_add(cat, job.table, "counter-0");
	dsql_catalog_metrics_reset(cat);
	ck_assert_msg(dsql_txn_run(cat, NULL, increment, &job, &err) == DSQL_OK, "%s",
	              err.message);
	ck_assert_int_eq(job.calls, 2);
	ck_assert_int_eq(counter_value(cat, job.table, NULL), 2); /* no update lost */
	dsql_catalog_metrics(cat, &m, sizeof(m));
	ck_assert_uint_eq(m.commits, 1);
	ck_assert_uint_eq(m.conflicts, 1);
	ck_assert_uint_eq(m.conflicts_by_rule[DSQL_RULE_CONCURRENT_DELETE_DELETE], 1);
	ck_assert_uint_eq(m.failures, 1);
	ck_assert_uint_eq(m.latency_count, 2);
	dsql_catalog_free(cat);
}
END_TEST

void conflict_cases(Suite *s)
{
	TCase *tc = tcase_create("conflicts");

	tcase_add_test(tc, append_vs_read_by_isolation);
	tcase_add_test(tc, blind_appends_always_rebase);
	tcase_add_test(tc, delete_vs_read);
	tcase_add_test(tc, delete_vs_delete);
	tcase_add_test(tc, compaction_is_checked_as_snapshot);
	tcase_add_test(tc, metadata_rules);
	tcase_add_test(tc, protocol_rules);
	tcase_add_test(tc, rules_of_the_landing_version);
	tcase_add_test(tc, app_txn_and_domain_rules);
	tcase_add_test(tc, one_conflicting_table_aborts_all);
	tcase_add_test(tc, read_predicate_must_name_partition_columns);
	tcase_add_test(tc, retry_helper_reruns_on_conflict);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
}
