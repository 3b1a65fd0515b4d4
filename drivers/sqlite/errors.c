/*
 * SQLite result codes to deltasql codes. The extended result code is
 * tried first, then the primary one. SQLite has no SQLSTATEs; constraint
 * failures get the standard class 23 states so that callers can treat them
 * like any other database's, and everything else reports HY000 with the
 * native code.
 */
#include "errors.h"

static const struct {
	int code;       /* extended or primary SQLite code */
	int dsql;
	const char *sqlstate;
} table[] = {
	{SQLITE_CONSTRAINT_UNIQUE, DSQL_EEXISTS, "23505"},
	{SQLITE_CONSTRAINT_PRIMARYKEY, DSQL_EEXISTS, "23505"},
	{SQLITE_CONSTRAINT_NOTNULL, DSQL_EINVALID, "23502"},
	{SQLITE_CONSTRAINT_FOREIGNKEY, DSQL_EINVALID, "23503"},
	{SQLITE_CONSTRAINT_CHECK, DSQL_EINVALID, "23514"},
	{SQLITE_CONSTRAINT, DSQL_EINVALID, "23000"},
	{SQLITE_BUSY, DSQL_ERETRY, "HY000"},
	{SQLITE_LOCKED, DSQL_ERETRY, "HY000"},
	{SQLITE_PROTOCOL, DSQL_ERETRY, "HY000"},
	{SQLITE_NOMEM, DSQL_ENOMEM, "HY001"},
	{SQLITE_CANTOPEN, DSQL_ECONNECT, "08001"},
	{SQLITE_NOTADB, DSQL_EINVALID, "HY000"},
	{SQLITE_CORRUPT, DSQL_EDB, "HY000"},
	{SQLITE_READONLY, DSQL_EDB, "25006"},
	{SQLITE_INTERRUPT, DSQL_ETIMEOUT, "57014"},
	{SQLITE_TOOBIG, DSQL_EINVALID, "22001"},
	{SQLITE_RANGE, DSQL_EINVALID, "07009"},
	{SQLITE_MISUSE, DSQL_ERROR, "HY010"},
};

int dsql_sqlite_error_waited(dsql_error *err, sqlite3 *db, int rc, const char *context,
                             int waited_ms)
{
	/* Waiting longer would not help either: the policy's retries would
	 * each wait the busy timeout again (the timeout is the promise). */
	if (rc == SQLITE_BUSY && waited_ms >= 0)
		return dsql_error_set(err, DSQL_ETIMEOUT, "sqlite", "55P03", rc,
		                      "%s: the catalog stayed locked by another writer for the "
		                      "busy timeout (%d ms)", context, waited_ms);
	return dsql_sqlite_error(err, db, rc, context);
}

int dsql_sqlite_error(dsql_error *err, sqlite3 *db, int rc, const char *context)
{
	int dsql = DSQL_EDB;
	const char *state = "HY000";
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	for (int pass = 0; pass < 2; pass++) {
		int want = pass == 0 ? rc : (rc & 0xff);
		int found = 0;

		for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			if (table[i].code == want) {
				dsql = table[i].dsql;
				state = table[i].sqlstate;
				found = 1;
				break;
			}
		if (found)
			break;
	}
	return dsql_error_set(err, dsql, "sqlite", state, rc, "%s: %s", context, msg);
}
