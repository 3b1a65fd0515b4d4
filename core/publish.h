/* Publication of each table's log under its location (publish.c). */
#ifndef DSQL_CORE_PUBLISH_H
#define DSQL_CORE_PUBLISH_H

typedef struct dsql_catalog dsql_catalog;
typedef struct dsql_txn dsql_txn;

/* After a commit's database transaction: publishes the new version of
 * every table the transaction wrote (and any earlier one not yet
 * published). Never fails the commit: a failure is counted
 * (metrics.publish_failures) and the next commit or dsql_delta_publish
 * catches up. */
void publish_after_commit(dsql_txn *txn);
/* Releases what the handle knows of its tables' publication. */
void publish_free_all(dsql_catalog *cat);

#endif
