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

#endif
