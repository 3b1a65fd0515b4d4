/* The ODBC driver's one error classifier. */
#ifndef DSQL_ODBC_ERRORS_H
#define DSQL_ODBC_ERRORS_H

#include <sql.h>
#include <sqlext.h>

#include "deltasql/driver.h"
#include "dialects.h"

/* Fills err from the diagnostic records of a handle and returns the
 * deltasql code; by_native (may be NULL) is the DBMS's native-code table. */
int dsql_odbc_error(dsql_error *err, odbc_native_fn by_native, SQLSMALLINT type,
                    SQLHANDLE handle, const char *context);

/* The deltasql code for a SQLSTATE and native code. */
int dsql_odbc_classify(const char *sqlstate, long native, odbc_native_fn by_native);

/* Removes PWD=... / Password=... values from a message, in place. */
void dsql_odbc_scrub(char *msg);

#endif
