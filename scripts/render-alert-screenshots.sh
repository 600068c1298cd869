#!/usr/bin/env bash
# Regenerates the pictures of alerts that the README shows, from the approved snapshots:
#
#   scripts/render-alert-screenshots.sh
#   # needs chromium and fonts: scripts/install-dependencies.sh --test
#
# Draws every snapshot in Tests/AlertsTests/Snapshots/ with scripts/render-alert-previews.py and
# writes docs/alerts/<service>.png (slack, teams, discord, googlechat, email) and one picture per
# further snapshot of a service (slack-detect.png for slack-detect.json). The pictures are local
# look-alikes of each client, captioned as such, not screenshots of the clients themselves.
#
# The pictures are drawn in a temporary folder first; docs/alerts/ is changed only when every
# snapshot was drawn, and then it holds exactly the new pictures (a picture whose snapshot is
# gone is removed). Run it after approving a changed snapshot. Exits 0 on success, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshots=Tests/AlertsTests/Snapshots
out=docs/alerts

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! python3 scripts/render-alert-previews.py "$snapshots" "$work"; then
  echo "render-alert-previews.py failed; $out is unchanged" >&2
  exit 1
fi
shopt -s nullglob
pictures=("$work"/*.png)
if [ ${#pictures[@]} -eq 0 ]; then
  echo "render-alert-previews.py drew no picture; $out is unchanged" >&2
  exit 1
fi

mkdir -p "$out"
rm -f "$out"/*.png
cp "${pictures[@]}" "$out"/
for picture in "$out"/*.png; do
  echo "wrote $picture"
done
