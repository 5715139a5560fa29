"""taxii2-client 2.3.0 against the real worker: discovery -> API roots -> collections -> every page of every
collection's objects and manifest, over TAXII 2.1 and 2.0; stix2-validator 3.2.0 on every object returned."""

import pytest
from stix2validator import ValidationOptions, validate_instance
from taxii2client import v20, v21
from taxii2client.v20 import as_pages as as_pages20
from taxii2client.v21 import as_pages as as_pages21

# The SCO types (served at the top level of a 2.0 bundle only by the xsoar profile).
SCO_TYPES = {
    "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file", "windows-registry-key",
    "user-account", "autonomous-system", "software", "x509-certificate", "mutex",
}


def validate(obj, version, profile="stix"):
    """stix2-validator on one object; a collection of the xsoar profile serves 2.0 infrastructure and location
    under their 2.1 types, and over 2.0 an observable whose value no pattern carries to XSOAR as a top-level SCO
    (both named in the README; test_stix_render.py checks that these are its only departures)."""
    if profile == "xsoar" and version == "2.0" and obj["type"] in {"infrastructure", "location"} | SCO_TYPES:
        return None
    result = validate_instance(obj, ValidationOptions(version=version, strict=False))
    assert result.is_valid, f"{obj.get('id')}: {[str(e) for e in result.errors]}"
    return result


def test_taxii21_every_object_of_every_collection(worker, status):
    server = v21.Server(f"{worker}/taxii2/")
    assert server.title == status["title"]
    assert [r.url for r in server.api_roots] == [f"{worker}/threatintel/"]
    root = server.default
    assert root.versions == ["application/taxii+json;version=2.1"]
    expected = {c["id"]: c for c in status["collections"]}
    assert {c.id for c in root.collections} == set(expected), "the client lists the demo collections"
    for collection in root.collections:
        ids = []
        for envelope in as_pages21(collection.get_objects, per_request=100):
            for obj in envelope.get("objects", []):
                validate(obj, "2.1")
                ids.append(obj["id"])
        assert len(ids) == len(set(ids)), f"{collection.title}: an object came twice"
        assert len(ids) == expected[collection.id]["count"], f"{collection.title}: objects served != count"
        manifest_ids = []
        for envelope in as_pages21(collection.get_manifest, per_request=250):
            manifest_ids.extend(r["id"] for r in envelope.get("objects", []))
        assert manifest_ids == ids, f"{collection.title}: the manifest lists the same objects in the same order"


def test_taxii20_every_object_of_every_collection(worker, status):
    server = v20.Server(f"{worker}/taxii/")
    root = server.default
    assert root.versions == ["taxii-2.0"]
    expected = {c["id"]: c for c in status["collections"]}
    for collection in root.collections:
        assert collection.media_types == ["application/vnd.oasis.stix+json; version=2.0"]
        ids = []
        for bundle in as_pages20(collection.get_objects, per_request=70):
            assert bundle["type"] == "bundle" and bundle["spec_version"] == "2.0"
            for obj in bundle.get("objects", []):
                validate(obj, "2.0", expected[collection.id].get("profile", "stix"))
                ids.append(obj["id"])
        assert len(ids) == len(set(ids)), f"{collection.title}: an object came twice"
        assert len(ids) == expected[collection.id]["count"], f"{collection.title}: objects served != count"


@pytest.mark.parametrize("version", ["2.1", "2.0"])
def test_two_reads_give_identical_bytes(worker, status, version):
    import urllib.request

    accept = "application/taxii+json;version=2.1" if version == "2.1" else "application/vnd.oasis.stix+json; version=2.0"
    cid = status["collections"][0]["id"]
    bodies = []
    for _ in range(2):
        req = urllib.request.Request(f"{worker}/threatintel/collections/{cid}/objects/", headers={"Accept": accept})
        with urllib.request.urlopen(req) as r:
            bodies.append(r.read())
    assert bodies[0] == bodies[1]
