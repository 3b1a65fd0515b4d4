/*
 * Sections 1, 2, 3, 5 and 6: commits, multi-table commits, snapshot loads,
 * conflict checks and rebases, import/export. (Contention: contention.c.)
 * Timed work alternates between deltasql and the raw client in rounds, so
 * that drift on a shared machine hits both sides alike.
 */
#include "config.h"
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int scaled(const backend *b, int full)
{
	double f = full * (opt.quick ? 0.15 : 1.0) * (b->server ? 0.35 : 1.0);

	return f < 8 ? 8 : (int)f;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* --- a pair of table sets: k tables for deltasql, k for the raw client --- */

typedef struct pair {
	size_t k;
	char (*ours)[64], (*raws)[64], (*mims)[64], (*typs)[64];
	work_txn *w, *wm; /* the raw rows; the mimic's (its own tables) */
	int64_t raw_version, mimic_version, seq_ours, seq_raw, seq_typed;
} pair;

/* Extra sides (sections 1 and 2): k tables for the mimic, k for
 * deltasql's typed adds. */
enum { SIDE_MIMIC = 1, SIDE_TYPED = 2 };

static void pair_open(pair *p, const backend *b, dsql_catalog *cat, size_t k, const char *prefix,
                      int extra)
{
	char o[16], r[16];

	memset(p, 0, sizeof(*p));
	p->k = k;
	p->ours = calloc(k, 64);
	p->raws = calloc(k, 64);
	if (!p->ours || !p->raws)
		die("bench", "out of memory");
	snprintf(o, sizeof(o), "%so", prefix);
	snprintf(r, sizeof(r), "%sr", prefix);
	create_tables(cat, o, k, p->ours);
	create_tables(cat, r, k, p->raws);
	if (extra & SIDE_TYPED) {
		snprintf(o, sizeof(o), "%st", prefix);
		if (!(p->typs = calloc(k, 64)))
			die("bench", "out of memory");
		create_tables(cat, o, k, p->typs);
	}
	p->w = work_new(k);
	for (size_t i = 0; i < k; i++)
		p->w->t[i].id = b->ops->table_id(b->r, p->raws[i]);
	if ((extra & SIDE_MIMIC) && b->ops->mimic) {
		snprintf(r, sizeof(r), "%sm", prefix);
		p->mims = calloc(k, 64);
		if (!p->mims)
			die("bench", "out of memory");
		create_tables(cat, r, k, p->mims);
		p->wm = work_new(k);
		for (size_t i = 0; i < k; i++)
			p->wm->t[i].id = b->ops->table_id(b->r, p->mims[i]);
	}
}

static void pair_close(pair *p, dsql_catalog *cat)
{
	drop_tables(cat, p->k, p->ours);
	drop_tables(cat, p->k, p->raws);
	if (p->mims)
		drop_tables(cat, p->k, p->mims);
	if (p->typs)
		drop_tables(cat, p->k, p->typs);
	free(p->ours);
	free(p->raws);
	free(p->mims);
	free(p->typs);
	work_free(p->w);
	work_free(p->wm);
}

/* typed: through dsql_txn_add_file, into the typed side's tables. */
static double run_ours_as(pair *p, dsql_catalog *cat, int n, int typed)
{
	double t0 = now();
	dsql_error err;

	for (int i = 0; i < n; i++)
		if ((typed ? work_ours_typed(cat, p->typs, p->k, 'o', p->seq_typed++, &err)
		           : work_ours(cat, p->ours, p->k, 'o', p->seq_ours++, &err)) != DSQL_OK)
			die("commit", "%s", err.message);
	return now() - t0;
}

static double run_ours(pair *p, dsql_catalog *cat, int n)
{
	return run_ours_as(p, cat, n, 0);
}

static double run_raw_as(pair *p, const backend *b, int n, int mimic)
{
	work_txn *w = mimic ? p->wm : p->w;
	int64_t *version = mimic ? &p->mimic_version : &p->raw_version;
	double t0 = now();

	for (int i = 0; i < n; i++) {
		++*version;
		for (size_t t = 0; t < p->k; t++) {
			w->t[t].version = *version;
			w->t[t].read_version = *version - 1;
		}
		work_fill(w, 'r', p->seq_raw++);
		if (mimic)
			b->ops->mimic(b->r, w);
		else
			b->ops->commit(b->r, w);
	}
	return now() - t0;
}

static double run_raw(pair *p, const backend *b, int n)
{
	return run_raw_as(p, b, n, 0);
}

/* The sides measure() alternates: deltasql staging lines, the raw client,
 * the mimic, deltasql's typed adds. */
typedef struct sides {
	double ours, raw, mimic, typed; /* ms per commit; 0: side not run */
} sides;

static double run_side(pair *p, const backend *b, dsql_catalog *cat, int side, int n)
{
	return side == 0 ? run_ours(p, cat, n)
	       : side == 1 ? run_raw(p, b, n)
	       : side == 2 ? run_raw_as(p, b, n, 1)
	                   : run_ours_as(p, cat, n, 1);
}

/* n commits per side in alternating rounds (the order reversed every other
 * round); per-commit milliseconds. Also the pair's extra sides: the mimic
 * (the raw client sending deltasql's statements) and typed adds. */
static void measure(pair *p, const backend *b, dsql_catalog *cat, int n, sides *out)
{
	const int rounds = 4;
	double t[4] = {0, 0, 0, 0};
	int per = n / rounds > 0 ? n / rounds : 1, run[4] = {1, 1, 0, 0};

	run[2] = p->wm != NULL;
	run[3] = p->typs != NULL;
	for (int side = 0; side < 4; side++)
		if (run[side])
			run_side(p, b, cat, side, 2); /* statement caches, first-use preparation */
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < 4; i++) {
			int side = r % 2 == 0 ? i : 3 - i;

			if (run[side])
				t[side] += run_side(p, b, cat, side, per);
		}
	out->ours = t[0] * 1000 / (per * rounds);
	out->raw = t[1] * 1000 / (per * rounds);
	out->mimic = t[2] * 1000 / (per * rounds);
	out->typed = t[3] * 1000 / (per * rounds);
}

