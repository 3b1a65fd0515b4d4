/*
 * deltasql: the command-line tool.
 *
 *   deltasql [--catalog URI] [--driver PATH.so] [--json] COMMAND [ARGS]
 *
 * Global options may stand anywhere before a "--". Exit codes: 0 ok,
 * 1 other error, 2 usage or invalid input, 3 conflict, 4 not found.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	int (*run)(cli *c);
	const char *help;
} commands[] = {
	{"init", cmd_init, "init                       create the catalog schema"},
	{"create", cmd_create,
	 "create TABLE [--location L] [--schema JSON] [--partition-by a,b] [--property k=v]..."},
	{"list", cmd_list, "list                       list the tables"},
	{"drop", cmd_drop, "drop TABLE                 drop a table and its history"},
	{"commit", cmd_commit,
	 "commit [--prepare | --two-phase] [FILE|-]   commit a JSON document atomically"},
	{"prepared", cmd_prepared, "prepared                   list this catalog's prepared transactions"},
	{"recover", cmd_recover,
	 "recover [--commit GID | --rollback GID | --older-than SECONDS]   resolve prepared transactions"},
	{"snapshot", cmd_snapshot, "snapshot TABLE [--version N | --timestamp T]"},
	{"history", cmd_history, "history TABLE              one line per version"},
	{"import", cmd_import, "import TABLE PATH          import PATH/_delta_log as a new table"},
	{"export", cmd_export,
	 "export TABLE DIR [--from-version N]   write DIR/_delta_log/*.json"},
	{"expire", cmd_expire,
	 "expire TABLE [--before T | --keep-versions N] [--dry-run]   drop old versions' detail"},
	{"vacuum", cmd_vacuum,
	 "vacuum TABLE --retain HOURS [--delete]   list data files nothing references"},
	{"stats", NULL, "stats COMMAND ...           run COMMAND, then print commit metrics"},
};

static void help(FILE *f)
{
	fprintf(f, "usage: deltasql [--catalog URI] [--driver PATH.so] [--json] COMMAND ...\n\n"
	           "The catalog URI may also come from DELTASQL_CATALOG "
	           "(sqlite:PATH, postgresql://..., odbc:CONNECTION-STRING).\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].help);
	fprintf(f, "\nexit codes: 0 ok, 1 other error, 2 usage or invalid input, 3 conflict, "
	           "4 no such table or catalog\n");
}

/* Takes the global options out of argv, wherever they stand. */
static int global_options(cli *c, int *argc, char **argv)
{
	int out = 1, i;
	dsql_error err;

	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			break;
		} else if (strcmp(a, "--json") == 0) {
			c->json = 1;
		} else if (strcmp(a, "--catalog") == 0 || strcmp(a, "--driver") == 0) {
			if (i + 1 >= *argc)
				return cli_usage(c, "%s needs a value", a);
			if (a[2] == 'c') {
				c->catalog_uri = argv[++i];
			} else if (dsql_driver_load(argv[++i], &err) != DSQL_OK) {
				return cli_fail(c, &err);
			}
		} else if (strncmp(a, "--catalog=", 10) == 0) {
			c->catalog_uri = a + 10;
		} else {
			argv[out++] = argv[i];
		}
	}
	for (; i < *argc; i++)
		argv[out++] = argv[i];
	*argc = out;
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	cli c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.catalog_uri = getenv("DELTASQL_CATALOG");
	if ((rc = global_options(&c, &argc, argv)) != EXIT_OK)
		return rc;
	if (argc < 2)
		return cli_usage(&c, "no command given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		help(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("deltasql %s\n", dsql_version());
		return EXIT_OK;
	}
	int stats = strcmp(argv[1], "stats") == 0;

	if (stats && argc < 3)
		return cli_usage(&c, "stats COMMAND [ARGS...]");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].run && strcmp(argv[1 + stats], commands[i].name) == 0) {
			c.argc = argc - 1 - stats;
			c.argv = argv + 1 + stats;
			rc = stats ? cmd_stats(&c, commands[i].run) : commands[i].run(&c);
			dsql_catalog_free(c.cat);
			fflush(stdout);
			return rc;
		}
	return cli_usage(&c, "unknown command '%s'", argv[1 + stats]);
}
