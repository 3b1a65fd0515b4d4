/* The catalog's simple commands: init, create, list, drop, snapshot,
 * history. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_init(cli *c)
{
	int rc;

	if ((rc = cli_no_options(c)) != EXIT_OK)
		return rc;
	if ((rc = cli_open(c, 1)) != EXIT_OK)
		return rc;
	if (c->json)
		cli_print_json(json_pack("{s:s, s:s}", "catalog", dsql_catalog_uuid(c->cat), "driver",
		                         dsql_catalog_driver(c->cat)));
	else
		printf("catalog %s ready (%s)\n", dsql_catalog_uuid(c->cat),
		       dsql_catalog_driver(c->cat));
	return EXIT_OK;
}

/* Splits "a,b" into a NULL-terminated array (in place). */
static const char **split_commas(char *s, int *count)
{
	const char **out = calloc(strlen(s) + 2, sizeof(*out));
	int n = 0;

	for (char *tok = strtok(s, ","); out && tok; tok = strtok(NULL, ","))
		out[n++] = tok;
	*count = n;
	return out;
}

int cmd_create(cli *c)
{
	enum { LOCATION = CLI_OPT_LONG, SCHEMA, PARTITION_BY, PROPERTY };
	static const struct option opts[] = {{"location", required_argument, NULL, LOCATION},
	                                     {"schema", required_argument, NULL, SCHEMA},
	                                     {"partition-by", required_argument, NULL, PARTITION_BY},
	                                     {"property", required_argument, NULL, PROPERTY},
	                                     {NULL, 0, NULL, 0}};
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	const char **props = calloc((size_t)c->argc * 2 + 1, sizeof(*props));
	const char **parts = NULL, *name = NULL;
	int n_props = 0, n_parts, rc = EXIT_OK, opt;
	dsql_error err;
	char *eq;

	while (rc == EXIT_OK && (opt = cli_getopt(c, "", opts)) != -1) {
		switch (opt) {
		case CLI_STOP: rc = CLI_STOP; break;
		case LOCATION: o.location = optarg; break;
		case SCHEMA: o.schema_json = optarg; break;
		case PARTITION_BY:
			free(parts);
			parts = split_commas(optarg, &n_parts);
			o.partition_columns = parts;
			break;
		case PROPERTY:
			if (!(eq = strchr(optarg, '='))) {
				rc = cli_usage(c, "create: --property wants k=v, not '%s'", optarg);
				break;
			}
			*eq = '\0';
			props[n_props++] = optarg;
			props[n_props++] = eq + 1;
			o.properties = props;
			break;
		}
	}
	if (rc == EXIT_OK && c->nargs == 1)
		name = c->args[0];
	else if (rc == EXIT_OK)
		rc = cli_usage(c, "create TABLE [--location L] [--schema JSON] [--partition-by a,b] "
		                  "[--property k=v]...");
	if (rc == EXIT_OK)
		rc = cli_open(c, 0);
	if (rc == EXIT_OK && dsql_table_create(c->cat, name, &o, &err) != DSQL_OK)
		rc = cli_fail(c, &err);
	if (rc == EXIT_OK) {
		if (c->json)
			cli_print_json(json_pack("{s:s, s:i}", "table", name, "version", 0));
		else
			printf("created table %s at version 0\n", name);
	}
	free(props);
	free(parts);
	return rc;
}

static int list_one(const dsql_table_info *t, void *payload)
{
	json_t *arr = payload;
	char when[40];

	if (arr) {
		json_t *o = json_pack("{s:s, s:I, s:s, s:I}", "name", t->name, "version",
		                      (json_int_t)t->version, "uuid", t->uuid, "created_ms",
		                      (json_int_t)t->created_ms);

		json_object_set_new(o, "location", t->location ? json_string(t->location) : json_null());
		json_array_append_new(arr, o);
	} else {
		cli_format_time(when, sizeof(when), t->created_ms);
		printf("%-32s %8" PRId64 "  %s  %s\n", t->name, t->version, when,
		       t->location ? t->location : "");
	}
	return 0;
}

