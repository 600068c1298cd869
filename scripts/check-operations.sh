#!/usr/bin/env bash
# The operator-facing files checked against the built binary (scripts/test.sh runs this):
#   - the example configuration passes `config check` as the README runs it, as compose runs it
#     (PostgreSQL URL with the password from a secret file) and as the Kubernetes ConfigMap is;
#   - a faulty file fails it with exit 1;
#   - docs/CONFIGURATION.md is what `config reference` prints;
#   - compose.yaml, .env.example and docs/kubernetes/ hold what docs/OPERATIONS.md relies on;
#   - docs/openapi.yaml is valid and the live relay answers as it says (schemathesis).
# It writes one file under /run/secrets (root, as CI runs it), removed at exit.
#   scripts/check-operations.sh PATH/TO/defender-relay
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: scripts/check-operations.sh PATH/TO/defender-relay}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
token=0123456789abcdef0123456789

echo "config check: the example, as run by hand"
RELAY_API_TOKEN=$token "$bin" config check config/defender-relay.yaml

echo "config check: the example, as compose runs it"
# Compose mounts the password at /run/secrets/ (the only place a variable's value may read a
# file from); a file of our own there stands in for it.
secret=/run/secrets/defender-relay-check-$$
mkdir -p /run/secrets
printf 'compose-secret-0123\n' >"$secret"
trap 'rm -rf "$work" "$secret"' EXIT
RELAY_API_TOKEN=$token RELAY_HOST=0.0.0.0 DEFENDER_TOPIC_ARN=arn:aws:sns:eu-west-1:123456789012:device-defender-audits \
  RELAY_STORAGE_URL="postgres://relay:\${file:$secret}@postgres:5432/relay?sslmode=disable" \
  "$bin" config check config/defender-relay.yaml

echo "config check: the Kubernetes ConfigMap"
python3 -c 'import sys, yaml; print(yaml.safe_load(open("docs/kubernetes/configmap.yaml"))["data"]["defender-relay.yaml"])' >"$work/k8s.yaml"
RELAY_API_TOKEN=$token RELAY_METRICS_TOKEN=$token DEFENDER_TOPIC_ARN=arn:aws:sns:eu-west-1:123456789012:device-defender-audits \
  RELAY_STORAGE_URL="postgres://relay:secret@postgres:5432/relay?sslmode=require" SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/x \
  "$bin" config check "$work/k8s.yaml"

echo "config check: a faulty file is refused"
printf 'server: {prot: 80}\nroutes: [{match: {task_status: COMPLETE}, receivers: [ghost]}]\n' >"$work/faulty.yaml"
set +e
"$bin" config check "$work/faulty.yaml" >"$work/faulty.out"
faulty=$?
set -e
[ "$faulty" -eq 1 ] && [ "$(grep -c '^error: ' "$work/faulty.out")" -eq 3 ] || {
  cat "$work/faulty.out"
  echo "config check: expected exit 1 and 3 errors for the faulty file, got exit $faulty" >&2
  exit 1
}

echo "docs/CONFIGURATION.md is current"
"$bin" config reference | diff -u docs/CONFIGURATION.md - || {
  echo "docs/CONFIGURATION.md differs from \`defender-relay config reference\`: regenerate it" >&2
  exit 1
}

python3 scripts/check-deploy-files.py
RELAY_BIN=$bin scripts/check-openapi.sh
