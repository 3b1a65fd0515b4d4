/* libFuzzer target: the _delta_log importer. The input is written as
 * version 0 of a log (and, after a line "=====", version 1) and imported
 * into an in-memory catalog. The import must succeed or be refused with a
 * message, and a refused import leaves no table behind. */
#define _GNU_SOURCE
#include <deltasql.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dsql_catalog *cat;
static char dir[256];

static void write_version(int v, const uint8_t *data, size_t size)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/_delta_log/%020d.json", dir, v);
	f = fopen(path, "wb");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *split = memmem(data, size, "=====\n", 6);
	dsql_error err;
	int64_t v;
	char path[512];

	if (!cat) {
		snprintf(dir, sizeof(dir), "/tmp/deltasql-fuzz-import-%d", (int)getpid());
		mkdir(dir, 0755);
		snprintf(path, sizeof(path), "%s/_delta_log", dir);
		mkdir(path, 0755);
		if (dsql_catalog_open(&cat, "sqlite::memory:", NULL, &err))
			abort();
	}
	snprintf(path, sizeof(path), "%s/_delta_log/%020d.json", dir, 1);
	unlink(path);
	write_version(0, data, split ? (size_t)(split - data) : size);
	if (split)
		write_version(1, split + 6, size - (size_t)(split - data) - 6);
	if (dsql_delta_import(cat, "t", dir, NULL, NULL, &err) == DSQL_OK) {
		dsql_snapshot *s;

		if (dsql_snapshot_open(&s, cat, "t", DSQL_LATEST, &err) != DSQL_OK)
			abort(); /* an imported table must be readable */
		dsql_snapshot_free(s);
		if (dsql_table_drop(cat, "t", &err) != DSQL_OK)
			abort();
	} else if (err.message[0] == '\0' || dsql_table_version(cat, "t", &v, NULL) == DSQL_OK) {
		abort(); /* refused without a message, or half imported */
	}
	return 0;
}
