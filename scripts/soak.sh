#!/usr/bin/env bash
# Reliability soak of defender-relay, on loopback only (127.0.0.1). The full soak is not part
# of CI; its short version (SOAK_SHORT=1) runs in the test command (scripts/test.sh). Where the
# tests check one kill -9 or one outage at a time, the soak repeats them under sustained load
# and counts, end to end, that nothing acknowledged is lost and every queued alert arrives.
#
#   scripts/soak.sh                     the three scenarios, about 4 minutes on 2 cores
#   SOAK_SHORT=1 scripts/soak.sh        a short version (2 kills, a 6 s outage): under a minute
#   SOAK_SCENARIOS=receiver-outage scripts/soak.sh    only some of the scenarios
#
# Scenarios (each one a row of the report, on a fresh store):
#   sqlite-kill9       the relay on an SQLite file under steady load (SOAK_POSTERS posters, each
#                      message posted once, 503s and broken connections posted again later with
#                      the same body, as SNS does), killed with -9 at a random moment (3 to 10 s
#                      after it answers; 1.5 to 3 s short) SOAK_KILLS times in a row (10; 2
#                      short), restarted on the same file each time.
#   receiver-outage    the webhook answers 503 for SOAK_OUTAGE_SECONDS (20; 6 short) while
#                      messages keep arriving; retries are set to 0.5 s base, 2 s cap so that
#                      they happen within the run. (SOAK_OUTAGE_STATUS=400 checks the soak
#                      itself: 400 is dead-lettered at once, so the soak must fail.)
#   postgres-replicas  two relays on one PostgreSQL database of their own (createdb), the load
#                      split across both, one killed with -9 mid-run and restarted.
# Every relay routes audits with non-compliant checks to one webhook receiver (the local
# HTTPS server scripts/soak/webhook.py, reached through outbound.connect_to like the bench's),
# and AWS's certificate host is scripts/bench/cert_server.py. After the load, the soak waits
# (bounded) until no delivery is pending, then reads the store and the webhook's counts:
#   sent, acknowledged (200), stored (rows in sns_messages), acknowledged but missing,
#   stored twice, alerts queued (rows in deliveries), alerts delivered (distinct
#   Idempotency-Keys the webhook answered 2xx), duplicate deliveries (2xx answers beyond the
#   first per key: at least once is the contract, so they are counted, not failed), dead,
#   never acknowledged, undelivered.
# The exit status is 1 when a must-be-zero figure is not (see scripts/soak/figures.py).
#
# Settings (environment): SOAK_SHORT, SOAK_SCENARIOS, SOAK_RATE (fresh messages per second, 100),
# SOAK_POSTERS (4), SOAK_KILLS, SOAK_OUTAGE_SECONDS, SOAK_PG_SECONDS (60; 10 short),
# SOAK_PGPORT (5435: a server of its own, so that the tests' server on 5433 is never touched;
# started with scripts/start-test-postgres.sh and stopped again if the soak started it),
# RELAY_BIN (.build/debug/defender-relay; the soak never builds).
# Output: the report on stdout and in .soak/results.md; relay logs, configs, stores and the
# posters' per-POST outcomes in .soak/run/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
soak=$root/scripts/soak
bench=$root/scripts/bench
work=$root/.soak
run_dir=$work/run
topic=arn:aws:sns:us-east-1:123456789012:device-defender-audits
cert_host=sns.us-east-1.amazonaws.com
hook_host=hooks.bench.example
started_at=$(date +%s)

# Durations in seconds, kill moments in tenths of a second of relay uptime.
if [ "${SOAK_SHORT:-0}" = 1 ]; then
  kills=${SOAK_KILLS:-2} kill_min=15 kill_max=30 steady_after=2
  outage_before=2 outage_s=${SOAK_OUTAGE_SECONDS:-6} outage_after=2
  pg_s=${SOAK_PG_SECONDS:-10} drain_s=20 deliver_timeout=40 lease_s=5
else
  kills=${SOAK_KILLS:-10} kill_min=30 kill_max=100 steady_after=5
  outage_before=5 outage_s=${SOAK_OUTAGE_SECONDS:-20} outage_after=15
  pg_s=${SOAK_PG_SECONDS:-60} drain_s=60 deliver_timeout=180 lease_s=10
fi
outage_status=${SOAK_OUTAGE_STATUS:-503}
rate=${SOAK_RATE:-100}
posters=${SOAK_POSTERS:-4}
pgport=${SOAK_PGPORT:-5435}
scenarios=" $(echo "${SOAK_SCENARIOS:-sqlite-kill9 receiver-outage postgres-replicas}" | tr ',' ' ') "
for scenario in $scenarios; do
  case $scenario in sqlite-kill9|receiver-outage|postgres-replicas) ;;
    *) echo "soak: unknown scenario '$scenario' (sqlite-kill9 receiver-outage postgres-replicas)" >&2; exit 2 ;; esac
