#!/bin/sh
# Every public header compiles on its own with -pedantic -Werror, as C and
# as C++ when a C++ compiler is present.
set -eu
inc="${top_srcdir:-.}/include"
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for h in "$inc"/deltasql.h "$inc"/deltasql/*.h; do
	rel=${h#"$inc"/}
	printf '#include <%s>\nint main(void) { return 0; }\n' "$rel" > "$tmp/t.c"
	$cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o" ||
		{ echo "FAIL: $rel does not compile on its own (C99)" >&2; exit 1; }
	if command -v c++ >/dev/null 2>&1; then
		cp "$tmp/t.c" "$tmp/t.cc"
		c++ -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.cc" -o "$tmp/t.o" ||
			{ echo "FAIL: $rel does not compile on its own (C++)" >&2; exit 1; }
	fi
	n=$((n + 1))
done
echo "PASS: $n public headers compile on their own"
