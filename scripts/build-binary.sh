#!/usr/bin/env bash
# The container image's build step (Dockerfile), kept runnable on the host: the test command
# runs it too, so a broken step fails there and not first in someone's `docker build`.
# Builds defender-relay with the Swift runtime linked in statically (the runtime image has no
# Swift) and installs the stripped binary as OUT_DIR/defender-relay.
#   scripts/build-binary.sh OUT_DIR            (release, as the image does; ~18 min the first
#                                               time on 2 cores, swift build shows [step/total])
#   BUILD_CONFIGURATION=debug SCRATCH_PATH=.build/image scripts/build-binary.sh OUT_DIR
# A static build needs a build directory of its own: objects built for the tests do not link
# statically, and the other way round.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/build-binary.sh OUT_DIR}
configuration=${BUILD_CONFIGURATION:-release}
scratch=${SCRATCH_PATH:-.build}
swift build -c "$configuration" --scratch-path "$scratch" --product defender-relay --static-swift-stdlib
install -D -s "$(swift build -c "$configuration" --scratch-path "$scratch" --show-bin-path)/defender-relay" "$out/defender-relay"
echo "built $("$out/defender-relay" --version) ($configuration) into $out/defender-relay"
