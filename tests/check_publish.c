/* Publication of tables' logs under their locations (core/publish.c). */
#include "testutil.h"
#include "checkpoint.h"

#include <jansson.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each test's catalog: every open_catalog of a test opens the same one. */
static char uri[600];

static void new_catalog(void)
{
	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("publish"));
}

static dsql_catalog *open_catalog(void)
{
	dsql_catalog *cat = NULL;
	dsql_error err;

	ck_assert_msg(dsql_catalog_open(&cat, uri, NULL, &err) == DSQL_OK,
	              "%s", err.message);
	return cat;
}

/* A fresh directory for a table's location. */
static const char *location(const char *name)
{
	static char buf[4][512];
	static int n;
	char *out = buf[n++ % 4];

	snprintf(out, sizeof(buf[0]), "%s/%s-%d", tu_tmpdir(), name, n);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	return out;
}

static void create(dsql_catalog *cat, const char *name, const char *loc, const char *off)
{
	const char *props[] = {"deltasql.publish", off, NULL};
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	dsql_error err;

	o.location = loc;
	o.schema_json = "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"long\","
	                "\"nullable\":true,\"metadata\":{}}]}";
	o.properties = off ? props : NULL;
	ck_assert_msg(dsql_table_create(cat, name, &o, &err) == DSQL_OK, "%s", err.message);
}

