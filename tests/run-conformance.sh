#!/bin/sh
# Runs deltasql-conformance against every backend this machine has: SQLite,
# the out-of-tree SQLite plugin, PostgreSQL, PostgreSQL through PgBouncer,
# SQLite, PostgreSQL and MariaDB through ODBC. A backend whose server or ini files are missing is
# a failure under CI=true and a loud skip otherwise.
set -u
bin="${top_builddir:-.}/deltasql-conformance"
plugin=$(find "${top_builddir:-.}/examples/plugin/.libs" -name 'deltasql_sqlite_plugin.so' 2>/dev/null | head -n 1)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dsqlconf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
status=0
ran=0

run() {
	label=$1
	shift
	echo "=== conformance: $label"
	if "$bin" "$@" > "$tmp/out" 2>&1; then
		ran=$((ran + 1))
		grep -E 'Checks:' "$tmp/out"
	else
		status=1
		cat "$tmp/out"
		echo "FAIL: conformance on $label"
	fi
}

missing() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $1 (CI=true: every driver must run)"
		status=1
	else
		echo "SKIPPED: conformance on $1 *** (outside CI only) ***" >&2
	fi
}

run sqlite "sqlite:$tmp/conformance.db"
if [ -n "$plugin" ]; then
	run sqlite-plugin --driver "$plugin" "sqlite-plugin:$tmp/plugin.db"
	# Found by name on DELTASQL_DRIVER_PATH, from the command line.
	if DELTASQL_DRIVER_PATH=$(dirname "$plugin") "${top_builddir:-.}/deltasql" \
		--driver sqlite_plugin --catalog "sqlite-plugin:$tmp/byname.db" init >/dev/null; then
		echo "plugin loaded by name: ok"
	else
		echo "FAIL: the plugin could not be loaded by name"
		status=1
	fi
else
	echo "FAIL: the example plugin was not built"
	status=1
fi
# A database of its own when scripts/pg-server.sh made one: check_pg and
# check_odbc run at the same time under make -j.
pg_uri=${DELTASQL_CONFORMANCE_PG_URI:-${DELTASQL_TEST_PG_URI:-}}
odbc_pg_uri=${DELTASQL_CONFORMANCE_ODBC_PG_URI:-${DELTASQL_TEST_ODBC_PG_URI:-}}
if [ -n "$pg_uri" ]; then
	run postgresql "$pg_uri"
else
	missing "postgresql: DELTASQL_TEST_PG_URI is not set"
fi
# The same suite through PgBouncer in transaction mode, a pool of two server
# sessions for more processes (scripts/pgbouncer.sh): the bank stress, the
# crash and two-phase cases included.
if [ -n "${DELTASQL_CONFORMANCE_PGBOUNCER_URI:-}" ]; then
	run postgresql-pgbouncer "$DELTASQL_CONFORMANCE_PGBOUNCER_URI"
else
	missing "postgresql-pgbouncer: DELTASQL_CONFORMANCE_PGBOUNCER_URI is not set"
fi
if [ -n "${ODBCSYSINI:-}" ]; then
	run odbc-sqlite "odbc:DRIVER={SQLite3};Database=$tmp/odbc.db"
else
	missing "odbc-sqlite: ODBCSYSINI is not set"
fi
if [ -n "$odbc_pg_uri" ]; then
	run odbc-postgresql "$odbc_pg_uri"
else
	missing "odbc-postgresql: DELTASQL_TEST_ODBC_PG_URI is not set"
fi
odbc_maria_uri=${DELTASQL_CONFORMANCE_ODBC_MARIADB_URI:-${DELTASQL_TEST_ODBC_MARIADB_URI:-}}
if [ -n "$odbc_maria_uri" ] && [ -n "${ODBCSYSINI:-}" ]; then
	run odbc-mariadb "$odbc_maria_uri"
else
	missing "odbc-mariadb: DELTASQL_TEST_ODBC_MARIADB_URI is not set (scripts/mariadb-server.sh)"
fi
echo "conformance: $ran backends passed"
exit $status
