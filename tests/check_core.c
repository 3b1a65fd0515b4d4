/* Unit tests of the core that need no database: the action model, ids,
 * names, isolation levels, status names. */
#include <check.h>
#include <deltasql.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <deltasql/driver.h>
#include <stddef.h>

#include "action.h"
#include "delta_path.h"
#include "partition.h"
#include "util.h"

START_TEST(parses_each_action_kind)
{
	static const struct {
		const char *json;
		action_kind kind;
	} ok[] = {
		{"{\"add\":{\"path\":\"a\",\"size\":1,\"modificationTime\":2,\"dataChange\":true,"
		 "\"partitionValues\":{\"p\":null},\"stats\":\"{}\"}}", ACT_ADD},
		{"{\"remove\":{\"path\":\"a\",\"dataChange\":false}}", ACT_REMOVE},
		{"{\"metaData\":{\"id\":\"i\",\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
		 "\\\"fields\\\":[]}\",\"partitionColumns\":[],\"configuration\":{}}}", ACT_METADATA},
		{"{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
		 "\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[]}}", ACT_PROTOCOL},
		{"{\"txn\":{\"appId\":\"x\",\"version\":3,\"lastUpdated\":5}}", ACT_TXN},
		{"{\"domainMetadata\":{\"domain\":\"d\",\"configuration\":\"{}\",\"removed\":false}}",
		 ACT_DOMAIN},
		{"{\"commitInfo\":{\"anything\":[1,2,{}]}}", ACT_COMMITINFO},
		{"{\"cdc\":{\"path\":\"c\",\"size\":3,\"dataChange\":false,\"partitionValues\":{}}}",
		 ACT_CDC},
	};
	dsql_error err;
	action a;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(action_parse_text(&a, ok[i].json, &err) == DSQL_OK, "%s: %s", ok[i].json,
		              err.message);
		ck_assert_int_eq(a.kind, ok[i].kind);
		action_clear(&a);
	}
}
END_TEST

START_TEST(extracts_file_identity)
{
	dsql_error err;
	action a;
	const char *text;
	size_t len;

	ck_assert_int_eq(action_parse_text(&a,
	                                   "{\"remove\":{\"path\":\"f\",\"dataChange\":true,"
	                                   "\"deletionVector\":{\"storageType\":\"u\","
	                                   "\"pathOrInlineDv\":\"ab\",\"offset\":4,"
	                                   "\"sizeInBytes\":1,\"cardinality\":2}}}",
	                                   &err),
	                 DSQL_OK);
	ck_assert_str_eq(a.path, "f");
	ck_assert_str_eq(a.dv_id, "uab@4");
	ck_assert_int_eq(a.data_change, 1);
	/* The action is kept verbatim. */
	text = action_line(&a, &len);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert(strstr(text, "\"sizeInBytes\":1"));
	action_clear(&a);
}
END_TEST

/* The stored text of an action is jansson's compact rendering of it,
 * byte for byte, whether the caller's text was kept as it came (already
 * compact) or rendered again (anything else). */
