/* libFuzzer target: the Delta action parser (one _delta_log line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	dsql_error err;
	action a;

	memcpy(text, data, size);
	text[size] = '\0';
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
