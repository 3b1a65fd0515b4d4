/* Parsing and checking Delta actions. */
#include "action.h"
#include "delta_path.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	action_kind kind;
} kinds[] = {
	{"add", ACT_ADD},         {"remove", ACT_REMOVE},         {"metaData", ACT_METADATA},
	{"protocol", ACT_PROTOCOL}, {"txn", ACT_TXN},             {"domainMetadata", ACT_DOMAIN},
	{"commitInfo", ACT_COMMITINFO}, {"cdc", ACT_CDC},
};

const char *action_kind_name(action_kind kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	return "?";
}

static int bad(dsql_error *err, const char *kind, const char *fmt, const char *field)
{
	char what[160];

	snprintf(what, sizeof(what), fmt, field);
	return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "invalid %s action: %s", kind,
	                      what);
}

static int want_string(json_t *o, const char *kind, const char *field, int required,
                       const char **out, dsql_error *err)
{
	json_t *v = json_object_get(o, field);

	*out = NULL;
	if (!v || json_is_null(v))
		return required ? bad(err, kind, "missing \"%s\"", field) : DSQL_OK;
	if (!json_is_string(v))
		return bad(err, kind, "\"%s\" must be a string", field);
	*out = json_string_value(v);
	return DSQL_OK;
}

static int want_int(json_t *o, const char *kind, const char *field, int required,
                    int64_t min, int64_t *out, dsql_error *err)
{
	json_t *v = json_object_get(o, field);

	if (!v || json_is_null(v)) {
		*out = -1;
		return required ? bad(err, kind, "missing \"%s\"", field) : DSQL_OK;
	}
	if (!json_is_integer(v))
		return bad(err, kind, "\"%s\" must be an integer", field);
	*out = json_integer_value(v);
	if (*out < min)
		return bad(err, kind, min == 0 ? "\"%s\" must not be negative" : "\"%s\" is too small",
		           field);
	return DSQL_OK;
}

static int want_bool(json_t *o, const char *kind, const char *field, int dflt, int *out,
                     dsql_error *err)
{
	json_t *v = json_object_get(o, field);

	*out = dflt;
	if (!v || json_is_null(v))
		return DSQL_OK;
	if (!json_is_boolean(v))
		return bad(err, kind, "\"%s\" must be true or false", field);
	*out = json_is_true(v);
	return DSQL_OK;
}

static int want_object(json_t *o, const char *kind, const char *field, int required,
                       dsql_error *err)
{
	json_t *v = json_object_get(o, field);

	if (!v || json_is_null(v))
		return required ? bad(err, kind, "missing \"%s\"", field) : DSQL_OK;
	if (!json_is_object(v))
		return bad(err, kind, "\"%s\" must be an object", field);
	return DSQL_OK;
}

/* partitionValues / configuration: an object of strings (or nulls). */
static int want_string_map(json_t *o, const char *kind, const char *field, int allow_null,
                           dsql_error *err)
{
	json_t *map = json_object_get(o, field), *v;
	const char *k;
	int rc = want_object(o, kind, field, 0, err);

	if (rc != DSQL_OK || !map)
		return rc;
	json_object_foreach(map, k, v) {
		if (!json_is_string(v) && !(allow_null && json_is_null(v)))
			return bad(err, kind, "every value of \"%s\" must be a string", field);
	}
	return DSQL_OK;
}

void action_set_dv_id(action *a, const char *storage, const char *where, int64_t offset)
{
	if (offset >= 0)
		snprintf(a->dv_id, sizeof(a->dv_id), "%s%s@%" PRId64, storage, where, offset);
	else
		snprintf(a->dv_id, sizeof(a->dv_id), "%s%s", storage, where);
}

