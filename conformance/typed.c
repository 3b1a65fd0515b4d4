/*
 * Typed file actions (dsql_txn_add_file, dsql_txn_remove_file): files
 * staged as fields must land exactly as the same files staged as Delta
 * lines, be judged by the same rules at commit, and leave nothing behind
 * when they are refused.
 */
#define _GNU_SOURCE /* asprintf */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_FILES 24

static const dsql_deletion_vector dv = {"u", "ab^-aqEH.-t@S}K{vb[*k^", 4, 40, 6};
static const char dv_json[] = ",\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":"
                              "\"ab^-aqEH.-t@S}K{vb[*k^\",\"offset\":4,\"sizeInBytes\":40,"
                              "\"cardinality\":6}";

/* File i of the scenario, in partition p = a, b or null, as fields. */
static void file_fields(dsql_file_action *f, dsql_key_value *pv, char *path, size_t cap,
                        char *stats, size_t stats_cap, int i)
{
	dsql_file_action init = DSQL_FILE_ACTION_INIT;

	*f = init;
	snprintf(path, cap, "p=%s/part-%02d \"q\"\\.parquet", i % 3 == 2 ? "__null" : i % 3 ? "b" : "a",
	         i);
	snprintf(stats, stats_cap, "{\"numRecords\":%d,\"minValues\":{\"x\":%d}}", 10 + i, i);
	pv->key = "p";
	pv->value = i % 3 == 2 ? NULL : i % 3 ? "b" : "a";
	f->path = path;
	f->partition_values = pv;
	f->n_partition_values = 1;
	f->size = 1000 + i;
	f->timestamp_ms = 1700000000000 + i;
	f->data_change = i % 5 != 4;
	f->stats = stats;
	f->deletion_vector = i == 7 ? &dv : NULL;
}

/* A JSON string's content for s (quotes and backslashes: all these have). */
static void escape(char *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*out++ = '\\';
		*out++ = *s;
	}
	*out = '\0';
}

/* The same file as the Delta line a writer would stage. */
static char *file_line(int i, int remove)
{
	char path[64], stats[96], json_path[80], json_stats[128], *s;
	dsql_key_value pv;
	dsql_file_action f;

	file_fields(&f, &pv, path, sizeof(path), stats, sizeof(stats), i);
	escape(json_path, path);
	escape(json_stats, stats);
	if (remove)
		ck_assert(asprintf(&s,
		                   "{\"remove\":{\"path\":\"%s\",\"deletionTimestamp\":1800000000000,"
		                   "\"dataChange\":true%s}}",
		                   json_path,
		                   i == 7 ? dv_json : "") > 0);
	else
		ck_assert(asprintf(&s,
		                   "{\"add\":{\"path\":\"%s\",\"partitionValues\":{\"p\":%s%s%s},"
		                   "\"size\":%d,\"modificationTime\":%lld,\"dataChange\":%s,"
		                   "\"stats\":\"%s\"%s}}",
		                   json_path, pv.value ? "\"" : "", pv.value ? pv.value : "null",
		                   pv.value ? "\"" : "", 1000 + i, 1700000000000LL + i,
		                   i % 5 != 4 ? "true" : "false", json_stats,
		                   i == 7 ? dv_json : "") > 0);
	return s;
}

static int add_typed(dsql_txn *txn, const char *table, int i, dsql_error *err)
{
	char path[64], stats[96];
	dsql_key_value pv;
	dsql_file_action f;

	file_fields(&f, &pv, path, sizeof(path), stats, sizeof(stats), i);
	return dsql_txn_add_file(txn, table, &f, err);
}

static int remove_typed(dsql_txn *txn, const char *table, int i, dsql_error *err)
{
	dsql_file_action f = DSQL_FILE_ACTION_INIT;
	char path[64], stats[96];
	dsql_key_value pv;

	file_fields(&f, &pv, path, sizeof(path), stats, sizeof(stats), i);
	f.timestamp_ms = 1800000000000;
	f.data_change = 1;
	f.n_partition_values = 0;
	f.size = -1;
	f.stats = NULL;
	return dsql_txn_remove_file(txn, table, &f, err);
}

