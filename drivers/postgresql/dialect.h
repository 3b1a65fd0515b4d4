/* The PostgreSQL dialect, shared by the native driver and the ODBC
 * driver's PostgreSQL row (it includes no libpq header). */
#ifndef DSQL_PG_DIALECT_H
#define DSQL_PG_DIALECT_H

#include "deltasql/driver.h"

/* The dialect of a server: row_ids where rows have ctids (PostgreSQL; not
 * CockroachDB), unique_key where the server takes a unique index with
 * NULLS NOT DISTINCT inside a transaction that can roll it back
 * (PostgreSQL 15 and later; not CockroachDB, whose schema changes do not
 * follow a rollback). Borrowed, static. */
const dsql_dialect *dsql_pg_dialect(int row_ids, int unique_key);

#endif
