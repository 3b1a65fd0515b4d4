/* Helpers shared by the deltasql command's subcommands. */
#define _GNU_SOURCE
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *kind_of(int code)
{
	switch (code) {
	case DSQL_ECONFLICT: return "conflict";
	case DSQL_EINVALID: return "invalid";
	case DSQL_ENOTFOUND: return "not_found";
	case DSQL_EEXISTS: return "exists";
	case DSQL_ERETRY: return "retryable";
	case DSQL_EUNKNOWN: return "commit_unknown";
	case DSQL_EUNSUPPORTED: return "unsupported";
	case DSQL_ECONNECT: return "connection";
	case DSQL_ETIMEOUT: return "timeout";
	case DSQL_ECATALOG_VERSION: return "catalog_version";
	case DSQL_EIO: return "file";
	case DSQL_EREADONLY: return "read_only";
	default: return "database";
	}
}

static int exit_code_of(int code)
{
	switch (code) {
	case DSQL_EINVALID:
	case DSQL_EUNSUPPORTED: return EXIT_USAGE; /* asked for what deltasql does not do */
	case DSQL_ECONFLICT: return EXIT_CONFLICT;
	case DSQL_ENOTFOUND: return EXIT_NOT_FOUND;
	default: return EXIT_OTHER;
	}
}

int cli_fail(const cli *c, const dsql_error *err)
{
	fprintf(stderr, "deltasql: %s: %s\n", dsql_status_name(err->code), err->message);
	if (c->json) {
		json_t *e = json_pack("{s:s, s:i, s:s}", "kind", kind_of(err->code), "code",
		                      err->code, "message", err->message);

		if (err->sqlstate[0])
			json_object_set_new(e, "sqlstate", json_string(err->sqlstate));
		if (err->statement_index >= 0 && err->code != 0)
			json_object_set_new(e, "statement_index", json_integer(err->statement_index));
		if (err->code == DSQL_ECONFLICT) {
			json_object_set_new(e, "rule", json_string(err->conflict.rule));
			json_object_set_new(e, "table", json_string(err->conflict.table));
			json_object_set_new(e, "winning_version",
			                    json_integer(err->conflict.winning_version));
			if (err->conflict.detail[0])
				json_object_set_new(e, "detail", json_string(err->conflict.detail));
		}
		cli_print_json(json_pack("{s:o}", "error", e));
	}
	return exit_code_of(err->code);
}

int cli_usage(const cli *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->cmd)
		fprintf(stderr, "deltasql: usage: %s (see 'deltasql %s --help')\n", msg, c->cmd->name);
	else
		fprintf(stderr, "deltasql: usage: %s (see 'deltasql --help')\n", msg);
	if (c->json)
		cli_print_json(json_pack("{s:{s:s, s:s}}", "error", "kind", "usage", "message", msg));
	return EXIT_USAGE;
}

int cli_set_log_level(cli *c, const char *level)
{
	if (strcmp(level, "off") == 0 || strcmp(level, "none") == 0) {
		c->log_level = -1;
		return 0;
	}
	for (int l = DSQL_LOG_ERROR; l <= DSQL_LOG_DEBUG; l++)
		if (strcmp(level, dsql_log_level_name(l)) == 0) {
			c->log_level = l;
			return 0;
		}
	cli_usage(c, "log level '%s': give error, warn, info, debug or off", level);
	return -1;
}

int cli_set_log_format(cli *c, const char *format)
{
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
		cli_usage(c, "log format '%s': give text or json", format);
		return -1;
	}
	c->log_json = strcmp(format, "json") == 0;
	return 0;
}

