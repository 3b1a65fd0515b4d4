/* Helpers shared by the test programs. */
#ifndef DSQL_TESTUTIL_H
#define DSQL_TESTUTIL_H

#include <check.h>
#include <deltasql.h>
#include <stddef.h>
#include <stdint.h>

/* A fresh private directory for this process's test files (created once,
 * removed at exit unless DELTASQL_KEEP_TEST_FILES is set). */
const char *tu_tmpdir(void);
/* A fresh "sqlite:<tmpdir>/<name>-<n>.db" URI; static buffer. */
const char *tu_sqlite_uri(const char *name);
/* Runs a shell command, capturing stdout into *out (malloc'd, may be NULL)
 * and returning its exit status (or -1). stdin_text, when not NULL, is fed
 * to the command's standard input. */
int tu_run(const char *cmd, const char *stdin_text, char **out);

/* A table's snapshot at a version as one comparable string (version,
 * timestamp, protocol, metadata, files, app txns); malloc'd, NULL when the
 * snapshot cannot be opened (err filled). */
char *tu_snapshot_text(dsql_catalog *cat, const char *table, int64_t version, dsql_error *err);
/* Runs a suite with Check's normal output; returns the process exit code. */
int tu_run_suite(Suite *s);

/* Runs sql on a connection of its own to uri, through the driver, outside
 * a transaction: the number of rows it returned, and in *first (when not
 * NULL) the first row's first column (-1 without rows). */
int64_t tu_admin(const char *uri, const char *sql, int64_t *first);
/* A PostgreSQL URI naming database db instead of its own: a native
 * "postgresql:///name?..." URI or an ODBC string with "Database=";
 * malloc'd. */
char *tu_pg_uri_for(const char *uri, const char *db);
/* Commits n adds of files first .. first + n - 1 (with statistics) to
 * table, or removes of them; with check SQL, also runs it in the commit's
 * transaction and puts the first row's two columns in out. */
void tu_commit_files(dsql_catalog *cat, const char *table, int first, int n, int remove,
                     const char *check, int64_t out[2]);
/* Leaves the catalog at catalog_uri (a PostgreSQL database of the test's
 * own, reached natively at native_uri) with a file index that had pages,
 * was emptied and was vacuumed to none: where a plan made at a statement's
 * first execution may take a walk for free. */
void tu_pg_empty_file_index(const char *catalog_uri, const char *native_uri);

#endif
