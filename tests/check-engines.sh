#!/bin/sh
# The engine tests (tests/engines/test_engines.py): delta-rs, DuckDB's delta
# extension and Spark with delta-spark read what deltasql publishes, and
# deltasql imports what they write. Their Python packages come from
# scripts/pyenv.sh (a private venv in the build folder, pinned); Spark's
# Delta jars come through Ivy into a cache inside that venv. Under CI=true an
# engine that cannot be installed or started is a failure, never a skip.
set -u
top_srcdir=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
build=$(cd "${top_builddir:-$top_srcdir/_build}" && pwd)
if [ -n "${DELTASQL_SANITIZER_BUILD:-}" ]; then
	echo "engines: not run in the sanitizer build (they run in the main build)"
	exit 77
fi
if ! pyenv=$(BUILD_DIR=$build "$top_srcdir/scripts/pyenv.sh"); then
	echo "FAIL: scripts/pyenv.sh could not make the engines' Python environment"
	[ "${CI:-}" = true ] && exit 1
	echo "SKIPPED: engine tests *** no Python environment (outside CI only) ***"
	exit 77
fi
if ! command -v java >/dev/null; then
	echo "FAIL: no java (Spark needs Java 17: scripts/deps.sh installs it)"
	[ "${CI:-}" = true ] && exit 1
	echo "SKIPPED: engine tests *** no java (outside CI only) ***"
	exit 77
fi
export DELTASQL_CLI="$build/deltasql"
export DELTASQL_LIBRARY="$build/.libs/libdeltasql.so"
export DELTASQL_IVY="$pyenv/ivy"
export PYTHONPATH="$top_srcdir/bindings/python"
# The checkpoint tests need a build with --enable-checkpoints; under CI=true
# scripts/test.sh makes one, and its absence is a failure.
if grep -q '^#define DSQL_CHECKPOINTS 1' "$build/config.h" 2>/dev/null; then
	export DELTASQL_CHECKPOINTS=1
elif [ "${CI:-}" = true ]; then
	echo "FAIL: deltasql was built without --enable-checkpoints (CI must test checkpoints)"
	exit 1
else
	echo "SKIPPED: checkpoint engine tests *** built without --enable-checkpoints ***"
fi
out=$(mktemp)
"$pyenv/bin/python" "$top_srcdir/tests/engines/test_engines.py" "$@" >"$out" 2>&1
status=$?
cat "$out"
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\}.*/\1/p' "$out")
failed=$(grep -cE '^(FAIL|ERROR):' "$out")
skipped=$(grep -cE ' \.\.\. skipped' "$out")
rm -f "$out"
[ "${ran:-0}" -gt 0 ] || status=1
echo "engines: $((${ran:-0} - failed - skipped)) passed, $failed failed, $skipped skipped"
exit "$status"
