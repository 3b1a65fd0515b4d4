/*
 * Delta Lake interoperability against the Delta project's own test tables
 * (../shared/fixtures/delta-acceptance, or $DELTASQL_FIXTURES): every case is
 * imported and checked at every version against its expectations, or must
 * be refused; every imported table is exported and re-imported, and must
 * give the same snapshot at every version.
 */
#define _GNU_SOURCE
#include <check.h>
#include <deltasql.h>
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "partition.h"
#include "testutil.h"

static char fixtures[1024];
static json_t *expectations, *cases;

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The table directory of a case: the case itself, or its delta/ folder. */
static void table_dir(const char *name, char *out, size_t cap)
{
	char probe[1200];

	snprintf(probe, sizeof(probe), "%s/%s/_delta_log", fixtures, name);
	if (is_dir(probe))
		snprintf(out, cap, "%s/%s", fixtures, name);
	else
		snprintf(out, cap, "%s/%s/delta", fixtures, name);
}

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text ? text : "null", JSON_DECODE_ANY, NULL);

	ck_assert_ptr_nonnull(j);
	return j;
}

static json_t *field_names(json_t *meta)
{
	const char *text = json_string_value(json_object_get(meta, "schemaString"));
	json_t *schema = parse(text ? text : "{}");
	json_t *names = json_array(), *f;
	size_t i;

	json_array_foreach(json_object_get(schema, "fields"), i, f)
		json_array_append(names, json_object_get(f, "name"));
	json_decref(schema);
	return names;
}

/* sum(numRecords) - sum(DV cardinality) over live files, through the typed
 * file view; -1 when a file has no numRecords. */
static json_int_t row_count(const dsql_snapshot *s, int *with_dv)
{
	json_int_t rows = 0;
	int unknown = 0;

	*with_dv = 0;
	for (size_t i = 0; i < dsql_snapshot_file_count(s); i++) {
		dsql_file_info f;

		ck_assert_int_eq(dsql_snapshot_file(s, i, &f), DSQL_OK);
		ck_assert_ptr_nonnull(f.path);
		ck_assert_ptr_nonnull(f.partition_values_json);
		if (f.has_deletion_vector) {
			(*with_dv)++;
			ck_assert_ptr_nonnull(f.dv_json);
			rows -= f.dv_cardinality;
		}
		if (f.num_records < 0)
			unknown = 1;
		else
			rows += f.num_records;
	}
	return unknown ? -1 : rows;
}

/* Every live file's partition values read as their column's type, as a
 * commit through deltasql requires (the check is proven on real writers'
 * values). Returns how many values of types other than string it read. */
static int typed_partition_values(const dsql_snapshot *s, json_t *meta, const char *name)
{
	const char *text = json_string_value(json_object_get(meta, "schemaString"));
	const char *mode = json_string_value(
	        json_object_get(json_object_get(meta, "configuration"), "delta.columnMapping.mode"));
	json_t *schema = parse(text ? text : "{}"), *col, *f;
	int n = 0;
	size_t i, j;

	for (size_t k = 0; k < dsql_snapshot_file_count(s); k++) {
		dsql_file_info file;
		json_t *values;

		ck_assert_int_eq(dsql_snapshot_file(s, k, &file), DSQL_OK);
		values = parse(file.partition_values_json);
		json_array_foreach(json_object_get(meta, "partitionColumns"), i, col) {
			json_array_foreach(json_object_get(schema, "fields"), j, f) {
				json_t *phys = json_object_get(json_object_get(f, "metadata"),
				                               "delta.columnMapping.physicalName");
				const char *type = json_string_value(json_object_get(f, "type"));
				const char *key = mode && strcmp(mode, "none") != 0 && phys
				                          ? json_string_value(phys)
				                          : json_string_value(col);
				const char *v = json_string_value(json_object_get(values, key));

				if (strcmp(json_string_value(json_object_get(f, "name")),
				           json_string_value(col)) != 0)
					continue;
				ck_assert_msg(partition_value_ok(type, v), "%s: %s: '%s' is not a %s",
				              name, file.path, v, type);
				n += v && *v && strcmp(type, "string") != 0;
			}
		}
		json_decref(values);
	}
	json_decref(schema);
	return n;
}

