#!/usr/bin/env bash
# A private Python environment for the engine tests: a venv in DIR (default
# $BUILD_DIR/pyenv, outside the source tree) with the pinned packages of
# scripts/requirements-engines.txt. Nothing is installed system-wide. Run
# again, it does nothing unless the requirements changed. Prints DIR.
#
#   scripts/pyenv.sh [DIR]        then DIR/bin/python
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
req=$top/scripts/requirements-engines.txt
dir=${1:-${DELTASQL_PYENV:-${BUILD_DIR:-$top/_build}/pyenv}}
python=${PYTHON:-python3}

stamp=$dir/.requirements
if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
	echo "$dir"
	exit 0
fi
echo "pyenv: installing $(grep -c '^[a-z]' "$req") pinned packages into $dir" >&2
"$python" -m venv --clear "$dir" >&2
# pip's own cache stays inside the environment's folder too.
PIP_CACHE_DIR=$dir/.pip-cache "$dir/bin/pip" install --quiet --disable-pip-version-check \
	--no-input -r "$req" >&2
rm -rf "$dir/.pip-cache"
cp "$req" "$stamp"
echo "$dir"