done
wants() { [[ $scenarios == *" $1 "* ]]; }

log() { printf '\n== %s\n' "$*" >&2; }
say() { printf '   %s\n' "$*" >&2; }
fail() { printf '\nsoak FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- processes and clean-up

pids=()
database=""
started_postgres=false
cleanup() {
  local pid waited
  # TERM first (a relay shuts down gracefully within a second or two), KILL what is left.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$database" ] && [ "${SOAK_KEEP_DATABASE:-0}" != 1 ]; then
    PGPASSWORD=relay timeout 30 dropdb -h 127.0.0.1 -p "$pgport" -U relay --if-exists --force "$database" 2>/dev/null || true
  fi
  if $started_postgres; then TEST_PGPORT=$pgport timeout 60 "$root/scripts/stop-test-postgres.sh" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Forgets a process that has ended, so that clean-up never signals a reused PID.
forget() {
  local kept=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

# Stops one process we started: TERM, then KILL after 15 s.
stop_process() {
  local pid=$1 waited=0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 150 ]; do sleep 0.1; waited=$((waited + 1)); done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

# A free port below the kernel's ephemeral range: a relay is restarted on the same port after
# each kill, and while it is down, a port from the ephemeral range could be handed to some
# outgoing connection (the posters reconnect all the time) and make the restart fail.
free_port() {
  python3 - <<'EOF'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    port = random.randint(min(10000, low // 2), low - 1)
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        probe.close()
    print(port)
    break
else:
    raise SystemExit("soak: no free port below the ephemeral range")
EOF
}

# Waits up to $3 seconds until GET /healthz on port $1 answers 200, failing early when process
# $2 has exited.
wait_ready() {
  python3 - "$1" "$2" "$3" <<'EOF'
import os, sys, time, urllib.request
port, pid, deadline = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(2)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# A random number of tenths of a second between $1 and $2.
random_tenths() { echo $(( $1 + RANDOM % ($2 - $1 + 1) )); }
tenths() { awk -v t="$1" 'BEGIN { printf "%.1f", t / 10 }'; }

# ---------------------------------------------------------------- what the soak needs

python3 -c 'import cryptography' 2>/dev/null || fail "python3 needs the cryptography package (as scripts/bench does)"
relay_bin=${RELAY_BIN:-$root/.build/debug/defender-relay}
[ -x "$relay_bin" ] || fail "$relay_bin is not an executable (the soak never builds: run swift build first, or set RELAY_BIN)"

mkdir -p "$work"
rm -rf "$run_dir" && mkdir -p "$run_dir"
# A copy, so that a build finishing during the soak cannot swap the binary between two
# restarts of the same scenario.
cp "$relay_bin" "$run_dir/defender-relay"
relay=$run_dir/defender-relay

postgres_url=""
if wants postgres-replicas; then
  # Started only when nothing listens on the port yet; then stopped again on exit.
  if ! python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$pgport" 2>/dev/null; then
    started_postgres=true
  fi
  postgres_url=$(TEST_PGPORT=$pgport "$root/scripts/start-test-postgres.sh") || fail "could not start PostgreSQL on port $pgport"
  command -v createdb >/dev/null || fail "createdb is missing (scripts/start-test-postgres.sh installs postgresql-client)"
fi

# ---------------------------------------------------------------- messages

# One slice of the messages file per scenario, sized for the longest the scenario can last at
# SOAK_RATE (a kill scenario lasts as long as its restarts take: 3 s each are allowed for).
kill9_count=$(( rate * (kills * (kill_max / 10 + 4) + steady_after + 5) ))
outage_count=$(( rate * (outage_before + outage_s + outage_after + 2) ))
pg_count=$(( rate * (pg_s + 2) ))
kill9_first=0
outage_first=$kill9_count
pg_first=$(( kill9_count + outage_count ))
messages_count=$(( pg_first + pg_count ))

pki=$work/pki
messages=$work/messages.jsonl
python3 "$bench/make_pki.py" "$pki"
python3 "$bench/make_messages.py" --pki "$pki" --out "$messages" --count "$messages_count" --max-age-hours 12

# ---------------------------------------------------------------- AWS's certificate host and the webhook

python3 "$bench/cert_server.py" --pem "$pki/signing.pem" --tls-cert "$pki/tls.pem" --tls-key "$pki/tls.key" \
  --port-file "$run_dir/cert-server.port" >"$run_dir/cert-server.log" 2>&1 &
pids+=($!)
python3 "$soak/webhook.py" --tls-cert "$pki/tls.pem" --tls-key "$pki/tls.key" \
  --port-file "$run_dir/webhook.port" >"$run_dir/webhook.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$run_dir/cert-server.port" ] && [ -s "$run_dir/webhook.port" ] && break; sleep 0.1; done
[ -s "$run_dir/cert-server.port" ] || fail "the certificate server did not start: $(cat "$run_dir/cert-server.log")"
[ -s "$run_dir/webhook.port" ] || fail "the webhook server did not start: $(cat "$run_dir/webhook.log")"
cert_port=$(cat "$run_dir/cert-server.port")
webhook_port=$(cat "$run_dir/webhook.port")

# $1 GET|POST, $2 path on the webhook server; prints the answer.
webhook_call() {
  python3 - "$webhook_port" "$1" "$2" <<'EOF'
import http.client, ssl, sys
connection = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), timeout=10, context=ssl._create_unverified_context())
connection.request(sys.argv[2], sys.argv[3])
print(connection.getresponse().read().decode())
EOF
}

# ---------------------------------------------------------------- relays

# Writes the configuration $1.yaml: port $2, storage URL $3. Every audit with a non-compliant
# check is routed to the webhook, with no rate limit (the default 10/s would make the outbox,
# not the relay, the subject of the soak), retries of 0.5 s growing to 2 s at most (so that an
# outage's retries happen within the run) and, with PostgreSQL, a lease of lease_s seconds (the
# default 120 s would keep a killed replica's claimed deliveries waiting past the run).
write_config() {
  cat >"$run_dir/$1.yaml" <<EOF
server: {host: 127.0.0.1, port: $2}
sns:
  allowed_topics: ["$topic"]
  # The messages file is reused for 12 hours, as the bench's is.
  max_message_age_seconds: 86400
storage: {url: "$3"}
outbound:
  ca_file: $pki/ca.pem
  connect_to: ["$cert_host:443:127.0.0.1:$cert_port", "$hook_host:443:127.0.0.1:$webhook_port"]
receivers:
  - {name: hook, type: webhook, url: "https://$hook_host/hook", rate_per_second: 0}
routes:
  - match: {kind: audit, noncompliant: true}
    receivers: [hook]
alerts: {retry_base_seconds: 0.5, retry_max_delay_seconds: 2, delivery_lease_seconds: $lease_s}
EOF
}

# Starts the relay of configuration $1 (listening on port $2) and waits until it answers
# /healthz; one log per configuration, each start marked in it. Sets relay_pid.
start_relay() {
  echo "=== soak: start at $(date -u +%H:%M:%S.%N)" >>"$run_dir/$1.log"
  "$relay" serve --config "$run_dir/$1.yaml" >>"$run_dir/$1.log" 2>&1 &
  relay_pid=$!
  pids+=($relay_pid)
  local status=0
  wait_ready "$2" "$relay_pid" 60 || status=$?
  case $status in
    0) ;;
    2) fail "the relay $1 exited at start: $(tail -n 20 "$run_dir/$1.log")" ;;
    *) fail "the relay $1 did not answer /healthz within 60 s: $(tail -n 20 "$run_dir/$1.log")" ;;
  esac
}