/* The Arrow export of the live files (deltasql/arrow.h) is the typed view's
 * bodies, in order, each a line of its own, and releases cleanly. */
static void arrow_matches_typed_view(const dsql_snapshot *s)
{
	struct ArrowSchema schema;
	struct ArrowArray array;
	dsql_error err;
	int64_t n = (int64_t)dsql_snapshot_file_count(s), i;
	const int64_t *off;
	const char *data;

	ck_assert_int_eq(dsql_snapshot_files_arrow(s, &schema, &array, &err), DSQL_OK);
	ck_assert_str_eq(schema.format, "U");
	ck_assert_str_eq(schema.name, "add");
	ck_assert_int_eq(array.length, n);
	ck_assert_int_eq(array.null_count, 0);
	ck_assert_int_eq(array.n_buffers, 3);
	ck_assert_ptr_null(array.buffers[0]);
	off = array.buffers[1];
	data = array.buffers[2];
	ck_assert_int_eq(off[0], 0);
	for (i = 0; i < n; i++) {
		const char *want = dsql_snapshot_file_json(s, (size_t)i);

		ck_assert_int_eq(off[i + 1] - off[i], (int64_t)strlen(want) + 1);
		ck_assert(memcmp(data + off[i], want, strlen(want)) == 0);
		ck_assert(memchr(data + off[i], '\n', (size_t)(off[i + 1] - off[i])) ==
		          data + off[i + 1] - 1);
	}
	array.release(&array);
	schema.release(&schema);
	ck_assert_ptr_null(array.release);
	ck_assert_ptr_null(schema.release);
}

static int check_version(dsql_catalog *cat, const char *table, const char *name,
                         int64_t version, json_t *want)
{
	int typed;
	dsql_snapshot *s;
	dsql_error err;
	json_t *meta, *names, *v;
	int with_dv;
	json_int_t rows;

	ck_assert_msg(dsql_snapshot_open(&s, cat, table, version, &err) == DSQL_OK, "%s v%lld: %s",
	              name, (long long)version, err.message);
	ck_assert_int_eq(dsql_snapshot_version(s), version);
	meta = parse(dsql_snapshot_metadata_json(s));
	names = field_names(meta);
	if ((v = json_object_get(want, "num_live_files")))
		ck_assert_msg(dsql_snapshot_file_count(s) == (size_t)json_integer_value(v),
		              "%s v%lld: %zu live files, expected %lld", name, (long long)version,
		              dsql_snapshot_file_count(s), (long long)json_integer_value(v));
	rows = row_count(s, &with_dv);
	arrow_matches_typed_view(s);
	if ((v = json_object_get(want, "live_row_count_from_stats")))
		ck_assert_msg(json_is_null(v) ? rows == -1 : rows == json_integer_value(v),
		              "%s v%lld: %lld rows, expected %s", name, (long long)version,
		              (long long)rows, json_dumps(v, JSON_ENCODE_ANY));
	if ((v = json_object_get(want, "num_live_files_with_dv")))
		ck_assert_int_eq(with_dv, json_integer_value(v));
	if ((v = json_object_get(want, "schema_fields")) && json_is_null(v))
		ck_assert_msg(!json_object_get(meta, "schemaString"), "%s: a schema appeared", name);
	else if (v)
		ck_assert_msg(json_equal(names, v), "%s v%lld: schema fields differ", name,
		              (long long)version);
	if ((v = json_object_get(want, "partitionColumns")))
		ck_assert_msg(json_equal(json_object_get(meta, "partitionColumns"), v),
		              "%s v%lld: partition columns differ", name, (long long)version);
	if ((v = json_object_get(want, "configuration")))
		ck_assert_msg(json_equal(json_object_get(meta, "configuration"), v),
		              "%s v%lld: configuration differs", name, (long long)version);
	if ((v = json_object_get(want, "metadata_id")))
		ck_assert_str_eq(dsql_snapshot_metadata_id(s), json_string_value(v));
	if ((v = json_object_get(want, "protocol"))) {
		json_t *rf = json_object_get(v, "readerFeatures");

		ck_assert_int_eq(dsql_snapshot_min_reader_version(s),
		                 json_integer_value(json_object_get(v, "minReaderVersion")));
		ck_assert_int_eq(dsql_snapshot_min_writer_version(s),
		                 json_integer_value(json_object_get(v, "minWriterVersion")));
		if (rf) {
			json_t *got = parse(dsql_snapshot_reader_features(s));

			ck_assert_msg(json_equal(got, rf), "%s: reader features differ", name);
			json_decref(got);
		}
	}
	if ((v = json_object_get(want, "partitionColumns"))) {
		ck_assert_uint_eq(dsql_snapshot_partition_column_count(s), json_array_size(v));
		for (size_t i = 0; i < json_array_size(v); i++)
			ck_assert_str_eq(dsql_snapshot_partition_column(s, i),
			                 json_string_value(json_array_get(v, i)));
	}
	if ((v = json_object_get(want, "configuration"))) {
		const char *k;
		json_t *val;

		json_object_foreach(v, k, val)
			ck_assert_str_eq(dsql_snapshot_property(s, k), json_string_value(val));
	}
	if ((v = json_object_get(want, "txns"))) {
		const char *app;
		json_t *ver;

		ck_assert_uint_eq(dsql_snapshot_app_txn_count(s), json_object_size(v));
		json_object_foreach(v, app, ver) {
			int found = 0;

			for (size_t i = 0; i < dsql_snapshot_app_txn_count(s); i++) {
				int64_t got;

				if (strcmp(dsql_snapshot_app_txn(s, i, &got), app) == 0) {
					ck_assert_int_eq(got, json_integer_value(ver));
					found = 1;
				}
			}
			ck_assert_msg(found, "%s: app txn %s missing", name, app);
		}
	}
	if ((v = json_object_get(want, "latest_inCommitTimestamp")) && json_is_integer(v))
		ck_assert_int_eq(dsql_snapshot_timestamp(s), json_integer_value(v));
	typed = typed_partition_values(s, meta, name);
	json_decref(names);
	json_decref(meta);
	dsql_snapshot_free(s);
	return typed;
}

