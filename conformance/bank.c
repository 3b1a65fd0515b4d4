/*
 * The bank: K tables ("accounts"), each with one live file whose stats
 * carry its balance. Writer processes move money between two tables per
 * commit (remove the old file and add the new one in each); reader
 * processes take consistent snapshots of all tables at once. Invariants,
 * during and after: every snapshot set sums to the same total, every
 * account has exactly one live file, versions are contiguous, every
 * success a writer reported is in the log exactly once in both of its
 * tables, and no failed commit left a trace.
 *
 * Runs for DELTASQL_STRESS_SECONDS (default 10) per driver.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ACCOUNTS 4
#define WRITERS 3
#define READERS 2
#define START 1000

static char accounts[ACCOUNTS][128];

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static char *file_json(const char *path, long balance)
{
	char *s;

	if (asprintf(&s, "{\"add\":{\"path\":\"%s\",\"partitionValues\":{},\"size\":1,"
	                 "\"modificationTime\":1,\"dataChange\":true,"
	                 "\"stats\":\"{\\\"numRecords\\\":%ld}\"}}",
	             path, balance) < 0)
		abort();
	return s;
}

/* The one live file of an account snapshot: its path and balance; -1 when
 * the account does not have exactly one. */
static long balance_of(const dsql_snapshot *s, char *path, size_t cap)
{
	const char *f, *p, *n;

	if (dsql_snapshot_file_count(s) != 1)
		return -1;
	f = dsql_snapshot_file_json(s, 0);
	p = strstr(f, "\"path\":\"");
	n = strstr(f, "numRecords");
	if (!p || !n)
		return -1;
	p += 8;
	snprintf(path, cap, "%.*s", (int)(strchr(p, '"') - p), p);
	return strtol(n + 13, NULL, 10);
}

static void reader(double deadline, int fd)
{
	const char *names[ACCOUNTS];
	dsql_catalog *cat = NULL;
	dsql_error err;
	long reads = 0;
	char line[64];

	for (int i = 0; i < ACCOUNTS; i++)
		names[i] = accounts[i];
	if (dsql_catalog_open(&cat, scn_uri, NULL, &err))
		_exit(10);
	while (now_s() < deadline) {
		dsql_snapshot *s[ACCOUNTS];
		long total = 0;
		char path[256];

		if (dsql_snapshot_open_many(s, cat, names, ACCOUNTS, &err) != DSQL_OK) {
			fprintf(stderr, "reader: %s\n", err.message);
			_exit(11);
		}
		for (int i = 0; i < ACCOUNTS; i++) {
			long b = balance_of(s[i], path, sizeof(path));

			if (b < 0) {
				fprintf(stderr, "reader: account %d has %zu live files at version %lld\n", i,
				        dsql_snapshot_file_count(s[i]), (long long)dsql_snapshot_version(s[i]));
				_exit(30);
			}
			total += b;
			dsql_snapshot_free(s[i]);
		}
		if (total != ACCOUNTS * START) {
			fprintf(stderr, "reader: total %ld, expected %d\n", total, ACCOUNTS * START);
			_exit(31);
		}
		reads++;
	}
	snprintf(line, sizeof(line), "R %ld\n", reads);
	if (write(fd, line, strlen(line)) < 0)
		_exit(12);
	dsql_catalog_free(cat);
	_exit(0);
}

static void writer(int w, double deadline, int fd)
{
	dsql_catalog *cat = NULL;
	dsql_error err;
	unsigned seed = (unsigned)getpid();
	int seq = 0;

	if (dsql_catalog_open(&cat, scn_uri, NULL, &err))
		_exit(10);
	while (now_s() < deadline) {
		int i = rand_r(&seed) % ACCOUNTS, j = (i + 1 + rand_r(&seed) % (ACCOUNTS - 1)) % ACCOUNTS;
		const char *pair[2] = {accounts[i], accounts[j]};
		dsql_snapshot *s[2];
		char pi[256], pj[256], np[64], line[200];
		long bi, bj, amount;
		dsql_txn *txn;
		int rc;

		if (dsql_snapshot_open_many(s, cat, pair, 2, &err) != DSQL_OK)
			_exit(11);
		bi = balance_of(s[0], pi, sizeof(pi));
		bj = balance_of(s[1], pj, sizeof(pj));
		if (bi < 0 || bj < 0)
			_exit(30);
		amount = bi > 0 ? 1 + rand_r(&seed) % (bi < 50 ? bi : 50) : 0;
		if (dsql_txn_begin(&txn, cat, NULL, &err) ||
		    dsql_txn_open_table(txn, accounts[i], dsql_snapshot_version(s[0]), &err) ||
		    dsql_txn_open_table(txn, accounts[j], dsql_snapshot_version(s[1]), &err))
			_exit(12);
		dsql_snapshot_free(s[0]);
		dsql_snapshot_free(s[1]);
		snprintf(np, sizeof(np), "w%d-%d-a", w, seq);
		rc = stage(txn, accounts[i], remove_json(pi), &err);
		if (!rc)
			rc = stage(txn, accounts[i], file_json(np, bi - amount), &err);
		snprintf(np, sizeof(np), "w%d-%d-b", w, seq++);
		if (!rc)
			rc = stage(txn, accounts[j], remove_json(pj), &err);
		if (!rc)
			rc = stage(txn, accounts[j], file_json(np, bj + amount), &err);
		if (!rc)
			rc = dsql_txn_commit(txn, &err);
		if (rc == DSQL_OK)
			snprintf(line, sizeof(line), "S %s %d %d\n", dsql_txn_id(txn), i, j);
		else if (rc == DSQL_ECONFLICT || rc == DSQL_ERETRY)
			snprintf(line, sizeof(line), "F %s\n", dsql_txn_id(txn));
		else {
			fprintf(stderr, "writer: %s\n", err.message);
			_exit(13);
		}
		dsql_txn_free(txn);
		if (write(fd, line, strlen(line)) < 0)
			_exit(14);
	}
	dsql_catalog_free(cat);
	_exit(0);
}

