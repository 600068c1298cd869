#!/usr/bin/env bash
# Sets up a fresh machine and starts defender-relay on the example configuration, with the
# embedded SQLite store in ./data. Pass the topic to accept, e.g.:
#   DEFENDER_TOPIC_ARN=arn:aws:sns:eu-west-1:123456789012:device-defender-audits scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-dependencies.sh
swift build -c release --product defender-relay
if [ -z "${RELAY_API_TOKEN:-}" ]; then
  RELAY_API_TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
  echo "RELAY_API_TOKEN was not set; generated one for this run: ${RELAY_API_TOKEN}"
fi
export RELAY_API_TOKEN
exec "$(swift build -c release --show-bin-path)/defender-relay" serve --config config/defender-relay.yaml
