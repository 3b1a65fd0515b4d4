/*
 * The driver registry. Drivers are validated once, copied into a full-size
 * struct (so methods a driver built for an older ABI lacks read as NULL),
 * and never changed or removed afterwards, so a found driver may be used
 * without holding the lock.
 */
#include "registry.h"
#include "builtin.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DRIVERS 32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static dsql_driver drivers[MAX_DRIVERS];
static size_t n_drivers;
static int builtins_done;
static char schemes_text[512];

/* Offsets of the required methods; a driver lacking any is refused. */
#define REQ(m) offsetof(dsql_driver, m)
static const size_t required[] = {
	REQ(connect), REQ(disconnect), REQ(begin), REQ(commit), REQ(rollback),
	REQ(prepare), REQ(bind_null), REQ(bind_int64), REQ(bind_double), REQ(bind_text),
	REQ(bind_blob), REQ(step), REQ(changes), REQ(column_count), REQ(column_type),
	REQ(column_int64), REQ(column_double), REQ(column_text), REQ(column_blob),
	REQ(reset), REQ(finalize),
};

static int has_method(const dsql_driver *d, size_t off)
{
	void (*fn)(void);

	memcpy(&fn, (const char *)d + off, sizeof(fn));
	return fn != NULL;
}

static size_t scheme_len(const char *uri)
{
	const char *colon = strchr(uri, ':');

	return colon ? (size_t)(colon - uri) : 0;
}

static const dsql_driver *find_scheme_locked(const char *scheme, size_t len)
{
	for (size_t i = 0; i < n_drivers; i++)
		for (const char *const *s = drivers[i].uri_schemes; *s; s++)
			if (strlen(*s) == len && strncmp(*s, scheme, len) == 0)
				return &drivers[i];
	return NULL;
}

static void rebuild_schemes_locked(void)
{
	size_t used = 0;

	schemes_text[0] = '\0';
	for (size_t i = 0; i < n_drivers; i++)
		for (const char *const *s = drivers[i].uri_schemes; *s; s++) {
			int n = snprintf(schemes_text + used, sizeof(schemes_text) - used, "%s%s:",
			                 used ? ", " : "", *s);
			if (n < 0 || (size_t)n >= sizeof(schemes_text) - used)
				return;
			used += (size_t)n;
		}
}

static int validate(const dsql_driver *d, dsql_error *err)
{
	if (!d)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "driver is NULL");
	if (d->abi_version == 0 || d->abi_version > DSQL_DRIVER_ABI_VERSION)
		return dsql_error_set(err, DSQL_EUNSUPPORTED, NULL, NULL, 0,
		                      "driver built for ABI version %u; this library supports 1 to %d",
		                      d->abi_version, DSQL_DRIVER_ABI_VERSION);
	if (d->struct_size < offsetof(dsql_driver, prepare_transaction))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "driver struct_size %zu is smaller than ABI 1 requires",
		                      d->struct_size);
	if (!d->name || !*d->name || strlen(d->name) >= sizeof(((dsql_error *)0)->driver))
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "driver name missing or longer than 31 bytes");
	if (!d->uri_schemes || !d->uri_schemes[0])
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "driver '%s' declares no URI scheme", d->name);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!has_method(d, required[i]))
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "driver '%s' lacks a required method", d->name);
	return DSQL_OK;
}

