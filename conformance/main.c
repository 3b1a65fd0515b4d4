/*
 * deltasql-conformance: certifies a driver against a real database.
 *
 *   deltasql-conformance [--driver PATH.so] [--json | --markdown] URI
 *
 * Runs the shared scenarios (driver level, tables, commits, validation,
 * conflicts, application SQL, concurrency) through the public API and the
 * driver vtable only, against the catalog at URI. Every table it creates
 * carries a unique prefix and is dropped at the end; when the catalog did
 * not exist before, its schema is dropped too. Exit status: 0 when nothing
 * failed, 1 when a scenario failed, 2 on a usage or connection error.
 */
#define _GNU_SOURCE
#include <check.h>
#include <deltasql.h>
#include <deltasql/driver.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "scenarios.h"

typedef struct result {
	char group[64];
	char name[128];
	const char *status; /* "pass", "fail", "not supported" */
	char reason[512];
} result;

typedef struct report {
	result *items;
	size_t n;
} report;

static void add(report *r, const char *group, const char *name, const char *status,
                const char *reason)
{
	result *x;

	r->items = realloc(r->items, (r->n + 1) * sizeof(*r->items));
	x = &r->items[r->n++];
	snprintf(x->group, sizeof(x->group), "%s", group);
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->status = status;
	snprintf(x->reason, sizeof(x->reason), "%s", reason ? reason : "");
}

/* Check's TAP lines: "ok N - file:tcase:test: message" / "not ok N - ...". */
static void parse_tap(report *r, const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f)) {
		int ok = strncmp(line, "ok ", 3) == 0;
		char *p = strstr(line, " - "), *file, *tc, *test, *msg;

		if ((!ok && strncmp(line, "not ok ", 7) != 0) || !p)
			continue;
		line[strcspn(line, "\n")] = '\0';
		file = p + 3;
		tc = strchr(file, ':');
		test = tc ? strchr(tc + 1, ':') : NULL;
		msg = test ? strchr(test + 1, ':') : NULL;
		if (!msg)
			continue;
		*tc++ = '\0';
		*test++ = '\0';
		*msg++ = '\0';
		/* Failure messages carry "line:" before the text. */
		while (*msg == ' ')
			msg++;
		add(r, tc, test, ok ? "pass" : "fail", ok ? "" : msg);
	}
	if (f)
		fclose(f);
}

static int drop_prefixed(const dsql_table_info *t, void *payload)
{
	char ***names = payload;
	size_t n = 0;

	if (strncmp(t->name, scn_tag, strlen(scn_tag)) != 0)
		return 0;
	while ((*names)[n])
		n++;
	*names = realloc(*names, (n + 2) * sizeof(**names));
	(*names)[n] = strdup(t->name);
	(*names)[n + 1] = NULL;
	return 0;
}

static const char *const schema_tables[] = {
	"dsql_file", "dsql_tombstone", "dsql_action", "dsql_commit", "dsql_app_txn", "dsql_domain",
	"dsql_transaction", "dsql_table", "dsql_sequence", "dsql_decision", "dsql_conflict",
	"dsql_catalog", NULL,
};

/* Prepared transactions this run left behind (a failed two-phase test)
 * would hold locks on its tables: roll back those prepared since it began. */
typedef struct leftovers {
	dsql_catalog *cat;
	int64_t since_ms;
} leftovers;

static int leftover_cb(const char *gid, int64_t prepared_ms, int decided, void *payload)
{
	const leftovers *l = payload;

	(void)decided;
	if (prepared_ms >= l->since_ms)
		dsql_prepared_rollback(l->cat, gid, NULL);
	return 0;
}