/* DAT's own expected files: expected/vN/table_version_metadata.json. */
static void check_dat(dsql_catalog *cat, const char *table, const char *name, int64_t latest)
{
	for (int64_t v = 0; v <= latest; v++) {
		char path[1200];
		json_t *want, *w;

		snprintf(path, sizeof(path), "%s/%s/expected/v%lld/table_version_metadata.json",
		         fixtures, name, (long long)v);
		want = json_load_file(path, 0, NULL);
		if (!want)
			continue;
		w = json_pack("{s:O, s:{s:O, s:O}}", "configuration", json_object_get(want, "properties"),
		              "protocol", "minReaderVersion", json_object_get(want, "min_reader_version"),
		              "minWriterVersion", json_object_get(want, "min_writer_version"));
		ck_assert_int_eq(json_integer_value(json_object_get(want, "version")), v);
		check_version(cat, table, name, v, w);
		json_decref(w);
		json_decref(want);
	}
}

/* Tables a and b give the same snapshot at every version up to latest. */
static void assert_same_history(dsql_catalog *cat, const char *a, const char *b,
                                int64_t latest)
{
	dsql_error err;

	for (int64_t v = 0; v <= latest; v++) {
		char *x = tu_snapshot_text(cat, a, v, &err), *y = tu_snapshot_text(cat, b, v, &err);

		ck_assert_msg(x && y, "%s", err.message);
		ck_assert_msg(strcmp(x, y) == 0, "%s v%lld differs from %s", b, (long long)v, a);
		free(x);
		free(y);
	}
}

