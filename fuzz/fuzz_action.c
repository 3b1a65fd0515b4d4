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
		char *line = action_line_text(&a), *body = action_body_text(&a);

		free(line);
		free(body);
		action_clear(&a);
	} else if (err.message[0] == '\0') {
		abort(); /* every refusal names what was wrong */
	}
	free(text);
	return 0;
}
