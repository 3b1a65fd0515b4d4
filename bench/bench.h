/*
 * deltasql benchmarks: shared declarations.
 *
 * Every figure is measured side by side with the raw database doing the same
 * logical work in the same run. The "raw" side is a hand-written client of
 * the database (sqlite3, libpq, ODBC) writing exactly the rows a deltasql
 * commit writes into the same catalog schema; work.c generates those rows
 * for both sides, so the texts are byte for byte the same shape.
 */
#ifndef DSQL_BENCH_H
#define DSQL_BENCH_H

#include <deltasql.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* --- options and output (bench.c) --- */

typedef struct bench_opts {
	int quick;        /* ~30 s run */
	int big;          /* add the 1M-file snapshot */
	int json;         /* machine output */
	unsigned sections; /* bit s set: run section s (1..6) */
} bench_opts;

extern bench_opts opt;

/* Dies with a message (the benchmark has no error recovery). */
void die(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* The run's scratch directory (removed at exit). */
const char *work_dir(void);

/* Monotonic seconds. */
double now(void);

/* The median of n values (sorted in place). */
double median(double *v, size_t n);

/* One result: a JSON object appended to the run's results (it takes the
 * reference). Human output is printed by each section itself. */
void result_add(json_t *row);

/* Human output: a line, unless --json. */
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A target verdict, collected for the summary. */
void target(const char *backend_name, const char *what, double value, double limit, int lower_is_ok,
            const char *detail);

/* Where the processes run (placement.c): placement_init decides once
 * (allowed: not --no-pin) and frees everything; placement_pin puts the
 * benchmark and the server it started on cores of their own, for the
 * sections of a server backend but contention; placement_free undoes it. */
void placement_init(int allowed);
void placement_pin(void);
void placement_free(void);
/* What placement_init decided, for the output. */
const char *placement_text(void);

/* --- the logical work (work.c) --- */

#define WORK_ADDS 10    /* add actions per table per commit */
#define WORK_LINE 512   /* room for one action line */

/* One table's part of a commit: the rows deltasql writes for it. */
typedef struct work_table {
	int64_t id;
	int64_t version;      /* the version written; read version is version - 1 */
	int64_t read_version; /* as recorded in commitInfo */
	char commit_info[WORK_LINE];
	int n_adds;
	char add_line[WORK_ADDS][WORK_LINE]; /* dsql_action.body */
	char add_body[WORK_ADDS][WORK_LINE]; /* dsql_file.body */
	char path[WORK_ADDS][64];
} work_table;

/* A commit over n tables. */
typedef struct work_txn {
	char id[40];
	int64_t commit_ms;
	size_t n;
	work_table *t;
} work_txn;

/* A Delta add action line, ~300 bytes, with realistic stats. */
const char *work_add_line(char *buf, size_t cap, const char *path);
/* The add line's inner object (what dsql_file.body holds). */
const char *work_add_body(char *buf, size_t cap, const char *path);
/* A remove action line. */
const char *work_remove_line(char *buf, size_t cap, const char *path);
/* The commitInfo line deltasql generates for a blind write. */
const char *work_commit_info(char *buf, size_t cap, const char *txn_id, int64_t ms,
                             int64_t read_version, int blind_append);
/* A fresh UUIDv7-shaped id (36 characters). */
void work_txn_id(char out[40]);
int64_t work_now_ms(void);
/* Fills a commit's rows: n tables, 10 adds each, paths "<tag>-<seq>-t<i>-k<k>.parquet". */
void work_fill(work_txn *w, char tag, int64_t seq);
work_txn *work_new(size_t n);
void work_free(work_txn *w);

/* deltasql's side of the same commit: stages the same add lines (tag, seq
 * as work_fill) into one transaction over names[0..n) and commits. Returns
 * the commit's code; *err gets the error. */
int work_ours(dsql_catalog *cat, char (*names)[64], size_t n, char tag, int64_t seq,
              dsql_error *err);
/* The same commit with typed adds (dsql_txn_add_file): the fields a
 * writer has, no JSON built or parsed on either side. */
int work_ours_typed(dsql_catalog *cat, char (*names)[64], size_t n, char tag, int64_t seq,
                    dsql_error *err);

/* A table's history for the snapshot section: version v (1..versions)
 * adds `adds` files and, from version 2 on, removes `removes` files added
 * at version v/2 (so removes reach back across the history). */
typedef struct history {
	int64_t versions;
	int adds, removes;
} history;

/* Live files at the end of the history, and at a version. */
int64_t history_live(const history *h, int64_t version);
/* The path of file k of version v, and the version that removes it (0: never). */
void history_path(char *buf, size_t cap, int64_t v, int k);
int64_t history_removed_at(const history *h, int64_t v, int k);
/* The j-th file version v removes: *from_v, *from_k. */
void history_removed_file(const history *h, int64_t v, int j, int64_t *from_v, int *from_k);

/* --- the raw side: one hand-written client per database (raw_*.c) --- */

typedef struct raw raw;

/* Rows for a bulk load, written as a commit would have written them. */
typedef struct raw_bulk_ops {
	void (*begin)(raw *r);
	void (*txn)(raw *r, const char *txn_id, int64_t ms);
	void (*commit)(raw *r, int64_t table, int64_t version, const char *txn_id, int64_t ms,
	               int64_t adds, int64_t removes, int blind);
	void (*action)(raw *r, int64_t table, int64_t version, int64_t seq, const char *kind,
	               const char *body);
	/* removed: -1 for NULL (live) */
	void (*file)(raw *r, int64_t table, const char *path, int64_t added, int64_t removed,
	             int64_t size, const char *body);
	/* Sets the table's version and last commit time, and commits. */
	void (*end)(raw *r, int64_t table, int64_t version, int64_t last_ms);
} raw_bulk_ops;

typedef struct raw_ops {
	const char *name;
	/* target: what connect() understands (a file path, a libpq conninfo,
	 * an ODBC connection string). */
	raw *(*connect)(const char *target);
	void (*close)(raw *r);
	int64_t (*table_id)(raw *r, const char *name);
	/* The commit in one transaction: journal row, then per table the
	 * version compare-and-swap (version - 1 -> version), the commit row,
	 * the action rows (commitInfo + adds) and the file rows. */
	void (*commit)(raw *r, const work_txn *w);
	/* The same rows through the statements deltasql itself sends, one at
	 * a time and without its JSON work: the table look-up, BEGIN, journal,
	 * lock-and-read, metadata read, compare-and-swap, commit row, actions,
	 * live-file update, files, COMMIT. NULL: not provided. */
	void (*mimic)(raw *r, const work_txn *w);
	/* The same, for one table whose version is unknown: read under the
	 * write lock (the blind append of a writer that has competitors).
	 * Returns the version written. */
	int64_t (*append)(raw *r, work_txn *w);
	/* The live files at a version (-1: latest, with the latest's own
	 * query), fetched and copied as a client would. Returns the count. */
	size_t (*select_files)(raw *r, int64_t table, int64_t version, char ***out);
	/* The non-commitInfo action rows of versions (from, to], fetched and
	 * copied (what a client checking conflicts by hand reads). */
	size_t (*select_actions)(raw *r, int64_t table, int64_t from, int64_t to);
	/* The first column of the first row of a query with '?' int64
	 * parameters p[0..n) (0 when NULL or no row). */
	int64_t (*scalar)(raw *r, const char *sql, const int64_t *p, int n);
	/* Bulk loading; NULL when the backend leaves it to its native twin. */
	const raw_bulk_ops *bulk;
} raw_ops;

extern const raw_ops raw_sqlite_ops;
#ifdef HAVE_LIBPQ
extern const raw_ops raw_pg_ops;
#endif
#ifdef HAVE_ODBC
extern const raw_ops raw_odbc_ops;
#endif

/* --- a backend: one deltasql catalog URI and its raw twin --- */

typedef struct backend {
	const char *name;         /* "sqlite", "postgresql", "odbc-sqlite", ... */
	char uri[1100];           /* deltasql's catalog URI */
	char target[1024];        /* the raw client's connection target */
	const raw_ops *ops;
	raw *r;                   /* the raw client's connection (the parent's) */
	char settings[512];       /* printed with the results */
	/* Bulk loads go through this twin (the native client of the same
	 * database) when ops->bulk is NULL; NULL: no bulk loads. */
	const raw_ops *bulk_ops;
	raw *bulk_r;
	int server;               /* a server database: round trips matter */
	int is_odbc;
} backend;

/* --- the sections (sections.c, contention.c) --- */

void section_commit(backend *b);
void section_multi(backend *b);
void section_snapshot(backend *b);
void section_contention(backend *b);
void section_rebase(backend *b);
void section_import(backend *b);

/* Helpers the sections share. */
dsql_catalog *open_catalog(const backend *b);
/* Tables get a realistic 20-column schema; bench_bare_tables = 1: none. */
extern int bench_bare_tables;
void create_tables(dsql_catalog *cat, const char *prefix, size_t n, char (*names)[64]);
void drop_tables(dsql_catalog *cat, size_t n, char (*names)[64]);

#endif
