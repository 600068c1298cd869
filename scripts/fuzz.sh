#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, Linux) of what the relay does with an untrusted body: the
# strict JSON reader, SNS envelope parsing and the string to sign, the URL and topic policies,
# and Device Defender payload classification (scripts/fuzz/FuzzEnvelope.swift says what is
# checked). Runs for a bounded time:
#
#   scripts/fuzz.sh            60 seconds
#   scripts/fuzz.sh 600        ten minutes
#
# Build: swiftc directly (not SwiftPM), one module at a time in dependency order, into
# .build/fuzz/ (git-ignored): JSON = Sources/JSON/*.swift; SNS = the files of Sources/SNS that do
# not import Crypto, _CryptoExtras, X509 or SwiftASN1 (chosen by their imports on every run, so
# new pure files are picked up; signature and certificate code is left out); DeviceDefender =
# Sources/DeviceDefender/*.swift; then the harness, linked with libFuzzer and AddressSanitizer.
# A rebuild happens only when a source, a flag or the compiler changed.
#
# Before fuzzing, every input in scripts/fuzz/crashes/ (each once crashed the code under test) is
# replayed: a regression fails the script at once.
#
# Run: the committed seed corpus (scripts/fuzz/corpus/) is copied into a scratch directory, which
# is the only one libFuzzer writes to; with the dictionary scripts/fuzz/sns.dict. Each run gets
# .build/fuzz/runs/<time>/ with fuzz.log and artifacts/ (crash-*, timeout-*, oom-*), printed at
# the end. The exit status is non-zero when libFuzzer found a crash, a timeout or an OOM (or the
# build failed); the end of the output then says how to reproduce.
#
# Settings (environment):
#   FUZZ_OPT                  optimisation flags for every module ("-O -g"; "-Onone -g" to debug)
#   FUZZ_SANITIZE             "fuzzer,address" (default) or "fuzzer"
#   FUZZ_REBUILD=1            rebuild even when nothing changed
#   FUZZ_KEEP_CORPUS=1        keep the run's scratch corpus (deleted by default)
#   FUZZ_ARGS                 more libFuzzer flags, e.g. "-only_ascii=1" or "-seed=1"
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }
[ "$(uname -s)" = Linux ] || { echo "scripts/fuzz.sh needs Linux (swiftc -sanitize=fuzzer)." >&2; exit 2; }

build=.build/fuzz
modules=$build/modules
objects=$build/objects
binary=$build/fuzz-envelope
mkdir -p "$modules" "$objects"

opt=${FUZZ_OPT:--O -g}
sanitize=${FUZZ_SANITIZE:-fuzzer,address}
# shellcheck disable=SC2206
flags=(
  -swift-version 6
  -enable-upcoming-feature ExistentialAny
  -enable-upcoming-feature MemberImportVisibility
  -sanitize="$sanitize"
  -parse-as-library
  $opt
  -I "$modules"
)

