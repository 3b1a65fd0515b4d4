/* What PostgreSQL spells its own way (see dialect.h). */
#include "dialect.h"

/* Unlinks files by their row ids: one exact probe of (table_id, path,
 * dv_id) per file, then a look-up of those rows by ctid, so that no plan
 * has a walk over the table's live files to choose (an IN list is planned
 * from statistics, and a catalog not analyzed yet has none). A ctid names
 * one version of a row; every writer of a table's file rows (a commit, a
 * drop) holds the table's version row first, so none can move them
 * between the probe and the UPDATE. */
#define UNLINK_BY_CTID                                                                    \
	{"UPDATE dsql_file SET removed_version = ? WHERE ctid = ANY(ARRAY(",              \
	 "SELECT ctid FROM dsql_file WHERE table_id = ? AND removed_version IS NULL"     \
	 " AND path = ? AND dv_id = ?",                                                  \
	 " UNION ALL ", "))"}

/* The live-file key made unique among live rows (NULLS NOT DISTINCT:
 * removed_version NULL counts as one value). */
static const char *const unique_live_key[] = {
	"DROP INDEX IF EXISTS dsql_file_live",
	"CREATE UNIQUE INDEX dsql_file_live ON dsql_file (table_id, removed_version, path, dv_id)"
	" NULLS NOT DISTINCT",
	NULL,
};

/* Paths and deletion-vector ids keep the core's default bounds (2048 and
 * 512 bytes): with the table id and a version they fit a B-tree entry
 * (at most 2704 bytes on 8 kB pages), which a longer key overflows. */
static const dsql_dialect dialects[2][2] = {
	{{.struct_size = sizeof(dsql_dialect), .bytes_type = "BYTEA"},
	 {.struct_size = sizeof(dsql_dialect), .bytes_type = "BYTEA",
	  .unique_live_key = unique_live_key}},
	{{.struct_size = sizeof(dsql_dialect), .bytes_type = "BYTEA",
	  .unlink_by_row_id = UNLINK_BY_CTID},
	 {.struct_size = sizeof(dsql_dialect), .bytes_type = "BYTEA",
	  .unlink_by_row_id = UNLINK_BY_CTID, .unique_live_key = unique_live_key}},
};

const dsql_dialect *dsql_pg_dialect(int row_ids, int unique_key)
{
	return &dialects[!!row_ids][!!unique_key];
}
