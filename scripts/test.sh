#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite: installs the apt and pip packages the
# tests need, lints the Dockerfile, builds (failing on any compiler warning in this project's
# code), runs `swift test`, then the operator-facing checks (config check of the shipped
# configurations, docs/CONFIGURATION.md, compose and Kubernetes files, the OpenAPI document
# against the live relay), the Dockerfile's build steps on the host, the benchmark's smoke run,
# the short reliability soak and the fuzzer for 60 s. The exit status is the verdict.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-dependencies.sh --test
DEFENDER_RELAY_TEST_POSTGRES_URL=$(scripts/start-test-postgres.sh)
export DEFENDER_RELAY_TEST_POSTGRES_URL
scripts/lint-dockerfile.sh

log=$(mktemp)
swift build --build-tests 2>&1 | tee "$log" | grep -vE '^\[[0-9]+/[0-9]+\]' || true
if grep -E "^$(pwd)/(Sources|Tests)/.*(warning|error):" "$log"; then
  echo "The build has warnings or errors in project code (see above)." >&2
  exit 1
fi
grep -q "Build complete" "$log" || { echo "The build failed." >&2; exit 1; }

results=$(mktemp)
set +e
# Chromium and the schema check run after the rest, alone: beside the timing-sensitive tests
# (slow clients, the PostgreSQL outage's bound, rate spacing) they would only load both cores.
swift test --skip ExternalRenderingTests 2>&1 | tee "$results"
status=${PIPESTATUS[0]}
if [ "$status" -eq 0 ]; then
  swift test --skip-build --filter ExternalRenderingTests 2>&1 | tee -a "$results"
  status=${PIPESTATUS[0]}
fi
set -e

# What operators run and read, against the built binary (scripts/check-operations.sh), and the
# image's build steps run on the host (scripts/check-image-build.sh: a static build in a build
# directory of its own, about 6 minutes).
ops_status=0
if [ "$status" -eq 0 ]; then
  scripts/check-operations.sh "$(swift build --show-bin-path)/defender-relay" || ops_status=$?
  [ "$ops_status" -eq 0 ] && { scripts/check-image-build.sh || ops_status=$?; }
  [ "$ops_status" -eq 0 ] || echo "The operations checks failed (see above)." >&2
fi

# The benchmark's relay pipeline, briefly, on the debug binary: it proves the benchmark still
# runs and its checks hold (a tampered message refused, one certificate fetch, rows stored equal
# to the 200s answered, syncs counted), not the speed, which scripts/bench.sh measures on a
# release build against PostgreSQL and the Python peer too.
bench_status=0
if [ "$status" -eq 0 ]; then
  BENCH_SMOKE=1 BENCH_TARGETS=sqlite,webhook RELAY_BIN="$(swift build --show-bin-path)/defender-relay" scripts/bench.sh || bench_status=$?
  [ "$bench_status" -eq 0 ] || echo "The benchmark smoke run failed (see above)." >&2
fi

# The reliability soak's short version (scripts/soak.sh, docs/RELIABILITY.md): kill -9 under
# load, a receiver outage and two replicas on PostgreSQL with one killed, every acknowledged
# message stored once and every alert delivered, counted end to end. About 35 s.
soak_status=0
if [ "$status" -eq 0 ]; then
  SOAK_SHORT=1 RELAY_BIN="$(swift build --show-bin-path)/defender-relay" scripts/soak.sh || soak_status=$?
  [ "$soak_status" -eq 0 ] || echo "The short soak failed (see above)." >&2
fi

# Coverage-guided fuzzing of envelope parsing, the string to sign and payload decoding, for a
# bounded time (scripts/fuzz.sh; docs/SECURITY.md). Inputs that once crashed are replayed first.
fuzz_status=0
if [ "$status" -eq 0 ]; then
  set +e
  scripts/fuzz.sh "${FUZZ_SECONDS:-60}" 2>&1 | grep -vE '^(#[0-9]+|INFO:|MS:)'
  fuzz_status=${PIPESTATUS[0]}
  set -e
  [ "$fuzz_status" -eq 0 ] || echo "The fuzzer found a crash (see above)." >&2
fi

# One plain summary line for whoever reads only the end of the log.
passed=$(grep -oE 'Test run with [0-9]+ tests? .*passed' "$results" | grep -oE 'with [0-9]+' | awk '{ total += $2 } END { if (total) print total }' || true)
failed=$(grep -oE 'Test run with [0-9]+ tests? .*failed .*with [0-9]+ issues?' "$results" | grep -oE '[0-9]+ issues?' | grep -oE '[0-9]+' | head -n 1 || true)
echo "swift test: ${passed:-0} passed, ${failed:-0} failed"
[ "$status" -eq 0 ] || exit "$status"
[ "$ops_status" -eq 0 ] || exit "$ops_status"
[ "$fuzz_status" -eq 0 ] || exit "$fuzz_status"
[ "$soak_status" -eq 0 ] || exit "$soak_status"
exit "$bench_status"
