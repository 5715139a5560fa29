"""STIX rendering interop: the sample indicators of every type (crates/testkit/src/samples.rs), rendered by
`cargo run -p edge-feed --example render_corpus` under several settings, checked with the reference python tools:

- stix2-validator 3.2.0: every object, for its spec version, with zero errors; and in strict mode with only
  the checks disabled whose warnings come from the input data or from the XSOAR id rule (listed below);
- stix2-patterns 2.1.2: every indicator pattern parses, for its spec version;
- stix2 3.0.2: every 2.1 SCO id is the id the library computes from the same properties;
- the same collection as the service serves it (builder + Service over an in-memory store): the 2.1
  envelope pages and the 2.0 bundle hold exactly the rendered objects, and the bundle validates as a whole;
- stix2 3.0.2 parses every object;
- every reference resolves inside the collection (no dangling created_by_ref, marking, extension or
  relationship end), and 2.0 has no top-level SCOs;
- two runs give identical bytes.

Set STIX_CORPUS to a corpus file to skip the cargo run. Needs: pip install stix2==3.0.2
stix2-validator==3.2.0 stix2-patterns==2.1.2 pytest.
"""

import json
import os
import pathlib
import subprocess

import pytest
import stix2
from stix2patterns.validator import run_validator
from stix2validator import ValidationOptions, validate_instance

ROOT = pathlib.Path(__file__).resolve().parents[2]

SCO_TYPES = {
    "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file", "windows-registry-key",
    "user-account", "autonomous-system", "software", "x509-certificate", "mutex",
}

# Strict mode, minus the warnings that depend on the input or on a deliberate rule:
# 103 derived UUIDv5 ids (XSOAR's id rule for SDOs, STIX's own for SCOs); 202 relationship types the TIP
# chose; open-vocabulary values taken from the input (213 identity class, 214-222 2.0 labels from tags and
# 2.1 malware / threat actor / tool types, 223 region, 244 account type, 270 external reference sources,
# 277 countries); 302 external references without hashes; 303 SDOs without a description.
STRICT_DISABLED = "103,202,213,214,215,216,217,218,219,220,221,222,223,244,270,277,302,303"


