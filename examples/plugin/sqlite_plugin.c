/*
 * An out-of-tree driver: the SQLite connector built as its own shared
 * object and loaded at run time, under the URI scheme "sqlite-plugin:".
 *
 *   deltasql --driver ./deltasql_sqlite_plugin.so --catalog sqlite-plugin:lake.db list
 *   deltasql-conformance --driver ./deltasql_sqlite_plugin.so sqlite-plugin:/tmp/x.db
 *
 * It shows what a vendor's driver needs: the vtable (compiled from the
 * driver's own sources), and one exported function, dsql_driver_init, that
 * negotiates the ABI with the library loading it.
 */
#include <deltasql/driver.h>
#include <stddef.h>

/* The connector, compiled into this object from drivers/sqlite/. */
extern const dsql_driver dsql_sqlite_driver;

static const char *const schemes[] = {"sqlite-plugin", NULL};
static dsql_driver plugin;

#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int dsql_driver_init(const dsql_driver **out, unsigned int host_abi, dsql_error *err);

int dsql_driver_init(const dsql_driver **out, unsigned int host_abi, dsql_error *err)
{
	/* This driver is built with the ABI of the headers it was compiled
	 * against (DSQL_DRIVER_ABI_VERSION) but uses no method newer than ABI
	 * 1: for an older host it describes itself as host_abi, with a
	 * struct_size that stops before the methods that host does not know. */
	if (host_abi < 1)
		return dsql_error_set(err, DSQL_EUNSUPPORTED, "sqlite-plugin", NULL, 0,
		                      "host speaks driver ABI %u; this driver needs 1", host_abi);
	plugin = dsql_sqlite_driver;
	plugin.name = "sqlite-plugin";
	plugin.uri_schemes = schemes;
	if (host_abi < DSQL_DRIVER_ABI_VERSION) {
		plugin.abi_version = host_abi;
		plugin.struct_size = offsetof(dsql_driver, exec_deferred); /* ABI 1 */
	}
	*out = &plugin;
	return DSQL_OK;
}
