/*
 * PostgreSQL SQLSTATEs to deltasql codes: the exact state first, then its
 * two-character class. Never the message text (it is translated).
 */
#include "errors.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *state; /* five characters, or a two-character class */
	int code;
} table[] = {
	{"40001", DSQL_ERETRY},    /* serialization_failure */
	{"40P01", DSQL_ERETRY},    /* deadlock_detected */
	/* lock_not_available: lock_timeout ran out. A lock held that long is
	 * stuck (a forgotten prepared transaction, an idle session); waiting
	 * again would wait past the bound the docs promise. */
	{"55P03", DSQL_ETIMEOUT},
	{"57014", DSQL_ETIMEOUT},  /* query_canceled (statement_timeout) */
	{"25P03", DSQL_ETIMEOUT},  /* idle_in_transaction_session_timeout */
	{"57P01", DSQL_ECONNECT},  /* admin_shutdown (pg_terminate_backend) */
	{"57P02", DSQL_ECONNECT},  /* crash_shutdown */
	{"57P03", DSQL_ECONNECT},  /* cannot_connect_now */
	{"23505", DSQL_EEXISTS},   /* unique_violation */
	{"42P07", DSQL_EEXISTS},   /* duplicate_table */
	{"42P01", DSQL_ENOTFOUND}, /* undefined_table */
	{"42704", DSQL_ENOTFOUND}, /* undefined_object (e.g. an unknown prepared gid) */
	{"25006", DSQL_EREADONLY}, /* read_only_sql_transaction (a standby) */
	{"53100", DSQL_EDB},       /* disk_full: retrying does not help */
	{"53200", DSQL_ENOMEM},    /* out_of_memory */
	{"53300", DSQL_ERETRY},    /* too_many_connections: transient */
	{"0A000", DSQL_EUNSUPPORTED}, /* feature_not_supported */
	{"08", DSQL_ECONNECT},     /* connection exceptions */
	{"23", DSQL_EINVALID},     /* other integrity violations */
	{"22", DSQL_EINVALID},     /* data exceptions */
	{"40", DSQL_ERETRY},       /* transaction rollback */
};

int dsql_pg_classify(const char *sqlstate)
{
	if (!sqlstate || strlen(sqlstate) != 5)
		return DSQL_EDB;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strlen(table[i].state) == 5 && strcmp(table[i].state, sqlstate) == 0)
			return table[i].code;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strlen(table[i].state) == 2 && strncmp(table[i].state, sqlstate, 2) == 0)
			return table[i].code;
	return DSQL_EDB;
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