static void cleanup(const char *uri, int created, int64_t started_ms)
{
	dsql_catalog *cat;
	dsql_error err;
	char **names = calloc(1, sizeof(*names));

	if (dsql_catalog_open(&cat, uri, NULL, &err) == DSQL_OK) {
		leftovers l = {cat, started_ms};

		dsql_prepared_list(cat, leftover_cb, &l, NULL);
		dsql_table_list(cat, drop_prefixed, &names, &err);
		for (size_t i = 0; names[i]; i++) {
			dsql_table_drop(cat, names[i], &err);
			free(names[i]);
		}
		dsql_catalog_free(cat);
	}
	free(names);
	if (created) {
		const dsql_driver *d = dsql_driver_find(uri);
		dsql_driver_conn *c;

		if (d && d->connect(&c, uri, &err) == DSQL_OK) {
			for (const char *const *t = schema_tables; *t; t++) {
				char sql[80];
				dsql_driver_stmt *s;

				snprintf(sql, sizeof(sql), "DROP TABLE %s", *t);
				if (d->prepare(&s, c, sql, &err) == DSQL_OK) {
					d->step(s, &err);
					d->finalize(s);
				}
			}
			d->disconnect(c);
		}
	}
}

static void capabilities_text(char *buf, size_t cap, unsigned int caps)
{
	snprintf(buf, cap, "%s%s%s", caps & DSQL_CAP_TWO_PHASE ? "two_phase " : "",
	         caps & DSQL_CAP_ROW_LOCKS ? "row_locks " : "",
	         caps & DSQL_CAP_MULTI_PROCESS ? "multi_process" : "");
}

static void print_human(const report *r, const dsql_driver *d)
{
	char caps[128];

	capabilities_text(caps, sizeof(caps), d->capabilities);
	printf("deltasql conformance: driver %s (ABI %u; capabilities: %s)\n\n", d->name,
	       d->abi_version, caps);
	for (size_t i = 0; i < r->n; i++) {
		const result *x = &r->items[i];

		printf("  %-14s %-20s %-50s%s%s\n", x->status, x->group, x->name,
		       x->reason[0] ? "  " : "", x->reason);
	}
}

static json_t *report_json(const report *r, const dsql_driver *d, size_t failed)
{
	json_t *tests = json_array();

	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(tests, json_pack("{s:s, s:s, s:s, s:s}", "group",
		                                       r->items[i].group, "name", r->items[i].name,
		                                       "status", r->items[i].status, "reason",
		                                       r->items[i].reason));
	return json_pack("{s:s, s:i, s:{s:b, s:b, s:b}, s:o, s:b}", "driver", d->name,
	                 "abi_version", (int)d->abi_version, "capabilities", "two_phase",
	                 !!(d->capabilities & DSQL_CAP_TWO_PHASE), "row_locks",
	                 !!(d->capabilities & DSQL_CAP_ROW_LOCKS), "multi_process",
	                 !!(d->capabilities & DSQL_CAP_MULTI_PROCESS), "tests", tests,
	                 "conformant", failed == 0);
}

/* The feature table a vendor publishes: per group, passed / total, or
 * "not supported". */
static void print_markdown(const report *r, const dsql_driver *d, size_t failed)
{
	char caps[128];
	size_t i = 0;

	capabilities_text(caps, sizeof(caps), d->capabilities);
	printf("## deltasql conformance: `%s`\n\n", d->name);
	printf("Driver ABI %u, capabilities: %s. Result: **%s**.\n\n", d->abi_version, caps,
	       failed ? "not conformant" : "conformant");
	printf("| group | result |\n|---|---|\n");
	while (i < r->n) {
		const char *g = r->items[i].group;
		size_t pass = 0, total = 0, unsupported = 0;

		for (; i < r->n && strcmp(r->items[i].group, g) == 0; i++) {
			total++;
			pass += strcmp(r->items[i].status, "pass") == 0;
			unsupported += strcmp(r->items[i].status, "not supported") == 0;
		}
		if (unsupported == total)
			printf("| %s | not supported |\n", g);
		else
			printf("| %s | %zu/%zu passed |\n", g, pass, total);
	}
}