# Kills relay $1 (pid) with SIGKILL and reaps it; logged in its log $2.
kill9() {
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
  echo "=== soak: kill -9 at $(date -u +%H:%M:%S.%N)" >>"$run_dir/$2.log"
}

# The warnings and errors a relay log holds, as a note: "N warnings, M errors: first lines".
log_note() {
  local file=$run_dir/$1.log warnings errors
  warnings=$(grep -c ' warning ' "$file" || true)
  errors=$(grep -cE ' (error|critical) ' "$file" || true)
  printf '%s log: %s warning lines, %s error lines' "$1" "$warnings" "$errors"
  if [ "$errors" -gt 0 ]; then
    printf ' (first: %s)' "$(grep -m 1 -E ' (error|critical) ' "$file" | cut -c 1-300)"
  fi
}

# ---------------------------------------------------------------- posters and figures

# Starts the posters in the background on slice $2 +$3 lines for at most $4 seconds of fresh
# messages; output prefix $1, URLs after that. Sets poster_pid.
start_poster() {
  local name=$1 first=$2 count=$3 seconds=$4 urls=()
  shift 4
  for url in "$@"; do urls+=(--url "$url/sns"); done
  # Not under timeout(1), which would die of the SIGUSR1 meant for the posters; they bound
  # themselves (drain window, request timeouts) and wait_poster bounds its wait too.
  poster_limit=$(( seconds + drain_s + 60 ))
  python3 "$soak/poster.py" --messages "$messages" --first "$first" --count "$count" "${urls[@]}" \
    --posters "$posters" --rate "$rate" --duration "$seconds" --drain "$drain_s" --out "$run_dir/$name.poster" \
    2>"$run_dir/$name.poster.log" &
  poster_pid=$!
  pids+=($poster_pid)
}