/* Commits one add of path to each table (a multi-table commit for two). */
static void add(dsql_catalog *cat, const char *t1, const char *t2, const char *path)
{
	char action[512];
	dsql_txn *txn = NULL;
	dsql_error err;

	snprintf(action, sizeof(action),
	         "{\"add\":{\"path\":\"%s\",\"partitionValues\":{},\"size\":10,"
	         "\"modificationTime\":1,\"dataChange\":true}}",
	         path);
	ck_assert_int_eq(dsql_txn_begin(&txn, cat, NULL, &err), DSQL_OK);
	ck_assert_msg(dsql_txn_stage(txn, t1, action, &err) == DSQL_OK, "%s", err.message);
	if (t2)
		ck_assert_msg(dsql_txn_stage(txn, t2, action, &err) == DSQL_OK, "%s", err.message);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* Whether a file is there (a version published). */
static int is_there(const char *path)
{
	return access(path, F_OK) == 0;
}

static char *version_file(const char *loc, int64_t v)
{
	static char buf[600];

	snprintf(buf, sizeof(buf), "%s/_delta_log/%020lld.json", loc, (long long)v);
	return buf;
}

/* Entries of the table's _delta_log (temporaries included). */
static int n_log_entries(const char *loc)
{
	char dir[600];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/_delta_log", loc);
	if (!(d = opendir(dir)))
		return 0;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Every published file holds exactly what export writes. */
static void assert_as_exported(dsql_catalog *cat, const char *table, const char *loc,
                               int64_t latest)
{
	const char *dir = location("export");
	dsql_error err;

	ck_assert_msg(dsql_delta_export(cat, table, dir, 0, NULL, NULL, NULL, &err) == DSQL_OK,
	              "%s", err.message);
	for (int64_t v = 0; v <= latest; v++) {
		char *want = slurp(version_file(dir, v)), *got = slurp(version_file(loc, v));

		ck_assert_msg(got != NULL, "version %lld not published", (long long)v);
		ck_assert_str_eq(got, want);
		free(want);
		free(got);
	}
	ck_assert(!is_there(version_file(loc, latest + 1)));
	ck_assert_int_eq(n_log_entries(loc), (int)latest + 1); /* no temporaries left */
}

static dsql_metrics metrics(dsql_catalog *cat)
{
	dsql_metrics m;

	dsql_catalog_metrics(cat, &m, sizeof(m));
	return m;
}

START_TEST(each_commit_is_published)
{
	dsql_catalog *cat = open_catalog();
	const char *loc = location("t");

	create(cat, "t", loc, NULL);
	ck_assert(is_there(version_file(loc, 0)));
	for (int i = 1; i <= 3; i++) {
		char path[32];

		snprintf(path, sizeof(path), "part-%d.parquet", i);
		add(cat, "t", NULL, path);
		ck_assert(is_there(version_file(loc, i)));
	}
	assert_as_exported(cat, "t", loc, 3);
	ck_assert_uint_eq(metrics(cat).published_files, 4);
	ck_assert_uint_eq(metrics(cat).publish_failures, 0);
	dsql_catalog_free(cat);
}
END_TEST

/* Multi-table commits publish each table's version; a table without a
 * location, or a location that is not local, is left alone. */
START_TEST(multi_table_commit_publishes_each_table)
{
	dsql_catalog *cat = open_catalog();
	const char *a = location("a"), *b = location("b");

	create(cat, "a", a, NULL);
	create(cat, "b", b, NULL);
	create(cat, "nowhere", NULL, NULL);
	create(cat, "remote", "s3://bucket/remote", NULL);
	add(cat, "a", "b", "x.parquet");
	add(cat, "nowhere", "remote", "y.parquet");
	assert_as_exported(cat, "a", a, 1);
	assert_as_exported(cat, "b", b, 1);
	ck_assert_uint_eq(metrics(cat).publish_failures, 0);
	dsql_catalog_free(cat);
}
END_TEST

/* Storage that is away only delays publication: commits succeed, and the
 * next commit (from another handle, knowing nothing) or dsql_delta_publish
 * writes every missing version in order. */
START_TEST(unreachable_storage_is_caught_up)
{
	dsql_catalog *cat = open_catalog(), *other;
	const char *loc = location("t");
	char away[600];
	int64_t written = -1;
	dsql_error err;

	create(cat, "t", loc, NULL);
	add(cat, "t", NULL, "1.parquet");
	snprintf(away, sizeof(away), "%s.away", loc);
	ck_assert_int_eq(rename(loc, away), 0);
	add(cat, "t", NULL, "2.parquet");
	add(cat, "t", NULL, "3.parquet");
	ck_assert_uint_eq(metrics(cat).publish_failures, 2);
	ck_assert_int_eq(dsql_delta_publish(cat, "t", &written, &err), DSQL_EIO);
	ck_assert_msg(strstr(err.message, loc) != NULL, "%s", err.message);
	ck_assert_int_eq(rename(away, loc), 0);
	ck_assert(!is_there(version_file(loc, 2)));

	other = open_catalog(); /* knows nothing of what cat tried */
	ck_assert_int_eq(dsql_delta_publish(other, "t", &written, &err), DSQL_OK);
	dsql_catalog_free(other);
	ck_assert_int_eq(written, 2);
	assert_as_exported(cat, "t", loc, 3);
	ck_assert_int_eq(dsql_delta_publish(cat, "t", &written, &err), DSQL_OK);
	ck_assert_int_eq(written, 0);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(next_commit_catches_up)
{
	dsql_catalog *cat = open_catalog();
	const char *loc = location("t");
	char away[600];

	create(cat, "t", loc, NULL);
	snprintf(away, sizeof(away), "%s.away", loc);
	ck_assert_int_eq(rename(loc, away), 0);
	add(cat, "t", NULL, "1.parquet");
	add(cat, "t", NULL, "2.parquet");
	ck_assert_int_eq(rename(away, loc), 0);
	add(cat, "t", NULL, "3.parquet");
	assert_as_exported(cat, "t", loc, 3);
	dsql_catalog_free(cat);
}
END_TEST

/* What the logger was told about publication. */
static char logged[2048];

static void on_log(dsql_log_level level, dsql_log_event event, const char *message,
                   const dsql_log_field *fields, size_t n_fields, void *payload)
{
	(void)payload;
	if (event != DSQL_EVENT_PUBLISH)
		return;
	ck_assert_int_eq(level, DSQL_LOG_WARN);
	snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged), "%s;", message);
	for (size_t i = 0; i < n_fields; i++)
		snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged), "%s=%s;",
		         fields[i].key, fields[i].value);
}

/* A version file with other actions is another writer's log: the commit
 * still succeeds (the catalog decides), the file is not touched, nothing
 * after it is published, and the error names the version and the file. */
