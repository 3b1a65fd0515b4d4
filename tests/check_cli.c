/* The command-line contract: commands, --json shapes and exit codes, run
 * against the real binary on a SQLite catalog. */
#define _GNU_SOURCE
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char uri[600];

/* Runs "deltasql --catalog URI ARGS" and returns the exit status; *out
 * receives stdout parsed as JSON when it parses (else NULL). */
static int cli(json_t **out, const char *stdin_text, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cli(json_t **out, const char *stdin_text, const char *fmt, ...)
{
	char args[4096], cmd[5000], *text = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' --catalog '%s' %s 2>/dev/null", CLI_PATH, uri, args);
	rc = tu_run(cmd, stdin_text, &text);
	if (out)
		*out = json_loads(text ? text : "", 0, NULL);
	free(text);
	return rc;
}

/* Runs a shell command line with "$D" set to the deltasql binary, stderr
 * joined to stdout into *out (malloc'd); returns the exit status. */
static int run_sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int run_sh(char **out, const char *fmt, ...)
{
	char line[4096], cmd[5000];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "D='%s'; { %s; } 2>&1", CLI_PATH, line);
	*out = NULL;
	rc = tu_run(cmd, NULL, out);
	if (!*out)
		*out = strdup("");
	return rc;
}

static void fresh_catalog(void)
{
	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("cli"));
	ck_assert_int_eq(cli(NULL, NULL, "init"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "create dim --partition-by p --schema "
	                                 "'{\"type\":\"struct\",\"fields\":[{\"name\":\"p\","
	                                 "\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}'"
	                                 " --property delta.appendOnly=false --location /lake/dim"),
	                 0);
	ck_assert_int_eq(cli(NULL, NULL, "create fact"), 0);
}

static const char *two_tables =
	"{\"txn_id\": \"t-1\", \"isolation\": \"serializable\", \"tables\": {"
	" \"dim\": {\"read_version\": 0, \"actions\": ["
	"  {\"add\": {\"path\": \"p=a/1.parquet\", \"partitionValues\": {\"p\": \"a\"},"
	"   \"size\": 10, \"modificationTime\": 1, \"dataChange\": true}}]},"
	" \"fact\": {\"actions\": ["
	"  {\"add\": {\"path\": \"2.parquet\", \"partitionValues\": {}, \"size\": 20,"
	"   \"modificationTime\": 1, \"dataChange\": true}},"
	"  {\"txn\": {\"appId\": \"loader\", \"version\": 9}}]}}}";

START_TEST(init_create_list)
{
	json_t *j, *t;
	size_t i;
	int found = 0;

	fresh_catalog();
	ck_assert_int_eq(cli(&j, NULL, "list --json"), 0);
	ck_assert(json_is_array(j));
	json_array_foreach(j, i, t) {
		ck_assert(json_is_string(json_object_get(t, "name")));
		ck_assert_int_eq(json_integer_value(json_object_get(t, "version")), 0);
		found += strcmp(json_string_value(json_object_get(t, "name")), "dim") == 0;
	}
	ck_assert_int_eq(found, 1);
	ck_assert_uint_eq(json_array_size(j), 2);
	json_decref(j);
	ck_assert_int_eq(cli(&j, NULL, "--json init"), 0);
	ck_assert(json_is_string(json_object_get(j, "catalog")));
	json_decref(j);
	ck_assert_int_eq(cli(NULL, NULL, "create dim"), 1); /* exists */
}
END_TEST

START_TEST(commit_snapshot_history_json)
{
	json_t *j, *f, *h;

	fresh_catalog();
	ck_assert_int_eq(cli(&j, two_tables, "commit --json"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "txn_id")), "t-1");
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(json_object_get(j, "tables"), "dim"), "version")),
	                 1);
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(json_object_get(j, "tables"), "fact"), "version")),
	                 1);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "attempts")), 1);
	json_decref(j);
	/* A replay of the same document is a no-op with the same answer. */
	ck_assert_int_eq(cli(&j, two_tables, "commit - --json"), 0);
	ck_assert(json_is_true(json_object_get(j, "replayed")));
	json_decref(j);

	ck_assert_int_eq(cli(&j, NULL, "snapshot fact --json"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "table")), "fact");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "protocol"),
	                                                    "minWriterVersion")),
	                 2);
	ck_assert(json_is_object(json_object_get(j, "metadata")));
	f = json_object_get(j, "files");
	ck_assert_uint_eq(json_array_size(f), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(f, 0), "path")),
	                 "2.parquet");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "app_txns"),
	                                                    "loader")),
	                 9);
	json_decref(j);
	ck_assert_int_eq(cli(&j, NULL, "snapshot dim --version 0 --json"), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "files")), 0);
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(json_object_get(j, "metadata"), "partitionColumns"), 0)),
	                 "p");
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(json_object_get(j, "metadata"), "configuration"),
				 "delta.appendOnly")),
	                 "false");
	json_decref(j);

	ck_assert_int_eq(cli(&j, NULL, "history dim --json"), 0);
	ck_assert_uint_eq(json_array_size(j), 2);
	h = json_array_get(j, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "version")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(h, "txn_id")), "t-1");
	ck_assert_str_eq(json_string_value(json_object_get(h, "operation")), "WRITE");
	ck_assert_int_eq(json_integer_value(json_object_get(h, "adds")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "removes")), 0);
	ck_assert(json_is_integer(json_object_get(h, "timestamp")) ||
	          json_is_string(json_object_get(h, "timestamp")));
	json_decref(j);
	/* Human output works too. */
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "history dim"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "list"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim --timestamp 2000-01-01T00:00:00Z"), 4);
	ck_assert_int_eq(cli(&j, NULL, "snapshot dim --timestamp 4102444800000 --json"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 1);
	json_decref(j);
}
END_TEST