/* deltasql's table ours (of the pair's) and the raw client's hold the same
 * rows in their last commits (up to ids and times). */
static int rows_match(const backend *b, const pair *p, dsql_catalog *cat, const char *ours,
                      char *why, size_t cap)
{
	static const char *const checks[][2] = {
		{"action rows", "SELECT COUNT(*) FROM dsql_action WHERE table_id = ? AND version = ?"},
		{"action bytes",
		 "SELECT SUM(LENGTH(body)) FROM dsql_action WHERE table_id = ? AND version = ?"},
		{"action kinds", "SELECT SUM(seq * LENGTH(kind)) FROM dsql_action WHERE table_id = ?"
		                 " AND version = ?"},
		{"file rows", "SELECT COUNT(*) FROM dsql_file WHERE table_id = ? AND added_version = ?"},
		{"file bytes", "SELECT SUM(LENGTH(body)) + SUM(LENGTH(path)) + SUM(size)"
		               " + SUM(LENGTH(dv_id)) FROM dsql_file WHERE table_id = ?"
		               " AND added_version = ? AND removed_version IS NULL"},
		{"commit row", "SELECT n_adds * 1000000 + n_removes * 10000 + blind_append * 100"
		               " + data_change * 10 + LENGTH(operation) FROM dsql_commit"
		               " WHERE table_id = ? AND version = ?"},
		{"journal row", "SELECT LENGTH(txn_id) * 100000 + LENGTH(state) * 1000"
		                " + LENGTH(isolation) * 10 + n_tables FROM dsql_transaction WHERE txn_id"
		                " = (SELECT txn_id FROM dsql_commit WHERE table_id = ? AND version = ?)"},
	};
	int64_t version;
	dsql_error err;

	if (dsql_table_version(cat, ours, &version, &err) != DSQL_OK)
		die("table version", "%s", err.message);
	if (version != p->raw_version) {
		snprintf(why, cap, "versions differ (%lld, %lld)", (long long)version,
		         (long long)p->raw_version);
		return 0;
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		int64_t a[2] = {b->ops->table_id(b->r, ours), version};
		int64_t r[2] = {p->w->t[0].id, version};
		int64_t x = b->ops->scalar(b->r, checks[i][1], a, 2);
		int64_t y = b->ops->scalar(b->r, checks[i][1], r, 2);

		if (x != y || x == 0) {
			snprintf(why, cap, "%s differ: deltasql %lld, raw %lld", checks[i][0], (long long)x,
			         (long long)y);
			return 0;
		}
	}
	return 1;
}

static void report_commit(const backend *b, const char *label, int n, double ours,
                          double raw_ms, double mimic_ms, int check, const char *why)
{
	/* Typed adds are compared with the mimic too: the same statements. */
	out("   %-28s %8.0f %8.0f  %7.3f %7.3f  %6.2fx", label, 1000 / ours, 1000 / raw_ms, ours,
	    raw_ms, ours / raw_ms);
	if (mimic_ms > 0)
		out("  %7.3f  %6.2fx %6.2fx\n", mimic_ms, mimic_ms / raw_ms, ours / mimic_ms);
	else
		out("\n");
	result_add(json_pack("{s:s, s:s, s:s, s:i, s:f, s:f, s:f, s:f, s:f, s:o, s:b, s:s}",
	                     "backend", b->name, "section", "commit", "measure", label, "commits", n,
	                     "deltasql_ms", ours, "raw_ms", raw_ms, "deltasql_per_s", 1000 / ours,
	                     "raw_per_s", 1000 / raw_ms, "ratio", ours / raw_ms, "mimic_ms",
	                     mimic_ms > 0 ? json_real(mimic_ms) : json_null(), "rows_match", check,
	                     "rows_detail", why));
}

/* --- 1. commit overhead --- */

/* "synchronous=normal" -> "synchronous=full", in place (shorter). */
static void set_full_sync(char *uri)
{
	char *p = strstr(uri, "synchronous=normal");

	if (p) {
		memcpy(p, "synchronous=full", 16);
		memmove(p + 16, p + 18, strlen(p + 18) + 1);
	}
}

/* PostgreSQL: synchronous_commit=off for the session, through libpq's
 * options, in a URI or a keyword conninfo alike. */
static void no_sync_commit(char *conninfo, size_t cap)
{
	size_t len = strlen(conninfo);

	if (strstr(conninfo, "://"))
		snprintf(conninfo + len, cap - len, "%coptions=-csynchronous_commit%%3Doff",
		         strchr(conninfo, '?') ? '&' : '?');
	else
		snprintf(conninfo + len, cap - len, " options='-csynchronous_commit=off'");
}