START_TEST(foreign_log_stops_publication)
{
	dsql_catalog *cat = open_catalog();
	const char *loc = location("t");
	const char *foreign = "{\"commitInfo\":{\"operation\":\"WRITE\"}}\n"
	                      "{\"add\":{\"path\":\"other.parquet\",\"partitionValues\":{},"
	                      "\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n";
	int64_t version = -1, written = 0;
	dsql_error err;
	char *file;
	FILE *f;

	create(cat, "t", loc, NULL);
	file = strdup(version_file(loc, 1));
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs(foreign, f);
	fclose(f);
	dsql_catalog_set_logger(cat, DSQL_LOG_WARN, on_log, NULL);
	add(cat, "t", NULL, "1.parquet");
	ck_assert_msg(strstr(logged, file) && strstr(logged, "table=t;version=1;code="), "%s",
	              logged);
	add(cat, "t", NULL, "2.parquet");
	ck_assert_int_eq(dsql_table_version(cat, "t", &version, &err), DSQL_OK);
	ck_assert_int_eq(version, 2);
	ck_assert_uint_eq(metrics(cat).publish_failures, 2);
	ck_assert_int_eq(dsql_delta_publish(cat, "t", &written, &err), DSQL_EEXISTS);
	ck_assert_msg(strstr(err.message, file) && strstr(err.message, "version 1"), "%s",
	              err.message);
	ck_assert(!is_there(version_file(loc, 2)));
	{
		char *now = slurp(file);

		ck_assert_str_eq(now, foreign);
		free(now);
	}
	dsql_catalog_free(cat);

	/* A new handle finds the same file, and says so again. */
	cat = open_catalog();
	ck_assert_int_eq(dsql_delta_publish(cat, "t", &written, &err), DSQL_EEXISTS);
	ck_assert_msg(strstr(err.message, "version 1"), "%s", err.message);
	add(cat, "t", NULL, "3.parquet");
	ck_assert(!is_there(version_file(loc, 3)));
	free(file);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(publication_can_be_turned_off)
{
	dsql_catalog *cat = open_catalog(), *again;
	const char *off = location("off"), *later = location("later");
	int64_t written;
	dsql_error err;

	create(cat, "off", off, "false");
	add(cat, "off", NULL, "1.parquet");
	ck_assert_int_eq(n_log_entries(off), 0);
	ck_assert_int_eq(dsql_delta_publish(cat, "off", &written, &err), DSQL_EUNSUPPORTED);

	ck_assert_int_eq(dsql_catalog_set_publish(cat, 0, &err), DSQL_OK);
	create(cat, "later", later, NULL);
	add(cat, "later", NULL, "1.parquet");
	ck_assert_int_eq(n_log_entries(later), 0);
	again = open_catalog(); /* the setting is the catalog's */
	add(again, "later", NULL, "2.parquet");
	ck_assert_int_eq(n_log_entries(later), 0);
	ck_assert_int_eq(dsql_catalog_set_publish(again, 1, &err), DSQL_OK);
	ck_assert_int_eq(dsql_delta_publish(again, "later", &written, &err), DSQL_OK);
	ck_assert_int_eq(written, 3);
	assert_as_exported(again, "later", later, 2);
	dsql_catalog_free(again);
	dsql_catalog_free(cat);
}
END_TEST

/* Import writes nothing into the log it reads; later commits continue
 * that log, whose files hold the same actions. */
START_TEST(imported_table_continues_its_log)
{
	dsql_catalog *cat = open_catalog();
	const char *loc = location("src"), *dst = location("dst");
	char *before;
	dsql_error err;

	create(cat, "src", loc, NULL);
	add(cat, "src", NULL, "1.parquet");
	ck_assert_int_eq(dsql_delta_export(cat, "src", dst, 0, NULL, NULL, NULL, &err), DSQL_OK);
	/* An engine's spelling of version 1: the same actions, keys reordered. */
	before = slurp(version_file(dst, 1));
	{
		json_t *lines[2];
		char *nl = strchr(before, '\n');
		FILE *f = fopen(version_file(dst, 1), "w");

		*nl = '\0';
		lines[0] = json_loads(before, 0, NULL);
		lines[1] = json_loads(nl + 1, 0, NULL);
		for (int i = 1; i >= 0; i--) {
			char *s = json_dumps(lines[i], JSON_SORT_KEYS);

			fprintf(f, "%s\n", s);
			free(s);
			json_decref(lines[i]);
		}
		fclose(f);
	}
	free(before);
	ck_assert_msg(dsql_delta_import(cat, "dst", dst, NULL, NULL, &err) == DSQL_OK, "%s",
	              err.message);
	ck_assert_int_eq(n_log_entries(dst), 2);
	add(cat, "dst", NULL, "2.parquet");
	ck_assert_uint_eq(metrics(cat).publish_failures, 0);
	ck_assert(is_there(version_file(dst, 2)));
	ck_assert_int_eq(n_log_entries(dst), 3);
	dsql_catalog_free(cat);
}
END_TEST

/* The command: publish catches every table up, --off/--on set the catalog. */
START_TEST(publish_command)
{
	char cmd[1200], *out = NULL, away[600];
	const char *loc = location("cli");
	dsql_catalog *cat = open_catalog();

	create(cat, "c", loc, NULL);
	snprintf(away, sizeof(away), "%s.away", loc);
	ck_assert_int_eq(rename(loc, away), 0);
	add(cat, "c", NULL, "1.parquet");
	ck_assert_int_eq(rename(away, loc), 0);
	dsql_catalog_free(cat);
	snprintf(cmd, sizeof(cmd), "%s --catalog '%s' publish", CLI_PATH, uri);
	ck_assert_int_eq(tu_run(cmd, NULL, &out), 0);
	ck_assert_msg(strstr(out, "published c: 1 files written"), "%s", out);
	free(out);
	ck_assert_int_eq(n_log_entries(loc), 2);
	snprintf(cmd, sizeof(cmd), "%s --catalog '%s' publish c --off", CLI_PATH, uri);
	ck_assert_int_eq(tu_run(cmd, NULL, NULL), 2);
	snprintf(cmd, sizeof(cmd), "%s --catalog '%s' publish nosuch", CLI_PATH, uri);
	ck_assert_int_eq(tu_run(cmd, NULL, NULL), 4);
}
END_TEST

/* Checkpoints at delta.checkpointInterval (a build with --enable-checkpoints;
 * one without writes none), _last_checkpoint at the newest; a catch-up of
 * many versions writes only the newest multiple's. */
START_TEST(checkpoints_at_the_interval)
{
	const char *props[] = {"delta.checkpointInterval", "5", NULL};
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	dsql_catalog *cat = open_catalog();
	const char *loc = location("cp");
	char file[700], away[600], *last;
	dsql_error err;

	o.location = loc;
	o.properties = props;
	ck_assert_int_eq(dsql_table_create(cat, "cp", &o, &err), DSQL_OK);
	for (int i = 1; i <= 11; i++) {
		char path[32];

		snprintf(path, sizeof(path), "%d.parquet", i);
		add(cat, "cp", NULL, path);
	}
	snprintf(file, sizeof(file), "%s/_delta_log/_last_checkpoint", loc);
	last = slurp(file);
	if (!checkpoint_enabled()) {
		ck_assert_ptr_null(last);
		ck_assert_int_eq(n_log_entries(loc), 12);
		dsql_catalog_free(cat);
		return;
	}
	ck_assert_str_eq(last, "{\"version\":10,\"size\":12}\n"); /* protocol, metaData, 10 adds */
	free(last);
	for (int v = 5; v <= 10; v += 5) {
		snprintf(file, sizeof(file), "%s/_delta_log/%020d.checkpoint.parquet", loc, v);
		ck_assert_msg(access(file, F_OK) == 0, "no checkpoint at %d", v);
	}
	ck_assert_int_eq(n_log_entries(loc), 12 + 2 + 1);

	/* Storage away for versions 12 to 21: the catch-up writes 20's only. */
	snprintf(away, sizeof(away), "%s.away", loc);
	ck_assert_int_eq(rename(loc, away), 0);
	for (int i = 12; i <= 21; i++)
		add(cat, "cp", NULL, "x.parquet");
	ck_assert_int_eq(rename(away, loc), 0);
	ck_assert_int_eq(dsql_delta_publish(cat, "cp", NULL, &err), DSQL_OK);
	snprintf(file, sizeof(file), "%s/_delta_log/%020d.checkpoint.parquet", loc, 15);
	ck_assert_int_ne(access(file, F_OK), 0);
	snprintf(file, sizeof(file), "%s/_delta_log/_last_checkpoint", loc);
	last = slurp(file);
	ck_assert_str_eq(last, "{\"version\":20,\"size\":14}\n");
	free(last);
	dsql_catalog_free(cat);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("publish");
	TCase *tc = tcase_create("publish");

	tcase_add_checked_fixture(tc, new_catalog, NULL);

	tcase_add_test(tc, each_commit_is_published);
	tcase_add_test(tc, multi_table_commit_publishes_each_table);
	tcase_add_test(tc, unreachable_storage_is_caught_up);
	tcase_add_test(tc, next_commit_catches_up);
	tcase_add_test(tc, foreign_log_stops_publication);
	tcase_add_test(tc, publication_can_be_turned_off);
	tcase_add_test(tc, imported_table_continues_its_log);
	tcase_add_test(tc, publish_command);
	tcase_add_test(tc, checkpoints_at_the_interval);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
