#!/usr/bin/env bash
# The build benchmark (not a timed test): generates 1,000,000 indicators, builds them into the 10 collections of
# bench/collections-10.json, then changes 1% of them (a later `modified` on every 100th) and rebuilds on top of the
# first snapshot with --previous. Prints wall time and peak RSS of each build (/usr/bin/time -v) and the bytes the
# re-publish would upload (blobs the first snapshot lacks) against the snapshot's total.
# Usage: bash scripts/bench_build.sh [COUNT]   (default 1000000; needs the release CLI: cargo build --release)
# BENCH_OUT=DIR puts the inputs and snapshots there (default bench/out/build; a 1M snapshot is ~8 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-1000000}"
CLI=target/release/taxii-edge
OUT="${BENCH_OUT:-bench/out/build}"
CONFIG=bench/collections-10.json
NOW=2026-01-01T00:00:00Z
[ -x "$CLI" ] || cargo build --quiet --release --bin taxii-edge
mkdir -p "$OUT"

gen="$OUT/gen-$COUNT.jsonl"
[ -s "$gen" ] || "$CLI" generate --count "$COUNT" --seed 1 --format jsonl --now "$NOW" --out "$gen"

# Runs a build under /usr/bin/time -v and prints its wall time and peak RSS.
timed_build() {
  local label="$1"; shift
  local log="$OUT/$label.time"
  # Each build starts with nothing waiting to be written back (the last build's 8 GB would slow this one).
  sync
  TAXII_EDGE_TIMINGS=1 /usr/bin/time -v "$CLI" build --config "$CONFIG" --skip-bad "$@" >"$OUT/$label.out" 2>"$log"
  grep '^\[timing\]' "$log" | sed 's/^/    /' || true
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
  printf '[bench_build] %s: wall %s, peak RSS %d MiB (%d MB)\n' "$label" "$wall" $((rss / 1024)) $((rss * 1024 / 1000000))
}

snap1="$OUT/snap-$COUNT"
snap2="$OUT/snap-$COUNT-changed"
rm -rf "$snap1" "$snap2"
echo "[bench_build] build: $COUNT indicators into 10 collections"
timed_build build --input "$gen" --out "$snap1" --now "$NOW"

gen2="$OUT/gen-$COUNT-changed.jsonl"
awk 'NR % 100 == 1 { sub(/"modified":"[^"]*"/, "\"modified\":\"2025-12-31T12:00:00Z\"") } { print }' "$gen" >"$gen2"
echo "[bench_build] republish: every 100th indicator modified, rebuilt with --previous"
timed_build republish --input "$gen2" --out "$snap2" --now 2026-01-02T00:00:00Z --previous "$snap1"

# The re-publish uploads the blobs of the new snapshot that the first one does not have.
(cd "$snap1/blobs" && find . -type f | sort) >"$OUT/keys1"
(cd "$snap2/blobs" && find . -type f -printf '%p %s\n' | sort) >"$OUT/keys2"
awk 'NR == FNR { have[$1] = 1; next } { total += $2; n++; if (!($1 in have)) { new += $2; m++ } }
     END { printf "[bench_build] republish uploads %d of %d blobs, %.1f MB of %.1f MB (%.2f%%)\n", m, n, new / 1e6, total / 1e6, 100 * new / total }' \
  "$OUT/keys1" "$OUT/keys2"