int cmd_list(cli *c)
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
	else
		printf("%-32s %8s  %-24s  %s\n", "TABLE", "VERSION", "CREATED", "LOCATION");
	if (dsql_table_list(c->cat, list_one, arr, &err) != DSQL_OK) {
		json_decref(arr);
		return cli_fail(c, &err);
	}
	if (arr)
		cli_print_json(arr);
	return EXIT_OK;
}

/* A command whose one argument is a table's name, and no options of its
 * own. */
static int table_only(cli *c)
{
	int opt;

	while ((opt = cli_getopt(c, "", NULL)) != -1)
		if (opt == CLI_STOP)
			return CLI_STOP;
	if (c->nargs != 1)
		return cli_usage(c, "%s %s", c->cmd->name, c->cmd->synopsis);
	return EXIT_OK;
}

int cmd_drop(cli *c)
{
	dsql_error err;
	int rc;

	if ((rc = table_only(c)) != EXIT_OK)
		return rc;
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (dsql_table_drop(c->cat, c->args[0], &err) != DSQL_OK)
		return cli_fail(c, &err);
	if (c->json)
		cli_print_json(json_pack("{s:s, s:b}", "table", c->args[0], "dropped", 1));
	else
		printf("dropped table %s\n", c->args[0]);
	return EXIT_OK;
}

static json_t *parse_or_string(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);

	return v ? v : json_string(text);
}

static json_t *snapshot_json(const dsql_snapshot *s)
{
	json_t *files = json_array(), *txns = json_object(), *domains = json_object();
	char when[40];

	for (size_t i = 0; i < dsql_snapshot_file_count(s); i++)
		json_array_append_new(files, parse_or_string(dsql_snapshot_file_json(s, i)));
	for (size_t i = 0; i < dsql_snapshot_app_txn_count(s); i++) {
		int64_t v;
		const char *app = dsql_snapshot_app_txn(s, i, &v);

		json_object_set_new(txns, app, json_integer(v));
	}
	for (size_t i = 0; i < dsql_snapshot_domain_count(s); i++) {
		const char *conf;
		const char *d = dsql_snapshot_domain(s, i, &conf);

		json_object_set_new(domains, d, json_string(conf));
	}
	cli_format_time(when, sizeof(when), dsql_snapshot_timestamp(s));
	return json_pack("{s:s, s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:o}", "table",
	                 dsql_snapshot_table(s), "version", (json_int_t)dsql_snapshot_version(s),
	                 "timestamp_ms", (json_int_t)dsql_snapshot_timestamp(s), "timestamp", when,
	                 "protocol", parse_or_string(dsql_snapshot_protocol_json(s)), "metadata",
	                 parse_or_string(dsql_snapshot_metadata_json(s)), "files", files,
	                 "app_txns", txns, "domains", domains);
}

static void print_snapshot(json_t *j)
{
	json_t *meta = json_object_get(j, "metadata"), *proto = json_object_get(j, "protocol");
	json_t *files = json_object_get(j, "files"), *f, *v;
	const char *k;
	size_t i;

	printf("table:      %s\n", json_string_value(json_object_get(j, "table")));
	printf("version:    %" JSON_INTEGER_FORMAT " (%s)\n",
	       json_integer_value(json_object_get(j, "version")),
	       json_string_value(json_object_get(j, "timestamp")));
	printf("protocol:   reader %" JSON_INTEGER_FORMAT ", writer %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(json_object_get(proto, "minReaderVersion")),
	       json_integer_value(json_object_get(proto, "minWriterVersion")));
	printf("schema:     %s\n", json_string_value(json_object_get(meta, "schemaString")));
	printf("partitions:");
	json_array_foreach(json_object_get(meta, "partitionColumns"), i, v)
		printf(" %s", json_string_value(v));
	printf("\nfiles:      %zu\n", json_array_size(files));
	json_array_foreach(files, i, f)
		printf("  %s  %" JSON_INTEGER_FORMAT " bytes\n",
		       json_string_value(json_object_get(f, "path")),
		       json_integer_value(json_object_get(f, "size")));
	json_object_foreach(json_object_get(j, "app_txns"), k, v)
		printf("app txn:    %s = %" JSON_INTEGER_FORMAT "\n", k, json_integer_value(v));
}

