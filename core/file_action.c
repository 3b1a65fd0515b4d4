/*
 * Typed file actions: an add or remove given as fields. The fields are
 * checked the way the action parser checks the same line, then written as
 * that line in compact JSON, keys in the protocol's order and strings
 * escaped as jansson writes them, so the stored line reads back as if it
 * had been staged as text. No JSON tree is built: that is what makes this
 * path cheaper than parsing a line.
 */
#include "action.h"
#include "delta_path.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct line_buf {
	char *s;
	size_t len, cap;
	int failed;
} line_buf;

/* Room for n more bytes and a NUL; 0 when there is no memory for it. */
static int reserve(line_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 512;
	char *p;

	if (b->failed)
		return 0;
	if (b->len + n + 1 <= b->cap)
		return 1;
	while (b->len + n + 1 > cap)
		cap *= 2;
	if (!(p = realloc(b->s, cap))) {
		b->failed = 1;
		return 0;
	}
	b->s = p;
	b->cap = cap;
	return 1;
}

static void put(line_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void put_lit(line_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

size_t action_json_string(char *dst, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *p = dst;

	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\') {
			*p++ = (char)c;
			continue;
		}
		*p++ = '\\';
		switch (c) {
		case '"': *p++ = '"'; break;
		case '\\': *p++ = '\\'; break;
		case '\b': *p++ = 'b'; break;
		case '\f': *p++ = 'f'; break;
		case '\n': *p++ = 'n'; break;
		case '\r': *p++ = 'r'; break;
		case '\t': *p++ = 't'; break;
		default:
			memcpy(p, "u00", 3);
			p[3] = hex[c >> 4];
			p[4] = hex[c & 15];
			p += 5;
		}
	}
	*p++ = '"';
	*p = '\0';
	return (size_t)(p - dst);
}

/* A JSON string (action_json_string). No character takes more than six
 * bytes (\u00XX). */
static void put_string(line_buf *b, const char *s)
{
	if (reserve(b, 6 * strlen(s) + 2))
		b->len += action_json_string(b->s + b->len, s);
}

static void put_key(line_buf *b, const char *key)
{
	put(b, ",\"", 2);
	put_lit(b, key);
	put(b, "\":", 2);
}

/* A count or a time: never negative here (checked). */
static void put_int(line_buf *b, const char *key, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = (uint64_t)v;

	put_key(b, key);
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	put(b, p, (size_t)(num + sizeof(num) - p));
}

static void put_map(line_buf *b, const char *key, const dsql_key_value *kv, size_t n)
{
	put_key(b, key);
	put(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(b, ",", 1);
		put_string(b, kv[i].key);
		put(b, ":", 1);
		if (kv[i].value)
			put_string(b, kv[i].value);
		else
			put_lit(b, "null");
	}
	put(b, "}", 1);
}

static int bad(dsql_error *err, const char *kind, const char *what)
{
	return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "invalid %s: %s", kind, what);
}

static int check_text(dsql_error *err, const char *kind, const char *field, const char *s,
                      int required)
{
	const char *why = !s ? (required ? "is NULL" : NULL)
	                  : !*s && required  ? "is empty"
	                  : !util_utf8_valid(s) ? "is not valid UTF-8"
	                                        : NULL;
	char what[160];

	if (!why)
		return DSQL_OK;
	snprintf(what, sizeof(what), "%s %s", field, why);
	return bad(err, kind, what);
}

/* -1 for absent, else a count or time that cannot be negative. */
static int check_count(dsql_error *err, const char *kind, const char *field, int64_t v,
                       int required)
{
	char what[96];

	if (v >= 0 || (v == -1 && !required))
		return DSQL_OK;
	snprintf(what, sizeof(what), v == -1 ? "%s is required" : "%s is negative", field);
	return bad(err, kind, what);
}

/* Keys present, valid and distinct (a JSON object cannot repeat a key);
 * values valid or NULL. Maps are a handful of entries: pairs compared. */
static int check_map(dsql_error *err, const char *kind, const char *field,
                     const dsql_key_value *kv, size_t n)
{
	char what[160];
	int rc = DSQL_OK;

	if (n && !kv) {
		snprintf(what, sizeof(what), "%s: %zu entries but no array", field, n);
		return bad(err, kind, what);
	}
	for (size_t i = 0; i < n && rc == DSQL_OK; i++) {
		snprintf(what, sizeof(what), "%s key %zu", field, i);
		if ((rc = check_text(err, kind, what, kv[i].key, 1)) != DSQL_OK)
			break;
		snprintf(what, sizeof(what), "%s value of '%.64s'", field, kv[i].key);
		rc = check_text(err, kind, what, kv[i].value, 0);
		for (size_t j = 0; j < i && rc == DSQL_OK; j++)
			if (strcmp(kv[i].key, kv[j].key) == 0) {
				snprintf(what, sizeof(what), "%s has '%.64s' twice", field, kv[i].key);
				rc = bad(err, kind, what);
			}
	}
	return rc;
}

static int check_dv(dsql_error *err, const char *kind, const dsql_deletion_vector *dv)
{
	int rc;

	if (!dv)
		return DSQL_OK;
	if ((rc = check_text(err, kind, "deletion_vector.storage_type", dv->storage_type, 1)) ||
	    (rc = check_text(err, kind, "deletion_vector.path_or_inline_dv",
	                     dv->path_or_inline_dv, 1)) ||
	    (rc = check_count(err, kind, "deletion_vector.offset", dv->offset, 0)) ||
	    (rc = check_count(err, kind, "deletion_vector.size_in_bytes", dv->size_in_bytes, 1)) ||
	    (rc = check_count(err, kind, "deletion_vector.cardinality", dv->cardinality, 1)))
		return rc;
	return DSQL_OK;
}

