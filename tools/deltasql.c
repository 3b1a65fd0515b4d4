/*
 * deltasql: the command-line tool.
 *
 *   deltasql [OPTION]... COMMAND [ARG]...
 *
 * The table below is the one source of every command's help: --help,
 * "deltasql help CMD", the man page (help2man reads "deltasql help --all")
 * and the bash completion ("deltasql help --commands" and "--options CMD").
 * Exit codes: 0 ok, 1 other error, 2 usage, invalid or unsupported input, 3 conflict,
 * 4 not found.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmd_help(cli *c);
static int cmd_version(cli *c);

static const cli_command commands[] = {
	{"init", cmd_init, "", "Create the catalog schema in the database (an older schema is upgraded).",
	 "", "deltasql -c sqlite:lake.db init"},
	{"create", cmd_create,
	 "TABLE [--location L] [--schema JSON] [--partition-by a,b] [--property k=v]...",
	 "Create a table at version 0, with its protocol and metaData.",
	 "  --location=L\tthe table's data location (a path or URI)\n"
	 "  --schema=JSON\tthe Delta schema (a struct type as JSON)\n"
	 "  --partition-by=a,b\tpartition columns, comma separated\n"
	 "  --property=k=v\ta table property (repeatable)\n",
	 "deltasql create events --location /lake/events --partition-by day"},
	{"list", cmd_list, "", "List the tables, their versions and locations.", "",
	 "deltasql --json list"},
	{"drop", cmd_drop, "TABLE", "Drop a table and its history from the catalog.", "",
	 "deltasql drop scratch"},
	{"commit", cmd_commit, "[--prepare | --two-phase] [FILE|-]",
	 "Commit one JSON document to one or several tables atomically (read from FILE, or "
	 "standard input).",
	 "  --prepare\tphase one of a two-phase commit: prepare, print the global id\n"
	 "  --two-phase\tprepare and commit through the native two-phase protocol\n",
	 "deltasql commit batch.json"},
	{"prepared", cmd_prepared, "", "List this catalog's prepared (two-phase) transactions.", "",
	 "deltasql prepared"},
	{"recover", cmd_recover, "[--commit GID | --rollback GID | --older-than SECONDS]",
	 "Resolve prepared transactions: one by its global id, or all those left older than "
	 "SECONDS (default 60) by crashed processes.",
	 "  --commit=GID\tcommit the prepared transaction GID\n"
	 "  --rollback=GID\troll back the prepared transaction GID\n"
	 "  --older-than=SECONDS\tresolve every prepared transaction older than this\n",
	 "deltasql recover --older-than 300"},
	{"snapshot", cmd_snapshot, "TABLE [--version N | --timestamp T]",
	 "Show a table's version, protocol, metadata, live files and app transactions.",
	 "  -v, --version=N\tthe snapshot of version N\n"
	 "  -t, --timestamp=T\tthe latest version at T (ISO-8601 or epoch milliseconds)\n",
	 "deltasql snapshot events --timestamp 2026-01-31T12:00:00Z"},
	{"history", cmd_history, "TABLE",
	 "One line per version: timestamp, transaction id, operation, files added and removed.", "",
	 "deltasql history events"},
	{"changes", cmd_changes, "TABLE (--from A [--to B] | --after V)",
	 "The files added and removed (and the cdc files) by versions A to B, in commit order, "
	 "each with its version and commit time; or the versions committed after V (a poller's "
	 "question). Read by version from the catalog, without loading a snapshot.",
	 "  --from=A\tthe first version (included)\n"
	 "  --to=B\tthe last version (included; default the latest)\n"
	 "  --after=V\tlist the versions committed after V instead (nothing new: no line)\n",
	 "deltasql changes events --from 10 --to 12"},
	{"import", cmd_import, "TABLE PATH", "Import PATH/_delta_log as a new table.", "",
	 "deltasql import events /lake/events"},
	{"export", cmd_export, "TABLE DIR [--from-version N]",
	 "Write the table's commits as DIR/_delta_log/*.json (DIR is created when missing), "
	 "never overwriting a different file.",
	 "  --from-version=N\tstart at version N (default 0)\n",
	 "deltasql export events /lake/events"},
	{"publish", cmd_publish, "[TABLE...] [--follow [--interval MS]] | --on | --off",
	 "Publish tables' logs under their locations (every commit does; this catches up), or "
	 "turn publication on or off for the catalog.",
	 "  --follow\tkeep publishing every table, a round every interval, until stopped\n"
	 "  --interval=MS\tmilliseconds between rounds (default 1000)\n"
	 "  --on\tturn publication on for the catalog\n"
	 "  --off\tturn publication off for the catalog\n",
	 "deltasql publish --follow"},
	{"expire", cmd_expire, "TABLE [--before T | --keep-versions N] [--dry-run]",
	 "Drop old versions' detail; every retained snapshot stays identical.",
	 "  --before=T\texpire versions older than T (ISO-8601 or epoch milliseconds)\n"
	 "  --keep-versions=N\tkeep the newest N versions\n"
	 "  -n, --dry-run\tsay what would be expired, change nothing\n",
	 "deltasql expire events --keep-versions 100 --dry-run"},
	{"vacuum", cmd_vacuum, "TABLE --retain HOURS [--delete]",
	 "List data files that no retained version references and that were removed more than "
	 "HOURS ago; delete them only under the table's local location.",
	 "  --retain=HOURS\tkeep files removed less than HOURS ago\n"
	 "  --delete\tdelete the files listed\n",
	 "deltasql vacuum events --retain 168 --delete"},
	{"stats", cmd_stats, "[TABLE] [--since DURATION] [--prometheus]",
	 "What every writer of the catalog (or of TABLE) did lately, as the catalog recorded it: "
	 "commits per second, retries, conflicts by rule and table, the wait before commits' last "
	 "attempts (p50, p99, max).",
	 "  --since=DURATION\tthe period: 90s, 15m, 2h, 7d (default 1h)\n"
	 "  --prometheus\tprint Prometheus' text format (gauges) instead\n",
	 "deltasql stats --since 15m --prometheus"},
	{"help", cmd_help, "[COMMAND]", "Print the help of COMMAND, or of deltasql.",
	 "  --all\tevery command's help (what the man page shows)\n"
	 "  --commands\tthe command names, one a line\n"
	 "  --options=COMMAND\tCOMMAND's long options, one a line (\"deltasql\": the global "
	 "ones)\n",
	 "deltasql help create"},
	{"version", cmd_version, "", "Print the version of deltasql.", "", "deltasql version"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_options[] =
	"  -c, --catalog=URI\tthe catalog (sqlite:PATH, file:PATH, postgresql://..., "
	"odbc:CONNECTION-STRING); default $DELTASQL_CATALOG\n"
	"  -j, --json\tmachine output: one JSON document on stdout (errors too)\n"
	"  --driver=PATH.so\tload a driver plugin first\n"
	"  --log-level=LEVEL\tlog to stderr what the library does: error, warn, info, debug "
	"or off (default $DELTASQL_LOG, else off)\n"
	"  --log-format=FORMAT\tlog lines as text or json (default $DELTASQL_LOG_FORMAT, else "
	"text)\n"
	"  -h, --help\tprint help (after a command: that command's)\n"
	"  -V, --version\tprint the version\n";

const cli_command *cli_find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Prints "  term\tdescription" lines as two aligned columns (apart: a blank
 * line after each, which help2man reads as one item each). */
