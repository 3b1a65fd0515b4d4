#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds (with the fault
# points compiled in), starts a throwaway PostgreSQL on a private port and
# socket directory, writes private ODBC ini files, runs `make check`, prints
# every Check summary line, and stops the servers again. A throwaway
# MariaDB (scripts/mariadb-server.sh) is reached through ODBC.
#
# With CI=true every driver's tests must run: a missing server or ODBC
# driver is a failure, never a skip.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$top/_build}
"$top/scripts/deps.sh"
# Checkpoints of published logs need cargo (the Parquet writer, checkpoint/);
# CI must build them. Builds share one cargo target folder.
checkpoints=--enable-checkpoints
if ! command -v cargo >/dev/null; then
	[ "${CI:-}" = true ] && { echo "test: cargo is missing (checkpoints must be built in CI)" >&2; exit 1; }
	echo "test: *** no cargo: built without checkpoints, their tests are SKIPPED ***" >&2
	checkpoints=
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$BUILD_DIR/checkpoint-target}
# shellcheck disable=SC2086 # empty when there is no cargo
"$top/scripts/build.sh" --enable-fault-injection $checkpoints

work=$(mktemp -d "${TMPDIR:-/tmp}/deltasql-test.XXXXXX")
chmod 755 "$work"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	"$top/scripts/pgbouncer.sh" stop "$work/pgbouncer" >/dev/null 2>&1 || true
	"$top/scripts/pg-standby.sh" stop "$work/standby" >/dev/null 2>&1 || true
	"$top/scripts/pg-server.sh" stop "$work/pg" >/dev/null 2>&1 || true
	"$top/scripts/mariadb-server.sh" stop "$work/mariadb" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

if "$top/scripts/pg-server.sh" start "$work/pg"; then
	# shellcheck disable=SC1091
	. "$work/pg/env"
else
	echo "test: could not start a throwaway PostgreSQL server" >&2
	[ "${CI:-}" = true ] && exit 1
	echo "test: *** PostgreSQL tests will be SKIPPED (outside CI only) ***" >&2
fi
# PostgreSQL as deployed (tests/check_deploy.c, the conformance suite through
# the pooler): PgBouncer in transaction mode and a hot standby in front of
# and behind the throwaway server.
if [ -n "${DELTASQL_TEST_PG_URI:-}" ]; then
	if "$top/scripts/pgbouncer.sh" start "$work/pgbouncer" "$work/pg"; then
		# shellcheck disable=SC1091
		. "$work/pgbouncer/env"
	else
		echo "test: could not start a throwaway PgBouncer" >&2
		[ "${CI:-}" = true ] && exit 1
		echo "test: *** PgBouncer tests will be SKIPPED (outside CI only) ***" >&2
	fi
	if "$top/scripts/pg-standby.sh" start "$work/standby" "$work/pg"; then
		# shellcheck disable=SC1091
		. "$work/standby/env"
	else
		echo "test: could not start a throwaway hot standby" >&2
		[ "${CI:-}" = true ] && exit 1
		echo "test: *** standby tests will be SKIPPED (outside CI only) ***" >&2
	fi
fi
if "$top/scripts/mariadb-server.sh" start "$work/mariadb"; then
	# shellcheck disable=SC1091
	. "$work/mariadb/env"
else
	echo "test: could not start a throwaway MariaDB server" >&2
	[ "${CI:-}" = true ] && exit 1
	echo "test: *** MariaDB tests will be SKIPPED (outside CI only) ***" >&2
	unset DELTASQL_TEST_ODBC_MARIADB_URI DELTASQL_CONFORMANCE_ODBC_MARIADB_URI