static int check_file(action_kind kind, const dsql_file_action *f, dsql_error *err)
{
	const char *k = kind == ACT_ADD ? "add" : "remove";
	int add = kind == ACT_ADD, rc;

	if (!f)
		return bad(err, k, "the file action is NULL");
	if (f->version != DSQL_FILE_ACTION_VERSION)
		return bad(err, k, "unknown dsql_file_action version (use DSQL_FILE_ACTION_INIT)");
	if ((rc = check_text(err, k, "path", f->path, 1)) ||
	    (rc = check_map(err, k, "partition_values", f->partition_values,
	                    f->n_partition_values)) ||
	    (rc = check_count(err, k, "size", f->size, add)) ||
	    (rc = check_count(err, k, "timestamp_ms", f->timestamp_ms, add)) ||
	    (rc = check_text(err, k, "stats", f->stats, 0)) ||
	    (rc = check_map(err, k, "tags", f->tags, f->n_tags)) ||
	    (rc = check_dv(err, k, f->deletion_vector)) ||
	    (rc = check_count(err, k, "base_row_id", f->base_row_id, 0)) ||
	    (rc = check_count(err, k, "default_row_commit_version",
	                      f->default_row_commit_version, 0)))
		return rc;
	return DSQL_OK;
}

/* The line, keys in the order Delta's own writers use. */
static void write_line(line_buf *b, action_kind kind, const dsql_file_action *f)
{
	const dsql_deletion_vector *dv = f->deletion_vector;
	int add = kind == ACT_ADD;

	put_lit(b, add ? "{\"add\":{\"path\":" : "{\"remove\":{\"path\":");
	put_string(b, f->path);
	if (add) {
		put_map(b, "partitionValues", f->partition_values, f->n_partition_values);
		put_int(b, "size", f->size);
		put_int(b, "modificationTime", f->timestamp_ms);
	} else if (f->timestamp_ms >= 0) {
		put_int(b, "deletionTimestamp", f->timestamp_ms);
	}
	put_key(b, "dataChange");
	put_lit(b, f->data_change ? "true" : "false");
	if (!add && f->n_partition_values)
		put_map(b, "partitionValues", f->partition_values, f->n_partition_values);
	if (!add && f->size >= 0)
		put_int(b, "size", f->size);
	if (f->stats) {
		put_key(b, "stats");
		put_string(b, f->stats);
	}
	if (f->n_tags)
		put_map(b, "tags", f->tags, f->n_tags);
	if (dv) {
		put_key(b, "deletionVector");
		put_lit(b, "{\"storageType\":");
		put_string(b, dv->storage_type);
		put_lit(b, ",\"pathOrInlineDv\":");
		put_string(b, dv->path_or_inline_dv);
		if (dv->offset >= 0)
			put_int(b, "offset", dv->offset);
		put_int(b, "sizeInBytes", dv->size_in_bytes);
		put_int(b, "cardinality", dv->cardinality);
		put(b, "}", 1);
	}
	if (f->base_row_id >= 0)
		put_int(b, "baseRowId", f->base_row_id);
	if (f->default_row_commit_version >= 0)
		put_int(b, "defaultRowCommitVersion", f->default_row_commit_version);
	put(b, "}}", 2);
}

/* The path, then each partition column and its value ("" for null), all
 * NUL-terminated, in one allocation. */
static char *own_names(const dsql_file_action *f)
{
	size_t n = strlen(f->path) + 1;
	char *s, *p;

	for (size_t i = 0; i < f->n_partition_values; i++) {
		const char *v = f->partition_values[i].value;

		n += strlen(f->partition_values[i].key) + 1 + (v ? strlen(v) : 0) + 1;
	}
	if (!(s = p = malloc(n)))
		return NULL;
	p = stpcpy(p, f->path) + 1;
	for (size_t i = 0; i < f->n_partition_values; i++) {
		const char *v = f->partition_values[i].value;

		p = stpcpy(p, f->partition_values[i].key) + 1;
		p = stpcpy(p, v ? v : "") + 1;
	}
	return s;
}

int action_from_file(action *out, action_kind kind, const dsql_file_action *f,
                     dsql_error *err)
{
	const dsql_deletion_vector *dv;
	line_buf b = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_file(kind, f, err)) != DSQL_OK)
		return rc;
	write_line(&b, kind, f);
	out->owned = own_names(f);
	if (b.failed || !out->owned) {
		free(b.s);
		free(out->owned);
		out->owned = NULL;
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	}
	out->kind = kind;
	out->text = b.s;
	out->text_len = b.len;
	out->path = out->owned;
	out->value_keys = out->owned + strlen(out->owned) + 1;
	if ((rc = delta_path_canonical(out->path, &out->canon, err)) != DSQL_OK) {
		free(out->text);
		free(out->owned);
		memset(out, 0, sizeof(*out));
		return rc;
	}
	if (out->canon)
		out->path = out->canon;
	out->n_values = f->n_partition_values;
	out->size = f->size;
	out->data_change = f->data_change != 0;
	if ((dv = f->deletion_vector) != NULL)
		action_set_dv_id(out, dv->storage_type, dv->path_or_inline_dv, dv->offset);
	return DSQL_OK;
}
