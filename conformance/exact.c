/*
 * Byte-exact keys on every database: table names and paths that differ only
 * by case, by accent form (NFC "\xc3\xa9" against NFD "e\xcc\x81") or by a
 * trailing space are different names and different files, as they are in
 * Delta and on a file system; statistics of a megabyte round-trip; and a
 * path longer than the driver's limit is refused at staging with one
 * message, the same on every driver (docs/RELIABILITY.md).
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <deltasql/driver.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Names that a case-, accent- or pad-blind collation takes for one. */
static const char *const twins[][2] = {
	{"Sem", "sem"},
	{"caf\xc3\xa9", "cafe\xcc\x81"},
	{"b", "b "},
};
#define N_TWINS (sizeof(twins) / sizeof(twins[0]))

START_TEST(names_differ_by_case_accent_and_trailing_space)
{
	dsql_catalog *cat = open_cat();
	char names[N_TWINS][2][160];
	dsql_error err;

	for (size_t i = 0; i < N_TWINS; i++)
		for (int j = 0; j < 2; j++) {
			snprintf(names[i][j], sizeof(names[i][j]), "%s_%d_%zu_%s", scn_tag,
			         (int)getpid(), i, twins[i][j]);
			create(cat, names[i][j], 0);
		}
	/* A commit to one twin leaves the other alone. */
	for (size_t i = 0; i < N_TWINS; i++) {
		ck_assert_int_eq(commit_add(cat, names[i][0], "only.parquet"), 1);
		ck_assert_int_eq(version_of(cat, names[i][1]), 0);
		assert_paths(cat, names[i][1], 0, "");
		OK(dsql_table_drop(cat, names[i][0], &err));
		ck_assert_int_eq(version_of(cat, names[i][1]), 0);
		OK(dsql_table_drop(cat, names[i][1], &err));
	}
	dsql_catalog_free(cat);
}
END_TEST

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The live paths at a version, sorted, joined by '|' (malloc'd). */
static char *sorted_paths(dsql_catalog *cat, const char *table, int64_t version)
{
	char *joined = paths_at(cat, table, version), *parts[16], *out;
	size_t n = 0, len = 0, total = strlen(joined);

	for (char *p = strtok(joined, ","); p && n < 16; p = strtok(NULL, ","))
		parts[n++] = p;
	qsort(parts, n, sizeof(parts[0]), by_string);
	out = calloc(1, total + 1);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(out + len, "%s%s", i ? "|" : "", parts[i]);
	free(joined);
	return out;
}

START_TEST(paths_differ_by_case_accent_and_trailing_space)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("exact");
	char path[64], *got;
	dsql_error err;
	dsql_txn *txn;

	create(cat, t, 0);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	for (size_t i = 0; i < N_TWINS; i++)
		for (int j = 0; j < 2; j++) {
			snprintf(path, sizeof(path), "%s.parquet", twins[i][j]);
			OK(stage(txn, t, add_json(path, 10, NULL), &err));
		}
	OK(dsql_txn_commit(txn, &err));
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, t), 1);
	/* Removing one twin leaves the other live. */
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	for (size_t i = 0; i < N_TWINS; i++) {
		snprintf(path, sizeof(path), "%s.parquet", twins[i][1]);
		OK(stage(txn, t, remove_json(path), &err));
	}
	OK(dsql_txn_commit(txn, &err));
	dsql_txn_free(txn);
	got = sorted_paths(cat, t, 2);
	ck_assert_str_eq(got, "Sem.parquet|b.parquet|caf\xc3\xa9.parquet");
	free(got);
	got = sorted_paths(cat, t, 1);
	ck_assert_str_eq(got, "Sem.parquet|b .parquet|b.parquet|cafe\xcc\x81.parquet|"
	                      "caf\xc3\xa9.parquet|sem.parquet");
	free(got);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(statistics_of_a_megabyte_round_trip)
{
	enum { BIG = 1 << 20 };
	dsql_catalog *cat = open_cat();
	const char *t = tname("stats");
	char *filler = malloc(BIG + 1), *json;
	dsql_snapshot *s;
	dsql_error err;
	dsql_txn *txn;
	json_t *f;
	const char *stats;

	for (size_t i = 0; i < BIG; i++)
		filler[i] = (char)('a' + (i * 7919 % 26));
	filler[BIG] = '\0';
	ck_assert(asprintf(&json,
	                   "{\"add\":{\"path\":\"wide.parquet\",\"partitionValues\":{},\"size\":1,"
	                   "\"modificationTime\":1700000000000,\"dataChange\":true,"
	                   "\"stats\":\"{\\\"numRecords\\\":1,\\\"minValues\\\":{\\\"c\\\":\\\"%s\\\"}}\"}}",
	                   filler) > 0);
	create(cat, t, 0);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(stage(txn, t, json, &err));
	OK(dsql_txn_commit(txn, &err));
	dsql_txn_free(txn);
	OK(dsql_snapshot_open(&s, cat, t, 1, &err));
	ck_assert_uint_eq(dsql_snapshot_file_count(s), 1);
	f = json_loads(dsql_snapshot_file_json(s, 0), 0, NULL);
	ck_assert_ptr_nonnull(f);
	stats = json_string_value(json_object_get(f, "stats"));
	ck_assert_ptr_nonnull(stats);
	ck_assert_uint_gt(strlen(stats), BIG);
	ck_assert(strstr(stats, filler) != NULL);
	json_decref(f);
	dsql_snapshot_free(s);
	free(filler);
	dsql_catalog_free(cat);
}
END_TEST