START_TEST(exit_codes)
{
	char path[600];
	json_t *j;

	fresh_catalog();
	ck_assert_int_eq(cli(NULL, NULL, "frobnicate"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim --version x"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim --version 99999999999999999999"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot nope"), 4);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim --version 7"), 4);
	ck_assert_int_eq(cli(NULL, NULL, "drop nope"), 4);
	ck_assert_int_eq(cli(NULL, "{\"tables\": {\"dim\": ", "commit"), 2);
	ck_assert_int_eq(cli(NULL, "{\"tables\": {}}", "commit"), 2);
	ck_assert_int_eq(cli(NULL, "{\"tables\": {\"dim\": {\"actions\": []}}, \"x\": 1}", "commit"),
	                 2);
	ck_assert_int_eq(cli(NULL, "{\"isolation\": \"chaos\", \"tables\": {\"dim\": "
	                           "{\"actions\": [{\"txn\": {\"appId\": \"a\", \"version\": 1}}]}}}",
	                     "commit"),
	                 2);
	ck_assert_int_eq(cli(NULL, "{\"tables\": {\"nope\": {\"actions\": []}}}", "commit"), 4);
	ck_assert_int_eq(cli(NULL, "{\"tables\": {\"fact\": {\"read_version\": 5, \"actions\": "
	                           "[{\"txn\": {\"appId\": \"a\", \"version\": 1}}]}}}",
	                     "commit"),
	                 4);
	ck_assert_int_eq(cli(&j, "{\"tables\": {\"fact\": {\"actions\": [{\"remove\": {\"path\": "
	                         "\"ghost\", \"dataChange\": true}}]}}}",
	                     "commit --json"),
	                 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "kind")),
	                 "invalid");
	json_decref(j);
	/* An export directory that cannot be made is a file error. */
	snprintf(path, sizeof(path), "%s/cli-plainfile", tu_tmpdir());
	fclose(fopen(path, "w"));
	ck_assert_int_eq(cli(&j, NULL, "--json export fact '%s/below'", path), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "kind")),
	                 "file");
	json_decref(j);
	/* Nothing above changed the catalog. */
	ck_assert_int_eq(cli(&j, NULL, "history fact --json"), 0);
	ck_assert_uint_eq(json_array_size(j), 1);
	json_decref(j);
	/* A catalog that was never initialised. */
	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("empty"));
	ck_assert_int_eq(cli(NULL, NULL, "list"), 4);
	/* One that cannot be opened: the message names the file. */
	snprintf(uri, sizeof(uri), "sqlite:%s/no/such/dir/c.db", tu_tmpdir());
	ck_assert_int_eq(cli(&j, NULL, "--json list"), 1);
	ck_assert_msg(strstr(json_string_value(json_object_get(json_object_get(j, "error"),
	                                                       "message")),
	                     "/no/such/dir/c.db"),
	              "the message does not name the file");
	json_decref(j);
}
END_TEST

START_TEST(conflict_exit_code_and_json)
{
	const char *remove_doc = "{\"tables\": {\"fact\": {\"read_version\": 1, \"actions\": ["
	                         "{\"remove\": {\"path\": \"2.parquet\", \"dataChange\": true}}]}}}";
	json_t *j, *e;

	fresh_catalog();
	ck_assert_int_eq(cli(NULL, two_tables, "commit"), 0);
	ck_assert_int_eq(cli(NULL, remove_doc, "commit"), 0);
	ck_assert_int_eq(cli(&j, remove_doc, "commit --json"), 3);
	e = json_object_get(j, "error");
	ck_assert_str_eq(json_string_value(json_object_get(e, "kind")), "conflict");
	ck_assert_str_eq(json_string_value(json_object_get(e, "table")), "fact");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "winning_version")), 2);
	ck_assert(json_is_string(json_object_get(e, "rule")));
	json_decref(j);
	ck_assert_int_eq(cli(NULL, NULL, "drop fact"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot fact"), 4);
}
END_TEST

START_TEST(read_sets_isolation_and_stats)
{
	const char *append = "{\"tables\": {\"fact\": {\"actions\": [{\"add\": {\"path\": "
	                     "\"blind.parquet\", \"partitionValues\": {}, \"size\": 1, "
	                     "\"modificationTime\": 1, \"dataChange\": true}}]}}}";
	const char *reader = "{\"isolation\": \"%s\", \"tables\": {\"fact\": {\"read_version\": 0,"
	                     " \"read\": {\"whole_table\": true}, \"actions\": [{\"add\": "
	                     "{\"path\": \"%s\", \"partitionValues\": {}, \"size\": 1, "
	                     "\"modificationTime\": 1, \"dataChange\": true}}]}}}";
	char doc[1024];
	json_t *j, *st;

	fresh_catalog();
	ck_assert_int_eq(cli(NULL, append, "commit"), 0);
	/* Read at version 0; a blind append won since. */
	snprintf(doc, sizeof(doc), reader, "serializable", "s.parquet");
	ck_assert_int_eq(cli(&j, doc, "commit --json"), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "rule")),
	                 "concurrent_append");
	json_decref(j);
	snprintf(doc, sizeof(doc), reader, "write_serializable", "ws.parquet");
	ck_assert_int_eq(cli(&j, doc, "commit --json"), 0);
	json_decref(j);
	snprintf(doc, sizeof(doc), reader, "serializable", "again.parquet");
	ck_assert_int_eq(cli(NULL, doc, "commit"), 3);
	/* what the catalog recorded of it all */
	ck_assert_int_eq(cli(&j, NULL, "stats --json"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "commits")), 4); /* 2 creates */
	ck_assert_int_eq(json_integer_value(json_object_get(j, "conflicts")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(j, "conflicts_by_rule"), "concurrent_append")),
	                 2);
	st = json_array_get(json_object_get(j, "conflicts_by_rule_and_table"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(st, "table")), "fact");
	ck_assert_int_eq(json_integer_value(json_object_get(st, "count")), 2);
	json_decref(j);
	ck_assert_int_eq(cli(NULL, "{\"tables\": {\"fact\": {\"read\": {\"rows\": 1}, "
	                           "\"actions\": []}}}", "commit"),
	                 2);
}
END_TEST

START_TEST(application_sql_in_commit)
{
	json_t *j, *sql;

	fresh_catalog();
	ck_assert_int_eq(cli(NULL, "{\"sql\": [{\"statement\": \"CREATE TABLE wm (k TEXT PRIMARY KEY,"
	                           " v BIGINT, b BLOB)\"}, {\"statement\": \"INSERT INTO wm VALUES (?, ?, ?)\","
	                           " \"params\": [\"job\", 1, {\"blob_hex\": \"00ff\"}]}]}",
	                     "commit"),
	                 0);
	ck_assert_int_eq(cli(&j, "{\"tables\": {\"fact\": {\"actions\": [{\"txn\": {\"appId\": "
	                         "\"job\", \"version\": 2}}]}}, \"sql\": [{\"statement\": "
	                         "\"UPDATE wm SET v = ? WHERE k = ?\", \"params\": [2, \"job\"]},"
	                         " {\"statement\": \"SELECT v, b FROM wm\"}]}",
	                     "commit --json"),
	                 0);
	sql = json_object_get(j, "sql");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(sql, 0), "changes")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_array_get(json_object_get(
				 json_array_get(sql, 1), "rows"), 0), 0)),
	                 "2");
	ck_assert_str_eq(json_string_value(json_array_get(json_array_get(json_object_get(
				 json_array_get(sql, 1), "rows"), 0), 1)),
	                 "00ff");
	json_decref(j);
	/* A failing statement: exit 1 (already exists), statement index reported,
	 * the lake table untouched. */
	ck_assert_int_eq(cli(&j, "{\"tables\": {\"fact\": {\"actions\": [{\"txn\": {\"appId\": "
	                         "\"job\", \"version\": 3}}]}}, \"sql\": [{\"statement\": "
	                         "\"INSERT INTO wm VALUES ('job', 9, NULL)\"}]}",
	                     "commit --json"),
	                 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "error"),
	                                                    "statement_index")),
	                 0);
	json_decref(j);
	ck_assert_int_eq(cli(&j, NULL, "snapshot fact --json"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 1);
	json_decref(j);
	ck_assert_int_eq(cli(NULL, "{\"sql\": [{\"statement\": \"COMMIT\"}]}", "commit"), 2);
	/* A second statement behind [...] quoting is refused whole, by SQLite's
	 * own parser, not run in part. */
	ck_assert_int_eq(cli(&j, "{\"tables\": {\"fact\": {\"actions\": [{\"txn\": {"
	                         "\"appId\": \"job\", \"version\": 4}}]}}, \"sql\": [{"
	                         "\"statement\": \"SELECT 1 AS [x'];INSERT INTO wm VALUES"
	                         " ('evil', 1, NULL);--]\"}]}",
	                     "commit --json"),
	                 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "error"),
	                                                    "statement_index")),
	                 0);
	json_decref(j);
	ck_assert_int_eq(cli(&j, "{\"sql\": [{\"statement\": \"SELECT count(*) FROM wm WHERE k ="
	                         " 'evil'\"}]}",
	                     "commit --json"),
	                 0);
	ck_assert_str_eq(json_string_value(json_array_get(json_array_get(json_object_get(
				 json_array_get(json_object_get(j, "sql"), 0), "rows"), 0), 0)),
	                 "0");
	json_decref(j);
	ck_assert_int_eq(cli(NULL, "{\"sql\": [{\"statement\": \"DROP TABLE dsql_tombstone\"}]}",
	                     "commit"),
	                 2);
	/* A role for the statements: SQLite has none (and a role must be a
	 * string). */
	ck_assert_int_eq(cli(NULL, "{\"sql\": [{\"statement\": \"SELECT 1\"}], \"sql_role\": 5}",
	                     "commit"),
	                 2);
	ck_assert_int_eq(cli(&j, "{\"sql\": [{\"statement\": \"SELECT 1\"}], \"sql_role\": \"w\"}",
	                     "commit --json"),
	                 2); /* unsupported input exits 2 */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "kind")),
	                 "unsupported");
	json_decref(j);
	ck_assert_int_eq(cli(NULL, "{\"sql\": [{\"statement\": \"SELECT ?\", \"params\": [[1]]}]}",
	                     "commit"),
	                 2);
}
END_TEST

