/* libFuzzer target: the Delta action parser (one _delta_log line), and the
 * typed file writer given the same bytes as its strings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "delta_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_string(json_t *o, const char *key, const char *want)
{
	return json_is_string(json_object_get(o, key)) &&
	       strcmp(json_string_value(json_object_get(o, key)), want) == 0;
}

static int utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/* Whether Delta's path rules take path (delta_path.h: no invalid or %00
 * escape, a path that names a file). */
static int path_ok(const char *path)
{
	char *canon = NULL;
	int ok = delta_path_canonical(path, &canon, NULL) == DSQL_OK;

	free(canon);
	return ok;
}

/* The input, cut at its first two NULs, is a path, a stats text and a
 * partition value. Every valid UTF-8 string (as jansson judges it) that is
 * a path by Delta's rules must be accepted and come back out of the line
 * exactly; anything else refused. */
static void typed_file(const char *data, size_t size)
{
	const char *end = data + size, *path = data, *stats = "", *value = "";
	dsql_file_action f = DSQL_FILE_ACTION_INIT;
	dsql_key_value pv = {"p", NULL};
	json_t *j, *body;
	size_t n;
	int valid;
	dsql_error err;
	action a, back;

	if (memchr(data, '\0', size)) {
		stats = path + strlen(path) + 1;
		if (stats < end && memchr(stats, '\0', (size_t)(end - stats)))
			value = stats + strlen(stats) + 1;
		if (stats >= end)
			stats = "";
		if (value >= end)
			value = "";
	}
	f.path = path;
	f.stats = stats;
	pv.value = value;
	f.partition_values = &pv;
	f.n_partition_values = 1;
	f.size = 1;
	f.timestamp_ms = 2;
	valid = *path && utf8_ok(path) && utf8_ok(stats) && utf8_ok(value) &&
	        path_ok(path);
	if (action_from_file(&a, ACT_ADD, &f, &err) != DSQL_OK) {
		if (valid || !err.message[0])
			abort();
		return;
	}
	if (!valid)
		abort();
	j = json_loads(action_line(&a, &n), JSON_REJECT_DUPLICATES, NULL);
	body = json_object_get(j, "add");
	if (!j || n != strlen(action_line(&a, &n)) || !same_string(body, "path", path) ||
	    !same_string(body, "stats", stats) ||
	    !same_string(json_object_get(body, "partitionValues"), "p", value))
		abort();
	/* Parsed again, it is stored as it is: the line is already compact. */
	if (action_parse_text(&back, action_line(&a, &n), &err) != DSQL_OK ||
	    strcmp(action_line(&back, &n), action_line(&a, &n)) != 0)
		abort();
	action_clear(&back);
	json_decref(j);
	action_clear(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	dsql_error err;
	action a;

	memcpy(text, data, size);
	text[size] = '\0';
	typed_file(text, size);
	if (action_parse_text(&a, text, &err) == DSQL_OK) {
		size_t n, m;
		const char *line = action_line(&a, &n), *body = action_body(&a, &m);
		json_t *again = json_loadb(line, n, 0, NULL), *inner = json_loadb(body, m, 0, NULL);

		char *want = json_dumps(a.line, JSON_COMPACT | JSON_ENCODE_ANY);

		/* What is stored is jansson's compact rendering, byte for byte,
		 * and its body is the action's. */
		if (!want || strcmp(want, line) != 0 || !again || !inner ||
		    !json_equal(json_object_get(again, action_kind_name(a.kind)), inner))
			abort();
		free(want);
		json_decref(again);
		json_decref(inner);
		action_clear(&a);
	} else if (err.message[0] == '\0') {
		abort(); /* every refusal names what was wrong */
	}
	free(text);
	return 0;
}