START_TEST(stored_text_is_the_compact_rendering)
{
	static const char *const lines[] = {
		"{\"add\":{\"path\":\"a\",\"size\":1,\"dataChange\":true,\"partitionValues\":{}}}",
		"{ \"add\" : {\"path\":\"a\",\"size\":1,\"dataChange\":true,"
		"\"partitionValues\":{\"p\":null}} }",
		"{\"add\":{\"path\":\"a\\/b\",\"size\":-0,\"dataChange\":false,"
		"\"partitionValues\":{},\"x\":1.50,\"y\":1e3,\"z\":[]}}",
		"{\"add\":{\"path\":\"\\u00e9\\u0001\\\"q\\\\\\n\\t\",\"size\":12,"
		"\"partitionValues\":{},\"stats\":\"{\\\"numRecords\\\":3}\",\"tags\":{\"k\":\"v\"}}}",
		"{\"add\":{\"path\":\"\xc3\xa9 \x7f\",\"size\":0,\"partitionValues\":{},"
		"\"modificationTime\":-5}}",
		"{\"remove\":{\"path\":\"r\",\"deletionTimestamp\":5,\"dataChange\":true}}",
		"{\"commitInfo\":{\"operation\":\"WRITE\",\"n\":[1,-2,{\"a\":true,\"b\":false}]}}",
		"{\"txn\":{\"appId\":\"etl\",\"version\":3}}",
		"{\n\"txn\":{\"appId\":\"etl\",\"version\":3,\"lastUpdated\":1}\n}",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		dsql_error err;
		action a;
		json_t *j = json_loads(lines[i], 0, NULL);
		char *want = json_dumps(j, JSON_COMPACT), *body;
		const char *got, *b;
		size_t len, blen;
		int rc = action_parse_text(&a, lines[i], &err);

		ck_assert_msg(rc == DSQL_OK || rc == DSQL_EINVALID, "line %zu: %d", i, rc);
		if (rc == DSQL_OK) {
			got = action_line(&a, &len);
			ck_assert_msg(strcmp(got, want) == 0, "line %zu: stored %s, jansson %s", i, got,
			              want);
			ck_assert_uint_eq(len, strlen(want));
			b = action_body(&a, &blen);
			body = json_dumps(json_object_get(j, action_kind_name(a.kind)), JSON_COMPACT);
			ck_assert_uint_eq(blen, strlen(body));
			ck_assert(memcmp(b, body, blen) == 0);
			free(body);
			action_clear(&a);
		}
		free(want);
		json_decref(j);
	}
}
END_TEST

START_TEST(rejects_malformed_actions)
{
	static const struct {
		const char *json, *needle;
	} bad[] = {
		{"[1]", "exactly one key"},
		{"{\"add\":{},\"remove\":{}}", "exactly one key"},
		{"{\"add\":[]}", "must be an object"},
		{"{\"add\":{\"path\":\"\",\"size\":1}}", "empty"},
		{"{\"add\":{\"path\":1,\"size\":1}}", "must be a string"},
		{"{\"add\":{\"path\":\"a\"}}", "missing \"size\""},
		{"{\"add\":{\"path\":\"a\",\"size\":1.5}}", "integer"},
		{"{\"add\":{\"path\":\"a\",\"size\":1,\"dataChange\":\"yes\"}}", "true or false"},
		{"{\"add\":{\"path\":\"a\",\"size\":1,\"partitionValues\":{\"p\":1}}}", "string"},
		{"{\"protocol\":{\"minReaderVersion\":0,\"minWriterVersion\":2}}", "too small"},
		{"{\"txn\":{\"appId\":\"a\"}}", "missing \"version\""},
		{"{\"metaData\":{\"id\":\"i\",\"schemaString\":\"[]\"}}", "struct"},
		{"{\"checkpointMetadata\":{}}", "not a Delta action"},
		{"{\"add\":{\"path\":\"a\",\"size\":1", "malformed"},
		{"{\"add\":{\"path\":\"a\",\"path\":\"b\",\"size\":1}}", "malformed"},
	};
	dsql_error err;
	action a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(action_parse_text(&a, bad[i].json, &err) == DSQL_EINVALID, "%s accepted",
		              bad[i].json);
		ck_assert_msg(strstr(err.message, bad[i].needle), "%s: '%s' lacks '%s'", bad[i].json,
		              err.message, bad[i].needle);
	}
}
END_TEST

static json_t *kv_object(const dsql_key_value *kv, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, kv[i].key, kv[i].value ? json_string(kv[i].value) : json_null());
	return o;
}

/* What jansson writes for a file action built from the same fields, key
 * for key in the order file_action.c writes them. */
