/*
 * Delta log import, on every driver: an import that fails never touches a
 * table of the same name, and an import is all or nothing, whether the log
 * is bad or the importing process is killed half-way.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <deltasql/driver.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSIONS 6

enum flaw { WHOLE, NO_VERSION_0, GAP, TRUNCATED };

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* A log of VERSIONS versions in a fresh directory (malloc'd path): version
 * 0 creates the table, each later one adds f<v>; flaw spoils it. */
static char *write_log(enum flaw flaw)
{
	char tmpl[] = "/tmp/dsqlconf-import.XXXXXX", file[600], line[300];
	char *dir = mkdtemp(tmpl) ? strdup(tmpl) : NULL;

	ck_assert_ptr_nonnull(dir);
	snprintf(file, sizeof(file), "%s/_delta_log", dir);
	ck_assert_int_eq(mkdir(file, 0755), 0);
	for (int v = 0; v < VERSIONS; v++) {
		if ((flaw == NO_VERSION_0 && v == 0) || (flaw == GAP && v == 3))
			continue;
		snprintf(file, sizeof(file), "%s/_delta_log/%020d.json", dir, v);
		if (v == 0) {
			char *text;

			ck_assert(asprintf(&text,
			                   "{\"commitInfo\":{\"timestamp\":1700000000000}}\n"
			                   "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
			                   "{\"metaData\":{\"id\":\"m\",\"format\":{\"provider\":\"parquet\","
			                   "\"options\":{}},\"schemaString\":\"%s\",\"partitionColumns\":[],"
			                   "\"configuration\":{}}}\n",
			                   "{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}") > 0);
			write_file(file, text);
			free(text);
			continue;
		}
		snprintf(line, sizeof(line),
		         "{\"commitInfo\":{\"timestamp\":%lld}}\n"
		         "{\"add\":{\"path\":\"f%d\",\"partitionValues\":{},\"size\":1,"
		         "\"modificationTime\":1,\"dataChange\":true}}\n",
		         1700000000000LL + v, v);
		if (flaw == TRUNCATED && v == VERSIONS - 2)
			line[strlen(line) - 20] = '\0'; /* a write cut short */
		write_file(file, line);
	}
	return dir;
}

static void remove_log(char *dir)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(dir);
}

static int imported(dsql_catalog *cat, const char *table, const char *dir, dsql_error *err)
{
	return dsql_delta_import(cat, table, dir, NULL, NULL, err);
}

/* The table holds the whole log: every version, the last one's files. */
static void assert_whole(dsql_catalog *cat, const char *table)
{
	ck_assert_int_eq(history_len(cat, table), VERSIONS);
	assert_paths(cat, table, VERSIONS - 1, "f1,f2,f3,f4,f5");
}

START_TEST(failed_import_keeps_existing_table)
{
	static const enum flaw flaws[] = {NO_VERSION_0, GAP, TRUNCATED, WHOLE};
	dsql_catalog *cat = open_cat();
	char prod[128];
	dsql_error err;

	snprintf(prod, sizeof(prod), "%s", tname("prod"));
	create(cat, prod, 0);
	ck_assert_int_eq(commit_add(cat, prod, "live"), 1);
	for (size_t i = 0; i < sizeof(flaws) / sizeof(flaws[0]); i++) {
		char *dir = write_log(flaws[i]);
		int rc = imported(cat, prod, dir, &err);

		ck_assert_msg(rc != DSQL_OK, "flaw %zu: the import over '%s' succeeded", i, prod);
		ck_assert_msg(version_of(cat, prod) == 1, "flaw %zu: '%s' is gone or changed (%s)",
		              i, prod, err.message);
		ck_assert_int_eq(history_len(cat, prod), 2);
		assert_paths(cat, prod, 1, "live");
		remove_log(dir);
	}
	ck_assert_int_eq(commit_add(cat, prod, "more"), 2);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(refused_import_leaves_nothing_and_can_run_again)
{
	dsql_catalog *cat = open_cat();
	char *dir = write_log(TRUNCATED), file[700], table[128];
	dsql_error err;
	int64_t v;

	snprintf(table, sizeof(table), "%s", tname("imp"));
	ck_assert_int_eq(imported(cat, table, dir, &err), DSQL_EINVALID);
	snprintf(file, sizeof(file), "%s/_delta_log/%020d.json", dir, VERSIONS - 2);
	ck_assert_msg(strstr(err.message, file) && strstr(err.message, "malformed"), "%s",
	              err.message);
	ck_assert_int_eq(dsql_table_version(cat, table, &v, &err), DSQL_ENOTFOUND);
	remove_log(dir);
	dir = write_log(WHOLE);
	ck_assert_msg(imported(cat, table, dir, &err) == DSQL_OK, "%s", err.message);
	assert_whole(cat, table);
	ck_assert_int_eq(commit_add(cat, table, "after"), VERSIONS);
	remove_log(dir);
	dsql_catalog_free(cat);
}
END_TEST

/* Killed at a fault point of the import (with the fault points compiled
 * in; else it completes): the table is then absent, and imports again, or
 * whole; never a part of the log. */
START_TEST(killed_import_is_all_or_nothing)
{
	static const char *const points[] = {"import_version", "before_commit", "after_commit"};
	dsql_catalog *cat = open_cat();
	dsql_error err;

	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		char *dir = write_log(WHOLE), table[128];
		int status;
		int64_t v;
		pid_t pid;

		snprintf(table, sizeof(table), "%s", tname("killed"));
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			dsql_catalog *c = NULL;

			if (dsql_catalog_open(&c, scn_uri, NULL, &err) != DSQL_OK)
				_exit(10);
			setenv("DELTASQL_FAULT", points[i], 1);
			_exit(imported(c, table, dir, &err) == DSQL_OK ? 20 : 11);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
		                  (WIFEXITED(status) && WEXITSTATUS(status) == 20),
		              "%s: child status %d", points[i], status);
		if (dsql_table_version(cat, table, &v, &err) == DSQL_ENOTFOUND) {
			ck_assert_msg(strcmp(points[i], "after_commit") != 0 || !WIFSIGNALED(status),
			              "%s: a committed import was lost", points[i]);
			ck_assert_msg(imported(cat, table, dir, &err) == DSQL_OK, "%s: re-import: %s",
			              points[i], err.message);
		}
		ck_assert_msg(version_of(cat, table) == VERSIONS - 1,
		              "%s: the killed import left versions 0 to %lld of 0 to %d", points[i],
		              (long long)version_of(cat, table), VERSIONS - 1);
		assert_whole(cat, table);
		remove_log(dir);
	}
	dsql_catalog_free(cat);
}
END_TEST

void delta_cases(Suite *s)
{
	TCase *tc = tcase_create("import");

	tcase_add_test(tc, failed_import_keeps_existing_table);
	tcase_add_test(tc, refused_import_leaves_nothing_and_can_run_again);
	if (db_caps() & DSQL_CAP_MULTI_PROCESS)
		tcase_add_test(tc, killed_import_is_all_or_nothing);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
}
