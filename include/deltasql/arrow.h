/*
 * deltasql/arrow.h: a snapshot's live files handed over in one call through
 * the Arrow C data interface, so that a binding builds a table of a million
 * files without a loop of its own per file (pyarrow, polars, DuckDB and
 * arrow-rs import these structs without copying).
 *
 * The two structs are the interface's own, defined by the Arrow format
 * specification as a stable ABI; the ARROW_C_DATA_INTERFACE guard lets this
 * header sit beside Arrow's or nanoarrow's definitions of them.
 */
#ifndef DELTASQL_ARROW_H
#define DELTASQL_ARROW_H

#include "snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
	const char *format;
	const char *name;
	const char *metadata;
	int64_t flags;
	int64_t n_children;
	struct ArrowSchema **children;
	struct ArrowSchema *dictionary;
	void (*release)(struct ArrowSchema *);
	void *private_data;
};

struct ArrowArray {
	int64_t length;
	int64_t null_count;
	int64_t offset;
	int64_t n_buffers;
	int64_t n_children;
	const void **buffers;
	struct ArrowArray **children;
	struct ArrowArray *dictionary;
	void (*release)(struct ArrowArray *);
	void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

/* Exports the snapshot's live files, ordered by path, as one Arrow array of
 * large utf8 strings named "add" (format "U"), one per file, never null:
 * the body of the file's add action as JSON on one line, as
 * dsql_snapshot_file_json gives it (re-rendered compact in the rare case a
 * stored body spans lines), followed by a newline. The array's data buffer
 * is therefore newline-delimited JSON as it is, which columnar readers
 * (pyarrow.json, DuckDB's read_json, arrow-rs) parse in one call without a
 * loop per file.
 *
 * Both structs belong to the caller, who calls their release callbacks (an
 * Arrow importer does); they do not depend on the snapshot, which may be
 * freed at once. On failure neither is set. Codes: DSQL_OK, DSQL_ENOMEM,
 * DSQL_ERROR (a stored body that is not JSON). */
DSQL_EXTERN int dsql_snapshot_files_arrow(const dsql_snapshot *snap, struct ArrowSchema *schema,
                                          struct ArrowArray *array, dsql_error *err);

#ifdef __cplusplus
}
#endif
#endif
