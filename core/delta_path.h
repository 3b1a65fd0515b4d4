/*
 * Delta paths: the one spelling of each file. A path in a Delta log is a
 * URI reference relative to the table's root (or an absolute URI); many
 * spellings name one file ("./a", "a%2E", "a//b"...). The commit path
 * canonicalises every add, remove and cdc path once, at staging, so that
 * the file index, the conflict checks and vacuum compare one spelling;
 * vacuum resolves a canonical path to a file under the table's location.
 */
#ifndef DSQL_CORE_DELTA_PATH_H
#define DSQL_CORE_DELTA_PATH_H

#include <stddef.h>

#include "deltasql/error.h"

/* The canonical spelling of path (docs/DELTA.md, "Paths"): percent-escapes
 * decoded, and, without a URI scheme, "." and empty segments dropped; then
 * encoded again, escaping exactly the bytes a URI path may not hold, in
 * upper-case hex. *out is NULL when path is canonical already (no
 * allocation: the usual case), else malloc'd. Codes: DSQL_OK, DSQL_EINVALID
 * (an invalid percent-escape, "%00", a path naming no file), DSQL_ENOMEM. */
int delta_path_canonical(const char *path, char **out, dsql_error *err);

/* Percent-decodes a canonical path into a malloc'd string (NULL when out
 * of memory); a canonical path decodes without error. */
char *delta_path_decode(const char *path);

/* Percent-encodes bytes a canonical path escapes (malloc'd, NULL when out
 * of memory): the inverse of delta_path_decode. */
char *delta_path_encode(const char *decoded);

#endif
