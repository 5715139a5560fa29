"""Fixtures for the interop tests: the built worker serving the demo snapshot, started through tests/serve.mjs."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_SNAPSHOT = ROOT / "demo" / "snapshot"


@pytest.fixture(scope="session")
def worker():
    """The worker's base URL, with the demo snapshot published into it."""
    if not (DEMO_SNAPSHOT / "snapshot.json").exists():
        pytest.fail("demo/snapshot is missing: run `bash scripts/build-demo.sh` (npm test does)")
    proc = subprocess.Popen(
        ["node", str(ROOT / "tests" / "serve.mjs"), str(DEMO_SNAPSHOT)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = None
    for line in proc.stdout:
        if line.startswith("TAXII_EDGE_READY "):
            url = json.loads(line.split(" ", 1)[1])["url"]
            break
    if url is None:
        proc.kill()
        pytest.fail("tests/serve.mjs did not start the worker")
    yield url
    proc.stdin.close()
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def status(worker):
    """The console's status document: the collections and their counts, as the server states them."""
    import urllib.request

    with urllib.request.urlopen(f"{worker}/api/status") as r:
        return json.load(r)
