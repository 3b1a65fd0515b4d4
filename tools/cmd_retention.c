/* deltasql expire / vacuum: retention from the command line. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cmd_expire(cli *c)
{
	dsql_expire_options o = DSQL_EXPIRE_OPTIONS_INIT;
	dsql_expire_result r;
	const char *name = NULL;
	dsql_error err;
	int rc;

	for (int i = 1; i < c->argc; i++) {
		const char *a = c->argv[i];

		if (strcmp(a, "--before") == 0 && i + 1 < c->argc) {
			if (cli_parse_time(c->argv[++i], &o.before_ms) != 0)
				return cli_usage(c, "expire: --before wants ISO-8601 or epoch milliseconds");
		} else if (strcmp(a, "--keep-versions") == 0 && i + 1 < c->argc) {
			if (cli_parse_int(c->argv[++i], &o.keep_versions) != 0 || o.keep_versions < 1)
				return cli_usage(c, "expire: --keep-versions wants a positive integer");
		} else if (strcmp(a, "--dry-run") == 0) {
			o.dry_run = 1;
		} else if (a[0] != '-' && !name) {
			name = a;
		} else {
			return cli_usage(c, "expire TABLE [--before T | --keep-versions N] [--dry-run]");
		}
	}
	if (!name)
		return cli_usage(c, "expire TABLE [--before T | --keep-versions N] [--dry-run]");
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

static int vacuum_one(const char *path, int64_t removed_ms, int deleted, void *payload)
{
	json_t *arr = payload;
	char when[40];

	cli_format_time(when, sizeof(when), removed_ms);
	if (arr)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:b}", "path", path, "removed", when,
		                                     "deleted", deleted));
	else
		printf("%s%s\n", path, deleted ? "  (deleted)" : "");
	return 0;
}

int cmd_vacuum(cli *c)
{
	const char *name = NULL;
	int64_t hours = -1;
	int del = 0, rc;
	json_t *arr = NULL;
	dsql_error err;

	for (int i = 1; i < c->argc; i++) {
		const char *a = c->argv[i];

		if (strcmp(a, "--retain") == 0 && i + 1 < c->argc) {
			if (cli_parse_int(c->argv[++i], &hours) != 0)
				return cli_usage(c, "vacuum: --retain wants hours");
		} else if (strcmp(a, "--delete") == 0) {
			del = 1;
		} else if (a[0] != '-' && !name) {
			name = a;
		} else {
			return cli_usage(c, "vacuum TABLE --retain HOURS [--delete]");
		}
	}
	if (!name || hours < 0)
		return cli_usage(c, "vacuum TABLE --retain HOURS [--delete]");
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (c->json)
		arr = json_array();
	if (dsql_table_vacuum(c->cat, name, hours * 3600 * 1000, del, vacuum_one, arr, &err) !=
	    DSQL_OK) {
		json_decref(arr);
		return cli_fail(c, &err);
	}
	if (arr)
		cli_print_json(arr);
	return EXIT_OK;
}
