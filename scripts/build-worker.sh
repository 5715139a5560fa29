#!/usr/bin/env bash
# Builds the worker (crates/worker → build/index.js + build/index_bg.wasm + build/worker/shim.mjs) and the native
# CLI (target/debug/taxii-edge). Uses the wasm-bindgen and esbuild installed here, never a download.
set -euo pipefail
cd "$(dirname "$0")/.."
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/@esbuild/linux-x64/bin/esbuild}"
log=$(mktemp)
# worker-build builds the crate it runs in and writes build/ beside it; wrangler.toml and the tests read ./build.
if ! (cd crates/worker && worker-build --release) >"$log" 2>&1; then
  cat "$log" >&2
  echo "the worker build failed (above)" >&2
  exit 1
fi
rm -f "$log"
rm -rf build
mv crates/worker/build build
cargo build --quiet --bin taxii-edge