# --- Which SNS files are pure (no Crypto, _CryptoExtras, X509, SwiftASN1) --------------------
crypto_import='^[[:space:]]*((@[A-Za-z_]+|public|package|internal|fileprivate|private)[[:space:]]+)*import[[:space:]]+((typealias|struct|class|enum|protocol|let|var|func)[[:space:]]+)?(Crypto|_CryptoExtras|X509|SwiftASN1)([.[:space:]]|$)'
json_files=(Sources/JSON/*.swift)
defender_files=(Sources/DeviceDefender/*.swift)
sns_files=()
sns_skipped=()
for file in Sources/SNS/*.swift; do
  if grep -Eq "$crypto_import" "$file"; then sns_skipped+=("$file"); else sns_files+=("$file"); fi
done
harness_files=(scripts/fuzz/*.swift)

# --- Build (only when something changed) -----------------------------------------------------
stamp=$(
  {
    swiftc --version 2>&1
    printf '%s\n' "${flags[@]}"
    for file in "${json_files[@]}" "${sns_files[@]}" "${defender_files[@]}" "${harness_files[@]}"; do
      echo "== $file"
      cat "$file"
    done
  } | sha256sum | cut -d' ' -f1
)

compile_module() { # name files...
  local name=$1
  shift
  swiftc "${flags[@]}" -module-name "$name" -wmo -c "$@" \
    -emit-module -emit-module-path "$modules/$name.swiftmodule" -o "$objects/$name.o"
}

build_started=$(date +%s%N)
if [ "${FUZZ_REBUILD:-0}" = 1 ] || [ ! -x "$binary" ] || [ "$(cat "$build/stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -f "$build/stamp" "$binary" "$modules"/* "$objects"/*
  echo "Building the fuzzer ($opt, -sanitize=$sanitize) into $build/"
  echo "  SNS files skipped (they import Crypto, _CryptoExtras, X509 or SwiftASN1): ${sns_skipped[*]:-none}"
  compile_module JSON "${json_files[@]}"
  # SNS and DeviceDefender depend only on JSON: compiled side by side.
  sns_log=$build/sns-build.log
  set +e
  compile_module SNS "${sns_files[@]}" >"$sns_log" 2>&1 &
  sns_pid=$!
  compile_module DeviceDefender "${defender_files[@]}"
  defender_status=$?
  wait "$sns_pid"
  sns_status=$?
  set -e
  cat "$sns_log"
  if [ "$sns_status" -ne 0 ]; then
    echo "The SNS subset (${sns_files[*]}) does not compile without the skipped files." >&2
    if grep -q "cannot find\|has no member\|no such module" "$sns_log"; then
      echo "A file of the subset uses something defined only in a skipped file (${sns_skipped[*]}): see the errors above." >&2
    fi
    exit 1
  fi
  [ "$defender_status" -eq 0 ] || { echo "DeviceDefender did not compile." >&2; exit 1; }
  # gold warns once per ASan symbol it cannot export; harmless, and it buries real messages.
  swiftc "${flags[@]}" -module-name FuzzEnvelope "${harness_files[@]}" \
    "$objects/JSON.o" "$objects/SNS.o" "$objects/DeviceDefender.o" -o "$binary" 2>&1 |
    { grep -v "Cannot export local symbol" || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "The fuzzer did not link." >&2; exit 1; }
  echo "$stamp" >"$build/stamp"
  build_ms=$((($(date +%s%N) - build_started) / 1000000))
  printf 'Built %s in %d.%01d s\n' "$binary" $((build_ms / 1000)) $((build_ms % 1000 / 100))
else
  echo "Up to date: $binary"
fi

# --- Regressions: inputs that once crashed --------------------------------------------------
regressions=()
for file in scripts/fuzz/crashes/*; do
  [ "$(basename "$file")" = README.md ] || regressions+=("$file")
done
if [ ${#regressions[@]} -gt 0 ]; then
  echo "Replaying ${#regressions[@]} inputs that once crashed (scripts/fuzz/crashes/)"
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$binary" "${regressions[@]}" >"$build/regressions.log" 2>&1 || {
    cat "$build/regressions.log" >&2
    echo "An input that once crashed crashes again (see above)." >&2
    exit 1
  }
fi

# --- Run -------------------------------------------------------------------------------------
run=$build/runs/$(date -u +%Y%m%dT%H%M%SZ)-$$
mkdir -p "$run/corpus" "$run/artifacts"
cp scripts/fuzz/corpus/* "$run/corpus/"
chmod u+w "$run/corpus"/*

toolchain_bin=$(dirname "$(command -v swiftc)")
export SWIFT_BACKTRACE=enable=no # libFuzzer and ASan report the crash and its stack
if [ -x "$toolchain_bin/llvm-symbolizer" ]; then export ASAN_SYMBOLIZER_PATH="$toolchain_bin/llvm-symbolizer"; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:handle_abort=1}

# shellcheck disable=SC2206
fuzz_flags=(
  -max_total_time="$seconds"
  -max_len=65536
  -timeout=10
  -rss_limit_mb=2048
  -dict=scripts/fuzz/sns.dict
  -artifact_prefix="$run/artifacts/"
  -print_final_stats=1
  ${FUZZ_ARGS:-}
)
echo "Running: $binary ${fuzz_flags[*]} $run/corpus"
set +e
"$binary" "${fuzz_flags[@]}" "$run/corpus" 2>&1 | tee "$run/fuzz.log"
status=${PIPESTATUS[0]}
set -e

corpus_size=$(find "$run/corpus" -type f | wc -l)
[ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] || rm -rf "$run/corpus"

echo
echo "=== fuzz summary ==="
last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$run/fuzz.log" | tail -n 1 || true)
echo "last status line: ${last:-none}"
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)' "$run/fuzz.log" || true
echo "corpus: $corpus_size inputs$([ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] && echo " in $run/corpus")"
echo "log: $run/fuzz.log"
echo "artifacts: $run/artifacts/"
artifacts=("$run/artifacts"/*)
if [ "$status" -ne 0 ] || [ -e "${artifacts[0]}" ]; then
  echo
  echo "libFuzzer stopped with status $status: a crash, timeout or OOM (see the log above)." >&2
  for artifact in "${artifacts[@]}"; do
    [ -e "$artifact" ] || continue
    echo "  $artifact ($(wc -c <"$artifact") bytes)" >&2
    echo "    inspect:   xxd '$artifact' | head -n 40" >&2
    echo "    reproduce: SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $binary '$artifact'" >&2
    echo "    minimize:  SWIFT_BACKTRACE=enable=no $binary -minimize_crash=1 -runs=20000 -exact_artifact_path='$artifact.min' '$artifact'" >&2
  done
  [ "$status" -ne 0 ] && exit "$status"
  exit 1
fi
echo "No crash, timeout or OOM in $seconds s."
