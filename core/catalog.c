/* Opening and closing catalogs. */
#include "catalog_int.h"
#include "batch.h"
#include "publish.h"
#include "schema.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

int dsql_catalog_open(dsql_catalog **out, const char *uri, const dsql_catalog_options *opts,
                      dsql_error *err)
{
	dsql_catalog_options defaults = DSQL_CATALOG_OPTIONS_INIT;
	dsql_catalog *cat;
	int rc;

	if (!out)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "out is NULL");
	*out = NULL;
	if (!uri || !*uri)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "catalog URI is empty (e.g. sqlite:lake.db)");
	if (!strchr(uri, ':'))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "catalog URI has no scheme (e.g. sqlite:lake.db)");
	if (!opts)
		opts = &defaults;
	if (opts->version < 1 || opts->version > DSQL_CATALOG_OPTIONS_VERSION)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "unknown dsql_catalog_options version %u", opts->version);
	cat = calloc(1, sizeof(*cat));
	if (!cat)
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	cat->retry = opts->retry;
	cat->publish_mode = -1;
	rc = db_open(&cat->db, uri, err);
	if (rc == DSQL_OK) {
		db_set_logger(cat->db, &cat->log);
		rc = schema_ensure(cat, opts->create, err);
	}
	if (rc != DSQL_OK) {
		dsql_catalog_free(cat);
		return rc;
	}
	*out = cat;
	return DSQL_OK;
}

void dsql_catalog_free(dsql_catalog *cat)
{
	if (!cat)
		return;
	db_close(cat->db);
	batch_free(cat);
	schema_free(cat);
	hint_free_all(cat);
	publish_free_all(cat);
	free(cat);
}

const char *dsql_catalog_driver(const dsql_catalog *cat)
{
	return db_driver(cat->db)->name;
}

const char *dsql_catalog_uuid(const dsql_catalog *cat)
{
	return cat->uuid;
}

void dsql_catalog_set_retry_policy(dsql_catalog *cat, const dsql_retry_policy *policy)
{
	if (cat && policy)
		cat->retry = *policy;
}

void dsql_catalog_metrics(const dsql_catalog *cat, dsql_metrics *out, size_t size)
{
	if (!cat || !out)
		return;
	memcpy(out, &cat->metrics, size < sizeof(cat->metrics) ? size : sizeof(cat->metrics));
}

void dsql_catalog_metrics_reset(dsql_catalog *cat)
{
	if (cat)
		memset(&cat->metrics, 0, sizeof(cat->metrics));
}

int catalog_find_table(dsql_catalog *cat, const char *name, int64_t *id, int64_t *version,
                       dsql_error *err)
{
	db_stmt *st;
	int rc;

	rc = util_check_name("table", name, err);
	if (rc != DSQL_OK)
		return rc;
	rc = db_stmt_get(&st, cat->db,
	                 "SELECT id, version, last_commit_ms FROM dsql_table WHERE name = ?", err);
	if (rc != DSQL_OK)
		return rc;
	rc = db_run(st, err, "t", name);
	if (rc == DSQL_DONE) {
		table_hint *h = hint_find(cat, name);

		if (h)
			hint_forget(cat, h->id);
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0, "no such table: '%s'", name);
	}
	if (rc != DSQL_ROW)
		return rc;
	if (id)
		*id = db_column_int64(st, 0);
	if (version)
		*version = db_column_int64(st, 1);
	hint_saw(cat, name, db_column_int64(st, 0), db_column_int64(st, 1), db_column_int64(st, 2),
	         -1, -1);
	db_stmt_done(st);
	return DSQL_OK;
}

/* The body of the latest action of a kind (metaData, protocol) at or
 * before version; sql looks it up (one text per kind: the kind is part of
 * the plan). */
static int action_at(dsql_db *db, const char *sql, const char *kind, int64_t table_id,
                     int64_t version, json_t **out, int64_t *set_at, dsql_error *err)
{
	json_t *line;
	db_stmt *st;
	int rc;

	*out = NULL;
	if (set_at)
		*set_at = -1;
	rc = db_stmt_get(&st, db, sql, err);
	if (rc != DSQL_OK)
		return rc;
	rc = db_run(st, err, "iii", table_id, table_id, version);
	if (rc != DSQL_ROW)
		return rc == DSQL_DONE ? DSQL_OK : rc;
	line = json_loads(db_column_text(st, 0, NULL), 0, NULL);
	if (set_at)
		*set_at = db_column_int64(st, 1);
	db_stmt_done(st);
	*out = json_incref(json_object_get(line, kind));
	json_decref(line);
	return DSQL_OK;
}

int catalog_metadata_at(dsql_db *db, int64_t table_id, int64_t version, json_t **out,
                        int64_t *set_at, dsql_error *err)
{
	return action_at(db,
	                 "SELECT body, version FROM dsql_action WHERE table_id = ? AND kind = 'metaData'"
	                 " AND version = (SELECT MAX(version) FROM dsql_action WHERE"
	                 " table_id = ? AND kind = 'metaData' AND version <= ?)",
	                 "metaData", table_id, version, out, set_at, err);
}

int catalog_protocol_at(dsql_db *db, int64_t table_id, int64_t version, json_t **out,
                        int64_t *set_at, dsql_error *err)
{
	return action_at(db,
	                 "SELECT body, version FROM dsql_action WHERE table_id = ? AND kind = 'protocol'"
	                 " AND version = (SELECT MAX(version) FROM dsql_action WHERE"
	                 " table_id = ? AND kind = 'protocol' AND version <= ?)",
	                 "protocol", table_id, version, out, set_at, err);
}
