/*
 * deltasql.h: the umbrella header. Delta Lake table metadata in a SQL
 * database, with atomic commits across several tables.
 */
#ifndef DELTASQL_H
#define DELTASQL_H

#include "deltasql/common.h"
#include "deltasql/error.h"
#include "deltasql/catalog.h"
#include "deltasql/table.h"
#include "deltasql/txn.h"
#include "deltasql/snapshot.h"
#include "deltasql/history.h"
#include "deltasql/changes.h"
#include "deltasql/metrics.h"
#include "deltasql/log.h"
#include "deltasql/retention.h"
#include "deltasql/delta.h"
#include "deltasql/arrow.h"

#endif
