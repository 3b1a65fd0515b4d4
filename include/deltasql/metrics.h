/*
 * deltasql/metrics.h: what a catalog handle counted since it was opened (or
 * last reset): commits, conflicts by rule, rebases, retries, time spent
 * backing off, and commit latency; and what every writer of the catalog
 * did over a period, from the catalog itself (dsql_catalog_stats).
 */
#ifndef DELTASQL_METRICS_H
#define DELTASQL_METRICS_H

#include "catalog.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Delta's conflict rules, as counted and named. */
typedef enum dsql_conflict_rule {
	DSQL_RULE_CONCURRENT_APPEND = 0,
	DSQL_RULE_CONCURRENT_DELETE_READ = 1,
	DSQL_RULE_CONCURRENT_DELETE_DELETE = 2,
	DSQL_RULE_METADATA_CHANGED = 3,
	DSQL_RULE_PROTOCOL_CHANGED = 4,
	DSQL_RULE_CONCURRENT_TRANSACTION = 5,
	DSQL_RULE_CONCURRENT_DOMAIN_METADATA = 6,
	DSQL_RULE_COUNT = 7
} dsql_conflict_rule;

/* "concurrent_append", ...; NULL for an unknown rule. */
DSQL_EXTERN const char *dsql_conflict_rule_name(int rule);

/* Latency histogram upper bounds in milliseconds; the last bucket is
 * unbounded. */
#define DSQL_LATENCY_BUCKETS 10
#define DSQL_LATENCY_BOUNDS_MS {1, 2, 5, 10, 20, 50, 100, 500, 1000, 0}

typedef struct dsql_metrics {
	uint64_t commits;            /* transactions committed (replays included) */
	uint64_t failures;           /* commits that returned an error */
	uint64_t replays;            /* commits whose id was committed already */
	uint64_t conflicts;          /* commits rejected by a conflict */
	uint64_t conflicts_by_rule[DSQL_RULE_COUNT];
	uint64_t rebases;            /* tables written past a winner without conflict */
	uint64_t retries;            /* attempts repeated after a transient failure */
	uint64_t backoff_ms;         /* time slept between attempts */
	uint64_t latency_count;      /* dsql_txn_commit calls timed */
	uint64_t latency_sum_us;
	uint64_t latency_max_us;
	uint64_t latency_buckets[DSQL_LATENCY_BUCKETS];
	/* commits whose first try, built on what the handle knew of its tables,
	 * found a table moved by another writer and was redone reading under
	 * locks (a cheap try lost, no error) */
	uint64_t hint_misses;
	/* log files published under tables' locations (delta.h), and
	 * publications that failed (the next commit or dsql_delta_publish
	 * catches up; a foreign log stops it) */
	uint64_t published_files;
	uint64_t publish_failures;
} dsql_metrics;

/* Copies the catalog handle's counters into out; size is sizeof(*out) as
 * the caller was built (the struct only grows at the end). */
DSQL_EXTERN void dsql_catalog_metrics(const dsql_catalog *cat, dsql_metrics *out, size_t size);
DSQL_EXTERN void dsql_catalog_metrics_reset(dsql_catalog *cat);

/* --- across processes: what the catalog recorded ---
 *
 * Each commit's journal row holds its attempts and how long it waited
 * before its last attempt (the earlier attempts and their backoff, from
 * the dsql_txn_commit call); a commit rejected by a conflict leaves a row
 * with its rule, table and winning version. The last attempt's own time
 * (its writes and COMMIT) cannot be in a row that attempt writes: the
 * whole latency of a handle's commits is in dsql_metrics above. */
typedef struct dsql_stats {
	int64_t since_ms, until_ms;    /* the period read (epoch milliseconds) */
	uint64_t commits;              /* transactions committed in the period */
	uint64_t retries;              /* attempts beyond the first, of those commits */
	uint64_t max_attempts;         /* the most attempts one commit took */
	uint64_t conflicts;            /* commits rejected by a conflict */
	uint64_t conflicts_by_rule[DSQL_RULE_COUNT];
	/* the wait before the last attempt, over the commits: nearest-rank
	 * percentiles and the maximum, in microseconds (0 without commits) */
	int64_t wait_p50_us, wait_p99_us, wait_max_us;
} dsql_stats;

/* Called once for each (rule, table) pair that rejected commits in the
 * period, with their number. A non-zero return stops and is returned. */
typedef int (*dsql_stats_conflict_cb)(const char *rule, const char *table, uint64_t count,
                                      void *payload);

/* Reads what every writer of the catalog recorded since since_ms (epoch
 * milliseconds): of one table when table is not NULL, else of the whole
 * catalog. size is sizeof(*out) as the caller was built (the struct only
 * grows at the end); cb (may be NULL) receives the conflicts by rule and
 * table. Reads only: one read transaction. Codes: DSQL_OK, DSQL_ENOTFOUND
 * (no such table), DSQL_EINVALID, database codes. */
DSQL_EXTERN int dsql_catalog_stats(dsql_stats *out, size_t size, dsql_catalog *cat,
                                   const char *table, int64_t since_ms,
                                   dsql_stats_conflict_cb cb, void *payload, dsql_error *err);

#ifdef __cplusplus
}
#endif
#endif
