/*
 * Retention: expiry keeps every retained snapshot identical and refuses
 * expired ones; vacuum never lists a file a retained version references.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void commit_actions(dsql_catalog *cat, const char *t, char *a1, char *a2)
{
	dsql_txn *txn;
	dsql_error err;

	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	if (a1)
		OK(stage(txn, t, a1, &err));
	if (a2)
		OK(stage(txn, t, a2, &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
}

typedef struct listing {
	char paths[64][64];
	int n;
} listing;

static int vacuum_cb(const char *path, int64_t removed_ms, int deleted, void *payload)
{
	listing *l = payload;

	(void)removed_ms;
	(void)deleted;
	ck_assert_int_lt(l->n, 64);
	snprintf(l->paths[l->n++], sizeof(l->paths[0]), "%s", path);
	return 0;
}

/* v0 create; v1 +a; v2 +b; v3 -a +c; v4 +a again (re-add); v5 -b; v6 +d. */
static void build_history(dsql_catalog *cat, const char *t)
{
	create(cat, t, 0);
	commit_actions(cat, t, add_json("a", 1, NULL), NULL);
	commit_actions(cat, t, add_json("b", 1, NULL), strdup("{\"txn\":{\"appId\":\"etl\",\"version\":1}}"));
	commit_actions(cat, t, remove_json("a"), add_json("c", 1, NULL));
	commit_actions(cat, t, add_json("a", 1, NULL), strdup("{\"txn\":{\"appId\":\"etl\",\"version\":2}}"));
	commit_actions(cat, t, remove_json("b"), NULL);
	commit_actions(cat, t, add_json("d", 1, NULL), NULL);
}

START_TEST(expire_keeps_retained_snapshots_identical)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("exp");
	dsql_expire_options o = DSQL_EXPIRE_OPTIONS_INIT;
	dsql_expire_result r;
	dsql_snapshot *s;
	char *before[7];
	listing l = {.n = 0};
	dsql_error err;
	int64_t v;

	build_history(cat, t);
	for (int i = 0; i <= 6; i++)
		before[i] = paths_at(cat, t, i);
	/* A dry run changes nothing. */
	o.keep_versions = 3;
	o.dry_run = 1;
	OK(dsql_table_expire(cat, t, &o, &r, &err));
	ck_assert_int_eq(r.oldest_version, 4);
	ck_assert_int_eq(r.versions_expired, 4);
	ck_assert_int_gt(r.actions_removed, 0);
	assert_paths(cat, t, 0, before[0]);
	/* Keep versions 4..6. */
	o.dry_run = 0;
	OK(dsql_table_expire(cat, t, &o, &r, &err));
	ck_assert_int_eq(r.oldest_version, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(dsql_snapshot_open(&s, cat, t, i, &err), DSQL_ENOTFOUND);
		ck_assert_msg(strstr(err.message, "expired"), "%s", err.message);
	}
	for (int i = 4; i <= 6; i++)
		assert_paths(cat, t, i, before[i]);
	/* History, protocol, metadata and app txns survive. */
	ck_assert_int_eq(history_len(cat, t), 7);
	OK(dsql_snapshot_open(&s, cat, t, 4, &err));
	ck_assert(strstr(dsql_snapshot_metadata_json(s), "schemaString"));
	ck_assert(strstr(dsql_snapshot_protocol_json(s), "minReaderVersion"));
	ck_assert_uint_eq(dsql_snapshot_app_txn_count(s), 1);
	dsql_snapshot_app_txn(s, 0, &v);
	ck_assert_int_eq(v, 2);
	dsql_snapshot_free(s);
	/* Expiring again to the same point is a no-op. */
	OK(dsql_table_expire(cat, t, &o, &r, &err));
	ck_assert_int_eq(r.versions_expired, 0);
	/* Vacuum: "a" was re-added (live), "b" is referenced by version 4;
	 * nothing is removable yet. */
	OK(dsql_table_vacuum(cat, t, 0, 0, vacuum_cb, &l, &err));
	ck_assert_int_eq(l.n, 0);
	/* Keep only the latest: "b" becomes removable; "a", "c", "d" never. */
	o.keep_versions = 1;
	OK(dsql_table_expire(cat, t, &o, &r, &err));
	ck_assert_int_eq(r.oldest_version, 6);
	usleep(30000); /* commit times may run a few ms ahead of the clock */
	OK(dsql_table_vacuum(cat, t, 0, 0, vacuum_cb, &l, &err));
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.paths[0], "b");
	/* With a long retention period it is not listed yet. */
	l.n = 0;
	OK(dsql_table_vacuum(cat, t, 3600 * 1000, 0, vacuum_cb, &l, &err));
	ck_assert_int_eq(l.n, 0);
	assert_paths(cat, t, DSQL_LATEST, before[6]);
	for (int i = 0; i <= 6; i++)
		free(before[i]);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(expired_read_version_is_rejected)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("expread");
	dsql_expire_options o = DSQL_EXPIRE_OPTIONS_INIT;
	dsql_txn *txn;
	dsql_error err;

	build_history(cat, t);
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_open_table(txn, t, 2, &err));
	OK(stage(txn, t, add_json("late", 1, NULL), &err));
	o.keep_versions = 2;
	OK(dsql_table_expire(cat, t, &o, NULL, &err));
	ck_assert_int_eq(dsql_txn_commit(txn, &err), DSQL_ECONFLICT);
	ck_assert_str_eq(err.conflict.rule, "read_version_expired");
	ck_assert(strstr(err.message, "expired"));
	dsql_txn_free(txn);
	ck_assert_int_eq(version_of(cat, t), 6);
	dsql_catalog_free(cat);
}
END_TEST

