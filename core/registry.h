/* The driver registry: the library's only mutable global state. */
#ifndef DSQL_CORE_REGISTRY_H
#define DSQL_CORE_REGISTRY_H

#include "deltasql/driver.h"

/* The registered driver whose scheme matches the URI, or NULL. Built-in
 * drivers are registered on first use. */
const dsql_driver *registry_find(const char *uri);
/* A static, comma-separated list of the registered schemes, for messages. */
const char *registry_schemes(void);

#endif