fi
if "$top/scripts/odbc-setup.sh" "$work/odbc"; then
	# shellcheck disable=SC1091
	. "$work/odbc/env"
	if [ -n "${DELTASQL_TEST_PG_SOCKDIR:-}" ]; then
		odbc_pg="odbc:DRIVER={PostgreSQL Unicode};Servername=$DELTASQL_TEST_PG_SOCKDIR;Port=$DELTASQL_TEST_PG_PORT;Username=$DELTASQL_TEST_PG_USER"
		export DELTASQL_TEST_ODBC_PG_URI="$odbc_pg;Database=deltasql_test"
		export DELTASQL_CONFORMANCE_ODBC_PG_URI="$odbc_pg;Database=deltasql_conformance"
	fi
else
	echo "test: could not configure ODBC" >&2
	[ "${CI:-}" = true ] && exit 1
	echo "test: *** ODBC tests will be SKIPPED (outside CI only) ***" >&2
fi
export DELTASQL_FIXTURES=${DELTASQL_FIXTURES:-$top/../shared/fixtures/delta-acceptance}
# The bank stress test runs this long per driver (a bigger run: raise it).
export DELTASQL_STRESS_SECONDS=${DELTASQL_STRESS_SECONDS:-60}

cd "$BUILD_DIR"
status=0
make -j"$(nproc)" check >check.out 2>&1 || status=$?
# The same suites under AddressSanitizer + UndefinedBehaviorSanitizer, and
# valgrind on the command line (scripts/sanitize.sh); its summary follows.
sanitize_status=0
"$top/scripts/sanitize.sh" > sanitize.out 2>&1 || sanitize_status=$?
# A short fuzzing run of each libFuzzer target (make fuzz for longer ones).
fuzz_status=0
FUZZ_SECONDS=${FUZZ_SECONDS:-40} FUZZ_DIR="$BUILD_DIR/fuzz-out" "$top/fuzz/run.sh" \
	> fuzz.out 2>&1 || fuzz_status=$?
grep -E '^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS):' check.out || true
echo
echo "=== Check summaries ==="
for log in tests/*.log bindings/python/*.log; do
	[ "$log" = tests/test-suite.log ] && continue
	grep -H -E '^[0-9]+%: Checks: |^(PASS|SKIP)ED|^SKIPPED|^NOT RUN|^PASS:|^engines: ' "$log" || true
done
if [ "$status" -ne 0 ]; then
	echo
	echo "=== logs of failed tests ==="
	for trs in tests/*.trs; do
		if grep -qE ':test-result: (FAIL|ERROR)' "$trs"; then
			log=${trs%.trs}.log
			echo "--- $log"
			grep -v ':P:' "$log" | tail -n 80
		fi
	done
	[ -s check.out ] && grep -E 'error|Error' check.out | head -n 20
fi
echo
grep -vE '^  (pass|not supported) ' sanitize.out | tail -n 80
[ "$sanitize_status" -eq 0 ] || { echo "sanitizers: FAILED"; status=1; }
echo
echo "=== fuzzing ==="
cat fuzz.out
[ "$fuzz_status" -eq 0 ] || { echo "fuzzing: FAILED"; status=1; }
if [ "$status" -ne 0 ] || [ "$sanitize_status" -ne 0 ]; then
	# What the database server said about deadlocks, lock timeouts and
	# serialization failures, for whoever reads a failed run.
	echo
	echo "=== PostgreSQL server log (errors) ==="
	grep -E -A4 'deadlock|lock timeout|could not serialize' "$work/pg/server.log" 2>/dev/null |
		tail -n 60 || true
fi
echo
grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' check.out || cat check.out
# One closing line over every Check run and the engine tests' unittest run:
# "N passed, N failed".
cat tests/*.log bindings/python/*.log 2>/dev/null | awk '/^[0-9]+%: Checks: / {
	gsub(",", ""); n += $3; f += $5 + $7 }
	/^engines: [0-9]+ passed, [0-9]+ failed/ { gsub(",", ""); n += $2 + $4; f += $4 }
	END { printf "checks: %d passed, %d failed\n", n - f, f }'
exit "$status"