def render_corpus():
    env = dict(os.environ)
    out = subprocess.run(
        ["cargo", "run", "-q", "-p", "edge-feed", "--example", "render_corpus"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )
    return out.stdout


@pytest.fixture(scope="module")
def corpus_bytes():
    path = os.environ.get("STIX_CORPUS")
    if path:
        return pathlib.Path(path).read_bytes()
    return render_corpus()


@pytest.fixture(scope="module")
def corpus(corpus_bytes):
    return json.loads(corpus_bytes)["corpus"]


# The xsoar profile (a collection's "profile": "xsoar") may depart from strict STIX in exactly these three ways,
# all named in the README: 2.1 SCOs carry `created` and `modified` (validator warning 401; stix2.parse takes
# them only as custom properties); over 2.0 infrastructure and location keep their 2.1 type names (which
# STIX 2.0 does not define); and an observable whose value no pattern carries to XSOAR's reader (one with a
# quote, a backslash or a space) is an SCO in both versions: over 2.0 at the top level (STIX 2.0 has none),
# over 2.1 even where the 2.1 schema refuses that value. Its patterns may name the custom property
# x_xsoar_value (valid, but not in strict mode's list of spec properties).
XSOAR_20_TYPES = {"infrastructure", "location"}


def xsoar_value(obj):
    """The value of an SCO as XSOAR's reader takes it."""
    return str(obj.get("key") or obj.get("value") or obj.get("name") or obj.get("user_id") or "")


def no_pattern_carries(obj):
    """Whether a pattern cannot carry this SCO's value to XSOAR's reader (which keeps escapes, removes spaces
    and ends a value at its first quote): the only reason the xsoar profile departs from the strict form."""
    return any(c in xsoar_value(obj) for c in "'\\ ")


def xsoar_20_departure(obj):
    return obj["type"] in XSOAR_20_TYPES or obj["type"] in SCO_TYPES


def is_xsoar(setting):
    return setting.startswith("xsoar")


def strict_objects(corpus):
    """The objects that must be strictly valid: every one outside the xsoar profile."""
    for setting, version, obj in objects(corpus):
        if not is_xsoar(setting):
            yield setting, version, obj


def objects(corpus):
    """Every object: as rendered, and as served."""
    for setting in corpus:
        for version in ("2.1", "2.0"):
            for obj in setting["objects" + version.replace(".", "")]:
                yield setting["setting"], version, obj
        for obj in setting["served21"]:
            yield setting["setting"] + " (served)", "2.1", obj
        for obj in setting["bundle20"]["objects"]:
            yield setting["setting"] + " (served)", "2.0", obj


def canonical(objs):
    return sorted(json.dumps(o, sort_keys=True) for o in objs)


def served_versions(setting):
    """The rendered objects a collection serves: one per 2.1 id, the newest version (ties: the greater 2.1 JSON),
    as the build keeps it; two XSOAR records may make one object (the xsoar profile's File SCO has no name).
    Returns the 2.1 and the 2.0 objects, canonical."""
    best = {}
    for i, o in enumerate(setting["objects21"]):
        key = (o.get("modified", ""), json.dumps(o, separators=(",", ":"), ensure_ascii=False))
        if o["id"] not in best or key > best[o["id"]][0]:
            best[o["id"]] = (key, i)
    keep = [i for _, i in best.values()]
    return canonical(setting["objects21"][i] for i in keep), canonical(setting["objects20"][i] for i in keep)


def test_the_service_serves_exactly_the_rendered_objects(corpus):
    for setting in corpus:
        objs21, objs20 = served_versions(setting)
        assert canonical(setting["served21"]) == objs21, setting["setting"]
        assert canonical(setting["bundle20"]["objects"]) == objs20, setting["setting"]


def test_the_20_bundle_validates(corpus):
    for setting in corpus:
        bundle = setting["bundle20"]
        assert bundle["spec_version"] == "2.0"
        if is_xsoar(setting["setting"]):
            bundle = dict(bundle, objects=[o for o in bundle["objects"] if not xsoar_20_departure(o)])
        result = validate_instance(bundle, ValidationOptions(version="2.0"))
        assert result.errors == [], [str(e) for e in result.errors]


def test_stix2_parses_every_object(corpus):
    for setting, version, obj in strict_objects(corpus):
        # No custom property on an SCO (its XSOAR fields travel in a property-extension).
        strict = obj["type"] in SCO_TYPES and "extensions" not in obj
        stix2.parse(obj, allow_custom=not strict, version=version)
    for setting, version, obj in objects(corpus):
        if is_xsoar(setting) and not (version == "2.0" and xsoar_20_departure(obj)):
            stix2.parse(obj, allow_custom=True, version=version)


def test_the_xsoar_profile_departs_from_strict_stix_only_where_named(corpus):
    """Non-strict validation finds no error outside the three named forms, and strict validation finds only them
    (401 on SCOs' created/modified) and the x_xsoar_value pattern property."""
    seen = {"sco-dates": 0, "20-types": 0, "20-scos": 0, "21-values": 0, "x_xsoar_value": 0}
    for setting, version, obj in objects(corpus):
        if not is_xsoar(setting):
            continue
        if version == "2.0" and obj["type"] in XSOAR_20_TYPES:
            seen["20-types"] += 1
            continue
        if version == "2.0" and obj["type"] in SCO_TYPES:
            assert no_pattern_carries(obj), obj
            assert "spec_version" not in obj and obj["created"] <= obj["modified"], obj
            seen["20-scos"] += 1
            continue
        result = validate_instance(obj, ValidationOptions(version=version))
        if result.errors and obj["type"] in SCO_TYPES and no_pattern_carries(obj):
            # The value itself is what the schema refuses (the default profile makes an indicator of it).
            field = "key" if "key" in obj else "value"
            assert all(str(e).startswith(f"{obj['id']}: {field}:") for e in result.errors), result.errors
            seen["21-values"] += 1
            continue
        assert result.errors == [], (setting, version, obj["id"], [str(e) for e in result.errors])
        strict = validate_instance(obj, ValidationOptions(version=version, strict=True, disabled=STRICT_DISABLED))
        for problem in strict.errors + strict.warnings:
            text = str(problem)
            if obj["type"] in SCO_TYPES and ("'created'" in text or "'modified'" in text):
                seen["sco-dates"] += 1
            elif "x_xsoar_value" in text:
                seen["x_xsoar_value"] += 1
            else:
                raise AssertionError((setting, version, obj["id"], text))
        if version == "2.1" and obj["type"] in SCO_TYPES:
            assert obj["created"] <= obj["modified"], obj
        if obj["type"] == "indicator":
            assert run_validator(obj["pattern"], stix_version=version) == [], obj["pattern"]
    assert seen["sco-dates"] > 0 and seen["20-types"] > 0 and seen["20-scos"] > 0 and seen["21-values"] > 0, seen


def test_every_sample_renders(corpus):
    for setting in corpus:
        assert setting["errors"] == [], setting["setting"]


def test_every_type_is_covered(corpus):
    types21 = {o["type"] for o in corpus[0]["objects21"]}
    assert SCO_TYPES <= types21, SCO_TYPES - types21
    for t in ["attack-pattern", "campaign", "course-of-action", "infrastructure", "intrusion-set", "malware",
              "report", "threat-actor", "tool", "vulnerability", "identity", "location", "relationship",
              "marking-definition", "indicator"]:
        assert t in types21, t
    all_indicators = {o["type"] for o in corpus[1]["objects21"]}
    assert not (all_indicators & SCO_TYPES), all_indicators & SCO_TYPES
    assert "extension-definition" in all_indicators


def test_every_object_validates(corpus):
    failures = []
    for setting, version, obj in strict_objects(corpus):
        result = validate_instance(obj, ValidationOptions(version=version))
        if result.errors:
            failures.append((setting, version, obj["id"], [str(e) for e in result.errors]))
    assert failures == []


def test_every_object_validates_strictly(corpus):
    failures = []
    for setting, version, obj in strict_objects(corpus):
        options = ValidationOptions(version=version, strict=True, disabled=STRICT_DISABLED)
        result = validate_instance(obj, options)
        if result.errors or result.warnings:
            failures.append((setting, version, obj["id"], [str(e) for e in result.errors + result.warnings]))
    assert failures == []


def test_every_pattern_parses(corpus):
    count = 0
    for setting, version, obj in objects(corpus):
        if obj["type"] == "indicator":
            count += 1
            errors = run_validator(obj["pattern"], stix_version=version)
            assert errors == [], (setting, version, obj["pattern"], errors)
    assert count > 50


def test_sco_ids_match_stix2(corpus):
    count = 0
    for setting, version, obj in objects(corpus):
        if version != "2.1" or obj["type"] not in SCO_TYPES:
            continue
        count += 1
        props = {k: v for k, v in obj.items()
                 if k not in ("id", "extensions", "object_marking_refs", "created", "modified")}
        ours = obj["id"]
        theirs = stix2.parse(props, allow_custom=True, version="2.1").id
        assert ours == theirs, (setting, props)
    assert count >= 15


def test_references_resolve_inside_the_collection(corpus):
    def refs(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "object_refs":
                    continue  # a report's references are the TIP's, and may name objects elsewhere
                if k == "extensions":
                    yield from (e for e in v if e.startswith("extension-definition--"))
                yield from refs(v, k)
        elif isinstance(value, list):
            for v in value:
                yield from refs(v, key)
        elif isinstance(value, str) and (key.endswith("_ref") or key.endswith("_refs")):
            yield value

    for setting in corpus:
        for version in ("21", "20"):
            objs = setting["objects" + version]
            ids = [o["id"] for o in objs]
            if not is_xsoar(setting["setting"]):
                assert len(ids) == len(set(ids)), (setting["setting"], version)
            known = set(ids)
            for o in objs:
                for r in refs(o):
                    assert r in known, (setting["setting"], version, o["id"], r)
            if version == "20":
                if not is_xsoar(setting["setting"]):
                    assert not ({o["type"] for o in objs} & SCO_TYPES)
                assert all("spec_version" not in o for o in objs)


def test_sco_value_rules_agree_with_the_validator(corpus_bytes):
    """The renderer's own rules for SCO values (a value they refuse makes an indicator instead) against
    stix2-validator on the same value."""
    checks = json.loads(corpus_bytes)["value_checks"]
    assert len(checks) > 60
    for sco_type, prop, value, ours in checks:
        obj = {"type": sco_type, "spec_version": "2.1", "id": sco_type + "--2538f082-5017-5eef-9064-72fdac3e8bbf"}
        if sco_type == "software":
            obj["name"] = "x"
        obj[prop] = value
        theirs = validate_instance(obj, ValidationOptions(version="2.1")).is_valid
        if sco_type == "url" and "[" in value:
            assert not ours  # IP-literal hosts are refused on purpose: they become indicators
        else:
            assert ours == theirs, (sco_type, value, ours, theirs)


def test_two_runs_give_identical_bytes(corpus_bytes):
    if os.environ.get("STIX_CORPUS"):
        pytest.skip("corpus given as a file")
    assert render_corpus() == corpus_bytes


def fetch_all(worker, collection_id, version):
    """Every object of a collection from the worker: 2.1 by `next`, 2.0 by Range pages."""
    import urllib.request

    base = f"{worker}/threatintel/collections/{collection_id}/objects/"
    objs = []
    if version == "2.1":
        url = base + "?limit=100"
        while True:
            req = urllib.request.Request(url, headers={"Accept": "application/taxii+json;version=2.1"})
            with urllib.request.urlopen(req) as r:
                env = json.load(r)
            objs.extend(env.get("objects", []))
            if not env.get("more"):
                return objs
            url = base + "?limit=100&next=" + env["next"]
    start = 0
    while True:
        req = urllib.request.Request(base, headers={
            "Accept": "application/vnd.oasis.stix+json; version=2.0", "Range": f"items={start}-{start + 99}"})
        try:
            with urllib.request.urlopen(req) as r:
                bundle = json.load(r)
        except urllib.error.HTTPError as e:
            assert e.code == 416
            return objs
        page = bundle.get("objects", [])
        objs.extend(page)
        if len(page) < 100:
            return objs
        start += 100


@pytest.mark.parametrize("version", ["2.1", "2.0"])
def test_the_worker_serves_the_demo_feed_strictly_valid(worker, status, version):
    """Every type of the demo feed (demo/indicators.json), through the built worker: strict validation (minus
    the input-dependent checks above), every pattern parses, SCO ids as stix2 computes them, and every
    reference inside the collection; in every collection of the default profile (the xsoar one is checked
    by test_the_xsoar_profile_departs_from_strict_stix_only_where_named and tests/interop/test_xsoar_feed.py)."""
    seen_types = set()
    strict = [c for c in status["collections"] if c.get("profile", "stix") == "stix"]
    assert len(strict) < len(status["collections"]), "the demo ships an xsoar-profile collection"
    for collection in strict:
        objs = fetch_all(worker, collection["id"], version)
        assert len(objs) == collection["count"], collection["title"]
        known = {o["id"] for o in objs}
        for obj in objs:
            seen_types.add(obj["type"])
            result = validate_instance(obj, ValidationOptions(version=version, strict=True, disabled=STRICT_DISABLED))
            assert result.errors == [], (collection["title"], obj["id"], [str(e) for e in result.errors])
            if obj["type"] == "indicator":
                assert run_validator(obj["pattern"], stix_version=version) == [], obj["pattern"]
            if version == "2.1" and obj["type"] in SCO_TYPES:
                props = {k: v for k, v in obj.items() if k not in ("id", "extensions", "object_marking_refs")}
                assert stix2.parse(props, allow_custom=True, version="2.1").id == obj["id"], props
            for key, value in obj.items():
                refs = value if isinstance(value, list) else [value]
                if (key.endswith("_ref") or key.endswith("_refs")) and key != "object_refs":
                    for ref in refs:
                        assert ref in known, (collection["title"], obj["id"], key, ref)
    if version == "2.0":
        assert not (seen_types & SCO_TYPES)
    else:
        for t in ["attack-pattern", "campaign", "course-of-action", "infrastructure", "intrusion-set", "malware",
                  "report", "threat-actor", "tool", "vulnerability", "identity", "location", "indicator"]:
            assert t in seen_types, t
