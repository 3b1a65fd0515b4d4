/* libFuzzer target: a commit document ({"tables": {"a": {"read_version": N,
 * "read": {...}, "actions": [...]}}, "sql": [...]}) staged and committed
 * through the public API into an in-memory catalog. Whatever the input, the
 * library must answer with a code and a message, and never leave half a
 * commit: table a and table b move together or not at all. */
#include <deltasql.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dsql_catalog *cat;

static void setup(void)
{
	dsql_error err;

	if (cat)
		return;
	if (dsql_catalog_open(&cat, "sqlite::memory:", NULL, &err) ||
	    dsql_table_create(cat, "a", NULL, &err) || dsql_table_create(cat, "b", NULL, &err))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *t, *a;
	int64_t va0 = -1, vb0 = -1, va1 = -1, vb1 = -1;
	dsql_txn *txn = NULL;
	const char *name;
	dsql_error err;
	size_t i;
	int rc = DSQL_OK;

	setup();
	if (!json_is_object(doc)) {
		json_decref(doc);
		return 0;
	}
	dsql_table_version(cat, "a", &va0, NULL);
	dsql_table_version(cat, "b", &vb0, NULL);
	if (dsql_txn_begin(&txn, cat, NULL, &err))
		abort();
	json_object_foreach(json_object_get(doc, "tables"), name, t) {
		json_t *rv = json_object_get(t, "read_version");

		if (rc == DSQL_OK && json_is_integer(rv))
			rc = dsql_txn_open_table(txn, name, json_integer_value(rv), &err);
		if (rc == DSQL_OK && json_object_get(t, "read")) {
			char *r = json_dumps(json_object_get(t, "read"), JSON_ENCODE_ANY);

			rc = dsql_txn_read(txn, name, r, &err);
			free(r);
		}
		json_array_foreach(json_object_get(t, "actions"), i, a) {
			char *text = json_dumps(a, JSON_ENCODE_ANY);

			if (rc == DSQL_OK)
				rc = dsql_txn_stage(txn, name, text, &err);
			free(text);
		}
	}
	json_array_foreach(json_object_get(doc, "sql"), i, a)
		if (rc == DSQL_OK && json_is_string(json_object_get(a, "statement")))
			rc = dsql_txn_add_sql(txn, NULL, json_string_value(json_object_get(a, "statement")),
			                      NULL, 0, &err);
	if (rc == DSQL_OK)
		rc = dsql_txn_commit(txn, &err);
	if (rc != DSQL_OK && err.message[0] == '\0')
		abort();
	dsql_txn_free(txn);
	dsql_table_version(cat, "a", &va1, NULL);
	dsql_table_version(cat, "b", &vb1, NULL);
	if (rc != DSQL_OK && (va1 != va0 || vb1 != vb0))
		abort(); /* a failed commit changed something */
	json_decref(doc);
	return 0;
}
