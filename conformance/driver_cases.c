/*
 * Driver-level conformance: what the core relies on from a driver, through
 * the vtable alone: binding and reading every type, row counts, rollback,
 * error classification, and two connections writing the same row.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <deltasql/driver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const dsql_driver *drv(void)
{
	const dsql_driver *d = dsql_driver_find(scn_uri);

	ck_assert_msg(d != NULL, "no driver for %s", scn_uri);
	return d;
}

static dsql_driver_conn *conn(void)
{
	dsql_driver_conn *c = NULL;
	dsql_error err;

	ck_assert_msg(drv()->connect(&c, scn_uri, &err) == DSQL_OK, "connect: %s", err.message);
	return c;
}

/* Whether a connection to the URI has a dialect (ABI 4) that makes the
 * live-file key unique. Called while the suite is built: the connection is
 * closed before any test forks. */
static int makes_unique_live_key(void)
{
	const dsql_driver *d = dsql_driver_find(scn_uri);
	dsql_driver_conn *c = NULL;
	const dsql_dialect *dl;
	dsql_error err;
	int yes;

	if (!d || d->abi_version < 4 || !d->dialect || d->connect(&c, scn_uri, &err) != DSQL_OK)
		return 0; /* the other tests will say why */
	dl = d->dialect(c);
	yes = dl && dl->unique_live_key;
	d->disconnect(c);
	return yes;
}

/* A type name of the connection's dialect (ABI 4), or the portable
 * default the core would use: application tables are written in the
 * database's own types, as an application would write them. */
static const char *dialect_type(dsql_driver_conn *c, int bytes)
{
	const dsql_driver *d = drv();
	const dsql_dialect *dl = d->abi_version >= 4 && d->dialect ? d->dialect(c) : NULL;
	const char *name = dl ? (bytes ? dl->bytes_type : dl->text_type) : NULL;

	return name ? name : bytes ? "BLOB" : "TEXT";
}

/* Runs a statement without parameters to completion. */
static int exec(dsql_driver_conn *c, const char *sql, dsql_error *err)
{
	dsql_driver_stmt *s;
	int rc = drv()->prepare(&s, c, sql, err);

	if (rc != DSQL_OK)
		return rc;
	while ((rc = drv()->step(s, err)) == DSQL_ROW)
		;
	drv()->finalize(s);
	return rc == DSQL_DONE ? DSQL_OK : rc;
}

static void must_exec(dsql_driver_conn *c, const char *sql)
{
	dsql_error err;

	ck_assert_msg(exec(c, sql, &err) == DSQL_OK, "%s: %s", sql, err.message);
}

static int64_t count(dsql_driver_conn *c, const char *table)
{
	char sql[160];
	dsql_driver_stmt *s;
	dsql_error err;
	int64_t n;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	ck_assert_int_eq(drv()->prepare(&s, c, sql, &err), DSQL_OK);
	ck_assert_int_eq(drv()->step(s, &err), DSQL_ROW);
	n = drv()->column_int64(s, 0);
	drv()->finalize(s);
	return n;
}

/* A scratch table: k TEXT-ish primary key, v BIGINT. */
static const char *scratch(dsql_driver_conn *c)
{
	static char name[64];
	char sql[200];

	snprintf(name, sizeof(name), "%s", tname("drv"));
	snprintf(sql, sizeof(sql), "CREATE TABLE %s (k VARCHAR(200) PRIMARY KEY, v BIGINT)", name);
	must_exec(c, sql);
	return name;
}

static void drop(dsql_driver_conn *c, const char *table)
{
	char sql[120];

	snprintf(sql, sizeof(sql), "DROP TABLE %s", table);
	must_exec(c, sql);
}