static void now_text(char *buf, size_t cap)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	cli_format_time(buf, cap, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* One line on stderr per event: text ("TIME LEVEL EVENT: MESSAGE k=v ...")
 * or a JSON object. */
static void log_line(dsql_log_level level, dsql_log_event event, const char *message,
                     const dsql_log_field *fields, size_t n_fields, void *payload)
{
	const cli *c = payload;
	char when[40];

	now_text(when, sizeof(when));
	if (c->log_json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "level",
		                      dsql_log_level_name(level), "event", dsql_log_event_name(event),
		                      "message", message);
		char *text;

		for (size_t i = 0; o && i < n_fields; i++)
			json_object_set_new(o, fields[i].key, json_string(fields[i].value));
		text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (text)
			fprintf(stderr, "%s\n", text);
		free(text);
		json_decref(o);
		return;
	}
	fprintf(stderr, "%s %s %s: %s", when, dsql_log_level_name(level),
	        dsql_log_event_name(event), message);
	for (size_t i = 0; i < n_fields; i++) {
		const char *v = fields[i].value;

		if (!*v || strpbrk(v, " \t\"="))
			fprintf(stderr, " %s=\"%s\"", fields[i].key, v);
		else
			fprintf(stderr, " %s=%s", fields[i].key, v);
	}
	fputc('\n', stderr);
}

void cli_start_logging(cli *c)
{
	if (c->log_level >= 0)
		dsql_catalog_set_logger(c->cat, (dsql_log_level)c->log_level, log_line, c);
}

int cli_open(cli *c, int create)
{
	dsql_catalog_options o = DSQL_CATALOG_OPTIONS_INIT;
	dsql_error err;

	if (!c->catalog_uri)
		return cli_usage(c, "no catalog: give --catalog URI or set DELTASQL_CATALOG");
	o.create = create;
	/* Only init may create a SQLite catalog's file: other commands must not
	 * leave an empty one behind where there was none. */
	if (!create && (strncmp(c->catalog_uri, "sqlite:", 7) == 0 ||
	                strncmp(c->catalog_uri, "file:", 5) == 0) &&
	    !strstr(c->catalog_uri, "mode=")) {
		char *uri;
		int rc;

		if (asprintf(&uri, "%s%smode=rw", c->catalog_uri,
		             strchr(c->catalog_uri, '?') ? "&" : "?") < 0)
			return EXIT_OTHER;
		rc = dsql_catalog_open(&c->cat, uri, &o, &err);
		free(uri);
		if (rc != DSQL_OK)
			return cli_fail(c, &err);
		cli_start_logging(c);
		return EXIT_OK;
	}
	if (dsql_catalog_open(&c->cat, c->catalog_uri, &o, &err) != DSQL_OK)
		return cli_fail(c, &err);
	cli_start_logging(c);
	return EXIT_OK;
}

void cli_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s) {
		puts(s);
		free(s);
	}
	json_decref(v);
}

