#!/usr/bin/env bash
# Starts a private PostgreSQL on loopback for the tests, installing Debian's package when it is
# missing, and prints its URL. Data in $SALUR_PG_DIR (default /tmp/salur-pg), port $SALUR_PG_PORT
# (default 54329). Safe to run again: an already running server is reused.
set -euo pipefail
port=${SALUR_PG_PORT:-54329}
dir=${SALUR_PG_DIR:-/tmp/salur-pg}
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bin=$(find_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "installing PostgreSQL from Debian's packages" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bin=$(find_bin)
fi
# PostgreSQL refuses to run as root: run it as the package's postgres user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_pg "$bin/initdb" -D "$dir" -A trust -U salur >/dev/null
  fi
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >&2
fi
url="postgres://salur@127.0.0.1:$port/postgres"
# Drop the databases earlier test runs left behind (each run creates its own).
"$bin/psql" -Atq "$url" -c "SELECT datname FROM pg_database WHERE datname LIKE 'salur_test_%'" |
  while read -r db; do "$bin/psql" -q "$url" -c "DROP DATABASE IF EXISTS $db" >&2; done
echo "$url"
