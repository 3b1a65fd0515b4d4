/* deltasql stats [TABLE] [--since DURATION] [--prometheus]: what every
 * writer of the catalog did over the period, read from the catalog
 * (dsql_catalog_stats): commits per second, retries, conflicts by rule and
 * table, and the wait before commits' last attempts. */
#include "cli.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "90", "90s", "15m", "2h", "7d": milliseconds; -1 when not a duration. */
static int64_t parse_duration(const char *s)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
	char digits[32];
	size_t n = strspn(s, "0123456789");
	int64_t v;

	if (n == 0 || n >= sizeof(digits) || (s[n] && s[n + 1]))
		return -1;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (cli_parse_int(digits, &v) != 0 || v > 100LL * 365 * 86400)
		return -1;
	if (!s[n])
		return v * 1000;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (tolower((unsigned char)s[n]) == units[i].unit)
			return v * units[i].ms;
	return -1;
}

typedef struct pair_list {
	json_t *pairs; /* [{"rule", "table", "count"}] */
} pair_list;

static int conflict_one(const char *rule, const char *table, uint64_t count, void *payload)
{
	pair_list *l = payload;

	json_array_append_new(l->pairs, json_pack("{s:s, s:s, s:I}", "rule", rule, "table", table,
	                                          "count", (json_int_t)count));
	return 0;
}

static double per_second(const dsql_stats *s)
{
	int64_t ms = s->until_ms - s->since_ms;

	return ms > 0 ? (double)s->commits * 1000.0 / (double)ms : 0.0;
}