static int parse_dv(action *a, const char *kind, dsql_error *err)
{
	json_t *dv = json_object_get(a->body, "deletionVector");
	const char *storage, *where;
	int64_t offset, n;
	int rc;

	a->dv_id[0] = '\0';
	if (!dv || json_is_null(dv))
		return DSQL_OK;
	if (!json_is_object(dv))
		return bad(err, kind, "\"%s\" must be an object", "deletionVector");
	if ((rc = want_string(dv, kind, "storageType", 1, &storage, err)) ||
	    (rc = want_string(dv, kind, "pathOrInlineDv", 1, &where, err)) ||
	    (rc = want_int(dv, kind, "offset", 0, 0, &offset, err)) ||
	    (rc = want_int(dv, kind, "sizeInBytes", 1, 0, &n, err)) ||
	    (rc = want_int(dv, kind, "cardinality", 1, 0, &n, err)))
		return rc;
	action_set_dv_id(a, storage, where, offset);
	return DSQL_OK;
}

static int parse_file(action *a, const char *kind, dsql_error *err)
{
	int rc;

	if ((rc = want_string(a->body, kind, "path", 1, &a->path, err)))
		return rc;
	if (!*a->path)
		return bad(err, kind, "\"%s\" is empty", "path");
	/* One spelling per file, from here on (the line keeps the given one). */
	if ((rc = delta_path_canonical(a->path, &a->canon, err)))
		return rc;
	if (a->canon)
		a->path = a->canon;
	if ((rc = want_bool(a->body, kind, "dataChange", 1, &a->data_change, err)) ||
	    (rc = want_string_map(a->body, kind, "partitionValues", 1, err)))
		return rc;
	if (a->kind == ACT_CDC)
		return want_int(a->body, kind, "size", 1, 0, &a->size, err);
	if ((rc = parse_dv(a, kind, err)))
		return rc;
	if (a->kind == ACT_ADD) {
		const char *stats;
		int64_t mtime;

		if ((rc = want_int(a->body, kind, "size", 1, 0, &a->size, err)) ||
		    (rc = want_int(a->body, kind, "modificationTime", 0, 0, &mtime, err)) ||
		    (rc = want_string(a->body, kind, "stats", 0, &stats, err)) ||
		    (rc = want_object(a->body, kind, "tags", 0, err)))
			return rc;
	} else {
		int64_t n;

		if ((rc = want_int(a->body, kind, "deletionTimestamp", 0, 0, &n, err)) ||
		    (rc = want_int(a->body, kind, "size", 0, 0, &a->size, err)))
			return rc;
	}
	return DSQL_OK;
}

int action_check_schema(const char *schema_string, json_t *partition_columns,
                        dsql_error *err)
{
	json_error_t jerr;
	json_t *schema, *fields, *f, *col;
	size_t i, j;
	int rc = DSQL_OK;

	schema = json_loads(schema_string, JSON_REJECT_DUPLICATES, &jerr);
	if (!schema)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "invalid schemaString: not JSON (%s at column %d)", jerr.text,
		                      jerr.column);
	fields = json_object_get(schema, "fields");
	if (!json_is_object(schema) ||
	    !json_is_string(json_object_get(schema, "type")) ||
	    strcmp(json_string_value(json_object_get(schema, "type")), "struct") != 0 ||
	    !json_is_array(fields)) {
		rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                    "invalid schemaString: expected {\"type\": \"struct\", "
		                    "\"fields\": [...]}");
		goto out;
	}
	json_array_foreach(fields, i, f) {
		if (!json_is_string(json_object_get(f, "name")) || !json_object_get(f, "type")) {
			rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                    "invalid schemaString: field %zu lacks a name or a type",
			                    i);
			goto out;
		}
	}
	if (!partition_columns)
		goto out;
	if (!json_is_array(partition_columns)) {
		rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                    "invalid metaData action: \"partitionColumns\" must be an array");
		goto out;
	}
	json_array_foreach(partition_columns, i, col) {
		int found = 0;

		if (!json_is_string(col)) {
			rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                    "invalid metaData action: partition column %zu is not a "
			                    "string", i);
			goto out;
		}
		json_array_foreach(fields, j, f)
			if (strcmp(json_string_value(json_object_get(f, "name")),
			           json_string_value(col)) == 0)
				found = json_is_string(json_object_get(f, "type")) ? 1 : -1;
		if (found <= 0) {
			rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                    "invalid metaData action: partition column '%s' %s",
			                    json_string_value(col),
			                    found ? "is not of a primitive type (a struct, array or "
			                            "map cannot partition a table)"
			                          : "is not a field of the schema");
			goto out;
		}
	}
