/* The deltasql command: shared declarations of its parts. */
#ifndef DSQL_CLI_H
#define DSQL_CLI_H

#include <deltasql.h>
#include <deltasql/driver.h>
#include <jansson.h>

/* Exit codes: the contract scripts rely on. */
enum {
	EXIT_OK = 0,
	EXIT_OTHER = 1,
	EXIT_USAGE = 2,
	EXIT_CONFLICT = 3,
	EXIT_NOT_FOUND = 4
};

typedef struct cli {
	const char *catalog_uri;
	int json;
	dsql_catalog *cat;
	int argc;
	char **argv; /* the command's own arguments, argv[0] is the command */
} cli;

/* Reports a library error on stderr (and as JSON on stdout with --json);
 * returns the matching exit code. */
int cli_fail(const cli *c, const dsql_error *err);
/* Reports a usage error; returns EXIT_USAGE. */
int cli_usage(const cli *c, const char *fmt, ...)
#ifdef __GNUC__
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Opens the catalog named by --catalog / DELTASQL_CATALOG. */
int cli_open(cli *c, int create);
/* Prints a JSON value to stdout (indented) and drops the reference. */
void cli_print_json(json_t *v);
/* Formats epoch milliseconds as ISO-8601 UTC. */
void cli_format_time(char *buf, size_t cap, int64_t ms);
/* Parses ISO-8601 (UTC, or with an offset) or epoch milliseconds. */
int cli_parse_time(const char *s, int64_t *ms);
/* Parses a non-negative integer; returns 0 on success. */
int cli_parse_int(const char *s, int64_t *out);

int cmd_init(cli *c);
int cmd_create(cli *c);
int cmd_list(cli *c);
int cmd_drop(cli *c);
int cmd_snapshot(cli *c);
int cmd_history(cli *c);
int cmd_commit(cli *c);
int cmd_prepared(cli *c);
int cmd_expire(cli *c);
int cmd_import(cli *c);
int cmd_export(cli *c);
int cmd_vacuum(cli *c);
int cmd_recover(cli *c);
/* Runs another command and prints the catalog metrics it left. */
int cmd_stats(cli *c, int (*run)(cli *c));

#endif
