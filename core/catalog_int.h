/* The catalog handle, shared by the core's files. */
#ifndef DSQL_CORE_CATALOG_INT_H
#define DSQL_CORE_CATALOG_INT_H

#include "deltasql/catalog.h"
#include "deltasql/metrics.h"
#include "db.h"
#include "log.h"
#include "table_hint.h"

typedef struct publish_state publish_state;

#include <jansson.h>

/* Rows per multi-row statement at most (batch.c). */
#define BATCH_MAX_ROWS 64
/* Statement forms of batch.c: its kinds, the live-file look-up and the
 * unlink by row ids. */
#define BATCH_FORMS 5

struct dsql_catalog {
	dsql_db *db;
	dsql_retry_policy retry;
	char uuid[37];
	int schema_version;
	/* The catalog is older than the key column's rename, and the
	 * key/value statements for it (schema.c). */
	int legacy_key;
	char *schema_sql[3];
	/* The live-file index is unique among live rows (schema.c). */
	int live_key_unique;
	dsql_metrics metrics;
	core_logger log; /* log.c; no callback: nothing is logged */
	/* Multi-row statement texts, by kind and row count (batch.c). */
	char *batch_sql[BATCH_FORMS][BATCH_MAX_ROWS + 1];
	/* What this handle last saw of each table it used (table_hint.c). */
	table_hint *hints;
	size_t n_hints, cap_hints;
	/* What it knows of their publication (publish.c); publish_mode: the
	 * catalog's 'publish' key, -1 until read. */
	struct publish_state *published;
	size_t n_published, cap_published;
	int publish_mode;
};

/* Looks a table's id and current version up by name (outside any write
 * transaction). Codes: DSQL_OK, DSQL_ENOTFOUND (message names the table). */
int catalog_find_table(dsql_catalog *cat, const char *name, int64_t *id, int64_t *version,
                       dsql_error *err);

/* The body of the metaData action in force at a table's version (a new
 * reference in *out, NULL when the table has none); *set_at (may be NULL)
 * receives the version that committed it (-1: none). */
int catalog_metadata_at(dsql_db *db, int64_t table_id, int64_t version, json_t **out,
                        int64_t *set_at, dsql_error *err);
/* The same for the protocol action in force. */
int catalog_protocol_at(dsql_db *db, int64_t table_id, int64_t version, json_t **out,
                        int64_t *set_at, dsql_error *err);

#endif