void cli_format_time(char *buf, size_t cap, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int cli_parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno == ERANGE)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, frac = 0, frac_digits = 0;
	struct tm tm, back;
	const char *p;
	int64_t offset_s = 0;
	time_t secs;

	if (cli_parse_int(s, ms) == 0)
		return 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	p = s + n;
	if (*p == 'T' || *p == ' ') {
		if (sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
			return -1;
		p += 1 + n;
		if (*p == '.') {
			for (p++; isdigit((unsigned char)*p); p++)
				if (frac_digits < 3) {
					frac = frac * 10 + (*p - '0');
					frac_digits++;
				}
			while (frac_digits > 0 && frac_digits < 3) {
				frac *= 10;
				frac_digits++;
			}
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om;

			if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
				return -1;
			offset_s = (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
			p += 1 + n;
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	secs = timegm(&tm);
	/* timegm carries a day past the month's end into the next (2026-02-31
	 * would be March 3): such a date does not exist. */
	if (!gmtime_r(&secs, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
		return -1;
	*ms = ((int64_t)secs - offset_s) * 1000 + frac;
	return 0;
}

static const struct option global_longopts[] = {
	{"catalog", required_argument, NULL, 'c'},
	{"json", no_argument, NULL, 'j'},
	{"driver", required_argument, NULL, CLI_OPT_DRIVER},
	{"log-level", required_argument, NULL, CLI_OPT_LOG_LEVEL},
	{"log-format", required_argument, NULL, CLI_OPT_LOG_FORMAT},
	{"help", no_argument, NULL, 'h'},
};
#define N_GLOBAL (sizeof(global_longopts) / sizeof(global_longopts[0]))

/* The command's long options followed by the global ones. */
static struct option *merge_options(const struct option *longs)
{
	size_t n = 0;
	struct option *all;

	while (longs && longs[n].name)
		n++;
	all = calloc(n + N_GLOBAL + 1, sizeof(*all));
	if (!all)
		return NULL;
	if (n)
		memcpy(all, longs, n * sizeof(*all));
	memcpy(all + n, global_longopts, sizeof(global_longopts));
	return all;
}

int cli_getopt(cli *c, const char *shorts, const struct option *longs)
{
	char optstring[64];
	dsql_error err;
	int o;

	if (!c->longopts) {
		if (!(c->longopts = merge_options(longs))) {
			c->stop_rc = EXIT_OTHER;
			return CLI_STOP;
		}
		opterr = 0;
		optind = 0;
	}
	snprintf(optstring, sizeof(optstring), ":%sc:jh", shorts);
	for (;;) {
		o = getopt_long(c->argc, c->argv, optstring, c->longopts, NULL);
		switch (o) {
		case -1:
			c->args = c->argv + optind;
			c->nargs = c->argc - optind;
			return -1;
		case 'c': c->catalog_uri = optarg; continue;
		case 'j': c->json = 1; continue;
		case CLI_OPT_DRIVER:
			if (dsql_driver_load(optarg, &err) == DSQL_OK)
				continue;
			c->stop_rc = cli_fail(c, &err);
			return CLI_STOP;
		case CLI_OPT_LOG_LEVEL:
			if (cli_set_log_level(c, optarg) == 0)
				continue;
			c->stop_rc = EXIT_USAGE;
			return CLI_STOP;
		case CLI_OPT_LOG_FORMAT:
			if (cli_set_log_format(c, optarg) == 0)
				continue;
			c->stop_rc = EXIT_USAGE;
			return CLI_STOP;
		case 'h':
			cli_print_command_help(stdout, c->cmd);
			c->stop_rc = EXIT_OK;
			return CLI_STOP;
		case ':':
			c->stop_rc = cli_usage(c, "%s: option '%s' needs a value", c->cmd->name,
			                       c->argv[optind - 1]);
			return CLI_STOP;
		case '?':
			if (optopt && strncmp(c->argv[optind - 1], "--", 2) != 0)
				c->stop_rc = cli_usage(c, "%s: unknown option '-%c'", c->cmd->name, optopt);
			else
				c->stop_rc = cli_usage(c, "%s: unknown option '%s'", c->cmd->name,
				                       c->argv[optind - 1]);
			return CLI_STOP;
		default:
			return o;
		}
	}
}

int cli_no_options(cli *c)
{
	int o;

	while ((o = cli_getopt(c, "", NULL)) != -1)
		if (o == CLI_STOP)
			return CLI_STOP;
	if (c->nargs != 0)
		return cli_usage(c, "%s takes no arguments", c->cmd->name);
	return EXIT_OK;
}

/* Control characters (C0, DEL, and C1 in UTF-8) as \xNN: log text comes
 * from whoever wrote the log, and raw it could drive the terminal. */
char *cli_escape(const char *s)
{
	size_t n = strlen(s ? s : "");
	char *out = malloc(4 * n + 1), *p = out;

	if (!out)
		return NULL;
	for (const unsigned char *q = (const unsigned char *)(s ? s : ""); *q; q++) {
		if (*q < 0x20 || *q == 0x7f) {
			p += sprintf(p, "\\x%02x", *q);
		} else if (*q == 0xc2 && q[1] >= 0x80 && q[1] <= 0x9f) {
			p += sprintf(p, "\\x%02x", q[1]);
			q++;
		} else {
			*p++ = (char)*q;
		}
	}
	*p = '\0';
	return out;
}
