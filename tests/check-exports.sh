#!/bin/sh
# Only the public API may be exported from the shared library: every
# dynamic symbol it defines must start with dsql_.
set -eu
lib=$(find "${top_builddir:-.}/.libs" -name 'libdeltasql.so.*' -type f | head -n 1)
if [ -z "$lib" ]; then
	echo "FAIL: no shared libdeltasql built (configure --enable-shared)" >&2
	exit 1
fi
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^dsql_' || true)
count=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | grep -c '^dsql_')
if [ -n "$bad" ]; then
	echo "FAIL: symbols exported outside the public API:" >&2
	echo "$bad" >&2
	exit 1
fi
for want in dsql_catalog_open dsql_txn_commit dsql_snapshot_open dsql_driver_register; do
	nm -D --defined-only "$lib" | grep -q " $want\$" || { echo "FAIL: $want not exported" >&2; exit 1; }
done
echo "PASS: $count symbols exported, all dsql_*"
