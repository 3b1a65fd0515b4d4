#!/usr/bin/env bash
# A throwaway PgBouncer in front of the throwaway PostgreSQL of
# scripts/pg-server.sh: its own ini, auth file, log and Unix socket
# directory under DIR, a free private port, no TCP listener,
# pool_mode=transaction with a pool smaller than the tests' writers (so that
# server sessions are shared between clients, as in production). Run as
# root, it runs as the unprivileged "postgres" user. Never /etc, never the
# system's service.
#
#   scripts/pgbouncer.sh start DIR PGDIR  # PGDIR: scripts/pg-server.sh's DIR;
#                                         # writes DIR/env
#                                         # (DELTASQL_TEST_PGBOUNCER_URI, ...)
#   scripts/pgbouncer.sh stop DIR         # stops it and removes DIR
set -euo pipefail

usage() { echo "usage: $0 start DIR PGDIR | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
dir=$2

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case "$cmd" in
start)
	[ $# -eq 3 ] || usage
	pgdir=$(cd "$3" && pwd)
	bin=$(command -v pgbouncer || true)
	[ -n "$bin" ] || { echo "pgbouncer: not installed (scripts/deps.sh installs it)" >&2; exit 1; }
	[ -f "$pgdir/env" ] || { echo "pgbouncer: no server env in $pgdir" >&2; exit 1; }
	# shellcheck disable=SC1091
	. "$pgdir/env"
	mkdir -p "$dir/sock"
	dir=$(cd "$dir" && pwd)
	user=$DELTASQL_TEST_PG_USER
	port=""
	for p in $(seq 6432 6632); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ] &&
			[ ! -e "$dir/sock/.s.PGSQL.$p" ] && [ "$p" != "$DELTASQL_TEST_PG_PORT" ]; then
			port=$p
			break
		fi
	done
	[ -n "$port" ] || { echo "pgbouncer: no free port" >&2; exit 1; }
	printf '"%s" ""\n' "$user" > "$dir/users.txt"
	# default_pool_size 2: fewer server sessions than the bank test's five
	# processes (three writers, two readers). server_reset_query is not
	# run in transaction mode; nothing of a client's may outlive its
	# transaction, which is what the tests through it check.
	cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=$DELTASQL_TEST_PG_SOCKDIR port=$DELTASQL_TEST_PG_PORT

[pgbouncer]
listen_addr =
listen_port = $port
unix_socket_dir = $dir/sock
auth_type = trust
auth_file = $dir/users.txt
admin_users = $user
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres "$dir"
		chmod 755 "$dir" "$dir/sock"
	fi
	as_owner "$bin" -d "$dir/pgbouncer.ini" >"$dir/start.log" 2>&1 ||
		{ cat "$dir/start.log" "$dir/pgbouncer.log" >&2 2>/dev/null; exit 1; }
	for _ in $(seq 50); do
		[ -S "$dir/sock/.s.PGSQL.$port" ] && break
		sleep 0.1
	done
	[ -S "$dir/sock/.s.PGSQL.$port" ] || { cat "$dir/pgbouncer.log" >&2; exit 1; }
	q="host=$dir/sock&port=$port&user=$user&deltasql_pool=transaction"
	cat > "$dir/env" <<ENV
export DELTASQL_TEST_PGBOUNCER_URI='postgresql:///deltasql_test?$q'
export DELTASQL_CONFORMANCE_PGBOUNCER_URI='postgresql:///deltasql_conformance?$q'
export DELTASQL_TEST_PGBOUNCER_SOCKDIR='$dir/sock'
export DELTASQL_TEST_PGBOUNCER_PORT='$port'
ENV
	echo "pgbouncer: $("$bin" --version | head -n 1) on port $port, socket $dir/sock, pool_mode=transaction"
	;;
stop)
	if [ -f "$dir/pgbouncer.pid" ]; then
		kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
		for _ in $(seq 50); do
			[ -f "$dir/pgbouncer.pid" ] || break
			sleep 0.1
		done
	fi
	rm -rf "$dir"
	;;
*)
	usage
	;;
esac
