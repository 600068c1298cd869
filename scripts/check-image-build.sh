#!/usr/bin/env bash
# Runs the Dockerfile's steps on the host (no Docker engine is needed), so that a step that no
# longer works fails the test command instead of someone's image build:
#   - the build stage's context (Package.swift, Package.resolved, Sources) resolves and declares
#     no test targets without Tests/;
#   - its build step, scripts/build-binary.sh, builds and installs the binary (debug, in a build
#     directory of its own, about 6 minutes the first time: a release build from scratch takes
#     about 18 minutes on 2 cores; the step is the same);
#   - every library the binary links is installed by the runtime stage (or is part of Debian's
#     base image), and the binary's version is the image's VERSION label;
#   - the HEALTHCHECK command exists and says "unhealthy" (exit 1) when nothing listens.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The build stage's apt packages are what this machine builds with.
build_packages=$(sed -n '/AS build/,/^FROM /p' Dockerfile | grep -oE 'install -y --no-install-recommends [a-z0-9 .+-]+' | sed -n 1p | sed 's/install -y --no-install-recommends //')
dpkg -s $build_packages >/dev/null

# The context the image sees: the manifest alone resolves; with Sources and without Tests the
# package has no test targets.
mkdir -p "$work/context"
cp Package.swift Package.resolved "$work/context/"
(cd "$work/context" && swift package resolve >"$work/resolve.log" 2>&1) || { cat "$work/resolve.log"; exit 1; }
cp -r Sources "$work/context/"
targets=$(cd "$work/context" && swift package dump-package 2>/dev/null | python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)["targets"] if t["type"] == "test"))')
[ -z "$targets" ] || { echo "the image's context declares test targets: $targets" >&2; exit 1; }

BUILD_CONFIGURATION=debug SCRATCH_PATH=.build/image-check scripts/build-binary.sh "$work/out" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|^warning: .swift-distributed-tracing|CMakeLists.txt$' || true
[ -x "$work/out/defender-relay" ] || { echo "the build step did not produce the binary" >&2; exit 1; }
binary="$work/out/defender-relay"

# Libraries: each NEEDED entry must come from a package the runtime stage installs (or one
# every Debian image has).
runtime_packages=$(sed -n '/^FROM debian/,$p' Dockerfile | grep -oE 'install -y --no-install-recommends [a-z0-9 .+-]+' | sed -n 1p | sed 's/install -y --no-install-recommends //')
base_packages="libc6 libgcc-s1 libstdc++6 zlib1g"
for library in $(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  # awk reads all of ldconfig's output (no early exit: pipefail would see ldconfig's SIGPIPE).
  path=$(ldconfig -p | awk -v lib="$library" '$1 == lib && /x86-64|x86_64/ && !found { print $NF; found = 1 }')
  [ -n "$path" ] || { echo "$library: not found on this machine" >&2; exit 1; }
  package=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | sed -n 1p | cut -d: -f1 || true)
  [ -n "$package" ] || package=$(dpkg -S "$path" | sed -n 1p | cut -d: -f1)
  case " $runtime_packages $base_packages " in
    *" $package "*) ;;
    *) echo "the binary links $library from $package, which the runtime stage does not install" >&2; exit 1 ;;
  esac
done

label=$(sed -n 's/^ARG VERSION=//p' Dockerfile)
version=$("$binary" --version)
[ "$label" = "$version" ] || { echo "Dockerfile VERSION $label differs from the binary's version $version" >&2; exit 1; }

grep -q 'HEALTHCHECK .*CMD \["defender-relay", "healthcheck"\]' Dockerfile
set +e
"$binary" healthcheck --url http://127.0.0.1:9/readyz --timeout 2 >/dev/null
status=$?
set -e
[ "$status" -eq 1 ] || { echo "healthcheck exited $status with nothing listening, not 1" >&2; exit 1; }
echo "image build steps: OK (defender-relay $version, links only what the runtime stage installs)"
