#!/usr/bin/env bash
# Builds the demo snapshot (demo/snapshot) from the demo feed that ships in the repository. The build time is
# fixed, so the snapshot is the same on every machine and a second publish uploads nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
./target/debug/taxii-edge build \
  --config demo/collections.json \
  --input demo/indicators.json \
  --out demo/snapshot \
  --now 2026-11-01T00:00:00Z "$@"