void section_commit(backend *b)
{
	int n = scaled(b, 2000), ok;
	dsql_catalog *cat = open_catalog(b);
	char why[256] = "same rows: journal, version, commit, 11 actions, 10 files";
	char why_typed[256] = "typed adds: the same rows too";
	int ok_typed;
	sides m;
	pair p;

	out("\n1. Commit overhead: %d single-table commits of 10 adds per side, 4 alternating"
	    " rounds;\n   tables have a 20-column schema (one row: none)\n", n);
	if (b->ops->mimic)
		out("   mimic: the raw client sending deltasql's own statement sequence one at a time,"
		    " without its JSON work:\n   dsql/mimic is deltasql's CPU overhead, mimic/raw the"
		    " cost of its statement shape\n");
	out("   %-28s %8s %8s  %7s %7s  %7s%s\n", "", "dsql c/s", "raw c/s", "dsql ms", "raw ms",
	    "ratio", b->ops->mimic ? "  mimic ms mimic/raw dsql/mimic" : "");
	pair_open(&p, b, cat, 1, "c", SIDE_MIMIC | SIDE_TYPED);
	measure(&p, b, cat, n, &m);
	ok = rows_match(b, &p, cat, p.ours[0], why, sizeof(why));
	ok_typed = rows_match(b, &p, cat, p.typs[0], why_typed, sizeof(why_typed));
	report_commit(b, "1 table x 10 adds", n, m.ours, m.raw, m.mimic, ok, why);
	report_commit(b, "same, typed adds", n, m.typed, m.raw, m.mimic, ok_typed, why_typed);
	target(b->name, b->ops == &raw_sqlite_ops ? "commit overhead vs raw"
	                : b->is_odbc                ? "commit overhead vs raw ODBC client"
	                                            : "commit overhead vs one-round-trip raw transaction",
	       m.ours / m.raw, 1.25, 1, "");
	target(b->name, "same, typed adds (dsql_txn_add_file)", m.typed / m.raw, 1.25, 1, "");
	pair_close(&p, cat);

	/* What the table's schema weighs: the same commits to tables created
	 * without columns. */
	bench_bare_tables = 1;
	pair_open(&p, b, cat, 1, "e", SIDE_MIMIC);
	bench_bare_tables = 0;
	measure(&p, b, cat, n / 2, &m);
	report_commit(b, "same, table without schema", n / 2, m.ours, m.raw, m.mimic, 1, "");
	pair_close(&p, cat);
	dsql_catalog_free(cat);

	/* The other durability setting too: the time fsync takes changes what
	 * the overhead weighs (and on a shared disk, how noisy it is). */
	if ((b->ops == &raw_sqlite_ops && strstr(b->uri, "synchronous=normal")) ||
	    (!b->is_odbc && b->server)) {
		backend other = *b;

		if (b->server) {
			no_sync_commit(other.uri, sizeof(other.uri));
			no_sync_commit(other.target, sizeof(other.target));
		} else {
			set_full_sync(other.uri);
			set_full_sync(other.target);
		}
		other.r = other.ops->connect(other.target);
		cat = open_catalog(&other);
		pair_open(&p, &other, cat, 1, "f", SIDE_MIMIC | SIDE_TYPED);
		measure(&p, &other, cat, n / 2, &m);
		report_commit(b, b->server ? "same, synchronous_commit=off" : "same, synchronous=full",
		              n / 2, m.ours, m.raw, m.mimic, 1, "");
		report_commit(b, "same, and typed adds", n / 2, m.typed, m.raw, m.mimic, 1, "");
		pair_close(&p, cat);
		dsql_catalog_free(cat);
		other.ops->close(other.r);
	}
	out("   row check: %s%s; %s%s\n", ok ? "" : "MISMATCH: ", why, ok_typed ? "" : "MISMATCH: ",
	    why_typed);
}

/* --- 2. multi-table commits --- */

void section_multi(backend *b)
{
	static const int sizes[] = {1, 2, 8, 32};
	static const char *const side_names[] = {"deltasql", "raw", "mimic", "typed adds"};
	const size_t ns = sizeof(sizes) / sizeof(sizes[0]);
	double y[4][4], sx = 0, sxx = 0, sy[4] = {0}, sxy[4] = {0}, slope[4];
	dsql_catalog *cat = open_catalog(b);

	out("\n2. Multi-table commits: 10 adds per table, 4 alternating rounds; typed: the same"
	    " adds\n   through dsql_txn_add_file\n"
	    "   %6s %8s %12s %10s %8s %9s %7s%s\n", "tables", "commits", "deltasql ms", "raw ms",
	    "ratio", "typed ms", "ratio", b->ops->mimic ? "   mimic ms  mimic/raw" : "");
	for (size_t s = 0; s < ns; s++) {
		int k = sizes[s], n = scaled(b, 1600) / k;
		char what[80];
		sides m;
		pair p;

		/* At least 10 commits per side and round: fewer let one slow fsync
		 * decide a server's figure. */
		if (n < 40)
			n = 40;
		pair_open(&p, b, cat, (size_t)k, "m", SIDE_MIMIC | SIDE_TYPED);
		measure(&p, b, cat, n, &m);
		pair_close(&p, cat);
		out("   %6d %8d %12.3f %10.3f %7.2fx %9.3f %6.2fx", k, n, m.ours, m.raw, m.ours / m.raw,
		    m.typed, m.typed / m.raw);
		if (b->ops->mimic)
			out(" %10.3f %9.2fx\n", m.mimic, m.mimic / m.raw);
		else
			out("\n");
		result_add(json_pack("{s:s, s:s, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:o}", "backend",
		                     b->name, "section", "multi_table", "tables", k, "commits", n,
		                     "deltasql_ms", m.ours, "raw_ms", m.raw, "ratio", m.ours / m.raw,
		                     "typed_ms", m.typed, "typed_ratio", m.typed / m.raw, "mimic_ms",
		                     b->ops->mimic ? json_real(m.mimic) : json_null()));
		if (k == 8 || k == 32) {
			snprintf(what, sizeof(what), "multi-table commit, %d tables, vs raw", k);
			target(b->name, what, m.ours / m.raw, 1.25, 1, "");
			snprintf(what, sizeof(what), "multi-table commit, %d tables, typed adds, vs raw", k);
			target(b->name, what, m.typed / m.raw, 1.25, 1, "");
		}
		y[0][s] = m.ours;
		y[1][s] = m.raw;
		y[2][s] = m.mimic;
		y[3][s] = m.typed;
		sx += k;
		sxx += (double)k * k;
		for (int i = 0; i < 4; i++) {
			sy[i] += y[i][s];
			sxy[i] += k * y[i][s];
		}
	}
	/* Least-squares slopes: the marginal cost of one more table. */
	for (int i = 0; i < 4; i++)
		slope[i] = (ns * sxy[i] - sx * sy[i]) / (ns * sxx - sx * sx);
	out("   marginal cost per extra table (least squares):");
	for (int i = 0; i < 4; i++)
		if (i != 2 || b->ops->mimic)
			out("%s %s %.3f ms", i ? "," : "", side_names[i], slope[i]);
	out(" (deltasql %.2fx, typed %.2fx of raw)\n", slope[0] / slope[1], slope[3] / slope[1]);
	result_add(json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:o}", "backend", b->name, "section",
	                     "multi_table_marginal", "deltasql_ms", slope[0], "raw_ms", slope[1],
	                     "ratio", slope[0] / slope[1], "typed_ms", slope[3], "mimic_ms",
	                     b->ops->mimic ? json_real(slope[2]) : json_null()));
	dsql_catalog_free(cat);
}

