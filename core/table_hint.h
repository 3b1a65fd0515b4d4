/*
 * What a catalog handle remembers of the tables it has used: id, the latest
 * version it saw, that version's commit time and the metaData and protocol
 * in force at it. Hints save the look-ups a commit would otherwise make before and
 * inside its transaction; they are never trusted blindly: a commit built on
 * a hint asserts the version with its compare-and-swap, and falls back to
 * locking and reading when another writer moved the table (commit.c).
 */
#ifndef DSQL_CORE_TABLE_HINT_H
#define DSQL_CORE_TABLE_HINT_H

#include <jansson.h>
#include <stdint.h>

#include "deltasql/error.h"

typedef struct dsql_catalog dsql_catalog;

/* What a commit checks its actions against, from the metaData and protocol
 * in force at the version it lands on: the partitionValues keys (physical
 * names under column mapping), in partitionColumns order, each column's
 * type, delta.appendOnly, and what the protocol allows. */
typedef struct table_rules {
	json_t *metadata;   /* reference held */
	json_t *protocol;   /* reference held; NULL: the table has none */
	json_t *columns;    /* partitionColumns (borrowed from metadata) */
	json_t *keys;       /* array of strings, owned */
	json_t *types;      /* the columns' type names, or null (any value); owned */
	int append_only;
	int writable;       /* the protocol is one this library writes */
	int dv_allowed;     /* writer feature deletionVectors */
} table_rules;

typedef struct table_hint {
	char *name;
	int64_t id;
	int64_t version;
	int64_t last_ms;   /* commit time of version; -1: not known */
	json_t *metadata;  /* metaData body in force at version; NULL: not known */
	int64_t metadata_at; /* the version that committed it */
	json_t *protocol;  /* protocol body in force at version; NULL: not known */
	int64_t protocol_at;
	table_rules rules;   /* made from metadata and protocol when first needed */
	/* The last commit found another writer's commits since the hint: the
	 * hint is likely stale again, so the next commit reads under locks. */
	int contended;
} table_hint;

table_hint *hint_find(dsql_catalog *cat, const char *name);
table_hint *hint_by_id(dsql_catalog *cat, int64_t id);
/* Records that table name (id) was at version, committed at last_ms (-1:
 * unknown), its metaData and protocol last set at metadata_at and
 * protocol_at (-1: not known). Moving to another version forgets the
 * metadata and the protocol, each unless it is known to be still in force
 * (its version unchanged). Out of memory only loses the hint. */
void hint_saw(dsql_catalog *cat, const char *name, int64_t id, int64_t version,
              int64_t last_ms, int64_t metadata_at, int64_t protocol_at);
/* Sets the metadata (protocol) in force at the hint's version, committed
 * at version set_at (takes a reference). */
void hint_set_metadata(table_hint *h, json_t *metadata, int64_t set_at);
void hint_set_protocol(table_hint *h, json_t *protocol, int64_t set_at);
void hint_forget(dsql_catalog *cat, int64_t id);
void hint_free_all(dsql_catalog *cat);

/* Fills rules from a metaData body (NULL: none, no partitions) and a
 * protocol body (NULL: none). Codes: DSQL_OK, DSQL_ENOMEM. rules_clear
 * releases it. */
int rules_from(table_rules *out, json_t *metadata, json_t *protocol, dsql_error *err);
/* The rules of the hint's metadata and protocol, made once and shared (new
 * references). */
int rules_of_hint(table_rules *out, table_hint *h, dsql_error *err);
void rules_clear(table_rules *r);

#endif
