#!/usr/bin/env bash
# Builds deltasql out of tree in $BUILD_DIR (default: _build). Extra
# arguments go to configure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/_build}
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
mkdir -p "$build"
cd "$build"
want="$*"
if [ ! -f Makefile ] || [ "$(cat .configure-args 2>/dev/null)" != "$want" ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" --enable-silent-rules "$@" >configure.out 2>&1 || { cat configure.out; exit 1; }
	echo "$want" > .configure-args
	tail -n 1 configure.out
fi
make -j"$(nproc)" >make.out 2>&1 || { cat make.out; exit 1; }
if grep -q 'warning:' make.out; then
	grep 'warning:' make.out >&2
	echo "build: warnings (see above)" >&2
fi
echo "build: ok ($build)"
