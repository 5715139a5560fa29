#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/: small real examples of each input.

Run from the repository root: `python3 fuzz/seeds.py [SNAPSHOT_DIR]`. SNAPSHOT_DIR is a directory made by
`taxii-edge build` (its segments, manifest, indexes and id shards seed the snapshot targets); without it those
targets keep the seeds already committed. Files are named by content hash, so re-running adds nothing twice.
"""
import base64, hashlib, hmac, json, os, pathlib, re, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
VECTORS = pathlib.Path("/work/shared/vectors/xsoar")
SEP = b"\xff"  # taxii_edge_fuzz::parts separator


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def pw_hash(password, salt, iterations):
    key = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    return f"pbkdf2-sha256:{iterations}:{b64u(salt)}:{b64u(key)}"


def token(cursor, secret=b"taxii-edge development secret"):
    payload = json.dumps(cursor, separators=(",", ":")).encode()
    return f"{b64u(payload)}.{b64u(hmac.new(secret, payload, hashlib.sha256).digest()[:16])}"


ACCEPTS = [
    "application/taxii+json;version=2.1",
    "application/taxii+json; version=2.1",
    'Application/TAXII+JSON; Version="2.1"',
    "application/taxii+json",
    "application/vnd.oasis.taxii+json; version=2.0",
    "application/vnd.oasis.taxii+json;version=2.0",
    "application/vnd.oasis.stix+json; version=2.0",
    "application/stix+json;version=2.1",
    "*/*",
    "application/json",
    "application/*;q=0.5",
    "text/html, */*;q=0.1",
    "application/taxii+json;version=2.1;q=0.5, application/vnd.oasis.taxii+json; version=2.0",
    "application/taxii+json;version=2.1;q=0, */*",
    "application/taxii+json;version=2.2",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "",
]
TIMES = [
    "2025-01-31T12:34:56.123456Z", "2025-01-31T12:34:56Z", "2025-01-31T12:34:56.1Z", "2025-01-31T12:34:56.123456789Z",
    "2025-01-31t12:34:56z", "2025-01-31 12:34:56+02:00", "2025-01-31T12:34:56-0530", "2025-01-31T12:34:56+02",
    "2025-01-31", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z",
    "2024-02-29T00:00:00Z", "2021-12-08T09:32:24.104143+02:00", "2022-06-03T13:54:27.234765Z",
]
QUERIES = [
    "added_after=2025-01-01T00:00:00Z", "limit=10", "added_after=2025-01-01T00%3A00%3A00.123Z&limit=2",
    "match[type]=indicator,ipv4-addr", "match%5Btype%5D=indicator", "match[id]=indicator--3f1b2d4e-0000-4000-8000-000000000000",
    "match[version]=first,last,all", "match[version]=2025-01-01T00:00:00.000Z", "match[spec_version]=2.0,2.1",
    "next=abc&limit=5", "limit=1&limit=2", "added_after=2025-01-01+00:00:00Z", "match[foo]=bar&_=123",
]
RANGES = ["items=0-99", "items 0-4", "items=5-5", "items = 1-2", "items=10-0", "bytes=0-10", "items=0-18446744073709551615"]


def main():
    for a in ACCEPTS:
        put("accept", a)
    for t in TIMES:
        put("timestamp", t)
    for q in QUERIES:
        put("filters", q)
    for r in RANGES:
        put("range", r)
    tok = token({"s": "f039583041cc31a34b397e68a569916a", "c": "4c649e16-2bb7-50f5-8826-2a2d0a0b9631",
                 "f": "match[type]=indicator", "a": 1735689600000001})
    for t in [tok, tok[:-1], tok.split(".")[0], "", "a.b", token({"s": "", "c": "", "f": "", "a": -1})]:
        put("token", t)
    basic = lambda s: "Basic " + base64.b64encode(s.encode()).decode()
    for h in [basic("alice:s3cret"), basic("alice:wrong"), basic("bob:s3cret"), basic(":x"), basic("nocolon"),
              "Bearer alice.s3cret", "bearer alice.s3cret", "Basic", "Digest x", "Basic !!!", "  Basic\t" +
              base64.b64encode(b"alice:s3cret").decode().rstrip("=")]:
        put("auth_header", h)
    h = pw_hash(b"pw", b"fuzz salt", 5000)  # the fewest iterations a hash may have (MIN_ITERATIONS)
    users = [json.dumps({"alice": {"hash": h, "collections": "*"}}),
             json.dumps({"alice": {"hash": h, "collections": ["IPs", "All"], "comment": "x"}, "bob": {"hash": h, "collections": "a,b"}}),
             json.dumps({"a:b": {"hash": h, "collections": "*"}}), "{}", "[]", h]
    for u in users:
        for pub, disc, realm in [("*", "true", "taxii"), ('["IPs"]', "", ""), ("IPs, All", "no", 'r"e\\alm')]:
            put("users", SEP.join(x.encode() for x in [u, pub, disc, realm]))
    cols = json.loads((ROOT / "tests/fixtures/query/collections.json").read_text()).values()
    qtexts = {q["query"] if isinstance(q, dict) else q for q in cols}
    src = (ROOT / "crates/feed/src/query/tests.rs").read_text()
    for m in re.finditer(r'Query::parse\("((?:[^"\\]|\\.)*)"\)', src):
        qtexts.add(bytes(m.group(1), "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8", "replace"))
    for m in re.finditer(r'parse\(r#"(.*?)"#\)', src):
        qtexts.add(m.group(1))
    for q in sorted(qtexts):
        put("query", q)
    put("config", (ROOT / "tests/fixtures/query/collections.json").read_text())
    for c in ['{"Collection1": "type:IP", "Collection2": "sourceBrands:\\"Some Feed\\""}',
              '{"Collection1": "type:IP", "Collection2": {"query": "sourceBrands:\\"Some Feed\\"", "description": "Test desc"}}',
              '{"All": ""}', '{"A": {"description": "x"}}', '{"": "type:IP"}']:
        put("config", c)
    for f in sorted((ROOT / "tests/fixtures/import").iterdir()):
        put("import", f.read_bytes()[:20000])
    put("import", (ROOT / "tests/fixtures/query/indicators.jsonl").read_bytes())
    for f in ["ip_iocs.json", "xsoar_sco_indicators.json", "apimodule_xsoar_sco_indicators.json"]:
        put("import", (VECTORS / f).read_bytes()[:20000])
    for f in ["collections20.json", "manifest21.json"]:
        put("snapshot_json", (VECTORS / f).read_bytes())
    for s in ["GET\xff\xffadded_after=2025-01-01T00:00:00Z&limit=1\xffapplication/taxii+json;version=2.1",
              "GET\xffindicator--x/versions/\xff\xffapplication/vnd.oasis.taxii+json; version=2.0\xff\xffitems 0-1",
              "HEAD\xff\xff\xff*/*", "PUT\xffblobs/segment/00000000000000000000000000000000\xff\xff\xff\xff\xff[]\n",
              "POST\xffmissing\xff\xff\xff\xff\xff[\"segment/00\"]", "POST\xffpublish\xff\xff\xff\xff\xff{}",
              "GET\xffcollections/\xff\xffapplication/taxii+json"]:
        for sel in [0, 1, 2, 3, 4, 5, 6, 7, 0x10 | 3, 0x20 | 3, 0x18 | 5, 0x28 | 2]:
            put("service_request", bytes([sel]) + s.encode("latin-1"))
    snap = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if snap:
        kinds = {"manifest": 1, "index": 2, "segment": 3, "ids": 4}
        pointer = (snap / "snapshot.json").read_bytes()
        put("snapshot_json", pointer)
        put("service_blobs", bytes([0, 0]) + pointer)
        for kind, mode in kinds.items():
            files = sorted((snap / "blobs" / kind).iterdir())[:4]
            for i, f in enumerate(files):
                b = f.read_bytes()
                if len(b) > 16000:
                    continue
                if kind == "segment":
                    put("segment", b)
                else:
                    put("snapshot_json", b)
                put("service_blobs", bytes([mode, i * 9]) + b)


main()