START_TEST(expire_limits)
{
	dsql_catalog *cat = open_cat();
	const char *one = tname("one"), *t = tname("lim");
	dsql_expire_options o = DSQL_EXPIRE_OPTIONS_INIT;
	dsql_expire_result r;
	dsql_snapshot *s;
	dsql_error err;

	/* A table with one version: nothing to expire, whatever is asked. */
	create(cat, one, 0);
	o.keep_versions = 1;
	OK(dsql_table_expire(cat, one, &o, &r, &err));
	ck_assert_int_eq(r.oldest_version, 0);
	ck_assert_int_eq(r.versions_expired, 0);
	/* The default (30 days): nothing this young expires. */
	build_history(cat, t);
	OK(dsql_table_expire(cat, t, NULL, &r, &err));
	ck_assert_int_eq(r.versions_expired, 0);
	/* Retention 0: everything before now goes but the latest. */
	o.keep_versions = 0;
	o.before_ms = 4102444800000LL; /* 2100 */
	OK(dsql_table_expire(cat, t, &o, &r, &err));
	ck_assert_int_eq(r.oldest_version, 6);
	OK(dsql_snapshot_open_at(&s, cat, t, 4102444800000LL, &err));
	ck_assert_int_eq(dsql_snapshot_version(s), 6);
	dsql_snapshot_free(s);
	ck_assert_int_eq(dsql_snapshot_open_at(&s, cat, t, 1, &err), DSQL_ENOTFOUND);
	/* Both kinds of cut-off at once are refused. */
	o.keep_versions = 2;
	ck_assert_int_eq(dsql_table_expire(cat, t, &o, &r, &err), DSQL_EINVALID);
	ck_assert_int_eq(dsql_table_expire(cat, "no_such_tbl", NULL, &r, &err), DSQL_ENOTFOUND);
	dsql_catalog_free(cat);
}
END_TEST

/* Expire and vacuum while another process commits removes and re-adds of
 * the same few paths: no retained snapshot changes, no live file is ever
 * listed. */
