#!/usr/bin/env bash
# Stops the throwaway server scripts/start-test-postgres.sh started on ${TEST_PGPORT:-5433}
# (fast shutdown: open sessions are ended, as when a database server goes away). Start it
# again with scripts/start-test-postgres.sh; its data is kept.
set -euo pipefail
port=${TEST_PGPORT:-5433}
data=/tmp/defender-relay-test-pg-$port
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
as_postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
