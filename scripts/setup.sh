#!/usr/bin/env bash
# Installs what building, serving and testing taxii-edge need, skipping whatever is already there:
# the wasm32 Rust target, worker-build and wasm-bindgen-cli (exact versions), the npm packages, and the Python venv
# for the interop tests. Safe to run again; takes a second when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130
say() { printf '[setup] %s\n' "$*"; }

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
fi

if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  say "installing worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --force
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # Without --locked: its lock file wants a crate version the registry here lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# npm packages: reinstall when package-lock.json is newer than the installed tree.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The Python venv for the interop tests (taxii2-client, stix2-validator, …), rebuilt when requirements change.
if [ "${TAXII_EDGE_SKIP_PYTHON:-}" != 1 ]; then
  req=tests/interop/requirements.txt
  stamp=.venv/.requirements.sha256
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "creating the Python venv for the interop tests"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
  fi
fi
