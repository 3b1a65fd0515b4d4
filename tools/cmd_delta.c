/* deltasql import / export: Delta Lake _delta_log in and out. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A progress bar on stderr, only when it is a terminal. */
static void progress(int64_t done, int64_t total, void *payload)
{
	const char *what = payload;
	int width = 40, filled = total ? (int)(width * done / total) : width;

	fprintf(stderr, "\r%s [%.*s%*s] %lld/%lld", what, filled,
	        "########################################", width - filled, "", (long long)done,
	        (long long)total);
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

	if (c->argc != 3)
		return cli_usage(c, "import TABLE PATH");
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (dsql_delta_import(c->cat, c->argv[1], c->argv[2], bar(), "importing", &err) != DSQL_OK)
		return cli_fail(c, &err);
	if (dsql_table_version(c->cat, c->argv[1], &version, &err) != DSQL_OK)
		return cli_fail(c, &err);
	if (c->json)
		cli_print_json(json_pack("{s:s, s:I}", "table", c->argv[1], "version",
		                         (json_int_t)version));
	else
		printf("imported %s: versions 0 to %lld\n", c->argv[1], (long long)version);
	return EXIT_OK;
}

int cmd_export(cli *c)
{
	const char *name = NULL, *dir = NULL;
	int64_t from = 0, written = 0;
	dsql_error err;
	int rc;

	for (int i = 1; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--from-version") == 0 && i + 1 < c->argc) {
			if (cli_parse_int(c->argv[++i], &from) != 0)
				return cli_usage(c, "export: --from-version wants a version");
		} else if (!name) {
			name = c->argv[i];
		} else if (!dir) {
			dir = c->argv[i];
		} else {
			return cli_usage(c, "export TABLE DIR [--from-version N]");
		}
	}
	if (!name || !dir)
		return cli_usage(c, "export TABLE DIR [--from-version N]");
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
