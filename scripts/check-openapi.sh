#!/usr/bin/env bash
# Checks docs/openapi.yaml: validates it with openapi-spec-validator and, when RELAY_BIN names a
# built defender-relay, runs schemathesis against that relay on loopback (never builds).
#
#   scripts/check-openapi.sh                                          validation only
#   RELAY_BIN=.build/debug/defender-relay scripts/check-openapi.sh    validation + schemathesis
#
# The relay gets a temporary directory: an SQLite store, a configuration with an api.token, and
# the bench PKI (scripts/bench/make_pki.py). Before schemathesis runs, scripts/openapi/seed.py
# posts a few signed SNS notifications (AWS's certificate host played by
# scripts/bench/cert_server.py, an alert webhook by scripts/soak/webhook.py, both reached
# through outbound.connect_to), so that audits, checks, violations, deliveries and the
# subscription are not empty. Schemathesis then runs twice (fixed seed, bounded examples): with
# the API token (every phase, plus its check that /api/v1 refuses requests without the token),
# and without it (the 401 answers). It checks that no answer is a 5xx and that every status,
# content type, header and body is one the document describes. The relay must not log errors.
#
# Settings (environment): OPENAPI_MAX_EXAMPLES (per operation, 100), OPENAPI_SEED (20261126),
# OPENAPI_SEED_DATA=0 (run against the empty store), OPENAPI_KEEP=1 (keep the temporary
# directory: relay log, configuration, store). Tools live in .build-tools/openapi-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=.build-tools/openapi-venv
# Pinned: schemathesis' CLI changed between 3.x and 4.x. cryptography signs the seed messages.
requirements="openapi-spec-validator==0.9.0 schemathesis==4.32.5 cryptography==48.0.0"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$requirements" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # one word per requirement
  "$venv/bin/pip" install --quiet --disable-pip-version-check $requirements
  echo "$requirements" >"$venv/.requirements"
fi
py=$venv/bin/python

"$venv/bin/openapi-spec-validator" docs/openapi.yaml

if [ -z "${RELAY_BIN:-}" ]; then
  echo "check-openapi: RELAY_BIN is not set; schemathesis skipped"
  exit 0