/* The driver's path limit: its dialect's (ABI 4), else the core's default. */
static size_t path_limit(void)
{
	const dsql_driver *d = dsql_driver_find(scn_uri);
	dsql_driver_conn *c = NULL;
	dsql_error err;
	size_t limit = 2048;

	ck_assert_ptr_nonnull(d);
	if (d->abi_version >= 4 && d->dialect && d->connect(&c, scn_uri, &err) == DSQL_OK) {
		const dsql_dialect *dl = d->dialect(c);

		if (dl && dl->max_path_bytes)
			limit = dl->max_path_bytes;
		d->disconnect(c);
	}
	return limit;
}

/* A path that compresses badly (a database may compress a key). */
static char *path_of(size_t len)
{
	char *p = malloc(len + 1);

	for (size_t i = 0; i < len; i++)
		p[i] = (char)('a' + (i * 2654435761u >> 7) % 26);
	memcpy(p + len - 8, ".parquet", 8);
	p[len] = '\0';
	return p;
}

START_TEST(path_limit_is_enforced_at_staging)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("limit");
	size_t limit = path_limit();
	char *fits = path_of(limit), *over = path_of(limit + 1), *got;
	dsql_error err;
	dsql_txn *txn;

	create(cat, t, 0);
	ck_assert_int_eq(commit_add(cat, t, fits), 1);
	got = paths_at(cat, t, 1);
	ck_assert_str_eq(got, fits);
	free(got);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	ck_assert_int_eq(stage(txn, t, add_json(over, 1, NULL), &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "longer than the") && strstr(err.message, "limit of"),
	              "%s", err.message);
	dsql_txn_free(txn);
	/* A remove of such a path is refused the same way. */
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	ck_assert_int_eq(stage(txn, t, remove_json(over), &err), DSQL_EINVALID);
	ck_assert(strstr(err.message, "longer than the"));
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, t), 1);
	free(fits);
	free(over);
	dsql_catalog_free(cat);
}
END_TEST

void exact_cases(Suite *s)
{
	TCase *tc = tcase_create("byte-exact");

	tcase_add_test(tc, names_differ_by_case_accent_and_trailing_space);
	tcase_add_test(tc, paths_differ_by_case_accent_and_trailing_space);
	tcase_add_test(tc, statistics_of_a_megabyte_round_trip);
	tcase_add_test(tc, path_limit_is_enforced_at_staging);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
}
