/* deltasql expire / vacuum: retention from the command line. */
#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int cmd_expire(cli *c)
{
	dsql_expire_options o = DSQL_EXPIRE_OPTIONS_INIT;
	dsql_expire_result r;
	static const struct option opts[] = {{"before", required_argument, NULL, 'b'},
	                                     {"keep-versions", required_argument, NULL, 'k'},
	                                     {"dry-run", no_argument, NULL, 'n'},
	                                     {NULL, 0, NULL, 0}};
	const char *name;
	dsql_error err;
	int rc, opt;

	while ((opt = cli_getopt(c, "n", opts)) != -1) {
		switch (opt) {
		case CLI_STOP: return c->stop_rc;
		case 'b':
			if (cli_parse_time(optarg, &o.before_ms) != 0)
				return cli_usage(c, "expire: --before wants ISO-8601 or epoch milliseconds");
			break;
		case 'k':
			if (cli_parse_int(optarg, &o.keep_versions) != 0 || o.keep_versions < 1)
				return cli_usage(c, "expire: --keep-versions wants a positive integer");
			break;
		case 'n': o.dry_run = 1; break;
		}
	}
	if (c->nargs != 1)
		return cli_usage(c, "expire TABLE [--before T | --keep-versions N] [--dry-run]");
	name = c->args[0];
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (dsql_table_expire(c->cat, name, &o, &r, &err) != DSQL_OK)
		return cli_fail(c, &err);
	if (c->json)
		cli_print_json(json_pack("{s:s, s:b, s:I, s:I, s:I, s:I}", "table", name, "dry_run",
		                         o.dry_run, "oldest_version", (json_int_t)r.oldest_version,
		                         "versions_expired", (json_int_t)r.versions_expired,
		                         "actions_removed", (json_int_t)r.actions_removed,
		                         "files_removed", (json_int_t)r.files_removed));
	else
		printf("%s%s: oldest version kept %lld; %lld versions expired, %lld actions and %lld "
		       "file rows removed\n",
		       o.dry_run ? "(dry run) " : "", name, (long long)r.oldest_version,
		       (long long)r.versions_expired, (long long)r.actions_removed,
		       (long long)r.files_removed);
	return EXIT_OK;
}

typedef struct vacuum_list {
	json_t *arr; /* --json */
	int64_t listed, deleted;
} vacuum_list;

static int vacuum_one(const char *path, int64_t removed_ms, int deleted, void *payload)
{
	vacuum_list *l = payload;
	char when[40];

	l->listed++;
	l->deleted += deleted != 0;
	cli_format_time(when, sizeof(when), removed_ms);
	if (l->arr)
		json_array_append_new(l->arr, json_pack("{s:s, s:s, s:b}", "path", path, "removed",
		                                        when, "deleted", deleted));
	else
		printf("%s%s\n", path, deleted ? "  (deleted)" : "");
	return 0;
}

int cmd_vacuum(cli *c)
{
	static const struct option opts[] = {{"retain", required_argument, NULL, 'r'},
	                                     {"delete", no_argument, NULL, 'D'},
	                                     {NULL, 0, NULL, 0}};
	const char *name;
	int64_t hours = -1;
	int del = 0, rc, opt;
	vacuum_list l = {NULL, 0, 0};
	dsql_error err;

	while ((opt = cli_getopt(c, "", opts)) != -1) {
		switch (opt) {
		case CLI_STOP: return c->stop_rc;
		case 'r':
			if (cli_parse_int(optarg, &hours) != 0)
				return cli_usage(c, "vacuum: --retain wants hours");
			/* In milliseconds it must fit: wrapped, it would keep nothing. */
			if (hours > INT64_MAX / 3600000)
				return cli_usage(c, "vacuum: --retain is out of range (at most "
				                    "2562047788015 hours)");
			break;
		case 'D': del = 1; break;
		}
	}
	if (c->nargs != 1 || hours < 0)
		return cli_usage(c, "vacuum TABLE --retain HOURS [--delete]");
	name = c->args[0];
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (c->json)
		l.arr = json_array();
	if (dsql_table_vacuum(c->cat, name, hours * 3600 * 1000, del, vacuum_one, &l, &err) !=
	    DSQL_OK) {
		json_decref(l.arr);
		return cli_fail(c, &err);
	}
	if (l.arr)
		cli_print_json(l.arr);
	else if (l.listed == 0)
		printf("%s: nothing to vacuum (no unreferenced file removed more than %lld hours "
		       "ago)\n", name, (long long)hours);
	else
		printf("%s: %lld unreferenced files, %lld deleted%s\n", name, (long long)l.listed,
		       (long long)l.deleted, del ? "" : " (--delete deletes them)");
	return EXIT_OK;
}