static void round_trip(dsql_catalog *cat, const char *table, int64_t latest)
{
	char dir[600], again[300];
	int64_t written;
	dsql_error err;

	snprintf(dir, sizeof(dir), "%s/export-%s", tu_tmpdir(), table);
	snprintf(again, sizeof(again), "%s_again", table);
	ck_assert_msg(dsql_delta_export(cat, table, dir, 0, &written, NULL, NULL, &err) == DSQL_OK,
	              "export %s: %s", table, err.message);
	ck_assert_int_eq(written, latest + 1);
	/* A second export finds every file there already, identical. */
	ck_assert_int_eq(dsql_delta_export(cat, table, dir, 0, &written, NULL, NULL, &err), DSQL_OK);
	ck_assert_int_eq(written, 0);
	ck_assert_msg(dsql_delta_import(cat, again, dir, NULL, NULL, &err) == DSQL_OK,
	              "re-import %s: %s", table, err.message);
	assert_same_history(cat, table, again, latest);
}

static int refused(json_t *c)
{
	json_t *latest = json_object_get(c, "replay_summary_latest");
	json_t *proto = json_object_get(latest, "protocol");

	return json_object_get(latest, "error") != NULL ||
	       json_integer_value(json_object_get(proto, "minReaderVersion")) > 3;
}