/* --- 3. snapshot load --- */

/* Commits a history through deltasql: the rows a real writer leaves. */
static void history_commit(dsql_catalog *cat, const char *name, const history *h)
{
	char path[64], line[WORK_LINE];
	dsql_error err;

	for (int64_t v = 1; v <= h->versions; v++) {
		dsql_txn *txn;
		int rc = dsql_txn_begin(&txn, cat, NULL, &err);

		for (int k = 0; k < h->adds && rc == DSQL_OK; k++) {
			history_path(path, sizeof(path), v, k);
			rc = dsql_txn_stage(txn, name, work_add_line(line, sizeof(line), path), &err);
		}
		for (int j = 0; v >= 2 && j < h->removes && rc == DSQL_OK; j++) {
			int64_t fv;
			int fk;

			history_removed_file(h, v, j, &fv, &fk);
			history_path(path, sizeof(path), fv, fk);
			rc = dsql_txn_stage(txn, name, work_remove_line(line, sizeof(line), path), &err);
		}
		if (rc == DSQL_OK)
			rc = dsql_txn_commit(txn, &err);
		if (rc != DSQL_OK)
			die("history", "version %lld: %s", (long long)v, err.message);
		dsql_txn_free(txn);
	}
}

/* The same history as raw bulk rows, exactly as the commits write them. */
static void history_bulk(const backend *b, int64_t table, const history *h)
{
	const raw_bulk_ops *o = b->bulk_ops->bulk;
	char path[64], line[WORK_LINE], body[WORK_LINE], txn[40];
	int64_t base = work_now_ms() + 1;
	raw *r = b->bulk_r;

	o->begin(r);
	for (int64_t v = 1; v <= h->versions; v++) {
		int removes = v >= 2 ? h->removes : 0;
		int64_t ms = base + v, seq = 1;

		work_txn_id(txn);
		o->txn(r, txn, ms);
		o->commit(r, table, v, txn, ms, h->adds, removes, removes == 0);
		o->action(r, table, v, 0, "commitInfo",
		          work_commit_info(line, sizeof(line), txn, ms, v - 1, removes == 0));
		for (int k = 0; k < h->adds; k++) {
			int64_t gone = history_removed_at(h, v, k);

			history_path(path, sizeof(path), v, k);
			o->action(r, table, v, seq++, "add", work_add_line(line, sizeof(line), path));
			o->file(r, table, path, v, gone ? gone : -1, 104857,
			        work_add_body(body, sizeof(body), path));
		}
		for (int j = 0; j < removes; j++) {
			int64_t fv;
			int fk;

			history_removed_file(h, v, j, &fv, &fk);
			history_path(path, sizeof(path), fv, fk);
			o->action(r, table, v, seq++, "remove", work_remove_line(line, sizeof(line), path));
		}
	}
	o->end(r, table, h->versions, base + h->versions);
}

/* The bulk builder writes what the commits wrote: checked once per
 * backend on a small history built both ways. */
static int bulk_matches(const backend *b, dsql_catalog *cat, const history *h, char *why,
                        size_t cap)
{
	static const char *const checks[][2] = {
		{"file rows", "SELECT COUNT(*) FROM dsql_file WHERE table_id = ?"},
		{"file versions", "SELECT SUM(added_version * 1000 + COALESCE(removed_version, 0))"
		                  " FROM dsql_file WHERE table_id = ?"},
		{"removed files", "SELECT COUNT(removed_version) FROM dsql_file WHERE table_id = ?"},
		{"file bytes", "SELECT SUM(LENGTH(body)) + SUM(LENGTH(path)) + SUM(size)"
		               " + SUM(LENGTH(dv_id)) FROM dsql_file WHERE table_id = ?"},
		{"action rows", "SELECT SUM(version * 1000 + seq) FROM dsql_action WHERE table_id = ?"
		                " AND version > 0"},
		{"action bytes", "SELECT SUM(LENGTH(body) * (seq + 1)) FROM dsql_action"
		                 " WHERE table_id = ? AND version > 0"},
		{"action kinds", "SELECT SUM(LENGTH(kind) * seq) FROM dsql_action WHERE table_id = ?"
		                 " AND version > 0"},
		{"commit rows", "SELECT SUM(version * 1000000 + n_adds * 10000 + n_removes * 100"
		                " + blind_append * 10 + data_change + LENGTH(operation))"
		                " FROM dsql_commit WHERE table_id = ? AND version > 0"},
		{"journal rows", "SELECT SUM(LENGTH(j.txn_id) + LENGTH(j.state) + LENGTH(j.isolation)"
		                 " + j.n_tables) FROM dsql_transaction j JOIN dsql_commit c"
		                 " ON c.txn_id = j.txn_id WHERE c.table_id = ? AND c.version > 0"},
		{"table row", "SELECT version * 10 + oldest_version FROM dsql_table WHERE id = ?"},
	};
	char names[2][64];
	int64_t ids[2];
	int ok = 1;

	create_tables(cat, "v", 2, names);
	history_commit(cat, names[0], h);
	ids[0] = b->bulk_ops->table_id(b->bulk_r, names[0]);
	ids[1] = b->bulk_ops->table_id(b->bulk_r, names[1]);
	history_bulk(b, ids[1], h);
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]) && ok; i++) {
		int64_t x = b->bulk_ops->scalar(b->bulk_r, checks[i][1], &ids[0], 1);
		int64_t y = b->bulk_ops->scalar(b->bulk_r, checks[i][1], &ids[1], 1);

		if (x != y || x == 0) {
			snprintf(why, cap, "%s differ: commits %lld, bulk %lld", checks[i][0],
			         (long long)x, (long long)y);
			ok = 0;
		}
	}
	drop_tables(cat, 2, names);
	return ok;
}

