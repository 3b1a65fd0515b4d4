/* Helpers shared by the test programs. */
#ifndef DSQL_TESTUTIL_H
#define DSQL_TESTUTIL_H

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

#endif
