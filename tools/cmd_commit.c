/*
 * deltasql commit [FILE|-]: one JSON document, committed atomically.
 *
 *   {"txn_id": "...", "isolation": "write_serializable",
 *    "tables": {"NAME": {"read_version": N, "read": {"whole_table": true},
 *                        "actions": [{"add": {...}}, ...]}},
 *    "sql": [{"statement": "UPDATE wm SET v = ? WHERE k = ?", "params": [5, "job"]}],
 *    "sql_role": "app_writer"}
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int doc_error(cli *c, const char *fmt, const char *what)
{
	dsql_error err;
	char msg[DSQL_ERROR_MESSAGE_MAX];

	snprintf(msg, sizeof(msg), fmt, what);
	dsql_error_set(&err, DSQL_EINVALID, NULL, NULL, 0, "%s", msg);
	return cli_fail(c, &err);
}

static json_t *load_document(cli *c, const char *path, int *rc)
{
	json_error_t jerr;
	json_t *doc;
	FILE *f = stdin;

	*rc = EXIT_OK;
	if (path && strcmp(path, "-") != 0 && !(f = fopen(path, "rb"))) {
		*rc = doc_error(c, "cannot open commit document '%s'", path);
		return NULL;
	}
	doc = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	if (f != stdin)
		fclose(f);
	if (!doc) {
		char msg[300];

		snprintf(msg, sizeof(msg), "%s (line %d, column %d)", jerr.text, jerr.line,
		         jerr.column);
		*rc = doc_error(c, "malformed commit document: %s", msg);
	} else if (!json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
		*rc = doc_error(c, "commit document must be a JSON object%s", "");
	}
	return doc;
}

static int check_keys(cli *c, json_t *o, const char *const *allowed, const char *where)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		const char *const *a;

		for (a = allowed; *a && strcmp(*a, k) != 0; a++)
			;
		if (!*a) {
			char msg[400];

			snprintf(msg, sizeof(msg), "unknown key '%.64s' in %s", k, where);
			return doc_error(c, "commit document: %s", msg);
		}
	}
	return EXIT_OK;
}

static int stage_table(cli *c, dsql_txn *txn, const char *name, json_t *t)
{
	static const char *const keys[] = {"read_version", "read", "actions", NULL};
	json_t *rv = json_object_get(t, "read_version"), *actions = json_object_get(t, "actions");
	json_t *read = json_object_get(t, "read");
	json_t *a;
	dsql_error err;
	size_t i;
	int rc;

	if (!json_is_object(t))
		return doc_error(c, "commit document: table '%s' must be an object", name);
	if ((rc = check_keys(c, t, keys, "a table entry")) != EXIT_OK)
		return rc;
	if (rv && !(json_is_integer(rv) && json_integer_value(rv) >= 0))
		return doc_error(c, "commit document: read_version of table '%s' must be a "
		                    "non-negative integer", name);
	if (!json_is_array(actions))
		return doc_error(c, "commit document: table '%s' needs an \"actions\" array", name);
	if (dsql_txn_open_table(txn, name, rv ? json_integer_value(rv) : DSQL_LATEST, &err))
		return cli_fail(c, &err);
	if (read) {
		char *text = json_dumps(read, JSON_COMPACT | JSON_ENCODE_ANY);
		int failed = dsql_txn_read(txn, name, text, &err);

		free(text);
		if (failed)
			return cli_fail(c, &err);
	}
	json_array_foreach(actions, i, a) {
		char *text = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
		int failed = dsql_txn_stage(txn, name, text, &err);

		free(text);
		if (failed) {
			char msg[DSQL_ERROR_MESSAGE_MAX + 300];

			snprintf(msg, sizeof(msg), "table '%.200s', action %zu: %s", name, i,
			         err.message);
			snprintf(err.message, sizeof(err.message), "%.1000s", msg);
			return cli_fail(c, &err);
		}
	}
	return EXIT_OK;
}

/* "sql": [{"statement": "...", "params": [1, "x", 2.5, null, true,
 * {"blob_hex": "00ff"}]}, ...] */
