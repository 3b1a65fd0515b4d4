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
	/* This driver is built for ABI 1, the oldest there is: any host that
	 * speaks ABI 1 or newer can use it as it is. A driver built for a newer
	 * ABI would describe itself as host_abi here (abi_version and a
	 * struct_size that stops before the methods the host does not know),
	 * or refuse. */
	if (host_abi < 1)
		return dsql_error_set(err, DSQL_EUNSUPPORTED, "sqlite-plugin", NULL, 0,
		                      "host speaks driver ABI %u; this driver needs 1", host_abi);
	plugin = dsql_sqlite_driver;
	plugin.name = "sqlite-plugin";
	plugin.uri_schemes = schemes;
	*out = &plugin;
	return DSQL_OK;
}
