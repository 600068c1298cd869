#!/usr/bin/env bash
# Installs PostgreSQL through apt when missing and starts a throwaway server for the tests on
# 127.0.0.1:${TEST_PGPORT:-5433} (data in /tmp, password auth, a "relay" role that may create
# databases). Prints the URL the tests use; safe to run again (reuses a running server).
set -euo pipefail
port=${TEST_PGPORT:-5433}
data=/tmp/defender-relay-test-pg-$port

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing PostgreSQL with apt" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

if ! as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data" && mkdir -p "$data" && chown postgres "$data" 2>/dev/null || true
    pwfile=$(mktemp) && echo "postgres-test" > "$pwfile" && chmod 644 "$pwfile"
    as_postgres "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
  fi
  as_postgres "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -k /tmp -c max_connections=300 -c fsync=on" start >/dev/null
fi
as_postgres "$bin/psql" -h /tmp -p "$port" -U postgres -d postgres -qtAc \
  "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relay') THEN CREATE ROLE relay LOGIN CREATEDB PASSWORD 'relay'; END IF; END \$\$;" >/dev/null
echo "postgres://relay:relay@127.0.0.1:$port/postgres?sslmode=disable"
