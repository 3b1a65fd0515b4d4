/* The catalog handle's table hints (see table_hint.h). */
#include "table_hint.h"
#include "catalog_int.h"

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
	if (!(h->name = strdup(name)))
		return NULL;
	cat->n_hints++;
	return h;
}

void hint_saw(dsql_catalog *cat, const char *name, int64_t id, int64_t version,
              int64_t last_ms, int64_t metadata_at)
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
	}
	h->id = id;
	h->version = version;
	h->last_ms = last_ms;
}

void hint_set_metadata(table_hint *h, json_t *metadata, int64_t set_at)
{
	json_decref(h->metadata);
	h->metadata = metadata;
	h->metadata_at = metadata ? set_at : -1;
}

void hint_forget(dsql_catalog *cat, int64_t id)
{
	table_hint *h = hint_by_id(cat, id);

	if (!h)
		return;
	free(h->name);
	json_decref(h->metadata);
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

/* The key a partition column has in partitionValues: its name, or with
 * column mapping (delta.columnMapping.mode name or id) its physical name. */
static const char *partition_key(json_t *schema, const char *column)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(schema, "fields"), i, f) {
		json_t *phys = json_object_get(json_object_get(f, "metadata"),
		                               "delta.columnMapping.physicalName");

		if (json_is_string(json_object_get(f, "name")) &&
		    strcmp(json_string_value(json_object_get(f, "name")), column) == 0 &&
		    json_is_string(phys))
			return json_string_value(phys);
	}
	return column;
}

static const char *config(json_t *metadata, const char *key)
{
	return json_string_value(json_object_get(json_object_get(metadata, "configuration"), key));
}

int rules_from(table_rules *out, json_t *metadata, dsql_error *err)
{
	const char *mode = config(metadata, "delta.columnMapping.mode");
	const char *append = config(metadata, "delta.appendOnly");
	json_t *schema = NULL, *col;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->metadata = json_incref(metadata);
	out->columns = json_object_get(metadata, "partitionColumns");
	out->append_only = append && strcmp(append, "true") == 0;
	out->keys = json_array();
	if (!out->keys)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	/* The schema is parsed only where it can rename a partition column. */
	if (json_array_size(out->columns) > 0 && mode && strcmp(mode, "none") != 0) {
		const char *text = json_string_value(json_object_get(metadata, "schemaString"));

		schema = text ? json_loads(text, 0, NULL) : NULL;
	}
	json_array_foreach(out->columns, i, col) {
		const char *name = json_string_value(col);

		if (name && json_array_append_new(out->keys,
		                                  json_string(schema ? partition_key(schema,
		                                                                     name)
		                                                     : name)) != 0) {
			json_decref(schema);
			rules_clear(out);
			return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		}
	}
	json_decref(schema);
	return DSQL_OK;
}

void rules_clear(table_rules *r)
{
	json_decref(r->keys);
	json_decref(r->metadata);
	memset(r, 0, sizeof(*r));
}