static int register_locked(const dsql_driver *d, dsql_error *err)
{
	dsql_driver copy;
	size_t n;
	int rc = validate(d, err);

	if (rc != DSQL_OK)
		return rc;
	for (size_t i = 0; i < n_drivers; i++)
		if (strcmp(drivers[i].name, d->name) == 0)
			return DSQL_OK; /* idempotent */
	for (const char *const *s = d->uri_schemes; *s; s++)
		if (find_scheme_locked(*s, strlen(*s)))
			return dsql_error_set(err, DSQL_EEXISTS, NULL, NULL, 0,
			                      "URI scheme '%s' is taken by another driver", *s);
	if (n_drivers == MAX_DRIVERS)
		return dsql_error_set(err, DSQL_EUNSUPPORTED, NULL, NULL, 0,
		                      "too many drivers registered (%d)", MAX_DRIVERS);
	memset(&copy, 0, sizeof(copy));
	n = d->struct_size < sizeof(copy) ? d->struct_size : sizeof(copy);
	memcpy(&copy, d, n);
	/* Optional methods come as a set: a half-declared 2PC is no 2PC. */
	if (!copy.prepare_transaction || !copy.commit_prepared || !copy.rollback_prepared ||
	    !copy.list_prepared) {
		copy.prepare_transaction = NULL;
		copy.commit_prepared = NULL;
		copy.rollback_prepared = NULL;
		copy.list_prepared = NULL;
		copy.capabilities &= ~DSQL_CAP_TWO_PHASE;
	}
	/* An ABI 1 driver has no exec_deferred (struct_size ends before it). */
	if (!copy.exec_deferred)
		copy.capabilities &= ~DSQL_CAP_DEFERRED;
	else if (!(copy.capabilities & DSQL_CAP_DEFERRED))
		copy.exec_deferred = NULL;
	/* Application SQL needs both: a statement judged, and the transaction
	 * seen to be still open after it. */
	if (!copy.prepare_application || !copy.in_transaction) {
		copy.prepare_application = NULL;
		copy.in_transaction = NULL;
	}
	drivers[n_drivers++] = copy;
	rebuild_schemes_locked();
	return DSQL_OK;
}

static void builtins_locked(void)
{
	if (builtins_done)
		return;
	builtins_done = 1;
	for (const dsql_driver *const *d = dsql_builtin_drivers; *d; d++)
		register_locked(*d, NULL);
}

int dsql_driver_register(const dsql_driver *driver, dsql_error *err)
{
	int rc;

	pthread_mutex_lock(&lock);
	builtins_locked();
	rc = register_locked(driver, err);
	pthread_mutex_unlock(&lock);
	return rc;
}

const dsql_driver *registry_find(const char *uri)
{
	const dsql_driver *d;

	if (!uri)
		return NULL;
	pthread_mutex_lock(&lock);
	builtins_locked();
	d = find_scheme_locked(uri, scheme_len(uri));
	pthread_mutex_unlock(&lock);
	return d;
}

const dsql_driver *dsql_driver_find(const char *uri)
{
	return registry_find(uri);
}

const char *registry_schemes(void)
{
	pthread_mutex_lock(&lock);
	builtins_locked();
	pthread_mutex_unlock(&lock);
	return schemes_text;
}

static int load_file(const char *path, dsql_error *err)
{
	dsql_driver_init_fn init;
	const dsql_driver *d = NULL;
	void *h, *sym;
	int rc;

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0, "cannot load driver: %s",
		                      dlerror());
	sym = dlsym(h, DSQL_DRIVER_INIT_SYMBOL);
	if (!sym) {
		dlclose(h);
		return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
		                      "'%s' does not export %s()", path, DSQL_DRIVER_INIT_SYMBOL);
	}
	memcpy(&init, &sym, sizeof(init));
	rc = init(&d, DSQL_DRIVER_ABI_VERSION, err);
	if (rc == DSQL_OK)
		rc = dsql_driver_register(d, err);
	/* The driver's code stays mapped for the life of the process: the
	 * registry keeps pointers into it. */
	if (rc != DSQL_OK)
		dlclose(h);
	return rc;
}

int dsql_driver_load(const char *path_or_name, dsql_error *err)
{
	const char *dirs[2] = {getenv("DELTASQL_DRIVER_PATH"), DSQL_DRIVER_DIR};
	char path[PATH_MAX];

	if (!path_or_name || !*path_or_name)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "driver path is empty");
	if (strchr(path_or_name, '/'))
		return load_file(path_or_name, err);
	for (int i = 0; i < 2; i++) {
		const char *p = dirs[i];

		while (p && *p) {
			size_t n = strcspn(p, ":");
			FILE *f;

			snprintf(path, sizeof(path), "%.*s/deltasql_%s.so", (int)n, p, path_or_name);
			if ((f = fopen(path, "rb"))) {
				fclose(f);
				return load_file(path, err);
			}
			p += n;
			if (*p == ':')
				p++;
		}
	}
	return dsql_error_set(err, DSQL_ENOTFOUND, NULL, NULL, 0,
	                      "driver '%s' not found on DELTASQL_DRIVER_PATH or in %s", path_or_name,
	                      DSQL_DRIVER_DIR);
}
