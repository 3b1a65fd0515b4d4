/* The catalog handle, shared by the core's files. */
#ifndef DSQL_CORE_CATALOG_INT_H
#define DSQL_CORE_CATALOG_INT_H

#include "deltasql/catalog.h"
#include "db.h"

struct dsql_catalog {
	dsql_db *db;
	dsql_retry_policy retry;
	char uuid[37];
	int schema_version;
};

/* Looks a table's id and current version up by name (outside any write
 * transaction). Codes: DSQL_OK, DSQL_ENOTFOUND (message names the table). */
int catalog_find_table(dsql_catalog *cat, const char *name, int64_t *id, int64_t *version,
                       dsql_error *err);

#endif