START_TEST(every_fixture_case)
{
	dsql_catalog *cat;
	dsql_error err;
	const char *name;
	json_t *c;
	int n = 0, n_refused = 0, typed = 0;

	ck_assert_int_eq(dsql_catalog_open(&cat, tu_sqlite_uri("delta"), NULL, &err), DSQL_OK);
	json_object_foreach(cases, name, c) {
		char dir[1200], table[128];
		json_t *latest = json_object_get(c, "replay_summary_latest"), *pv, *want;
		const char *ver;
		int64_t v;
		int rc;

		snprintf(table, sizeof(table), "case_%d", n++);
		table_dir(name, dir, sizeof(dir));
		rc = dsql_delta_import(cat, table, dir, NULL, NULL, &err);
		if (refused(c)) {
			ck_assert_msg(rc != DSQL_OK, "%s: imported, but must be refused", name);
			ck_assert_int_eq(dsql_table_version(cat, table, &v, &err), DSQL_ENOTFOUND);
			n_refused++;
			continue;
		}
		ck_assert_msg(rc == DSQL_OK, "%s: %s", name, err.message);
		ck_assert_int_eq(dsql_table_version(cat, table, &v, &err), DSQL_OK);
		ck_assert_int_eq(v, json_integer_value(json_object_get(latest, "version")));
		typed += check_version(cat, table, name, v, latest);
		pv = json_object_get(c, "replay_per_version");
		json_object_foreach(pv, ver, want)
			check_version(cat, table, name, strtoll(ver, NULL, 10), want);
		if (strncmp(name, "dat/", 4) == 0)
			check_dat(cat, table, name, v);
		round_trip(cat, table, v);
	}
	ck_assert_int_eq(n, 24);
	ck_assert_int_eq(n_refused, 4);
	/* Dates and integers among them: the check read more than strings. */
	ck_assert_int_gt(typed, 10);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(export_refuses_to_overwrite_and_expired_versions)
{
	dsql_expire_options o = DSQL_EXPIRE_OPTIONS_INIT;
	char src[1200], dir[600], file[700];
	dsql_catalog *cat;
	dsql_error err;
	int64_t written;
	FILE *f;

	ck_assert_int_eq(dsql_catalog_open(&cat, tu_sqlite_uri("export"), NULL, &err), DSQL_OK);
	table_dir("delta-golden/checkpoint", src, sizeof(src));
	ck_assert_int_eq(dsql_delta_import(cat, "cp", src, NULL, NULL, &err), DSQL_OK);
	/* A different file in the way is never overwritten. */
	snprintf(dir, sizeof(dir), "%s/clash", tu_tmpdir());
	snprintf(file, sizeof(file), "%s/_delta_log", dir);
	mkdir(dir, 0755);
	mkdir(file, 0755);
	snprintf(file, sizeof(file), "%s/_delta_log/%020d.json", dir, 3);
	f = fopen(file, "w");
	fputs("{\"commitInfo\":{}}\n", f);
	fclose(f);
	ck_assert_int_eq(dsql_delta_export(cat, "cp", dir, 0, &written, NULL, NULL, &err),
	                 DSQL_EEXISTS);
	ck_assert(strstr(err.message, "not overwritten"));
	/* After expiry, only what remains can be exported. */
	o.keep_versions = 5;
	ck_assert_int_eq(dsql_table_expire(cat, "cp", &o, NULL, &err), DSQL_OK);
	snprintf(dir, sizeof(dir), "%s/expired", tu_tmpdir());
	ck_assert_int_eq(dsql_delta_export(cat, "cp", dir, 0, &written, NULL, NULL, &err),
	                 DSQL_ENOTFOUND);
	ck_assert_msg(strstr(err.message, "expired") && strstr(err.message, "10"), "%s",
	              err.message);
	ck_assert_int_eq(dsql_delta_export(cat, "cp", dir, 10, &written, NULL, NULL, &err), DSQL_OK);
	ck_assert_int_eq(written, 5);
	/* Import of something that is not a table. */
	ck_assert_int_eq(dsql_delta_import(cat, "none", tu_tmpdir(), NULL, NULL, &err),
	                 DSQL_ENOTFOUND);
	ck_assert_int_eq(dsql_delta_import(cat, "cp", src, NULL, NULL, &err), DSQL_EEXISTS);
	dsql_catalog_free(cat);
}
END_TEST

/* A file that cannot be read or written is a file error (DSQL_EIO) naming
 * it, not a database error, and leaves nothing behind. The cases work as
 * root too: a directory where a commit file should be, and a regular file
 * where a directory should be. */
START_TEST(unreadable_and_unwritable_files_are_file_errors)
{
	char src[1200], dir[600], file[700];
	dsql_catalog *cat;
	dsql_error err;
	int64_t written = -1, v;
	FILE *f;

	ck_assert_int_eq(dsql_catalog_open(&cat, tu_sqlite_uri("fileerrors"), NULL, &err),
	                 DSQL_OK);
	snprintf(dir, sizeof(dir), "%s/dirascommit", tu_tmpdir());
	snprintf(file, sizeof(file), "%s/_delta_log", dir);
	ck_assert_int_eq(mkdir(dir, 0755) == 0 && mkdir(file, 0755) == 0, 1);
	snprintf(file, sizeof(file), "%s/_delta_log/%020d.json", dir, 0);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
	      "{\"metaData\":{\"id\":\"i\",\"format\":{\"provider\":\"parquet\","
	      "\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
	      "\\\"fields\\\":[]}\",\"partitionColumns\":[],\"configuration\":{}}}\n",
	      f);
	fclose(f);
	snprintf(file, sizeof(file), "%s/_delta_log/%020d.json", dir, 1);
	ck_assert_int_eq(mkdir(file, 0755), 0);
	ck_assert_int_eq(dsql_delta_import(cat, "unread", dir, NULL, NULL, &err), DSQL_EIO);
	ck_assert_msg(strstr(err.message, file) && strstr(err.message, "cannot read"), "%s",
	              err.message);
	ck_assert_int_eq(dsql_table_version(cat, "unread", &v, &err), DSQL_ENOTFOUND);

	table_dir("delta-golden/checkpoint", src, sizeof(src));
	ck_assert_int_eq(dsql_delta_import(cat, "cp", src, NULL, NULL, &err), DSQL_OK);
	snprintf(dir, sizeof(dir), "%s/plainfile", tu_tmpdir());
	ck_assert_ptr_nonnull(f = fopen(dir, "w"));
	fclose(f);
	snprintf(file, sizeof(file), "%s/below", dir);
	ck_assert_int_eq(dsql_delta_export(cat, "cp", file, 0, &written, NULL, NULL, &err),
	                 DSQL_EIO);
	ck_assert_msg(strstr(err.message, "cannot create") && strstr(err.message, file), "%s",
	              err.message);
	ck_assert_str_eq(dsql_status_name(DSQL_EIO), "file error");
	ck_assert_int_eq(written, 0);
	dsql_catalog_free(cat);
}
END_TEST

/* One exporter of the concurrent export test: its own catalog handle. */
typedef struct exporter {
	const char *uri, *dir;
	pthread_barrier_t *start;
	int rc;
	char message[DSQL_ERROR_MESSAGE_MAX];
} exporter;

