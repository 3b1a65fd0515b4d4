/* deltasql stats COMMAND ...: runs a command and prints what the catalog
 * handle counted while it ran (commits, conflicts by rule, rebases,
 * retries, backoff, latency). With --json only the counters are printed,
 * as one JSON object; the command's exit code is kept. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static json_t *metrics_json(const dsql_metrics *m)
{
	static const int64_t bounds[DSQL_LATENCY_BUCKETS] = DSQL_LATENCY_BOUNDS_MS;
	json_t *rules = json_object(), *hist = json_array();

	for (int r = 0; r < DSQL_RULE_COUNT; r++)
		json_object_set_new(rules, dsql_conflict_rule_name(r),
		                    json_integer((json_int_t)m->conflicts_by_rule[r]));
	for (int b = 0; b < DSQL_LATENCY_BUCKETS; b++) {
		json_t *bucket = json_pack("{s:I}", "count", (json_int_t)m->latency_buckets[b]);

		json_object_set_new(bucket, "le_ms", bounds[b] ? json_integer(bounds[b]) : json_null());
		json_array_append_new(hist, bucket);
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:o}}",
	                 "commits", (json_int_t)m->commits, "failures", (json_int_t)m->failures,
	                 "replays", (json_int_t)m->replays, "conflicts", (json_int_t)m->conflicts,
	                 "conflicts_by_rule", rules, "rebases", (json_int_t)m->rebases, "retries",
	                 (json_int_t)m->retries, "backoff_ms", (json_int_t)m->backoff_ms,
	                 "hint_misses", (json_int_t)m->hint_misses, "latency", "count", (json_int_t)m->latency_count, "sum_us",
	                 (json_int_t)m->latency_sum_us, "max_us", (json_int_t)m->latency_max_us,
	                 "histogram", hist);
}

/* A few lines for a person; --json has every counter. */
static void print_metrics(const dsql_metrics *m)
{
	int any = 0;

	printf("stats: %llu commits (%llu replayed), %llu failed, %llu conflicts, %llu rebases, "
	       "%llu retries (%llu ms backing off)\n",
	       (unsigned long long)m->commits, (unsigned long long)m->replays,
	       (unsigned long long)m->failures, (unsigned long long)m->conflicts,
	       (unsigned long long)m->rebases, (unsigned long long)m->retries,
	       (unsigned long long)m->backoff_ms);
	for (int r = 0; r < DSQL_RULE_COUNT; r++)
		if (m->conflicts_by_rule[r]) {
			printf("%s %s %llu", any ? "," : "stats: conflicts by rule:",
			       dsql_conflict_rule_name(r), (unsigned long long)m->conflicts_by_rule[r]);
			any = 1;
		}
	if (any)
		putchar('\n');
	if (m->latency_count)
		printf("stats: latency mean %.3f ms, max %.3f ms over %llu commits\n",
		       (double)m->latency_sum_us / (double)m->latency_count / 1000.0,
		       (double)m->latency_max_us / 1000.0, (unsigned long long)m->latency_count);
}

int cmd_stats(cli *c, int (*run)(cli *c))
{
	dsql_metrics m;
	json_t *j;
	int rc, json = c->json, saved = -1;

	memset(&m, 0, sizeof(m));
	if (json) {
		/* Only the counters go to stdout. */
		fflush(stdout);
		saved = dup(STDOUT_FILENO);
		if (!freopen("/dev/null", "w", stdout))
			return EXIT_OTHER;
	}
	rc = run(c);
	if (rc == CLI_STOP)
		rc = c->stop_rc;
	if (c->cat)
		dsql_catalog_metrics(c->cat, &m, sizeof(m));
	if (json) {
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	j = json_pack("{s:i, s:o}", "exit_code", rc, "stats", metrics_json(&m));
	if (json) {
		cli_print_json(j);
	} else {
		print_metrics(&m);
		json_decref(j);
	}
	return rc;
}