static int param_of(json_t *v, dsql_param *p, unsigned char **blob)
{
	memset(p, 0, sizeof(*p));
	if (json_is_null(v)) {
		p->type = DSQL_TYPE_NULL;
	} else if (json_is_integer(v)) {
		p->type = DSQL_TYPE_INT64;
		p->i64 = json_integer_value(v);
	} else if (json_is_boolean(v)) {
		p->type = DSQL_TYPE_INT64;
		p->i64 = json_is_true(v);
	} else if (json_is_real(v)) {
		p->type = DSQL_TYPE_DOUBLE;
		p->f64 = json_real_value(v);
	} else if (json_is_string(v)) {
		p->type = DSQL_TYPE_TEXT;
		p->data = json_string_value(v);
		p->len = json_string_length(v);
	} else if (json_is_string(json_object_get(v, "blob_hex")) && json_object_size(v) == 1) {
		const char *hex = json_string_value(json_object_get(v, "blob_hex"));
		size_t n = strlen(hex) / 2;

		if (strlen(hex) % 2)
			return -1;
		*blob = malloc(n + 1);
		for (size_t i = 0; i < n; i++) {
			unsigned int byte;

			if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
				return -1;
			(*blob)[i] = (unsigned char)byte;
		}
		p->type = DSQL_TYPE_BLOB;
		p->data = *blob;
		p->len = n;
	} else {
		return -1;
	}
	return 0;
}

static int stage_sql(cli *c, dsql_txn *txn, json_t *list)
{
	json_t *item, *v;
	dsql_error err;
	size_t i, j;

	if (!json_is_array(list))
		return doc_error(c, "commit document: \"sql\" must be an array%s", "");
	json_array_foreach(list, i, item) {
		static const char *const keys[] = {"statement", "params", NULL};
		json_t *params = json_object_get(item, "params");
		size_t n = json_array_size(params);
		dsql_param *p = calloc(n ? n : 1, sizeof(*p));
		unsigned char **blobs = calloc(n ? n : 1, sizeof(*blobs));
		int rc = EXIT_OK;

		if (!json_is_object(item) || !json_is_string(json_object_get(item, "statement")) ||
		    (params && !json_is_array(params)))
			rc = doc_error(c, "commit document: each \"sql\" entry needs a \"statement\" "
			                  "string and an optional \"params\" array%s", "");
		if (rc == EXIT_OK)
			rc = check_keys(c, item, keys, "an sql entry");
		json_array_foreach(params, j, v)
			if (rc == EXIT_OK && param_of(v, &p[j], &blobs[j]) != 0)
				rc = doc_error(c, "commit document: sql parameter of unsupported type "
				                  "(use null, numbers, booleans, strings or {\"blob_hex\": "
				                  "\"..\"})%s", "");
		if (rc == EXIT_OK &&
		    dsql_txn_add_sql(txn, NULL, json_string_value(json_object_get(item, "statement")),
		                     p, n, &err) != DSQL_OK)
			rc = cli_fail(c, &err);
		for (j = 0; j < n; j++)
			free(blobs[j]);
		free(blobs);
		free(p);
		if (rc != EXIT_OK)
			return rc;
	}
	return EXIT_OK;
}

static json_t *sql_results(dsql_txn *txn, size_t n)
{
	json_t *out = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *rows = json_array();

		for (size_t r = 0; r < dsql_txn_sql_row_count(txn, i); r++) {
			json_t *row = json_array();

			for (size_t col = 0; col < dsql_txn_sql_column_count(txn, i); col++) {
				const char *v = dsql_txn_sql_value(txn, i, r, col);

				json_array_append_new(row, v ? json_string(v) : json_null());
			}
			json_array_append_new(rows, row);
		}
		json_array_append_new(out, json_pack("{s:I, s:o}", "changes",
		                                     (json_int_t)dsql_txn_sql_changes(txn, i), "rows",
		                                     rows));
	}
	return out;
}

static void print_result(cli *c, dsql_txn *txn, json_t *tables, size_t n_sql)
{
	json_t *out = json_object(), *t;
	const char *name;

	json_object_foreach(tables, name, t) {
		int64_t v;

		if (dsql_txn_committed_version(txn, name, &v) == DSQL_OK)
			json_object_set_new(out, name, json_pack("{s:I}", "version", (json_int_t)v));
	}
	if (c->json) {
		json_t *j = json_pack("{s:s, s:o, s:i, s:b}", "txn_id", dsql_txn_id(txn), "tables", out,
		                      "attempts", (int)dsql_txn_attempts(txn), "replayed",
		                      dsql_txn_was_replayed(txn));

		if (dsql_txn_gid(txn))
			json_object_set_new(j, "prepared_gid", json_string(dsql_txn_gid(txn)));

		if (n_sql)
			json_object_set_new(j, "sql", sql_results(txn, n_sql));
		cli_print_json(j);
		return;
	}
	if (dsql_txn_gid(txn))
		printf("prepared %s as %s (commit with: deltasql recover --commit %s)\n",
		       dsql_txn_id(txn), dsql_txn_gid(txn), dsql_txn_gid(txn));
	else
		printf("committed %s%s\n", dsql_txn_id(txn),
		       dsql_txn_was_replayed(txn) ? " (already committed earlier: nothing written)"
		                                  : "");
	json_object_foreach(out, name, t)
		printf("  %s -> version %" JSON_INTEGER_FORMAT "\n", name,
		       json_integer_value(json_object_get(t, "version")));
	for (size_t i = 0; i < n_sql; i++)
		printf("  sql[%zu]: %lld rows changed, %zu rows returned\n", i,
		       (long long)dsql_txn_sql_changes(txn, i), dsql_txn_sql_row_count(txn, i));
	json_decref(out);
}

