/*
 * The Delta action model: one action is one line of a _delta_log commit
 * ({"add": {...}}). Parsing checks the structure the Delta protocol
 * requires of each kind and extracts the fields the catalog indexes; the
 * action itself is kept verbatim so export can write it back unchanged.
 */
#ifndef DSQL_CORE_ACTION_H
#define DSQL_CORE_ACTION_H

#include <jansson.h>
#include <stdint.h>

#include "deltasql/error.h"
#include "deltasql/txn.h"

typedef enum action_kind {
	ACT_ADD,
	ACT_REMOVE,
	ACT_METADATA,
	ACT_PROTOCOL,
	ACT_TXN,
	ACT_DOMAIN,
	ACT_COMMITINFO,
	ACT_CDC
} action_kind;

typedef struct action {
	action_kind kind;
	json_t *line;       /* owned: {"kind": body} */
	json_t *body;       /* borrowed from line */
	const char *path;   /* add, remove, cdc: canonical (delta_path.h) */
	char *canon;        /* owned: the canonical path, when not the one given */
	char dv_id[512];    /* add, remove: deletion vector unique id, "" if none */
	int64_t size;       /* add, cdc; -1 when absent */
	int data_change;    /* add, remove: 1 unless dataChange is false */
	const char *app_id; /* txn */
	int64_t app_version;
	const char *domain; /* domainMetadata */
	int domain_removed;
	/* The line as compact JSON (owned): the caller's own text when it was
	 * already compact, else jansson's rendering of it. */
	char *text;
	size_t text_len;
	/* A typed file action (action_from_file) has no JSON tree (line and
	 * body are NULL): owned holds its path, then its n_values partition
	 * columns, each followed by its value ("" for null), all
	 * NUL-terminated, from value_keys on. */
	char *owned;
	const char *value_keys;
	size_t n_values;
} action;

/* The Delta name of a kind ("add", "metaData"...). */
const char *action_kind_name(action_kind kind);

/* Parses one action from JSON text. On success *out owns the JSON. Codes:
 * DSQL_OK, DSQL_EINVALID (message names the field). */
int action_parse_text(action *out, const char *text, dsql_error *err);
/* The same for an action read back from the catalog (a winner's, for the
 * conflict check): its text is the caller's, so none is kept, and
 * action_line/action_body must not be used on it. */
int action_parse_stored(action *out, const char *text, dsql_error *err);
/* Parses one action from a JSON object; takes a new reference to it. */
int action_parse_json(action *out, json_t *line, dsql_error *err);
/* The same, given the text line was parsed from (NUL-terminated): kept as
 * the action's text when it is already compact, saving a rendering. */
int action_parse_json_text(action *out, json_t *line, const char *text, dsql_error *err);
/* Makes an add or remove from its typed fields (kind ACT_ADD or
 * ACT_REMOVE), checking them and writing its compact line. Codes: DSQL_OK,
 * DSQL_EINVALID (message names the field), DSQL_ENOMEM. */
int action_from_file(action *out, action_kind kind, const dsql_file_action *file,
                     dsql_error *err);
/* Writes s as a JSON string, quoted, with the escapes jansson writes and
 * nothing else escaped, and a NUL; dst needs 6 * strlen(s) + 3 bytes.
 * Returns the length written (without the NUL). */
size_t action_json_string(char *dst, const char *s);
/* Delta's deletion vector unique id: storageType + pathOrInlineDv, plus
 * "@offset" when an offset is given (offset -1: none). */
void action_set_dv_id(action *a, const char *storage, const char *where, int64_t offset);
/* An add's partition values: how many, and whether one is given for a
 * column (1 or 0); *value (when value is not NULL) is set to it, borrowed
 * from the action, NULL for a null. */
size_t action_partition_value_count(const action *a);
int action_partition_value(const action *a, const char *column, const char **value);
/* Releases what action_parse_* and action_from_file took. */
void action_clear(action *a);
/* Compact JSON text of the whole line / of the body, borrowed from the
 * action (valid until action_clear). The body is not NUL-terminated: *len
 * says where it ends. */
const char *action_line(const action *a, size_t *len);
const char *action_body(const action *a, size_t *len);

/* Checks a Delta schema string (a JSON struct type) and that every listed
 * partition column names a top-level field. Codes: DSQL_OK, DSQL_EINVALID. */
int action_check_schema(const char *schema_string, json_t *partition_columns,
                        dsql_error *err);

#endif
