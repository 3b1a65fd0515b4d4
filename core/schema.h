/* The catalog schema: creation and migration, versioned. */
#ifndef DSQL_CORE_SCHEMA_H
#define DSQL_CORE_SCHEMA_H

#include "catalog_int.h"

/* Brings the catalog's schema to DSQL_CATALOG_SCHEMA_VERSION, creating it
 * when absent and create is set. Fills cat->uuid and cat->schema_version. */
int schema_ensure(dsql_catalog *cat, int create, dsql_error *err);

/* For tests: creates a fresh catalog schema at an older version. */
int schema_create_at(dsql_catalog *cat, int version, dsql_error *err);

/* One entry of the catalog's key/value table (dsql_catalog), by the name
 * its schema gives the key column. Codes: DSQL_OK, DSQL_ENOTFOUND (no such
 * entry), or the database's. */
int schema_get(dsql_catalog *cat, const char *key, char *buf, size_t cap, dsql_error *err);

/* Sets an entry of the catalog's key/value table, adding it when absent.
 * Codes: DSQL_OK or the database's. */
int schema_set(dsql_catalog *cat, const char *key, const char *value, dsql_error *err);

/* Frees what the schema code keeps in the handle. */
void schema_free(dsql_catalog *cat);

#endif