static void *export_thread(void *arg)
{
	exporter *x = arg;
	dsql_catalog *cat;
	dsql_error err;

	x->rc = dsql_catalog_open(&cat, x->uri, NULL, &err);
	pthread_barrier_wait(x->start);
	if (x->rc == DSQL_OK) {
		x->rc = dsql_delta_export(cat, "cp", x->dir, 0, NULL, NULL, NULL, &err);
		dsql_catalog_free(cat);
	}
	if (x->rc != DSQL_OK)
		snprintf(x->message, sizeof(x->message), "%s", err.message);
	return NULL;
}

/* Two exports of the same table into the same directory at once (two
 * threads of one process, the case where temporary names made of the
 * process id alone would collide) both succeed, and leave exactly the
 * commit files, whole: no temporary file and no torn one. */
START_TEST(concurrent_exports_into_one_directory)
{
	char src[1200], uri[600], dir[600];
	dsql_catalog *cat;
	dsql_error err;
	int64_t latest;

	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("concurrent-export"));
	ck_assert_int_eq(dsql_catalog_open(&cat, uri, NULL, &err), DSQL_OK);
	table_dir("delta-golden/checkpoint", src, sizeof(src));
	ck_assert_int_eq(dsql_delta_import(cat, "cp", src, NULL, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_table_version(cat, "cp", &latest, &err), DSQL_OK);
	for (int round = 0; round < 20; round++) {
		pthread_barrier_t start;
		exporter x[2];
		pthread_t th[2];
		struct dirent *e;
		DIR *d;
		int files = 0;

		snprintf(dir, sizeof(dir), "%s/twoexports-%d", tu_tmpdir(), round);
		pthread_barrier_init(&start, NULL, 2);
		for (int i = 0; i < 2; i++) {
			x[i] = (exporter){uri, dir, &start, 0, ""};
			ck_assert_int_eq(pthread_create(&th[i], NULL, export_thread, &x[i]), 0);
		}
		for (int i = 0; i < 2; i++) {
			pthread_join(th[i], NULL);
			ck_assert_msg(x[i].rc == DSQL_OK, "round %d, exporter %d: %s", round, i,
			              x[i].message);
		}
		pthread_barrier_destroy(&start);
		snprintf(src, sizeof(src), "%s/_delta_log", dir);
		ck_assert_ptr_nonnull(d = opendir(src));
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			ck_assert_msg(strlen(e->d_name) == 25 && strstr(e->d_name, ".json") == e->d_name + 20,
			              "round %d: '%s' left in the log", round, e->d_name);
			files++;
		}
		closedir(d);
		ck_assert_int_eq(files, latest + 1);
	}
	/* The files are whole: the last round reads back as the table. */
	ck_assert_msg(dsql_delta_import(cat, "again", dir, NULL, NULL, &err) == DSQL_OK, "%s",
	              err.message);
	assert_same_history(cat, "cp", "again", latest);
	dsql_catalog_free(cat);
}
END_TEST

/* Imported history is not judged by the partition value check (what the
 * table's writers committed stays readable as it is); commits made
 * through deltasql afterwards are. */
START_TEST(imported_partition_values_are_kept_and_new_ones_judged)
{
	static const char *const log =
		"{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
		"{\"metaData\":{\"id\":\"i\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
		"\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":"
		"\\\"n\\\",\\\"type\\\":\\\"integer\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
		"\"partitionColumns\":[\"n\"],\"configuration\":{}}}\n"
		"{\"add\":{\"path\":\"n=x/a\",\"partitionValues\":{\"n\":\"x\"},\"size\":1,"
		"\"modificationTime\":1,\"dataChange\":true}}\n";
	char dir[600], file[700];
	dsql_catalog *cat;
	dsql_txn *txn;
	dsql_error err;
	int64_t v;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/oddvalues", tu_tmpdir());
	snprintf(file, sizeof(file), "%s/_delta_log", dir);
	ck_assert_int_eq(mkdir(dir, 0755) == 0 && mkdir(file, 0755) == 0, 1);
	snprintf(file, sizeof(file), "%s/_delta_log/%020d.json", dir, 0);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs(log, f);
	fclose(f);
	ck_assert_int_eq(dsql_catalog_open(&cat, tu_sqlite_uri("oddvalues"), NULL, &err), DSQL_OK);
	ck_assert_msg(dsql_delta_import(cat, "odd", dir, NULL, NULL, &err) == DSQL_OK, "%s",
	              err.message);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_int_eq(dsql_txn_stage(txn, "odd",
	                                "{\"add\":{\"path\":\"n=y/b\",\"partitionValues\":{\"n\":"
	                                "\"y\"},\"size\":1,\"modificationTime\":1,"
	                                "\"dataChange\":true}}",
	                                &err),
	                 DSQL_OK);
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "'y' of column 'n' is not a valid integer"), "%s",
	              err.message);
	dsql_txn_free(txn);
	ck_assert_int_eq(dsql_table_version(cat, "odd", &v, &err), DSQL_OK);
	ck_assert_int_eq(v, 0);
	dsql_catalog_free(cat);
}
END_TEST


