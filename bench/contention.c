/*
 * Section 4: contention. P processes blind-append 10 files per commit for
 * a fixed time, all to one table or each to its own, through deltasql and
 * (separately) through the raw client. Each process opens its own
 * connection after fork() and records every commit's latency in shared
 * memory; the parent aggregates commits/s, conflict errors, retries,
 * rebases, hint misses (the share of commits whose hinted attempt lost to
 * another writer) and latency percentiles.
 */
#include "config.h"
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WRITERS 8
#define MAX_LAT 65536

typedef struct slot {
	uint64_t commits, conflict_errors, other_errors, retries, rebases, hint_misses;
	double end;
	uint32_t n_lat;
	float lat_ms[MAX_LAT];
	char error[256];
} slot;

typedef struct board {
	int ready;
	int go;
	double start, deadline;
	slot s[MAX_WRITERS];
} board;

typedef struct stats {
	double per_s, p50, p99;
	uint64_t commits, conflict_errors, other_errors, retries, rebases, hint_misses;
} stats;

static void wait_for_go(board *bd)
{
	struct timespec pause = {0, 100000};

	__atomic_add_fetch(&bd->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&bd->go, __ATOMIC_SEQ_CST))
		nanosleep(&pause, NULL);
}

static void record(slot *s, double t0)
{
	if (s->n_lat < MAX_LAT)
		s->lat_ms[s->n_lat++] = (float)((now() - t0) * 1000);
	s->commits++;
}

static void child_ours(const backend *b, board *bd, int i, const char *table)
{
	slot *s = &bd->s[i];
	char names[1][64];
	dsql_catalog *cat;
	dsql_metrics m;
	dsql_error err;
	int64_t seq = (int64_t)i * 10000000;

	snprintf(names[0], 64, "%.63s", table);
	if (dsql_catalog_open(&cat, b->uri, NULL, &err) != DSQL_OK)
		die("contention", "open: %s", err.message);
	wait_for_go(bd);
	while (now() < bd->deadline) {
		double t0 = now();
		int rc = work_ours(cat, names, 1, 'c', seq++, &err);

		if (rc == DSQL_OK) {
			record(s, t0);
		} else if (rc == DSQL_ECONFLICT) {
			s->conflict_errors++;
		} else {
			if (!s->other_errors++)
				snprintf(s->error, sizeof(s->error), "%.40s: %.200s",
				         dsql_status_name(rc), err.message);
			if (s->other_errors > 100)
				break;
		}
	}
	s->end = now();
	dsql_catalog_metrics(cat, &m, sizeof(m));
	s->retries = m.retries;
	s->rebases = m.rebases;
	s->hint_misses = m.hint_misses;
	dsql_catalog_free(cat);
}