static json_t *stats_json(const cli *c, const char *table, const dsql_stats *s, json_t *pairs)
{
	json_t *rules = json_object();
	char since[40], until[40];

	for (int r = 0; r < DSQL_RULE_COUNT; r++)
		json_object_set_new(rules, dsql_conflict_rule_name(r),
		                    json_integer((json_int_t)s->conflicts_by_rule[r]));
	cli_format_time(since, sizeof(since), s->since_ms);
	cli_format_time(until, sizeof(until), s->until_ms);
	return json_pack("{s:s, s:o, s:s, s:s, s:I, s:f, s:I, s:I, s:I, s:o, s:O, "
	                 "s:{s:I, s:I, s:I}}",
	                 "catalog", dsql_catalog_uuid(c->cat), "table",
	                 table ? json_string(table) : json_null(), "since", since, "until", until,
	                 "commits", (json_int_t)s->commits, "commits_per_second", per_second(s),
	                 "retries", (json_int_t)s->retries, "max_attempts",
	                 (json_int_t)s->max_attempts, "conflicts", (json_int_t)s->conflicts,
	                 "conflicts_by_rule", rules, "conflicts_by_rule_and_table", pairs,
	                 "wait_before_last_attempt_us", "p50", (json_int_t)s->wait_p50_us, "p99",
	                 (json_int_t)s->wait_p99_us, "max", (json_int_t)s->wait_max_us);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void gauge(const char *name, const char *help, const char *labels, const char *extra,
                  double v)
{
	static const char *last;

	if (last != name) {
		printf("# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
		last = name;
	}
	printf("%s{%s%s} %.9g\n", name, labels, extra, v);
}

static void print_prometheus(const cli *c, const char *table, const dsql_stats *s, json_t *pairs)
{
	char labels[1024], extra[1024];
	FILE *m;
	json_t *p;
	size_t i;

	/* the base labels: catalog, table (when given) and window */
	m = fmemopen(labels, sizeof(labels), "w");
	fputs("catalog=\"", m);
	label(m, dsql_catalog_uuid(c->cat));
	fputc('"', m);
	if (table) {
		fputs(",table=\"", m);
		label(m, table);
		fputc('"', m);
	}
	fprintf(m, ",window_seconds=\"%lld\"", (long long)((s->until_ms - s->since_ms) / 1000));
	fclose(m);
	gauge("deltasql_commits", "Transactions committed in the window.", labels, "",
	      (double)s->commits);
	gauge("deltasql_commits_per_second", "Commit rate over the window.", labels, "",
	      per_second(s));
	gauge("deltasql_commit_retries", "Attempts beyond the first of the commits in the window.",
	      labels, "", (double)s->retries);
	gauge("deltasql_commit_max_attempts", "The most attempts one commit of the window took.",
	      labels, "", (double)s->max_attempts);
	gauge("deltasql_conflicts", "Commits rejected by a conflict in the window.", labels, "",
	      (double)s->conflicts);
	json_array_foreach(pairs, i, p) {
		m = fmemopen(extra, sizeof(extra), "w");
		fputs(",rule=\"", m);
		label(m, json_string_value(json_object_get(p, "rule")));
		fputs("\",conflict_table=\"", m);
		label(m, json_string_value(json_object_get(p, "table")));
		fputc('"', m);
		fclose(m);
		gauge("deltasql_conflicts_by_rule", "Commits rejected by a conflict, by rule and table.",
		      labels, extra, (double)json_integer_value(json_object_get(p, "count")));
	}
	gauge("deltasql_commit_wait_seconds",
	      "Wait before a commit's last attempt (earlier attempts and backoff), by quantile.",
	      labels, ",quantile=\"0.5\"", (double)s->wait_p50_us / 1e6);
	gauge("deltasql_commit_wait_seconds", "", labels, ",quantile=\"0.99\"",
	      (double)s->wait_p99_us / 1e6);
	gauge("deltasql_commit_wait_seconds", "", labels, ",quantile=\"1\"",
	      (double)s->wait_max_us / 1e6);
}

static void print_text(const cli *c, const char *table, const char *since_text,
                       const dsql_stats *s, json_t *pairs)
{
	json_t *p;
	size_t i;

	printf("catalog %s%s%s, the last %s:\n", dsql_catalog_uuid(c->cat), table ? ", table " : "",
	       table ? table : "", since_text);
	printf("  commits     %llu (%.3f/s), %llu retries, at most %llu attempts\n",
	       (unsigned long long)s->commits, per_second(s), (unsigned long long)s->retries,
	       (unsigned long long)s->max_attempts);
	printf("  conflicts   %llu\n", (unsigned long long)s->conflicts);
	json_array_foreach(pairs, i, p)
		printf("    %-28s %-24s %" JSON_INTEGER_FORMAT "\n",
		       json_string_value(json_object_get(p, "rule")),
		       json_string_value(json_object_get(p, "table")),
		       json_integer_value(json_object_get(p, "count")));
	printf("  wait before the last attempt: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
	       (double)s->wait_p50_us / 1000.0, (double)s->wait_p99_us / 1000.0,
	       (double)s->wait_max_us / 1000.0);
}

int cmd_stats(cli *c)
{
	static const struct option opts[] = {{"since", required_argument, NULL, 's'},
	                                     {"prometheus", no_argument, NULL, 'p'},
	                                     {NULL, 0, NULL, 0}};
	const char *since_text = "1h", *table = NULL;
	int64_t since = 3600000;
	int prometheus = 0, rc, opt;
	pair_list l;
	dsql_stats s;
	dsql_error err;
	json_t *j;

	while ((opt = cli_getopt(c, "", opts)) != -1) {
		switch (opt) {
		case CLI_STOP: return CLI_STOP;
		case 's':
			if ((since = parse_duration(optarg)) < 0)
				return cli_usage(c, "stats: --since wants a duration such as 90s, 15m, 2h "
				                    "or 7d, not '%s'", optarg);
			since_text = optarg;
			break;
		case 'p': prometheus = 1; break;
		}
	}
	if (c->nargs > 1)
		return cli_usage(c, "stats [TABLE] [--since DURATION] [--prometheus]");
	if (c->nargs == 1)
		table = c->args[0];
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	{
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		since = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - since;
	}
	l.pairs = json_array();
	if (dsql_catalog_stats(&s, sizeof(s), c->cat, table, since, conflict_one, &l, &err) !=
	    DSQL_OK) {
		json_decref(l.pairs);
		return cli_fail(c, &err);
	}
	if (prometheus)
		print_prometheus(c, table, &s, l.pairs);
	else if (c->json) {
		j = stats_json(c, table, &s, l.pairs);
		cli_print_json(j);
	} else
		print_text(c, table, since_text, &s, l.pairs);
	json_decref(l.pairs);
	return EXIT_OK;
}
