/* Error reports: filling dsql_error and naming status codes. */
#include "deltasql/error.h"
#include "deltasql/driver.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

void dsql_error_clear(dsql_error *err)
{
	if (!err)
		return;
	memset(err, 0, sizeof(*err));
	err->conflict.winning_version = -1;
	err->statement_index = -1;
}

int dsql_error_set(dsql_error *err, int code, const char *driver, const char *sqlstate,
                   int64_t native_code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	dsql_error_clear(err);
	err->code = code;
	copy_str(err->driver, sizeof(err->driver), driver ? driver : "core");
	copy_str(err->sqlstate, sizeof(err->sqlstate), sqlstate);
	err->native_code = native_code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

const char *dsql_status_name(int code)
{
	switch (code) {
	case DSQL_OK: return "ok";
	case DSQL_ERROR: return "error";
	case DSQL_ECONFLICT: return "conflict";
	case DSQL_ERETRY: return "retryable";
	case DSQL_EUNKNOWN: return "commit state unknown";
	case DSQL_ENOTFOUND: return "not found";
	case DSQL_EEXISTS: return "already exists";
	case DSQL_EINVALID: return "invalid input";
	case DSQL_EUNSUPPORTED: return "unsupported";
	case DSQL_ECONNECT: return "connection failure";
	case DSQL_EDB: return "database error";
	case DSQL_ETIMEOUT: return "timeout";
	case DSQL_ENOMEM: return "out of memory";
	case DSQL_ECATALOG_VERSION: return "catalog version";
	case DSQL_EIO: return "file error";
	case DSQL_EREADONLY: return "read-only";
	case DSQL_ROW: return "row";
	case DSQL_DONE: return "done";
	default: return "unknown status";
	}
}

const char *dsql_version(void)
{
	return DSQL_VERSION_STRING;
}
