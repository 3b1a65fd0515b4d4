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
	tcase_add_test(tc, uuid7_is_time_ordered_and_well_formed);
	tcase_add_test(tc, names_and_levels);
	tcase_add_test(tc, registry_validates_drivers);
	suite_add_tcase(s, tc);
	failed = tu_run_suite(s);
	return failed;
}
