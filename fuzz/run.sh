#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ ASan/UBSan) and runs each for
# FUZZ_SECONDS (default 60) on its seed corpus. Prints the executions.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_DIR:-$top/_build-fuzz}
seconds=${FUZZ_SECONDS:-60}
command -v clang >/dev/null || { echo "fuzz: clang is not installed" >&2; exit 1; }
mkdir -p "$out"
cat > "$out/config.h" <<'H'
/* fuzz build: only the SQLite driver */
H
sanitizers="-fsanitize=fuzzer,address,undefined"
read -r -a pc_cflags <<< "$(pkg-config --cflags jansson sqlite3)"
read -r -a pc_libs <<< "$(pkg-config --libs jansson sqlite3)"
flags=(-g -O1 "$sanitizers" -fno-sanitize-recover=undefined
	-D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -DDSQL_DRIVER_DIR='"/nonexistent"'
	-I"$top/include" -I"$top/core" -I"$out" "${pc_cflags[@]}")
libs=("${pc_libs[@]}" -lpthread -ldl)
lib_sources=("$top"/core/*.c "$top"/drivers/sqlite/*.c)
clang "${flags[@]}" "$top/fuzz/fuzz_action.c" "$top/core/action.c" "$top/core/file_action.c" \
	"$top/core/delta_path.c" \
	"$top/core/error.c" \
	"$top/core/util.c" "${libs[@]}" -o "$out/fuzz_action"
clang "${flags[@]}" "$top/fuzz/fuzz_commit.c" "${lib_sources[@]}" "${libs[@]}" -o "$out/fuzz_commit"
clang "${flags[@]}" "$top/fuzz/fuzz_import.c" "${lib_sources[@]}" "${libs[@]}" -o "$out/fuzz_import"
status=0
for t in action commit import; do
	mkdir -p "$out/corpus-$t"
	cp "$top/fuzz/corpus/$t/"* "$out/corpus-$t/"
	if (cd "$out" && "./fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=20 \
		-print_final_stats=1 "corpus-$t" >"$out/fuzz_$t.log" 2>&1); then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz_$t.log")
		echo "PASS: fuzz_$t: ${runs:-?} executions in ${seconds}s, no crash"
	else
		status=1
		echo "FAIL: fuzz_$t"
		tail -n 40 "$out/fuzz_$t.log"
	fi
done
exit "$status"
