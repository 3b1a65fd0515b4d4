#!/usr/bin/env bash
# Private ODBC configuration for the tests: DIR/odbcinst.ini naming the
# SQLite3, PostgreSQL Unicode and MariaDB drivers, an empty DIR/odbc.ini, and DIR/env
# exporting ODBCSYSINI and ODBCINI. Never /etc.
#
#   scripts/odbc-setup.sh DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
dir=$(cd "$1" && pwd)

find_so() { dpkg -L "$1" 2>/dev/null | grep -E "/$2\$" | head -n 1; }
sqlite_so=$(find_so libsqliteodbc libsqlite3odbc.so)
pg_so=$(find_so odbc-postgresql psqlodbcw.so)
maria_so=$(find_so odbc-mariadb libmaodbc.so)
[ -n "$sqlite_so" ] || { echo "odbc-setup: the SQLite3 ODBC driver is missing (install libsqliteodbc)" >&2; exit 1; }
[ -n "$pg_so" ] || { echo "odbc-setup: the PostgreSQL ODBC driver is missing (install odbc-postgresql)" >&2; exit 1; }
[ -n "$maria_so" ] || { echo "odbc-setup: the MariaDB ODBC driver is missing (install odbc-mariadb)" >&2; exit 1; }

cat > "$dir/odbcinst.ini" <<INI
[SQLite3]
Description=SQLite3 ODBC driver
Driver=$sqlite_so

[PostgreSQL Unicode]
Description=PostgreSQL ODBC driver (Unicode)
Driver=$pg_so

[MariaDB]
Description=MariaDB Connector/ODBC
Driver=$maria_so
INI
: > "$dir/odbc.ini"
cat > "$dir/env" <<ENV
export ODBCSYSINI='$dir'
export ODBCINI='$dir/odbc.ini'
ENV
echo "odbc-setup: $dir (SQLite3, PostgreSQL Unicode, MariaDB)"