START_TEST(hostile_input)
{
	static const char *bad[] = {
		"", "{", "[]", "null", "\"tables\"", "{\"tables\": []}",
		"{\"tables\": {\"fact\": {\"actions\": {}}}}",
		"{\"tables\": {\"fact\": {\"actions\": [1, 2]}}}",
		"{\"tables\": {\"fact\": {\"actions\": [{\"add\": {\"path\": \"a\\u0000b\", \"size\": 1}}]}}}",
		"{\"tables\": {\"fact\": {\"read_version\": -1, \"actions\": []}}}",
		"{\"tables\": {\"fact\": {\"read_version\": \"0\", \"actions\": []}}}",
		"{\"txn_id\": 5, \"tables\": {\"fact\": {\"actions\": []}}}",
		"{\"txn_id\": \"has space\", \"tables\": {\"fact\": {\"actions\": [{\"txn\": {\"appId\": \"a\", \"version\": 1}}]}}}",
		"{\"tables\": {\"fact\": {\"actions\": [{\"add\": {\"path\": \"a\", \"size\": 1e400}}]}}}",
		"{\"tables\": {\"fact\": {\"actions\": [{\"add\": {\"path\": \"a\", \"size\": \"1\"}}]}}}",
		"{\"tables\": {\"fact\": {\"actions\": [{\"add\": {\"path\": \"a\", \"size\": 1}}]}}, \"tables\": {}}",
	};
	char *doc, *big;
	json_t *j;
	size_t n;

	fresh_catalog();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = cli(&j, bad[i], "commit --json");

		ck_assert_msg(rc == 2, "document %zu: exit %d", i, rc);
		ck_assert_msg(json_is_string(json_object_get(json_object_get(j, "error"), "message")),
		              "document %zu: no error message", i);
		json_decref(j);
	}
	/* Truncations of a valid document, at every length. */
	for (n = 0; n + 1 < strlen(two_tables); n += 7) {
		doc = strndup(two_tables, n);
		ck_assert_int_eq(cli(NULL, doc, "commit"), 2);
		free(doc);
	}
	/* Nothing above changed anything. */
	ck_assert_int_eq(cli(&j, NULL, "history fact --json"), 0);
	ck_assert_uint_eq(json_array_size(j), 1);
	json_decref(j);
	/* A 64 KB path and SQL-looking names are data, stored byte for byte. */
	big = malloc(65536 + 1);
	memset(big, 'p', 65536);
	memcpy(big, "x'; DROP TABLE dsql_table; --", 29);
	big[65536] = '\0';
	ck_assert(asprintf(&doc, "{\"tables\": {\"fact\": {\"actions\": [{\"add\": {\"path\": \"%s\", "
	                         "\"size\": 1, \"modificationTime\": 1, \"dataChange\": true, "
	                         "\"partitionValues\": {}}}]}}}", big) > 0);
	ck_assert_int_eq(cli(NULL, doc, "commit"), 0);
	free(doc);
	ck_assert_int_eq(cli(&j, NULL, "snapshot fact --json"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "files"), 0),
	                                                   "path")), big);
	json_decref(j);
	free(big);
	/* A large document: 20 000 actions in one commit. */
	{
		size_t cap = 20000 * 150 + 100, len = 0;

		doc = malloc(cap);
		len += (size_t)snprintf(doc + len, cap - len, "{\"tables\": {\"fact\": {\"actions\": [");
		for (int i = 0; i < 20000; i++)
			len += (size_t)snprintf(doc + len, cap - len,
			                        "%s{\"add\": {\"path\": \"bulk-%d\", \"size\": 1, "
			                        "\"modificationTime\": 1, \"dataChange\": true}}",
			                        i ? "," : "", i);
		snprintf(doc + len, cap - len, "]}}}");
		ck_assert_int_eq(cli(&j, doc, "commit --json"), 0);
		ck_assert_int_eq(json_integer_value(json_object_get(
					 json_object_get(json_object_get(j, "tables"), "fact"), "version")),
		                 2);
		json_decref(j);
		free(doc);
	}
	/* Table names: over 255 bytes, control characters, invalid UTF-8. */
	ck_assert_int_eq(cli(NULL, NULL, "create %0300d", 7), 2);
	ck_assert_int_eq(cli(NULL, NULL, "create \"$(printf 'a\\tb')\""), 2);
	ck_assert_int_eq(cli(NULL, NULL, "create \"semi;colon -- 'q' ünï\""), 0);
	ck_assert_int_eq(cli(&j, NULL, "list --json"), 0);
	ck_assert_uint_eq(json_array_size(j), 3);
	json_decref(j);
	/* Invalid catalog URIs. */
	snprintf(uri, sizeof(uri), "nosuch:x");
	ck_assert_int_eq(cli(NULL, NULL, "list"), 2);
	snprintf(uri, sizeof(uri), "sqlite:/dev/null/x");
	ck_assert_int_eq(cli(NULL, NULL, "list"), 1);
}
END_TEST

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs("data", f);
	fclose(f);
}

