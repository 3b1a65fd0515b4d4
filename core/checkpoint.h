/* Checkpoints of published logs (checkpoint.c). */
#ifndef DSQL_CORE_CHECKPOINT_H
#define DSQL_CORE_CHECKPOINT_H

#include "deltasql/catalog.h"

/* Non-zero when this build writes checkpoints (--enable-checkpoints). */
int checkpoint_enabled(void);
/* Writes LOGDIR/%020d.checkpoint.parquet of the table's version (put-if-
 * absent; one already there is kept) and points _last_checkpoint at it.
 * DSQL_OK and nothing written in a build without checkpoints. Codes:
 * DSQL_OK, DSQL_EIO, DSQL_ENOMEM, snapshot codes. */
int checkpoint_write(dsql_catalog *cat, const char *table, int64_t version,
                     const char *logdir, dsql_error *err);

#endif