START_TEST(binds_and_reads_every_type)
{
	static const int64_t ints[] = {0, 1, -1, INT64_MAX, INT64_MIN, 4294967296LL};
	static const char *texts[] = {"", "plain", "it's \"quoted\"; -- not sql", "ünïcødé 表 🚀"};
	dsql_driver_conn *c = conn();
	const dsql_driver *d = drv();
	char *big = malloc(65537);
	dsql_driver_stmt *s;
	dsql_error err;
	const char *got;
	size_t len;

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		ck_assert_int_eq(d->prepare(&s, c, "SELECT ?", &err), DSQL_OK);
		ck_assert_int_eq(d->bind_int64(s, 1, ints[i], &err), DSQL_OK);
		ck_assert_int_eq(d->step(s, &err), DSQL_ROW);
		ck_assert_int_eq(d->column_int64(s, 0), ints[i]);
		d->finalize(s);
	}
	memset(big, 'x', 65536);
	big[65536] = '\0';
	for (size_t i = 0; i <= sizeof(texts) / sizeof(texts[0]); i++) {
		const char *t = i < sizeof(texts) / sizeof(texts[0]) ? texts[i] : big;

		ck_assert_int_eq(d->prepare(&s, c, "SELECT ?", &err), DSQL_OK);
		ck_assert_int_eq(d->bind_text(s, 1, t, strlen(t), &err), DSQL_OK);
		ck_assert_int_eq(d->step(s, &err), DSQL_ROW);
		/* The empty string is not NULL. */
		ck_assert_int_ne(d->column_type(s, 0), DSQL_TYPE_NULL);
		got = d->column_text(s, 0, &len);
		ck_assert_ptr_nonnull(got);
		ck_assert_uint_eq(len, strlen(t));
		ck_assert(memcmp(got, t, len) == 0);
		d->finalize(s);
	}
	ck_assert_int_eq(d->prepare(&s, c, "SELECT ?", &err), DSQL_OK);
	ck_assert_int_eq(d->bind_null(s, 1, &err), DSQL_OK);
	ck_assert_int_eq(d->step(s, &err), DSQL_ROW);
	ck_assert_int_eq(d->column_type(s, 0), DSQL_TYPE_NULL);
	ck_assert_ptr_null(d->column_text(s, 0, NULL));
	d->finalize(s);
	/* A placeholder inside a literal is not a placeholder. */
	ck_assert_int_eq(d->prepare(&s, c, "SELECT '?', ?", &err), DSQL_OK);
	ck_assert_int_eq(d->bind_int64(s, 1, 7, &err), DSQL_OK);
	ck_assert_int_eq(d->step(s, &err), DSQL_ROW);
	ck_assert_str_eq(d->column_text(s, 0, NULL), "?");
	ck_assert_int_eq(d->column_int64(s, 1), 7);
	ck_assert_int_eq(d->step(s, &err), DSQL_DONE);
	/* A reset statement runs again with new values. */
	ck_assert_int_eq(d->reset(s, &err), DSQL_OK);
	ck_assert_int_eq(d->bind_int64(s, 1, 8, &err), DSQL_OK);
	ck_assert_int_eq(d->step(s, &err), DSQL_ROW);
	ck_assert_int_eq(d->column_int64(s, 1), 8);
	d->finalize(s);
	free(big);
	d->disconnect(c);
}
END_TEST

/* Rows of one result whose values in a column differ in length (long,
 * short, NULL, empty): each row reads back whole and alone, also when the
 * statement runs again (a driver may keep its buffers from row to row). */
