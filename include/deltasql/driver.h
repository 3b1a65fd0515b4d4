/*
 * deltasql/driver.h: the vendor API. A driver is a connector between the
 * deltasql core and one database: it connects, runs transactions, prepares
 * statements with '?' placeholders, binds values, steps through rows and
 * reports errors as deltasql codes plus the SQLSTATE and the database's own
 * message. The core owns every SQL statement and writes it portably; what a
 * database spells differently (type names, collations, index forms, the
 * statements only it has) the driver states in its dialect (ABI 4,
 * dsql_dialect below), which the core fills into its statements. A driver
 * invents no SQL of its own beyond transaction control and what it needs to
 * have the database judge the application's statements (prepare_application).
 *
 * Stability: this header has its own promise. DSQL_DRIVER_ABI_VERSION is
 * raised whenever methods are appended to dsql_driver; fields are never
 * removed or reordered. A driver fills abi_version and struct_size with the
 * values it was built with; the library accepts any ABI version from 1 up to
 * its own and treats methods beyond the driver's struct_size as absent.
 *
 * Threading: a connection (dsql_driver_conn) is used by one thread at a time.
 * Statements belong to the connection that prepared them.
 *
 * Memory: the core never frees what the driver allocated and the other way
 * round; every object is released by the side that made it (disconnect,
 * finalize).
 */
#ifndef DELTASQL_DRIVER_H
#define DELTASQL_DRIVER_H

