/* The Delta log files deltasql writes, shared by export (delta_log.c) and
 * publication (publish.c): both write the same bytes the same way. */
#ifndef DSQL_CORE_DELTA_LOG_H
#define DSQL_CORE_DELTA_LOG_H

#include "deltasql/catalog.h"

#include <stddef.h>
#include <stdint.h>

/* A version's commit file as export writes it: the stored actions in
 * order, one a line, each ending in a newline (malloc'ed into *out). Codes:
 * DSQL_OK, DSQL_ENOTFOUND (no actions: expired), DSQL_ENOMEM, database codes. */
int log_version_text(dsql_catalog *cat, int64_t id, int64_t version, char **out, size_t *len,
                     dsql_error *err);
/* Non-zero when file holds exactly these bytes. */
int log_same_content(const char *file, const char *text, size_t len);
/* Writes file put-if-absent: through a hidden temporary of its own, synced
 * and linked into place. An existing file with the same bytes is DSQL_OK;
 * with others DSQL_EEXISTS (never replaced). Codes: DSQL_OK, DSQL_EEXISTS,
 * DSQL_EIO. */
int log_write_file(const char *file, const char *text, size_t len, dsql_error *err);
/* fsyncs a directory, so that the files linked into it survive a crash. */
int log_sync_dir(const char *dir, dsql_error *err);

#endif
