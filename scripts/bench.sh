#!/usr/bin/env bash
# Benchmarks defender-relay against the receiver a typical user writes instead (Flask under
# gunicorn with aws-sns-verifier and SQLite, scripts/bench/peer/), on loopback only (127.0.0.1).
#
#   scripts/bench.sh                      all targets, 3 runs, about 4 minutes on 2 cores
#   BENCH_SMOKE=1 scripts/bench.sh        a quick check that the whole pipeline works
#   BENCH_TARGETS=peer scripts/bench.sh   only some of: healthz sqlite postgres peer webhook
#
# Every run of every target starts the receiver afresh on an empty store, then:
#   1. probe: one message with one character of its Message changed must get 403, the genuine
#      one 200 "recorded" (anything else stops the benchmark);
#   2. closed loop: wrk -t2 -c32 POSTs messages, each once (scripts/bench/post.lua): accepted/s;
#   3. open loop: scripts/bench/open_loop.py at half that rate, latency from the intended send
#      time (no coordinated omission): p50, p99, p99.9;
#   4. peak RSS (VmHWM), certificate fetches (the local certificate server counts them), and
#      rows stored, which must equal the 200 "recorded" answers.
# Plus the relay's GET /healthz ceiling (wrk -t2 -c32), one separate short run of the relay on
# SQLite under strace counting fsync/fdatasync per accepted message, and webhook deliveries per
# second: BENCH_DELIVERIES alerts (3000) are queued while a local HTTPS webhook
# (scripts/bench/webhook_server.py) refuses them (400: dead-lettered at once), the relay stops,
# `defender-relay deliveries retry --all` queues them again, the webhook now answers 200 at once,
# and the relay starts again: the rate is what the webhook receives, first to last request, with
# no rate limit configured and the receiver's default concurrency (4 connections).
#
# Messages: BENCH_MESSAGES signed SNS Notifications, generated once into .bench/ and reused
# for 12 hours. Every receiver run gets the same layout of them: line 0 for the probe, then one
# slice per wrk thread, then the open-loop slice. Runs share the messages but never a store, so
# every message is new to the receiver that gets it. The slices are sized for
# BENCH_RELAY_MAX_RATE (8000/s) and BENCH_PEER_MAX_RATE (1500/s) over the durations below; by
# default BENCH_MESSAGES is what that takes (at least 30000). If a slice runs out anyway, the
# rate is still measured correctly over the shorter window, and the report says so.
#
# Settings (environment): BENCH_RUNS (3), BENCH_MESSAGES, BENCH_TARGETS, BENCH_RELAY_SECONDS (5),
# BENCH_PEER_SECONDS (10), BENCH_OPEN_SECONDS (5), BENCH_HEALTHZ_SECONDS (5),
# BENCH_SYNC_SECONDS (3), BENCH_OPEN_PROCESSES (1 below 1000 requests/s, else 2),
# RELAY_BIN (.build/release/defender-relay, built when missing).
# Output: the report on stdout and in .bench/results.md; logs and stores in .bench/run/.
# The exit status is 1 when a check failed (see the FAILED lines).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bench=$root/scripts/bench
work=$root/.bench
run_dir=$work/run
topic=arn:aws:sns:us-east-1:123456789012:device-defender-audits
cert_host=sns.us-east-1.amazonaws.com

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
  runs=1 relay_s=2 peer_s=2 open_s=2 healthz_s=2 sync_s=2 default_messages=600 deliveries=${BENCH_DELIVERIES:-300}
else
  runs=${BENCH_RUNS:-3}
  relay_s=${BENCH_RELAY_SECONDS:-5} peer_s=${BENCH_PEER_SECONDS:-10} open_s=${BENCH_OPEN_SECONDS:-5}
  healthz_s=${BENCH_HEALTHZ_SECONDS:-5} sync_s=${BENCH_SYNC_SECONDS:-3} default_messages=30000
  deliveries=${BENCH_DELIVERIES:-3000}
fi
relay_cap=${BENCH_RELAY_MAX_RATE:-8000}
peer_cap=${BENCH_PEER_MAX_RATE:-1500}
drain_s=2
targets=" $(echo "${BENCH_TARGETS:-healthz sqlite postgres peer webhook}" | tr ',' ' ') "
for target in $targets; do
  case $target in healthz|sqlite|postgres|peer|webhook) ;; *) echo "bench: unknown target '$target' (healthz sqlite postgres peer webhook)" >&2; exit 2 ;; esac
