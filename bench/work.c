/*
 * The logical work, generated once for both sides: the action lines a
 * writer commits, and the rows deltasql stores for them. The raw clients
 * write these rows with hand-written SQL; deltasql gets the same lines
 * through dsql_txn_stage.
 */
#include "config.h"
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The statistics a real writer records, as dsql_txn_add_file takes them;
 * ADD_BODY holds the same text escaped. */
#define ADD_STATS                                                                             \
	"{\"numRecords\":1000,\"minValues\":{\"id\":1,\"ts\":\"2024-01-01T00:00:00.000Z\"},"         \
	"\"maxValues\":{\"id\":1000,\"ts\":\"2024-01-01T23:59:59.999Z\"},"                        \
	"\"nullCount\":{\"id\":0,\"ts\":0}}"

/* A Delta add with the statistics a real writer records (~300 bytes). */
#define ADD_BODY                                                                              \
	"{\"path\":\"%s\",\"partitionValues\":{},\"size\":104857,"                                 \
	"\"modificationTime\":1700000000000,\"dataChange\":true,\"stats\":\"{\\\"numRecords\\\":"  \
	"1000,\\\"minValues\\\":{\\\"id\\\":1,\\\"ts\\\":\\\"2024-01-01T00:00:00.000Z\\\"},"      \
	"\\\"maxValues\\\":{\\\"id\\\":1000,\\\"ts\\\":\\\"2024-01-01T23:59:59.999Z\\\"},"        \
	"\\\"nullCount\\\":{\\\"id\\\":0,\\\"ts\\\":0}}\"}"

const char *work_add_line(char *buf, size_t cap, const char *path)
{
	snprintf(buf, cap, "{\"add\":" ADD_BODY "}", path);
	return buf;
}

const char *work_add_body(char *buf, size_t cap, const char *path)
{
	snprintf(buf, cap, ADD_BODY, path);
	return buf;
}

const char *work_remove_line(char *buf, size_t cap, const char *path)
{
	snprintf(buf, cap,
	         "{\"remove\":{\"path\":\"%s\",\"deletionTimestamp\":1700000000000,"
	         "\"dataChange\":true,\"partitionValues\":{},\"size\":104857}}",
	         path);
	return buf;
}

/* Exactly the commitInfo deltasql generates (core/commit.c), key for key. */
const char *work_commit_info(char *buf, size_t cap, const char *txn_id, int64_t ms,
                             int64_t read_version, int blind_append)
{
	snprintf(buf, cap,
	         "{\"commitInfo\":{\"operation\":\"WRITE\",\"operationParameters\":{},"
	         "\"isolationLevel\":\"WriteSerializable\",\"isBlindAppend\":%s,"
	         "\"engineInfo\":\"deltasql/" DSQL_VERSION_STRING "\",\"timestamp\":%lld,"
	         "\"txnId\":\"%s\",\"readVersion\":%lld}}",
	         blind_append ? "true" : "false", (long long)ms, txn_id, (long long)read_version);
	return buf;
}

int64_t work_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t next_random(void)
{
	static uint64_t s;
	static pid_t owner;

	if (owner != getpid()) { /* a forked writer gets its own sequence */
		owner = getpid();
		s = ((uint64_t)owner << 32) ^ (uint64_t)work_now_ms() ^ 0x9e3779b97f4a7c15ull;
	}
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

void work_txn_id(char out[40])
{
	uint64_t ms = (uint64_t)work_now_ms(), a = next_random(), b = next_random();

	snprintf(out, 40, "%08x-%04x-7%03x-%04x-%04x%08x", (unsigned)(ms >> 16) & 0xffffffffu,
	         (unsigned)ms & 0xffffu, (unsigned)a & 0xfffu, 0x8000u | ((unsigned)(a >> 12) & 0x3fffu),
	         (unsigned)(b >> 32) & 0xffffu, (unsigned)b);
}

static void path_of(char *buf, size_t cap, char tag, int64_t seq, size_t table, int k)
{
	snprintf(buf, cap, "%c-%08lld-t%02zu-k%02d.parquet", tag, (long long)seq, table, k);
}

work_txn *work_new(size_t n)
{
	work_txn *w = calloc(1, sizeof(*w));

	if (!w || !(w->t = calloc(n, sizeof(*w->t))))
		die("work", "out of memory");
	w->n = n;
	return w;
}

void work_free(work_txn *w)
{
	if (w)
		free(w->t);
	free(w);
}

void work_fill(work_txn *w, char tag, int64_t seq)
{
	work_txn_id(w->id);
	w->commit_ms = work_now_ms();
	for (size_t i = 0; i < w->n; i++) {
		work_table *t = &w->t[i];

		work_commit_info(t->commit_info, sizeof(t->commit_info), w->id, w->commit_ms,
		                 t->read_version, 1);
		t->n_adds = WORK_ADDS;
		for (int k = 0; k < WORK_ADDS; k++) {
			path_of(t->path[k], sizeof(t->path[k]), tag, seq, i, k);
			work_add_line(t->add_line[k], WORK_LINE, t->path[k]);
			work_add_body(t->add_body[k], WORK_LINE, t->path[k]);
		}
	}
}

int work_ours(dsql_catalog *cat, char (*names)[64], size_t n, char tag, int64_t seq,
              dsql_error *err)
{
	char path[64], line[WORK_LINE];
	dsql_txn *txn;
	int rc = dsql_txn_begin(&txn, cat, NULL, err);

	for (size_t i = 0; i < n && rc == DSQL_OK; i++)
		for (int k = 0; k < WORK_ADDS && rc == DSQL_OK; k++) {
			path_of(path, sizeof(path), tag, seq, i, k);
			rc = dsql_txn_stage(txn, names[i], work_add_line(line, sizeof(line), path), err);
		}
	if (rc == DSQL_OK)
		rc = dsql_txn_commit(txn, err);
	dsql_txn_free(txn);
	return rc;
}

int work_ours_typed(dsql_catalog *cat, char (*names)[64], size_t n, char tag, int64_t seq,
                    dsql_error *err)
{
	dsql_file_action f = DSQL_FILE_ACTION_INIT;
	char path[64];
	dsql_txn *txn;
	int rc = dsql_txn_begin(&txn, cat, NULL, err);

	f.path = path;
	f.size = 104857;
	f.timestamp_ms = 1700000000000;
	f.stats = ADD_STATS;
	for (size_t i = 0; i < n && rc == DSQL_OK; i++)
		for (int k = 0; k < WORK_ADDS && rc == DSQL_OK; k++) {
			path_of(path, sizeof(path), tag, seq, i, k);
			rc = dsql_txn_add_file(txn, names[i], &f, err);
		}
	if (rc == DSQL_OK)
		rc = dsql_txn_commit(txn, err);
	dsql_txn_free(txn);
	return rc;
}

/* --- the snapshot section's histories --- */

int64_t history_live(const history *h, int64_t version)
{
	return version * h->adds - (version > 1 ? (version - 1) * h->removes : 0);
}

void history_path(char *buf, size_t cap, int64_t v, int k)
{
	snprintf(buf, cap, "part-v%07lld-k%03d.parquet", (long long)v, k);
}

int64_t history_removed_at(const history *h, int64_t v, int k)
{
	int64_t w;

	if (k >= 2 * h->removes)
		return 0;
	w = 2 * v + k / h->removes;
	return w <= h->versions ? w : 0;
}

void history_removed_file(const history *h, int64_t v, int j, int64_t *from_v, int *from_k)
{
	*from_v = v / 2;
	*from_k = (int)(v % 2) * h->removes + j;
}