START_TEST(expire_and_vacuum_race_commits)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("race_ret");
	dsql_expire_options o = DSQL_EXPIRE_OPTIONS_INIT;
	int status;
	pid_t pid;

	create(cat, t, 0);
	commit_actions(cat, t, add_json("p0", 1, NULL), add_json("p1", 1, NULL));
	pid = fork();
	if (pid == 0) {
		dsql_catalog *c = NULL;
		dsql_error err;

		if (dsql_catalog_open(&c, scn_uri, NULL, &err))
			_exit(10);
		for (int k = 0; k < 40; k++) {
			dsql_txn *txn;
			char path[16];
			int rc;

			/* Toggle p(k%3): remove it if live, add it if not. */
			snprintf(path, sizeof(path), "p%d", k % 3);
			if (dsql_txn_begin(&txn, c, NULL, &err))
				_exit(11);
			rc = stage(txn, t, remove_json(path), &err);
			if (rc == DSQL_OK)
				rc = dsql_txn_commit(txn, &err);
			dsql_txn_free(txn);
			if (rc != DSQL_OK) {
				if (dsql_txn_begin(&txn, c, NULL, &err) ||
				    stage(txn, t, add_json(path, 1, NULL), &err))
					_exit(12);
				rc = dsql_txn_commit(txn, &err);
				dsql_txn_free(txn);
			}
			if (rc != DSQL_OK && rc != DSQL_ECONFLICT)
				_exit(13);
		}
		dsql_catalog_free(c);
		_exit(0);
	}
	for (int round = 0; round < 20; round++) {
		dsql_expire_result r;
		listing l = {.n = 0};
		dsql_error err;
		/* Versions up to here existed before the vacuum: none of them may
		 * reference a listed file (later re-adds are fine). */
		int64_t latest = version_of(cat, t);

		o.keep_versions = 3;
		OK(dsql_table_expire(cat, t, &o, &r, &err));
		OK(dsql_table_vacuum(cat, t, 0, 0, vacuum_cb, &l, &err));
		/* No listed path is live in any retained version. */
		for (int64_t v = r.oldest_version; v <= latest; v++) {
			dsql_snapshot *s;

			if (dsql_snapshot_open(&s, cat, t, v, &err) != DSQL_OK)
				continue; /* expired meanwhile by nobody else: cannot happen */
			for (size_t i = 0; i < dsql_snapshot_file_count(s); i++)
				for (int j = 0; j < l.n; j++) {
					char needle[80];

					snprintf(needle, sizeof(needle), "\"path\":\"%s\"", l.paths[j]);
					ck_assert_msg(!strstr(dsql_snapshot_file_json(s, i), needle),
					              "vacuum listed %s, live at version %lld", l.paths[j],
					              (long long)v);
				}
			dsql_snapshot_free(s);
		}
		usleep(10000);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	history_len(cat, t); /* contiguous */
	dsql_catalog_free(cat);
}
END_TEST