typedef struct ids {
	char (*id)[64];
	int n;
} ids;

static int collect_cb(const dsql_commit_info *c, void *payload)
{
	ids *x = payload;

	ck_assert_int_eq(c->version, x->n); /* contiguous */
	snprintf(x->id[x->n++], 64, "%s", c->txn_id);
	return 0;
}

static int count_in(const ids *x, const char *id)
{
	int n = 0;

	for (int i = 0; i < x->n; i++)
		n += strcmp(x->id[i], id) == 0;
	return n;
}

START_TEST(bank_total_is_conserved)
{
	dsql_catalog *cat = open_cat();
	const char *sec = getenv("DELTASQL_STRESS_SECONDS");
	double deadline = now_s() + (sec ? atof(sec) : 10);
	ids hist[ACCOUNTS];
	size_t cap = 1 << 22, len = 0;
	char *buf = malloc(cap);
	long successes = 0, failures = 0, reads = 0;
	dsql_txn *txn;
	dsql_error err;
	int fds[2], status;
	ssize_t n;

	for (int i = 0; i < ACCOUNTS; i++) {
		snprintf(accounts[i], sizeof(accounts[i]), "%s", tname("acct"));
		create(cat, accounts[i], 0);
	}
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	for (int i = 0; i < ACCOUNTS; i++)
		OK(stage(txn, accounts[i], file_json("initial", START), &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	ck_assert_int_eq(pipe(fds), 0);
	for (int w = 0; w < WRITERS; w++)
		if (fork() == 0)
			writer(w, deadline, fds[1]);
	for (int r = 0; r < READERS; r++)
		if (fork() == 0)
			reader(deadline, fds[1]);
	close(fds[1]);
	while ((n = read(fds[0], buf + len, cap - len - 1)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fds[0]);
	for (int p = 0; p < WRITERS + READERS; p++) {
		ck_assert_int_ne(wait(&status), -1);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a process failed: %d",
		              status);
	}
	for (int i = 0; i < ACCOUNTS; i++) {
		hist[i].id = calloc(200000, 64);
		hist[i].n = 0;
		OK(dsql_history(cat, accounts[i], collect_cb, &hist[i], &err));
	}
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char id[64];
		int i, j;
		long r;

		if (sscanf(line, "S %63s %d %d", id, &i, &j) == 3) {
			successes++;
			for (int k = 0; k < ACCOUNTS; k++)
				ck_assert_int_eq(count_in(&hist[k], id), k == i || k == j);
		} else if (sscanf(line, "F %63s", id) == 1) {
			failures++;
			for (int k = 0; k < ACCOUNTS; k++)
				ck_assert_int_eq(count_in(&hist[k], id), 0);
		} else if (sscanf(line, "R %ld", &r) == 1) {
			reads += r;
		}
	}
	/* Every version after the first two is a reported success. */
	{
		int versions = 0;

		for (int k = 0; k < ACCOUNTS; k++)
			versions += hist[k].n - 2;
		ck_assert_int_eq(versions, 2 * successes);
	}
	ck_assert_int_gt(successes, 0);
	ck_assert_int_gt(reads, 0);
	fprintf(stderr, "bank on %s: %ld transfers, %ld conflicts retried, %ld consistent reads\n",
	        scn_uri, successes, failures, reads);
	for (int i = 0; i < ACCOUNTS; i++)
		free(hist[i].id);
	free(buf);
	dsql_catalog_free(cat);
}
END_TEST

void bank_cases(Suite *s)
{
	TCase *tc = tcase_create("stress");

	tcase_add_test(tc, bank_total_is_conserved);
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
}