START_TEST(expire_and_vacuum_delete_only_under_location)
{
	char dir[512], path[600], doc[2048];
	json_t *j;

	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("vac"));
	snprintf(dir, sizeof(dir), "%s/vac-%d", tu_tmpdir(), (int)getpid());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/keep.parquet", dir);
	touch(path);
	snprintf(path, sizeof(path), "%s/old%%20file.parquet", dir);
	touch(path);
	snprintf(path, sizeof(path), "%s/outside.parquet", tu_tmpdir());
	touch(path);
	ck_assert_int_eq(cli(NULL, NULL, "init"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "create t --location '%s'", dir), 0);
	snprintf(doc, sizeof(doc),
	         "{\"tables\": {\"t\": {\"actions\": ["
	         "{\"add\": {\"path\": \"keep.parquet\", \"size\": 1, \"modificationTime\": 1, "
	         "\"dataChange\": true, \"partitionValues\": {}}},"
	         "{\"add\": {\"path\": \"old%%2520file.parquet\", \"size\": 1, \"modificationTime\": 1,"
	         " \"dataChange\": true, \"partitionValues\": {}}},"
	         "{\"add\": {\"path\": \"../outside.parquet\", \"size\": 1, \"modificationTime\": 1,"
	         " \"dataChange\": true, \"partitionValues\": {}}}]}}}");
	ck_assert_int_eq(cli(NULL, doc, "commit"), 0);
	ck_assert_int_eq(cli(NULL, "{\"tables\": {\"t\": {\"actions\": ["
	                           "{\"remove\": {\"path\": \"old%2520file.parquet\", \"dataChange\": true}},"
	                           "{\"remove\": {\"path\": \"../outside.parquet\", \"dataChange\": true}}]}}}",
	                     "commit"),
	                 0);
	ck_assert_int_eq(cli(&j, NULL, "expire t --keep-versions 1 --dry-run --json"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "oldest_version")), 2);
	json_decref(j);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot t --version 1"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "expire t --keep-versions 1"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot t --version 1"), 4);
	usleep(30000);
	/* 2^57 hours are 2^64 * 28125 ms: wrapped, a retention of 0. Refused. */
	ck_assert_int_eq(cli(NULL, NULL, "vacuum t --retain 144115188075855872 --delete"), 2);
	snprintf(path, sizeof(path), "%s/old%%20file.parquet", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(cli(&j, NULL, "vacuum t --retain 0 --delete --json"), 0);
	ck_assert_uint_eq(json_array_size(j), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "path")),
	                 "../outside.parquet");
	ck_assert(json_is_false(json_object_get(json_array_get(j, 0), "deleted")));
	ck_assert(json_is_true(json_object_get(json_array_get(j, 1), "deleted")));
	json_decref(j);
	snprintf(path, sizeof(path), "%s/old%%20file.parquet", dir);
	ck_assert_int_ne(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/keep.parquet", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/outside.parquet", tu_tmpdir());
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(cli(NULL, NULL, "vacuum t"), 2);
}
END_TEST

/* deltasql changes: the file changes of a range (text and --json), the
 * versions after one for a poller, and its errors' exit codes. */
START_TEST(changes_between_versions)
{
	static const char *second =
		"{\"tables\": {\"fact\": {\"actions\": ["
		" {\"remove\": {\"path\": \"2.parquet\", \"deletionTimestamp\": 5, \"dataChange\": true}},"
		" {\"cdc\": {\"path\": \"_change_data/c.parquet\", \"partitionValues\": {}, \"size\": 7,"
		"  \"dataChange\": false}}]}}}";
	json_t *j, *c, *v;
	char *out;

	fresh_catalog();
	ck_assert_int_eq(cli(NULL, two_tables, "commit"), 0);
	ck_assert_int_eq(cli(NULL, second, "commit"), 0);
	ck_assert_int_eq(cli(&j, NULL, "--json changes fact --from 1"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "from")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "to")), 2);
	c = json_object_get(j, "changes");
	ck_assert_uint_eq(json_array_size(c), 3);
	v = json_array_get(c, 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "kind")), "add");
	ck_assert_str_eq(json_string_value(json_object_get(v, "path")), "2.parquet");
	ck_assert_str_eq(json_string_value(json_object_get(v, "txn_id")), "t-1");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "size")), 20);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "action"), "size")),
	                 20);
	v = json_array_get(c, 1);
	ck_assert_str_eq(json_string_value(json_object_get(v, "kind")), "remove");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "version")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "size")), -1);
	v = json_array_get(c, 2);
	ck_assert_str_eq(json_string_value(json_object_get(v, "kind")), "cdc");
	ck_assert(json_is_false(json_object_get(v, "data_change")));
	json_decref(j);
	/* Text: a header and one line per change. */
	ck_assert_int_eq(run_sh(&out, "\"$D\" -c '%s' changes fact --from 2 --to 2", uri), 0);
	ck_assert_msg(strstr(out, "KIND") && strstr(out, "remove") &&
	                      strstr(out, "_change_data/c.parquet") && !strstr(out, " add "),
	              "%s", out);
	free(out);
	/* The poller's question. */
	ck_assert_int_eq(cli(&j, NULL, "--json changes fact --after 1"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "latest")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "versions")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_array_get(json_object_get(j, "versions"), 0), "version")),
	                 2);
	json_decref(j);
	ck_assert_int_eq(run_sh(&out, "\"$D\" -c '%s' changes fact --after 2", uri), 0);
	ck_assert_str_eq(out, "");
	free(out);
	/* Errors: a reversed range is invalid input, a version beyond the
	 * latest is not found, and both options at once is a usage error. */
	ck_assert_int_eq(run_sh(&out, "\"$D\" -c '%s' changes fact --from 2 --to 1", uri), 2);
	ck_assert_msg(strstr(out, "from is after to"), "%s", out);
	free(out);
	ck_assert_int_eq(run_sh(&out, "\"$D\" -c '%s' changes fact --from 1 --to 3", uri), 4);
	ck_assert_msg(strstr(out, "has no version 3 (its latest is 2)") && !strstr(out, "KIND"),
	              "%s", out);
	free(out);
	ck_assert_int_eq(cli(NULL, NULL, "changes fact --after 3"), 4);
	ck_assert_int_eq(cli(NULL, NULL, "changes fact"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "changes fact --from 1 --after 1"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "changes fact --from x"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "changes nosuch --from 0"), 4);
}
END_TEST

/* import draws its progress line (count, rate, time left) on a terminal's
 * stderr only: under script(1) the line is there, into a pipe it is not. */
