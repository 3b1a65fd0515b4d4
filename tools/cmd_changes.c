/* deltasql changes: the file changes between two versions, or the versions
 * committed after one (for a poller). */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>

static const char *kind_name(dsql_change_kind kind)
{
	switch (kind) {
	case DSQL_CHANGE_ADD: return "add";
	case DSQL_CHANGE_REMOVE: return "remove";
	default: return "cdc";
	}
}

/* The callbacks' payload: the JSON array, or (human output) whether the
 * header line is printed yet: it comes with the first row, so that an
 * error or an empty answer prints none. */
typedef struct out {
	json_t *arr;
	int header;
} out;

static int change_one(const dsql_change *ch, void *payload)
{
	out *o = payload;
	json_t *arr = o->arr, *action;
	char when[40];

	cli_format_time(when, sizeof(when), ch->timestamp_ms);
	if (!arr && !o->header++)
		printf("%8s  %-24s  %-6s  %12s  %s\n", "VERSION", "TIMESTAMP", "KIND", "SIZE", "PATH");
	if (!arr) {
		char size[24] = "-";

		if (ch->size >= 0)
			snprintf(size, sizeof(size), "%" PRId64, ch->size);
		printf("%8" PRId64 "  %s  %-6s  %12s  %s\n", ch->version, when, kind_name(ch->kind),
		       size, ch->path);
		return 0;
	}
	action = json_loads(ch->action_json, 0, NULL);
	json_array_append_new(
		arr, json_pack("{s:I, s:I, s:s, s:s, s:I, s:s, s:s, s:I, s:b, s:o}", "version",
	                       (json_int_t)ch->version, "timestamp_ms", (json_int_t)ch->timestamp_ms,
	                       "timestamp", when, "txn_id", ch->txn_id, "seq", (json_int_t)ch->seq,
	                       "kind", kind_name(ch->kind), "path", ch->path, "size",
	                       (json_int_t)ch->size, "data_change", ch->data_change, "action",
	                       action ? action : json_null()));
	return 0;
}

static int version_one(const dsql_commit_info *h, void *payload)
{
	out *o = payload;
	json_t *arr = o->arr;
	char when[40];

	cli_format_time(when, sizeof(when), h->timestamp_ms);
	if (!arr && !o->header++)
		printf("%8s  %-24s  %-36s  %-16s  %s\n", "VERSION", "TIMESTAMP", "TXN", "OPERATION",
		       "FILES");
	if (arr)
		json_array_append_new(arr,
		                      json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:I}", "version",
		                                (json_int_t)h->version, "timestamp_ms",
		                                (json_int_t)h->timestamp_ms, "timestamp", when,
		                                "txn_id", h->txn_id, "operation", h->operation, "adds",
		                                (json_int_t)h->adds, "removes",
		                                (json_int_t)h->removes));
	else
		printf("%8" PRId64 "  %s  %-36s  %-16s  +%" PRId64 " -%" PRId64 "\n", h->version, when,
		       h->txn_id, h->operation, h->adds, h->removes);
	return 0;
}

static int changes_after(cli *c, const char *name, int64_t after)
{
	out o = {c->json ? json_array() : NULL, 0};
	json_t *arr = o.arr;
	int64_t latest = 0;
	dsql_error err;

	if (dsql_changes_after(&latest, c->cat, name, after, version_one, &o, &err) != DSQL_OK) {
		json_decref(arr);
		return cli_fail(c, &err);
	}
	if (arr)
		cli_print_json(json_pack("{s:s, s:I, s:I, s:o}", "table", name, "after",
		                         (json_int_t)after, "latest", (json_int_t)latest, "versions",
		                         arr));
	return EXIT_OK;
}

static int changes_between(cli *c, const char *name, int64_t from, int64_t to)
{
	out o = {c->json ? json_array() : NULL, 0};
	json_t *arr = o.arr;
	int64_t last = 0;
	dsql_error err;

	if (dsql_changes(&last, c->cat, name, from, to, change_one, &o, &err) != DSQL_OK) {
		json_decref(arr);
		return cli_fail(c, &err);
	}
	if (arr)
		cli_print_json(json_pack("{s:s, s:I, s:I, s:o}", "table", name, "from",
		                         (json_int_t)from, "to", (json_int_t)last, "changes", arr));
	return EXIT_OK;
}

int cmd_changes(cli *c)
{
	static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
	                                     {"to", required_argument, NULL, 't'},
	                                     {"after", required_argument, NULL, 'a'},
	                                     {NULL, 0, NULL, 0}};
	int64_t from = -1, to = DSQL_LATEST, after = -1, *slot;
	int rc, opt, has_after = 0;

	while ((opt = cli_getopt(c, "", opts)) != -1) {
		if (opt == CLI_STOP)
			return c->stop_rc;
		slot = opt == 'f' ? &from : opt == 't' ? &to : &after;
		has_after |= opt == 'a';
		if (cli_parse_int(optarg, slot) != 0)
			return cli_usage(c, "changes: --%s wants a version (a non-negative integer)",
			                 opt == 'f' ? "from" : opt == 't' ? "to" : "after");
	}
	if (c->nargs != 1)
		return cli_usage(c, "changes %s", c->cmd->synopsis);
	if (has_after && (from >= 0 || to != DSQL_LATEST))
		return cli_usage(c, "changes: give --after, or --from [--to], not both");
	if (!has_after && from < 0)
		return cli_usage(c, "changes: --from A (or --after V) is required");
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	return has_after ? changes_after(c, c->args[0], after)
	                 : changes_between(c, c->args[0], from, to);
}
