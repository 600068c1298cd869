#!/usr/bin/env bash
# Renders a local HTML file in headless Chromium.
#
#   scripts/render-html.sh IN.html OUT.png [WIDTHxHEIGHT]    # screenshot of the viewport (default 700x1000)
#   scripts/render-html.sh --dump-dom IN.html [WIDTHxHEIGHT] # prints the DOM after loading and scripts
#
# Needs Debian's chromium (scripts/install-dependencies.sh --test); CHROMIUM names another binary.
# The screenshot is exactly WIDTH x HEIGHT CSS pixels at a device scale factor of 1; content below
# HEIGHT is cut off. --dump-dom shows that the page rendered what it should: its output is the DOM
# as serialised after the page's scripts ran, so a caller can look for the text it expects.
#
# Only the file itself is opened, as a file:// URL. Where `unshare --net` works (as root),
# Chromium runs in a network namespace of its own that has no usable interface, so no connection
# can be made at all; its start-up check for IPv6 (a UDP connect to a public address that sends no
# packet) then fails at once. In addition, and alone where no namespace can be made, Chromium's
# background traffic (component updates, safe browsing, metrics, field trials, DNS prefetch) is
# switched off, every host name resolves to nothing and any remaining request goes to a proxy on a
# closed local port, so a page that refers to http(s) resources loads none of them.
#
# Exits 0 on success; 1 when Chromium fails, times out (RENDER_TIMEOUT seconds, default 60) or
# leaves no PNG, an empty one or one of another size; 2 on wrong usage. Chromium's own log goes
# to stderr only when it fails, because it prints harmless D-Bus errors on every run.
set -euo pipefail

usage() {
  echo "usage: $0 IN.html OUT.png [WIDTHxHEIGHT]" >&2
  echo "       $0 --dump-dom IN.html [WIDTHxHEIGHT]" >&2
  exit 2
}

dump_dom=false
if [ "${1:-}" = "--dump-dom" ]; then
  dump_dom=true
  shift
  [ $# -ge 1 ] && [ $# -le 2 ] || usage
  input=$1
  size=${2:-700x1000}
else
  [ $# -ge 2 ] && [ $# -le 3 ] || usage
  input=$1
  output=$2
  size=${3:-700x1000}
fi
[[ $size =~ ^([0-9]+)x([0-9]+)$ ]] || { echo "size must be WIDTHxHEIGHT, such as 700x1000: $size" >&2; exit 2; }
width=${BASH_REMATCH[1]}
height=${BASH_REMATCH[2]}
[ -f "$input" ] || { echo "no such file: $input" >&2; exit 2; }

chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
  for candidate in chromium chromium-browser; do
    if command -v "$candidate" >/dev/null 2>&1; then chromium=$candidate; break; fi
  done
fi
[ -n "$chromium" ] || { echo "chromium is not installed: scripts/install-dependencies.sh --test" >&2; exit 1; }

# A file:// URL with every special character percent-encoded.
url=$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri())' "$input")

profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT

flags=(
  --headless
  --disable-gpu
  --hide-scrollbars
  --window-size="$width,$height"
  --force-device-scale-factor=1
  --user-data-dir="$profile"
  --no-first-run
  --no-default-browser-check
  --disable-extensions
  --disable-sync
  --disable-background-networking
  --disable-component-update
  --disable-default-apps
  --disable-domain-reliability
  --disable-client-side-phishing-detection
  --disable-breakpad
  --disable-dev-shm-usage
  --dns-prefetch-disable
  --no-pings
  --disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,NetworkTimeServiceQuerying
  --host-resolver-rules="MAP * ~NOTFOUND"
  --proxy-server="http://127.0.0.1:9"
  --proxy-bypass-list="<-loopback>"
)
# Chromium refuses to start its sandbox as root.
[ "$(id -u)" -eq 0 ] && flags+=(--no-sandbox)

isolate=()
unshare --net true 2>/dev/null && isolate=(unshare --net)

run() {
  timeout "${RENDER_TIMEOUT:-60}" "${isolate[@]}" "$chromium" "${flags[@]}" "$@" "$url"
}

failed() {
  local status=$1 what=$2
  cat "$log" >&2
  if [ "$status" -eq 124 ]; then
    echo "chromium did not $what $input within ${RENDER_TIMEOUT:-60} s" >&2
  else
    echo "chromium failed to $what $input (exit status $status)" >&2
  fi
  exit 1
}

if $dump_dom; then
  status=0
  run --dump-dom 2>"$log" || status=$?
  [ "$status" -eq 0 ] || failed "$status" load
  exit 0
fi

mkdir -p "$(dirname "$output")"
output=$(cd "$(dirname "$output")" && pwd)/$(basename "$output")
rm -f "$output"
status=0
run --screenshot="$output" >"$log" 2>&1 || status=$?
[ "$status" -eq 0 ] || failed "$status" render
if [ ! -s "$output" ]; then
  cat "$log" >&2
  echo "chromium left no screenshot (or an empty one) at $output" >&2
  exit 1
fi
# A PNG starts with an 8-byte signature and an IHDR chunk holding width and height.
read -r png_width png_height < <(python3 -c '
import struct, sys
head = open(sys.argv[1], "rb").read(24)
ok = head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
print(*(struct.unpack(">II", head[16:24]) if ok else (0, 0)))' "$output")
if [ "$png_width" -ne "$width" ] || [ "$png_height" -ne "$height" ]; then
  echo "$output is not a ${width}x$height PNG (found ${png_width}x$png_height)" >&2
  exit 1
fi