START_TEST(import_progress_on_a_terminal_only)
{
	char dir[600], file[700], cmd[3000], *text = NULL;
	FILE *f;

	snprintf(uri, sizeof(uri), "%s", tu_sqlite_uri("progress"));
	ck_assert_int_eq(cli(NULL, NULL, "init"), 0);
	snprintf(dir, sizeof(dir), "%s/progress-log", tu_tmpdir());
	snprintf(file, sizeof(file), "%s/_delta_log", dir);
	ck_assert_int_eq(mkdir(dir, 0755) == 0 && mkdir(file, 0755) == 0, 1);
	for (int v = 0; v < 3; v++) {
		snprintf(file, sizeof(file), "%s/_delta_log/%020d.json", dir, v);
		ck_assert_ptr_nonnull(f = fopen(file, "w"));
		if (v == 0)
			fputs("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
			      "{\"metaData\":{\"id\":\"i\",\"format\":{\"provider\":\"parquet\","
			      "\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
			      "\\\"fields\\\":[]}\",\"partitionColumns\":[],\"configuration\":{}}}\n",
			      f);
		else
			fprintf(f, "{\"add\":{\"path\":\"f%d\",\"partitionValues\":{},\"size\":1,"
			           "\"modificationTime\":1,\"dataChange\":true}}\n", v);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "script -qec \"'%s' --catalog '%s' import a '%s'\" /dev/null",
	         CLI_PATH, uri, dir);
	ck_assert_msg(tu_run(cmd, NULL, &text) == 0, "%s: %s", cmd, text ? text : "");
	ck_assert_msg(text && strstr(text, "importing [") && strstr(text, "3/3") &&
	                  strstr(text, "/s") && strstr(text, "ETA"),
	              "no progress line on a terminal: %s", text ? text : "");
	free(text);
	text = NULL;
	snprintf(cmd, sizeof(cmd), "'%s' --catalog '%s' import b '%s' 2>&1", CLI_PATH, uri, dir);
	ck_assert_int_eq(tu_run(cmd, NULL, &text), 0);
	ck_assert_msg(text && !strstr(text, "importing [") && strstr(text, "imported b"), "%s",
	              text ? text : "");
	free(text);
}
END_TEST

START_TEST(help_per_command_touches_nothing)
{
	static const char *cmds[] = {"init", "create", "list", "drop", "commit", "prepared",
	                             "recover", "snapshot", "history", "changes", "import", "export",
	                             "expire", "vacuum", "stats", "help", "version"};
	char db[600], *a, *b;

	snprintf(db, sizeof(db), "%s/help-untouched.db", tu_tmpdir());
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char want[64];

		ck_assert_int_eq(run_sh(&a, "\"$D\" -c 'sqlite:%s' %s --help", db, cmds[i]), 0);
		ck_assert_int_eq(run_sh(&b, "\"$D\" help %s", cmds[i]), 0);
		snprintf(want, sizeof(want), "Usage: deltasql [OPTION]... %s", cmds[i]);
		ck_assert_msg(strstr(a, want), "%s --help: %s", cmds[i], a);
		ck_assert_msg(strstr(a, "Example:"), "%s --help has no example", cmds[i]);
		ck_assert_str_eq(a, b);
		free(a);
		free(b);
	}
	ck_assert_msg(access(db, F_OK) != 0, "--help created the catalog file");
	ck_assert_int_eq(run_sh(&a, "\"$D\" help create"), 0);
	ck_assert_ptr_nonnull(strstr(a, "--partition-by=a,b"));
	free(a);
	/* "did you mean" */
	ck_assert_int_eq(run_sh(&a, "\"$D\" -c 'sqlite:%s' crate t", db), 2);
	ck_assert_msg(strstr(a, "did you mean 'create'?"), "%s", a);
	free(a);
	ck_assert_int_eq(run_sh(&a, "\"$D\" help nosuchthing"), 2);
	free(a);
	ck_assert_msg(access(db, F_OK) != 0, "a usage error created the catalog file");
}
END_TEST

START_TEST(options_getopt_long)
{
	json_t *j;
	char *out;

	fresh_catalog();
	/* --opt=value and --opt value, short options, options after arguments. */
	ck_assert_int_eq(cli(&j, NULL, "snapshot --version=0 dim --json"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 0);
	json_decref(j);
	ck_assert_int_eq(cli(&j, NULL, "snapshot dim -v 0 -j"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 0);
	json_decref(j);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim --timestamp=4102444800000"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "create t2 --location=/lake/t2 --property=a=b"), 0);
	ck_assert_int_eq(run_sh(&out, "\"$D\" -j snapshot -c '%s' t2", uri), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"a\": \"b\""));
	free(out);
	ck_assert_int_eq(cli(NULL, NULL, "expire dim -n --keep-versions=1"), 0);
	/* "--" ends the options: a table may be named like one. */
	ck_assert_int_eq(cli(NULL, NULL, "drop -- --help"), 4);
	ck_assert_int_eq(cli(NULL, NULL, "create -- -odd"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "drop -- -odd"), 0);
	/* Unknown options and missing values are usage errors naming them. */
	ck_assert_int_eq(run_sh(&out, "\"$D\" -c '%s' snapshot dim --bogus", uri), 2);
	ck_assert_ptr_nonnull(strstr(out, "'--bogus'"));
	free(out);
	ck_assert_int_eq(run_sh(&out, "\"$D\" -c '%s' snapshot dim --version", uri), 2);
	ck_assert_ptr_nonnull(strstr(out, "needs a value"));
	free(out);
	ck_assert_int_eq(cli(NULL, NULL, "list extra"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "create t3 --property novalue"), 2);
	ck_assert_int_eq(cli(&j, NULL, "list --json"), 0);
	ck_assert_uint_eq(json_array_size(j), 3);
	json_decref(j);
}
END_TEST

START_TEST(man_page_and_completion_install)
{
	char dest[600], script[600], *out, *man, *comp;
	FILE *f;

	snprintf(dest, sizeof(dest), "%s/destdir", tu_tmpdir());
	/* make install into a private DESTDIR, outside make check's job server */
	ck_assert_int_eq(run_sh(&out, "unset MAKEFLAGS MFLAGS MAKELEVEL; make -s -C \"$(dirname "
	                              "\"$D\")\" install DESTDIR='%s' >/dev/null", dest),
	                 0);
	free(out);
	ck_assert_int_eq(run_sh(&man, "find '%s' -path '*/man1/deltasql.1' | head -n 1", dest), 0);
	ck_assert_int_eq(run_sh(&comp, "find '%s' -path '*/bash-completion/completions/deltasql'"
	                               " | head -n 1", dest), 0);
	ck_assert_msg(*man, "no man page installed");
	ck_assert_msg(*comp, "no bash completion installed");
	man[strcspn(man, "\n")] = '\0';
	comp[strcspn(comp, "\n")] = '\0';
	/* The man page is the program's help: every command has its section. */
	ck_assert_int_eq(run_sh(&out, "cat '%s'", man), 0);
	ck_assert_ptr_nonnull(strstr(out, ".TH DELTASQL \"1\""));
	ck_assert_ptr_nonnull(strstr(out, "Command snapshot:"));
	ck_assert_ptr_nonnull(strstr(out, "\\-\\-partition\\-by"));
	free(out);
	/* The completion offers commands, then the command's options. */
	snprintf(script, sizeof(script), "%s/complete.bash", tu_tmpdir());
	f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "PATH=\"$(dirname \"$D\"):$PATH\"\n. '%s'\n"
	           "COMP_WORDS=(deltasql cre); COMP_CWORD=1; _deltasql; echo \"${COMPREPLY[*]}\"\n"
	           "COMP_WORDS=(deltasql -j snapshot --ti); COMP_CWORD=3; _deltasql\n"
	           "echo \"${COMPREPLY[*]}\"\n", comp);
	fclose(f);
	ck_assert_int_eq(run_sh(&out, "export D; bash '%s'", script), 0);
	ck_assert_str_eq(out, "create\n--timestamp\n");
	free(out);
	free(man);
	free(comp);
}
END_TEST

