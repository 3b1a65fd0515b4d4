/*
 * Conflict detection: when a table moved past a transaction's read version,
 * the winning commits are read and checked against what the transaction
 * read and wrote, by Delta's rules for its isolation level. No conflict
 * means the commit is rebased onto the current version.
 */
#ifndef DSQL_CORE_CONFLICT_H
#define DSQL_CORE_CONFLICT_H

#include "txn_int.h"

/* Called under the table's row lock with its current version. Codes:
 * DSQL_OK (rebase), DSQL_ECONFLICT (err->conflict filled), database codes. */
int conflict_check(dsql_catalog *cat, const dsql_txn *txn, const txn_table *t,
                   int64_t current, dsql_error *err);

/* The read version is older than the oldest version the catalog still
 * keeps whole (retention expired it): the winners cannot be checked.
 * Reported as a conflict (rule "read_version_expired"), so that a retry
 * loop re-reads. */
int conflict_expired(const txn_table *t, int64_t oldest, dsql_error *err);

/* Non-zero when the transaction read anything of the table (so its adds
 * are not a blind append). */
int conflict_has_read_set(const txn_table *t);

#endif