/* Commits of 10 new files + 2 removes of live files into a table with a
 * history: what a commit costs as the table grows. ms per commit. */
static double commit_into(dsql_catalog *cat, const char *name, const history *h, int n)
{
	char path[64], line[WORK_LINE];
	dsql_error err;
	double t0 = 0;

	for (int i = -3; i < n; i++) { /* 3 warm-up commits */
		dsql_txn *txn;
		int rc = dsql_txn_begin(&txn, cat, NULL, &err);

		for (int k = 0; k < WORK_ADDS && rc == DSQL_OK; k++) {
			snprintf(path, sizeof(path), "more-%06d-%02d.parquet", i + 3, k);
			rc = dsql_txn_stage(txn, name, work_add_line(line, sizeof(line), path), &err);
		}
		for (int j = 0; j < 2 && rc == DSQL_OK; j++) { /* never removed by the history */
			history_path(path, sizeof(path), 1 + (i + 3) % h->versions, 2 * h->removes + j);
			rc = dsql_txn_stage(txn, name, work_remove_line(line, sizeof(line), path), &err);
		}
		if (rc == DSQL_OK)
			rc = dsql_txn_commit(txn, &err);
		if (rc != DSQL_OK)
			die("commit into history", "%s", err.message);
		dsql_txn_free(txn);
		if (i == -1)
			t0 = now();
	}
	return (now() - t0) * 1000 / n;
}

static void load_pair(const backend *b, dsql_catalog *cat, const char *name, int64_t id,
                      int64_t version, int64_t expect, int reps, double *ours_ms,
                      double *raw_ms)
{
	double *o = calloc((size_t)reps, sizeof(double)), *r = calloc((size_t)reps, sizeof(double));
	dsql_error err;

	for (int i = -1; i < reps; i++) { /* i = -1: warm-up */
		dsql_snapshot *s;
		char **rows;
		size_t n;
		double t0 = now(), t1;

		if (dsql_snapshot_open(&s, cat, name, version, &err) != DSQL_OK)
			die("snapshot", "%s", err.message);
		t1 = now();
		if ((int64_t)dsql_snapshot_file_count(s) != expect)
			die("snapshot", "%zu live files, expected %lld", dsql_snapshot_file_count(s),
			    (long long)expect);
		dsql_snapshot_free(s);
		if (i >= 0)
			o[i] = t1 - t0;
		t0 = now();
		n = b->ops->select_files(b->r, id, version == DSQL_LATEST ? -1 : version, &rows);
		t1 = now();
		free_strings(rows, n);
		if ((int64_t)n != expect)
			die("raw select", "%zu live files, expected %lld", n, (long long)expect);
		if (i >= 0)
			r[i] = t1 - t0;
	}
	*ours_ms = median(o, (size_t)reps) * 1000;
	*raw_ms = median(r, (size_t)reps) * 1000;
	free(o);
	free(r);
}

static int count_change(const dsql_change *c, void *payload)
{
	(void)c;
	++*(int64_t *)payload;
	return 0;
}

/* The changes of a table's last 10 versions (dsql_changes): median ms over
 * reps, and how many changes they are (which must be 10 versions' adds and
 * removes, whatever the table's size). */
static double changes_last10(dsql_catalog *cat, const char *name, const history *h, int reps,
                             int64_t *n_out)
{
	double *t = calloc((size_t)reps, sizeof(double)), m;
	int64_t latest = h->versions;
	dsql_error err;

	for (int i = -1; i < reps; i++) { /* i = -1: warm-up */
		int64_t n = 0;
		double t0 = now();

		if (dsql_changes(NULL, cat, name, latest - 9, latest, count_change, &n, &err) !=
		    DSQL_OK)
			die("changes", "%s", err.message);
		if (i >= 0)
			t[i] = now() - t0;
		*n_out = n;
	}
	m = median(t, (size_t)reps) * 1000;
	free(t);
	return m;
}