/* Deletion vectors and forgotten application ids. */
START_TEST(expire_with_deletion_vectors_and_app_txn_retention)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("dvret");
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	const char *props[] = {"delta.setTransactionRetentionDuration", "interval 1 hour", NULL};
	dsql_expire_options e = DSQL_EXPIRE_OPTIONS_INIT;
	listing l = {.n = 0};
	dsql_snapshot *s;
	dsql_txn *txn;
	dsql_error err;
	char *before;
	char txn_old[128], txn_new[128];
	long long now_ms = (long long)time(NULL) * 1000;

	o.properties = props;
	OK(dsql_table_create(cat, t, &o, &err));
	enable_deletion_vectors(cat, t); /* version 1 */
	snprintf(txn_old, sizeof(txn_old), "{\"txn\":{\"appId\":\"old\",\"version\":1,\"lastUpdated\":1}}");
	snprintf(txn_new, sizeof(txn_new), "{\"txn\":{\"appId\":\"new\",\"version\":1,\"lastUpdated\":%lld}}",
	         now_ms);
	/* v2: f with DV u1; v3: f moves to DV u2 (remove + add, same path). */
	commit_actions(cat, t, strdup("{\"add\":{\"path\":\"f\",\"partitionValues\":{},\"size\":1,"
	                              "\"modificationTime\":1,\"dataChange\":true,\"deletionVector\":"
	                              "{\"storageType\":\"u\",\"pathOrInlineDv\":\"u1\",\"sizeInBytes\":1,"
	                              "\"cardinality\":1}}}"),
	               strdup(txn_old));
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	OK(dsql_txn_stage(txn, t, "{\"remove\":{\"path\":\"f\",\"dataChange\":true,\"deletionVector\":"
	                          "{\"storageType\":\"u\",\"pathOrInlineDv\":\"u1\",\"sizeInBytes\":1,"
	                          "\"cardinality\":1}}}", &err));
	OK(dsql_txn_stage(txn, t, "{\"add\":{\"path\":\"f\",\"partitionValues\":{},\"size\":1,"
	                          "\"modificationTime\":1,\"dataChange\":true,\"deletionVector\":"
	                          "{\"storageType\":\"u\",\"pathOrInlineDv\":\"u2\",\"sizeInBytes\":1,"
	                          "\"cardinality\":2}}}", &err));
	OK(dsql_txn_stage(txn, t, txn_new, &err));
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	before = paths_at(cat, t, 3);
	e.keep_versions = 1;
	OK(dsql_table_expire(cat, t, &e, NULL, &err));
	assert_paths(cat, t, 3, before);
	usleep(30000);
	OK(dsql_table_vacuum(cat, t, 0, 0, vacuum_cb, &l, &err));
	ck_assert_int_eq(l.n, 0); /* "f" is live (under its new DV): never listed */
	OK(dsql_snapshot_open(&s, cat, t, DSQL_LATEST, &err));
	ck_assert_uint_eq(dsql_snapshot_file_count(s), 1);
	ck_assert(strstr(dsql_snapshot_file_json(s, 0), "u2"));
	/* "old" was last updated long before the hour the table keeps app ids. */
	ck_assert_uint_eq(dsql_snapshot_app_txn_count(s), 1);
	ck_assert_str_eq(dsql_snapshot_app_txn(s, 0, NULL), "new");
	dsql_snapshot_free(s);
	free(before);
	dsql_catalog_free(cat);
}
END_TEST


/* Retention values that do not fit in 64-bit milliseconds are refused,
 * never wrapped into "keep nothing"; the largest that fits keeps all. */
START_TEST(retention_out_of_range_is_refused)
{
	static const char *const too_long[] = {"interval 99999999999999999999 days",
	                                       "interval 106751991168 days"};
	dsql_catalog *cat = open_cat();
	dsql_expire_result r;
	dsql_snapshot *s;
	dsql_error err;

	for (size_t i = 0; i < 3; i++) {
		const char *props[] = {"delta.logRetentionDuration",
		                       i < 2 ? too_long[i] : "interval 106751991167 days", NULL};
		dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
		const char *t = tname("range");

		o.properties = props;
		OK(dsql_table_create(cat, t, &o, &err));
		ck_assert_int_eq(commit_add(cat, t, "a"), 1);
		ck_assert_int_eq(commit_add(cat, t, "b"), 2);
		if (i < 2) {
			ck_assert_int_eq(dsql_table_expire(cat, t, NULL, &r, &err), DSQL_EINVALID);
			ck_assert_msg(strstr(err.message, "out of range") &&
			                  strstr(err.message, "delta.logRetentionDuration"),
			              "%s", err.message);
		} else {
			OK(dsql_table_expire(cat, t, NULL, &r, &err));
			ck_assert_int_eq(r.versions_expired, 0);
		}
		OK(dsql_snapshot_open(&s, cat, t, 0, &err));
		dsql_snapshot_free(s);
	}
	dsql_catalog_free(cat);
}
END_TEST


static void touch_file(const char *dir, const char *name)
{
	char path[1000];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_msg((f = fopen(path, "w")) != NULL, "cannot create %s", path);
	fclose(f);
}

