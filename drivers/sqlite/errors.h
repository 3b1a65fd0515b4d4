/* The SQLite driver's one error classifier. */
#ifndef DSQL_SQLITE_ERRORS_H
#define DSQL_SQLITE_ERRORS_H

#include <sqlite3.h>

#include "deltasql/driver.h"

/* Fills err from the connection's last error (extended result code rc) and
 * returns the deltasql code. */
int dsql_sqlite_error(dsql_error *err, sqlite3 *db, int rc, const char *context);
/* As dsql_sqlite_error; waited_ms >= 0: the busy handler gave up after
 * waiting that long, and a busy is a lock timeout (DSQL_ETIMEOUT, SQLSTATE
 * 55P03 lock_not_available). */
int dsql_sqlite_error_waited(dsql_error *err, sqlite3 *db, int rc, const char *context,
                             int waited_ms);

#endif