static void print_options_apart(FILE *f, const char *text, int apart)
{
	while (*text) {
		const char *tab = strchr(text, '\t'), *nl = strchr(text, '\n');
		int term = (int)(tab - text);

		fprintf(f, "%-*.*s %.*s\n", term < 24 ? 24 : term, term, text, (int)(nl - tab - 1),
		        tab + 1);
		if (apart)
			fputc('\n', f);
		text = nl + 1;
	}
}

static void print_options(FILE *f, const char *text)
{
	print_options_apart(f, text, 0);
}

void cli_print_command_help(FILE *f, const cli_command *cmd)
{
	fprintf(f, "Usage: deltasql [OPTION]... %s%s%s\n%s\n", cmd->name, *cmd->synopsis ? " " : "",
	        cmd->synopsis, cmd->summary);
	if (*cmd->options) {
		fprintf(f, "\nOptions:\n");
		print_options(f, cmd->options);
	}
	fprintf(f, "\nGlobal options (anywhere before \"--\"):\n");
	print_options(f, global_options);
	fprintf(f, "\nExample:\n  %s\n", cmd->example);
}

static void print_help(FILE *f, int all)
{
	fprintf(f, "Usage: deltasql [OPTION]... COMMAND [ARG]...\n"
	           "Keep Delta Lake tables' commit logs in a SQL database (SQLite, PostgreSQL, "
	           "ODBC) and commit atomically across several tables.\n\nOptions:\n");
	print_options(f, global_options);
	fprintf(f, "\nCommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	if (all) {
		for (size_t i = 0; i < N_COMMANDS; i++) {
			const cli_command *cmd = &commands[i];

			fprintf(f, "\nCommand %s:\n  deltasql %s %s\n          %s\n\n", cmd->name,
			        cmd->name, cmd->synopsis, cmd->summary);
			print_options_apart(f, cmd->options, 1);
			fprintf(f, "  example:  %s\n", cmd->example);
		}
	} else {
		fprintf(f, "\n'deltasql help COMMAND' or 'deltasql COMMAND --help' prints a command's "
		           "options and an example.\n");
	}
	fprintf(f, "\nEnvironment:\n"
	           "  DELTASQL_CATALOG   the catalog URI when --catalog is not given\n"
	           "  DELTASQL_LOG       the log level when --log-level is not given\n"
	           "  DELTASQL_LOG_FORMAT  text or json, when --log-format is not given\n"
	           "\nExit status:\n"
	           "  0 ok, 1 other error, 2 usage, invalid or unsupported input, 3 commit "
	           "rejected by a conflict, 4 no such table or catalog.\n"
	           "\nExamples:\n"
	           "  deltasql -c sqlite:lake.db init\n"
	           "  deltasql -c sqlite:lake.db create events --location /lake/events\n"
	           "  deltasql -c sqlite:lake.db commit batch.json\n");
}