out:
	json_decref(schema);
	return rc;
}

static int parse_metadata(action *a, dsql_error *err)
{
	const char *id, *schema;
	int rc;

	/* schemaString is required by the protocol, yet real logs exist
	 * without one (Delta's own readers accept them): checked when present. */
	if ((rc = want_string(a->body, "metaData", "id", 1, &id, err)) ||
	    (rc = want_string(a->body, "metaData", "schemaString", 0, &schema, err)) ||
	    (rc = want_string_map(a->body, "metaData", "configuration", 0, err)) ||
	    (rc = want_object(a->body, "metaData", "format", 0, err)))
		return rc;
	if (!schema)
		return json_array_size(json_object_get(a->body, "partitionColumns")) == 0
		               ? DSQL_OK
		               : bad(err, "metaData", "partition columns without a \"%s\"",
		                     "schemaString");
	return action_check_schema(schema, json_object_get(a->body, "partitionColumns"), err);
}

static int want_string_array(json_t *o, const char *kind, const char *field, dsql_error *err)
{
	json_t *arr = json_object_get(o, field), *v;
	size_t i;

	if (!arr || json_is_null(arr))
		return DSQL_OK;
	if (!json_is_array(arr))
		return bad(err, kind, "\"%s\" must be an array", field);
	json_array_foreach(arr, i, v)
		if (!json_is_string(v))
			return bad(err, kind, "every entry of \"%s\" must be a string", field);
	return DSQL_OK;
}

static int parse_protocol(action *a, dsql_error *err)
{
	int64_t r, w;
	int rc;

	if ((rc = want_int(a->body, "protocol", "minReaderVersion", 1, 1, &r, err)) ||
	    (rc = want_int(a->body, "protocol", "minWriterVersion", 1, 1, &w, err)) ||
	    (rc = want_string_array(a->body, "protocol", "readerFeatures", err)) ||
	    (rc = want_string_array(a->body, "protocol", "writerFeatures", err)))
		return rc;
	return DSQL_OK;
}

static int parse_body(action *a, dsql_error *err)
{
	const char *s;
	int64_t n;
	int rc;

	switch (a->kind) {
	case ACT_ADD:
		return parse_file(a, "add", err);
	case ACT_REMOVE:
		return parse_file(a, "remove", err);
	case ACT_CDC:
		return parse_file(a, "cdc", err);
	case ACT_METADATA:
		return parse_metadata(a, err);
	case ACT_PROTOCOL:
		return parse_protocol(a, err);
	case ACT_TXN:
		if ((rc = want_string(a->body, "txn", "appId", 1, &a->app_id, err)) ||
		    (rc = want_int(a->body, "txn", "version", 1, 0, &a->app_version, err)) ||
		    (rc = want_int(a->body, "txn", "lastUpdated", 0, 0, &n, err)))
			return rc;
		return DSQL_OK;
	case ACT_DOMAIN:
		if ((rc = want_string(a->body, "domainMetadata", "domain", 1, &a->domain, err)) ||
		    (rc = want_string(a->body, "domainMetadata", "configuration", 1, &s, err)) ||
		    (rc = want_bool(a->body, "domainMetadata", "removed", 0, &a->domain_removed,
		                    err)))
			return rc;
		return DSQL_OK;
	case ACT_COMMITINFO:
		return DSQL_OK;
	}
	return DSQL_OK;
}

/* Whether text is exactly what json_dumps(JSON_COMPACT) writes for the
 * value it holds: no white space between tokens, integers only (jansson
 * rewrites reals and -0), and only the escapes jansson itself writes.
 * Then the text can be stored as given: same bytes, no second rendering. */
static int is_compact(const char *s)
{
	int in_string = 0;

	for (const char *p = s; *p; p++) {
		if (in_string) {
			if (*p == '"') {
				in_string = 0;
			} else if (*p == '\\') {
				p++;
				if (!*p || !strchr("\"\\bfnrt", *p))
					return 0; /* \u and \/ come out otherwise */
			}
		} else if (*p == '"') {
			in_string = 1;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			if (p[0] == '-' && p[1] == '0')
				return 0;
			while (p[1] >= '0' && p[1] <= '9')
				p++;
			if (p[1] == '.' || p[1] == 'e' || p[1] == 'E')
				return 0;
		} else if (!strchr("{}[],:", *p) && !(*p >= 'a' && *p <= 'z')) {
			return 0; /* white space */
		}
	}
	return 1;
}

