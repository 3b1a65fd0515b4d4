/*
 * The ODBC dialect rows. A new database reached through ODBC is a row
 * here: its SQL_DBMS_NAME, the words of its ODBC driver's name, how its
 * transactions begin where manual-commit mode does not fit, its connection
 * options and session settings, the core's dialect (type names, collation,
 * index forms, driver.h) and the native error codes its SQLSTATEs do not
 * tell apart. See docs/writing-a-driver.md.
 */
#define _GNU_SOURCE /* strcasestr */
#include "dialects.h"
#include "../postgresql/dialect.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- SQLite (the SQLite3 ODBC driver) --- */

/* Every error arrives as HY000 (S1000): only SQLite's result code,
 * primary and extended, tells them apart. */
static int sqlite_native(const char *sqlstate, long native)
{
	if (strcmp(sqlstate, "HY000") != 0 && strcmp(sqlstate, "S1000") != 0)
		return 0;
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

static const char *const sqlite_words[] = {"sqlite", NULL};
/* The driver waits for a lock itself, up to Timeout ms. */
static const odbc_option sqlite_options[] = {{"Timeout", "10000"}, {NULL, NULL}};
static const dsql_dialect sqlite_dialect = {.struct_size = sizeof(dsql_dialect),
                                            .max_path_bytes = 1048576,
                                            .max_dv_bytes = 1048576};

/* --- PostgreSQL (psqlODBC) --- */

/* One generic plan per statement: custom plans read every file of a table
 * created since the last ANALYZE on each commit; no sequential scans,
 * which a plan made while the file index was empty would keep as it grows;
 * a lock wait bounded as natively (drivers/postgresql/). */
static const char *const pg_session[] = {
	"SET plan_cache_mode = force_generic_plan",
	"SET enable_seqscan = off",
	"SET lock_timeout = '5s'",
	NULL,
};

/* psqlODBC reports the server's version as "15.00.0004": the live-file key
 * needs 15 or later (NULLS NOT DISTINCT). */
static const dsql_dialect *pg_versioned(const char *version)
{
	return dsql_pg_dialect(1, atoi(version) >= 15);
}

/* --- MariaDB and MySQL (Connector/ODBC) --- */

/* Their SQLSTATEs are generic where it matters: a lock wait timeout is
 * HY000, a duplicate key 23000 like any integrity error. */
static int mariadb_native(const char *sqlstate, long native)
{
	(void)sqlstate;
	switch (native) {
	case 1062: /* ER_DUP_ENTRY */
	case 1586: /* ER_DUP_ENTRY_WITH_KEY_NAME */
	case 1050: /* ER_TABLE_EXISTS_ERROR */
		return DSQL_EEXISTS;
	case 1213: /* ER_LOCK_DEADLOCK */
	case 1040: /* ER_CON_COUNT_ERROR: too many connections */
		return DSQL_ERETRY;
	case 1205: /* ER_LOCK_WAIT_TIMEOUT: a lock held past the bound is stuck, as
	            * PostgreSQL's lock_not_available (drivers/common/sqlstate.c) */
		return DSQL_ETIMEOUT;
	case 1146: /* ER_NO_SUCH_TABLE */
		return DSQL_ENOTFOUND;
	case 1969: /* ER_STATEMENT_TIMEOUT (max_statement_time) */
	case 3024: /* MySQL: ER_QUERY_TIMEOUT (max_execution_time) */
		return DSQL_ETIMEOUT;
	case 2002: /* CR_CONNECTION_ERROR */
	case 2003: /* CR_CONN_HOST_ERROR */
	case 2006: /* CR_SERVER_GONE_ERROR */
	case 2013: /* CR_SERVER_LOST */
	case 1927: /* ER_CONNECTION_KILLED */
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */
		return DSQL_ECONNECT;
	case 1048: /* ER_BAD_NULL_ERROR */
	case 1406: /* ER_DATA_TOO_LONG */
	case 1452: /* ER_NO_REFERENCED_ROW_2 */
		return DSQL_EINVALID;
	default:
		return 0;
	}
}

static const char *const mariadb_words[] = {"mariadb", "mysql", NULL};
/* OPTION=2 (CLIENT_FOUND_ROWS): UPDATE counts the rows it matched, as
 * everywhere else; the character set of every text is UTF-8 (four-byte
 * characters included); a statement whose server went away fails after
 * the read or write timeout (seconds) instead of waiting forever. */
static const odbc_option mariadb_options[] = {
	{"OPTION", "2"},
	{"CHARSET", "utf8mb4"},
	{"READ_TIMEOUT", "60"},
	{"WRITE_TIMEOUT", "60"},
	{NULL, NULL},
};
/* A lock wait is bounded as on the other databases (5 s, docs/
 * RELIABILITY.md), metadata locks too; writers read committed data after
 * each lock (begin asks for READ COMMITTED). */
static const char *const mariadb_session[] = {
	"SET SESSION innodb_lock_wait_timeout = 5",
	"SET SESSION lock_wait_timeout = 5",
	NULL,
};
/* Keys are VARCHARs (TEXT cannot be a key without a length; an InnoDB key
 * holds 3072 bytes, four per character: a file's key is 8 + 4 * 500 + 4 *
 * 250 + 8 bytes), bodies LONGTEXT (TEXT holds 64 KB), and every column
 * compares bytes exactly: utf8mb4_nopad_bin, not the server's default
 * (utf8mb4_general_ci ignores case, accents and trailing spaces). DDL
 * commits the open transaction. */
/* The statements that commit implicitly (MariaDB's "SQL statements that
 * cause an implicit commit", MySQL's likewise), by their first word;
 * LOCK and UNLOCK cover LOCK TABLES, SET is not listed (SET PASSWORD and
 * SET ROLE are not in a commit's business: refused as data changes are
 * not). */
static const char *const mariadb_implicit_commit[] = {
	"ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE", "GRANT", "REVOKE", "LOCK", "UNLOCK",
	"LOAD", "ANALYZE", "OPTIMIZE", "REPAIR", "CHECK", "FLUSH", "RESET", "INSTALL",
	"UNINSTALL", "CACHE", "XA", "BACKUP", NULL,
};
#define MARIADB_DIALECT(extra_flags)                                                      \
	{                                                                                 \
		.struct_size = sizeof(dsql_dialect), .name_type = "VARCHAR(255)",         \
		.path_type = "VARCHAR(500)", .dv_type = "VARCHAR(250)",                   \
		.text_type = "LONGTEXT", .bytes_type = "LONGBLOB",                        \
		.table_options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"                 \
		                 " COLLATE=utf8mb4_nopad_bin",                            \
		.drop_index = "DROP INDEX IF EXISTS {index} ON {table}", .quote = "`",    \
		.max_path_bytes = 500, .max_dv_bytes = 250,                               \
		.flags = DSQL_DIALECT_DDL_COMMITS | DSQL_DIALECT_SORT_BY_KEY | (extra_flags), \
		.implicit_commit = mariadb_implicit_commit,                               \
	}
static const dsql_dialect mariadb_dialect = MARIADB_DIALECT(0);
/* A DSN whose options deltasql could not add may count changed rows. */
static const dsql_dialect mariadb_dialect_changed = MARIADB_DIALECT(DSQL_DIALECT_COUNTS_CHANGED);

/* SQLite stays first: its driver is found by name before connecting. */
static const odbc_dialect rows[] = {
	{"SQLite", sqlite_words, "BEGIN IMMEDIATE", "BEGIN DEFERRED", "COMMIT", "ROLLBACK",
	 sqlite_options, NULL, DSQL_CAP_IN_PROCESS | DSQL_CAP_SERIAL_WRITERS, &sqlite_dialect,
	 NULL, NULL, sqlite_native},
	{"PostgreSQL", NULL, NULL, NULL, NULL, NULL, NULL, pg_session, 0, NULL, NULL,
	 pg_versioned, NULL},
	{"MariaDB", mariadb_words, NULL, NULL, NULL, NULL, mariadb_options, mariadb_session, 0,
	 &mariadb_dialect, &mariadb_dialect_changed, NULL, mariadb_native},
	{"MySQL", mariadb_words, NULL, NULL, NULL, NULL, mariadb_options, mariadb_session, 0,
	 &mariadb_dialect, &mariadb_dialect_changed, NULL, mariadb_native},
};

const odbc_dialect *odbc_dialect_by_dbms(const char *dbms)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strncasecmp(dbms, rows[i].dbms, strlen(rows[i].dbms)) == 0)
			return &rows[i];
	return NULL;
}

const odbc_dialect *odbc_dialect_by_connection_string(const char *conn_str)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (const char *const *w = rows[i].driver_words; w && *w; w++)
			if (strcasestr(conn_str, *w))
				return &rows[i];
	return NULL;
}
