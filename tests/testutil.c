/* Helpers shared by the test programs. */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];
static pid_t owner; /* forked test children must not clean up */

static void cleanup(void)
{
	char cmd[300];

	if (!dir[0] || getpid() != owner || getenv("DELTASQL_KEEP_TEST_FILES"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

const char *tu_tmpdir(void)
{
	if (!dir[0]) {
		const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

		snprintf(dir, sizeof(dir), "%s/dsqltest-XXXXXX", base);
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			abort();
		}
		owner = getpid();
		atexit(cleanup);
	}
	return dir;
}

const char *tu_sqlite_uri(const char *name)
{
	static char uri[512];
	static unsigned n;

	snprintf(uri, sizeof(uri), "sqlite:%s/%s-%d-%u.db", tu_tmpdir(), name, (int)getpid(), n++);
	return uri;
}

int tu_run(const char *cmd, const char *stdin_text, char **out)
{
	char inpath[300], full[8192];
	FILE *p;
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap);
	int status;
	static unsigned seq;

	inpath[0] = '\0';
	if (stdin_text) {
		FILE *f;

		snprintf(inpath, sizeof(inpath), "%s/stdin-%d-%u", tu_tmpdir(), (int)getpid(), seq++);
		f = fopen(inpath, "w");
		fputs(stdin_text, f);
		fclose(f);
		snprintf(full, sizeof(full), "%s < '%s'", cmd, inpath);
	} else {
		snprintf(full, sizeof(full), "%s < /dev/null", cmd);
	}
	p = popen(full, "r");
	if (!p) {
		free(buf);
		return -1;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 2)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	status = pclose(p);
	if (inpath[0])
		unlink(inpath);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *tu_snapshot_text(dsql_catalog *cat, const char *table, int64_t version, dsql_error *err)
{
	dsql_snapshot *s;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (dsql_snapshot_open(&s, cat, table, version, err) != DSQL_OK)
		return NULL;
	f = open_memstream(&out, &len);
	fprintf(f, "%lld|%lld|%s|%s", (long long)dsql_snapshot_version(s),
	        (long long)dsql_snapshot_timestamp(s), dsql_snapshot_protocol_json(s),
	        dsql_snapshot_metadata_json(s));
	for (size_t i = 0; i < dsql_snapshot_file_count(s); i++)
		fprintf(f, "|%s", dsql_snapshot_file_json(s, i));
	for (size_t i = 0; i < dsql_snapshot_app_txn_count(s); i++) {
		int64_t v;
		const char *app = dsql_snapshot_app_txn(s, i, &v);

		fprintf(f, "|%s=%lld", app, (long long)v);
	}
	dsql_snapshot_free(s);
	fclose(f);
	return out;
}

int tu_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