void section_snapshot(backend *b)
{
	history sizes[3] = {{125, 10, 2}, {1250, 100, 20}, {12500, 100, 20}};
	dsql_catalog *cat = open_catalog(b);
	int n_sizes = opt.big ? 3 : 2, have_bulk = b->bulk_ops && b->bulk_ops->bulk;
	char why[256] = "";

	if (opt.quick)
		sizes[1].versions = 250; /* 20k files */
	out("\n3. Snapshot load: median of repeated loads, vs a raw SELECT of the same rows\n");
	if (have_bulk) {
		int ok = bulk_matches(b, cat, &(history){25, 10, 2}, why, sizeof(why));

		out("   tables over 1k files are bulk-loaded; rows checked against real commits: %s%s\n",
		    ok ? "identical" : "MISMATCH: ", why);
		if (!ok)
			n_sizes = 1;
	} else {
		out("   no bulk loader for this backend: only the committed 1k-file table\n");
		n_sizes = 1;
	}
	out("   %9s %8s %9s %5s %12s %12s %8s\n", "live", "history", "version", "reps", "deltasql ms",
	    "raw ms", "ratio");
	for (int s = 0; s < n_sizes; s++) {
		const history *h = &sizes[s];
		int64_t id, old = h->versions / 2;
		double t0 = now(), build, o, r;
		char names[1][64];
		int reps = s == 0 ? 30 : s == 1 ? 5 : 3;

		if (opt.quick && reps > 3)
			reps = s == 0 ? 10 : 3;
		create_tables(cat, "s", 1, names);
		id = b->ops->table_id(b->r, names[0]);
		if (s == 0)
			history_commit(cat, names[0], h);
		else
			history_bulk(b, b->bulk_ops == b->ops ? id : b->bulk_ops->table_id(b->bulk_r, names[0]),
			             h);
		build = now() - t0;
		for (int which = 0; which < 2; which++) {
			int64_t version = which ? old : DSQL_LATEST;
			int64_t live = history_live(h, which ? old : h->versions);
			char label[64], vtext[32];

			load_pair(b, cat, names[0], id, version, live, reps, &o, &r);
			snprintf(vtext, sizeof(vtext), "%s%lld", which ? "old " : "", (long long)(which ? old
			                                                                       : h->versions));
			out("   %9lld %8lld %9s %5d %12.3f %12.3f %7.2fx\n", (long long)live,
			    (long long)h->versions, vtext, reps, o, r, o / r);
			result_add(json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:i, s:f, s:f, s:f, s:f,"
			                     " s:s}", "backend", b->name, "section", "snapshot", "live_files",
			                     (json_int_t)live, "versions", (json_int_t)h->versions,
			                     "version", (json_int_t)(which ? old : h->versions), "which",
			                     which ? "old" : "latest", "reps", reps, "deltasql_ms", o,
			                     "raw_ms", r, "ratio", o / r, "build_s", build, "built_by",
			                     s == 0 ? "commits" : "bulk rows"));
			if (!which) {
				snprintf(label, sizeof(label), "latest snapshot, %lld files, vs raw SELECT",
				         (long long)live);
				target(b->name, label, o / r, 1.5, 1, "");
				if (s == 2 && !b->server && !b->is_odbc)
					target(b->name, "latest snapshot of 1M files, ms", o, 1000, 1,
					       "well under a second");
			}
		}
		{
			int64_t n_changes = 0;
			double c = changes_last10(cat, names[0], h, reps < 5 ? 5 : reps, &n_changes);

			out("   changes of the last 10 versions (%lld files): %.3f ms\n",
			    (long long)n_changes, c);
			result_add(json_pack("{s:s, s:s, s:I, s:I, s:I, s:f}", "backend", b->name,
			                     "section", "changes_last_10_versions", "live_files",
			                     (json_int_t)history_live(h, h->versions), "versions",
			                     (json_int_t)h->versions, "changes", (json_int_t)n_changes,
			                     "deltasql_ms", c));
		}
		{
			int n = s == 0 ? 100 : 30;
			double c = commit_into(cat, names[0], h, opt.quick ? n / 3 : n);

			out("   commit of 10 adds + 2 removes into it: %.3f ms (built in %.1f s by %s)\n", c,
			    build, s == 0 ? "deltasql commits" : "bulk rows");
			result_add(json_pack("{s:s, s:s, s:I, s:f}", "backend", b->name, "section",
			                     "commit_into_table", "live_files", (json_int_t)history_live(h,
			                     h->versions), "deltasql_ms", c));
		}
		/* A file catalog goes away at exit; dropping millions of rows
		 * would only cost time. A server's catalog is cleaned up. */
		if (s == 0 || b->server)
			drop_tables(cat, 1, names);
	}
	if (!opt.big)
		out("   1M files: --big (BENCH_ARGS=--big)\n");
	dsql_catalog_free(cat);
}

/* --- 5. conflict check and rebase --- */

