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
		char *text = json_dumps(json_object_get(j, "stats"), JSON_INDENT(2));

		printf("stats:\n%s\n", text);
		free(text);
		json_decref(j);
	}
	return rc;
}
