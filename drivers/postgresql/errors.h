/* The PostgreSQL driver's one error classifier. */
#ifndef DSQL_PG_ERRORS_H
#define DSQL_PG_ERRORS_H

#include <libpq-fe.h>

#include "deltasql/driver.h"

/* Fills err from a failed result (or, when res is NULL, from the
 * connection) and returns the deltasql code. */
int dsql_pg_error(dsql_error *err, PGconn *conn, const PGresult *res, const char *context);

/* The deltasql code for a SQLSTATE: exact state first, then its class. */
int dsql_pg_classify(const char *sqlstate);

#endif