void section_rebase(backend *b)
{
	static const int ks[] = {0, 1, 10, 100};
	dsql_catalog *cat = open_catalog(b);
	double base[2] = {0, 0};

	out("\n5. Conflict check and rebase: a commit of 10 adds read at version v, after K winning"
	    " commits of 10 adds\n   (blind append: no read set; whole table: read set covers every"
	    " file, WriteSerializable)\n   %-11s %4s %5s %12s %12s %8s %9s\n", "read set", "K",
	    "reps", "deltasql ms", "raw ms", "ratio", "vs K=0");
	for (int whole = 0; whole < 2; whole++)
		for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
			int k = ks[ki], reps = k >= 100 ? (opt.quick ? 3 : 5) : opt.quick ? 4 : 12;
			double *o = calloc((size_t)reps, sizeof(double));
			double *r = calloc((size_t)reps, sizeof(double)), mo, mr;
			dsql_error err;
			pair p;

			if (b->server && k >= 100)
				reps = 3;
			pair_open(&p, b, cat, 1, "k", 0);
			for (int i = 0; i < reps; i++) {
				dsql_txn *txn;
				int64_t read_v = p.raw_version;
				double t0;
				char path[64], line[WORK_LINE];
				int rc = dsql_txn_begin(&txn, cat, NULL, &err);

				if (rc == DSQL_OK)
					rc = dsql_txn_open_table(txn, p.ours[0], DSQL_LATEST, &err);
				if (rc == DSQL_OK && whole)
					rc = dsql_txn_read_whole_table(txn, p.ours[0], &err);
				for (int a = 0; a < WORK_ADDS && rc == DSQL_OK; a++) {
					snprintf(path, sizeof(path), "late-%d-%d.parquet", i, a);
					rc = dsql_txn_stage(txn, p.ours[0], work_add_line(line, sizeof(line), path),
					                    &err);
				}
				if (rc != DSQL_OK)
					die("rebase", "%s", err.message);
				run_ours(&p, cat, k);
				t0 = now();
				if (dsql_txn_commit(txn, &err) != DSQL_OK)
					die("rebase", "commit after %d winners: %s", k, err.message);
				o[i] = now() - t0;
				dsql_txn_free(txn);
				/* The raw client: the same winners, then its commit at the
				 * current version; a whole-table reader first fetches
				 * the winners' actions to check them by hand. */
				run_raw(&p, b, k);
				p.raw_version++;
				p.w->t[0].version = p.raw_version;
				p.w->t[0].read_version = read_v;
				work_fill(p.w, 'r', p.seq_raw++);
				t0 = now();
				if (whole)
					b->ops->select_actions(b->r, p.w->t[0].id, read_v, p.raw_version - 1);
				b->ops->commit(b->r, p.w);
				r[i] = now() - t0;
			}
			pair_close(&p, cat);
			mo = median(o, (size_t)reps) * 1000;
			mr = median(r, (size_t)reps) * 1000;
			if (k == 0)
				base[whole] = mo;
			out("   %-11s %4d %5d %12.3f %12.3f %7.2fx %8.2fx\n",
			    whole ? "whole table" : "blind", k, reps, mo, mr, mo / mr, mo / base[whole]);
			result_add(json_pack("{s:s, s:s, s:s, s:i, s:i, s:f, s:f, s:f, s:f}", "backend",
			                     b->name, "section", "rebase", "read_set",
			                     whole ? "whole_table" : "none", "winners", k, "reps", reps,
			                     "deltasql_ms", mo, "raw_ms", mr, "ratio", mo / mr,
			                     "vs_no_winners", mo / base[whole]));
			free(o);
			free(r);
		}
	dsql_catalog_free(cat);
}

/* --- 6. import/export --- */

static void write_log(const char *dir, const history *h)
{
	char path[700], file[64], line[WORK_LINE], txn[40];

	snprintf(path, sizeof(path), "%s/_delta_log", dir);
	if (mkdir(dir, 0755) != 0 || mkdir(path, 0755) != 0)
		die("import", "cannot create %s", path);
	for (int64_t v = 0; v <= h->versions; v++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/_delta_log/%020lld.json", dir, (long long)v);
		if (!(f = fopen(path, "w")))
			die("import", "cannot write %s", path);
		work_txn_id(txn);
		fprintf(f, "%s\n", work_commit_info(line, sizeof(line), txn, 1700000000000 + v, v - 1,
		                                    v < 2));
		if (v == 0)
			fprintf(f, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
			           "{\"metaData\":{\"id\":\"bench\",\"format\":{\"provider\":\"parquet\","
			           "\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
			           "\\\"fields\\\":[{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"long\\\","
			           "\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\",\"partitionColumns\":[],"
			           "\"configuration\":{},\"createdTime\":1700000000000}}\n");
		for (int k = 0; v > 0 && k < h->adds; k++) {
			history_path(file, sizeof(file), v, k);
			fprintf(f, "%s\n", work_add_line(line, sizeof(line), file));
		}
		for (int j = 0; v >= 2 && j < h->removes; j++) {
			int64_t fv;
			int fk;

			history_removed_file(h, v, j, &fv, &fk);
			history_path(file, sizeof(file), fv, fk);
			fprintf(f, "%s\n", work_remove_line(line, sizeof(line), file));
		}
		fclose(f);
	}
}

/* n commits of one add each to table name, in the time they took. */
static double one_add_commits(dsql_catalog *cat, const char *name, int from, int n)
{
	double t0 = now();
	dsql_error err;

	for (int i = from; i < from + n; i++) {
		char action[256];
		dsql_txn *txn = NULL;

		snprintf(action, sizeof(action),
		         "{\"add\":{\"path\":\"part-%06d.parquet\",\"partitionValues\":{},"
		         "\"size\":1000,\"modificationTime\":1,\"dataChange\":true}}",
		         i);
		if (dsql_txn_begin(&txn, cat, NULL, &err) != DSQL_OK ||
		    dsql_txn_stage(txn, name, action, &err) != DSQL_OK ||
		    dsql_txn_commit(txn, &err) != DSQL_OK)
			die("publication", "%s", err.message);
		dsql_txn_free(txn);
	}
	return now() - t0;
}

/* What publishing each commit's log file costs: commits to a table with a
 * local location, published and not (deltasql.publish=false), in
 * alternating rounds. */
static void publication_cost(const backend *b, dsql_catalog *cat)
{
	const char *off_props[] = {"deltasql.publish", "false", NULL};
	int n = opt.quick ? 200 : 1000, rounds = 4;
	double on = 0, off = 0;
	char name[2][64], loc[2][700];
	dsql_metrics m;
	dsql_error err;

	for (int k = 0; k < 2; k++) {
		dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;

		snprintf(name[k], 64, "b%d_publish_%s", (int)getpid(), k ? "off" : "on");
		/* One location per backend: each run's table writes a log of its own. */
		snprintf(loc[k], sizeof(loc[k]), "%s/%s-%s", work_dir(), name[k], b->name);
		if (mkdir(loc[k], 0755) != 0 && errno != EEXIST)
			die("publication", "cannot create %s", loc[k]);
		o.location = loc[k];
		o.properties = k ? off_props : NULL;
		if (dsql_table_create(cat, name[k], &o, &err) != DSQL_OK)
			die("publication", "%s", err.message);
	}
	for (int r = 0; r < rounds; r++) {
		on += one_add_commits(cat, name[0], r * n / rounds, n / rounds);
		off += one_add_commits(cat, name[1], r * n / rounds, n / rounds);
	}
	dsql_catalog_metrics(cat, &m, sizeof(m));
	out("   publication: %d commits of one add, log published %.3f ms/commit, not published"
	    " %.3f ms/commit (ratio %.2f; %llu files, %llu failures)\n",
	    n, on * 1000 / n, off * 1000 / n, on / off, (unsigned long long)m.published_files,
	    (unsigned long long)m.publish_failures);
	result_add(json_pack("{s:s, s:s, s:i, s:f, s:f, s:f}", "backend", b->name, "section",
	                     "publication", "commits", n, "published_ms", on * 1000 / n,
	                     "unpublished_ms", off * 1000 / n, "ratio", on / off));
	drop_tables(cat, 2, name);
}