done
wants() { [[ $targets == *" $1 "* ]]; }
wants_relay() { wants healthz || wants sqlite || wants postgres || wants webhook; }

log() { printf '\n== %s\n' "$*"; }
fail() { printf '\nbench FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- processes and clean-up

pids=()
postgres_db=""
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$postgres_db" ]; then drop_database "$postgres_db" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Forgets a process that has ended, so that clean-up never signals a reused PID.
forget() {
  local kept=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

# Waits up to $2 tenths of a second for process $1 to end by itself.
wait_exit() {
  local waited=0
  while kill -0 "$1" 2>/dev/null && [ $waited -lt "$2" ]; do sleep 0.1; waited=$((waited + 1)); done
  ! kill -0 "$1" 2>/dev/null
}

# Stops one process we started: TERM, then KILL after 15 s.
stop_process() {
  local pid=$1
  if kill -TERM "$pid" 2>/dev/null && ! wait_exit "$pid" 150; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

# Runs a command in the background and waits for it, so that an interrupt reaches the clean-up
# at once instead of after the command.
run_waited() {
  local pid status=0
  "$@" &
  pid=$!
  pids+=($pid)
  wait "$pid" || status=$?
  forget "$pid"
  return $status
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

children() { cat /proc/"$1"/task/*/children 2>/dev/null || true; }

vm_hwm_kb() { awk '/^VmHWM:/ {print $2}' /proc/"$1"/status 2>/dev/null || echo 0; }

wait_healthz() {
  python3 - "$1" "$2" <<'EOF' || return 1
import sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
EOF
}

# ---------------------------------------------------------------- what the benchmark needs

apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing $* with apt" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null 2>&1 || {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
  }
}

command -v wrk >/dev/null || apt_install wrk
if wants sqlite && ! command -v strace >/dev/null; then apt_install strace; fi
if wants peer && ! python3 - <<'EOF' 2>/dev/null
import importlib.metadata as metadata
import cryptography, flask, gunicorn, aws_sns_verifier
assert metadata.version("aws-sns-verifier") == "0.1.14"
EOF
then
  echo "Installing the peer's pip packages" >&2
  python3 -m pip install -q --disable-pip-version-check -r "$bench/peer/requirements.txt"
fi

relay_bin=${RELAY_BIN:-$root/.build/release/defender-relay}
if wants_relay && [ ! -x "$relay_bin" ]; then
  [ -n "${RELAY_BIN:-}" ] && fail "RELAY_BIN=$RELAY_BIN is not an executable"
  log "Building the release binary (a first release build takes about 18 minutes)"
  swift build -c release --product defender-relay
fi

# The throwaway PostgreSQL server of the tests (127.0.0.1:5433); the smoke run uses it only when
# PostgreSQL is installed already and starts.
postgres_url=""
if wants postgres; then
  if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v psql >/dev/null; then
      postgres_url=$("$root/scripts/start-test-postgres.sh") || postgres_url=""
    fi
    if [ -z "$postgres_url" ]; then
      echo "bench: PostgreSQL is not available; the smoke run skips the postgres target" >&2
      targets=${targets/ postgres / }
    fi
  else
    postgres_url=$("$root/scripts/start-test-postgres.sh") || fail "could not start the test PostgreSQL server"
    command -v psql >/dev/null || fail "psql is missing (scripts/start-test-postgres.sh installs postgresql-client)"
  fi
fi

# ---------------------------------------------------------------- messages

# Lines each wrk thread and the open loop get, from the expected peak rates; scaled down when
# BENCH_MESSAGES is smaller than that (the report notes a slice that ran out).
relay_per=$(( (relay_cap * relay_s + 1) / 2 )) relay_open=$(( relay_cap * open_s / 2 ))
peer_per=$(( (peer_cap * peer_s + 1) / 2 )) peer_open=$(( peer_cap * open_s / 2 ))
relay_need=$(( 1 + 2 * relay_per + relay_open )) peer_need=$(( 1 + 2 * peer_per + peer_open ))
need=1
if wants sqlite || wants postgres; then need=$(( relay_need > need ? relay_need : need )); fi
if wants webhook; then need=$(( 1 + deliveries > need ? 1 + deliveries : need )); fi
if wants peer; then need=$(( peer_need > need ? peer_need : need )); fi
messages_count=${BENCH_MESSAGES:-$(( need > default_messages ? need : default_messages ))}
[ "${BENCH_SMOKE:-0}" = 1 ] && [ -z "${BENCH_MESSAGES:-}" ] && messages_count=$default_messages
[ "$messages_count" -ge 3 ] || fail "BENCH_MESSAGES must be at least 3"
if [ "$relay_need" -gt "$messages_count" ]; then
  relay_per=$(( relay_per * (messages_count - 1) / (relay_need - 1) ))
  relay_open=$(( messages_count - 1 - 2 * relay_per ))
fi
if [ "$peer_need" -gt "$messages_count" ]; then
  peer_per=$(( peer_per * (messages_count - 1) / (peer_need - 1) ))
  peer_open=$(( messages_count - 1 - 2 * peer_per ))
fi

mkdir -p "$work"
rm -rf "$run_dir" && mkdir -p "$run_dir"
pki=$work/pki
messages=$work/messages.jsonl
python3 "$bench/make_pki.py" "$pki"
python3 "$bench/make_messages.py" --pki "$pki" --out "$messages" --count "$messages_count" --max-age-hours 12

# ---------------------------------------------------------------- the certificate host

python3 "$bench/cert_server.py" --pem "$pki/signing.pem" --tls-cert "$pki/tls.pem" --tls-key "$pki/tls.key" \
  --port-file "$run_dir/cert-server.port" >"$run_dir/cert-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$run_dir/cert-server.port" ] && break; sleep 0.1; done
[ -s "$run_dir/cert-server.port" ] || fail "the certificate server did not start: $(cat "$run_dir/cert-server.log")"
cert_port=$(cat "$run_dir/cert-server.port")

cert_fetches() {
  python3 - "$cert_port" <<'EOF'
import http.client, ssl, sys
connection = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), timeout=5,
                                         context=ssl._create_unverified_context())
connection.request("GET", "/__count")
print(connection.getresponse().read().decode())
EOF
}

# ---------------------------------------------------------------- receivers

# Starts the relay on a fresh port with storage URL $2; log and config named after $1. With $3
# (a connect_to entry) and $4 (a URL), every alert goes to a webhook at $4 with no rate limit.
# Arguments after those run it under a wrapper (strace). Sets relay_pid (the relay itself) and
# relay_port.
start_relay() {
  local name=$1 storage=$2 hook_connect=${3:-} hook_url=${4:-}
  shift $(( $# > 4 ? 4 : $# ))
  local connect_to="\"$cert_host:443:127.0.0.1:$cert_port\""
  [ -z "$hook_connect" ] || connect_to="$connect_to, \"$hook_connect\""
  relay_port=$(free_port)
  cat >"$run_dir/$name.yaml" <<EOF
server: {host: 127.0.0.1, port: $relay_port, max_body_bytes: 524288}
sns:
  allowed_topics: ["$topic"]
  max_message_age_seconds: 86400
storage: {url: "$storage", retention_days: 400}
outbound:
  ca_file: $pki/ca.pem
  connect_to: [$connect_to]
EOF
  if [ -n "$hook_url" ]; then
    cat >>"$run_dir/$name.yaml" <<EOF
receivers:
  - {name: hook, type: webhook, url: "$hook_url", rate_per_second: 0}
# Every audit alerts once: those whose checks all passed too (they alert nobody unless a
# route asks for them), so that alerts queued equal messages recorded.
routes:
  - {match: {noncompliant: false}, receivers: [hook]}
alerts: {default_receivers: [hook]}
EOF
  fi
  "$@" "$relay_bin" serve --config "$run_dir/$name.yaml" >"$run_dir/$name.log" 2>&1 &
  local launched=$! waited=0
  pids+=($launched)
  relay_pid=$launched
  while ! grep -q "address=127.0.0.1:$relay_port" "$run_dir/$name.log" 2>/dev/null; do
    kill -0 "$launched" 2>/dev/null || fail "the relay exited at start: $(tail -n 20 "$run_dir/$name.log")"
    [ $waited -lt 600 ] || fail "the relay did not log address=127.0.0.1:$relay_port within 60 s"
    sleep 0.1; waited=$((waited + 1))
  done
  if [ $# -gt 0 ]; then
    relay_pid=$(children "$launched" | awk '{print $1}')
    [ -n "$relay_pid" ] || fail "could not find the relay process under $1"
    pids+=($relay_pid)
  fi
  wrapper_pid=$launched
}

# Starts the peer under gunicorn with its SQLite file $1. Sets peer_pid (the master) and peer_port.
start_peer() {
  local db=$1 control=()
  peer_port=$(free_port)
  python3 -m gunicorn --help 2>/dev/null | grep -q -- --no-control-socket && control=(--no-control-socket)
  env BENCH_CERT_PORT="$cert_port" PEER_DB="$db" PEER_TOPIC_ARN="$topic" SSL_CERT_FILE="$pki/ca.pem" \
    python3 -m gunicorn "${control[@]}" --chdir "$bench/peer" -w 2 -b "127.0.0.1:$peer_port" app:app \
    >"$run_dir/$(basename "$db" .sqlite).log" 2>&1 &
  peer_pid=$!
  pids+=($peer_pid)
  wait_healthz "http://127.0.0.1:$peer_port/healthz" 30 || fail "the peer did not start: $(tail -n 20 "$run_dir/$(basename "$db" .sqlite).log")"
}

sqlite_rows() {
  python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM sns_messages").fetchone()[0])' "$1"
}

# One database per PostgreSQL run, next to the "postgres" one the test server's URL names.
database_url() { echo "${postgres_url/\/postgres\?//$1?}"; }
create_database() { psql "$postgres_url" -qtAc "CREATE DATABASE $1" >/dev/null; }
drop_database() { PGOPTIONS="-c client_min_messages=warning" psql "$postgres_url" -qtAc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }

# ---------------------------------------------------------------- measurements

# Closed loop with post.lua: $1 base URL, $2 lines per thread, $3 seconds of POSTs, $4 output.
closed_loop() {
  run_waited timeout --kill-after=5 $(( $3 + drain_s + 60 )) \
    wrk -t2 -c32 -d$(( $3 + drain_s ))s -s "$bench/post.lua" "$1" -- "$messages" 1 "$2" "$3" >"$4" 2>&1 \
    || fail "wrk failed: $(tail -n 5 "$4")"
}

# Half the accepted rate of a closed-loop output, at least 1.
half_rate() {
  sed -n 's/^BENCH_RESULT .*"recorded":\([0-9]*\).*"window_s":\([0-9.]*\).*/\1 \2/p' "$1" |
    awk '{ rate = ($2 > 0) ? $1 / $2 / 2 : 0; printf "%d\n", (rate < 1) ? 1 : rate }'
}

# Open loop: $1 URL, $2 first line, $3 lines available, $4 rate, $5 output.
open_loop() {
  local duration=$open_s processes=${BENCH_OPEN_PROCESSES:-}
  if [ $(( $4 * open_s )) -gt "$3" ]; then duration=$(awk -v n="$3" -v r="$4" 'BEGIN { printf "%.3f", n / r }'); fi
  [ -n "$processes" ] || processes=$(( $4 > 1000 ? 2 : 1 ))
  run_waited timeout --kill-after=5 $(( open_s + 120 )) \
    python3 "$bench/open_loop.py" --url "$1" --messages "$messages" --first "$2" --rate "$4" \
    --duration "$duration" --connections 32 --processes "$processes" >"$5" 2>"$5.err" \
    || fail "the open-loop generator failed: $(tail -n 5 "$5.err")"
}

# One run of one SNS target: fresh receiver and store, probe, closed loop, open loop, checks.
run_sns_target() {
  local target=$1 run=$2 name="$1-run$2" per open_lines seconds pid url rows rss processes fetches_before fetches rate
  local expect=(--expect-fetches 1)
  if [ "$target" = peer ]; then per=$peer_per open_lines=$peer_open seconds=$peer_s
  else per=$relay_per open_lines=$relay_open seconds=$relay_s; fi
  fetches_before=$(cert_fetches)
  case $target in
    sqlite)
      start_relay "$name" "sqlite://$run_dir/$name.sqlite"
      pid=$relay_pid url=http://127.0.0.1:$relay_port ;;
    postgres)
      postgres_db=bench_$$_$run
      drop_database "$postgres_db"; create_database "$postgres_db"
      start_relay "$name" "$(database_url "$postgres_db")"
      pid=$relay_pid url=http://127.0.0.1:$relay_port ;;
    peer)
      start_peer "$run_dir/$name.sqlite"
      pid=$peer_pid url=http://127.0.0.1:$peer_port
      expect=(--max-fetches 2) ;;
  esac
  python3 "$bench/probe.py" "$url/sns" "$messages" 0 || fail "$target refused a genuine message or accepted a tampered one"
  closed_loop "$url" "$per" "$seconds" "$run_dir/$name.wrk.txt"
  rate=$(half_rate "$run_dir/$name.wrk.txt")
  open_loop "$url/sns" $(( 1 + 2 * per )) "$open_lines" "$rate" "$run_dir/$name.open.json"
  sleep 0.2
  rss=$(vm_hwm_kb "$pid") processes=""
  if [ "$target" = peer ]; then
    for worker in $(children "$pid"); do rss=$(( rss + $(vm_hwm_kb "$worker") )); done
    processes="master + $(children "$pid" | wc -w) workers"
  fi
  fetches=$(( $(cert_fetches) - fetches_before ))
  case $target in
    postgres) rows=$(psql "$(database_url "$postgres_db")" -qtAc "SELECT count(*) FROM sns_messages") ;;
    *) rows=$(sqlite_rows "$run_dir/$name.sqlite") ;;
  esac
  stop_process "$pid"
  if [ "$target" = postgres ]; then drop_database "$postgres_db"; postgres_db=""; fi
  python3 "$bench/report.py" record "$run_dir/results.jsonl" --kind sns --target "$target" --run "$run" \
    --wrk "$run_dir/$name.wrk.txt" --open "$run_dir/$name.open.json" --rss-kb "$rss" --rss-processes "$processes" \
    --fetches "$fetches" --rows "$rows" --probe 1 --planned-s "$seconds" "${expect[@]}"
}

