#!/bin/sh
# How a new user installs the package: each way into a fresh venv, imported
# from / (not the tree) with no DELTASQL_LIBRARY, then the README's Python
# example run. Prints one "install: N passed, N failed" line.
#
#   tests/install.sh BUILD_DIR
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$here/../.." && pwd)
build=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/deltasql-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset DELTASQL_LIBRARY PYTHONPATH
# The README's example, as a user would paste it.
sed -n '/^```python$/,/^```$/p' "$here/README.md" | sed '1d;$d' > "$work/example.py"
# Then pyarrow's part: there, or a clear pointer to the extra.
cat >> "$work/example.py" <<'PY'
try:
    import pyarrow
except ImportError:
    try:
        snap.to_arrow()
        raise SystemExit("to_arrow worked without pyarrow?")
    except ImportError as e:
        assert "deltasql[arrow]" in str(e), e
else:
    assert snap.to_arrow().column("path").to_pylist() == ["country=DE/p.parquet"]
PY
passed=0 failed=0 pip_env=

check() { # NAME PIP-ARGS...: a fresh venv, pip install, import, the example
	name=$1
	shift
	venv="$work/venv-$name"
	rm -rf "$venv"
	# shellcheck disable=SC2086 # pip_env is a list of NAME=VALUE words
	if python3 -m venv "$venv" && env $pip_env "$venv/bin/pip" install -q "$@" >"$work/pip.out" 2>&1 &&
		(cd "$work" && "$venv/bin/python" -c 'import deltasql; print(deltasql.library_path())' &&
			{ [ "$name" != arrow-extra ] || "$venv/bin/python" -c 'import pyarrow'; } &&
			"$venv/bin/python" "$work/example.py"); then
		echo "install: $name: ok"
		passed=$((passed + 1))
	else
		cat "$work/pip.out"
		echo "FAIL: install: $name"
		failed=$((failed + 1))
	fi
}

# With build isolation (pip's default) and without a package index: the
# backend needs nothing from one. The wheel bundles the tree's library.
check isolated --config-settings "library=$build/.libs/libdeltasql.so" "$here"
# The arrow extra brings pyarrow from the index (pinned as the tests pin it).
# (INDEX=no, as run-tests.sh says when it could not reach one: left out, loudly.)
pyarrow_pin=$(grep '^pyarrow==' "$here/tests/requirements.txt")
if [ "${INDEX:-yes}" = yes ]; then
	check arrow-extra --config-settings "library=$build/.libs/libdeltasql.so" "$pyarrow_pin" \
		"$here[arrow]"
else
	echo "SKIPPED: install: arrow-extra *** no package index (outside CI only) ***"
fi
check offline --no-index --no-build-isolation \
	--config-settings "library=$build/.libs/libdeltasql.so" "$here"
# A tree that was never built: pip builds the C library itself.
src="$work/src"
mkdir -p "$src"
(cd "$top" && git ls-files -z 2>/dev/null | xargs -0 cp --parents -t "$src") ||
	(cd "$top" && tar --exclude=./_build --exclude=./.git -cf - . | tar -xf - -C "$src")
cp -r "$here/." "$src/bindings/python/" # uncommitted work too, when there is any
rm -rf "$src/_build"
check from-source --no-index "$src/bindings/python"
# No library to bundle (build=no), an installed one found through the
# libdir pkg-config gave at build time.
mkdir -p "$work/pc"
sed -e "s|@prefix@|$work|; s|@exec_prefix@|$work|; s|@libdir@|$build/.libs|;
	s|@includedir@|$top/include|; s|@[A-Z_]*@|0|g" "$top/deltasql.pc.in" > "$work/pc/deltasql.pc"
pip_env="PKG_CONFIG_PATH=$work/pc"
check installed --no-index --config-settings build=no \
	"$src/bindings/python"
echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
