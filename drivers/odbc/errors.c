/*
 * ODBC diagnostics to deltasql codes: the exact SQLSTATE first, then its
 * class; where the SQLSTATE is generic (HY000, S1000: the SQLite ODBC
 * driver reports every error so) the native code decides, as SQLite's
 * result codes. Never the message text.
 */
#include "errors.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *state;
	int code;
} states[] = {
	{"40001", DSQL_ERETRY},  {"40P01", DSQL_ERETRY}, {"55P03", DSQL_ERETRY},
	{"HYT00", DSQL_ETIMEOUT}, {"HYT01", DSQL_ETIMEOUT}, {"57014", DSQL_ETIMEOUT},
	{"40003", DSQL_EUNKNOWN}, {"08S01", DSQL_ECONNECT}, {"23505", DSQL_EEXISTS},
	{"42P01", DSQL_ENOTFOUND}, {"42S02", DSQL_ENOTFOUND}, {"HY001", DSQL_ENOMEM},
	{"HYC00", DSQL_EUNSUPPORTED}, {"IM002", DSQL_ECONNECT}, {"28000", DSQL_ECONNECT},
	{"08", DSQL_ECONNECT}, {"23", DSQL_EINVALID}, {"22", DSQL_EINVALID},
	{"40", DSQL_ERETRY},
};

/* SQLite result codes, primary and extended, for generic states. */
static int classify_native(long native)
{
	switch (native & 0xff) {
	case 5:  /* SQLITE_BUSY */
	case 6:  /* SQLITE_LOCKED */
		return DSQL_ERETRY;
	case 19: /* SQLITE_CONSTRAINT: unique when extended says so, or unknown */
		return (native == 19 || native == 2067 || native == 1555) ? DSQL_EEXISTS
		                                                           : DSQL_EINVALID;
	case 7:  /* SQLITE_NOMEM */
		return DSQL_ENOMEM;
	case 14: /* SQLITE_CANTOPEN */
		return DSQL_ECONNECT;
	default:
		return DSQL_EDB;
	}
}

int dsql_odbc_classify(const char *sqlstate, long native)
{
	if (strcmp(sqlstate, "HY000") == 0 || strcmp(sqlstate, "S1000") == 0)
		return classify_native(native);
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strlen(states[i].state) == 5 && strcmp(states[i].state, sqlstate) == 0)
			return states[i].code;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strlen(states[i].state) == 2 && strncmp(states[i].state, sqlstate, 2) == 0)
			return states[i].code;
	return DSQL_EDB;
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

int dsql_odbc_error(dsql_error *err, SQLSMALLINT type, SQLHANDLE handle, const char *context)
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
	code = dsql_odbc_classify((const char *)first_state, (long)first_native);
	return dsql_error_set(err, code, "odbc", (const char *)first_state, first_native, "%s: %s",
	                      context, msg[0] ? msg : "no diagnostic");
}