# The webhook the delivery runs send to; started once, reset by each run.
webhook_port=""
start_webhook() {
  python3 "$bench/webhook_server.py" --tls-cert "$pki/tls.pem" --tls-key "$pki/tls.key" \
    --port-file "$run_dir/webhook.port" >"$run_dir/webhook.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$run_dir/webhook.port" ] && break; sleep 0.1; done
  [ -s "$run_dir/webhook.port" ] || fail "the webhook server did not start: $(cat "$run_dir/webhook.log")"
  webhook_port=$(cat "$run_dir/webhook.port")
}

# $1 GET|POST, $2 path on the webhook server; prints the answer.
webhook_call() {
  python3 - "$webhook_port" "$1" "$2" <<'EOF'
import http.client, ssl, sys
connection = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), timeout=5, context=ssl._create_unverified_context())
connection.request(sys.argv[2], sys.argv[3])
print(connection.getresponse().read().decode())
EOF
}

# The relay's count of deliveries in state $2, from its /metrics at base URL $1.
deliveries_in() {
  python3 - "$1" "$2" <<'EOF'
import re, sys, urllib.request
text = urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=5).read().decode()
match = re.search(r'^defender_relay_deliveries\{state="%s"\} (\d+)' % sys.argv[2], text, re.M)
print(match.group(1) if match else 0)
EOF
}

