#!/usr/bin/env bash
# Every test, in order of speed: formatting and lints, native Rust tests, the worker in workerd (Miniflare and
# wrangler dev) from node --test, the interop tests with real clients and validators (Python), and the console in
# a real browser. Stops at the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { printf '\n=== %s\n' "$*"; }
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false

stage "format and lints"
cargo fmt --check
cargo clippy --quiet --all-targets -- -D warnings
cargo clippy --quiet -p edge-core -p edge-worker --lib --target wasm32-unknown-unknown -- -D warnings

stage "native tests (cargo test)"
cargo test --quiet

stage "building the worker, the CLI and the demo snapshot"
bash scripts/build-worker.sh
bash scripts/build-demo.sh >/dev/null

stage "the worker in workerd (node --test)"
node --test --test-timeout=300000 --test-concurrency=1 tests/worker/

stage "interop: taxii2-client and stix2-validator (pytest)"
.venv/bin/pytest -q tests/interop

if [ -d tests/browser ]; then
  stage "the console in headless Chromium (node --test)"
  bash scripts/setup-browser.sh
  node --test --test-timeout=300000 --test-concurrency=1 tests/browser/
fi
