#!/usr/bin/env bash
# The unit and conformance suites again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer in a separate build directory (_build-asan).
# Uses whatever servers and ODBC ini files the environment points to (run it
# from scripts/test.sh, which sets them up).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export BUILD_DIR=${ASAN_BUILD_DIR:-$top/_build-asan}
flags="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
"$top/scripts/build.sh" --enable-fault-injection \
	CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined"
# Leaks inside unixODBC and its drivers are theirs, not ours.
supp="$BUILD_DIR/lsan.supp"
printf 'leak:libodbc\nleak:libodbcinst\nleak:libsqlite3odbc\nleak:psqlodbcw\nleak:libmaodbc\nleak:libmariadb\nleak:libltdl\n' > "$supp"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS="suppressions=$supp"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export DELTASQL_SANITIZER_BUILD=1
# The bank stress test already ran its full length in the main build.
export DELTASQL_STRESS_SECONDS=10
cd "$BUILD_DIR"
status=0
make -j"$(nproc)" check >check.out 2>&1 || status=$?
echo "=== sanitizers (ASan + UBSan) ==="
grep -E '^(PASS|FAIL|SKIP|ERROR):' check.out || true
for log in tests/*.log; do
	grep -H -E '^[0-9]+%: Checks: ' "$log" || true
done
if [ "$status" -ne 0 ]; then
	for trs in tests/*.trs examples/*.trs; do
		if grep -qE ':test-result: (FAIL|ERROR)' "$trs"; then
			echo "--- ${trs%.trs}.log"
			grep -v ':P:' "${trs%.trs}.log" | tail -n 60
		fi
	done
fi

# valgrind memcheck on the command line's main commands (the normal build).
main_build=${BUILD_DIR%-asan}
if command -v valgrind >/dev/null 2>&1 && [ -x "$main_build/deltasql" ]; then
	echo "=== valgrind memcheck: deltasql commands ==="
	vdir=$(mktemp -d)
	export DELTASQL_CATALOG="sqlite:$vdir/v.db"
	doc='{"tables": {"t": {"actions": [{"add": {"path": "a", "size": 1, "modificationTime": 1, "dataChange": true, "partitionValues": {}}}, {"txn": {"appId": "x", "version": 1}}]}}, "sql": [{"statement": "SELECT ?", "params": [1]}]}'
	for args in "init" "create t" "commit" "snapshot t --json" "history t" "list --json" \
		"export t $vdir/out" "import t2 $vdir/out" "expire t --keep-versions 1" \
		"vacuum t --retain 0" "drop t"; do
		# shellcheck disable=SC2086
		if printf '%s' "$doc" | "$main_build/libtool" --mode=execute valgrind -q \
			--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
			"$main_build/deltasql" $args >/dev/null 2>"$vdir/vg.txt"; then
			echo "PASS: valgrind deltasql $args"
		else
			echo "FAIL: valgrind deltasql $args"
			cat "$vdir/vg.txt"
			status=1
		fi
	done
	rm -rf "$vdir"
fi
exit "$status"
