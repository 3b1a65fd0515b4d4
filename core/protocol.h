/* What this library knows of Delta's protocol versions and table features. */
#ifndef DSQL_CORE_PROTOCOL_H
#define DSQL_CORE_PROTOCOL_H

#include <jansson.h>

#include "deltasql/error.h"

/* Checks that a protocol action body is one this library can read (reader
 * version at most 3, known reader features) and, when for_write, also
 * write to (writer version at most 7, known writer features). Codes:
 * DSQL_OK, DSQL_EUNSUPPORTED (message names the version or feature). */
int protocol_check(json_t *protocol, int for_write, dsql_error *err);

/* Whether the protocol (may be NULL) lists feature among its writerFeatures
 * (writer version 7 and later: older protocols have no deletion vectors,
 * the only feature asked about). */
int protocol_has_writer_feature(json_t *protocol, const char *feature);

#endif
