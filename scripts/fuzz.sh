#!/usr/bin/env bash
# Builds the cargo-fuzz targets (fuzz/) and runs each for FUZZ_SECONDS (default 180), one at a time, then prints a
# summary table: target, runs, seconds, corpus size, result. Not part of `npm test`; see docs/FUZZING.md.
#
#   bash scripts/fuzz.sh                    # every target, 180 s each
#   FUZZ_SECONDS=30 bash scripts/fuzz.sh token range
#   FUZZ_JOBS=2 bash scripts/fuzz.sh query  # libFuzzer -jobs/-workers (default 1)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Inputs found are kept in
# fuzz/target/corpus/<target> (not committed; the committed seeds are fuzz/corpus/<target>); a crash leaves
# its input in fuzz/artifacts/<target>/ and the script goes on to the next target, exiting 1 at the end.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_EACH="${FUZZ_SECONDS:-180}"
JOBS="${FUZZ_JOBS:-1}"
# Sanitizer none: the crate has no unsafe code, and ASan would cost more than half the executions.
# Debug assertions on: integer overflow panics instead of wrapping, as in `cargo test`.
BUILD_FLAGS=(--release --debug-assertions --sanitizer none)

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }
rustup toolchain list | grep -q '^nightly' || { echo "the nightly toolchain is missing: rustup toolchain install nightly" >&2; exit 2; }

if [ "$#" -gt 0 ]; then TARGETS=("$@"); else mapfile -t TARGETS < <(cargo +nightly fuzz list); fi

echo "== building ${#TARGETS[@]} fuzz targets"
cargo +nightly fuzz build "${BUILD_FLAGS[@]}" || exit 2

mkdir -p target/logs
SUMMARY=()
FAILED=0
for t in "${TARGETS[@]}"; do
  work="target/corpus/$t"
  mkdir -p "$work" "corpus/$t" "artifacts/$t"
  log="target/logs/$t.log"
  echo "== $t: ${SECONDS_EACH}s"
  start=$(date +%s)
  parallel=()
  [ "$JOBS" -gt 1 ] && parallel=(-jobs="$JOBS" -workers="$JOBS")
  cargo +nightly fuzz run "${BUILD_FLAGS[@]}" "$t" "$work" "corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 "${parallel[@]}" \
    >"$log" 2>&1
  rc=$?
  cat fuzz-*.log >>"$log" 2>/dev/null
  took=$(( $(date +%s) - start ))
  runs=$(grep -h 'stat::number_of_executed_units' "$log" | awk '{s+=$2} END {print s+0}')
  corpus=$(find "$work" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    FAILED=1
    artifact=$(grep -ho 'Test unit written to [^ ]*' "$log" | head -1 | sed 's/Test unit written to //')
    result="CRASH ${artifact:-rc=$rc, see fuzz/$log}"
    grep -m3 -h -E "panicked at|ERROR: libFuzzer" "$log" | sed 's/^/    /'
  fi
  rm -f fuzz-*.log
  SUMMARY+=("$(printf '%-16s %12s %8s %8s  %s' "$t" "$runs" "$took" "$corpus" "$result")")
done

echo
printf '%-16s %12s %8s %8s  %s\n' target runs seconds corpus result
for line in "${SUMMARY[@]}"; do echo "$line"; done
exit "$FAILED"
