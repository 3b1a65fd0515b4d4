/* The deltasql command: shared declarations of its parts. */
#ifndef DSQL_CLI_H
#define DSQL_CLI_H

#include <deltasql.h>
#include <deltasql/driver.h>
#include <getopt.h>
#include <jansson.h>

/* Exit codes: the contract scripts rely on. */
enum {
	EXIT_OK = 0,
	EXIT_OTHER = 1,
	EXIT_USAGE = 2,
	EXIT_CONFLICT = 3,
	EXIT_NOT_FOUND = 4
};

struct cli;

/* One command: how it runs and its help text (the only copy of it: --help,
 * "deltasql help CMD", the man page and the shell completion all read it). */
typedef struct cli_command {
	const char *name;
	int (*run)(struct cli *c);
	const char *synopsis; /* the arguments after the command's name */
	const char *summary;  /* one line */
	const char *options;  /* "  --opt=VALUE\tdescription\n" lines, or "" */
	const char *example;  /* one or more command lines */
} cli_command;

typedef struct cli {
	const char *catalog_uri;
	int json;
	dsql_catalog *cat;
	const cli_command *cmd;
	int argc;
	char **argv; /* the command's own arguments, argv[0] is the command */
	/* after cli_getopt returned -1: the positional arguments */
	int nargs;
	char **args;
	/* the exit code when cli_getopt returned CLI_STOP */
	int stop_rc;
	struct option *longopts; /* the command's and the global options, merged */
	int log_level;           /* -1: no logging (--log-level, DELTASQL_LOG) */
	int log_json;            /* --log-format=json, DELTASQL_LOG_FORMAT=json */
} cli;

/* cli_getopt's answer when the command must end now with c->stop_rc (its
 * help was printed, or its options were wrong). */
#define CLI_STOP (-2)

/* Option codes of long options without a short one start here; the
 * global ones are below it. */
#define CLI_OPT_LONG 0x100
#define CLI_OPT_DRIVER (CLI_OPT_LONG - 1)
#define CLI_OPT_LOG_LEVEL (CLI_OPT_LONG - 2)
#define CLI_OPT_LOG_FORMAT (CLI_OPT_LONG - 3)

/* Sets the logging asked for by --log-level / --log-format; 0, or -1 for a
 * value that is not a level or format (reported). */
int cli_set_log_level(cli *c, const char *level);
int cli_set_log_format(cli *c, const char *format);

/* Reads the command's next option with getopt_long: "--opt=value" and
 * "--opt value", options anywhere before "--". shorts are the command's
 * short options (getopt syntax), longs its long options (ending with a
 * zeroed entry; may be NULL). The global options (--catalog, --json,
 * --driver, --help) are handled here. Returns the option's code, -1 after
 * the last (then c->args / c->nargs hold the positional arguments), or
 * CLI_STOP. */
int cli_getopt(cli *c, const char *shorts, const struct option *longs);
/* Parses a command that has no options of its own; returns EXIT_OK, a
 * usage error's code, or CLI_STOP (a command may return CLI_STOP itself:
 * the exit code is then c->stop_rc). */
int cli_no_options(cli *c);

/* The commands and their help. */
const cli_command *cli_find_command(const char *name);
void cli_print_command_help(FILE *f, const cli_command *cmd);

/* Reports a library error on stderr (and as JSON on stdout with --json);
 * returns the matching exit code. */
int cli_fail(const cli *c, const dsql_error *err);
/* Reports a usage error; returns EXIT_USAGE. */
int cli_usage(const cli *c, const char *fmt, ...)
#ifdef __GNUC__
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Opens the catalog named by --catalog / DELTASQL_CATALOG, with the
 * logger asked for. */
int cli_open(cli *c, int create);
void cli_start_logging(cli *c);
/* Prints a JSON value to stdout (indented) and drops the reference. */
void cli_print_json(json_t *v);
/* Formats epoch milliseconds as ISO-8601 UTC. */
void cli_format_time(char *buf, size_t cap, int64_t ms);
/* Parses ISO-8601 (UTC, or with an offset) or epoch milliseconds. */
int cli_parse_time(const char *s, int64_t *ms);
/* A copy of s with control characters escaped, for human output (free
 * it; NULL when out of memory). */
char *cli_escape(const char *s);
/* Parses a non-negative integer; returns 0 on success. */
int cli_parse_int(const char *s, int64_t *out);

int cmd_init(cli *c);
int cmd_create(cli *c);
int cmd_list(cli *c);
int cmd_drop(cli *c);
int cmd_snapshot(cli *c);
int cmd_history(cli *c);
int cmd_changes(cli *c);
int cmd_commit(cli *c);
int cmd_prepared(cli *c);
int cmd_expire(cli *c);
int cmd_import(cli *c);
int cmd_export(cli *c);
int cmd_publish(cli *c);
int cmd_vacuum(cli *c);
int cmd_recover(cli *c);
int cmd_stats(cli *c);

#endif
