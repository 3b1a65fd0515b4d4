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
/* The replay of plans made on an emptied file index (check_pg, and
 * check_odbc through ODBC): in a database of its own on the server of
 * native_uri (a native PostgreSQL URI), reached for the catalog at
 * catalog_uri with its database swapped (a native URI or an ODBC string
 * with "Database="), a file index that had pages is emptied and vacuumed
 * to none, where a plan made at a statement's first execution may take a
 * walk for free; then commits on new connections must still probe the
 * indexes however far the index grows: adds, adds that replace files, and
 * removes, on the handle's hint and under locks. Counted in each commit's
 * own transaction (pg_stat_xact_user_tables). */
void tu_pg_plans_replay(const char *native_uri, const char *catalog_uri);
/* The unique live-file key (core/schema.c), in a database of its own as
 * above: recorded by a new catalog's first native client; adds that
 * replace live files, on the handle's hint, through catalog_uri; a catalog
 * from before the key given it (by concurrent openers; not by a role without
 * the rights); one whose rows break it kept plain. */
void tu_pg_live_key(const char *native_uri, const char *catalog_uri);

#endif
