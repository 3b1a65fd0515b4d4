/* Helpers shared by the conformance scenarios (see helpers.h). */
#define _GNU_SOURCE
#include "helpers.h"

#include <deltasql/driver.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *scn_uri;
const char *scn_tag = "t";

unsigned int db_caps(void)
{
	const dsql_driver *d = dsql_driver_find(scn_uri);

	return d ? d->capabilities : 0;
}

dsql_catalog *open_cat(void)
{
	dsql_catalog *cat = NULL;
	dsql_error err;
	int rc = dsql_catalog_open(&cat, scn_uri, NULL, &err);

	ck_assert_msg(rc == DSQL_OK, "open %s: %s", scn_uri, err.message);
	return cat;
}

pid_t start_paused_winner(const char *table, char *action_json)
{
	int ready[2];
	pid_t pid;
	char go;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dsql_catalog *c = NULL;
		dsql_txn *w;
		dsql_error err;

		setenv("DELTASQL_PAUSE", "before_commit", 1);
		setenv("DELTASQL_PAUSE_MS", "1500", 1);
		if (dsql_catalog_open(&c, scn_uri, NULL, &err) || dsql_txn_begin(&w, c, NULL, &err) ||
		    dsql_txn_stage(w, table, action_json, &err))
			_exit(10);
		if (write(ready[1], "g", 1) != 1)
			_exit(12);
		_exit(dsql_txn_commit(w, &err) == DSQL_OK ? 0 : 11);
	}
	free(action_json);
	/* Connected and staged: its commit takes the table within a round
	 * trip, and holds it for 1.5 s. */
	ck_assert_int_eq(read(ready[0], &go, 1), 1);
	close(ready[0]);
	close(ready[1]);
	usleep(300000);
	return pid;
}

void end_winner(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "the winner did not commit (status %d)", status);
}

/* A table name unique to this test run. */
const char *tname(const char *base)
{
	static char buf[8][128];
	static unsigned n;
	char *b = buf[n % 8];

	snprintf(b, sizeof(buf[0]), "%s_%s_%d_%u", scn_tag, base, (int)getpid(), n);
	n++;
	return b;
}

const char *schema_xy =
	"{\"type\":\"struct\",\"fields\":["
	"{\"name\":\"x\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}";

void create(dsql_catalog *cat, const char *name, int partitioned)
{
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	const char *parts[] = {"p", NULL};
	dsql_error err;
	int rc;

	o.schema_json = schema_xy;
	if (partitioned)
		o.partition_columns = parts;
	rc = dsql_table_create(cat, name, &o, &err);
	ck_assert_msg(rc == DSQL_OK, "create %s: %s", name, err.message);
}

/* Deletion vectors need the table feature: this upgrades the table's
 * protocol to it (one version). */
void enable_deletion_vectors(dsql_catalog *cat, const char *name)
{
	dsql_txn *txn;
	dsql_error err;

	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_stage(txn, name, protocol_with_dvs, &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
}

const char *protocol_with_dvs =
	"{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
	"\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[\"deletionVectors\"]}}";

char *add_json(const char *path, int64_t size, const char *part)
{
	char *s;

	if (part)
		ck_assert(asprintf(&s,
		                   "{\"add\":{\"path\":\"%s\",\"partitionValues\":{\"p\":\"%s\"},"
		                   "\"size\":%lld,\"modificationTime\":1700000000000,"
		                   "\"dataChange\":true,\"stats\":\"{\\\"numRecords\\\":%lld}\"}}",
		                   path, part, (long long)size, (long long)size) > 0);
	else
		ck_assert(asprintf(&s,
		                   "{\"add\":{\"path\":\"%s\",\"partitionValues\":{},\"size\":%lld,"
		                   "\"modificationTime\":1700000000000,\"dataChange\":true}}",
		                   path, (long long)size) > 0);
	return s;
}

char *remove_json(const char *path)
{
	char *s;

	ck_assert(asprintf(&s,
	                   "{\"remove\":{\"path\":\"%s\",\"deletionTimestamp\":1700000000001,"
	                   "\"dataChange\":true}}",
	                   path) > 0);
	return s;
}

int stage(dsql_txn *txn, const char *table, char *json, dsql_error *err)
{
	int rc = dsql_txn_stage(txn, table, json, err);

	free(json);
	return rc;
}

/* Commits one add (in partition p=part when part is set); returns the new
 * version. */
int64_t commit_add_in(dsql_catalog *cat, const char *table, const char *path,
                             const char *part)
{
	dsql_txn *txn;
	dsql_error err;
	int64_t v;

	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	ck_assert_msg(stage(txn, table, add_json(path, 100, part), &err) == DSQL_OK, "%s",
	              err.message);
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "commit: %s", err.message);
	OK(dsql_txn_committed_version(txn, table, &v));
	dsql_txn_free(txn);
	return v;
}

