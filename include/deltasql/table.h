/*
 * deltasql/table.h: creating, listing and dropping the Delta tables of a
 * catalog. Creating a table commits its version 0 (protocol + metaData);
 * every later change is a transaction (txn.h).
 */
#ifndef DELTASQL_TABLE_H
#define DELTASQL_TABLE_H

#include "catalog.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSQL_TABLE_OPTIONS_VERSION 1
typedef struct dsql_table_options {
	/* DSQL_TABLE_OPTIONS_VERSION. */
	unsigned int version;
	/* Where the data files live (a URI or path); may be NULL. */
	const char *location;
	/* The Delta schema as a JSON struct type; NULL for no columns yet. */
	const char *schema_json;
	/* Partition column names, NULL-terminated; may be NULL. */
	const char *const *partition_columns;
	/* Table properties (metaData.configuration) as key, value, key,
	 * value, ..., NULL; may be NULL. */
	const char *const *properties;
	/* Protocol versions; 0 picks 1 and 2. */
	int min_reader_version;
	int min_writer_version;
} dsql_table_options;
#define DSQL_TABLE_OPTIONS_INIT {DSQL_TABLE_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0}

/* A table as listed; all strings borrowed for the duration of the
 * callback. */
typedef struct dsql_table_info {
	const char *name;
	const char *uuid;
	const char *location; /* may be NULL */
	int64_t version;
	int64_t created_ms;
} dsql_table_info;

typedef int (*dsql_table_cb)(const dsql_table_info *table, void *payload);

/* Creates a table and commits its version 0; opts may be NULL. Codes:
 * DSQL_OK, DSQL_EEXISTS, DSQL_EINVALID (name, schema, partition columns),
 * DSQL_ERETRY (gave up), database codes. */
DSQL_EXTERN int dsql_table_create(dsql_catalog *cat, const char *name,
                                  const dsql_table_options *opts, dsql_error *err);

/* Calls cb for every table, by name. A non-zero return from cb stops the
 * listing and is returned. Codes: DSQL_OK, database codes. */
DSQL_EXTERN int dsql_table_list(dsql_catalog *cat, dsql_table_cb cb, void *payload,
                                dsql_error *err);

/* Looks one table up. Codes: DSQL_OK, DSQL_ENOTFOUND. */
DSQL_EXTERN int dsql_table_version(dsql_catalog *cat, const char *name, int64_t *out,
                                   dsql_error *err);

/* Drops a table and its whole history from the catalog (data files are
 * not touched). Codes: DSQL_OK, DSQL_ENOTFOUND, database codes. */
DSQL_EXTERN int dsql_table_drop(dsql_catalog *cat, const char *name, dsql_error *err);

#ifdef __cplusplus
}
#endif
#endif