static void child_raw(const backend *b, board *bd, int i, int64_t table)
{
	slot *s = &bd->s[i];
	raw *r = b->ops->connect(b->target);
	work_txn *w = work_new(1);
	int64_t seq = (int64_t)i * 10000000, last = 0;

	w->t[0].id = table;
	wait_for_go(bd);
	while (now() < bd->deadline) {
		double t0 = now();

		w->t[0].read_version = last; /* what this writer last saw */
		work_fill(w, 'x', seq++);
		last = b->ops->append(r, w);
		record(s, t0);
	}
	s->end = now();
	work_free(w);
	b->ops->close(r);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static stats run(backend *b, dsql_catalog *cat, int writers, int shared, int raw_side,
                 double seconds)
{
	char names[MAX_WRITERS][64];
	int64_t ids[MAX_WRITERS];
	int n_tables = shared ? 1 : writers, failed = 0;
	board *bd = mmap(NULL, sizeof(board), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
	                 0);
	struct timespec pause = {0, 200000};
	stats st;
	float *lat;
	size_t n_lat = 0;
	double end = 0;

	if (bd == MAP_FAILED)
		die("contention", "mmap failed");
	memset(bd, 0, sizeof(*bd));
	memset(&st, 0, sizeof(st));
	create_tables(cat, raw_side ? "wr" : "wo", (size_t)n_tables, names);
	for (int i = 0; i < n_tables; i++)
		ids[i] = b->ops->table_id(b->r, names[i]);
	fflush(NULL);
	for (int i = 0; i < writers; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("contention", "fork failed");
		if (pid == 0) {
			if (raw_side)
				child_raw(b, bd, i, ids[shared ? 0 : i]);
			else
				child_ours(b, bd, i, names[shared ? 0 : i]);
			_exit(0);
		}
	}
	while (__atomic_load_n(&bd->ready, __ATOMIC_SEQ_CST) < writers)
		nanosleep(&pause, NULL);
	bd->start = now();
	bd->deadline = bd->start + seconds;
	__atomic_store_n(&bd->go, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < writers; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	if (failed)
		die("contention", "%d writer process(es) failed", failed);
	lat = malloc(sizeof(float) * MAX_LAT * (size_t)writers);
	for (int i = 0; i < writers; i++) {
		slot *s = &bd->s[i];

		st.commits += s->commits;
		st.conflict_errors += s->conflict_errors;
		st.other_errors += s->other_errors;
		st.retries += s->retries;
		st.rebases += s->rebases;
		st.hint_misses += s->hint_misses;
		if (s->end > end)
			end = s->end;
		memcpy(lat + n_lat, s->lat_ms, s->n_lat * sizeof(float));
		n_lat += s->n_lat;
		if (s->other_errors)
			fprintf(stderr, "deltasql-bench: %s writer %d: %llu errors, first: %s\n", b->name, i,
			        (unsigned long long)s->other_errors, s->error);
	}
	qsort(lat, n_lat, sizeof(float), cmp_float);
	st.per_s = st.commits / (end - bd->start);
	st.p50 = n_lat ? lat[n_lat / 2] : 0;
	st.p99 = n_lat ? lat[(size_t)(n_lat * 0.99)] : 0;
	free(lat);
	munmap(bd, sizeof(board));
	drop_tables(cat, (size_t)n_tables, names);
	return st;
}

void section_contention(backend *b)
{
	static const int counts[] = {1, 2, 4, 8};
	double seconds = opt.quick ? 0.3 : b->is_odbc ? 1.0 : 1.5;
	dsql_catalog *cat = open_catalog(b);

	out("\n4. Contention: P processes blind-appending 10 files per commit for %.1f s each run\n"
	    "   %-6s %2s | %9s %6s %9s %8s %8s %7s %7s %7s | %9s %6s %7s %7s\n", seconds, "tables",
	    "P", "dsql c/s", "vs P=1", "conflicts", "retries", "rebases", "misses", "p50 ms",
	    "p99 ms", "raw c/s", "vs P=1", "p50 ms", "p99 ms");
	for (int shared = 1; shared >= 0; shared--) {
		stats one_ours = {0}, one_raw = {0};

		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			int p = counts[c];
			stats o, r;

			if (opt.quick && p != 1 && p != 8)
				continue;
			o = run(b, cat, p, shared, 0, seconds);
			r = run(b, cat, p, shared, 1, seconds);
			if (p == 1) {
				one_ours = o;
				one_raw = r;
			}
			out("   %-6s %2d | %9.0f %5.2fx %9llu %8llu %8llu %6.0f%% %7.2f %7.2f | %9.0f %5.2fx"
			    " %7.2f %7.2f\n", shared ? "one" : "own", p, o.per_s, o.per_s / one_ours.per_s,
			    (unsigned long long)o.conflict_errors, (unsigned long long)o.retries,
			    (unsigned long long)o.rebases,
			    o.commits ? 100.0 * (double)o.hint_misses / (double)o.commits : 0.0, o.p50,
			    o.p99, r.per_s, r.per_s / one_raw.per_s, r.p50, r.p99);
			result_add(json_pack("{s:s, s:s, s:s, s:i, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:f,"
			                     " s:f, s:f, s:f, s:f, s:f, s:f}", "backend", b->name, "section",
			                     "contention", "tables", shared ? "one" : "own", "writers", p,
			                     "seconds", seconds, "deltasql_per_s", o.per_s,
			                     "conflict_errors", (json_int_t)o.conflict_errors,
			                     "other_errors", (json_int_t)o.other_errors, "retries",
			                     (json_int_t)o.retries, "rebases", (json_int_t)o.rebases,
			                     "hint_misses", (json_int_t)o.hint_misses,
			                     "deltasql_vs_one", o.per_s / one_ours.per_s, "deltasql_p50_ms",
			                     o.p50, "deltasql_p99_ms", o.p99, "raw_per_s", r.per_s,
			                     "raw_vs_one", r.per_s / one_raw.per_s, "raw_p50_ms", r.p50,
			                     "raw_p99_ms", r.p99));
			if (shared && p == 8) {
				target(b->name, "8 writers on one table: conflict errors",
				       (double)(o.conflict_errors + o.other_errors), 0, 1, "");
				target(b->name, "8 writers on one table: throughput vs 1 writer",
				       o.per_s / one_ours.per_s, 0.5, 0, "");
			}
		}
	}
	dsql_catalog_free(cat);
}
