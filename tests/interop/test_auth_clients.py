"""taxii2-client 2.3.0 with authentication through the real worker: the XSOAR single-user setup (one username and
password for everything) and an anonymous public feed, over TAXII 2.1 and 2.0."""

import json
import subprocess

import pytest
from taxii2client import v20, v21
import requests
from taxii2client.v21 import as_pages

from conftest import DEMO_SNAPSHOT, ROOT

PASSWORD = "xsoar single user password 1"


def users_secret():
    r = subprocess.run(
        [str(ROOT / "target" / "debug" / "taxii-edge"), "user", "add", "xsoar", "--collections", "*", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, check=True, cwd=ROOT,
    )
    line = next(l for l in (r.stdout + r.stderr).splitlines() if l.strip().startswith("TAXII_USERS="))
    return line.strip()[len("TAXII_USERS="):].strip("'")


@pytest.fixture(scope="module")
def guarded():
    """The demo feed with one public collection and the XSOAR single user for everything."""
    vars_ = {"PUBLIC_COLLECTIONS": "Public phishing feed", "TAXII_USERS": users_secret()}
    proc = subprocess.Popen(
        ["node", str(ROOT / "tests" / "serve.mjs"), str(DEMO_SNAPSHOT), "--vars", json.dumps(vars_)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    url = None
    for line in proc.stdout:
        if line.startswith("TAXII_EDGE_READY "):
            url = json.loads(line.split(" ", 1)[1])["url"]
            break
    assert url, "tests/serve.mjs did not start the worker"
    yield url
    proc.stdin.close()
    proc.wait(timeout=30)


def test_xsoar_single_user_reads_everything(guarded):
    for Server, discovery in ((v21.Server, "/taxii2/"), (v20.Server, "/taxii/")):
        root = Server(f"{guarded}{discovery}", user="xsoar", password=PASSWORD).default
        titles = [c.title for c in root.collections]
        assert len(titles) == len(json.loads((ROOT / "demo" / "collections.json").read_text())), titles
    root = v21.Server(f"{guarded}/taxii2/", user="xsoar", password=PASSWORD).default
    everything = next(c for c in root.collections if c.title == "All indicators")
    count = sum(len(e.get("objects", [])) for e in as_pages(everything.get_objects, per_request=100))
    assert count > 300


def test_anonymous_reads_only_the_public_feed(guarded):
    root = v21.Server(f"{guarded}/taxii2/").default
    assert [c.title for c in root.collections] == ["Public phishing feed"]
    public = root.collections[0]
    objects = [o for e in as_pages(public.get_objects, per_request=50) for o in e.get("objects", [])]
    assert objects, "the public feed serves objects anonymously"
    root20 = v20.Server(f"{guarded}/taxii/").default
    assert [c.title for c in root20.collections] == ["Public phishing feed"]


def test_wrong_password_is_refused(guarded):
    with pytest.raises(requests.HTTPError) as e:
        v21.Server(f"{guarded}/taxii2/", user="xsoar", password="wrong").default.collections
    assert e.value.response.status_code == 401
    assert e.value.response.headers["WWW-Authenticate"].startswith("Basic ")