static int same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Both tables' snapshots at a version hold the same files, field for
 * field. Returns how many. */
static size_t assert_same_files(dsql_catalog *cat, const char *lines, const char *typed,
                                int64_t version)
{
	dsql_snapshot *a, *b;
	dsql_file_info fa, fb;
	dsql_error err;
	size_t n;

	OK(dsql_snapshot_open(&a, cat, lines, version, &err));
	OK(dsql_snapshot_open(&b, cat, typed, version, &err));
	n = dsql_snapshot_file_count(a);
	ck_assert_uint_eq(n, dsql_snapshot_file_count(b));
	for (size_t i = 0; i < n; i++) {
		OK(dsql_snapshot_file(a, i, &fa));
		OK(dsql_snapshot_file(b, i, &fb));
		ck_assert_str_eq(fa.path, fb.path);
		ck_assert_int_eq(fa.size, fb.size);
		ck_assert_int_eq(fa.modification_time, fb.modification_time);
		ck_assert_int_eq(fa.data_change, fb.data_change);
		ck_assert_str_eq(fa.partition_values_json, fb.partition_values_json);
		ck_assert_msg(same_text(fa.stats_json, fb.stats_json), "%s: stats %s / %s", fa.path,
		              fa.stats_json, fb.stats_json);
		ck_assert_int_eq(fa.num_records, fb.num_records);
		ck_assert_int_eq(fa.has_deletion_vector, fb.has_deletion_vector);
		ck_assert_int_eq(fa.dv_cardinality, fb.dv_cardinality);
		ck_assert(same_text(fa.dv_json, fb.dv_json));
	}
	dsql_snapshot_free(a);
	dsql_snapshot_free(b);
	return n;
}

/* One transaction writes files as lines to one table and as fields to
 * another; then removes some the same two ways. */
START_TEST(typed_files_land_like_their_lines)
{
	dsql_catalog *cat = open_cat();
	const char *tl = tname("lines"), *tt = tname("typed");
	dsql_snapshot *s;
	dsql_file_info f;
	dsql_txn *txn;
	dsql_error err;
	int64_t v;

	create(cat, tl, 1);
	create(cat, tt, 1);
	enable_deletion_vectors(cat, tl); /* version 1: file 7 has a DV */
	enable_deletion_vectors(cat, tt);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	for (int i = 0; i < N_FILES; i++) {
		OK(stage(txn, tl, file_line(i, 0), &err));
		OK(add_typed(txn, tt, i, &err));
	}
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	OK(dsql_txn_committed_version(txn, tt, &v));
	ck_assert_int_eq(v, 2);
	dsql_txn_free(txn);

	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	for (int i = 5; i < 10; i++) {
		OK(stage(txn, tl, file_line(i, 1), &err));
		OK(remove_typed(txn, tt, i, &err));
	}
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);

	ck_assert_uint_eq(assert_same_files(cat, tl, tt, 2), N_FILES);
	ck_assert_uint_eq(assert_same_files(cat, tl, tt, DSQL_LATEST), N_FILES - 5);
	ck_assert_int_eq(version_of(cat, tt), 3);
	/* The escapes came through: the path is the caller's, byte for byte. */
	OK(dsql_snapshot_open(&s, cat, tt, 2, &err));
	for (size_t i = 0; i < dsql_snapshot_file_count(s); i++) {
		OK(dsql_snapshot_file(s, i, &f));
		if (strcmp(f.path, "p=__null/part-02 \"q\"\\.parquet") == 0)
			break;
		f.path = NULL;
	}
	ck_assert_msg(f.path != NULL, "file 2 is not in the snapshot under its path");
	ck_assert_str_eq(f.partition_values_json, "{\"p\":null}");
	ck_assert_int_eq(f.num_records, 12);
	dsql_snapshot_free(s);
	dsql_catalog_free(cat);
}
END_TEST

