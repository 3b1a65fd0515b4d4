/*
 * deltasql/snapshot.h: the state of a table at one version: its protocol,
 * its metadata, its live files, its application transaction versions and
 * domain metadata. Loading a snapshot is one indexed query on the catalog's
 * file index per part: no log replay.
 *
 * A snapshot is immutable and independent of its catalog once loaded.
 */
#ifndef DELTASQL_SNAPSHOT_H
#define DELTASQL_SNAPSHOT_H

#include "catalog.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsql_snapshot dsql_snapshot;

/* Loads a table at a version (DSQL_LATEST = -1 for the current one).
 * Free with dsql_snapshot_free. Codes: DSQL_OK, DSQL_ENOTFOUND (no table,
 * or no such version), database codes. */
DSQL_EXTERN int dsql_snapshot_open(dsql_snapshot **out, dsql_catalog *cat, const char *table,
                                   int64_t version, dsql_error *err);

/* Loads the latest version committed at or before timestamp_ms (epoch
 * milliseconds). Codes: as dsql_snapshot_open; DSQL_ENOTFOUND when the
 * table had no version yet at that time. */
DSQL_EXTERN int dsql_snapshot_open_at(dsql_snapshot **out, dsql_catalog *cat,
                                      const char *table, int64_t timestamp_ms,
                                      dsql_error *err);

/* Loads the latest snapshots of several tables as of one moment (one
 * database read transaction): a transaction that committed to several of
 * them is in all of the snapshots or in none. out has n entries; each is
 * freed with dsql_snapshot_free. Codes: as dsql_snapshot_open; on failure
 * every out[i] is NULL. */
DSQL_EXTERN int dsql_snapshot_open_many(dsql_snapshot **out, dsql_catalog *cat,
                                        const char *const *tables, size_t n, dsql_error *err);

DSQL_EXTERN void dsql_snapshot_free(dsql_snapshot *snap);

DSQL_EXTERN const char *dsql_snapshot_table(const dsql_snapshot *snap);
DSQL_EXTERN int64_t dsql_snapshot_version(const dsql_snapshot *snap);
/* Commit timestamp of the snapshot's version, epoch milliseconds. */
DSQL_EXTERN int64_t dsql_snapshot_timestamp(const dsql_snapshot *snap);

/* The body of the protocol / metaData action in force, as JSON text;
 * borrowed until dsql_snapshot_free. */
DSQL_EXTERN const char *dsql_snapshot_protocol_json(const dsql_snapshot *snap);
DSQL_EXTERN const char *dsql_snapshot_metadata_json(const dsql_snapshot *snap);

/* Live files: the body of each file's add action as JSON text, ordered by
 * path; borrowed until dsql_snapshot_free. */
DSQL_EXTERN size_t dsql_snapshot_file_count(const dsql_snapshot *snap);
DSQL_EXTERN const char *dsql_snapshot_file_json(const dsql_snapshot *snap, size_t i);

/* Typed views of the same (all strings borrowed until dsql_snapshot_free). */

/* Protocol versions; features as JSON arrays ("[]" when absent). */
DSQL_EXTERN int dsql_snapshot_min_reader_version(const dsql_snapshot *snap);
DSQL_EXTERN int dsql_snapshot_min_writer_version(const dsql_snapshot *snap);
DSQL_EXTERN const char *dsql_snapshot_reader_features(const dsql_snapshot *snap);
DSQL_EXTERN const char *dsql_snapshot_writer_features(const dsql_snapshot *snap);

/* Metadata: id, schema string (NULL when the table has none), partition
 * columns, and one configuration property (NULL when not set). */
DSQL_EXTERN const char *dsql_snapshot_metadata_id(const dsql_snapshot *snap);
DSQL_EXTERN const char *dsql_snapshot_schema_string(const dsql_snapshot *snap);
DSQL_EXTERN size_t dsql_snapshot_partition_column_count(const dsql_snapshot *snap);
DSQL_EXTERN const char *dsql_snapshot_partition_column(const dsql_snapshot *snap, size_t i);
DSQL_EXTERN const char *dsql_snapshot_property(const dsql_snapshot *snap, const char *key);

/* One live file. */
typedef struct dsql_file_info {
	const char *path;
	int64_t size;
	int64_t modification_time; /* -1 when absent */
	int data_change;
	const char *partition_values_json; /* "{}" when absent */
	const char *stats_json;            /* NULL when absent */
	int64_t num_records;               /* from stats; -1 when unknown */
	int has_deletion_vector;
	int64_t dv_cardinality;            /* rows the deletion vector removes */
	const char *dv_json;               /* NULL when none */
} dsql_file_info;

/* Fills out for live file i. Codes: DSQL_OK, DSQL_ENOTFOUND (i out of
 * range), DSQL_ENOMEM. */
DSQL_EXTERN int dsql_snapshot_file(const dsql_snapshot *snap, size_t i, dsql_file_info *out);

/* Application transactions (Delta txn actions): the latest version per
 * appId. Strings borrowed until dsql_snapshot_free. */
DSQL_EXTERN size_t dsql_snapshot_app_txn_count(const dsql_snapshot *snap);
DSQL_EXTERN const char *dsql_snapshot_app_txn(const dsql_snapshot *snap, size_t i,
                                              int64_t *version);

/* Live domain metadata: domain name and configuration string. */
DSQL_EXTERN size_t dsql_snapshot_domain_count(const dsql_snapshot *snap);
DSQL_EXTERN const char *dsql_snapshot_domain(const dsql_snapshot *snap, size_t i,
                                             const char **configuration);

#ifdef __cplusplus
}
#endif
#endif