/* The rows an import of the log writes for versions 1..h->versions, as
 * one transaction of the raw client (one journal row, as the import's one
 * transaction writes), into table. */
static void import_bulk(const backend *b, int64_t table, const history *h)
{
	const raw_bulk_ops *o = b->bulk_ops->bulk;
	char path[64], line[WORK_LINE], body[WORK_LINE], txn[40];
	raw *r = b->bulk_r;

	o->begin(r);
	work_txn_id(txn);
	o->txn(r, txn, work_now_ms());
	for (int64_t v = 1; v <= h->versions; v++) {
		int removes = v >= 2 ? h->removes : 0;
		int64_t ms = 1700000000000 + v, seq = 1;

		o->commit(r, table, v, txn, ms, h->adds, removes, removes == 0);
		o->action(r, table, v, 0, "commitInfo",
		          work_commit_info(line, sizeof(line), txn, ms, v - 1, v < 2));
		for (int k = 0; k < h->adds; k++) {
			int64_t gone = history_removed_at(h, v, k);

			history_path(path, sizeof(path), v, k);
			o->action(r, table, v, seq++, "add", work_add_line(line, sizeof(line), path));
			o->file(r, table, path, v, gone ? gone : -1, 104857,
			        work_add_body(body, sizeof(body), path));
		}
		for (int j = 0; j < removes; j++) {
			int64_t fv;
			int fk;

			history_removed_file(h, v, j, &fv, &fk);
			history_path(path, sizeof(path), fv, fk);
			o->action(r, table, v, seq++, "remove", work_remove_line(line, sizeof(line), path));
		}
	}
	o->end(r, table, h->versions, 1700000000000 + h->versions);
}

/* Import of a log of 20,000 small commits (commitInfo and one add each, as
 * a streaming writer leaves them), against the raw client inserting the
 * same rows in one transaction; then export. */
void section_import(backend *b)
{
	history h = {scaled(b, 20000) - 1, 1, 0};
	dsql_catalog *cat;
	dsql_error err;
	char dir[600], outdir[700], name[1][64], raw_name[1][64];
	int64_t written = 0, actions = 3 + h.versions * (1 + h.adds) + (h.versions - 1) * h.removes;
	double t0, t_in, t_out, t_raw = 0;
	int have_bulk = b->bulk_ops && b->bulk_ops->bulk;

	snprintf(dir, sizeof(dir), "%s/import-%s", work_dir(), b->name);
	snprintf(outdir, sizeof(outdir), "%s-out", dir);
	write_log(dir, &h);
	cat = open_catalog(b);
	snprintf(name[0], 64, "b%d_import", (int)getpid());
	t0 = now();
	if (dsql_delta_import(cat, name[0], dir, NULL, NULL, &err) != DSQL_OK)
		die("import", "%s", err.message);
	t_in = now() - t0;
	if (have_bulk) {
		create_tables(cat, "ir", 1, raw_name);
		t0 = now();
		import_bulk(b, b->bulk_ops->table_id(b->bulk_r, raw_name[0]), &h);
		t_raw = now() - t0;
		drop_tables(cat, 1, raw_name);
	}
	t0 = now();
	if (dsql_delta_export(cat, name[0], outdir, 0, &written, NULL, NULL, &err) != DSQL_OK)
		die("export", "%s", err.message);
	t_out = now() - t0;
	out("\n6. Import/export (include/deltasql/delta.h) of a _delta_log of %lld versions,"
	    " %lld actions\n   import %9.0f actions/s  %8.0f versions/s  (%.2f s)\n",
	    (long long)h.versions + 1, (long long)actions, actions / t_in, (h.versions + 1) / t_in,
	    t_in);
	if (have_bulk)
		out("   raw    %9.0f actions/s  %8.0f versions/s  (%.2f s: the same rows, one "
		    "transaction)  import/raw %.2fx\n",
		    actions / t_raw, (h.versions + 1) / t_raw, t_raw, t_in / t_raw);
	out("   export %9.0f actions/s  %8.0f versions/s  (%.2f s, %lld files)\n",
	    actions / t_out, (h.versions + 1) / t_out, t_out, (long long)written);
	result_add(json_pack("{s:s, s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "backend",
	                     b->name, "section", "import_export", "versions",
	                     (json_int_t)h.versions + 1, "actions", (json_int_t)actions, "import_s",
	                     t_in, "import_actions_per_s", actions / t_in, "raw_s", t_raw,
	                     "import_vs_raw", have_bulk ? t_in / t_raw : 0.0, "export_s", t_out,
	                     "export_actions_per_s", actions / t_out));
	if (!opt.quick && b->ops == &raw_sqlite_ops)
		target(b->name, "import of a 20,000-commit log (s)", t_in, 2.0, 1, "");
	drop_tables(cat, 1, name);
	publication_cost(b, cat);
	dsql_catalog_free(cat);
}