int main(int argc, char **argv)
{
	const char *uri = NULL, *format = "human";
	char tap[256], tag[64];
	const dsql_driver *d;
	dsql_catalog_options probe = DSQL_CATALOG_OPTIONS_INIT;
	dsql_catalog *cat;
	dsql_error err;
	report r = {NULL, 0};
	size_t failed = 0, errors = 0;
	int created, fd;
	int64_t started_ms;
	SRunner *sr;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			format = "json";
		else if (strcmp(argv[i], "--markdown") == 0)
			format = "markdown";
		else if (strcmp(argv[i], "--driver") == 0 && i + 1 < argc) {
			if (dsql_driver_load(argv[++i], &err) != DSQL_OK) {
				fprintf(stderr, "deltasql-conformance: %s\n", err.message);
				return 2;
			}
		} else if (argv[i][0] != '-' && !uri)
			uri = argv[i];
		else {
			fprintf(stderr, "usage: deltasql-conformance [--driver PATH.so] [--json | "
			                "--markdown] URI\n");
			return 2;
		}
	}
	if (!uri) {
		fprintf(stderr, "usage: deltasql-conformance [--driver PATH.so] [--json | --markdown] "
		                "URI\n");
		return 2;
	}
	d = dsql_driver_find(uri);
	if (!d) {
		fprintf(stderr, "deltasql-conformance: no driver for '%.*s:' URIs\n",
		        (int)strcspn(uri, ":"), uri);
		return 2;
	}
	started_ms = (int64_t)time(NULL) * 1000 - 1000;
	probe.create = 0;
	created = dsql_catalog_open(&cat, uri, &probe, &err) != DSQL_OK;
	dsql_catalog_free(cat);
	if (created && dsql_catalog_open(&cat, uri, NULL, &err) != DSQL_OK) {
		fprintf(stderr, "deltasql-conformance: cannot open a catalog: %s\n", err.message);
		return 2;
	}
	if (created)
		dsql_catalog_free(cat);
	snprintf(tag, sizeof(tag), "dsqlconf%d", (int)getpid());
	scn_tag = tag;

	snprintf(tap, sizeof(tap), "%s/deltasql-conformance-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(tap);
	if (fd < 0) {
		perror("mkstemp");
		return 2;
	}
	close(fd);
	sr = srunner_create(scenarios_suite(d->name, uri, d->capabilities));
	srunner_set_tap(sr, tap);
	srunner_run_all(sr, CK_SILENT);
	parse_tap(&r, tap);
	unlink(tap);
	for (size_t i = 0; i < scn_n_not_supported; i++)
		add(&r, "capabilities", scn_not_supported[i], "not supported",
		    "not supported by this driver");
	failed = (size_t)srunner_ntests_failed(sr);
	{
		TestResult **res = srunner_results(sr);
		int n = srunner_ntests_run(sr);

		for (int i = 0; i < n; i++)
			errors += tr_rtype(res[i]) == CK_ERROR;
		free(res);
	}
	if (strcmp(format, "json") == 0) {
		json_t *j = report_json(&r, d, failed);
		char *s = json_dumps(j, JSON_INDENT(2));

		puts(s);
		free(s);
		json_decref(j);
	} else if (strcmp(format, "markdown") == 0) {
		print_markdown(&r, d, failed);
	} else {
		print_human(&r, d);
	}
	/* Check's own summary line, for CI logs. */
	fprintf(strcmp(format, "human") == 0 ? stdout : stderr,
	        "%d%%: Checks: %d, Failures: %zu, Errors: %zu\n",
	        srunner_ntests_run(sr) ? (int)(100 * (srunner_ntests_run(sr) - failed) /
	                                       srunner_ntests_run(sr))
	                               : 100,
	        srunner_ntests_run(sr), failed - errors, errors);
	fflush(stdout);
	cleanup(uri, created, started_ms);
	srunner_free(sr);
	free(r.items);
	return failed ? 1 : 0;
}