/* The commit judges typed files by the table's rules: a missing partition
 * value or a remove of a file that is not live fails the whole
 * transaction, in every table it spans. */
START_TEST(typed_files_are_judged_at_commit)
{
	dsql_catalog *cat = open_cat();
	const char *tp = tname("typedp"), *tu = tname("typedu");
	dsql_file_action f = DSQL_FILE_ACTION_INIT;
	dsql_txn *txn;
	dsql_error err;

	create(cat, tp, 1);
	create(cat, tu, 0);
	f.path = "unpartitioned.parquet";
	f.size = 1;
	f.timestamp_ms = 1;

	/* No partition value, in a table partitioned by p. */
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_add_file(txn, tu, &f, &err));
	OK(dsql_txn_add_file(txn, tp, &f, &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "lacks a value for partition column 'p'"), "%s",
	              err.message);
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, tp), 0);
	ck_assert_int_eq(version_of(cat, tu), 0);

	/* A remove of a file the table never had. */
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(add_typed(txn, tp, 0, &err));
	OK(dsql_txn_remove_file(txn, tu, &f, &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "is not a live file"), "%s", err.message);
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, tp), 0);
	ck_assert_int_eq(version_of(cat, tu), 0);

	/* The same file twice, once as a line and once typed. */
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, tu, add_json("unpartitioned.parquet", 1, NULL), &err));
	ck_assert_int_eq(dsql_txn_add_file(txn, tu, &f, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "added twice"), "%s", err.message);
	dsql_txn_free(txn);

	/* A refused field stages nothing: the rest of the transaction commits
	 * without it. */
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	f.path = "good.parquet";
	OK(dsql_txn_add_file(txn, tu, &f, &err));
	f.path = "bad.parquet";
	f.size = -2;
	ck_assert_int_eq(dsql_txn_add_file(txn, tu, &f, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "size is negative"), "%s", err.message);
	ck_assert_int_eq(dsql_txn_add_file(txn, tname("nosuch"), &f, &err), DSQL_ENOTFOUND);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	assert_paths(cat, tu, DSQL_LATEST, "good.parquet");
	ck_assert_int_eq(version_of(cat, tu), 1);
	dsql_catalog_free(cat);
}
END_TEST

/* A table partitioned by d (date) and n (integer), or with n a string. */
static const char *const schema_dn =
	"{\"type\":\"struct\",\"fields\":["
	"{\"name\":\"d\",\"type\":\"date\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"n\",\"type\":\"integer\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"x\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}";

static char *metadata_dn(const char *n_type)
{
	char *s;

	ck_assert(asprintf(&s,
	                   "{\"metaData\":{\"id\":\"dn\",\"format\":{\"provider\":\"parquet\","
	                   "\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
	                   "\\\"fields\\\":[{\\\"name\\\":\\\"d\\\",\\\"type\\\":\\\"date\\\","
	                   "\\\"nullable\\\":true,\\\"metadata\\\":{}},{\\\"name\\\":\\\"n\\\","
	                   "\\\"type\\\":\\\"%s\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
	                   "\"partitionColumns\":[\"d\",\"n\"],\"configuration\":{}}}",
	                   n_type) > 0);
	return s;
}

/* An add of path whose partitionValues object holds values (JSON
 * members, malloc'd). */
static char *add_with(const char *path, const char *values)
{
	char *s;

	ck_assert(asprintf(&s,
	                   "{\"add\":{\"path\":\"%s\",\"partitionValues\":{%s},\"size\":1,"
	                   "\"modificationTime\":1,\"dataChange\":true}}",
	                   path, values) > 0);
	return s;
}

static char *add_dn(const char *path, const char *d, const char *n)
{
	char values[128];

	snprintf(values, sizeof(values), "\"d\":\"%s\",\"n\":\"%s\"", d, n);
	return add_with(path, values);
}

