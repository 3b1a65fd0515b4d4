/*
 * PostgreSQL SQLSTATEs to deltasql codes, by the table the ODBC driver
 * shares (drivers/common/sqlstate.c). Never the message text (it is
 * translated).
 */
#include "errors.h"
#include "../common/sqlstate.h"

#include <stdio.h>
#include <string.h>

int dsql_pg_classify(const char *sqlstate)
{
	return dsql_sqlstate_classify(sqlstate);
}

/* One line: libpq messages end with a newline and may span several. */
static void one_line(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	for (; src && *src && n + 1 < cap; src++)
		dst[n++] = (*src == '\n' || *src == '\r') ? ' ' : *src;
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

int dsql_pg_error(dsql_error *err, PGconn *conn, const PGresult *res, const char *context)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[DSQL_ERROR_MESSAGE_MAX - 128];
	int code;

	if (!state) {
		/* No server answer: the connection is gone (or never was). */
		one_line(msg, sizeof(msg), conn ? PQerrorMessage(conn) : "no connection");
		code = (!conn || PQstatus(conn) == CONNECTION_BAD) ? DSQL_ECONNECT : DSQL_EDB;
		return dsql_error_set(err, code, "postgresql", code == DSQL_ECONNECT ? "08006" : "HY000",
		                      0, "%s: %s", context, msg);
	}
	one_line(msg, sizeof(msg), primary ? primary : PQresultErrorMessage(res));
	code = dsql_pg_classify(state);
	if (code == DSQL_EREADONLY)
		return dsql_error_set(err, code, "postgresql", state, 0,
		                      "the catalog is read-only here (a standby, or a read-only "
		                      "server or role): %s: %s",
		                      context, msg);
	/* A named statement gone or doubled: the session changed under the
	 * connection, which is what a transaction-mode pooler does. */
	if (strcmp(state, "26000") == 0 || strcmp(state, "42P05") == 0)
		return dsql_error_set(err, code, "postgresql", state, 0,
		                      "%s: %s (through a transaction-mode pooler? add "
		                      "deltasql_pool=transaction to the URI)",
		                      context, msg);
	return dsql_error_set(err, code, "postgresql", state, 0, "%s: %s", context, msg);
}
