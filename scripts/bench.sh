#!/usr/bin/env bash
# The benchmark suite in one command (npm run bench): builds the release CLI, the bench example and the worker,
# then runs scripts/bench.mjs (every stage, or those named: build render worker load export wrangler).
# Takes 10-20 minutes on 2 cores and ~15 GB of disk under bench/out/ (gitignored). Not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false
command -v wrk >/dev/null || echo "[bench] wrk is not installed (apt-get install -y wrk): the load stage uses a node loop"
cargo build --quiet --release --bin taxii-edge -p taxii-edge -p edge-feed --example bench_render
bash scripts/build-worker.sh
# Stage "republish": scripts/bench_build.sh (1M build, then 1% changed rebuilt with --previous: time, RSS, bytes).
if [[ " $* " == *" republish "* ]]; then bash scripts/bench_build.sh; set -- $(printf '%s\n' "$@" | grep -vx republish || true); [ $# -gt 0 ] || exit 0; fi
node scripts/bench.mjs "$@"