/* A log of two versions in DIR (under the test's directory): version 0
 * creates a table, version 1 is left to the caller. Returns the path of
 * version 1's file in file. */
static void two_version_log(const char *name, char *dir, size_t dcap, char *file, size_t fcap)
{
	char path[700];
	FILE *f;

	snprintf(dir, dcap, "%s/%s", tu_tmpdir(), name);
	snprintf(path, sizeof(path), "%s/_delta_log", dir);
	ck_assert_int_eq(mkdir(dir, 0755) == 0 && mkdir(path, 0755) == 0, 1);
	snprintf(path, sizeof(path), "%s/_delta_log/%020d.json", dir, 0);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
	      "{\"metaData\":{\"id\":\"i\",\"format\":{\"provider\":\"parquet\","
	      "\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
	      "\\\"fields\\\":[]}\",\"partitionColumns\":[],\"configuration\":{}}}\n",
	      f);
	fclose(f);
	snprintf(file, fcap, "%s/_delta_log/%020d.json", dir, 1);
}

/* Reading a log is bounded: a FIFO (no writer ever comes), a device behind
 * a symlink and a line of a gigabyte are each refused at once with an
 * error naming the file; nothing is imported. */
START_TEST(import_reads_are_bounded)
{
	char dir[600], file[700];
	dsql_catalog *cat;
	dsql_error err;
	int64_t v;
	int fd;

	ck_assert_int_eq(dsql_catalog_open(&cat, tu_sqlite_uri("bounded"), NULL, &err), DSQL_OK);
	two_version_log("fifo", dir, sizeof(dir), file, sizeof(file));
	ck_assert_int_eq(mkfifo(file, 0644), 0);
	ck_assert_int_eq(dsql_delta_import(cat, "fifo", dir, NULL, NULL, &err), DSQL_EIO);
	ck_assert_msg(strstr(err.message, file) && strstr(err.message, "not a regular file"), "%s",
	              err.message);

	two_version_log("zero", dir, sizeof(dir), file, sizeof(file));
	ck_assert_int_eq(symlink("/dev/zero", file), 0);
	ck_assert_int_eq(dsql_delta_import(cat, "zero", dir, NULL, NULL, &err), DSQL_EIO);
	ck_assert_msg(strstr(err.message, file) && strstr(err.message, "not a regular file"), "%s",
	              err.message);

	/* A sparse file: a gigabyte of one line costs the disk nothing. */
	two_version_log("hugeline", dir, sizeof(dir), file, sizeof(file));
	ck_assert_int_ge(fd = open(file, O_WRONLY | O_CREAT, 0644), 0);
	ck_assert_int_eq(ftruncate(fd, (1LL << 30) - 1), 0);
	close(fd);
	ck_assert_int_eq(dsql_delta_import(cat, "hugeline", dir, NULL, NULL, &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, file) && strstr(err.message, "line 1 is longer than"),
	              "%s", err.message);
	ck_assert_int_eq(dsql_table_version(cat, "fifo", &v, &err), DSQL_ENOTFOUND);
	ck_assert_int_eq(dsql_table_version(cat, "zero", &v, &err), DSQL_ENOTFOUND);
	ck_assert_int_eq(dsql_table_version(cat, "hugeline", &v, &err), DSQL_ENOTFOUND);
	dsql_catalog_free(cat);
}
END_TEST

