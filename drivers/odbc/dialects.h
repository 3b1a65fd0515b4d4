/* The ODBC driver's dialect rows: what differs between the databases it
 * reaches, one row per DBMS (SQL_DBMS_NAME). */
#ifndef DSQL_ODBC_DIALECTS_H
#define DSQL_ODBC_DIALECTS_H

#include "deltasql/driver.h"

/* The deltasql code for a native error code of one DBMS (given its
 * SQLSTATE), or 0 when the table does not know it. */
typedef int (*odbc_native_fn)(const char *sqlstate, long native);

typedef struct odbc_option {
	const char *key, *value; /* appended as ";key=value" when key is absent */
} odbc_option;

typedef struct odbc_dialect {
	/* SQL_DBMS_NAME prefix. */
	const char *dbms;
	/* Words in a connection string that name this DBMS's ODBC driver: its
	 * connection options can only be added before connecting. */
	const char *const *driver_words;
	/* Explicit transaction statements where the driver's manual-commit
	 * mode does not fit (NULL: autocommit off and SQLEndTran). */
	const char *begin_write, *begin_read, *commit, *rollback;
	/* Connection options, NULL-terminated by key. */
	const odbc_option *options;
	/* Statements run once at connect (a failure is ignored: an older
	 * server without the setting), NULL-terminated. */
	const char *const *session;
	/* The statement-shape capabilities of a connection to it. */
	unsigned int capabilities;
	/* The dialect for the core, with the options applied, and without
	 * them (a DSN-only connection string: the options could not be
	 * added); the latter may be NULL (the same). */
	const dsql_dialect *dialect, *dialect_without_options;
	/* Or the dialect by the server's version (SQL_DBMS_VER), or NULL. */
	const dsql_dialect *(*versioned)(const char *dbms_version);
	/* Native codes, for states that do not say enough. */
	odbc_native_fn native;
} odbc_dialect;

/* The row for a DBMS name, or NULL. */
const odbc_dialect *odbc_dialect_by_dbms(const char *dbms);
/* The row whose driver a connection string names, or NULL. */
const odbc_dialect *odbc_dialect_by_connection_string(const char *conn_str);

#endif