/* Commits what txn staged and asserts it was refused, naming msg. */
static void refused_naming(dsql_txn *txn, const char *msg)
{
	dsql_error err;

	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, msg), "%s", err.message);
	dsql_txn_free(txn);
}

/* Asserts a commit's code rc was DSQL_EINVALID with a message naming msg. */
static void refused(int rc, const dsql_error *err, const char *msg)
{
	ck_assert_int_eq(rc, DSQL_EINVALID);
	ck_assert_msg(strstr(err->message, msg), "%s", err->message);
}

/* Commits one or two actions (JSON, freed; b may be NULL) to table t in
 * one transaction; returns the commit's code. */
static int commit_actions(dsql_catalog *cat, const char *t, char *a, char *b, dsql_error *err)
{
	dsql_txn *txn;
	int rc;

	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, err), DSQL_OK);
	ck_assert_int_eq(stage(txn, t, a, err), DSQL_OK);
	ck_assert_int_eq(b ? stage(txn, t, b, err) : DSQL_OK, DSQL_OK);
	rc = dsql_txn_commit(txn, err);
	dsql_txn_free(txn);
	return rc;
}

/* Partition values must read as their column's type, as lines and as
 * fields; a refused one fails the whole transaction. The type is the one
 * in force when the add commits, also after another handle changed it. */
START_TEST(partition_values_are_judged_by_type)
{
	dsql_catalog *cat = open_cat(), *other = open_cat();
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	const char *parts[] = {"d", "n", NULL}, *t = tname("pvtype"), *tu = tname("pvplain");
	dsql_key_value pv[] = {{"d", "2026-02-30"}, {"n", "1"}};
	dsql_file_action f = DSQL_FILE_ACTION_INIT;
	dsql_txn *txn;
	dsql_error err;

	o.schema_json = schema_dn;
	o.partition_columns = parts;
	OK(dsql_table_create(cat, t, &o, &err));
	create(cat, tu, 0);

	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, tu, add_json("fine.parquet", 1, NULL), &err));
	OK(stage(txn, t, add_dn("a", "2026-12-03", "x"), &err));
	refused_naming(txn, "partition value 'x' of column 'n' is not a valid integer");
	refused(commit_actions(cat, t, add_dn("a", "2026-12-03", "2147483648"), NULL, &err), &err,
	        "'2147483648' of column 'n' is not a valid integer");
	/* Change data files are partitioned as the table's files are. */
	refused(commit_actions(cat, t,
	                       strdup("{\"cdc\":{\"path\":\"_change_data/c\",\"partitionValues\":"
	                              "{\"d\":\"2026-12-03\",\"n\":\"1.5\"},\"size\":1,"
	                              "\"dataChange\":false}}"),
	                       NULL, &err),
	        &err, "cdc of '_change_data/c': partition value '1.5' of column 'n'");
	refused(commit_actions(cat, t,
	                       strdup("{\"cdc\":{\"path\":\"_change_data/c\",\"partitionValues\":"
	                              "{\"d\":\"2026-12-03\"},\"size\":1,\"dataChange\":false}}"),
	                       NULL, &err),
	        &err, "cdc of '_change_data/c' lacks a value for partition column 'n'");
	f.path = "b";
	f.size = 1;
	f.timestamp_ms = 1;
	f.partition_values = pv;
	f.n_partition_values = 2;
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_add_file(txn, t, &f, &err));
	refused_naming(txn, "add of 'b': partition value '2026-02-30' of column 'd' is not a "
	                    "valid date");
	ck_assert_int_eq(version_of(cat, t), 0);
	ck_assert_int_eq(version_of(cat, tu), 0);

	/* Values of the types, nulls ("" is Delta's null), and typed fields. */
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, t, add_dn("a", "2026-12-03", "-5"), &err));
	OK(stage(txn, t, add_dn("c", "", ""), &err));
	pv[0].value = "2024-02-29";
	pv[1].value = NULL;
	OK(dsql_txn_add_file(txn, t, &f, &err));
	OK(dsql_txn_commit(txn, &err));
	dsql_txn_free(txn);
	assert_paths(cat, t, DSQL_LATEST, "a,b,c");

	/* Another handle makes n a string: this handle's hint holds the
	 * integer column, and must follow. Then a long. */
	OK(commit_actions(other, t, metadata_dn("string"), NULL, &err));
	OK(commit_actions(cat, t, add_dn("e", "2026-12-03", "x"), NULL, &err));
	OK(commit_actions(other, t, metadata_dn("long"), NULL, &err));
	refused(commit_actions(cat, t, add_dn("g", "2026-12-03", "y"), NULL, &err), &err,
	        "partition value 'y' of column 'n' is not a valid long");
	/* A metaData and adds in one commit: the adds meet the new types. */
	refused(commit_actions(cat, t, metadata_dn("boolean"), add_dn("h", "2026-12-03", "1"), &err),
	        &err, "'1' of column 'n' is not a valid boolean");
	OK(commit_actions(cat, t, metadata_dn("boolean"), add_dn("h", "2026-12-03", "true"), &err));
	ck_assert_int_eq(version_of(other, t), 5);
	assert_paths(other, t, DSQL_LATEST, "a,b,c,e,h");
	dsql_catalog_free(cat);
	dsql_catalog_free(other);
}
END_TEST

