/*
 * ODBC diagnostics to deltasql codes: the native code where the DBMS's
 * dialect row knows it (its SQLSTATEs are generic where it matters: HY000
 * for every SQLite error, 23000 for MariaDB's duplicate key), else the
 * SQLSTATE by the table the PostgreSQL driver shares. Never the message
 * text.
 */
#include "errors.h"
#include "../common/sqlstate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int dsql_odbc_classify(const char *sqlstate, long native, odbc_native_fn by_native)
{
	int code = by_native ? by_native(sqlstate, native) : 0;

	return code ? code : dsql_sqlstate_classify(sqlstate);
}

void dsql_odbc_scrub(char *msg)
{
	static const char *const keys[] = {"pwd=", "password=", NULL};

	for (const char *const *k = keys; *k; k++) {
		size_t n = strlen(*k);

		for (char *p = msg; *p; p++) {
			if (strncasecmp(p, *k, n) != 0)
				continue;
			p += n;
			while (*p && *p != ';' && *p != ' ' && *p != '\'' && *p != '"')
				*p++ = '*';
			if (!*p)
				break;
		}
	}
}

/* "[unixODBC][Driver Manager]x" -> "x". */
static const char *strip_prefix(const char *m)
{
	while (*m == '[') {
		const char *end = strchr(m, ']');

		if (!end)
			break;
		m = end + 1;
	}
	return m;
}

int dsql_odbc_error(dsql_error *err, odbc_native_fn by_native, SQLSMALLINT type,
                    SQLHANDLE handle, const char *context)
{
	SQLCHAR state[6] = "HY000", first_state[6] = "", text[512];
	char msg[DSQL_ERROR_MESSAGE_MAX - 200] = "";
	SQLINTEGER native = 0, first_native = 0;
	SQLSMALLINT len;
	size_t used = 0;
	int code;

	for (SQLSMALLINT i = 1; handle && i <= 4; i++) {
		if (!SQL_SUCCEEDED(SQLGetDiagRec(type, handle, i, state, &native, text, sizeof(text),
		                                 &len)))
			break;
		if (i == 1) {
			memcpy(first_state, state, sizeof(first_state));
			first_native = native;
		}
		used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s%s", used ? "; " : "",
		                         strip_prefix((const char *)text));
		if (used >= sizeof(msg))
			break;
	}
	if (!first_state[0])
		memcpy(first_state, "HY000", 6);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	dsql_odbc_scrub(msg);
	code = dsql_odbc_classify((const char *)first_state, (long)first_native, by_native);
	return dsql_error_set(err, code, "odbc", (const char *)first_state, first_native, "%s: %s",
	                      context, msg[0] ? msg : "no diagnostic");
}
