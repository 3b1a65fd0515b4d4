#!/usr/bin/env bash
# make bench: runs deltasql-bench on every driver this build has.
#
#   bench/run.sh TOP_SRCDIR BENCH_BINARY [ARGS...]
#
# Without a PostgreSQL server given (DELTASQL_BENCH_PG_URI or
# DELTASQL_TEST_PG_URI), a throwaway one is started with scripts/pg-server.sh
# and removed afterwards; without ODBCSYSINI, private ODBC ini files come from
# scripts/odbc-setup.sh; without a MariaDB (DELTASQL_BENCH_ODBC_MARIADB or
# DELTASQL_TEST_ODBC_MARIADB_URI), a throwaway one from scripts/mariadb-server.sh.
# BENCH_PG=no, BENCH_ODBC=no and BENCH_MARIADB=no leave them out. The
# server's postmaster pid goes to the benchmark (DELTASQL_BENCH_SERVER_PID),
# which pins the server and itself to cores of their own (--no-pin: not).
# Set-up messages go to stderr, so that --json output on stdout stays clean.
# The Python binding's bench (bindings/python/bench_arrow.py) follows.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 TOP_SRCDIR BENCH_BINARY [ARGS...]" >&2; exit 2; }
top=$1
bin=$2
shift 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/deltasql-bench-env.XXXXXX")
chmod 755 "$tmp"
cleanup() {
	if [ -f "$tmp/pg/env" ]; then
		bash "$top/scripts/pg-server.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
	fi
	if [ -f "$tmp/mariadb/env" ]; then
		bash "$top/scripts/mariadb-server.sh" stop "$tmp/mariadb" >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "${BENCH_PG:-yes}" != no ] && [ -z "${DELTASQL_BENCH_PG_URI:-}${DELTASQL_TEST_PG_URI:-}" ]; then
	if bash "$top/scripts/pg-server.sh" start "$tmp/pg" >&2; then
		. "$tmp/pg/env"
		# Its postmaster: the benchmark pins it to cores of its own.
		DELTASQL_BENCH_SERVER_PID=$(head -n 1 "$tmp/pg/data/postmaster.pid")
		export DELTASQL_BENCH_SERVER_PID
	else
		echo "bench: could not start a PostgreSQL server; measuring without it" >&2
	fi
fi
if [ "${BENCH_ODBC:-yes}" != no ] && [ "${BENCH_MARIADB:-yes}" != no ] &&
	[ -z "${DELTASQL_BENCH_ODBC_MARIADB:-}${DELTASQL_TEST_ODBC_MARIADB_URI:-}" ]; then
	if bash "$top/scripts/mariadb-server.sh" start "$tmp/mariadb" >&2; then
		. "$tmp/mariadb/env"
	else
		echo "bench: could not start a MariaDB server; measuring without it" >&2
	fi
fi
if [ "${BENCH_ODBC:-yes}" != no ] && [ -z "${ODBCSYSINI:-}" ]; then
	if bash "$top/scripts/odbc-setup.sh" "$tmp/odbc" >&2; then
		. "$tmp/odbc/env"
	else
		echo "bench: no ODBC drivers; measuring without ODBC" >&2
	fi
fi
status=0
"$bin" "$@" || status=$?
# The Python binding's part (BENCH_PYTHON=no leaves it out): a snapshot of 1M
# files to a pyarrow.Table against pyarrow reading the same rows directly,
# in the binding's private venv of pinned packages.
if [ "${BENCH_PYTHON:-yes}" != no ]; then
	lib=$(cd "$(dirname "$bin")/.." && pwd)/.libs/libdeltasql.so
	pyargs=
	out_fd=1
	for a in "$@"; do
		case $a in
		--quick) pyargs="$pyargs --files 100000 --reps 1" ;;
		--json) pyargs="$pyargs --json" out_fd=2 ;; # stdout stays one JSON document
		esac
	done
	if py=$(sh "$top/bindings/python/tests/venv.sh" "$(dirname "$lib")/../python-venv"); then
		# shellcheck disable=SC2086 # pyargs is a list of words
		DELTASQL_LIBRARY=$lib PYTHONPATH=$top/bindings/python \
			"$py" "$top/bindings/python/bench_arrow.py" $pyargs >&"$out_fd" || status=1
	else
		echo "bench: no Python venv (tests/requirements.txt); the Python part is left out" >&2
	fi
fi
exit "$status"
