/*
 * What a catalog handle remembers of the tables it has used: id, the latest
 * version it saw, that version's commit time and the metaData in force at
 * it. Hints save the look-ups a commit would otherwise make before and
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

/* What a commit checks its adds and removes against, from a metaData body:
 * the partitionValues keys (physical names under column mapping), in
 * partitionColumns order, each column's type, and delta.appendOnly. */
typedef struct table_rules {
	json_t *metadata;   /* reference held */
	json_t *columns;    /* partitionColumns (borrowed from metadata) */
	json_t *keys;       /* array of strings, owned */
	json_t *types;      /* the columns' type names, or null (any value); owned */
	int append_only;
} table_rules;

typedef struct table_hint {
	char *name;
	int64_t id;
	int64_t version;
	int64_t last_ms;   /* commit time of version; -1: not known */
	json_t *metadata;  /* metaData body in force at version; NULL: not known */
	int64_t metadata_at; /* the version that committed it */
	table_rules rules;   /* made from metadata when first needed */
	/* The last commit found another writer's commits since the hint: the
	 * hint is likely stale again, so the next commit reads under locks. */
	int contended;
} table_hint;

table_hint *hint_find(dsql_catalog *cat, const char *name);
table_hint *hint_by_id(dsql_catalog *cat, int64_t id);
/* Records that table name (id) was at version, committed at last_ms (-1:
 * unknown), its metaData last set at metadata_at (-1: not known). Moving to
 * another version forgets the metadata, unless it is known to be still in
 * force (metadata_at unchanged). Out of memory only loses the hint. */
void hint_saw(dsql_catalog *cat, const char *name, int64_t id, int64_t version,
              int64_t last_ms, int64_t metadata_at);
/* Sets the metadata in force at the hint's version, committed at version
 * set_at (takes a reference). */
void hint_set_metadata(table_hint *h, json_t *metadata, int64_t set_at);
void hint_forget(dsql_catalog *cat, int64_t id);
void hint_free_all(dsql_catalog *cat);

/* Fills rules from a metaData body (NULL: none, no partitions). Codes:
 * DSQL_OK, DSQL_ENOMEM. rules_clear releases it. */
int rules_from(table_rules *out, json_t *metadata, dsql_error *err);
/* The rules of the hint's metadata, made once and shared (new references). */
int rules_of_hint(table_rules *out, table_hint *h, dsql_error *err);
void rules_clear(table_rules *r);

#endif
