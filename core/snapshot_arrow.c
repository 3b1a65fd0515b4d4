/* A snapshot's live files as an Arrow column (deltasql/arrow.h): the stored
 * add bodies copied into one buffer, each ending its line, with their
 * offsets, and handed over as
 * they are, owned by the exported array and freed by its release callback.
 * Parsing them is left to the importer's columnar JSON reader: a million
 * bodies through jansson cost ~13 s here, through pyarrow's reader ~1 s. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "deltasql/arrow.h"

/* What the exported array owns: its buffer pointers and the buffers. */
typedef struct owned {
	const void *buffers[3];
} owned;

static void release_array(struct ArrowArray *a)
{
	owned *o = a->private_data;

	free((void *)o->buffers[1]);
	free((void *)o->buffers[2]);
	free(o);
	a->release = NULL;
}

/* The schema owns nothing: its strings are static. */
static void release_schema(struct ArrowSchema *s) { s->release = NULL; }

/* A body as one line: stored bodies are compact, but one staged as JSON
 * text that was laid out over lines keeps its layout. NULL when out of
 * memory or not JSON (which the commit path never stores). */
static char *one_line(const char *body)
{
	json_t *j = json_loads(body, 0, NULL);
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return line;
}

static int fill(const dsql_snapshot *snap, size_t n, int64_t *offsets, char **out,
                dsql_error *err)
{
	size_t total = 0, cap = 0, i;
	char *data = NULL;

	for (i = 0; i < n; i++)
		total += strlen(dsql_snapshot_file_json(snap, i)) + 1;
	cap = total + 1;
	if (!(data = malloc(cap)))
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	offsets[0] = 0;
	for (i = 0, total = 0; i < n; i++) {
		const char *body = dsql_snapshot_file_json(snap, i);
		size_t len = strlen(body);
		char *line = NULL;

		if (memchr(body, '\n', len)) {
			if (!(line = one_line(body))) {
				free(data);
				return dsql_error_set(err, DSQL_ERROR, NULL, NULL, 0,
				                      "live file %zu of the snapshot is not JSON", i);
			}
			body = line;
			len = strlen(line);
		}
		if (total + len + 2 > cap) { /* a re-rendered body can come out longer */
			char *more = realloc(data, cap = (total + len + 2) * 2);

			if (!more) {
				free(line);
				free(data);
				return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
			}
			data = more;
		}
		memcpy(data + total, body, len);
		total += len;
		data[total++] = '\n';
		offsets[i + 1] = (int64_t)total;
		free(line);
	}
	*out = data;
	return DSQL_OK;
}

int dsql_snapshot_files_arrow(const dsql_snapshot *snap, struct ArrowSchema *schema,
                              struct ArrowArray *array, dsql_error *err)
{
	size_t n = dsql_snapshot_file_count(snap);
	int64_t *offsets = malloc((n + 1) * sizeof(*offsets));
	owned *o = calloc(1, sizeof(*o));
	char *data = NULL;
	int rc;

	if (!offsets || !o) {
		rc = dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
		goto fail;
	}
	if ((rc = fill(snap, n, offsets, &data, err)) != DSQL_OK)
		goto fail;
	memset(schema, 0, sizeof(*schema));
	schema->format = "U";
	schema->name = "add";
	schema->release = release_schema;
	memset(array, 0, sizeof(*array));
	o->buffers[1] = offsets;
	o->buffers[2] = data;
	array->length = (int64_t)n;
	array->n_buffers = 3;
	array->buffers = o->buffers;
	array->release = release_array;
	array->private_data = o;
	return DSQL_OK;
fail:
	free(offsets);
	free(o);
	return rc;
}
