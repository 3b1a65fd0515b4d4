/* deltasql import / export: Delta Lake _delta_log in and out. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A progress line on stderr, only when it is a terminal: a bar, the count,
 * the rate and the time left, redrawn at most ten times a second. */
static void progress(int64_t done, int64_t total, void *payload)
{
	static struct timespec start, last;
	const char *what = payload;
	int width = 30, filled = total ? (int)(width * done / total) : width;
	struct timespec now;
	double elapsed, rate;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done <= 1)
		start = last = now;
	if (done < total && done > 1 &&
	    (now.tv_sec - last.tv_sec) * 1e3 + (now.tv_nsec - last.tv_nsec) / 1e6 < 100)
		return;
	last = now;
	elapsed = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
	rate = elapsed > 0 ? done / elapsed : 0;
	fprintf(stderr, "\r%s [%.*s%*s] %lld/%lld", what, filled,
	        "##############################", width - filled, "", (long long)done,
	        (long long)total);
	if (rate > 0)
		fprintf(stderr, "  %.0f/s  ETA %.0f s ", rate, (double)(total - done) / rate);
	if (done == total)
		fputc('\n', stderr);
}

static dsql_progress_cb bar(void)
{
	return isatty(STDERR_FILENO) ? progress : NULL;
}

int cmd_import(cli *c)
{
	dsql_error err;
	int64_t version;
	int rc;

	int opt;

	while ((opt = cli_getopt(c, "", NULL)) != -1)
		if (opt == CLI_STOP)
			return c->stop_rc;
	if (c->nargs != 2)
		return cli_usage(c, "import TABLE PATH");
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (dsql_delta_import(c->cat, c->args[0], c->args[1], bar(), "importing", &err) != DSQL_OK)
		return cli_fail(c, &err);
	if (dsql_table_version(c->cat, c->args[0], &version, &err) != DSQL_OK)
		return cli_fail(c, &err);
	if (c->json)
		cli_print_json(json_pack("{s:s, s:I}", "table", c->args[0], "version",
		                         (json_int_t)version));
	else
		printf("imported %s: versions 0 to %lld\n", c->args[0], (long long)version);
	return EXIT_OK;
}

int cmd_export(cli *c)
{
	static const struct option opts[] = {{"from-version", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	const char *name, *dir;
	int64_t from = 0, written = 0;
	dsql_error err;
	int rc, opt;

	while ((opt = cli_getopt(c, "", opts)) != -1) {
		if (opt == CLI_STOP)
			return c->stop_rc;
		if (cli_parse_int(optarg, &from) != 0)
			return cli_usage(c, "export: --from-version wants a version");
	}
	if (c->nargs != 2)
		return cli_usage(c, "export TABLE DIR [--from-version N]");
	name = c->args[0];
	dir = c->args[1];
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		return rc;
	if (dsql_delta_export(c->cat, name, dir, from, &written, bar(), "exporting", &err) !=
	    DSQL_OK)
		return cli_fail(c, &err);
	if (c->json)
		cli_print_json(json_pack("{s:s, s:s, s:I}", "table", name, "dir", dir, "written",
		                         (json_int_t)written));
	else
		printf("exported %s to %s/_delta_log: %lld files written\n", name, dir,
		       (long long)written);
	return EXIT_OK;
}

static int collect_name(const dsql_table_info *t, void *payload)
{
	return json_array_append_new(payload, json_string(t->name));
}

static volatile sig_atomic_t stop_following;

static void on_signal(int sig)
{
	(void)sig;
	stop_following = 1;
}

/* One round over the tables: publishes each, reporting what changed since
 * the last round (seen: table -> last error, for --follow). With all set,
 * tables that are not published (no local location, publication off) are
 * passed over. Returns the exit code of the worst failure. */
static int publish_round(cli *c, json_t *names, int all, json_t *seen, json_t *report)
{
	int worst = EXIT_OK;
	size_t i;
	json_t *n;

	json_array_foreach(names, i, n) {
		const char *name = json_string_value(n), *last;
		int64_t written = 0;
		dsql_error err;
		int rc = dsql_delta_publish(c->cat, name, &written, &err);

		if (rc == DSQL_EUNSUPPORTED && all)
			continue;
		last = json_string_value(json_object_get(seen, name));
		if (rc != DSQL_OK) {
			if (!last || strcmp(last, err.message) != 0) {
				int code = cli_fail(c, &err);

				if (worst == EXIT_OK || code != EXIT_OK)
					worst = code;
			} else if (worst == EXIT_OK) {
				worst = EXIT_OTHER;
			}
			json_object_set_new(seen, name, json_string(err.message));
			continue;
		}
		json_object_del(seen, name);
		if (c->json)
			json_array_append_new(report, json_pack("{s:s, s:I}", "table", name, "written",
			                                        (json_int_t)written));
		else if (written || !seen)
			printf("published %s: %lld files written\n", name, (long long)written);
		fflush(stdout);
	}
	return worst;
}

int cmd_publish(cli *c)
{
	static const struct option opts[] = {{"follow", no_argument, NULL, 'F'},
	                                     {"interval", required_argument, NULL, 'i'},
	                                     {"on", no_argument, NULL, '1'},
	                                     {"off", no_argument, NULL, '0'},
	                                     {NULL, 0, NULL, 0}};
	const char *usage = "publish [TABLE...] [--follow [--interval MS]] | publish --on | --off";
	json_t *names = json_array(), *seen = json_object(), *report = json_array();
	int64_t interval = 1000;
	int follow = 0, mode = -1, rc = 0, opt;
	dsql_error err;

	while ((opt = cli_getopt(c, "", opts)) != -1) {
		if (opt == CLI_STOP) {
			rc = c->stop_rc;
			goto out;
		}
		if (opt == 'F')
			follow = 1;
		else if (opt == '1' || opt == '0')
			mode = opt == '1';
		else if (opt == 'i' && (cli_parse_int(optarg, &interval) != 0 || interval < 1))
			rc = -1;
	}
	for (int i = 0; i < c->nargs; i++)
		json_array_append_new(names, json_string(c->args[i]));
	if (rc == -1 || (mode >= 0 && (follow || json_array_size(names)))) {
		rc = cli_usage(c, "%s", usage);
		goto out;
	}
	if ((rc = cli_open(c, 0)) != EXIT_OK)
		goto out;
	if (mode >= 0) {
		rc = dsql_catalog_set_publish(c->cat, mode, &err) == DSQL_OK ? EXIT_OK
		                                                             : cli_fail(c, &err);
		if (rc == EXIT_OK && !c->json)
			printf("publication is %s for this catalog\n", mode ? "on" : "off");
		goto out;
	}
	int all = json_array_size(names) == 0;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	do {
		if (all) {
			json_array_clear(names);
			if (dsql_table_list(c->cat, collect_name, names, &err) != DSQL_OK) {
				rc = cli_fail(c, &err);
				goto out;
			}
		}
		rc = publish_round(c, names, all, follow ? seen : NULL, report);
		if (c->json && (!follow || json_array_size(report)))
			cli_print_json(json_incref(report));
		json_array_clear(report);
		for (int64_t slept = 0; follow && !stop_following && slept < interval; slept += 100)
			usleep(100 * 1000);
	} while (follow && !stop_following);
out:
	json_decref(names);
	json_decref(seen);
	json_decref(report);
	return rc;
}
