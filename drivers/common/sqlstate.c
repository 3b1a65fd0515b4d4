/* SQLSTATEs to deltasql codes (see sqlstate.h). Standard states, the ODBC
 * driver manager's own (HY..., IM..., 08S01) and PostgreSQL's, which
 * psqlODBC passes through unchanged. Never the message text. */
#include "sqlstate.h"

#include "deltasql/error.h"

#include <string.h>

static const struct {
	const char *state; /* five characters, or a two-character class */
	int code;
} table[] = {
	{"40001", DSQL_ERETRY},       /* serialization_failure */
	{"40P01", DSQL_ERETRY},       /* deadlock_detected */
	/* lock_not_available: lock_timeout ran out. A lock held that long is
	 * stuck (a forgotten prepared transaction, an idle session); waiting
	 * again would wait past the bound the docs promise. */
	{"55P03", DSQL_ETIMEOUT},
	{"40003", DSQL_EUNKNOWN},     /* statement completion unknown */
	{"57014", DSQL_ETIMEOUT},     /* query_canceled (statement_timeout) */
	{"25P03", DSQL_ETIMEOUT},     /* idle_in_transaction_session_timeout */
	{"HYT00", DSQL_ETIMEOUT},     /* ODBC: timeout expired */
	{"HYT01", DSQL_ETIMEOUT},     /* ODBC: connection timeout expired */
	{"57P01", DSQL_ECONNECT},     /* admin_shutdown (pg_terminate_backend) */
	{"57P02", DSQL_ECONNECT},     /* crash_shutdown */
	{"57P03", DSQL_ECONNECT},     /* cannot_connect_now */
	{"08S01", DSQL_ECONNECT},     /* ODBC: communication link failure */
	{"IM002", DSQL_ECONNECT},     /* ODBC: no such data source or driver */
	{"28000", DSQL_ECONNECT},     /* invalid authorization */
	{"23505", DSQL_EEXISTS},      /* unique_violation */
	{"42P07", DSQL_EEXISTS},      /* duplicate_table */
	{"42S01", DSQL_EEXISTS},      /* ODBC: base table already exists */
	{"42P01", DSQL_ENOTFOUND},    /* undefined_table */
	{"42S02", DSQL_ENOTFOUND},    /* ODBC: base table not found */
	{"42704", DSQL_ENOTFOUND},    /* undefined_object (e.g. an unknown prepared gid) */
	{"25006", DSQL_EREADONLY},    /* read_only_sql_transaction (a standby) */
	{"53100", DSQL_EDB},          /* disk_full: retrying does not help */
	{"53200", DSQL_ENOMEM},       /* out_of_memory */
	{"HY001", DSQL_ENOMEM},       /* ODBC: memory allocation error */
	{"53300", DSQL_ERETRY},       /* too_many_connections: transient */
	{"0A000", DSQL_EUNSUPPORTED}, /* feature_not_supported */
	{"HYC00", DSQL_EUNSUPPORTED}, /* ODBC: optional feature not implemented */
	{"08", DSQL_ECONNECT},        /* connection exceptions */
	{"23", DSQL_EINVALID},        /* other integrity violations */
	{"22", DSQL_EINVALID},        /* data exceptions */
	{"40", DSQL_ERETRY},          /* transaction rollback */
};

int dsql_sqlstate_classify(const char *sqlstate)
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