/* Under column mapping a partition value is keyed by its column's
 * physical name and judged by the type of the column it names. */
START_TEST(partition_values_under_column_mapping)
{
	dsql_catalog *cat = open_cat();
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	const char *parts[] = {"n", NULL}, *props[] = {"delta.columnMapping.mode", "name", NULL};
	const char *t = tname("pvmapped");
	dsql_error err;

	o.schema_json = "{\"type\":\"struct\",\"fields\":[{\"name\":\"n\",\"type\":\"integer\","
	                "\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":1,"
	                "\"delta.columnMapping.physicalName\":\"col-1\"}}]}";
	o.partition_columns = parts;
	o.properties = props;
	OK(dsql_table_create(cat, t, &o, &err));
	refused(commit_actions(cat, t, add_with("a", "\"col-1\":\"x\""), NULL, &err), &err,
	        "'x' of column 'n' is not a valid integer");
	refused(commit_actions(cat, t, add_with("a", "\"n\":\"1\""), NULL, &err), &err,
	        "lacks a value for partition column 'n'");
	OK(commit_actions(cat, t, add_with("a", "\"col-1\":\"-7\""), NULL, &err));
	assert_paths(cat, t, DSQL_LATEST, "a");
	ck_assert_int_eq(version_of(cat, t), 1);
	dsql_catalog_free(cat);
}
END_TEST

/* Only primitive columns partition a table. */
START_TEST(complex_partition_columns_are_refused)
{
	dsql_catalog *cat = open_cat();
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	const char *parts[] = {"s", NULL}, *t = tname("pvcomplex");
	dsql_error err;

	o.schema_json = "{\"type\":\"struct\",\"fields\":[{\"name\":\"s\",\"type\":{\"type\":"
	                "\"array\",\"elementType\":\"long\",\"containsNull\":true},\"nullable\":"
	                "true,\"metadata\":{}}]}";
	o.partition_columns = parts;
	ck_assert_int_eq(dsql_table_create(cat, t, &o, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "partition column 's' is not of a primitive type"), "%s",
	              err.message);
	ck_assert_int_eq(dsql_table_version(cat, t, &(int64_t){0}, &err), DSQL_ENOTFOUND);
	dsql_catalog_free(cat);
}
END_TEST

void typed_file_cases(Suite *s)
{
	TCase *tc = tcase_create("typed files");

	tcase_add_test(tc, typed_files_land_like_their_lines);
	tcase_add_test(tc, typed_files_are_judged_at_commit);
	tcase_add_test(tc, partition_values_are_judged_by_type);
	tcase_add_test(tc, partition_values_under_column_mapping);
	tcase_add_test(tc, complex_partition_columns_are_refused);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
}