int64_t commit_add(dsql_catalog *cat, const char *table, const char *path)
{
	return commit_add_in(cat, table, path, NULL);
}

int64_t version_of(dsql_catalog *cat, const char *table)
{
	dsql_error err;
	int64_t v = -1;

	ck_assert_msg(dsql_table_version(cat, table, &v, &err) == DSQL_OK, "%s", err.message);
	return v;
}

/* The live paths of a table at a version, as "a,b,c". */
char *paths_at(dsql_catalog *cat, const char *table, int64_t version)
{
	dsql_snapshot *s;
	dsql_error err;
	char *out = calloc(1, 1);
	size_t len = 0;

	ck_assert_msg(dsql_snapshot_open(&s, cat, table, version, &err) == DSQL_OK, "%s",
	              err.message);
	for (size_t i = 0; i < dsql_snapshot_file_count(s); i++) {
		json_t *f = json_loads(dsql_snapshot_file_json(s, i), 0, NULL);
		const char *p = json_string_value(json_object_get(f, "path"));

		out = realloc(out, len + strlen(p) + 2);
		len += (size_t)sprintf(out + len, "%s%s", len ? "," : "", p);
		json_decref(f);
	}
	dsql_snapshot_free(s);
	return out;
}

void assert_paths(dsql_catalog *cat, const char *table, int64_t version,
                         const char *want)
{
	char *got = paths_at(cat, table, version);

	ck_assert_msg(strcmp(got, want) == 0, "%s@%lld: files '%s', expected '%s'", table,
	              (long long)version, got, want);
	free(got);
}

static int count_cb(const dsql_commit_info *c, void *payload)
{
	int64_t *n = payload;

	ck_assert_int_eq(c->version, *n); /* contiguous from 0 */
	(*n)++;
	return 0;
}

int64_t history_len(dsql_catalog *cat, const char *table)
{
	dsql_error err;
	int64_t n = 0;

	ck_assert_msg(dsql_history(cat, table, count_cb, &n, &err) == DSQL_OK, "%s", err.message);
	return n;
}


void direct_exec(const char *sql)
{
	const dsql_driver *d = dsql_driver_find(scn_uri);
	dsql_driver_conn *c;
	dsql_driver_stmt *s;
	dsql_error err;
	int rc;

	ck_assert_ptr_nonnull(d);
	ck_assert_msg(d->connect(&c, scn_uri, &err) == DSQL_OK, "connect: %s", err.message);
	rc = d->prepare(&s, c, sql, &err);
	if (rc == DSQL_OK) {
		while ((rc = d->step(s, &err)) == DSQL_ROW)
			;
		d->finalize(s);
	}
	d->disconnect(c);
	ck_assert_msg(rc == DSQL_DONE || rc == DSQL_OK, "%s: %s", sql, err.message);
}

/* Imports table t from a log of one version: extra_line (a commitInfo,
 * or ""), protocol_line, a metaData without columns, an add of "a". */
void import_one_version(dsql_catalog *cat, const char *t, const char *protocol_line,
                        const char *extra_line)
{
	char dir[] = "/tmp/dsqlconf-log-XXXXXX", path[256];
	dsql_error err;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/_delta_log", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/_delta_log/00000000000000000000.json", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%s%s%s\n{\"metaData\":{\"id\":\"m\",\"format\":{\"provider\":\"parquet\","
	           "\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
	           "\\\"fields\\\":[]}\",\"partitionColumns\":[],\"configuration\":{}}}\n"
	           "{\"add\":{\"path\":\"a\",\"partitionValues\":{},\"size\":1,"
	           "\"modificationTime\":1,\"dataChange\":true}}\n", extra_line,
	        *extra_line ? "\n" : "", protocol_line);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(dsql_delta_import(cat, t, dir, NULL, NULL, &err) == DSQL_OK, "%s",
	              err.message);
	unlink(path);
	snprintf(path, sizeof(path), "%s/_delta_log", dir);
	rmdir(path);
	rmdir(dir);
}