/* The long option names of a command's option text, one a line. */
static void print_option_names(const char *text)
{
	for (const char *p = strstr(text, "--"); p; p = strstr(p, "--")) {
		size_t n = strcspn(p, "=\t \n");

		printf("%.*s\n", (int)n, p);
		p += n;
	}
}

static int cmd_help(cli *c)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
	                                     {"commands", no_argument, NULL, 'l'},
	                                     {"options", required_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	const cli_command *cmd;
	int o, all = 0;

	while ((o = cli_getopt(c, "", opts)) != -1) {
		if (o == CLI_STOP)
			return c->stop_rc;
		if (o == 'a') {
			all = 1;
		} else if (o == 'l') {
			for (size_t i = 0; i < N_COMMANDS; i++)
				puts(commands[i].name);
			return EXIT_OK;
		} else if (o == 'o') {
			/* "deltasql" names the options before any command */
			if (!(cmd = cli_find_command(optarg)) && strcmp(optarg, "deltasql") != 0)
				return cli_usage(c, "help: no command '%s'", optarg);
			if (cmd)
				print_option_names(cmd->options);
			print_option_names(global_options);
			return EXIT_OK;
		}
	}
	if (c->nargs > 1)
		return cli_usage(c, "help [COMMAND]");
	if (c->nargs == 0) {
		print_help(stdout, all);
		return EXIT_OK;
	}
	if (!(cmd = cli_find_command(c->args[0])))
		return cli_usage(c, "help: no command '%s'", c->args[0]);
	cli_print_command_help(stdout, cmd);
	return EXIT_OK;
}

