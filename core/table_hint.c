/* The catalog handle's table hints (see table_hint.h). */
#include "table_hint.h"
#include "catalog_int.h"
#include "protocol.h"

#include <stdlib.h>
#include <string.h>

table_hint *hint_find(dsql_catalog *cat, const char *name)
{
	for (size_t i = 0; i < cat->n_hints; i++)
		if (strcmp(cat->hints[i].name, name) == 0)
			return &cat->hints[i];
	return NULL;
}

table_hint *hint_by_id(dsql_catalog *cat, int64_t id)
{
	for (size_t i = 0; i < cat->n_hints; i++)
		if (cat->hints[i].id == id)
			return &cat->hints[i];
	return NULL;
}

static table_hint *hint_add(dsql_catalog *cat, const char *name)
{
	table_hint *h;

	if (cat->n_hints == cat->cap_hints) {
		size_t cap = cat->cap_hints ? cat->cap_hints * 2 : 8;
		table_hint *n = realloc(cat->hints, cap * sizeof(*n));

		if (!n)
			return NULL;
		cat->hints = n;
		cat->cap_hints = cap;
	}
	h = &cat->hints[cat->n_hints];
	memset(h, 0, sizeof(*h));
	h->metadata_at = -1;
	h->protocol_at = -1;
	if (!(h->name = strdup(name)))
		return NULL;
	cat->n_hints++;
	return h;
}

void hint_saw(dsql_catalog *cat, const char *name, int64_t id, int64_t version,
              int64_t last_ms, int64_t metadata_at, int64_t protocol_at)
{
	table_hint *h = hint_find(cat, name);

	if (h && h->id != id) {
		hint_forget(cat, h->id); /* dropped and created again */
		h = NULL;
	}
	if (!h && !(h = hint_add(cat, name)))
		return;
	if (h->version != version && (metadata_at < 0 || metadata_at != h->metadata_at)) {
		json_decref(h->metadata);
		h->metadata = NULL;
		rules_clear(&h->rules);
	}
	if (h->version != version && (protocol_at < 0 || protocol_at != h->protocol_at)) {
		json_decref(h->protocol);
		h->protocol = NULL;
		rules_clear(&h->rules);
	}
	h->id = id;
	h->version = version;
	h->last_ms = last_ms;
}

void hint_set_metadata(table_hint *h, json_t *metadata, int64_t set_at)
{
	json_decref(h->metadata);
	rules_clear(&h->rules);
	h->metadata = metadata;
	h->metadata_at = metadata ? set_at : -1;
}

void hint_set_protocol(table_hint *h, json_t *protocol, int64_t set_at)
{
	json_decref(h->protocol);
	rules_clear(&h->rules);
	h->protocol = protocol;
	h->protocol_at = protocol ? set_at : -1;
}

void hint_forget(dsql_catalog *cat, int64_t id)
{
	table_hint *h = hint_by_id(cat, id);

	if (!h)
		return;
	free(h->name);
	json_decref(h->metadata);
	json_decref(h->protocol);
	rules_clear(&h->rules);
	*h = cat->hints[--cat->n_hints];
}

void hint_free_all(dsql_catalog *cat)
{
	while (cat->n_hints)
		hint_forget(cat, cat->hints[0].id);
	free(cat->hints);
	cat->hints = NULL;
	cat->cap_hints = 0;
}

/* The schema's top-level field named column, or NULL. */
static json_t *field_named(json_t *schema, const char *column)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(schema, "fields"), i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));

		if (name && strcmp(name, column) == 0)
			return f;
	}
	return NULL;
}

/* The key a partition column has in partitionValues: its name, or with
 * column mapping (delta.columnMapping.mode name or id) its physical name. */
static const char *partition_key(json_t *field, const char *column, int mapped)
{
	json_t *phys = json_object_get(json_object_get(field, "metadata"),
	                               "delta.columnMapping.physicalName");

	return mapped && json_is_string(phys) ? json_string_value(phys) : column;
}

static const char *config(json_t *metadata, const char *key)
{
	return json_string_value(json_object_get(json_object_get(metadata, "configuration"), key));
}

int rules_from(table_rules *out, json_t *metadata, json_t *protocol, dsql_error *err)
{
	const char *mode = config(metadata, "delta.columnMapping.mode");
	const char *append = config(metadata, "delta.appendOnly");
	int mapped = mode && strcmp(mode, "none") != 0;
	json_t *schema = NULL, *col;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->metadata = json_incref(metadata);
	out->columns = json_object_get(metadata, "partitionColumns");
	out->append_only = append && strcmp(append, "true") == 0;
	out->protocol = json_incref(protocol);
	out->writable = !protocol || protocol_check(protocol, 1, NULL) == DSQL_OK;
	out->dv_allowed = protocol_has_writer_feature(protocol, "deletionVectors");
	out->keys = json_array();
	out->types = json_array();
	if (!out->keys || !out->types)
		goto oom;
	if (json_array_size(out->columns) > 0) {
		const char *text = json_string_value(json_object_get(metadata, "schemaString"));

		schema = text ? json_loads(text, 0, NULL) : NULL;
	}
	json_array_foreach(out->columns, i, col) {
		const char *name = json_string_value(col);
		json_t *field = name ? field_named(schema, name) : NULL;
		json_t *type = json_object_get(field, "type");

		if (!name)
			continue;
		if (json_array_append_new(out->keys,
		                          json_string(partition_key(field, name, mapped))) != 0 ||
		    json_array_append(out->types, json_is_string(type) ? type : json_null()) != 0)
			goto oom;
	}
	json_decref(schema);
	return DSQL_OK;
oom:
	json_decref(schema);
	rules_clear(out);
	return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
}

int rules_of_hint(table_rules *out, table_hint *h, dsql_error *err)
{
	int rc;

	if (!h->rules.metadata &&
	    (rc = rules_from(&h->rules, h->metadata, h->protocol, err)) != DSQL_OK)
		return rc;
	*out = h->rules;
	json_incref(out->metadata);
	json_incref(out->protocol);
	json_incref(out->keys);
	json_incref(out->types);
	return DSQL_OK;
}

void rules_clear(table_rules *r)
{
	json_decref(r->types);
	json_decref(r->keys);
	json_decref(r->metadata);
	json_decref(r->protocol);
	memset(r, 0, sizeof(*r));
}