static int exists(const char *dir, const char *name)
{
	char path[1000];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

static void commit_one(dsql_catalog *cat, const char *t, char *action)
{
	commit_actions(cat, t, action, NULL);
}

/* A table whose location is a fresh directory (returned, malloc'd). */
static char *located_table(dsql_catalog *cat, const char *t)
{
	dsql_table_options o = DSQL_TABLE_OPTIONS_INIT;
	char tmpl[] = "/tmp/dsqlconf-vacuum.XXXXXX", *dir;
	dsql_error err;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_ptr_nonnull(dir = realpath(tmpl, NULL));
	o.schema_json = schema_xy;
	o.location = dir;
	OK(dsql_table_create(cat, t, &o, &err));
	return dir;
}

static void expire_and_vacuum(dsql_catalog *cat, const char *t)
{
	dsql_expire_options e = DSQL_EXPIRE_OPTIONS_INIT;
	dsql_error err;

	e.keep_versions = 1;
	OK(dsql_table_expire(cat, t, &e, NULL, &err));
	usleep(30000);
	OK(dsql_table_vacuum(cat, t, 0, 1, NULL, NULL, &err));
}

/* vacuum --delete deletes no file a retained version references, under
 * any spelling: paths are canonical from staging on ("./a" and "a",
 * "b%2Eparquet" and "b.parquet" are one file), an absolute spelling of a
 * live file keeps it, a symbolic link is deleted itself (never its
 * target), and a path through a linked directory is not followed. %00
 * and invalid escapes are refused at staging. */
START_TEST(vacuum_deletes_no_live_file_under_any_spelling)
{
	dsql_catalog *cat = open_cat();
	const char *t = tname("spell");
	char *dir = located_table(cat, t), out[900], path[900], sub[900];
	dsql_txn *txn;
	dsql_error err;

	snprintf(out, sizeof(out), "%s-outside", dir);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	touch_file(out, "e.parquet");
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	ck_assert_int_eq(symlink(out, sub), 0);
	touch_file(dir, "a.parquet");
	touch_file(dir, "b.parquet");
	touch_file(dir, "d.parquet");
	touch_file(dir, "f.parquet");
	snprintf(path, sizeof(path), "%s/dlink.parquet", dir);
	ck_assert_int_eq(symlink("d.parquet", path), 0);

	commit_one(cat, t, add_json("./a.parquet", 1, NULL));
	commit_one(cat, t, add_json("a.parquet", 1, NULL));
	commit_one(cat, t, remove_json("./a.parquet"));
	commit_one(cat, t, add_json("b%2Eparquet", 1, NULL));
	commit_one(cat, t, remove_json("b%2Eparquet"));
	commit_one(cat, t, add_json("b.parquet", 1, NULL));
	commit_actions(cat, t, add_json("dlink.parquet", 1, NULL), add_json("d.parquet", 1, NULL));
	commit_one(cat, t, remove_json("dlink.parquet"));
	commit_one(cat, t, add_json("f.parquet", 1, NULL));
	commit_one(cat, t, remove_json("f.parquet"));
	snprintf(path, sizeof(path), "file://%s/f.parquet", dir);
	commit_one(cat, t, add_json(path, 1, NULL));
	commit_one(cat, t, add_json("sub/e.parquet", 1, NULL));
	commit_one(cat, t, remove_json("sub/e.parquet"));
	expire_and_vacuum(cat, t);
	ck_assert_msg(exists(dir, "b.parquet"), "live b.parquet deleted (as b%%2Eparquet)");
	ck_assert_msg(exists(dir, "d.parquet"), "live d.parquet deleted through a symlink");
	ck_assert_msg(exists(dir, "f.parquet"), "f.parquet, live as file://.../f.parquet, deleted");
	ck_assert_msg(exists(out, "e.parquet"), "a file outside the location was deleted");
	/* What no retained version references went. */
	ck_assert_msg(!exists(dir, "a.parquet"), "removed a.parquet was kept");
	ck_assert_msg(!exists(dir, "dlink.parquet"), "the removed link was kept");
	/* Refused at staging, naming the path. */
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	ck_assert_int_eq(stage(txn, t, add_json("c.parquet%00junk", 1, NULL), &err), DSQL_EINVALID);
	ck_assert_msg(strstr(err.message, "c.parquet%00junk") && strstr(err.message, "%00"), "%s",
	              err.message);
	ck_assert_int_eq(stage(txn, t, add_json("c%zz.parquet", 1, NULL), &err), DSQL_EINVALID);
	ck_assert_int_eq(stage(txn, t, add_json("c%2.parquet", 1, NULL), &err), DSQL_EINVALID);
	dsql_txn_free(txn);

	{
		char *live = paths_at(cat, t, version_of(cat, t));

		snprintf(path, sizeof(path), "b.parquet,d.parquet,file://%s/f.parquet", dir);
		ck_assert_str_eq(live, path);
		free(live);
	}
	free(dir);
	dsql_catalog_free(cat);
}
END_TEST

typedef struct swapper {
	char a[900], b[900];
	volatile int stop;
	int swaps;
} swapper;

static void *swap_loop(void *arg)
{
	swapper *w = arg;

	while (!w->stop)
		w->swaps += syscall(SYS_renameat2, AT_FDCWD, w->a, AT_FDCWD, w->b, RENAME_EXCHANGE) == 0;
	return NULL;
}

/* A directory of the location swapped for a symbolic link to a directory
 * outside, over and over, while vacuum deletes the files in it: nothing
 * outside is ever deleted (deletion walks from the location's descriptor
 * with O_NOFOLLOW, never by a path resolved again). */
START_TEST(vacuum_never_follows_a_swapped_directory)
{
	enum { FILES = 1000 };
	dsql_catalog *cat = open_cat();
	const char *t = tname("swap");
	char *dir = located_table(cat, t), out[900], name[64];
	swapper w = {.stop = 0};
	pthread_t th;
	dsql_txn *txn;
	dsql_error err;
	int kept = 0;

	snprintf(out, sizeof(out), "%s-outside", dir);
	snprintf(w.a, sizeof(w.a), "%s/race", dir);
	snprintf(w.b, sizeof(w.b), "%s/race-link", dir);
	ck_assert_int_eq(mkdir(out, 0755) == 0 && mkdir(w.a, 0755) == 0, 1);
	ck_assert_int_eq(symlink(out, w.b), 0);
	for (int pass = 0; pass < 2; pass++) {
		OK(dsql_txn_begin(&txn, cat, NULL, &err));
		for (int i = 0; i < FILES; i++) {
			snprintf(name, sizeof(name), "r%03d.parquet", i);
			touch_file(pass ? out : w.a, name);
			if (pass)
				continue;
			snprintf(name, sizeof(name), "race/r%03d.parquet", i);
			OK(stage(txn, t, add_json(name, 1, NULL), &err));
		}
		if (pass == 0)
			ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
		dsql_txn_free(txn);
	}
	OK(dsql_txn_begin(&txn, cat, NULL, &err));
	for (int i = 0; i < FILES; i++) {
		snprintf(name, sizeof(name), "race/r%03d.parquet", i);
		OK(stage(txn, t, remove_json(name), &err));
	}
	ck_assert_msg(dsql_txn_commit(txn, &err) == DSQL_OK, "%s", err.message);
	dsql_txn_free(txn);
	ck_assert_int_eq(pthread_create(&th, NULL, swap_loop, &w), 0);
	expire_and_vacuum(cat, t);
	w.stop = 1;
	pthread_join(th, NULL);
	ck_assert_int_gt(w.swaps, 0);
	for (int i = 0; i < FILES; i++) {
		snprintf(name, sizeof(name), "r%03d.parquet", i);
		kept += exists(out, name);
	}
	ck_assert_msg(kept == FILES, "%d files outside the location deleted", FILES - kept);
	free(dir);
	dsql_catalog_free(cat);
}
END_TEST

void retention_cases(Suite *s)
{
	TCase *tc = tcase_create("retention");

	tcase_add_test(tc, expire_keeps_retained_snapshots_identical);
	tcase_add_test(tc, expired_read_version_is_rejected);
	tcase_add_test(tc, expire_limits);
	tcase_add_test(tc, retention_out_of_range_is_refused);
	tcase_add_test(tc, vacuum_deletes_no_live_file_under_any_spelling);
	tcase_add_test(tc, vacuum_never_follows_a_swapped_directory);
	tcase_add_test(tc, expire_with_deletion_vectors_and_app_txn_retention);
	tcase_add_test(tc, expire_and_vacuum_race_commits);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
}
