/* The list of built-in drivers: one line per driver. */
#include "builtin.h"

#include "config.h"

extern const dsql_driver dsql_sqlite_driver;
#ifdef HAVE_LIBPQ
extern const dsql_driver dsql_postgresql_driver;
#endif
#ifdef HAVE_ODBC
extern const dsql_driver dsql_odbc_driver;
#endif

const dsql_driver *const dsql_builtin_drivers[] = {
	&dsql_sqlite_driver,
#ifdef HAVE_LIBPQ
	&dsql_postgresql_driver,
#endif
#ifdef HAVE_ODBC
	&dsql_odbc_driver,
#endif
	NULL,
};