static int keep_text(action *a, const char *text, dsql_error *err)
{
	if (text && is_compact(text))
		a->text = strdup(text);
	else
		a->text = json_dumps(a->line, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!a->text)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	a->text_len = strlen(a->text);
	return DSQL_OK;
}

static int parse_line(action *out, json_t *line, const char *text, int keep,
                      dsql_error *err)
{
	const char *key;
	json_t *body;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->size = -1;
	if (!json_is_object(line) || json_object_size(line) != 1)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "an action must be a JSON object with exactly one key (its "
		                      "kind)");
	json_object_foreach(line, key, body) {
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strcmp(kinds[i].name, key) == 0)
				break;
		if (i == sizeof(kinds) / sizeof(kinds[0]))
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "'%.64s' is not a Delta action kind (expected add, remove, "
			                      "metaData, protocol, txn, domainMetadata, commitInfo or "
			                      "cdc)", key);
		if (!json_is_object(body))
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "the body of a %s action must be an object", key);
		out->kind = kinds[i].kind;
		out->body = body;
	}
	out->line = json_incref(line);
	rc = parse_body(out, err);
	if (rc == DSQL_OK && keep)
		rc = keep_text(out, text, err);
	if (rc != DSQL_OK)
		action_clear(out);
	return rc;
}

int action_parse_json(action *out, json_t *line, dsql_error *err)
{
	return parse_line(out, line, NULL, 1, err);
}

int action_parse_json_text(action *out, json_t *line, const char *text, dsql_error *err)
{
	return parse_line(out, line, text, 1, err);
}

static int parse_text(action *out, const char *text, int keep, dsql_error *err)
{
	json_error_t jerr;
	json_t *line;
	int rc;

	memset(out, 0, sizeof(*out));
	line = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!line)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "malformed action JSON: %s (line %d, column %d)", jerr.text,
		                      jerr.line, jerr.column);
	rc = parse_line(out, line, text, keep, err);
	json_decref(line);
	return rc;
}

int action_parse_text(action *out, const char *text, dsql_error *err)
{
	return parse_text(out, text, 1, err);
}

int action_parse_stored(action *out, const char *text, dsql_error *err)
{
	return parse_text(out, text, 0, err);
}

/* A parsed line keeps its partition values in its JSON body; a typed file
 * action (file_action.c) keeps their column names in value_keys. */
size_t action_partition_value_count(const action *a)
{
	json_t *values;

	if (!a->body)
		return a->n_values;
	values = json_object_get(a->body, "partitionValues");
	return json_is_object(values) ? json_object_size(values) : 0;
}

int action_partition_value(const action *a, const char *column, const char **value)
{
	const char *k = a->value_keys, *v = NULL;
	int found = 0;

	if (a->body) {
		json_t *j = json_object_get(json_object_get(a->body, "partitionValues"), column);

		found = j != NULL;
		v = json_string_value(j);
	}
	for (size_t i = 0; !a->body && !found && i < a->n_values; i++) {
		v = k + strlen(k) + 1;
		found = strcmp(k, column) == 0;
		k = v + strlen(v) + 1;
	}
	if (value)
		*value = found && v && *v ? v : NULL;
	return found;
}

void action_clear(action *a)
{
	if (!a)
		return;
	json_decref(a->line);
	free(a->text);
	free(a->owned);
	free(a->canon);
	memset(a, 0, sizeof(*a));
}

const char *action_line(const action *a, size_t *len)
{
	*len = a->text_len;
	return a->text;
}

/* The compact line is {"<kind>":<body>}: the body starts after the kind's
 * name (which needs no escapes) and ends before the last brace. */
const char *action_body(const action *a, size_t *len)
{
	size_t head = strlen(action_kind_name(a->kind)) + 4;

	*len = a->text_len - head - 1;
	return a->text + head;
}