/* The address space the process uses now, in bytes. */
static long long vm_size(void)
{
	long long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f && fscanf(f, "%lld", &pages) != 1)
		pages = 0;
	if (f)
		fclose(f);
	return pages * sysconf(_SC_PAGESIZE);
}

/* Memory that runs out while a commit is read is an error, never the end
 * of the file: with the address space capped, a version whose second
 * action is a 48 MB line is refused (out of memory), not imported without
 * it. In a child process of its own (the cap stays there). */
START_TEST(import_out_of_memory_is_not_end_of_file)
{
	char dir[600], file[700];
	int status;
	pid_t pid;
	FILE *f;

	if (getenv("DELTASQL_SANITIZER_BUILD"))
		return; /* the sanitizers reserve address space of their own */
	two_version_log("nomem", dir, sizeof(dir), file, sizeof(file));
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs("{\"add\":{\"path\":\"small\",\"partitionValues\":{},\"size\":1,"
	      "\"modificationTime\":1,\"dataChange\":true}}\n"
	      "{\"add\":{\"path\":\"big\",\"partitionValues\":{},\"size\":1,"
	      "\"modificationTime\":1,\"dataChange\":true,\"stats\":\"",
	      f);
	for (int i = 0; i < 48 * 1024; i++)
		fprintf(f, "%01024d", 0);
	fputs("\"}}\n", f);
	fclose(f);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dsql_catalog *cat;
		dsql_error err;
		struct rlimit rl;
		int64_t v;
		int rc;

		if (dsql_catalog_open(&cat, tu_sqlite_uri("nomem"), NULL, &err) != DSQL_OK)
			_exit(10);
		rl.rlim_cur = rl.rlim_max = (rlim_t)(vm_size() + (24 << 20));
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(11);
		rc = dsql_delta_import(cat, "nomem", dir, NULL, NULL, &err);
		if (rc == DSQL_OK)
			_exit(12); /* imported without its big action */
		if (rc != DSQL_ENOMEM || !strstr(err.message, file))
			_exit(13);
		_exit(dsql_table_version(cat, "nomem", &v, &err) == DSQL_ENOTFOUND ? 0 : 14);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "child status %d (12: imported without the action that did not fit, "
	              "13: another error)", status);
}
END_TEST

int main(void)
{
	const char *env = getenv("DELTASQL_FIXTURES");
	Suite *s;
	TCase *tc;
	char path[1100];
	int failed;

	snprintf(fixtures, sizeof(fixtures), "%s",
	         env && *env ? env : FIXTURES_DEFAULT);
	snprintf(path, sizeof(path), "%s/expectations.json", fixtures);
	expectations = json_load_file(path, 0, NULL);
	cases = json_object_get(expectations, "cases");
	if (!cases) {
		if (getenv("CI") && strcmp(getenv("CI"), "true") == 0) {
			fprintf(stderr, "FAIL: Delta fixtures not found at %s (CI=true)\n", fixtures);
			return 1;
		}
		fprintf(stderr, "SKIPPED: Delta fixture tests *** no fixtures at %s (set "
		                "DELTASQL_FIXTURES; outside CI only) ***\n", fixtures);
		return 77;
	}
	s = suite_create("delta");
	tc = tcase_create("fixtures");
	tcase_add_test(tc, every_fixture_case);
	tcase_add_test(tc, export_refuses_to_overwrite_and_expired_versions);
	tcase_add_test(tc, imported_partition_values_are_kept_and_new_ones_judged);
	tcase_add_test(tc, unreadable_and_unwritable_files_are_file_errors);
	tcase_add_test(tc, concurrent_exports_into_one_directory);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	/* Short: an unbounded read hangs or grows; it must fail here instead. */
	tc = tcase_create("bounded");
	tcase_add_test(tc, import_reads_are_bounded);
	tcase_add_test(tc, import_out_of_memory_is_not_end_of_file);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	failed = tu_run_suite(s);
	json_decref(expectations);
	return failed;
}