static char *expected_line(action_kind kind, const dsql_file_action *f)
{
	json_t *body = json_object(), *line = json_object();
	int add = kind == ACT_ADD;
	char *text;

	json_object_set_new(body, "path", json_string(f->path));
	if (add) {
		json_object_set_new(body, "partitionValues",
		                    kv_object(f->partition_values, f->n_partition_values));
		json_object_set_new(body, "size", json_integer(f->size));
		json_object_set_new(body, "modificationTime", json_integer(f->timestamp_ms));
	} else if (f->timestamp_ms >= 0) {
		json_object_set_new(body, "deletionTimestamp", json_integer(f->timestamp_ms));
	}
	json_object_set_new(body, "dataChange", json_boolean(f->data_change));
	if (!add && f->n_partition_values)
		json_object_set_new(body, "partitionValues",
		                    kv_object(f->partition_values, f->n_partition_values));
	if (!add && f->size >= 0)
		json_object_set_new(body, "size", json_integer(f->size));
	if (f->stats)
		json_object_set_new(body, "stats", json_string(f->stats));
	if (f->n_tags)
		json_object_set_new(body, "tags", kv_object(f->tags, f->n_tags));
	if (f->deletion_vector) {
		const dsql_deletion_vector *d = f->deletion_vector;
		json_t *dv = json_pack("{s:s, s:s}", "storageType", d->storage_type, "pathOrInlineDv",
		                       d->path_or_inline_dv);

		if (d->offset >= 0)
			json_object_set_new(dv, "offset", json_integer(d->offset));
		json_object_set_new(dv, "sizeInBytes", json_integer(d->size_in_bytes));
		json_object_set_new(dv, "cardinality", json_integer(d->cardinality));
		json_object_set_new(body, "deletionVector", dv);
	}
	if (f->base_row_id >= 0)
		json_object_set_new(body, "baseRowId", json_integer(f->base_row_id));
	if (f->default_row_commit_version >= 0)
		json_object_set_new(body, "defaultRowCommitVersion",
		                    json_integer(f->default_row_commit_version));
	json_object_set_new(line, action_kind_name(kind), body);
	text = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	return text;
}

/* A typed add or remove is stored as the line it stands for: jansson's
 * compact rendering of the same fields, byte for byte (every escape
 * included), and reads back with the same identity. */
START_TEST(typed_file_action_is_the_line_it_stands_for)
{
	static const dsql_key_value pv[] = {
		{"p", "a\"b\\c"}, {"q", NULL}, {"\xc3\xa9t\xc3\xa9", "\x01\x1f\x7f"}};
	static const dsql_key_value tags[] = {
		{"INSERTION_TIME", "1700000000000000"}, {"t", "\n\r\t\b\f"}};
	static const dsql_deletion_vector dv = {"u", "ab^-aqEH.-t@S}K{vb[*k^", 4, 40, 6};
	static const dsql_deletion_vector inline_dv = {
		"i", "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L", -1, 40, 1};
	dsql_file_action cases[6];
	action_kind kinds[6] = {ACT_ADD, ACT_ADD, ACT_ADD, ACT_REMOVE, ACT_REMOVE, ACT_REMOVE};
	const char *dv_ids[6] = {"", "uab^-aqEH.-t@S}K{vb[*k^@4", "", "", "uab^-aqEH.-t@S}K{vb[*k^@4", ""};

	for (size_t i = 0; i < 6; i++) {
		dsql_file_action init = DSQL_FILE_ACTION_INIT;

		cases[i] = init;
	}
	/* The writer's usual add; every field; a path that needs escapes. */
	cases[0].path = "part-00000-c0ffee.snappy.parquet";
	cases[0].size = 104857;
	cases[0].timestamp_ms = 1700000000000;
	cases[0].stats = "{\"numRecords\":1000,\"minValues\":{\"ts\":\"2024-01-01T00:00:00Z\"}}";
	cases[1].path = "p=a%22b/part-1.parquet";
	cases[1].partition_values = pv;
	cases[1].n_partition_values = 3;
	cases[1].size = 0;
	cases[1].timestamp_ms = 0;
	cases[1].data_change = 0;
	cases[1].stats = "{\"numRecords\":3,\"tightBounds\":false}";
	cases[1].tags = tags;
	cases[1].n_tags = 2;
	cases[1].deletion_vector = &dv;
	cases[1].base_row_id = 12;
	cases[1].default_row_commit_version = 3;
	cases[2].path = "\"q\"\\\x01\n\t\xf0\x9f\x98\x80 \x7f";
	cases[2].size = 1;
	cases[2].timestamp_ms = 2;
	cases[2].deletion_vector = &inline_dv;
	/* Removes: bare; with everything; with a size but no time. */
	cases[3].path = "r";
	cases[4].path = "s";
	cases[4].timestamp_ms = 1700000000001;
	cases[4].data_change = 0;
	cases[4].partition_values = pv;
	cases[4].n_partition_values = 2;
	cases[4].size = 77;
	cases[4].deletion_vector = &dv;
	cases[5].path = "t";
	cases[5].size = 5;
	dv_ids[2] = "iwi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L";

	for (size_t i = 0; i < 6; i++) {
		char *want = expected_line(kinds[i], &cases[i]);
		const char *got;
		dsql_error err;
		action a, back;
		size_t len;

		ck_assert_msg(action_from_file(&a, kinds[i], &cases[i], &err) == DSQL_OK, "case %zu: %s",
		              i, err.message);
		got = action_line(&a, &len);
		ck_assert_msg(strcmp(got, want) == 0, "case %zu:\n typed   %s\n jansson %s", i, got,
		              want);
		ck_assert_uint_eq(len, strlen(want));
		ck_assert_int_eq(a.kind, kinds[i]);
		{
			char *canon = NULL; /* the line keeps the given spelling, the key is canonical */

			ck_assert_int_eq(delta_path_canonical(cases[i].path, &canon, NULL), DSQL_OK);
			ck_assert_str_eq(a.path, canon ? canon : cases[i].path);
			free(canon);
		}
		ck_assert_str_eq(a.dv_id, dv_ids[i]);
		ck_assert_int_eq(a.data_change, cases[i].data_change);
		/* The line reads back as the same file. */
		ck_assert_msg(action_parse_text(&back, got, &err) == DSQL_OK, "case %zu: %s", i,
		              err.message);
		ck_assert_str_eq(back.path, a.path);
		ck_assert_str_eq(back.dv_id, a.dv_id);
		ck_assert_int_eq(back.size, a.size);
		ck_assert_int_eq(back.data_change, a.data_change);
		if (kinds[i] == ACT_ADD)
			ck_assert_uint_eq(action_partition_value_count(&back),
			                  action_partition_value_count(&a));
		action_clear(&back);
		free(want);
		action_clear(&a);
	}
}
END_TEST

