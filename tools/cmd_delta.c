/* deltasql import / export: Delta Lake _delta_log in and out. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A progress line on stderr, only when it is a terminal: a bar, the count,
 * the rate and the time left, redrawn at most ten times a second. */
static void progress(int64_t done, int64_t total, void *payload)
{
	static struct timespec start, last;
	const char *what = payload;
	int width = 30, filled = total ? (int)(width * done / total) : width;
	struct timespec now;
	double elapsed, rate;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done <= 1)
		start = last = now;
	if (done < total && done > 1 &&
	    (now.tv_sec - last.tv_sec) * 1e3 + (now.tv_nsec - last.tv_nsec) / 1e6 < 100)
		return;
	last = now;
	elapsed = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
	rate = elapsed > 0 ? done / elapsed : 0;
	fprintf(stderr, "\r%s [%.*s%*s] %lld/%lld", what, filled,
	        "##############################", width - filled, "", (long long)done,
	        (long long)total);
	if (rate > 0)
		fprintf(stderr, "  %.0f/s  ETA %.0f s ", rate, (double)(total - done) / rate);
	if (done == total)
		fputc('\n', stderr);
}

static dsql_progress_cb bar(void)
{
	return isatty(STDERR_FILENO) ? progress : NULL;
}

int cmd_import(cli *c)
{
	dsql_error err;
	int64_t version;
	int rc;

	int opt;

	while ((opt = cli_getopt(c, "", NULL)) != -1)
		if (opt == CLI_STOP)
			return c->stop_rc;
	if (c->nargs != 2)
		return cli_usage(c, "import TABLE PATH");
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (dsql_delta_import(c->cat, c->args[0], c->args[1], bar(), "importing", &err) != DSQL_OK)
		return cli_fail(c, &err);
	if (dsql_table_version(c->cat, c->args[0], &version, &err) != DSQL_OK)
		return cli_fail(c, &err);
	if (c->json)
		cli_print_json(json_pack("{s:s, s:I}", "table", c->args[0], "version",
		                         (json_int_t)version));
	else
		printf("imported %s: versions 0 to %lld\n", c->args[0], (long long)version);
	return EXIT_OK;
}

int cmd_export(cli *c)
{
	static const struct option opts[] = {{"from-version", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	const char *name, *dir;
	int64_t from = 0, written = 0;
	dsql_error err;
	int rc, opt;

	while ((opt = cli_getopt(c, "", opts)) != -1) {
		if (opt == CLI_STOP)
			return c->stop_rc;
		if (cli_parse_int(optarg, &from) != 0)
			return cli_usage(c, "export: --from-version wants a version");
	}
	if (c->nargs != 2)
		return cli_usage(c, "export TABLE DIR [--from-version N]");
	name = c->args[0];
	dir = c->args[1];
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (dsql_delta_export(c->cat, name, dir, from, &written, bar(), "exporting", &err) !=
	    DSQL_OK)
		return cli_fail(c, &err);
	if (c->json)
		cli_print_json(json_pack("{s:s, s:s, s:I}", "table", name, "dir", dir, "written",
		                         (json_int_t)written));
	else
		printf("exported %s to %s/_delta_log: %lld files written\n", name, dir,
		       (long long)written);
	return EXIT_OK;
}
