#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: its own data directory and
# Unix socket directory under DIR, a free private port, no TCP listener,
# max_prepared_transactions > 0. Run as root, the server runs as the
# unprivileged "postgres" user (it refuses root). Never the system's
# service, never /etc.
#
#   scripts/pg-server.sh start DIR   # writes DIR/env (DELTASQL_TEST_PG_URI,
#                                    # DELTASQL_CONFORMANCE_PG_URI, ...)
#   scripts/pg-server.sh stop DIR    # stops the server and removes DIR
#   scripts/pg-server.sh crash DIR   # stops it as a crash would (-m immediate:
#                                    # no shutdown checkpoint), keeps DIR
set -euo pipefail

usage() { echo "usage: $0 start|stop|crash DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

bindir=""
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/initdb" ] && bindir=$d
done
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then
	bindir=$(dirname "$(command -v initdb)")
fi

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case "$cmd" in
start)
	[ -n "$bindir" ] || { echo "pg-server: PostgreSQL server binaries not found (install postgresql)" >&2; exit 1; }
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	data=$dir/data
	sock=$dir/sock
	if [ -f "$dir/env" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		echo "pg-server: already running ($dir)"
		exit 0
	fi
	mkdir -p "$sock"
	user=$(id -un)
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || { echo "pg-server: no 'postgres' user to run the server as" >&2; exit 1; }
		user=postgres
		chown postgres "$dir" "$sock"
		chmod 755 "$dir" "$sock"
		runuser -u postgres -- test -x "$dir" ||
			{ echo "pg-server: the postgres user cannot reach $dir (make its parents world-searchable)" >&2; exit 1; }
	fi
	if [ ! -f "$data/PG_VERSION" ]; then
		as_owner "$bindir/initdb" -D "$data" -A trust -U "$user" --no-sync >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	port=""
	for p in $(seq 54329 54529); do
		# Free when nothing listens on it, TCP or Unix socket.
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ] &&
			[ ! -e "$sock/.s.PGSQL.$p" ]; then
			port=$p
			break
		fi
	done
	[ -n "$port" ] || { echo "pg-server: no free port" >&2; exit 1; }
	as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start \
		-o "-p $port -k $sock -c listen_addresses='' -c max_prepared_transactions=64 -c max_connections=100 -c fsync=on" \
		>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
	# One database for the test programs, one for the conformance suite
	# (they run at the same time under make -j).
	for db in deltasql_test deltasql_conformance; do
		"$bindir/psql" -h "$sock" -p "$port" -U "$user" -d postgres -qAt \
			-c "CREATE DATABASE $db" >/dev/null
	done
	cat > "$dir/env" <<ENV
export DELTASQL_TEST_PG_URI='postgresql:///deltasql_test?host=$sock&port=$port&user=$user'
export DELTASQL_CONFORMANCE_PG_URI='postgresql:///deltasql_conformance?host=$sock&port=$port&user=$user'
export DELTASQL_TEST_PG_SOCKDIR='$sock'
export DELTASQL_TEST_PG_PORT='$port'
export DELTASQL_TEST_PG_USER='$user'
ENV
	echo "pg-server: PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') on port $port, socket $sock"
	;;
crash)
	as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
	;;
stop)
	if [ -d "$dir/data" ] && [ -n "$bindir" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	usage
	;;
esac
