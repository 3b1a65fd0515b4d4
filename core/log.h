/* The catalog's logger (deltasql/log.h), as the core's files call it. */
#ifndef DSQL_CORE_LOG_H
#define DSQL_CORE_LOG_H

#include "deltasql/log.h"

#include <stdint.h>

typedef struct core_logger {
	dsql_log_cb cb;
	void *payload;
	int level;
} core_logger;

/* Whether an event of this level is wanted: call sites test it before
 * they build any field, so that a handle without a logger pays one test. */
#define LOG_WANTS(lg, lvl) ((lg)->cb && (int)(lvl) <= (lg)->level)

/* Room for a number's text. */
typedef char log_num[24];

/* Formats v into buf; returns buf. */
const char *log_int(log_num buf, int64_t v);

/* Calls the logger (when it wants the level) with the message made from
 * fmt and the fields given. */
void log_emit(const core_logger *lg, dsql_log_level level, dsql_log_event event,
              const dsql_log_field *fields, size_t n_fields, const char *fmt, ...)
#ifdef __GNUC__
	__attribute__((format(printf, 6, 7)))
#endif
	;

#define LOG_N(fields) (sizeof(fields) / sizeof((fields)[0]))

#endif
