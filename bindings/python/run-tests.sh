#!/bin/sh
# Runs the Python binding's unittest suite (and the example) against the
# library in the build tree. Under automake, top_builddir points at it.
set -u
if [ -n "${DELTASQL_SANITIZER_BUILD:-}" ]; then
	# python3 itself is not instrumented; the suite runs in the main build.
	echo "python: not run in the sanitizer build (it runs in the main build)"
	exit 77
fi
here=$(cd "$(dirname "$0")" && pwd)
build=${top_builddir:-$here/../../_build}
build=$(cd "$build" && pwd)
export DELTASQL_LIBRARY="$build/.libs/libdeltasql.so"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
if [ "${CI:-}" = true ] && [ -z "${DELTASQL_TEST_PG_URI:-}" ]; then
	echo "FAIL: DELTASQL_TEST_PG_URI is not set (CI=true: the PostgreSQL tests must run)"
	exit 1
fi
[ -n "${DELTASQL_TEST_PG_URI:-}" ] || echo "SKIPPED: Python PostgreSQL tests *** no server (outside CI only) ***" >&2
for need in "DELTASQL_TEST_ODBC_PG_URI:ODBC PostgreSQL" "ODBCSYSINI:ODBC SQLite" \
	"DELTASQL_TEST_ODBC_MARIADB_URI:ODBC MariaDB"; do
	var=${need%%:*}
	if [ "${CI:-}" = true ] && [ -z "$(printenv "$var")" ]; then
		echo "FAIL: $var is not set (CI=true: the ${need#*:} tests must run)"
		exit 1
	fi
done
# pyarrow, pandas and deltalake (pinned) in a private venv of the build tree;
# scripts/pyenv.sh's, once it is on main, replaces it.
index=yes
if py=$(sh "$here/tests/venv.sh" "$build/python-venv"); then
	:
elif [ "${CI:-}" = true ]; then
	echo "FAIL: could not make the Python test venv (tests/requirements.txt)"
	exit 1
else
	echo "SKIPPED: Python Arrow, write and delta-rs tests *** no venv: pyarrow missing (outside CI only) ***" >&2
	py=python3
	index=no
fi
out=$(mktemp)
"$py" -m unittest discover -s "$here/tests" -v >"$out" 2>&1
status=$?
cat "$out"
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\}.*/\1/p' "$out")
failures=$(grep -cE '^FAIL:' "$out")
errors=$(grep -cE '^ERROR:' "$out")
failed=$((failures + errors))
skipped=$(grep -cE ' \.\.\. skipped' "$out")
rm -f "$out"
ex=0
python3 "$here/../../examples/pipeline.py" || ex=1
if [ "$py" != python3 ]; then
	"$py" "$here/../../examples/feature_store.py" || ex=1
fi
# A fresh venv per way of installing, each running the README's example.
INDEX=$index sh "$here/tests/install.sh" "$build" || ex=1
# Check's summary line too, so that scripts/test.sh's closing count has these
# (a failed example or install counts as one failure more).
checks=$((${ran:-0} - skipped + ex))
failures=$((failures + ex))
echo "$(( checks > 0 ? (checks - failed) * 100 / checks : 0 ))%: Checks: $checks, Failures: $failures, Errors: $errors"
echo "python: $((${ran:-0} - failed - skipped)) passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$ex" -eq 0 ]