int cmd_commit(cli *c)
{
	static const char *const keys[] = {"txn_id", "isolation", "tables", "sql", "sql_role", NULL};
	dsql_txn_options o = DSQL_TXN_OPTIONS_INIT;
	json_t *doc, *tables, *t, *v;
	dsql_txn *txn = NULL;
	const char *name;
	dsql_error err;
	int rc;

	static const struct option opts[] = {{"prepare", no_argument, NULL, 'p'},
	                                     {"two-phase", no_argument, NULL, '2'},
	                                     {NULL, 0, NULL, 0}};
	const char *path = NULL;
	int mode = 0; /* 0 commit, 1 --prepare, 2 --two-phase */
	int opt;

	while ((opt = cli_getopt(c, "", opts)) != -1) {
		if (opt == CLI_STOP)
			return c->stop_rc;
		mode = opt == 'p' ? 1 : 2;
	}
	if (c->nargs > 1)
		return cli_usage(c, "commit [--prepare | --two-phase] [FILE|-]");
	if (c->nargs == 1)
		path = c->args[0];
	doc = load_document(c, path, &rc);
	if (!doc)
		return rc;
	tables = json_object_get(doc, "tables");
	if ((rc = check_keys(c, doc, keys, "the commit document")) != EXIT_OK)
		goto out;
	if (!(json_is_object(tables) && json_object_size(tables) > 0) &&
	    !(json_object_get(doc, "sql") && (!tables || json_is_object(tables)))) {
		rc = doc_error(c, "commit document needs a non-empty \"tables\" object%s", "");
		goto out;
	}
	if ((v = json_object_get(doc, "txn_id"))) {
		if (!json_is_string(v)) {
			rc = doc_error(c, "commit document: \"txn_id\" must be a string%s", "");
			goto out;
		}
		o.txn_id = json_string_value(v);
	}
	if ((v = json_object_get(doc, "isolation")) &&
	    (!json_is_string(v) || dsql_isolation_parse(&o.isolation, json_string_value(v), &err))) {
		rc = json_is_string(v) ? cli_fail(c, &err)
		                       : doc_error(c, "commit document: \"isolation\" must be a "
		                                      "string%s", "");
		goto out;
	}
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		goto out;
	if (dsql_txn_begin(&txn, c->cat, &o, &err) != DSQL_OK) {
		rc = cli_fail(c, &err);
		goto out;
	}
	json_object_foreach(tables, name, t)
		if ((rc = stage_table(c, txn, name, t)) != EXIT_OK)
			goto out;
	if (json_object_get(doc, "sql") &&
	    (rc = stage_sql(c, txn, json_object_get(doc, "sql"))) != EXIT_OK)
		goto out;
	if ((v = json_object_get(doc, "sql_role"))) {
		if (!json_is_string(v)) {
			rc = doc_error(c, "commit document: \"sql_role\" must be a string%s", "");
			goto out;
		}
		if (dsql_txn_set_sql_role(txn, json_string_value(v), &err) != DSQL_OK) {
			rc = cli_fail(c, &err);
			goto out;
		}
	}
	if ((mode == 0 ? dsql_txn_commit(txn, &err)
	     : mode == 1 ? dsql_txn_prepare(txn, &err)
	                 : dsql_txn_commit_two_phase(txn, &err)) != DSQL_OK) {
		rc = cli_fail(c, &err);
		goto out;
	}
	print_result(c, txn, tables, json_array_size(json_object_get(doc, "sql")));
out:
	dsql_txn_free(txn);
	json_decref(doc);
	return rc;
}