static int cmd_version(cli *c)
{
	int rc = cli_no_options(c);

	if (rc != EXIT_OK)
		return rc;
	printf("deltasql %s\n", dsql_version());
	return EXIT_OK;
}

/* Levenshtein distance, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], i, j;

	if (lb >= 64 || la >= 64)
		return 64;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static int unknown_command(const cli *c, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < N_COMMANDS; i++) {
		size_t d = distance(name, commands[i].name);

		if (d < best_d || (strncmp(name, commands[i].name, strlen(name)) == 0 && *name &&
		                   !best)) {
			best_d = d < best_d ? d : best_d;
			best = commands[i].name;
		}
	}
	if (best)
		return cli_usage(c, "unknown command '%s'; did you mean '%s'?", name, best);
	return cli_usage(c, "unknown command '%s'", name);
}

/* The global options before the command ("+": stop at the command). */
static int leading_options(cli *c, int argc, char **argv, int *first)
{
	static const struct option opts[] = {{"catalog", required_argument, NULL, 'c'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"driver", required_argument, NULL, 'd'},
	                                     {"log-level", required_argument, NULL, 'L'},
	                                     {"log-format", required_argument, NULL, 'F'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {"version", no_argument, NULL, 'V'},
	                                     {NULL, 0, NULL, 0}};
	dsql_error err;
	int o;

	opterr = 0;
	optind = 0;
	while ((o = getopt_long(argc, argv, "+:c:jhV", opts, NULL)) != -1) {
		switch (o) {
		case 'c': c->catalog_uri = optarg; break;
		case 'j': c->json = 1; break;
		case 'd':
			if (dsql_driver_load(optarg, &err) != DSQL_OK)
				return cli_fail(c, &err);
			break;
		case 'L':
			if (cli_set_log_level(c, optarg) != 0)
				return EXIT_USAGE;
			break;
		case 'F':
			if (cli_set_log_format(c, optarg) != 0)
				return EXIT_USAGE;
			break;
		case 'h': *first = -1; return EXIT_OK;
		case 'V': *first = -2; return EXIT_OK;
		case ':': return cli_usage(c, "option '%s' needs a value", argv[optind - 1]);
		default: return cli_usage(c, "unknown option '%s'", argv[optind - 1]);
		}
	}
	*first = optind;
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const cli_command *cmd;
	int rc, first;
	cli c;

	memset(&c, 0, sizeof(c));
	c.catalog_uri = getenv("DELTASQL_CATALOG");
	c.log_level = -1;
	if (getenv("DELTASQL_LOG") && *getenv("DELTASQL_LOG") &&
	    cli_set_log_level(&c, getenv("DELTASQL_LOG")) != 0)
		return EXIT_USAGE;
	if (getenv("DELTASQL_LOG_FORMAT") && *getenv("DELTASQL_LOG_FORMAT") &&
	    cli_set_log_format(&c, getenv("DELTASQL_LOG_FORMAT")) != 0)
		return EXIT_USAGE;
	if ((rc = leading_options(&c, argc, argv, &first)) != EXIT_OK)
		return rc;
	if (first == -1) {
		print_help(stdout, 0);
		return EXIT_OK;
	}
	if (first == -2) {
		printf("deltasql %s\n", dsql_version());
		return EXIT_OK;
	}
	if (first >= argc)
		return cli_usage(&c, "no command given");
	if (!(cmd = cli_find_command(argv[first])))
		return unknown_command(&c, argv[first]);
	c.cmd = cmd;
	c.argc = argc - first;
	c.argv = argv + first;
	rc = cmd->run(&c);
	if (rc == CLI_STOP)
		rc = c.stop_rc;
	dsql_catalog_free(c.cat);
	free(c.longopts);
	fflush(stdout);
	return rc;
}
