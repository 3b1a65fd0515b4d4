/*
 * What every writer of the catalog did over a period (dsql_catalog_stats),
 * read from the journal's attempts and waits and from the conflict rows
 * (schema version 6). Nothing here runs on the commit path.
 */
#include "catalog_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static int rule_of(const char *name)
{
	for (int r = 0; r < DSQL_RULE_COUNT; r++)
		if (strcmp(dsql_conflict_rule_name(r), name) == 0)
			return r;
	return -1;
}

/* The journal rows of the period, by wait: counts, attempts, percentiles. */
static int read_commits(dsql_catalog *cat, int64_t table_id, dsql_stats *s, dsql_error *err)
{
	int64_t *waits = NULL;
	size_t n = 0, cap = 0;
	db_stmt *st;
	int rc;

	if (table_id >= 0)
		rc = db_stmt_get(&st, cat->db,
		                 "SELECT j.attempts, j.wait_us FROM dsql_commit c JOIN dsql_transaction j"
		                 " ON j.txn_id = c.txn_id WHERE c.table_id = ? AND c.commit_ms >= ?"
		                 " ORDER BY j.wait_us",
		                 err);
	else
		rc = db_stmt_get(&st, cat->db,
		                 "SELECT attempts, wait_us FROM dsql_transaction WHERE commit_ms >= ?"
		                 " ORDER BY wait_us",
		                 err);
	if (rc != DSQL_OK)
		return rc;
	rc = table_id >= 0 ? db_run(st, err, "ii", table_id, s->since_ms)
	                   : db_run(st, err, "i", s->since_ms);
	for (; rc == DSQL_ROW; rc = db_step(st, err)) {
		int64_t attempts = db_column_int64(st, 0);

		if (n == cap) {
			int64_t *grown = realloc(waits, (cap = cap ? cap * 2 : 256) * sizeof(*waits));

			if (!grown) {
				db_stmt_done(st);
				free(waits);
				return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
			}
			waits = grown;
		}
		waits[n++] = db_column_int64(st, 1);
		s->commits++;
		s->retries += attempts > 1 ? (uint64_t)(attempts - 1) : 0;
		if (attempts > 0 && (uint64_t)attempts > s->max_attempts)
			s->max_attempts = (uint64_t)attempts;
	}
	if (rc == DSQL_DONE && n) {
		/* nearest rank: the smallest value with at least q of them at or below */
		s->wait_p50_us = waits[(n * 50 + 99) / 100 - 1];
		s->wait_p99_us = waits[(n * 99 + 99) / 100 - 1];
		s->wait_max_us = waits[n - 1];
	}
	free(waits);
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

static int read_conflicts(dsql_catalog *cat, const char *table, dsql_stats *s,
                          dsql_stats_conflict_cb cb, void *payload, dsql_error *err)
{
	db_stmt *st;
	int rc;

	if (table)
		rc = db_stmt_get(&st, cat->db,
		                 "SELECT rule, table_name, COUNT(*) FROM dsql_conflict"
		                 " WHERE conflict_ms >= ? AND table_name = ?"
		                 " GROUP BY rule, table_name ORDER BY rule, table_name",
		                 err);
	else
		rc = db_stmt_get(&st, cat->db,
		                 "SELECT rule, table_name, COUNT(*) FROM dsql_conflict"
		                 " WHERE conflict_ms >= ? GROUP BY rule, table_name"
		                 " ORDER BY rule, table_name",
		                 err);
	if (rc != DSQL_OK)
		return rc;
	rc = table ? db_run(st, err, "it", s->since_ms, table) : db_run(st, err, "i", s->since_ms);
	for (; rc == DSQL_ROW; rc = db_step(st, err)) {
		const char *rule = db_column_text(st, 0, NULL);
		uint64_t count = (uint64_t)db_column_int64(st, 2);
		int r = rule_of(rule), stop;

		s->conflicts += count;
		if (r >= 0)
			s->conflicts_by_rule[r] += count;
		stop = cb ? cb(rule, db_column_text(st, 1, NULL), count, payload) : 0;
		if (stop) {
			db_stmt_done(st);
			return stop;
		}
	}
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

int dsql_catalog_stats(dsql_stats *out, size_t size, dsql_catalog *cat, const char *table,
                       int64_t since_ms, dsql_stats_conflict_cb cb, void *payload,
                       dsql_error *err)
{
	int64_t id = -1, version;
	dsql_stats s;
	int rc;

	if (!out || !cat)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "stats: out or catalog is NULL");
	/* An older schema read as it is (a standby, core/schema.c) has no
	 * attempts, waits or conflict rows. */
	if (cat->schema_version < 6)
		return dsql_error_set(err, DSQL_EUNSUPPORTED, NULL, NULL, 0,
		                      "stats: catalog schema version %d has no commit statistics "
		                      "(schema 6 has; it is read here without migrating: a standby)",
		                      cat->schema_version);
	memset(&s, 0, sizeof(s));
	s.since_ms = since_ms;
	s.until_ms = util_now_ms();
	if (table && (rc = catalog_find_table(cat, table, &id, &version, err)) != DSQL_OK)
		return rc;
	rc = db_begin(cat->db, DSQL_BEGIN_READ, err);
	if (rc == DSQL_OK)
		rc = read_commits(cat, id, &s, err);
	if (rc == DSQL_OK)
		rc = read_conflicts(cat, table, &s, cb, payload, err);
	if (rc == DSQL_OK)
		rc = db_commit(cat->db, err);
	else
		db_rollback(cat->db);
	if (rc == DSQL_OK)
		memcpy(out, &s, size < sizeof(s) ? size : sizeof(s));
	return rc;
}
