#!/usr/bin/env bash
# A throwaway MariaDB server for the tests: its own data directory and Unix
# socket under DIR, no TCP listener (--skip-networking), no configuration
# file read (--no-defaults: never /etc/mysql). Run as root, the server runs
# as the unprivileged "mysql" user. Never the system's service.
#
# The databases are made with the Debian default collation,
# utf8mb4_general_ci (case-, accent- and trailing-space-blind), on purpose:
# the tests then show that deltasql's own tables are byte-exact whatever the
# server's defaults (the ODBC dialect row names the collation).
#
#   scripts/mariadb-server.sh start DIR   # writes DIR/env (DELTASQL_TEST_MARIADB_URI,
#                                         # DELTASQL_CONFORMANCE_MARIADB_URI, ...)
#   scripts/mariadb-server.sh stop DIR    # stops the server and removes DIR
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

mysqld=$(command -v mariadbd || true)
[ -n "$mysqld" ] || mysqld=$( [ -x /usr/sbin/mariadbd ] && echo /usr/sbin/mariadbd || true)

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u mysql -- "$@"
	else
		"$@"
	fi
}

client() { mariadb --no-defaults -S "$sock" -u root "$@"; }

case "$cmd" in
start)
	[ -n "$mysqld" ] || { echo "mariadb-server: mariadbd not found (install mariadb-server)" >&2; exit 1; }
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	data=$dir/data
	sock=$dir/sock
	if [ -f "$dir/env" ] && [ -S "$sock" ] && client -e 'SELECT 1' >/dev/null 2>&1; then
		echo "mariadb-server: already running ($dir)"
		exit 0
	fi
	user=$(id -un)
	if [ "$(id -u)" -eq 0 ]; then
		id mysql >/dev/null 2>&1 || { echo "mariadb-server: no 'mysql' user to run the server as" >&2; exit 1; }
		user=mysql
		chown mysql "$dir"
		chmod 755 "$dir"
		runuser -u mysql -- test -x "$dir" ||
			{ echo "mariadb-server: the mysql user cannot reach $dir (make its parents world-searchable)" >&2; exit 1; }
	fi
	if [ ! -d "$data/mysql" ]; then
		as_owner mariadb-install-db --no-defaults --user="$user" --datadir="$data" \
			--auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
			{ cat "$dir/install.log" >&2; exit 1; }
	fi
	# Small buffers: several servers share a small machine. max_connections
	# covers the bank stress test's writers and readers.
	as_owner "$mysqld" --no-defaults --datadir="$data" --socket="$sock" --skip-networking \
		--pid-file="$dir/mariadbd.pid" --log-error="$dir/server.log" \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
		--innodb-flush-log-at-trx-commit=1 --max-connections=200 \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
		>/dev/null 2>&1 &
	for _ in $(seq 1 300); do
		[ -S "$sock" ] && client -e 'SELECT 1' >/dev/null 2>&1 && break
		sleep 0.1
	done
	client -e 'SELECT 1' >/dev/null 2>&1 || { cat "$dir/server.log" >&2; exit 1; }
	# One database for the test programs, one for the conformance suite
	# (they run at the same time under make -j).
	for db in deltasql_test deltasql_conformance; do
		client -e "CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
	done
	odbc="odbc:DRIVER={MariaDB};Socket=$sock;User=root"
	cat > "$dir/env" <<ENV
export DELTASQL_TEST_MARIADB_SOCK='$sock'
export DELTASQL_TEST_ODBC_MARIADB_URI='$odbc;Database=deltasql_test'
export DELTASQL_CONFORMANCE_ODBC_MARIADB_URI='$odbc;Database=deltasql_conformance'
ENV
	echo "mariadb-server: MariaDB $(client -N -e 'SELECT VERSION()') socket $sock"
	;;
stop)
	sock=$dir/sock
	if [ -S "$sock" ]; then
		mariadb-admin --no-defaults -S "$sock" -u root shutdown >/dev/null 2>&1 || true
	fi
	if [ -f "$dir/mariadbd.pid" ]; then
		pid=$(cat "$dir/mariadbd.pid")
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -rf "$dir"
	;;
*)
	usage
	;;
esac
