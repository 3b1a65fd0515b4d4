#!/usr/bin/env bash
# Installs the Debian packages deltasql needs to build and test, when any
# is missing. Needs root (or sudo). Touches nothing but the package system.
set -euo pipefail

packages=(
	build-essential autoconf automake libtool pkg-config check help2man
	libsqlite3-dev sqlite3 libjansson-dev
	libpq-dev postgresql pgbouncer
	unixodbc unixodbc-dev odbc-postgresql libsqliteodbc
	mariadb-server mariadb-client odbc-mariadb
	valgrind clang libclang-rt-14-dev
	openjdk-17-jre-headless python3-venv
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The postgresql and mariadb-server packages would start the system's own
# servers; our tests run private throwaway servers instead
# (scripts/pg-server.sh, scripts/mariadb-server.sh), so keep the services
# from starting.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
	"${sudo[@]}" chmod +x "$policy"
	created_policy=1
fi
cleanup() { [ "$created_policy" -eq 1 ] && "${sudo[@]}" rm -f "$policy"; return 0; }
trap cleanup EXIT
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