# $1 an SQLite store; prints how many of its deliveries were delivered (/metrics counts only
# those still to send or dead).
delivered_in() {
  python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM deliveries WHERE state = ?", ("delivered",)).fetchone()[0])' "$1"
}

# One delivery run: queue the alerts of fresh messages while the webhook refuses them
# (dead-lettered at once), stop, queue them all again with the CLI, start, count.
run_webhook() {
  local run=$1 name="webhook-run$1" url waited per queued delivered
  [ -n "$webhook_port" ] || start_webhook
  webhook_call POST "/__status?code=400" >/dev/null
  start_relay "$name" "sqlite://$run_dir/$name.sqlite" \
    "hooks.bench.example:443:127.0.0.1:$webhook_port" "https://hooks.bench.example/hook"
  url=http://127.0.0.1:$relay_port
  python3 "$bench/probe.py" "$url/sns" "$messages" 0 || fail "the relay refused a genuine message or accepted a tampered one"
  per=$(( (deliveries - 1) / 2 ))
  closed_loop "$url" "$per" 30 "$run_dir/$name.queue.wrk.txt"
  # Every message answered "recorded" (the probe's too) queued one alert.
  queued=$(( 1 + $(sed -n 's/^BENCH_RESULT .*"recorded":\([0-9]*\).*/\1/p' "$run_dir/$name.queue.wrk.txt") ))
  waited=0
  while [ "$(deliveries_in "$url" dead)" -lt "$queued" ]; do
    [ $waited -lt 600 ] || fail "the $queued alerts were not all dead-lettered within 60 s"
    sleep 0.1; waited=$((waited + 1))
  done
  stop_process "$relay_pid"
  webhook_call POST "/__status?code=200" >/dev/null
  "$relay_bin" deliveries retry --all --config "$run_dir/$name.yaml" >"$run_dir/$name.retry.txt" 2>&1 \
    || fail "deliveries retry failed: $(cat "$run_dir/$name.retry.txt")"
  start_relay "$name-send" "sqlite://$run_dir/$name.sqlite" \
    "hooks.bench.example:443:127.0.0.1:$webhook_port" "https://hooks.bench.example/hook"
  url=http://127.0.0.1:$relay_port
  waited=0
  while [ "$(delivered_in "$run_dir/$name.sqlite")" -lt "$queued" ]; do
    [ $waited -lt 600 ] || fail "the $queued alerts were not all delivered within 60 s"
    sleep 0.1; waited=$((waited + 1))
  done
  webhook_call GET /__stats >"$run_dir/$name.stats.json"
  delivered=$(delivered_in "$run_dir/$name.sqlite")
  stop_process "$relay_pid"
  python3 "$bench/report.py" record "$run_dir/results.jsonl" --kind deliveries --run "$run" \
    --stats "$run_dir/$name.stats.json" --expected "$queued" --delivered "$delivered"
}