START_TEST(small_breaks)
{
	char dir[600], *out;
	json_t *j;
	int lines = 0;

	fresh_catalog();
	/* export creates the missing parents of its directory */
	snprintf(dir, sizeof(dir), "%s/exp-%d/out/new", tu_tmpdir(), (int)getpid());
	ck_assert_int_eq(cli(NULL, NULL, "export fact '%s'", dir), 0);
	ck_assert_int_eq(run_sh(&out, "ls '%s/_delta_log'", dir), 0);
	ck_assert_str_eq(out, "00000000000000000000.json\n");
	free(out);
	/* a date that does not exist is refused, not carried into March */
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim --timestamp 2026-02-31"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim --timestamp 2026-02-29T00:00:00Z"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim --timestamp 2026-04-31"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim --timestamp 2028-02-29T00:00:00Z"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot dim --timestamp 2099-12-31T23:59:59Z"), 0);
	/* vacuum with nothing to list says so */
	ck_assert_int_eq(run_sh(&out, "\"$D\" -c '%s' vacuum fact --retain 0", uri), 0);
	ck_assert_msg(strstr(out, "nothing to vacuum"), "%s", out);
	free(out);
	/* the human stats are a few lines, not the JSON */
	ck_assert_int_eq(run_sh(&out, "echo '{\"tables\": {\"fact\": {\"actions\": [{\"txn\": "
	                              "{\"appId\": \"s\", \"version\": 1}}]}}}' | \"$D\" -c '%s' "
	                              "commit >/dev/null && \"$D\" -c '%s' stats", uri, uri), 0);
	for (const char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	ck_assert_msg(lines <= 6 && !strchr(out, '{') && strstr(out, "commits     3 "), "%s", out);
	free(out);
	ck_assert_int_eq(cli(&j, NULL, "history fact --json"), 0);
	ck_assert_uint_eq(json_array_size(j), 2);
	json_decref(j);
}
END_TEST

START_TEST(sqlite_uris)
{
	char path[500], *out;

	/* a missing catalog file is not created by a command that reads */
	snprintf(path, sizeof(path), "%s/never-made.db", tu_tmpdir());
	snprintf(uri, sizeof(uri), "sqlite:%s", path);
	ck_assert_int_eq(cli(NULL, NULL, "list"), 4);
	ck_assert_int_eq(cli(NULL, NULL, "snapshot t"), 4);
	ck_assert_msg(access(path, F_OK) != 0, "list left a catalog file behind");
	/* percent-encoded paths are decoded; file: URIs name the same file */
	snprintf(uri, sizeof(uri), "sqlite:%s/my%%20lake.db", tu_tmpdir());
	ck_assert_int_eq(cli(NULL, NULL, "init"), 0);
	ck_assert_int_eq(cli(NULL, NULL, "create t"), 0);
	snprintf(path, sizeof(path), "%s/my lake.db", tu_tmpdir());
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(uri, sizeof(uri), "file:%s/my%%20lake.db", tu_tmpdir());
	ck_assert_int_eq(cli(NULL, NULL, "snapshot t"), 0);
	snprintf(uri, sizeof(uri), "file://localhost%s/my%%20lake.db", tu_tmpdir());
	ck_assert_int_eq(cli(NULL, NULL, "snapshot t"), 0);
	snprintf(uri, sizeof(uri), "file://%s/my%%20lake.db?busy_timeout=100", tu_tmpdir());
	ck_assert_int_eq(cli(NULL, NULL, "snapshot t"), 0);
	/* a broken escape is an invalid URI */
	snprintf(uri, sizeof(uri), "sqlite:%s/bad%%2.db", tu_tmpdir());
	ck_assert_int_eq(run_sh(&out, "\"$D\" -c '%s' list", uri), 2);
	ck_assert_ptr_nonnull(strstr(out, "escape"));
	free(out);
}
END_TEST

START_TEST(static_link_through_pkg_config)
{
	char dest[600], src[600], *pc, *out;
	FILE *f;

	snprintf(dest, sizeof(dest), "%s/static-dest", tu_tmpdir());
	ck_assert_int_eq(run_sh(&out, "unset MAKEFLAGS MFLAGS MAKELEVEL; make -s -C \"$(dirname "
	                              "\"$D\")\" install DESTDIR='%s' >/dev/null", dest),
	                 0);
	free(out);
	ck_assert_int_eq(run_sh(&pc, "find '%s' -name deltasql.pc | head -n 1", dest), 0);
	ck_assert_msg(*pc, "no deltasql.pc installed");
	pc[strcspn(pc, "\n")] = '\0';
	snprintf(src, sizeof(src), "%s/static.c", tu_tmpdir());
	f = fopen(src, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#include <deltasql.h>\n#include <stdio.h>\nint main(int argc, char **argv)\n{\n"
	      "\tdsql_catalog *cat;\n\tdsql_error err;\n\t(void)argc;\n"
	      "\tif (dsql_catalog_open(&cat, argv[1], NULL, &err) != DSQL_OK)\n\t\treturn 1;\n"
	      "\tputs(dsql_catalog_driver(cat));\n\tdsql_catalog_free(cat);\n\treturn 0;\n}\n", f);
	fclose(f);
	/* libdeltasql.a and what pkg-config --static says it needs: the
	 * drivers' client libraries must be there */
	ck_assert_int_eq(run_sh(&out, "pc='%s'; prefix=$(dirname \"$(dirname \"$(dirname \"$pc\")\")\"); "
	                              "mkdir -p '%s/pc' && sed \"s|^prefix=.*|prefix=$prefix|\" \"$pc\" "
	                              "> '%s/pc/deltasql.pc' && flags=$(PKG_CONFIG_PATH='%s/pc' "
	                              "pkg-config --static --cflags --libs deltasql) && "
	                              "${CC:-cc} " BUILD_FLAGS " -o '%s/static' '%s' "
	                              "$(echo \"$flags\" | sed 's/-ldeltasql/-l:libdeltasql.a/') && "
	                              "'%s/static' 'sqlite:%s/static.db'",
	                     pc, tu_tmpdir(), tu_tmpdir(), tu_tmpdir(), tu_tmpdir(), src, tu_tmpdir(),
	                     tu_tmpdir()),
	                 0);
	ck_assert_str_eq(out, "sqlite\n");
	free(out);
	free(pc);
}
END_TEST

/* The demo after the README's by-hand build in the source tree. The tree is
 * a stand-in: the demo's scripts, a configure that refuses a configured
 * source tree as autoconf's does, and a make that builds nothing new (the
 * deltasql it finds is this build's). */
static void demo_tree(const char *tree, const char *make_rule)
{
	char *out;

	ck_assert_int_eq(run_sh(&out, "rm -rf '%s' && mkdir -p '%s/scripts' && cp '%s/scripts/demo.sh' "
	                              "'%s/scripts/deps.sh' '%s/scripts/build.sh' '%s/scripts/' && "
	                              "touch '%s/config.status' && printf 'all:\\n\\t%s\\n' > "
	                              "'%s/Makefile' && printf '#!/bin/sh\\nexec \"%s\" \"$@\"\\n' > "
	                              "'%s/deltasql' && printf '#!/bin/sh\\n[ -f \"$(dirname "
	                              "\"$0\")/config.status\" ] && { echo \"configure: error: source "
	                              "directory already configured\"; exit 1; }\\nexit 0\\n' > "
	                              "'%s/configure' && chmod +x '%s/deltasql' '%s/configure'",
	                     tree, tree, SRCDIR, SRCDIR, SRCDIR, tree, tree, make_rule, tree, CLI_PATH,
	                     tree, tree, tree, tree),
	                 0);
	free(out);
}

START_TEST(demo_after_build_by_hand)
{
	char tree[600], *out;

	snprintf(tree, sizeof(tree), "%s/demo-tree", tu_tmpdir());
	demo_tree(tree, "@echo nothing to build");
	ck_assert_int_eq(run_sh(&out, "DEMO_DIR='%s/out' bash '%s/scripts/demo.sh'", tree, tree), 0);
	ck_assert_msg(strstr(out, "demo: catalog at"), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "deltasql history fact_orders"));
	free(out);
	/* a failing build says why */
	demo_tree(tree, "@echo the-build-broke; exit 1");
	ck_assert_int_ne(run_sh(&out, "DEMO_DIR='%s/out' bash '%s/scripts/demo.sh'", tree, tree), 0);
	ck_assert_msg(strstr(out, "the-build-broke"), "%s", out);
	free(out);
}
END_TEST

