/* The catalog's logger: the public setter, and the core's one door to the
 * callback. */
#include "catalog_int.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const event_names[DSQL_EVENT_COUNT] = {
	"commit", "commit_failed", "conflict", "rebase", "retry", "reconnect",
	"recovery", "two_phase", "expire", "vacuum", "hint_miss", "publish"};

void dsql_catalog_set_logger(dsql_catalog *cat, dsql_log_level max_level, dsql_log_cb cb,
                             void *payload)
{
	if (!cat)
		return;
	cat->log.cb = cb;
	cat->log.payload = payload;
	cat->log.level = (int)max_level;
}

const char *dsql_log_level_name(int level)
{
	return level >= 0 && level <= DSQL_LOG_DEBUG ? level_names[level] : NULL;
}

const char *dsql_log_event_name(int event)
{
	return event >= 0 && event < DSQL_EVENT_COUNT ? event_names[event] : NULL;
}

const char *log_int(log_num buf, int64_t v)
{
	snprintf(buf, sizeof(log_num), "%lld", (long long)v);
	return buf;
}

void log_emit(const core_logger *lg, dsql_log_level level, dsql_log_event event,
              const dsql_log_field *fields, size_t n_fields, const char *fmt, ...)
{
	char message[DSQL_ERROR_MESSAGE_MAX];
	va_list ap;

	if (!LOG_WANTS(lg, level))
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	lg->cb(level, event, message, fields, n_fields, lg->payload);
}
