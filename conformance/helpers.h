/* Helpers shared by the conformance scenarios: a catalog per test, unique
 * table names, Delta actions as JSON, and assertions on snapshots. */
#ifndef DSQL_CONFORMANCE_HELPERS_H
#define DSQL_CONFORMANCE_HELPERS_H

#include <check.h>
#include <deltasql.h>
#include <stdint.h>
#include <sys/types.h>

/* The catalog URI the scenarios run against. */
extern const char *scn_uri;
/* The prefix of every table a run creates (so that it can clean up). */
extern const char *scn_tag;
/* Scenario groups left out because the driver does not declare what they
 * need ("not supported by this driver"), filled by scenarios_suite. */
extern const char *scn_not_supported[8];
extern size_t scn_n_not_supported;

/* Asserts a call returned DSQL_OK; a dsql_error named err must be in scope. */
#define OK(call) ck_assert_msg((call) == DSQL_OK, "%s failed: %s", #call, err.message)

dsql_catalog *open_cat(void);
/* Another process commits one action (JSON, freed here) to table, pausing
 * 1.5 s just before its COMMIT while it holds the table (with fault points
 * compiled in; else it commits at once). Returns once the winner is
 * connected and staged and 0.3 s more: its commit holds the table now. */
pid_t start_paused_winner(const char *table, char *action_json);
/* Waits for the winner; asserts that it committed. */
void end_winner(pid_t pid);
/* A table name unique to this process and call (8 live at a time). */
const char *tname(const char *base);
/* Two columns: x (long) and p (string). */
extern const char *schema_xy;
/* Creates a table with schema_xy, partitioned by p when asked. */
void create(dsql_catalog *cat, const char *name, int partitioned);
/* Commits a protocol with the deletionVectors feature (reader 3, writer 7). */
void enable_deletion_vectors(dsql_catalog *cat, const char *name);
extern const char *protocol_with_dvs;
/* Imports table t from a log of one version: extra_line (a commitInfo,
 * or ""), protocol_line, a metaData without columns, an add of "a". */
void import_one_version(dsql_catalog *cat, const char *t, const char *protocol_line,
                        const char *extra_line);
/* An add action (partition p=part when part is not NULL), malloc'd. */
char *add_json(const char *path, int64_t size, const char *part);
char *remove_json(const char *path);
/* Stages json (and frees it). */
int stage(dsql_txn *txn, const char *table, char *json, dsql_error *err);
int64_t commit_add_in(dsql_catalog *cat, const char *table, const char *path, const char *part);
int64_t commit_add(dsql_catalog *cat, const char *table, const char *path);
int64_t version_of(dsql_catalog *cat, const char *table);
/* The live paths at a version as "a,b,c" (malloc'd). */
char *paths_at(dsql_catalog *cat, const char *table, int64_t version);
void assert_paths(dsql_catalog *cat, const char *table, int64_t version, const char *want);
/* Number of versions; asserts they are contiguous from 0. */
int64_t history_len(dsql_catalog *cat, const char *table);

/* Runs one statement without parameters on a connection of its own
 * through the driver vtable, outside any deltasql transaction (the
 * application's own schema changes). Asserts it succeeded. */
void direct_exec(const char *sql);

/* The conflict-rule scenarios (conflicts.c). */
void conflict_cases(Suite *s);
/* Application SQL in the commit (appsql.c). */
void appsql_cases(Suite *s);
/* Non-zero when the driver has the database judge application SQL. */
int appsql_judged(void);
/* The bank: conservation under concurrent writers and readers (bank.c). */
void bank_cases(Suite *s);
/* Crash consistency at every fault point (crash.c). */
void crash_cases(Suite *s);
/* The driver capabilities of the catalog under test. */
unsigned int db_caps(void);
/* Retention: expire and vacuum (retention.c). */
void retention_cases(Suite *s);
/* Delta log import (delta.c). */
void delta_cases(Suite *s);
/* Native two-phase commit (twophase.c). */
void twophase_cases(Suite *s);
/* Commits built on a handle's stale hints (hints.c). */
void hint_cases(Suite *s);
/* Typed file actions (typed.c). */
void typed_file_cases(Suite *s);
/* Changes between versions and the versions after one (changes.c). */
void changes_cases(Suite *s);
/* Byte-exact names and paths, large statistics, the path limit (exact.c). */
void exact_cases(Suite *s);
/* What the core relies on from a driver, through the vtable (driver_cases.c). */
void driver_cases(Suite *s);

#endif