/* Every ASCII character, and multi-byte ones of each length, in each kind
 * of string the writer escapes: the same bytes as jansson's encoder. */

/* Delta paths canonicalised by Delta's rules: decoded once, "." and
 * empty segments dropped (not under a scheme), encoded again escaping
 * exactly what a URI path may not hold; %00 and broken escapes refused. */
START_TEST(delta_paths_are_canonical)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
		{"part-00000-c0ffee.snappy.parquet", "part-00000-c0ffee.snappy.parquet"},
		{"./live.parquet", "live.parquet"},
		{"live2%2Eparquet", "live2.parquet"},
		{"live2%2eparquet", "live2.parquet"},
		{"a//b/./c.parquet", "a/b/c.parquet"},
		{"a%2Fb", "a/b"},
		{"p=a b/f", "p=a%20b/f"},
		{"p=a%20b/f", "p=a%20b/f"},
		{"p=a%2520b/f", "p=a%2520b/f"},
		{"p=%3d/f", "p==/f"},
		{"p=%c3%a9/f", "p=\xc3\xa9/f"},
		{"p=\xc3\xa9/f", "p=\xc3\xa9/f"},
		{"q%3f#x", "q%3F%23x"},
		{"../outside.parquet", "../outside.parquet"},
		{"/abs//x.parquet", "/abs/x.parquet"},
		{"s3://bucket//key", "s3://bucket//key"},
		{"file:///tmp/a%2Eb", "file:///tmp/a.b"},
		{"live.parquet%00junk", NULL},
		{"a%zz", NULL},
		{"a%2", NULL},
		{"a%", NULL},
		{"./", NULL},
		{"%2E", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dsql_error err;
		char *out = NULL;
		int rc = delta_path_canonical(cases[i].in, &out, &err);

		if (!cases[i].out) {
			ck_assert_msg(rc == DSQL_EINVALID, "'%s' accepted", cases[i].in);
			continue;
		}
		ck_assert_msg(rc == DSQL_OK, "'%s': %s", cases[i].in, err.message);
		ck_assert_msg(strcmp(out ? out : cases[i].in, cases[i].out) == 0, "'%s' -> '%s', not '%s'",
		              cases[i].in, out ? out : cases[i].in, cases[i].out);
		/* Canonical is a fixed point, and said so without an allocation. */
		ck_assert_int_eq(strcmp(cases[i].in, cases[i].out) == 0, out == NULL);
		free(out);
		ck_assert_int_eq(delta_path_canonical(cases[i].out, &out, &err), DSQL_OK);
		ck_assert_ptr_null(out);
	}
}
END_TEST