#include "common.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1: the first ABI. 2: exec_deferred (DSQL_CAP_DEFERRED) appended.
 * 3: connection_capabilities appended. 4: prepare_application,
 * in_transaction, set_application_role and dialect appended (dsql_dialect),
 * DSQL_CAP_SERIAL_WRITERS; DSQL_CAP_ROW_IDS and DSQL_CAP_NULLS_NOT_DISTINCT
 * retired (their SQL is the dialect's now). */
#define DSQL_DRIVER_ABI_VERSION 4

/* Capability bits (dsql_driver.capabilities). */
/* Native two-phase commit: prepare_transaction and friends work. */
#define DSQL_CAP_TWO_PHASE (1u << 0)
/* Several connections may write concurrently (row locks, MVCC); when
 * absent, the database serializes writers as a whole (SQLite). */
#define DSQL_CAP_ROW_LOCKS (1u << 1)
/* The catalog can be shared by several processes at once. */
#define DSQL_CAP_MULTI_PROCESS (1u << 2)
/* UPDATE ... RETURNING works. The core locks and reads a table's row in
 * one statement where writers are serialised (DSQL_CAP_SERIAL_WRITERS: a
 * write transaction holds every other writer off from the start).
 * Elsewhere it reads in a statement of its own after the lock: at READ
 * COMMITTED an UPDATE that waited for a lock evaluates its sub-queries on
 * the snapshot from before the wait (PostgreSQL). */
#define DSQL_CAP_RETURNING (1u << 3)
/* exec_deferred works (ABI 2): the driver queues statements and sends them
 * together, so that a commit's writes and its COMMIT cost one round trip
 * on a server database (PostgreSQL: libpq pipeline mode). Without it the
 * core executes each statement at once and checks its row count itself. */
#define DSQL_CAP_DEFERRED (1u << 4)
/* The database runs inside the calling process (SQLite): a statement costs
 * no round trip, so the core writes a commit's rows one per statement, as
 * a hand-written client of such a database does. Without it rows go in
 * multi-row statements, which save round trips to a server. (On SQLite a
 * statement that may change several rows opens a statement journal, whose
 * memory is allocated and given back on every commit.) A hint about cost
 * only: either way the rows written are the same. Before ABI 4 it also
 * meant DSQL_CAP_SERIAL_WRITERS, and the core takes it so from older
 * drivers. */
#define DSQL_CAP_IN_PROCESS (1u << 5)
/* Retired in ABI 4 (ignored from every driver): a ctid unlink and a
 * NULLS NOT DISTINCT live-file key were statements in the core; they are
 * the PostgreSQL dialect's now (dsql_dialect.unlink_by_row_id,
 * dsql_dialect.unique_live_key). Kept so that older sources compile. */
#define DSQL_CAP_ROW_IDS (1u << 6)
#define DSQL_CAP_NULLS_NOT_DISTINCT (1u << 7)
/* A write transaction holds every other writer off from its begin
 * (SQLite's BEGIN IMMEDIATE): nothing can change between two statements
 * of it, so the core may read what it locked in the locking statement,
 * and a server-side key decided once per catalog (the unique live-file
 * key) is not needed. ABI 4; older drivers get it with DSQL_CAP_IN_PROCESS. */
#define DSQL_CAP_SERIAL_WRITERS (1u << 8)
/* The bits a connection may set for itself (connection_capabilities, ABI
 * 3): what the database behind this connection takes, which chooses how
 * the core writes its statements. */
#define DSQL_CAP_CONNECTION_BITS                                                                \
	(DSQL_CAP_RETURNING | DSQL_CAP_IN_PROCESS | DSQL_CAP_ROW_IDS | DSQL_CAP_NULLS_NOT_DISTINCT |  \
	 DSQL_CAP_SERIAL_WRITERS)

/* begin() modes. */
typedef enum dsql_begin_mode {
	/* A transaction that will write: it must take the database's write
	 * lock at once where the database has one (SQLite: BEGIN IMMEDIATE),
	 * and read committed data after each row lock (PostgreSQL: READ
	 * COMMITTED), so that a value read after locking its row is current. */
	DSQL_BEGIN_WRITE = 1,
	/* A read-only transaction that sees one consistent snapshot for all
	 * of its statements (PostgreSQL: REPEATABLE READ READ ONLY). */
	DSQL_BEGIN_READ = 2
} dsql_begin_mode;


/* dsql_dialect.flags. */
/* UPDATE reports the rows it changed, not the rows it matched (MariaDB and
 * MySQL without CLIENT_FOUND_ROWS): an UPDATE that sets a value to itself
 * counts 0. The core then never reads a row count as "the row exists".
 * Better, where the database can: make the connection count matched rows
 * (Connector/ODBC OPTION=2) and leave this clear. */
#define DSQL_DIALECT_COUNTS_CHANGED (1u << 0)
/* A DDL statement commits the open transaction by itself (MariaDB, MySQL,
 * Oracle): application SQL may not run DDL inside a commit there, and the
 * core runs none in a transaction that must stay atomic. */
#define DSQL_DIALECT_DDL_COMMITS (1u << 1)
/* The planner does not take "removed_version IS NULL" as fixing that
 * column's order (MariaDB): a latest snapshot's files are then ordered by
 * the primary key's (path, dv_id), which it reads without a sort, instead
 * of by the live-file index's columns (which a PostgreSQL plan made on an
 * empty index needs). The rows and their order are the same. */
#define DSQL_DIALECT_SORT_BY_KEY (1u << 2)

/* A statement made of a head, one row part per row (joined by sep) and a
 * tail, as the core builds multi-row statements. */
typedef struct dsql_dialect_rows {
	const char *head, *row, *sep, *tail;
} dsql_dialect_rows;

/*
 * What a database spells its own way (ABI 4). Every field may be left 0 or
 * NULL: the core then uses its portable default, the SQL that SQLite and
 * PostgreSQL both take. The strings must live as long as the connection.
 *
 * The catalog's columns come in four kinds; a type name is written in
 * full, collation included where the database needs one to compare bytes
 * exactly (the core's names and paths are compared byte for byte on every
 * database: 'A.parquet' is not 'a.parquet', 'e\xcc\x81' is not '\xc3\xa9',
 * 'b ' is not 'b').
 */
typedef struct dsql_dialect {
	/* sizeof(dsql_dialect) as the driver was built: fields are appended. */
	size_t struct_size;
	/* A short text in a key or unique index: table names, ids, kinds,
	 * application ids, domain names (at most 255 bytes where bounded).
	 * Default "TEXT". MariaDB: "VARCHAR(255) COLLATE utf8mb4_nopad_bin". */
	const char *name_type;
	/* A file path in a key (max_path_bytes bounds it). Default "TEXT". */
	const char *path_type;
	/* A deletion-vector id in a key (max_dv_bytes). Default "TEXT". */
	const char *dv_type;
	/* A text of any length (action bodies, statistics of a wide table: a
	 * megabyte and more). Default "TEXT". MariaDB: "LONGTEXT". */
	const char *text_type;
	/* A byte string of any length (application tables of the conformance
	 * suite). Default "BLOB"; PostgreSQL "BYTEA"; MariaDB "LONGBLOB". */
	const char *bytes_type;
	/* Appended to every CREATE TABLE of the catalog. Default "". MariaDB:
	 * " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin". */
	const char *table_options;
	/* Drops an index if it exists: "{index}" and "{table}" are replaced
	 * by the names. Default "DROP INDEX IF EXISTS {index}". */
	const char *drop_index;
	/* How the database quotes an identifier: the opening and closing
	 * character. Default "\"". MariaDB "`". (The catalog's first schema
	 * had a column named key; only its migration quotes it.) */
	const char *quote;
	/* The longest path (bytes of UTF-8) and deletion-vector id a catalog
	 * keeps: longer ones are refused at staging, with the same message on
	 * every driver. 0: the core's default (2048 and 512, which fit a
	 * PostgreSQL B-tree entry). */
	size_t max_path_bytes, max_dv_bytes;
	/* DSQL_DIALECT_* bits. */
	unsigned int flags;
	/* Unlinks many files in one statement whose plan cannot be a walk
	 * over the table's live files (PostgreSQL: by ctid), or all NULL. The
	 * parameters: head takes removed_version; each row takes table_id,
	 * path, dv_id and picks that live file (removed_version IS NULL). The
	 * rows changed must be exactly those files. Without it the core
	 * unlinks by its portable IN list or one statement per file. */
	dsql_dialect_rows unlink_by_row_id;
	/* Statements, NULL-terminated, that make the live-file index
	 * dsql_file_live (table_id, removed_version, path, dv_id) unique among
	 * live rows (removed_version NULL counted as equal), run inside a
	 * transaction that may roll them back; or NULL. A catalog records the
	 * outcome once (its first client to have them decides): on a unique
	 * key adds are written without looking up the files they replace.
	 * Never for a database whose DDL commits by itself. */
	const char *const *unique_live_key;
	/* Words, NULL-terminated, that begin a statement which commits the
	 * open transaction by itself (MariaDB: CREATE, ALTER, DROP, ...), or
	 * NULL: a fact for the driver's prepare_application, which must refuse
	 * them (they would commit the metadata half of a commit on their own).
	 * The ODBC driver has no prepare_application yet: it runs no
	 * application SQL at all. */
	const char *const *implicit_commit;
} dsql_dialect;

/* The size of an ABI 4 dialect: older dialects stop earlier. */
#define DSQL_DIALECT_SIZE_4 sizeof(dsql_dialect)

/* Opaque to the core; defined by each driver. */
typedef struct dsql_driver_conn dsql_driver_conn;
typedef struct dsql_driver_stmt dsql_driver_stmt;

/* Called once per prepared transaction by list_prepared(). */
typedef int (*dsql_prepared_cb)(const char *gid, void *payload);

typedef struct dsql_driver {
	/* DSQL_DRIVER_ABI_VERSION as the driver was built. */
	unsigned int abi_version;
	/* sizeof(dsql_driver) as the driver was built. */
	size_t struct_size;
	/* A short unique name ("sqlite"), at most 31 bytes. */
	const char *name;
	/* URI schemes this driver answers, without the ':' ("postgresql"),
	 * terminated by NULL. */
	const char *const *uri_schemes;
	/* DSQL_CAP_* bits. */
	unsigned int capabilities;

	/* --- required methods --- */

	/* Opens a connection for a catalog URI (the whole URI, scheme
	 * included). Codes: DSQL_OK, DSQL_ECONNECT, DSQL_EINVALID (malformed
	 * URI), DSQL_ENOMEM. The message must not contain credentials. */
	int (*connect)(dsql_driver_conn **out, const char *uri, dsql_error *err);
	/* Closes a connection, rolling back any open transaction. */
	void (*disconnect)(dsql_driver_conn *conn);

	/* Codes: DSQL_OK, DSQL_ECONNECT, DSQL_EREADONLY (a write transaction
	 * where the database cannot be written, e.g. a hot standby; may be
	 * returned without asking the server), or the database's error. */
	int (*begin)(dsql_driver_conn *conn, dsql_begin_mode mode, dsql_error *err);
	/* A failure whose outcome is unknown (connection lost during COMMIT)
	 * must be reported as DSQL_EUNKNOWN. */
	int (*commit)(dsql_driver_conn *conn, dsql_error *err);
	int (*rollback)(dsql_driver_conn *conn, dsql_error *err);

	/* Prepares one SQL statement with '?' placeholders, numbered from 1
	 * in order of appearance. The driver rewrites placeholders to its
	 * database's style. */
	int (*prepare)(dsql_driver_stmt **out, dsql_driver_conn *conn, const char *sql,
	               dsql_error *err);
	/* Binding: idx is 1-based. Text and blobs are copied by the driver
	 * (the caller's buffer may be reused at once). */
	int (*bind_null)(dsql_driver_stmt *stmt, int idx, dsql_error *err);
	int (*bind_int64)(dsql_driver_stmt *stmt, int idx, int64_t value, dsql_error *err);
	int (*bind_double)(dsql_driver_stmt *stmt, int idx, double value, dsql_error *err);
	int (*bind_text)(dsql_driver_stmt *stmt, int idx, const char *value, size_t len,
	                 dsql_error *err);
	int (*bind_blob)(dsql_driver_stmt *stmt, int idx, const void *value, size_t len,
	                 dsql_error *err);
	/* Executes the statement on the first call after prepare/reset, and
	 * moves to the next row. Returns DSQL_ROW, DSQL_DONE or an error. */
	int (*step)(dsql_driver_stmt *stmt, dsql_error *err);
	/* Rows changed by the last completed INSERT/UPDATE/DELETE. */
	int64_t (*changes)(dsql_driver_stmt *stmt);
	int (*column_count)(dsql_driver_stmt *stmt);
	dsql_type (*column_type)(dsql_driver_stmt *stmt, int col);
	int64_t (*column_int64)(dsql_driver_stmt *stmt, int col);
	double (*column_double)(dsql_driver_stmt *stmt, int col);
	/* Borrowed, NUL-terminated, valid until the next step, reset or
	 * finalize of the statement; NULL for SQL NULL. *len may be NULL. */
	const char *(*column_text)(dsql_driver_stmt *stmt, int col, size_t *len);
	const void *(*column_blob)(dsql_driver_stmt *stmt, int col, size_t *len);
	/* Makes the statement ready to execute again; bindings are cleared. */
	int (*reset)(dsql_driver_stmt *stmt, dsql_error *err);
	void (*finalize)(dsql_driver_stmt *stmt);

	/* --- optional methods (DSQL_CAP_TWO_PHASE); NULL when absent --- */

	/* Prepares the open transaction for commit under a global id and ends
	 * it on this connection. */
	int (*prepare_transaction)(dsql_driver_conn *conn, const char *gid, dsql_error *err);
	/* Commit / roll back a prepared transaction, from any connection.
	 * DSQL_ENOTFOUND when no such gid is prepared. */
	int (*commit_prepared)(dsql_driver_conn *conn, const char *gid, dsql_error *err);
	int (*rollback_prepared)(dsql_driver_conn *conn, const char *gid, dsql_error *err);
	/* Calls cb for every prepared transaction whose gid starts with
	 * prefix; stops early (returning cb's value) when cb returns
	 * non-zero. */
	int (*list_prepared)(dsql_driver_conn *conn, const char *prefix, dsql_prepared_cb cb,
	                     void *payload, dsql_error *err);

	/* --- optional method, ABI 2 (DSQL_CAP_DEFERRED); NULL when absent --- */

	/* Executes a prepared and bound INSERT, UPDATE or DELETE (no RETURNING,
	 * no result rows) without waiting for its outcome: the driver may queue
	 * it and send it together with later statements. The outcome is
	 * reported by the next call on the connection that waits for the
	 * database (step of any statement, commit, rollback, prepare,
	 * prepare_transaction, list_prepared): when a deferred statement failed,
	 * that call fails with the deferred statement's error and the
	 * transaction is aborted. The statement may be reset and bound again as
	 * soon as this returns.
	 *
	 * expect_changes >= 0: the statement must change exactly that many
	 * rows, or it fails with DSQL_ERETRY; the database itself must then
	 * abort the transaction, so that a COMMIT queued behind the statement
	 * cannot commit. -1: any count. changes() is undefined after a deferred
	 * execution. Codes: DSQL_OK (queued or done), DSQL_ENOMEM,
	 * DSQL_ECONNECT, or the statement's own error when it ran at once. */
	int (*exec_deferred)(dsql_driver_stmt *stmt, int64_t expect_changes, dsql_error *err);

	/* --- optional method, ABI 3; NULL when absent --- */

	/* The capabilities of one connection, for a driver that reaches
	 * different databases (ODBC). The core takes the statement-shape bits
	 * DSQL_CAP_CONNECTION_BITS from here instead of from capabilities
	 * above; every other bit stays the driver's, as declared. Called once
	 * per connect. */
	unsigned int (*connection_capabilities)(dsql_driver_conn *conn);

	/* --- optional methods, ABI 4; NULL when absent --- */

	/* Application SQL (docs/APPLICATION-SQL.md), judged by the database
	 * itself, never by matching text. prepare_application prepares sql as
	 * prepare does, and refuses with DSQL_EINVALID (a message saying why)
	 * unless the database confirms that it is exactly one statement (text
	 * after it, even behind a comment, is refused) that neither begins,
	 * ends nor prepares a transaction, nor sets a savepoint, nor changes
	 * the session or the databases the connection sees (SQLite: ATTACH,
	 * DETACH, PRAGMA), nor names the catalog's own tables (dsql_*) where
	 * the database can tell. The statement may be run only inside a write
	 * transaction, and is stepped, reset and finalized as any other.
	 * in_transaction (required with it) returns non-zero while the
	 * transaction begun by begin() is still open on the connection; the
	 * core asks after each application statement. A driver without these
	 * two runs no application SQL: the core refuses it with
	 * DSQL_EUNSUPPORTED. */
	int (*prepare_application)(dsql_driver_stmt **out, dsql_driver_conn *conn,
	                           const char *sql, dsql_error *err);
	int (*in_transaction)(dsql_driver_conn *conn);
	/* Makes the statements that follow in the open transaction run under
	 * the database role role (a name, bound as a value), until the
	 * transaction ends (PostgreSQL: set_config('role', $1, true), which is
	 * SET LOCAL ROLE). Codes: DSQL_OK, the database's error (no such role,
	 * not a member of it). Absent: asking for a role fails with
	 * DSQL_EUNSUPPORTED. */
	int (*set_application_role)(dsql_driver_conn *conn, const char *role, dsql_error *err);
	/* The dialect of one connection (a driver that reaches several
	 * databases answers per connection), borrowed until disconnect; NULL
	 * for the core's portable defaults. Called once per connect. */
	const dsql_dialect *(*dialect)(dsql_driver_conn *conn);
} dsql_driver;

/* The one symbol a loadable driver (.so) exports. host_abi is the library's
 * DSQL_DRIVER_ABI_VERSION; the driver returns, through out, a description
 * built for an ABI no newer than host_abi, or fails with
 * DSQL_EUNSUPPORTED. The struct must stay valid until the process exits. */
typedef int (*dsql_driver_init_fn)(const dsql_driver **out, unsigned int host_abi,
                                   dsql_error *err);
#define DSQL_DRIVER_INIT_SYMBOL "dsql_driver_init"

/* Registers a driver. The library validates it (ABI version, struct size,
 * required methods, name) and keeps its own copy of the struct; the strings
 * it points to must outlive the process. Registering the same driver twice
 * is a no-op. Codes: DSQL_OK, DSQL_EINVALID (malformed driver),
 * DSQL_EUNSUPPORTED (ABI newer than the library's), DSQL_EEXISTS (another
 * driver has that name or a scheme of it). Thread-safe. */
DSQL_EXTERN int dsql_driver_register(const dsql_driver *driver, dsql_error *err);

/* Loads a driver from a shared object (a path containing '/', or a name
 * looked up as "deltasql_NAME.so" on DELTASQL_DRIVER_PATH and then the
 * configured driver directory) and registers it. Codes as for
 * dsql_driver_register, plus DSQL_ENOTFOUND when the file or its init
 * symbol is missing. */
DSQL_EXTERN int dsql_driver_load(const char *path_or_name, dsql_error *err);

/* Finds the registered driver for a URI's scheme; NULL when none. The
 * returned pointer is borrowed and valid for the life of the process. */
DSQL_EXTERN const dsql_driver *dsql_driver_find(const char *uri);


#ifdef __cplusplus
}
#endif
#endif