# Waits for the posters, at most poster_limit seconds after they started.
wait_poster() {
  local status=0 waited=0
  while kill -0 "$poster_pid" 2>/dev/null && [ $waited -lt $(( poster_limit * 10 )) ]; do sleep 0.1; waited=$((waited + 1)); done
  kill -0 "$poster_pid" 2>/dev/null && kill -KILL "$poster_pid"
  wait "$poster_pid" || status=$?
  forget "$poster_pid"
  [ $status -eq 0 ] || fail "the posters failed ($status): $(tail -n 5 "$run_dir/$1.poster.log")"
  say "$(cat "$run_dir/$1.poster.log")"
}

# Waits (bounded) until the outbox of store $1 has nothing pending or sending; a timeout is not
# fatal: the undelivered alerts are then counted as such.
wait_outbox() {
  local began
  began=$(now)
  if timeout $(( deliver_timeout + 30 )) python3 "$soak/figures.py" wait "$1" --timeout "$deliver_timeout" 2>>"$run_dir/outbox-wait.log"; then
    say "outbox settled $(since "$began") s after the load ended"
    notes+=("outbox settled $(since "$began") s after the load ended")
  else
    say "outbox NOT settled within $deliver_timeout s: $(tail -n 1 "$run_dir/outbox-wait.log")"
    notes+=("outbox NOT settled within $deliver_timeout s: $(tail -n 1 "$run_dir/outbox-wait.log")")
  fi
}

# Records the row of scenario $1 (store $2, began at $3) with the notes gathered in `notes`;
# arguments after those go to figures.py record.
record() {
  local name=$1 store=$2 began=$3 note_args=() note
  shift 3
  webhook_call GET /__stats >"$run_dir/$name.webhook.json"
  for note in "${notes[@]}"; do note_args+=(--note "$note"); done
  python3 "$soak/figures.py" record "$run_dir/results.jsonl" --scenario "$name" --store "$store" \
    --poster "$run_dir/$name.poster" --webhook-stats "$run_dir/$name.webhook.json" \
    --seconds "$(since "$began")" "${note_args[@]}" "$@"
}

# ---------------------------------------------------------------- scenarios

# Scenario 1: kill -9 at a random moment, `kills` times in a row, on one SQLite file.
scenario_sqlite_kill9() {
  local name=sqlite-kill9 began port store k uptime stopped restart_began
  began=$(now)
  log "$name: $kills kills at $(tenths $kill_min) to $(tenths $kill_max) s of uptime, $rate messages/s from $posters posters"
  notes=()
  webhook_call POST /__reset >/dev/null
  port=$(free_port)
  store="sqlite://$run_dir/$name.sqlite"
  write_config "$name" "$port" "$store"
  start_relay "$name" "$port"
  start_poster "$name" "$kill9_first" "$kill9_count" $(( kill9_count / rate )) "http://127.0.0.1:$port"
  for k in $(seq "$kills"); do
    uptime=$(random_tenths $kill_min $kill_max)
    sleep "$(tenths "$uptime")"
    kill9 "$relay_pid" "$name"
    restart_began=$(now)
    start_relay "$name" "$port"
    stopped=$(since "$restart_began")
    say "kill $k of $kills after $(tenths "$uptime") s of uptime: listening again after $stopped s"
    notes+=("kill $k after $(tenths "$uptime") s of uptime: answering again $stopped s later")
  done
  # Some steady load after the last restart, then only the retries of what is not acknowledged.
  sleep "$steady_after"
  kill -USR1 "$poster_pid" 2>/dev/null || true
  wait_poster "$name"
  wait_outbox "$store"
  stop_process "$relay_pid"
  notes+=("$(log_note "$name")")
  record "$name" "$store" "$began"
}