START_TEST(typed_strings_are_escaped_as_jansson_escapes_them)
{
	static const char *const wide[] = {"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xef\xbf\xbf",
	                                   "\xe2\x80\xa8", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"};
	dsql_key_value kv = {"k", NULL};
	dsql_file_action f = DSQL_FILE_ACTION_INIT;
	char s[16], p[16];

	f.size = 1;
	f.timestamp_ms = 1;
	f.path = p;
	f.stats = s;
	f.partition_values = &kv;
	f.n_partition_values = 1;
	f.tags = &kv;
	f.n_tags = 1;
	kv.value = s;
	for (int c = 1; c < 128 + (int)(sizeof(wide) / sizeof(wide[0])); c++) {
		char *want;
		dsql_error err;
		action a;
		size_t len;

		if (c < 128)
			snprintf(s, sizeof(s), "a%cb", c);
		else
			snprintf(s, sizeof(s), "a%sb", wide[c - 128]);
		/* A path's '%' starts an escape (a lone one is refused). */
		snprintf(p, sizeof(p), "%s", c == '%' ? "a%25b" : s);
		want = expected_line(ACT_ADD, &f);
		ck_assert_msg(action_from_file(&a, ACT_ADD, &f, &err) == DSQL_OK, "%d: %s", c,
		              err.message);
		ck_assert_msg(strcmp(action_line(&a, &len), want) == 0, "character %d:\n %s\n %s", c,
		              action_line(&a, &len), want);
		action_clear(&a);
		free(want);
	}
}
END_TEST

/* The commit's partition check sees a typed add's columns and values as
 * it sees a parsed line's ("" and null both null). */
START_TEST(typed_add_knows_its_partition_values)
{
	static const dsql_key_value pv[] = {
		{"day", "country"}, {"country", NULL}, {"region", ""}, {"n", "7"}};
	dsql_file_action f = DSQL_FILE_ACTION_INIT;
	const char *v;
	dsql_error err;
	action typed, parsed;

	f.path = "x";
	f.size = 1;
	f.timestamp_ms = 1;
	f.partition_values = pv;
	f.n_partition_values = 4;
	ck_assert_int_eq(action_from_file(&typed, ACT_ADD, &f, &err), DSQL_OK);
	ck_assert_int_eq(action_parse_text(&parsed, action_line(&typed, &(size_t){0}), &err),
	                 DSQL_OK);
	for (int i = 0; i < 2; i++) {
		const action *a = i ? &parsed : &typed;

		ck_assert_uint_eq(action_partition_value_count(a), 4);
		v = "unset";
		ck_assert(action_partition_value(a, "day", &v));
		ck_assert_str_eq(v, "country");
		ck_assert(action_partition_value(a, "country", &v));
		ck_assert_ptr_null(v);
		v = "unset";
		ck_assert(action_partition_value(a, "region", &v));
		ck_assert_ptr_null(v);
		ck_assert(action_partition_value(a, "n", &v));
		ck_assert_str_eq(v, "7");
		ck_assert(action_partition_value(a, "n", NULL));
		v = "unset";
		ck_assert(!action_partition_value(a, "da", &v));
		ck_assert_ptr_null(v);
		ck_assert(!action_partition_value(a, "7", NULL));
		ck_assert(!action_partition_value(a, "x", NULL));
	}
	action_clear(&typed);
	action_clear(&parsed);
	f.n_partition_values = 0;
	ck_assert_int_eq(action_from_file(&typed, ACT_ADD, &f, &err), DSQL_OK);
	ck_assert_uint_eq(action_partition_value_count(&typed), 0);
	ck_assert(!action_partition_value(&typed, "day", NULL));
	action_clear(&typed);
}
END_TEST

/* Partition values as Delta serializes them, per type: what writers
 * write reads, what no reader could use is refused. */
START_TEST(partition_values_read_as_their_type)
{
	static const struct {
		const char *type, *ok[12], *bad[12];
	} cases[] = {
		{"integer", {"0", "-2147483648", "2147483647", "+7", "007"},
		 {"x", "2147483648", "-2147483649", "1.5", " 1", "1 ", "-", "1e3", "0x10"}},
		{"byte", {"-128", "127"}, {"128", "-129", "a"}},
		{"short", {"-32768", "32767"}, {"32768"}},
		{"long", {"-9223372036854775808", "9223372036854775807"},
		 {"9223372036854775808", "1L"}},
		{"double", {"1.5", "-0.0", "1.0E10", "NaN", "Infinity", "-Infinity", "3", "inf", "+INF"},
		 {"x", "1.5x", " 1", "1,5", "Infinit", "Infinityy", "0x1p3", "nan1"}},
		{"float", {"1.25", "1e-3"}, {"one"}},
		{"decimal(10,2)", {"12.34", "-1", "0E-18", ".5", "5.", "+1.0e+3"},
		 {"1.2.3", "x", ".", "1e", "1,0", "NaN"}},
		{"boolean", {"true", "false", "TRUE", "False"}, {"1", "yes", "t", "truee"}},
		{"date", {"1970-01-01", "2024-02-29", "2000-02-29", "0001-12-31", "-0044-03-15",
		          "10000-01-01"},
		 {"1970-1-01", "1970-13-01", "1970-00-10", "1970-01-32", "2023-02-29",
		  "1900-02-29", "1970-04-31", "70-01-01", "1970-01-01 ", "1970/01/01"}},
		{"timestamp", {"1970-01-01 00:00:00", "1970-01-01 00:00:00.123456",
		               "2026-12-03T14:33:35.046Z", "2026-12-03T14:33:35+01:00",
		               "2026-12-03 23:59:59.123456789", "2026-12-03 01:02:03-0530",
		               "2026-12-03 01:02:03+05"},
		 {"1970-01-01", "1970-01-01 24:00:00", "1970-01-01 00:60:00", "1970-01-01 00:00",
		  "1970-01-01 00:00:00.", "1970-01-01 00:00:00.1234567890", "1970-01-01 00:00:00ZZ",
		  "1970-01-01 00:00:00+05:", "1970-01-01 00:00:00 UTC", "1970-01-01x00:00:00"}},
		{"timestamp_ntz", {"2026-12-03 14:33:35"}, {"14:33:35"}},
		{"string", {"x", " ", "a\nb", "2147483648"}, {NULL}},
		{"binary", {"\x01\x02"}, {NULL}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t j = 0; j < 12 && cases[i].ok[j]; j++)
			ck_assert_msg(partition_value_ok(cases[i].type, cases[i].ok[j]),
			              "'%s' must read as a %s", cases[i].ok[j], cases[i].type);
		for (size_t j = 0; j < 12 && cases[i].bad[j]; j++)
			ck_assert_msg(!partition_value_ok(cases[i].type, cases[i].bad[j]),
			              "'%s' must not read as a %s", cases[i].bad[j], cases[i].type);
		/* Null, and "" (Delta's null), are values of every type. */
		ck_assert(partition_value_ok(cases[i].type, NULL));
		ck_assert(partition_value_ok(cases[i].type, ""));
	}
	/* A type it does not know, or none (a complex type), takes anything. */
	ck_assert(partition_value_ok("geography", "x"));
	ck_assert(partition_value_ok(NULL, "x"));
}
END_TEST

/* Each bad field is refused with a message that names it. */
START_TEST(typed_file_action_rejects_bad_fields)
{
	static const dsql_key_value dup[] = {{"p", "1"}, {"p", "2"}};
	static const dsql_key_value bad_key[] = {{NULL, "1"}};
	static const dsql_key_value empty_key[] = {{"", "1"}};
	static const dsql_key_value bad_value[] = {{"p", "\xff"}};
	static const dsql_deletion_vector dv_no_type = {NULL, "x", -1, 1, 1};
	static const dsql_deletion_vector dv_bad_card = {"u", "x", -1, 1, -3};
	static const dsql_deletion_vector dv_bad_offset = {"u", "x", -2, 1, 1};
	enum { N = 19 };
	const char *needles[N] = {
		"path is NULL", "path is empty", "path is not valid UTF-8", "path is not valid UTF-8",
		"size is required", "size is negative", "timestamp_ms is required",
		"partition_values has 'p' twice", "partition_values key 0 is NULL",
		"partition_values key 0 is empty", "partition_values value of 'p' is not valid",
		"partition_values: 2 entries but no array", "stats is not valid UTF-8",
		"tags has 'p' twice", "deletion_vector.storage_type is NULL",
		"deletion_vector.cardinality is negative", "deletion_vector.offset is negative",
		"base_row_id is negative", "unknown dsql_file_action version",
	};
	dsql_file_action f[N];
	dsql_error err;
	action a;

	for (int i = 0; i < N; i++) {
		dsql_file_action init = DSQL_FILE_ACTION_INIT;

		f[i] = init;
		f[i].path = "ok";
		f[i].size = 1;
		f[i].timestamp_ms = 1;
	}
	f[0].path = NULL;
	f[1].path = "";
	f[2].path = "\xc0\xaf";          /* overlong '/' */
	f[3].path = "a\xed\xa0\x80";     /* a surrogate */
	f[4].size = -1;
	f[5].size = -7;
	f[6].timestamp_ms = -1;
	f[7].partition_values = dup;
	f[7].n_partition_values = 2;
	f[8].partition_values = bad_key;
	f[8].n_partition_values = 1;
	f[9].partition_values = empty_key;
	f[9].n_partition_values = 1;
	f[10].partition_values = bad_value;
	f[10].n_partition_values = 1;
	f[11].n_partition_values = 2;
	f[12].stats = "{\"x\":\"\xe2\x82\"}";
	f[13].tags = dup;
	f[13].n_tags = 2;
	f[14].deletion_vector = &dv_no_type;
	f[15].deletion_vector = &dv_bad_card;
	f[16].deletion_vector = &dv_bad_offset;
	f[17].base_row_id = -5;
	f[18].version = 99;
	for (int i = 0; i < N; i++) {
		memset(&a, 0x5a, sizeof(a));
		ck_assert_msg(action_from_file(&a, ACT_ADD, &f[i], &err) == DSQL_EINVALID,
		              "case %d accepted", i);
		ck_assert_msg(strstr(err.message, needles[i]) && strstr(err.message, "invalid add"),
		              "case %d: '%s' lacks '%s'", i, err.message, needles[i]);
		ck_assert_ptr_null(a.text);
		ck_assert_ptr_null(a.owned);
	}
	ck_assert_int_eq(action_from_file(&a, ACT_ADD, NULL, &err), DSQL_EINVALID);
	/* A remove needs neither a size nor a time. */
	f[4].size = -1;
	f[4].timestamp_ms = -1;
	ck_assert_int_eq(action_from_file(&a, ACT_REMOVE, &f[4], &err), DSQL_OK);
	ck_assert_int_eq(a.size, -1);
	action_clear(&a);
	f[5].size = -7;
	ck_assert_int_eq(action_from_file(&a, ACT_REMOVE, &f[5], &err), DSQL_EINVALID);
	ck_assert(strstr(err.message, "invalid remove: size is negative"));
}
END_TEST

START_TEST(uuid7_is_time_ordered_and_well_formed)
{
	char a[37], b[37];

	util_uuid7(a);
	util_sleep_ms(2);
	util_uuid7(b);
	ck_assert_uint_eq(strlen(a), 36);
	ck_assert_int_eq(a[14], '7');
	ck_assert(strchr("89ab", a[19]));
	ck_assert(strcmp(a, b) < 0);
}
END_TEST

START_TEST(names_and_levels)
{
	char long_name[300];
	dsql_isolation iso;
	dsql_error err;

	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert_int_eq(util_check_name("table", "ok_name", &err), DSQL_OK);
	ck_assert_int_eq(util_check_name("table", long_name, &err), DSQL_EINVALID);
	ck_assert_int_eq(util_check_name("table", "tab\there", &err), DSQL_EINVALID);
	ck_assert_int_eq(util_check_name("table", "\xc0\xaf", &err), DSQL_EINVALID);
	ck_assert_int_eq(dsql_isolation_parse(&iso, "WriteSerializable", &err), DSQL_OK);
	ck_assert_int_eq(iso, DSQL_ISOLATION_WRITE_SERIALIZABLE);
	ck_assert_str_eq(dsql_isolation_name(DSQL_ISOLATION_DEFAULT), "write_serializable");
	ck_assert_str_eq(dsql_status_name(DSQL_ECONFLICT), "conflict");
	ck_assert_str_eq(dsql_version(), DSQL_VERSION_STRING);
}
END_TEST

extern const dsql_driver dsql_sqlite_driver;

static int stub_prepare_txn(dsql_driver_conn *c, const char *gid, dsql_error *err)
{
	(void)c;
	(void)gid;
	(void)err;
	return DSQL_OK;
}

START_TEST(registry_validates_drivers)
{
	static const char *const s1[] = {"regtest-a", NULL}, *const s2[] = {"regtest-b", NULL};
	static const char *const taken[] = {"sqlite", NULL};
	dsql_driver d = dsql_sqlite_driver;
	const dsql_driver *found;
	dsql_error err;

	d.name = "regtest";
	d.uri_schemes = s1;
	d.abi_version = DSQL_DRIVER_ABI_VERSION + 1;
	ck_assert_int_eq(dsql_driver_register(&d, &err), DSQL_EUNSUPPORTED);
	ck_assert(strstr(err.message, "ABI version"));
	d.abi_version = DSQL_DRIVER_ABI_VERSION;
	d.step = NULL;
	ck_assert_int_eq(dsql_driver_register(&d, &err), DSQL_EINVALID);
	ck_assert(strstr(err.message, "required method"));
	d.step = dsql_sqlite_driver.step;
	d.uri_schemes = taken;
	ck_assert_int_eq(dsql_driver_register(&d, &err), DSQL_EEXISTS);
	ck_assert_int_eq(dsql_driver_register(NULL, &err), DSQL_EINVALID);
	/* An ABI-1 driver from before the optional methods: its struct ends
	 * early, so whatever lies beyond is ignored and 2PC is off. */
	d.uri_schemes = s1;
	d.capabilities = DSQL_CAP_TWO_PHASE;
	d.prepare_transaction = stub_prepare_txn;
	d.struct_size = offsetof(dsql_driver, prepare_transaction);
	ck_assert_int_eq(dsql_driver_register(&d, &err), DSQL_OK);
	found = dsql_driver_find("regtest-a:/x");
	ck_assert_ptr_nonnull(found);
	ck_assert_ptr_null(found->prepare_transaction);
	ck_assert_uint_eq(found->capabilities & DSQL_CAP_TWO_PHASE, 0);
	/* Registering the same name again is a no-op. */
	d.uri_schemes = s2;
	ck_assert_int_eq(dsql_driver_register(&d, &err), DSQL_OK);
	ck_assert_ptr_null(dsql_driver_find("regtest-b:/x"));
	ck_assert_int_eq(dsql_driver_load("/nonexistent/driver.so", &err), DSQL_ENOTFOUND);
	ck_assert_int_eq(dsql_driver_load("nosuchdriver", &err), DSQL_ENOTFOUND);
	ck_assert(strstr(err.message, "nosuchdriver"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("units");
	int failed;

	tcase_add_test(tc, parses_each_action_kind);
	tcase_add_test(tc, extracts_file_identity);
	tcase_add_test(tc, rejects_malformed_actions);
	tcase_add_test(tc, stored_text_is_the_compact_rendering);
	tcase_add_test(tc, typed_file_action_is_the_line_it_stands_for);
	tcase_add_test(tc, typed_strings_are_escaped_as_jansson_escapes_them);
	tcase_add_test(tc, delta_paths_are_canonical);
	tcase_add_test(tc, typed_add_knows_its_partition_values);
	tcase_add_test(tc, partition_values_read_as_their_type);
	tcase_add_test(tc, typed_file_action_rejects_bad_fields);
	tcase_add_test(tc, uuid7_is_time_ordered_and_well_formed);
	tcase_add_test(tc, names_and_levels);
	tcase_add_test(tc, registry_validates_drivers);
	suite_add_tcase(s, tc);
	failed = tu_run_suite(s);
	return failed;
}