START_TEST(logging_to_stderr)
{
	const char *doc = "{\"tables\": {\"fact\": {\"actions\": [{\"add\": {\"path\": \"l\", "
	                  "\"size\": 1, \"modificationTime\": 1, \"dataChange\": true, "
	                  "\"partitionValues\": {}}}]}}}";
	char *out, *line;
	int n = 0, conflicts = 0;
	json_t *j;

	fresh_catalog();
	/* Nothing is logged by default. */
	ck_assert_int_eq(run_sh(&out, "echo '%s' | \"$D\" -c '%s' commit 2>&1 >/dev/null", doc, uri),
	                 0);
	ck_assert_str_eq(out, "");
	free(out);
	/* DELTASQL_LOG=info: a text line per commit, with its fields. */
	ck_assert_int_eq(run_sh(&out, "echo '%s' | sed s/\\\"l\\\"/\\\"l2\\\"/ | DELTASQL_LOG=info "
	                              "\"$D\" -c '%s' commit 2>&1 >/dev/null", doc, uri),
	                 0);
	ck_assert_msg(strstr(out, " info commit: committed ") && strstr(out, " versions=\"fact=2\" ") && strstr(out, " attempts=1 "), "%s", out);
	free(out);
	/* --log-level / --log-format json: JSON lines; a conflict names its
	 * rule, table and winning version. */
	ck_assert_int_eq(run_sh(&out, "echo '{\"isolation\": \"serializable\", \"tables\": {\"fact\": "
	                              "{\"read_version\": 0, \"read\": "
	                              "{\"whole_table\": true}, \"actions\": [{\"add\": {\"path\": \"c\", "
	                              "\"size\": 1, \"modificationTime\": 1, \"dataChange\": true, "
	                              "\"partitionValues\": {}}}]}}}' | \"$D\" -c '%s' commit "
	                              "--log-level=debug --log-format json 2>&1 >/dev/null | grep '^{'",
	                     uri),
	                 0);
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		j = json_loads(line, 0, NULL);
		ck_assert_msg(j, "not a JSON line: %s", line);
		ck_assert(json_is_string(json_object_get(j, "time")));
		ck_assert(json_is_string(json_object_get(j, "message")));
		if (strcmp(json_string_value(json_object_get(j, "event")), "conflict") == 0) {
			conflicts++;
			ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "warn");
			ck_assert_str_eq(json_string_value(json_object_get(j, "rule")), "concurrent_append");
			ck_assert_str_eq(json_string_value(json_object_get(j, "table")), "fact");
			ck_assert_str_eq(json_string_value(json_object_get(j, "winning_version")), "1");
		}
		json_decref(j);
		n++;
	}
	ck_assert_int_eq(conflicts, 1);
	free(out);
	/* expire and vacuum tell what they did */
	ck_assert_int_eq(run_sh(&out, "DELTASQL_LOG=info \"$D\" -c '%s' expire fact "
	                              "--keep-versions 1 2>&1 >/dev/null; DELTASQL_LOG=info \"$D\" -c "
	                              "'%s' vacuum fact --retain 0 2>&1 >/dev/null", uri, uri),
	                 0);
	ck_assert_msg(strstr(out, " info expire: ") && strstr(out, "versions_expired=2") &&
	              strstr(out, " info vacuum: ") && strstr(out, "files_listed=0"), "%s", out);
	free(out);
	/* a bad level is a usage error */
	ck_assert_int_eq(cli(NULL, NULL, "list --log-level=loud"), 2);
	ck_assert_int_eq(run_sh(&out, "DELTASQL_LOG=loud \"$D\" -c '%s' list", uri), 2);
	free(out);
	(void)n;
}
END_TEST

START_TEST(stats_across_processes)
{
	char *out, *line;
	json_t *j;
	int samples = 0, ok = 0;

	fresh_catalog();
	/* 8 processes commit at once, on a busy timeout of 0: some of them
	 * retry; every one of them is in the catalog's figures */
	ck_assert_int_eq(run_sh(&out, "for i in 1 2 3 4 5 6 7 8; do echo '{\"tables\": {\"fact\": "
	                              "{\"actions\": [{\"add\": {\"path\": \"p'$i'\", \"size\": 1, "
	                              "\"modificationTime\": 1, \"dataChange\": true, "
	                              "\"partitionValues\": {}}}]}}}' | \"$D\" -c '%s?busy_timeout=0'"
	                              " commit >/dev/null && echo ok & done; wait", uri),
	                 0);
	/* (a process whose open met the lock fails before committing) */
	for (const char *p = out; (p = strstr(p, "ok")); p++)
		ok++;
	free(out);
	ck_assert_int_gt(ok, 0);
	ck_assert_int_eq(cli(&j, NULL, "stats -j --since=1h"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "commits")), 2 + ok);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "max_attempts")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "retries")) > 0,
	                 json_integer_value(json_object_get(j, "max_attempts")) > 1);
	ck_assert(json_real_value(json_object_get(j, "commits_per_second")) > 0);
	json_decref(j);
	ck_assert_int_eq(cli(&j, NULL, "stats fact --json"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "commits")), 1 + ok);
	ck_assert_str_eq(json_string_value(json_object_get(j, "table")), "fact");
	json_decref(j);
	ck_assert_int_eq(cli(NULL, NULL, "stats nosuch"), 4);
	ck_assert_int_eq(cli(NULL, NULL, "stats --since=soon"), 2);
	ck_assert_int_eq(cli(NULL, NULL, "stats --since 5x"), 2);
	/* Prometheus' text format: HELP/TYPE comments, then name{labels} value */
	ck_assert_int_eq(run_sh(&out, "\"$D\" -c '%s' stats --prometheus --since 2h", uri), 0);
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char name[128];
		double v;

		if (line[0] == '#') {
			ck_assert_msg(strncmp(line, "# HELP deltasql_", 16) == 0 ||
			              strncmp(line, "# TYPE deltasql_", 16) == 0, "%s", line);
			continue;
		}
		ck_assert_msg(sscanf(line, "%127[a-z_]{", name) == 1 && strstr(line, "} ") &&
		              sscanf(strstr(line, "} ") + 2, "%lf", &v) == 1, "not a sample: %s", line);
		ck_assert_ptr_nonnull(strstr(line, "window_seconds=\"7200\""));
		if (strcmp(name, "deltasql_commits") == 0)
			ck_assert_double_eq(v, 2 + ok);
		samples++;
	}
	ck_assert_int_ge(samples, 8);
	free(out);
	/* the human form is a few lines */
	ck_assert_int_eq(run_sh(&out, "\"$D\" -c '%s' stats", uri), 0);
	ck_assert_msg(strstr(out, "commits     ") && !strchr(out, '{'), "%s", out);
	free(out);
}
END_TEST