int cmd_snapshot(cli *c)
{
	static const struct option opts[] = {{"version", required_argument, NULL, 'v'},
	                                     {"timestamp", required_argument, NULL, 't'},
	                                     {NULL, 0, NULL, 0}};
	int64_t version = DSQL_LATEST, at = -1;
	const char *name;
	dsql_snapshot *s;
	dsql_error err;
	json_t *j;
	int rc, opt;

	while ((opt = cli_getopt(c, "v:t:", opts)) != -1) {
		switch (opt) {
		case CLI_STOP: return c->stop_rc;
		case 'v':
			if (cli_parse_int(optarg, &version) != 0)
				return cli_usage(c, "snapshot: --version wants a non-negative integer");
			break;
		case 't':
			if (cli_parse_time(optarg, &at) != 0)
				return cli_usage(c, "snapshot: --timestamp wants ISO-8601 "
				                    "(2026-01-31T12:00:00Z) or epoch milliseconds");
			break;
		}
	}
	if (c->nargs != 1)
		return cli_usage(c, "snapshot TABLE [--version N | --timestamp T]");
	name = c->args[0];
	if (version != DSQL_LATEST && at >= 0)
		return cli_usage(c, "snapshot: give --version or --timestamp, not both");
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	rc = at >= 0 ? dsql_snapshot_open_at(&s, c->cat, name, at, &err)
	             : dsql_snapshot_open(&s, c->cat, name, version, &err);
	if (rc != DSQL_OK)
		return cli_fail(c, &err);
	j = snapshot_json(s);
	dsql_snapshot_free(s);
	if (c->json) {
		cli_print_json(j);
	} else {
		print_snapshot(j);
		json_decref(j);
	}
	return EXIT_OK;
}

static int history_one(const dsql_commit_info *h, void *payload)
{
	json_t *arr = payload;
	char when[40];

	cli_format_time(when, sizeof(when), h->timestamp_ms);
	if (arr)
		json_array_append_new(arr,
		                      json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:I}", "version",
		                                (json_int_t)h->version, "timestamp_ms",
		                                (json_int_t)h->timestamp_ms, "timestamp", when,
		                                "txn_id", h->txn_id, "operation", h->operation, "adds",
		                                (json_int_t)h->adds, "removes",
		                                (json_int_t)h->removes));
	else {
		char *id = cli_escape(h->txn_id), *op = cli_escape(h->operation);

		printf("%8" PRId64 "  %s  %-36s  %-16s  +%" PRId64 " -%" PRId64 "\n", h->version, when,
		       id ? id : "?", op ? op : "?", h->adds, h->removes);
		free(id);
		free(op);
	}
	return 0;
}

int cmd_history(cli *c)
{
	json_t *arr = NULL;
	dsql_error err;
	int rc;

	if ((rc = table_only(c)) != EXIT_OK)
		return rc;
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (c->json)
		arr = json_array();
	else
		printf("%8s  %-24s  %-36s  %-16s  %s\n", "VERSION", "TIMESTAMP", "TXN", "OPERATION",
		       "FILES");
	if (dsql_history(c->cat, c->args[0], history_one, arr, &err) != DSQL_OK) {
		json_decref(arr);
		return cli_fail(c, &err);
	}
	if (arr)
		cli_print_json(arr);
	return EXIT_OK;
}
