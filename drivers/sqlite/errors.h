/* The SQLite driver's one error classifier. */
#ifndef DSQL_SQLITE_ERRORS_H
#define DSQL_SQLITE_ERRORS_H

#include <sqlite3.h>

#include "deltasql/driver.h"

/* Fills err from the connection's last error (extended result code rc) and
 * returns the deltasql code. */
int dsql_sqlite_error(dsql_error *err, sqlite3 *db, int rc, const char *context);

#endif