/* Log text is whoever wrote it: history's human output escapes control
 * characters (an ANSI sequence would drive the terminal); --json keeps it. */
START_TEST(history_escapes_control_characters)
{
	char cmd[1200], *text = NULL;
	json_t *j;

	fresh_catalog();
	ck_assert_int_eq(cli(NULL, "{\"tables\": {\"fact\": {\"actions\": ["
	                           "{\"commitInfo\": {\"operation\": \"WRITE\\u001b]0;owned\\u0007"
	                           "\\u001b[2J\\u0085\"}},"
	                           "{\"add\": {\"path\": \"e.parquet\", \"partitionValues\": {},"
	                           " \"size\": 1, \"modificationTime\": 1, \"dataChange\": true}}]}}}",
	                     "commit"),
	                 0);
	snprintf(cmd, sizeof(cmd), "'%s' --catalog '%s' history fact", CLI_PATH, uri);
	ck_assert_int_eq(tu_run(cmd, NULL, &text), 0);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(!strchr(text, '\033') && !strchr(text, '\a') && !strstr(text, "\xc2\x85"),
	              "raw control characters in: %s", text);
	ck_assert_msg(strstr(text, "WRITE\\x1b]0;owned\\x07\\x1b[2J\\x85"), "%s", text);
	free(text);
	ck_assert_int_eq(cli(&j, NULL, "history fact --json"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 1), "operation")),
	                 "WRITE\033]0;owned\a\033[2J\xc2\x85");
	json_decref(j);
}
END_TEST

/* A commit of 20 000 adds in each of two tables has one time: snapshot
 * --timestamp of either table at that time shows the commit, a millisecond
 * before it shows neither (each table's time was taken while it was
 * written, ~150 ms apart). */
START_TEST(multi_table_commit_one_timestamp)
{
	size_t cap = 64 + 2 * 20000 * 140, n = 0;
	char *doc = malloc(cap);
	json_t *j;
	int64_t ts[2];
	const char *names[2] = {"fact", "other"};

	fresh_catalog();
	ck_assert_int_eq(cli(NULL, NULL, "create other"), 0);
	ck_assert_ptr_nonnull(doc);
	n += (size_t)snprintf(doc + n, cap - n, "{\"tables\": {");
	for (int k = 0; k < 2; k++) {
		n += (size_t)snprintf(doc + n, cap - n, "%s\"%s\": {\"actions\": [", k ? ", " : "",
		                      names[k]);
		for (int i = 0; i < 20000; i++)
			n += (size_t)snprintf(doc + n, cap - n,
			                      "%s{\"add\": {\"path\": \"f%05d\", \"partitionValues\": {},"
			                      " \"size\": 1, \"modificationTime\": 1, \"dataChange\": true}}",
			                      i ? ", " : "", i);
		n += (size_t)snprintf(doc + n, cap - n, "]}");
	}
	snprintf(doc + n, cap - n, "}}");
	ck_assert_int_eq(cli(NULL, doc, "commit"), 0);
	free(doc);
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(cli(&j, NULL, "history %s --json", names[k]), 0);
		ts[k] = json_integer_value(json_object_get(json_array_get(j, 1), "timestamp_ms"));
		json_decref(j);
	}
	ck_assert_msg(ts[0] == ts[1], "fact at %lld, other at %lld", (long long)ts[0],
	              (long long)ts[1]);
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(cli(&j, NULL, "snapshot %s --timestamp %lld --json", names[k],
		                     (long long)ts[0]), 0);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 1);
		json_decref(j);
		ck_assert_int_eq(cli(&j, NULL, "snapshot %s --timestamp %lld --json", names[k],
		                     (long long)ts[0] - 1), 0);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 0);
		json_decref(j);
	}
}
END_TEST

/* A protocol deltasql does not implement is input it cannot take: exit 2,
 * as invalid input. */
START_TEST(unsupported_protocol_exits_2)
{
	fresh_catalog();
	ck_assert_int_eq(cli(NULL, "{\"tables\": {\"fact\": {\"actions\": [{\"protocol\": "
	                           "{\"minReaderVersion\": 1, \"minWriterVersion\": 8}}]}}}",
	                     "commit"),
	                 2);
	ck_assert_int_eq(cli(NULL, "{\"tables\": {\"fact\": {\"actions\": [{\"protocol\": "
	                           "{\"minReaderVersion\": 3, \"minWriterVersion\": 7,"
	                           " \"readerFeatures\": [], \"writerFeatures\":"
	                           " [\"someFutureWriterFeature\"]}}]}}}",
	                     "commit"),
	                 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("contract");
	int failed;

	tcase_add_test(tc, init_create_list);
	tcase_add_test(tc, commit_snapshot_history_json);
	tcase_add_test(tc, changes_between_versions);
	tcase_add_test(tc, exit_codes);
	tcase_add_test(tc, conflict_exit_code_and_json);
	tcase_add_test(tc, read_sets_isolation_and_stats);
	tcase_add_test(tc, application_sql_in_commit);
	tcase_add_test(tc, expire_and_vacuum_delete_only_under_location);
	tcase_add_test(tc, import_progress_on_a_terminal_only);
	tcase_add_test(tc, hostile_input);
	tcase_add_test(tc, help_per_command_touches_nothing);
	tcase_add_test(tc, options_getopt_long);
	tcase_add_test(tc, man_page_and_completion_install);
	tcase_add_test(tc, small_breaks);
	tcase_add_test(tc, sqlite_uris);
	tcase_add_test(tc, static_link_through_pkg_config);
	tcase_add_test(tc, demo_after_build_by_hand);
	tcase_add_test(tc, logging_to_stderr);
	tcase_add_test(tc, stats_across_processes);
	tcase_add_test(tc, history_escapes_control_characters);
	tcase_add_test(tc, unsupported_protocol_exits_2);
	tcase_add_test(tc, multi_table_commit_one_timestamp);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	failed = tu_run_suite(s);
	return failed;
}