fi
relay_bin=$RELAY_BIN
case $relay_bin in /*) ;; *) relay_bin=$root/$relay_bin ;; esac
[ -x "$relay_bin" ] || { echo "check-openapi: $relay_bin is not an executable (this script never builds)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/check-openapi.XXXXXX")
pids=()
cleanup() {
  local pid waited
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "${OPENAPI_KEEP:-0}" = 1 ]; then echo "check-openapi: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "check-openapi: $*" >&2; [ ! -f "$work/relay.log" ] || tail -n 20 "$work/relay.log" >&2; exit 1; }

free_port() {
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
# Waits up to 30 s for a port file $1 written by a helper server.
wait_file() {
  for _ in $(seq 300); do [ -s "$1" ] && return 0; sleep 0.1; done
  return 1
}

topic=arn:aws:sns:us-east-1:123456789012:device-defender-audits
token=$("$py" -c 'import secrets; print(secrets.token_hex(24))')
port=$(free_port)
down_port=$(free_port)  # nothing listens there: deliveries to "down" stay pending

"$py" scripts/bench/make_pki.py "$work/pki" 2>/dev/null
"$py" scripts/bench/cert_server.py --pem "$work/pki/signing.pem" --tls-cert "$work/pki/tls.pem" \
  --tls-key "$work/pki/tls.key" --port-file "$work/cert.port" >"$work/cert.log" 2>&1 &
pids+=($!)
"$py" scripts/soak/webhook.py --tls-cert "$work/pki/tls.pem" --tls-key "$work/pki/tls.key" \
  --port-file "$work/webhook.port" >"$work/webhook.log" 2>&1 &
pids+=($!)
wait_file "$work/cert.port" || fail "the certificate server did not start: $(cat "$work/cert.log")"
wait_file "$work/webhook.port" || fail "the webhook server did not start: $(cat "$work/webhook.log")"

cat >"$work/relay.yaml" <<EOF
server: {host: 127.0.0.1, port: $port}
sns:
  allowed_topics: ["$topic"]
  confirm_subscriptions: manual
api: {token: "$token"}
storage: {url: "sqlite://$work/relay.sqlite"}
outbound:
  proxy: none
  ca_file: $work/pki/ca.pem
  connect_to:
    - "sns.us-east-1.amazonaws.com:443:127.0.0.1:$(cat "$work/cert.port")"
    - "hooks.bench.example:443:127.0.0.1:$(cat "$work/webhook.port")"
    - "down.bench.example:443:127.0.0.1:$down_port"
receivers:
  - {name: hook, type: webhook, url: "https://hooks.bench.example/hook", rate_per_second: 0}
  - {name: down, type: webhook, url: "https://down.bench.example/hook", rate_per_second: 0}
routes:
  - match: {kind: audit}
    receivers: [hook, down]
  - match: {kind: detect}
    receivers: [hook]
alerts: {retry_base_seconds: 1, retry_max_delay_seconds: 2, detect: {group_wait: 0s, group_interval: 0s}}
EOF

LOG_LEVEL=warning "$relay_bin" serve --config "$work/relay.yaml" >"$work/relay.log" 2>&1 &
relay_pid=$!
pids+=($relay_pid)
ready=false
for _ in $(seq 300); do
  kill -0 "$relay_pid" 2>/dev/null || fail "the relay exited at start"
  if "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
    "http://127.0.0.1:$port/healthz" 2>/dev/null; then
    ready=true
    break
  fi
  sleep 0.1
done
$ready || fail "the relay did not answer /healthz within 30 s"

if [ "${OPENAPI_SEED_DATA:-1}" = 1 ]; then
  "$py" scripts/openapi/seed.py --relay "http://127.0.0.1:$port" --token "$token" --topic "$topic" \
    --signing-key "$work/pki/signing.key" --webhook-port "$(cat "$work/webhook.port")" || fail "seeding failed"
fi

# Run from the temporary directory: schemathesis keeps a cache (.schemathesis/) in its working
# directory, and a run must neither leave it in the repository nor replay an earlier one.
# One worker: with two, hypothesis' lambda-source introspection parses source in two threads at
# once and Python 3.11's parser fails with "AST constructor recursion depth mismatch".
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
schemathesis() {
  (cd "$work" && "$root/$venv/bin/schemathesis" run "$root/docs/openapi.yaml" --url "http://127.0.0.1:$port" \
    --seed "${OPENAPI_SEED:-20261126}" --generation-database none --workers 1 --request-timeout 10 --no-color "$@")
}
status=0
echo "== schemathesis, with the API token" >&2
schemathesis --header "Authorization: Bearer $token" --checks "$checks,ignored_auth" \
  --phases examples,coverage,fuzzing,stateful --max-examples "${OPENAPI_MAX_EXAMPLES:-100}" || status=$?
# Without the token, every /api/v1 answer is the 401 document with its WWW-Authenticate header.
echo "== schemathesis, without a token" >&2
schemathesis --checks "$checks" --include-path-regex '^/api/v1/' --phases examples,coverage --max-examples 5 --warnings off || status=$?
kill -0 "$relay_pid" 2>/dev/null || fail "the relay died during the run"
# Errors the relay logged, except the dead letter the seed causes on purpose.
if grep -E '^[^ ]+ (error|critical) ' "$work/relay.log" | grep -v 'dead-lettered' >"$work/relay-errors.log"; then
  echo "check-openapi: the relay logged errors:" >&2
  head -n 5 "$work/relay-errors.log" >&2
  status=1
fi
[ $status -eq 0 ] || { echo "check-openapi: schemathesis reported failures, or the relay logged errors" >&2; exit 1; }
echo "check-openapi: docs/openapi.yaml is valid and schemathesis found no mismatch against $relay_bin"
