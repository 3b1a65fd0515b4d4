#!/usr/bin/env bash
# The main job: builds deltasql on the embedded SQLite default, creates two
# tables in a catalog file, commits to both of them in one atomic
# transaction, and shows their snapshots and history.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
# A tree configured by hand (README: ./configure && make in the source) is
# built where it is: configure refuses to build out of tree beside it. The
# build's output is kept in a log and shown when it fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ -f "$top/config.status" ]; then
	dsql="$top/deltasql"
	make -C "$top" >"$log" 2>&1 || { cat "$log"; echo "demo: the build failed (above)" >&2; exit 1; }
else
	dsql="$top/_build/deltasql"
	"$top/scripts/build.sh" >"$log" 2>&1 || { cat "$log"; echo "demo: the build failed (above)" >&2; exit 1; }
fi
dir=${DEMO_DIR:-$top/demo-output}
rm -rf "$dir"
mkdir -p "$dir"
export DELTASQL_CATALOG="sqlite:$dir/lake.db"
run() { echo; echo "\$ deltasql $*"; "$dsql" "$@"; }

run init
run create dim_customer --location "$dir/dim_customer" \
	--schema '{"type":"struct","fields":[{"name":"id","type":"long","nullable":false,"metadata":{}},{"name":"country","type":"string","nullable":true,"metadata":{}}]}' \
	--partition-by country
run create fact_orders --location "$dir/fact_orders" \
	--schema '{"type":"struct","fields":[{"name":"order_id","type":"long","nullable":false,"metadata":{}},{"name":"customer_id","type":"long","nullable":false,"metadata":{}}]}'
cat > "$dir/commit.json" <<'JSON'
{
  "isolation": "write_serializable",
  "tables": {
    "dim_customer": {"actions": [
      {"add": {"path": "country=DE/part-0000.parquet", "partitionValues": {"country": "DE"},
               "size": 1024, "modificationTime": 1767225600000, "dataChange": true,
               "stats": "{\"numRecords\":10}"}},
      {"add": {"path": "country=FR/part-0000.parquet", "partitionValues": {"country": "FR"},
               "size": 2048, "modificationTime": 1767225600000, "dataChange": true,
               "stats": "{\"numRecords\":20}"}}
    ]},
    "fact_orders": {"actions": [
      {"add": {"path": "part-0000.parquet", "partitionValues": {}, "size": 4096,
               "modificationTime": 1767225600000, "dataChange": true,
               "stats": "{\"numRecords\":300}"}},
      {"txn": {"appId": "orders-loader", "version": 1}}
    ]}
  }
}
JSON
echo; echo "\$ deltasql commit $dir/commit.json   # both tables, one atomic transaction"
"$dsql" commit "$dir/commit.json"
run snapshot dim_customer
run snapshot fact_orders
run history fact_orders
run list
echo
echo "demo: catalog at $dir/lake.db (try: DELTASQL_CATALOG=sqlite:$dir/lake.db $dsql snapshot fact_orders --json)"
