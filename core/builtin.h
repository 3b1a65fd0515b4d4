/* The drivers compiled into the library, registered on first use. */
#ifndef DSQL_CORE_BUILTIN_H
#define DSQL_CORE_BUILTIN_H

#include "deltasql/driver.h"

/* NULL-terminated; generated from configure's choice of drivers. */
extern const dsql_driver *const dsql_builtin_drivers[];

#endif