run_healthz() {
  local run=$1 name="healthz-run$1"
  start_relay "$name" "sqlite://$run_dir/$name.sqlite"
  run_waited timeout --kill-after=5 $(( healthz_s + 60 )) wrk -t2 -c32 -d"${healthz_s}s" "http://127.0.0.1:$relay_port/healthz" \
    >"$run_dir/$name.wrk.txt" 2>&1 || fail "wrk failed on /healthz"
  stop_process "$relay_pid"
  python3 "$bench/report.py" record "$run_dir/results.jsonl" --kind healthz --run "$run" --wrk "$run_dir/$name.wrk.txt"
}

# The relay on SQLite under strace (too slow for the throughput runs): syncs per accepted message.
run_syncs() {
  local name=syncs trace=$run_dir/syncs.strace rows
  start_relay "$name" "sqlite://$run_dir/$name.sqlite" "" "" \
    strace -f --seccomp-bpf -qq -e signal=none -e trace=fsync,fdatasync -o "$trace"
  python3 "$bench/probe.py" "http://127.0.0.1:$relay_port/sns" "$messages" 0 || fail "the relay under strace failed the probe"
  closed_loop "http://127.0.0.1:$relay_port" "$relay_per" "$sync_s" "$run_dir/$name.wrk.txt"
  rows=$(sqlite_rows "$run_dir/$name.sqlite")
  stop_process "$relay_pid"
  # strace ends once the relay has; give it the time to finish writing its output.
  wait_exit "$wrapper_pid" 50 || true
  stop_process "$wrapper_pid"
  python3 "$bench/report.py" record "$run_dir/results.jsonl" --kind syncs --wrk "$run_dir/$name.wrk.txt" \
    --syncs "$(grep -cE 'fsync\(|fdatasync\(' "$trace" || true)" --rows "$rows" --probe 1
}

# ---------------------------------------------------------------- the benchmark

echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)," \
  "$(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d ' ' -f 1-3 /proc/loadavg) at the start" >"$run_dir/machine.txt"
log "Machine: $(cat "$run_dir/machine.txt")"
if wants_relay; then echo "relay binary ${relay_bin#"$root"/}" >>"$run_dir/machine.txt"; fi
echo "targets:$targets| runs: $runs | messages: $messages_count (relay $relay_per per wrk thread + $relay_open open loop; peer $peer_per + $peer_open)"

for run in $(seq "$runs"); do
  log "Run $run of $runs"
  if wants healthz; then run_healthz "$run"; fi
  for target in sqlite postgres peer; do
    if wants "$target"; then run_sns_target "$target" "$run"; fi
  done
  if wants webhook; then run_webhook "$run"; fi
done
if wants sqlite; then
  log "Syncs per accepted message (relay, SQLite, under strace)"
  run_syncs
fi

echo "load average $(cut -d ' ' -f 1-3 /proc/loadavg) at the end" >>"$run_dir/machine.txt"
log "Report (also in .bench/results.md)"
python3 "$bench/report.py" table "$run_dir/results.jsonl" --md "$work/results.md" --machine "$run_dir/machine.txt"
