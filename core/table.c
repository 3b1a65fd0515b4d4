/* Creating, listing and dropping tables. */
#include "deltasql/table.h"
#include "txn_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static json_t *string_array(const char *const *items)
{
	json_t *arr = json_array();

	for (size_t i = 0; items && items[i]; i++)
		json_array_append_new(arr, json_string(items[i]));
	return arr;
}

static int build_v0(json_t **protocol, json_t **metadata, const dsql_table_options *o,
                    dsql_error *err)
{
	json_t *config = json_object(), *meta;
	char id[37];

	for (size_t i = 0; o->properties && o->properties[i]; i += 2) {
		if (!o->properties[i + 1]) {
			json_decref(config);
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "property '%s' has no value", o->properties[i]);
		}
		json_object_set_new(config, o->properties[i], json_string(o->properties[i + 1]));
	}
	util_uuid4(id);
	meta = json_pack("{s:s, s:{s:s, s:{}}, s:s, s:o, s:o, s:I}", "id", id, "format",
	                 "provider", "parquet", "options", "schemaString",
	                 o->schema_json ? o->schema_json : "{\"type\":\"struct\",\"fields\":[]}",
	                 "partitionColumns", string_array(o->partition_columns), "configuration",
	                 config, "createdTime", (json_int_t)util_now_ms());
	*metadata = json_pack("{s:o}", "metaData", meta);
	*protocol = json_pack("{s:{s:i, s:i}}", "protocol", "minReaderVersion",
	                      o->min_reader_version ? o->min_reader_version : 1,
	                      "minWriterVersion", o->min_writer_version ? o->min_writer_version : 2);
	if (!*metadata || !*protocol) {
		json_decref(*metadata);
		json_decref(*protocol);
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "table options contain invalid UTF-8");
	}
	return DSQL_OK;
}

static int stage_json(dsql_txn *txn, txn_table *t, json_t *line, dsql_error *err)
{
	action a;
	int rc = action_parse_json(&a, line, err);

	json_decref(line);
	if (rc != DSQL_OK)
		return rc;
	return txn_stage_parsed(txn, t, &a, err);
}

int dsql_table_create(dsql_catalog *cat, const char *name, const dsql_table_options *opts,
                      dsql_error *err)
{
	dsql_table_options defaults = DSQL_TABLE_OPTIONS_INIT;
	json_t *protocol = NULL, *metadata = NULL;
	dsql_txn *txn = NULL;
	txn_table *t;
	int rc;

	if (!opts)
		opts = &defaults;
	if (opts->version < 1 || opts->version > DSQL_TABLE_OPTIONS_VERSION)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "unknown dsql_table_options version %u", opts->version);
	if ((rc = util_check_name("table", name, err)) != DSQL_OK)
		return rc;
	if ((rc = build_v0(&protocol, &metadata, opts, err)) != DSQL_OK)
		return rc;
	rc = dsql_txn_begin(&txn, cat, NULL, err);
	if (rc == DSQL_OK)
		rc = txn_add_new_table(txn, name, opts->location, &t, err);
	if (rc == DSQL_OK) {
		rc = stage_json(txn, t, protocol, err);
		protocol = NULL;
	}
	if (rc == DSQL_OK) {
		rc = stage_json(txn, t, metadata, err);
		metadata = NULL;
	}
	if (rc == DSQL_OK)
		rc = dsql_txn_commit(txn, err);
	json_decref(protocol);
	json_decref(metadata);
	dsql_txn_free(txn);
	return rc;
}

int dsql_table_list(dsql_catalog *cat, dsql_table_cb cb, void *payload, dsql_error *err)
{
	dsql_table_info info;
	db_stmt *st;
	int rc;

	rc = db_stmt_get(&st, cat->db,
	                 "SELECT name, uuid, location, version, created_ms FROM dsql_table"
	                 " WHERE version >= 0 ORDER BY name",
	                 err);
	if (rc != DSQL_OK)
		return rc;
	for (rc = db_run(st, err, ""); rc == DSQL_ROW; rc = db_step(st, err)) {
		int stop;

		info.name = db_column_text(st, 0, NULL);
		info.uuid = db_column_text(st, 1, NULL);
		info.location = db_column_text_or_null(st, 2);
		info.version = db_column_int64(st, 3);
		info.created_ms = db_column_int64(st, 4);
		stop = cb(&info, payload);
		if (stop) {
			db_stmt_done(st);
			return stop;
		}
	}
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

int dsql_table_version(dsql_catalog *cat, const char *name, int64_t *out, dsql_error *err)
{
	return catalog_find_table(cat, name, NULL, out, err);
}

static const char *const drop_sql[] = {
	/* Lock first: a commit under way on this table finishes before the
	 * rows go, and none can start after. */
	"UPDATE dsql_table SET version = version WHERE id = ?",
	"DELETE FROM dsql_file WHERE table_id = ?",
	"DELETE FROM dsql_action WHERE table_id = ?",
	"DELETE FROM dsql_commit WHERE table_id = ?",
	"DELETE FROM dsql_app_txn WHERE table_id = ?",
	"DELETE FROM dsql_domain WHERE table_id = ?",
	"DELETE FROM dsql_tombstone WHERE table_id = ?",
	"DELETE FROM dsql_table WHERE id = ?",
	NULL,
};

int dsql_table_drop(dsql_catalog *cat, const char *name, dsql_error *err)
{
	int64_t id;
	db_stmt *st;
	int rc;

	rc = db_begin(cat->db, DSQL_BEGIN_WRITE, err);
	if (rc != DSQL_OK)
		return rc;
	rc = catalog_find_table(cat, name, &id, NULL, err);
	for (size_t i = 0; drop_sql[i] && rc == DSQL_OK; i++) {
		rc = db_stmt_get(&st, cat->db, drop_sql[i], err);
		if (rc == DSQL_OK)
			rc = db_run(st, err, "i", id);
		if (rc == DSQL_DONE)
			rc = DSQL_OK;
	}
	if (rc != DSQL_OK) {
		db_rollback(cat->db);
		return rc;
	}
	return db_commit(cat->db, err);
}
