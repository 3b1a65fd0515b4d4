/* Two-phase commit from the command line: list prepared transactions of the
 * catalog, and resolve them. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int list_one(const char *gid, int64_t prepared_ms, int decided, void *payload)
{
	json_t *arr = payload;
	char when[40];

	cli_format_time(when, sizeof(when), prepared_ms);
	if (arr)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:b}", "gid", gid, "prepared", when,
		                                     "decided", decided));
	else
		printf("%s  %s  %s\n", gid, when, decided ? "decided: commit" : "undecided");
	return 0;
}

int cmd_prepared(cli *c)
{
	json_t *arr = NULL;
	dsql_error err;
	int rc;

	if ((rc = cli_no_options(c)) != EXIT_OK)
		return rc;
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (c->json)
		arr = json_array();
	if (dsql_prepared_list(c->cat, list_one, arr, &err) != DSQL_OK) {
		json_decref(arr);
		return cli_fail(c, &err);
	}
	if (arr)
		cli_print_json(arr);
	return EXIT_OK;
}

int cmd_recover(cli *c)
{
	const char *commit_gid = NULL, *rollback_gid = NULL;
	int64_t older_than_s = 60;
	unsigned int committed = 0, rolled_back = 0;
	static const struct option opts[] = {{"commit", required_argument, NULL, 'C'},
	                                     {"rollback", required_argument, NULL, 'R'},
	                                     {"older-than", required_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	dsql_error err;
	int rc, opt;

	while ((opt = cli_getopt(c, "", opts)) != -1) {
		switch (opt) {
		case CLI_STOP: return c->stop_rc;
		case 'C': commit_gid = optarg; break;
		case 'R': rollback_gid = optarg; break;
		case 'o':
			if (cli_parse_int(optarg, &older_than_s) != 0)
				return cli_usage(c, "recover: --older-than wants seconds");
			break;
		}
	}
	if (c->nargs != 0)
		return cli_usage(c, "recover [--commit GID | --rollback GID | --older-than SECONDS]");
	if (commit_gid && rollback_gid)
		return cli_usage(c, "recover: give --commit or --rollback, not both");
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (commit_gid || rollback_gid) {
		const char *gid = commit_gid ? commit_gid : rollback_gid;

		rc = commit_gid ? dsql_prepared_commit(c->cat, gid, &err)
		                : dsql_prepared_rollback(c->cat, gid, &err);
		if (rc != DSQL_OK)
			return cli_fail(c, &err);
		committed = commit_gid != NULL;
		rolled_back = rollback_gid != NULL;
	} else if (dsql_prepared_recover(c->cat, older_than_s * 1000, &committed, &rolled_back,
	                                 &err) != DSQL_OK) {
		return cli_fail(c, &err);
	}
	if (c->json)
		cli_print_json(json_pack("{s:i, s:i}", "committed", committed, "rolled_back",
		                         rolled_back));
	else
		printf("recovered: %u committed, %u rolled back\n", committed, rolled_back);
	return EXIT_OK;
}
