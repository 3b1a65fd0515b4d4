/*
 * Protocol versions and table features. A metadata catalog never reads or
 * writes data files, so "supporting" a feature here means keeping its
 * actions faithfully and enforcing what it asks of commits (e.g.
 * appendOnly); the list is the features whose log semantics we keep.
 */
#include "protocol.h"

#include <string.h>

static const char *const known_features[] = {
	"appendOnly", "invariants", "checkConstraints", "changeDataFeed", "generatedColumns",
	"columnMapping", "identityColumns", "deletionVectors", "rowTracking", "timestampNtz",
	"domainMetadata", "v2Checkpoint", "icebergCompatV1", "icebergCompatV2",
	"inCommitTimestamp", "vacuumProtocolCheck", "typeWidening", "typeWidening-preview",
	"clustering", "variantType", "variantType-preview", "allowColumnDefaults",
	"checkpointProtection", "catalogManaged", "catalogOwned-preview", NULL,
};

static int known(const char *feature)
{
	for (const char *const *k = known_features; *k; k++)
		if (strcmp(*k, feature) == 0)
			return 1;
	return 0;
}

static int check_features(json_t *list, const char *which, dsql_error *err)
{
	json_t *f;
	size_t i;

	json_array_foreach(list, i, f)
		if (!json_is_string(f) || !known(json_string_value(f)))
			return dsql_error_set(err, DSQL_EUNSUPPORTED, NULL, NULL, 0,
			                      "unsupported %s feature '%s'", which,
			                      json_is_string(f) ? json_string_value(f) : "?");
	return DSQL_OK;
}

int protocol_check(json_t *protocol, int for_write, dsql_error *err)
{
	json_int_t r = json_integer_value(json_object_get(protocol, "minReaderVersion"));
	json_int_t w = json_integer_value(json_object_get(protocol, "minWriterVersion"));
	int rc;

	if (r > 3)
		return dsql_error_set(err, DSQL_EUNSUPPORTED, NULL, NULL, 0,
		                      "unsupported reader version %lld (this library reads up to 3)",
		                      (long long)r);
	rc = check_features(json_object_get(protocol, "readerFeatures"), "reader", err);
	if (rc != DSQL_OK || !for_write)
		return rc;
	if (w > 7)
		return dsql_error_set(err, DSQL_EUNSUPPORTED, NULL, NULL, 0,
		                      "unsupported writer version %lld (this library writes up to 7)",
		                      (long long)w);
	return check_features(json_object_get(protocol, "writerFeatures"), "writer", err);
}

int protocol_has_writer_feature(json_t *protocol, const char *feature)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(protocol, "writerFeatures"), i, f)
		if (json_is_string(f) && strcmp(json_string_value(f), feature) == 0)
			return 1;
	return 0;
}
