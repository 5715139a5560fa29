//! The STIX 2.1 importer: a bundle, a list and JSON lines of objects; the indicator model each object gets for
//! queries; every kind of bad object with its message; objects served as they are over 2.1 and derived for 2.0
//! (through the service, as the worker serves them); stix2-validator on what is served, when the interop
//! environment (.venv) is there.

use edge_testkit as common;

use common::{call, json, request, V20, V21};
use edge_core::server::Service;
use edge_core::time::Timestamp;
use edge_feed::build::{build, BuildInput};
use edge_feed::config::parse_collections;
use edge_feed::import::{import_file, import_text};
use edge_feed::stix::{render_indicator, RenderOptions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    edge_testkit::repo("tests/fixtures/import").join(name)
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

#[test]
fn a_bundle_becomes_indicator_models() {
    let got = import_file(&fixture("stix-bundle.json")).unwrap();
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    // 13 objects: 3 relationships join their sources, the standard TLP marking is served by the build itself.
    assert_eq!(got.indicators.len(), 9);
    let by_id: HashMap<&str, &edge_feed::indicator::Indicator> =
        got.indicators.iter().map(|i| (i.fields["stixid"].as_str().unwrap(), i)).collect();
    let ind = by_id["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"];
    assert_eq!((ind.xsoar_type.as_str(), ind.value.as_str(), ind.score), ("IP", "198.51.100.7", 3));
    assert_eq!(ind.tags, ["apt28", "c2"]);
    assert_eq!((ind.created, ind.modified), (ts("2025-03-01T10:00:00Z"), ts("2025-03-02T10:00:00.123456Z")));
    assert_eq!(ind.fields["trafficlightprotocol"], "GREEN");
    assert_eq!(ind.fields["confidence"], 90);
    assert!(ind.origin.ends_with("stix-bundle.json:[1]"));
    assert_eq!(ind.fields["__stix_relationships"].as_array().unwrap().len(), 1);
    let ta = by_id["threat-actor--56f3f0db-b5d5-431c-ae56-c18f02caf500"];
    assert_eq!((ta.xsoar_type.as_str(), ta.value.as_str(), ta.score), ("Threat Actor", "APT28", 0));
    let file = by_id["file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d"];
    assert_eq!(file.xsoar_type, "File");
    assert_eq!(file.value, "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f");
    assert_eq!(file.fields["md5"], "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(file.created, Timestamp(0), "an SCO has no timestamps: one version");
    let custom = by_id["x-acme-widget--1b6c2c3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"];
    assert_eq!((custom.xsoar_type.as_str(), custom.value.as_str()), ("x-acme-widget", "widget"));
    assert_eq!(by_id["location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64"].xsoar_type, "Location");
    assert_eq!(by_id["domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5"].xsoar_type, "Domain");
}

#[test]
fn lists_and_json_lines_too() {
    let objs = [
        json!({"type": "domain-name", "id": "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5", "value": "a.example"}),
        json!({"type": "url", "id": "url--4c10e93f-798e-5a26-a0c1-08156efab7f5", "value": "https://a.example/x"}),
    ];
    let list = import_text("objs.json", &Value::Array(objs.to_vec()).to_string()).unwrap();
    assert_eq!(list.indicators.len(), 2);
    assert!(list.indicators[1].origin.ends_with("objs.json:[1]"));
    let lines = format!("{}\n\n{}\n{{broken\n", objs[0], objs[1]);
    let got = import_text("objs.jsonl", &lines).unwrap();
    assert_eq!(got.indicators.len(), 2);
    assert_eq!(got.indicators[1].origin, "objs.jsonl:3");
    assert_eq!(got.errors.len(), 1);
    assert!(got.errors[0].to_string().starts_with("objs.jsonl:4: not JSON: "), "{}", got.errors[0]);
    // The .stix extension names the format whatever the content looks like.
    assert_eq!(import_text("x.stix", &objs[0].to_string()).unwrap().indicators.len(), 1);
    assert_eq!(
        import_text("empty.json", r#"{"type": "bundle", "id": "bundle--6f2c4a4c-8a1e-4a63-9d38-8b5e4c2f1a10"}"#)
            .unwrap_err()
            .to_string(),
        "empty.json: no STIX objects found (the bundle or list is empty)"
    );
}

#[test]
fn every_bad_object_is_reported_with_position_and_reason() {
    let got = import_file(&fixture("stix-bad.json")).unwrap();
    let f = fixture("stix-bad.json").display().to_string();
    let messages: Vec<String> = got.errors.iter().map(|e| e.to_string().replace(&f, "F")).collect();
    let served = "ipv4-addr, ipv6-addr, domain-name, url, email-addr, file, windows-registry-key, user-account, \
                  autonomous-system, software, x509-certificate, mutex";
    assert_eq!(
        messages,
        [
            "F:[0]: a STIX object must be a JSON object".to_string(),
            "F:[1]: missing \"type\"".into(),
            "F:[2]: missing \"id\"".into(),
            "F:[3]: \"id\" must be indicator--<UUID>, not \"indicator--not-a-uuid\"".into(),
            "F:[4]: \"id\" must be indicator--<UUID>, not \"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"".into(),
            "F:[5]: unknown STIX type \"gadget\" (custom object types start with x-)".into(),
            format!("F:[6]: mac-addr objects are not served: the SCO types served are {served} (STIX 2.0 clients get them as patterns)"),
            "F:[7]: \"created\": 'yesterday' is not a timestamp: expected 4 digits of the year at character 1; use RFC 3339, e.g. 2025-01-31T12:00:00.000000Z".into(),
            "F:[8]: a malware needs \"created\" and \"modified\" timestamps".into(),
            "F:[9]: an indicator needs a \"pattern\"".into(),
            "F:[11]: \"source_ref\" must be an id (<type>--<UUID>), not \"nothing\"".into(),
            "F:[12]: a file needs an MD5, SHA-1, SHA-256 or SHA-512 hash in \"hashes\"".into(),
            "F:[13]: \"spec_version\" must be \"2.1\", not \"2.2\"".into(),
            "F:[15]: ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd appears again (first at F:[14]): give each object once, in its latest version".into(),
            "F:[16]: \"created_by_ref\" must be an id (<type>--<UUID>), not \"ACME\"".into(),
            "F:[10]: the relationship's source_ref malware--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f is not an object of this input: put relationships in the same bundle as their source".into(),
        ]
    );
    assert_eq!(got.indicators.len(), 1, "only the first copy of the duplicated address is good");
}

#[test]
fn objects_pass_through_over_21_and_are_derived_for_20() {
    let got = import_file(&fixture("stix-bundle.json")).unwrap();
    let opts = RenderOptions { producer: None, ..RenderOptions::default() };
    let source: Value = serde_json::from_str(&std::fs::read_to_string(fixture("stix-bundle.json")).unwrap()).unwrap();
    let original = |id: &str| source["objects"].as_array().unwrap().iter().find(|o| o["id"] == id).unwrap().clone();
    for ind in &got.indicators {
        let r = render_indicator(ind, &opts).unwrap();
        let o21: Value = serde_json::from_str(&r.json21).unwrap();
        assert_eq!(o21, original(&r.id21), "2.1 is the object as it came");
        assert_eq!(render_indicator(ind, &opts).unwrap(), r, "deterministic");
        let keys: Vec<&String> = o21.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "canonical: keys sorted");
        let o20: Value = serde_json::from_str(&r.json20).unwrap();
        assert!(o20.get("spec_version").is_none());
        assert_eq!(o20["id"], r.id20);
        match r.type21.as_str() {
            "ipv4-addr" | "domain-name" | "file" => {
                assert_eq!(r.type20, "indicator", "2.0 carries observables as indicators");
                assert!(o20["pattern"].as_str().unwrap().starts_with('['));
            }
            "location" => {
                assert_eq!(r.type20, "x-taxii-edge-location");
                assert!(r.id20.starts_with("x-taxii-edge-location--"));
            }
            "indicator" => {
                assert_eq!(o20["created"], "2025-03-01T10:00:00.000Z");
                assert_eq!(o20["modified"], "2025-03-02T10:00:00.123Z", "milliseconds in 2.0");
                assert_eq!(o20["labels"], json!(["apt28", "c2"]));
                assert!(o20.get("pattern_type").is_none() && o20.get("confidence").is_none());
                assert_eq!(r.version, ts("2025-03-02T10:00:00.123456Z"));
            }
            "malware" => {
                assert!(o20.get("is_family").is_none());
                assert_eq!(o20["labels"], json!(["apt28"]));
            }
            _ => {}
        }
    }
}

/// The bundle built into a snapshot and served by the service (the worker's code, natively).
fn served() -> (Service, edge_core::store::MemoryStore, Vec<(String, String)>) {
    let cols = parse_collections(r#"{"All": "", "APT28": "tags:apt28", "IPs": "type:IP"}"#).unwrap();
    let inds = import_file(&fixture("stix-bundle.json")).unwrap().indicators;
    let render = RenderOptions { producer: None, ..RenderOptions::default() };
    let built = build(&BuildInput {
        collections: &cols,
        indicators: &inds,
        render: &render,
        now: ts("2026-01-01T00:00:00Z"),
        previous: &HashMap::new(),
    });
    let ids = built.manifest.collections.iter().map(|c| (c.title.clone(), c.id.clone())).collect();
    let access = edge_core::auth::Access::from_config(None, Some("*"), None, None).unwrap();
    let svc = Service::new(edge_core::server::Settings { access, ..Default::default() });
    (svc, built.to_memory_store(Timestamp(0)), ids)
}

fn objects(v: &str, collection: &str) -> Vec<Value> {
    let (svc, store, ids) = served();
    let id = &ids.iter().find(|(t, _)| t == collection).unwrap().1;
    let accept = if v == "2.1" { V21 } else { V20 };
    let r = call(
        &svc,
        &store,
        &request("GET", &format!("/threatintel/collections/{id}/objects/"), &[], &[("accept", accept)]),
    );
    assert!(r.status == 200 || r.status == 206, "{}", String::from_utf8_lossy(&r.body));
    json(&r)["objects"].as_array().unwrap().clone()
}

#[test]
fn relationships_are_served_where_both_ends_are() {
    let types = |objs: &[Value]| -> Vec<String> {
        let mut t: Vec<String> = objs.iter().map(|o| o["type"].as_str().unwrap().to_string()).collect();
        t.sort();
        t
    };
    let apt = objects("2.1", "APT28");
    assert_eq!(
        types(&apt),
        [
            "indicator",
            "location",
            "malware",
            "marking-definition",
            "relationship",
            "relationship",
            "relationship",
            "threat-actor"
        ]
    );
    // IPs: the indicator and the address, not the relationship to the malware (not in the collection).
    assert_eq!(types(&objects("2.1", "IPs")), ["indicator", "ipv4-addr", "marking-definition"]);
    // 2.0: relationships point at the 2.0 ids of their ends.
    let apt20 = objects("2.0", "APT28");
    let ids: Vec<&str> = apt20.iter().map(|o| o["id"].as_str().unwrap()).collect();
    for rel in apt20.iter().filter(|o| o["type"] == "relationship") {
        assert!(ids.contains(&rel["source_ref"].as_str().unwrap()), "{rel}");
        assert!(ids.contains(&rel["target_ref"].as_str().unwrap()), "{rel}");
    }
}

#[test]
fn what_is_served_passes_stix2_validator() {
    let python = edge_testkit::repo(".venv/bin/python");
    if !python.exists() {
        eprintln!("skipped: no .venv (the interop environment) for stix2-validator");
        return;
    }
    let dir = std::env::temp_dir().join(format!("taxii-edge-import-stix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for v in ["2.1", "2.0"] {
        let file = dir.join(format!("objects-{v}.json"));
        std::fs::write(&file, Value::Array(objects(v, "All")).to_string()).unwrap();
        let script = format!(
            "import json,sys\nfrom stix2validator import ValidationOptions, validate_instance\n\
             bad=[]\nfor o in json.load(open(sys.argv[1])):\n    r=validate_instance(o, ValidationOptions(version='{v}'))\n    \
             bad += [(o['id'], e.message) for e in r.errors]\nprint(json.dumps(bad))\nsys.exit(1 if bad else 0)\n"
        );
        let out = std::process::Command::new(&python).arg("-c").arg(&script).arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "STIX {v}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