# Scenario 2: the webhook answers 503 for `outage_s` seconds while messages keep arriving.
scenario_receiver_outage() {
  local name=receiver-outage began port store
  began=$(now)
  log "$name: the webhook answers $outage_status for $outage_s s ($outage_before s after the start), $rate messages/s"
  notes=()
  webhook_call POST /__reset >/dev/null
  port=$(free_port)
  store="sqlite://$run_dir/$name.sqlite"
  write_config "$name" "$port" "$store"
  start_relay "$name" "$port"
  start_poster "$name" "$outage_first" "$outage_count" $(( outage_before + outage_s + outage_after )) "http://127.0.0.1:$port"
  sleep "$outage_before"
  webhook_call POST "/__status?code=$outage_status" >/dev/null
  say "webhook answering $outage_status"
  sleep "$outage_s"
  webhook_call POST "/__status?code=200" >/dev/null
  say "webhook answering 200 again"
  notes+=("webhook answered $outage_status for $outage_s s, from $outage_before s after the start")
  wait_poster "$name"
  wait_outbox "$store"
  stop_process "$relay_pid"
  notes+=("$(log_note "$name")")
  record "$name" "$store" "$began" --expect-refusals
}

# Scenario 3: two replicas on one PostgreSQL database, one killed with -9 mid-run and restarted.
scenario_postgres_replicas() {
  local name=postgres-replicas began port_a port_b pid_a pid_b store moment restart_began stopped status
  began=$(now)
  log "$name: two relays on one database, $rate messages/s split across both for $pg_s s, one kill -9"
  notes=()
  webhook_call POST /__reset >/dev/null
  database=soak_$$
  PGPASSWORD=relay PGOPTIONS="-c client_min_messages=warning" dropdb -h 127.0.0.1 -p "$pgport" -U relay --if-exists --force "$database"
  PGPASSWORD=relay createdb -h 127.0.0.1 -p "$pgport" -U relay "$database" || fail "createdb $database failed"
  store="${postgres_url/\/postgres\?//$database?}"
  port_a=$(free_port) port_b=$(free_port)
  write_config "$name-a" "$port_a" "$store"
  write_config "$name-b" "$port_b" "$store"
  # Both start at once: the schema is migrated once, under an advisory lock.
  echo "=== soak: start at $(date -u +%H:%M:%S.%N)" >>"$run_dir/$name-b.log"
  "$relay" serve --config "$run_dir/$name-b.yaml" >>"$run_dir/$name-b.log" 2>&1 &
  pid_b=$!
  pids+=($pid_b)
  start_relay "$name-a" "$port_a"
  pid_a=$relay_pid
  status=0
  wait_ready "$port_b" "$pid_b" 60 || status=$?
  [ $status -eq 0 ] || fail "the relay $name-b did not start: $(tail -n 20 "$run_dir/$name-b.log")"
  start_poster "$name" "$pg_first" "$pg_count" "$pg_s" "http://127.0.0.1:$port_a" "http://127.0.0.1:$port_b"
  # Mid-run: between a third and two thirds of the load.
  moment=$(random_tenths $(( pg_s * 10 / 3 )) $(( pg_s * 20 / 3 )))
  sleep "$(tenths "$moment")"
  kill9 "$pid_a" "$name-a"
  restart_began=$(now)
  start_relay "$name-a" "$port_a"
  pid_a=$relay_pid
  stopped=$(since "$restart_began")
  say "replica a killed at $(tenths "$moment") s: answering again after $stopped s"
  notes+=("replica a killed with -9 at $(tenths "$moment") s: answering again $stopped s later; delivery lease $lease_s s")
  wait_poster "$name"
  wait_outbox "$store"
  stop_process "$pid_a"
  stop_process "$pid_b"
  notes+=("$(log_note "$name-a")" "$(log_note "$name-b")")
  record "$name" "$store" "$began"
}

# ---------------------------------------------------------------- the soak

header=$work/run/header.md
{
  echo "# defender-relay soak ($([ "${SOAK_SHORT:-0}" = 1 ] && echo short || echo full))"
  echo
  echo "$(nproc) cores, load average $(cut -d ' ' -f 1-3 /proc/loadavg) at the start, $(date -u '+%Y-%m-%d %H:%M UTC');" \
    "relay ${relay_bin#"$root"/}; $rate messages/s from $posters posters; $kills kills."
  echo
} >"$header"
for scenario in $scenarios; do
  case $scenario in
    sqlite-kill9) scenario_sqlite_kill9 ;;
    receiver-outage) scenario_receiver_outage ;;
    postgres-replicas) scenario_postgres_replicas ;;
  esac
done

log "Report (also in .soak/results.md), $(( $(date +%s) - started_at )) s in all"
status=0
cat "$header"
python3 "$soak/figures.py" table "$run_dir/results.jsonl" --md "$run_dir/table.md" || status=$?
cat "$header" "$run_dir/table.md" >"$work/results.md"
exit $status
