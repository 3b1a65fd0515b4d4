#!/bin/sh
# Prints the python3 of a private venv with the binding's pinned test packages
# (tests/requirements.txt), made once in DIR and remade when the pins change.
# Exits 1 when it cannot be made (no package index reachable).
#
#   tests/venv.sh DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
venv=$1
req="$here/requirements.txt"
if ! cmp -s "$req" "$venv/.requirements" 2>/dev/null; then
	rm -rf "$venv"
	python3 -m venv "$venv" >&2 &&
		"$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2 &&
		cp "$req" "$venv/.requirements" || { rm -rf "$venv"; exit 1; }
fi
echo "$venv/bin/python"