START_TEST(reads_values_of_every_length_row_after_row)
{
	enum { ROWS = 6 };
	dsql_driver_conn *c = conn();
	const dsql_driver *d = drv();
	const char *table = tname("drvlen");
	char *vals[ROWS], sql[200];
	dsql_driver_stmt *s;
	dsql_error err;

	vals[0] = malloc(65537);
	memset(vals[0], 'y', 65536);
	vals[0][65536] = '\0';
	vals[1] = strdup("ab");
	vals[2] = NULL;
	vals[3] = strdup("");
	vals[4] = malloc(1501);
	memset(vals[4], 'z', 1500);
	vals[4][1500] = '\0';
	vals[5] = strdup("c");
	snprintf(sql, sizeof(sql), "CREATE TABLE %s (n BIGINT PRIMARY KEY, v %s)", table,
	         dialect_type(c, 0));
	must_exec(c, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO %s (n, v) VALUES (?, ?)", table);
	for (int i = 0; i < ROWS; i++) {
		ck_assert_int_eq(d->prepare(&s, c, sql, &err), DSQL_OK);
		ck_assert_int_eq(d->bind_int64(s, 1, i, &err), DSQL_OK);
		ck_assert_int_eq(vals[i] ? d->bind_text(s, 2, vals[i], strlen(vals[i]), &err)
		                         : d->bind_null(s, 2, &err),
		                 DSQL_OK);
		ck_assert_msg(d->step(s, &err) == DSQL_DONE, "%s", err.message);
		d->finalize(s);
	}
	snprintf(sql, sizeof(sql), "SELECT n, v FROM %s WHERE n >= ? ORDER BY n", table);
	ck_assert_int_eq(d->prepare(&s, c, sql, &err), DSQL_OK);
	for (int run = 0; run < 2; run++) {
		int n = 0;

		ck_assert_int_eq(d->bind_int64(s, 1, 0, &err), DSQL_OK);
		while (d->step(s, &err) == DSQL_ROW) {
			size_t len = 99;
			const char *got = d->column_text(s, 1, &len);

			ck_assert_int_eq(d->column_int64(s, 0), n);
			if (!vals[n]) {
				ck_assert_ptr_null(got);
				ck_assert_int_eq(d->column_type(s, 1), DSQL_TYPE_NULL);
			} else {
				ck_assert_ptr_nonnull(got);
				ck_assert_uint_eq(len, strlen(vals[n]));
				ck_assert_uint_eq(strlen(got), len);
				ck_assert(memcmp(got, vals[n], len) == 0);
			}
			n++;
		}
		ck_assert_int_eq(n, ROWS);
		ck_assert_int_eq(d->reset(s, &err), DSQL_OK);
	}
	d->finalize(s);
	drop(c, table);
	for (int i = 0; i < ROWS; i++)
		free(vals[i]);
	d->disconnect(c);
}
END_TEST

/* Doubles and blobs (with NUL bytes) through a table: every database we
 * reach knows DOUBLE PRECISION; the byte type is the dialect's. */
START_TEST(binds_doubles_and_blobs)
{
	static const unsigned char blob[] = {0, 1, 2, 0, 255, 'x', 0};
	dsql_driver_conn *c = conn();
	const dsql_driver *d = drv();
	char table[64], sql[200];
	dsql_driver_stmt *s;
	dsql_error err;
	const unsigned char *got;
	size_t len;

	snprintf(table, sizeof(table), "%s", tname("blob"));
	snprintf(sql, sizeof(sql), "CREATE TABLE %s (k BIGINT, d DOUBLE PRECISION, b %s)", table,
	         dialect_type(c, 1));
	must_exec(c, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO %s (k, d, b) VALUES (?, ?, ?)", table);
	ck_assert_int_eq(d->prepare(&s, c, sql, &err), DSQL_OK);
	ck_assert_int_eq(d->bind_int64(s, 1, 1, &err), DSQL_OK);
	ck_assert_int_eq(d->bind_double(s, 2, -1234.5625, &err), DSQL_OK);
	ck_assert_int_eq(d->bind_blob(s, 3, blob, sizeof(blob), &err), DSQL_OK);
	ck_assert_msg(d->step(s, &err) == DSQL_DONE, "%s", err.message);
	d->finalize(s);
	snprintf(sql, sizeof(sql), "SELECT d, b FROM %s WHERE k = 1", table);
	ck_assert_int_eq(d->prepare(&s, c, sql, &err), DSQL_OK);
	ck_assert_int_eq(d->step(s, &err), DSQL_ROW);
	ck_assert(d->column_double(s, 0) == -1234.5625);
	ck_assert_int_eq(d->column_type(s, 1), DSQL_TYPE_BLOB);
	got = d->column_blob(s, 1, &len);
	ck_assert_uint_eq(len, sizeof(blob));
	ck_assert(memcmp(got, blob, len) == 0);
	d->finalize(s);
	drop(c, table);
	d->disconnect(c);
}
END_TEST

START_TEST(counts_rows_and_rolls_back)
{
	dsql_driver_conn *c = conn();
	const dsql_driver *d = drv();
	const char *t = scratch(c);
	dsql_driver_stmt *s;
	dsql_error err;
	char sql[200];

	snprintf(sql, sizeof(sql), "INSERT INTO %s (k, v) VALUES (?, ?)", t);
	ck_assert_int_eq(d->begin(c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	ck_assert_int_eq(d->prepare(&s, c, sql, &err), DSQL_OK);
	for (int i = 0; i < 3; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%d", i);
		ck_assert_int_eq(d->reset(s, &err), DSQL_OK);
		ck_assert_int_eq(d->bind_text(s, 1, k, strlen(k), &err), DSQL_OK);
		ck_assert_int_eq(d->bind_int64(s, 2, i, &err), DSQL_OK);
		ck_assert_int_eq(d->step(s, &err), DSQL_DONE);
		ck_assert_int_eq(d->changes(s), 1);
	}
	d->finalize(s);
	ck_assert_int_eq(d->commit(c, &err), DSQL_OK);
	snprintf(sql, sizeof(sql), "UPDATE %s SET v = v + 10 WHERE v >= ?", t);
	ck_assert_int_eq(d->prepare(&s, c, sql, &err), DSQL_OK);
	ck_assert_int_eq(d->bind_int64(s, 1, 1, &err), DSQL_OK);
	ck_assert_int_eq(d->step(s, &err), DSQL_DONE);
	ck_assert_int_eq(d->changes(s), 2);
	ck_assert_int_eq(d->reset(s, &err), DSQL_OK);
	ck_assert_int_eq(d->bind_int64(s, 1, 1000, &err), DSQL_OK);
	ck_assert_int_eq(d->step(s, &err), DSQL_DONE);
	ck_assert_int_eq(d->changes(s), 0); /* matched nothing: not an error */
	d->finalize(s);
	/* Rollback really rolls back. */
	ck_assert_int_eq(d->begin(c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	snprintf(sql, sizeof(sql), "DELETE FROM %s", t);
	must_exec(c, sql);
	ck_assert_int_eq(count(c, t), 0);
	ck_assert_int_eq(d->rollback(c, &err), DSQL_OK);
	ck_assert_int_eq(count(c, t), 3);
	drop(c, t);
	d->disconnect(c);
}
END_TEST

START_TEST(classifies_errors)
{
	dsql_driver_conn *c = conn();
	const dsql_driver *d = drv();
	const char *t = scratch(c);
	dsql_driver_stmt *s;
	dsql_error err;
	char sql[200];

	snprintf(sql, sizeof(sql), "INSERT INTO %s (k, v) VALUES ('dup', 1)", t);
	must_exec(c, sql);
	ck_assert_int_eq(exec(c, sql, &err), DSQL_EEXISTS);
	ck_assert_msg(strncmp(err.sqlstate, "23", 2) == 0 || strcmp(err.sqlstate, "HY000") == 0,
	              "unique violation reported SQLSTATE '%s'", err.sqlstate);
	ck_assert_uint_eq(strlen(err.sqlstate), 5);
	ck_assert(err.driver[0] != '\0');
	ck_assert(err.message[0] != '\0');
	/* A syntax error is a database error, not a retryable one; some
	 * drivers report it when preparing, others when executing. */
	if (d->prepare(&s, c, "SELEC nonsense FROM", &err) == DSQL_OK) {
		ck_assert_int_lt(d->step(s, &err), 0);
		d->finalize(s);
	}
	ck_assert_int_ne(err.code, DSQL_ERETRY);
	ck_assert_int_lt(err.code, 0);
	/* The connection still works after errors. */
	ck_assert_int_eq(count(c, t), 1);
	drop(c, t);
	d->disconnect(c);
}
END_TEST

/* What a dialect with a unique live-file key (dsql_dialect.unique_live_key;
 * PostgreSQL's is the only one) promises: the unique index with NULLS NOT
 * DISTINCT, made and dropped inside a transaction that rolls back with it,
 * and a second NULL refused by it as a unique violation (the core makes
 * the live-file key so). */
START_TEST(unique_index_treats_nulls_as_equal)
{
	dsql_driver_conn *c = conn();
	const dsql_driver *d = drv();
	const char *t = scratch(c);
	dsql_error err;
	char drop_index[200], make_index[200], sql[200];

	snprintf(drop_index, sizeof(drop_index), "DROP INDEX IF EXISTS %s_u", t);
	snprintf(make_index, sizeof(make_index),
	         "CREATE UNIQUE INDEX %s_u ON %s (v) NULLS NOT DISTINCT", t, t);
	/* Rolled back: two NULLs go in. */
	ck_assert_int_eq(d->begin(c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	must_exec(c, drop_index);
	must_exec(c, make_index);
	ck_assert_int_eq(d->rollback(c, &err), DSQL_OK);
	snprintf(sql, sizeof(sql), "INSERT INTO %s (k, v) VALUES ('a', NULL), ('b', NULL)", t);
	must_exec(c, sql);
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE k = 'b'", t);
	must_exec(c, sql);
	/* Committed: a second NULL is a unique violation, a value is not. */
	ck_assert_int_eq(d->begin(c, DSQL_BEGIN_WRITE, &err), DSQL_OK);
	must_exec(c, drop_index);
	must_exec(c, make_index);
	ck_assert_int_eq(d->commit(c, &err), DSQL_OK);
	snprintf(sql, sizeof(sql), "INSERT INTO %s (k, v) VALUES ('c', NULL)", t);
	ck_assert_int_eq(exec(c, sql, &err), DSQL_EEXISTS);
	snprintf(sql, sizeof(sql), "INSERT INTO %s (k, v) VALUES ('d', 5)", t);
	must_exec(c, sql);
	ck_assert_int_eq(count(c, t), 2);
	drop(c, t);
	d->disconnect(c);
}
END_TEST

/* Two connections increment the same row; the second waits for the first
 * (or reports a retryable error and tries again): no update is lost. */
START_TEST(two_writers_on_one_row)
{
	dsql_driver_conn *c = conn();
	const dsql_driver *d = drv();
	const char *t = scratch(c);
	char sql[200], upd[200];
	dsql_driver_stmt *s;
	dsql_error err;
	int status, fds[2];
	pid_t child;
	char go;

	snprintf(sql, sizeof(sql), "INSERT INTO %s (k, v) VALUES ('row', 0)", t);
	must_exec(c, sql);
	snprintf(upd, sizeof(upd), "UPDATE %s SET v = v + 1 WHERE k = 'row'", t);
	ck_assert_int_eq(pipe(fds), 0);
	child = fork();
	if (child == 0) {
		dsql_driver_conn *a = conn();

		if (d->begin(a, DSQL_BEGIN_WRITE, &err) || exec(a, upd, &err))
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(2);
		usleep(300000); /* hold the lock a while */
		if (d->commit(a, &err) != DSQL_OK) {
			fprintf(stderr, "first writer: commit failed: %s (%s)\n", err.message,
			        err.sqlstate);
			_exit(3);
		}
		_exit(0);
	}
	ck_assert_int_eq(read(fds[0], &go, 1), 1);
	for (int attempt = 0;; attempt++) {
		int rc = d->begin(c, DSQL_BEGIN_WRITE, &err);

		if (rc == DSQL_OK)
			rc = exec(c, upd, &err);
		if (rc == DSQL_OK)
			rc = d->commit(c, &err);
		else
			d->rollback(c, &err);
		if (rc == DSQL_OK)
			break;
		ck_assert_msg(rc == DSQL_ERETRY && attempt < 100, "second writer: %d %s", rc,
		              err.message);
		usleep(20000);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	snprintf(sql, sizeof(sql), "SELECT v FROM %s WHERE k = 'row'", t);
	ck_assert_int_eq(d->prepare(&s, c, sql, &err), DSQL_OK);
	ck_assert_int_eq(d->step(s, &err), DSQL_ROW);
	ck_assert_int_eq(d->column_int64(s, 0), 2);
	d->finalize(s);
	drop(c, t);
	d->disconnect(c);
}
END_TEST

void driver_cases(Suite *s)
{
	TCase *tc = tcase_create("driver");

	tcase_add_test(tc, binds_and_reads_every_type);
	tcase_add_test(tc, binds_doubles_and_blobs);
	tcase_add_test(tc, reads_values_of_every_length_row_after_row);
	tcase_add_test(tc, counts_rows_and_rolls_back);
	tcase_add_test(tc, classifies_errors);
	tcase_add_test(tc, two_writers_on_one_row);
	if (makes_unique_live_key())
		tcase_add_test(tc, unique_index_treats_nulls_as_equal);
	else
		scn_not_supported[scn_n_not_supported++] =
			"a unique live-file key (dsql_dialect.unique_live_key)";
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
}
