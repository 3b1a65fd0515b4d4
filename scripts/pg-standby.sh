#!/usr/bin/env bash
# A throwaway hot standby of the throwaway PostgreSQL of scripts/pg-server.sh:
# a base backup (pg_basebackup -R: streaming replication from the primary's
# Unix socket) in DIR, started on a free private port and socket directory
# with hot_standby=on. With --sync the primary waits for it at each commit
# (synchronous_standby_names names its cluster_name). Run as root, the
# server runs as the unprivileged "postgres" user. Never /etc.
#
#   scripts/pg-standby.sh start DIR PGDIR [--sync]   # writes DIR/env
#                                  # (DELTASQL_TEST_STANDBY_URI, ...)
#   scripts/pg-standby.sh promote DIR                # pg_ctl promote
#   scripts/pg-standby.sh stop DIR                   # stops it, removes DIR
set -euo pipefail

usage() { echo "usage: $0 start DIR PGDIR [--sync] | promote DIR | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
dir=$2

bindir=""
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/pg_basebackup" ] && bindir=$d
done
if [ -z "$bindir" ] && command -v pg_basebackup >/dev/null 2>&1; then
	bindir=$(dirname "$(command -v pg_basebackup)")
fi
[ -n "$bindir" ] || { echo "pg-standby: PostgreSQL server binaries not found" >&2; exit 1; }

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case "$cmd" in
start)
	[ $# -ge 3 ] || usage
	pgdir=$(cd "$3" && pwd)
	sync=${4:-}
	# shellcheck disable=SC1091
	. "$pgdir/env"
	mkdir -p "$dir/sock"
	dir=$(cd "$dir" && pwd)
	name=dsql_standby_$$
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres "$dir" "$dir/sock"
		chmod 755 "$dir" "$dir/sock"
	fi
	as_owner "$bindir/pg_basebackup" -D "$dir/data" -R -X stream -c fast \
		-h "$DELTASQL_TEST_PG_SOCKDIR" -p "$DELTASQL_TEST_PG_PORT" -U "$DELTASQL_TEST_PG_USER" \
		>"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
	port=""
	for p in $(seq 55329 55529); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ] &&
			[ ! -e "$dir/sock/.s.PGSQL.$p" ] && [ "$p" != "$DELTASQL_TEST_PG_PORT" ]; then
			port=$p
			break
		fi
	done
	[ -n "$port" ] || { echo "pg-standby: no free port" >&2; exit 1; }
	# A standby needs at least the primary's settings of these (pg-server.sh).
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
		-o "-p $port -k $dir/sock -c listen_addresses='' -c hot_standby=on -c cluster_name=$name -c max_prepared_transactions=64 -c max_connections=100" \
		>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
	if [ "$sync" = --sync ]; then
		"$bindir/psql" -h "$DELTASQL_TEST_PG_SOCKDIR" -p "$DELTASQL_TEST_PG_PORT" \
			-U "$DELTASQL_TEST_PG_USER" -d postgres -qAt \
			-c "ALTER SYSTEM SET synchronous_standby_names = '$name'" -c "SELECT pg_reload_conf()" \
			>/dev/null
	fi
	# Streaming before anyone relies on it.
	for _ in $(seq 100); do
		state=$("$bindir/psql" -h "$DELTASQL_TEST_PG_SOCKDIR" -p "$DELTASQL_TEST_PG_PORT" \
			-U "$DELTASQL_TEST_PG_USER" -d postgres -qAt \
			-c "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$name'")
		[ -n "$state" ] && { [ "$sync" != --sync ] || [ "$state" = sync ]; } && break
		sleep 0.1
	done
	[ -n "$state" ] || { echo "pg-standby: the standby does not stream" >&2; cat "$dir/server.log" >&2; exit 1; }
	user=$DELTASQL_TEST_PG_USER
	cat > "$dir/env" <<ENV
export DELTASQL_TEST_STANDBY_URI='postgresql:///deltasql_test?host=$dir/sock&port=$port&user=$user'
export DELTASQL_TEST_STANDBY_SOCKDIR='$dir/sock'
export DELTASQL_TEST_STANDBY_PORT='$port'
ENV
	echo "pg-standby: hot standby on port $port, socket $dir/sock ($state)"
	;;
promote)
	as_owner "$bindir/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null
	;;
stop)
	if [ -d "$dir/data" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	usage
	;;
esac
