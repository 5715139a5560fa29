//! Per-collection client settings: the `xsoar` profile's objects, `as_indicator` per collection, and a build
//! that renders each indicator once per variant its collections use (and a configuration without settings the
//! same bytes as before). The python side (stix2-validator, `stix2.parse`, XSOAR's reader logic against the
//! worker) is tests/interop/test_stix_render.py and tests/interop/test_xsoar_feed.py.

use edge_core::time::Timestamp;
use edge_feed::build::{build, BuildInput, Prepared};
use edge_feed::config::parse_collections;
use edge_feed::indicator::Indicator;
use edge_feed::stix::{ids, render_indicator, Profile, RenderOptions};
use edge_testkit::samples;
use serde_json::{json, Value};
use std::collections::HashMap;

fn xsoar() -> RenderOptions {
    RenderOptions {
        namespace: ids::namespace_for("test"),
        profile: Profile::Xsoar,
        producer: None,
        ..Default::default()
    }
}

fn stix() -> RenderOptions {
    RenderOptions { namespace: ids::namespace_for("test"), ..Default::default() }
}

fn ind(ty: &str, value: &str, custom: Value) -> Indicator {
    samples::indicator(ty, value, 3, custom)
}

fn render(i: &Indicator, o: &RenderOptions) -> Object {
    let r = render_indicator(i, o).unwrap_or_else(|e| panic!("{e}"));
    Object { id21: r.id21, type21: r.type21, type20: r.type20, json21: j(&r.json21), json20: j(&r.json20) }
}

/// A rendered object with its JSON parsed.
struct Object {
    id21: String,
    type21: String,
    type20: String,
    json21: Value,
    json20: Value,
}

fn j(s: &str) -> Value {
    serde_json::from_str(s).expect("rendered JSON parses")
}

const MD5: &str = "44d88612fea8a8f36de82e1278abb02f";
const SHA256: &str = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";

#[test]
fn a_file_with_several_hashes_is_one_comparison_on_the_hash_xsoar_reads_first() {
    let file = ind("File", MD5, json!({"sha256": SHA256, "associatedfilenames": ["eicar.com"]}));
    // The default pattern ORs the hashes (XSOAR's reader, in its default mode, drops it).
    let d = render(&file, &stix()).json20;
    assert_eq!(d["pattern"], format!("[file:hashes.MD5 = '{MD5}' OR file:hashes.'SHA-256' = '{SHA256}']"));
    let r = render(&file, &xsoar());
    let i20 = r.json20.clone();
    assert_eq!(i20["pattern"], format!("[file:hashes.'SHA-256' = '{SHA256}']"));
    assert_eq!(i20["name"], SHA256, "the name (read for relationships) is the value XSOAR imports it by");
    assert!(i20.get("created_by_ref").is_none(), "no producer in the xsoar profile");
    // Over 2.1 an SCO with created/modified and without the file name (which XSOAR's relationship reader would
    // take before the hash).
    let s21 = r.json21.clone();
    assert_eq!(s21["type"], "file");
    assert_eq!(s21["created"], "2024-03-01T10:00:00.123456Z");
    assert_eq!(s21["modified"], "2024-04-01T12:30:00.654321Z");
    assert!(s21.get("name").is_none());
    assert_eq!(s21["hashes"], json!({"MD5": MD5, "SHA-256": SHA256}));
    assert_ne!(r.id21, render(&file, &stix()).id21, "the SCO id follows its properties");
}

#[test]
fn observables_xsoar_cannot_read_by_their_stix_property_carry_its_value_too() {
    let cases = [
        ("ASN", "AS64503", json!({}), "[autonomous-system:x_xsoar_value = 'AS64503' OR autonomous-system:number = 64503]"),
        (
            "Account",
            "jdoe",
            json!({"userid": "S-1-5-21-1"}),
            "[user-account:x_xsoar_value = 'S-1-5-21-1' OR user-account:account_login = 'jdoe']",
        ),
        (
            "Registry Key",
            "HKLM\\Software\\Run",
            json!({}),
            "[windows-registry-key:x_xsoar_value = 'HKLM\\\\Software\\\\Run' OR windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software\\\\Run']",
        ),
        (
            "X509 Certificate",
            "0a:1b",
            json!({}),
            "[x509-certificate:x_xsoar_value = '0a:1b' OR x509-certificate:serial_number = '0a:1b']",
        ),
        ("Mutex", "Global\\m1", json!({}), "[mutex:x_xsoar_value = 'Global\\\\m1' OR mutex:name = 'Global\\\\m1']"),
        ("DomainGlob", "*.evil.example", json!({}), "[domain-name:value = '*.evil.example']"),
        ("Software", "putty", json!({}), "[software:name = 'putty']"),
    ];
    for (ty, value, custom, pattern) in cases {
        let i = ind(ty, value, custom);
        if value.contains('\\') {
            // No pattern carries a backslash to XSOAR's reader: an SCO in both versions (the next test), the
            // pattern only where `as_indicator` asks for an indicator.
            let sco_type = if ty == "Mutex" { "mutex" } else { "windows-registry-key" };
            let opts = RenderOptions { as_indicator: [sco_type.to_string()].into(), ..xsoar() };
            let r = render(&i, &opts);
            assert_eq!((r.json20["pattern"].clone(), r.json21["pattern"].clone()), (json!(pattern), json!(pattern)));
            continue;
        }
        let r = render(&i, &xsoar());
        assert_eq!(r.json20["pattern"], pattern, "{ty}");
        if ty == "ASN" || ty == "DomainGlob" {
            // An ASN is an indicator over 2.1 too: the SCO's integer `number` would lose XSOAR's `AS`.
            assert_eq!(r.json21["pattern"], pattern, "{ty}");
        } else {
            assert_ne!(r.type21, "indicator", "{ty}");
        }
    }
}

#[test]
fn values_no_pattern_carries_to_xsoar_are_scos_over_both_versions_in_the_xsoar_profile() {
    // XSOAR's reader keeps a pattern string's escapes, removes its spaces and ends a value at its first quote:
    // these values reach it whole only as SCOs (as XSOAR's own server serves them, over 2.0 too).
    let cases = [
        ("Registry Key", "HKEY_CURRENT_USER\\Software\\O'Hare Sync\\Run", "windows-registry-key", "key"),
        ("Mutex", "Global\\m1", "mutex", "name"),
        ("Email", "o'brien@example.com", "email-addr", "value"),
        ("URL", "https://example.com/a b", "url", "value"),
    ];
    for (ty, value, sco_type, prop) in cases {
        let i = ind(ty, value, json!({}));
        let r = render(&i, &xsoar());
        assert_eq!((r.type20.as_str(), r.type21.as_str()), (sco_type, sco_type), "{ty}");
        for (o, created) in [(&r.json20, "2024-03-01T10:00:00.123Z"), (&r.json21, "2024-03-01T10:00:00.123456Z")] {
            assert_eq!((o["type"].as_str(), o[prop].as_str()), (Some(sco_type), Some(value)), "{ty}");
            assert_eq!(o["created"], created, "{ty}");
            assert!(o.get("pattern").is_none());
        }
        assert!(r.json20.get("spec_version").is_none());
        assert!(r.json20["id"].as_str().unwrap().starts_with(&format!("{sco_type}--")));
        // The default profile: an indicator over 2.0 (and over 2.1 for values the 2.1 schema refuses), its
        // pattern's string escaped as STIX requires.
        let d = render(&i, &stix());
        assert_eq!(d.type20, "indicator", "{ty}");
        assert!(d.json20["pattern"].as_str().unwrap().contains(&value.replace('\\', "\\\\").replace('\'', "\\'")));
    }
    // A value a pattern carries stays an indicator over 2.0.
    assert_eq!(render(&ind("Mutex", "GlobalM1", json!({})), &xsoar()).type20, "indicator");
}

#[test]
fn a_registry_key_keeps_its_abbreviated_hive_for_xsoar_as_xsoar_serves_it() {
    // XSOAR's own server writes the key as XSOAR holds it (`key` = value): `HKLM\…` reaches its reader as
    // `HKLM\…`. STIX wants the hive written out, so the default profile expands it; the xsoar profile keeps it.
    let i = ind("Registry Key", r"HKLM\Software\Evil Run", json!({}));
    let r = render(&i, &xsoar());
    for o in [&r.json20, &r.json21] {
        assert_eq!(o["key"], r"HKLM\Software\Evil Run");
    }
    let d = render(&i, &stix());
    assert_eq!(d.json21["key"], r"HKEY_LOCAL_MACHINE\Software\Evil Run");
    assert_ne!(r.id21, d.id21, "the SCO id follows the key");
    assert_eq!(r.json21["id"], r.id21.as_str());
    // Served as an indicator (as_indicator), the pattern's STIX comparison keeps the written-out hive.
    let opts = RenderOptions { as_indicator: ["windows-registry-key".to_string()].into(), ..xsoar() };
    let pattern = render(&i, &opts).json21["pattern"].as_str().unwrap().to_string();
    assert!(pattern.contains(r"key = 'HKEY_LOCAL_MACHINE\\Software"), "{pattern}");
}

#[test]
fn xsoar_sdos_keep_their_types_over_20_and_defaults_stay_strict() {
    let infra = ind("Infrastructure", "C2 cluster", json!({}));
    assert_eq!(render(&infra, &stix()).type20, "x-taxii-edge-infrastructure");
    let r = render(&infra, &xsoar());
    assert_eq!((r.type20.as_str(), r.json20["type"].as_str()), ("infrastructure", Some("infrastructure")));
    // The default 2.1 SCO has no created/modified.
    let ip = render(&ind("IP", "198.51.100.7", json!({})), &stix());
    assert!(ip.json21.get("modified").is_none());
    assert!(render(&ind("IP", "198.51.100.7", json!({})), &xsoar()).json21["modified"].is_string());
}

fn build_with(collections: &str, indicators: &[Indicator]) -> edge_feed::build::Built {
    let cols = parse_collections(collections).unwrap();
    build(&BuildInput {
        collections: &cols,
        indicators,
        render: &stix(),
        now: Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
        previous: &HashMap::new(),
    })
}

#[test]
fn a_collection_with_settings_of_its_own_changes_only_its_own_objects() {
    let inds = samples::sample_indicators();
    let plain = build_with(r#"{"All": "", "IPs": "type:IP"}"#, &inds);
    let mixed = build_with(
        r#"{"All": "", "IPs": {"query": "type:IP", "as_indicator": ["ipv4-addr"]},
            "XSOAR": {"query": "", "profile": "xsoar"}}"#,
        &inds,
    );
    let entry = |b: &edge_feed::build::Built, t: &str| b.manifest.collections.iter().find(|c| c.title == t).cloned();
    let (all0, all1) = (entry(&plain, "All").unwrap(), entry(&mixed, "All").unwrap());
    assert_eq!(all0.index, all1.index, "the collection without settings is byte-identical");
    let (ips0, ips1) = (entry(&plain, "IPs").unwrap(), entry(&mixed, "IPs").unwrap());
    assert!(ips0.types.contains_key("ipv4-addr") && !ips0.types.contains_key("indicator"));
    assert!(ips1.types.contains_key("indicator") && !ips1.types.contains_key("ipv4-addr"), "{:?}", ips1.types);
    assert_eq!(ips0.count, ips1.count);
    let x = entry(&mixed, "XSOAR").unwrap();
    assert_eq!(x.profile.as_deref(), Some("xsoar"));
    assert_eq!(all1.profile, None);
    assert!(!x.types.contains_key("identity") || inds.iter().any(|i| i.xsoar_type == "Identity"));
}

#[test]
fn each_indicator_is_rendered_once_per_variant_its_collections_use() {
    let inds = samples::sample_indicators();
    let render = stix();
    let count = |collections: &str| {
        let cols = parse_collections(collections).unwrap();
        let mut p = Prepared::new(&cols, &render, Timestamp::parse("2025-01-01T00:00:00Z").unwrap());
        p.push(inds.clone(), &cols, &render);
        (p.len(), p.rendered_objects())
    };
    let (n, once) = count(r#"{"All": "", "IPs": "type:IP"}"#);
    assert_eq!(once, n, "one variant: each indicator once");
    let ips = inds.iter().filter(|i| i.xsoar_type == "IP").count();
    assert!(ips > 0);
    let (_, more) = count(r#"{"All": "", "IPs": {"query": "type:IP", "profile": "xsoar"}}"#);
    assert_eq!(more, n + ips, "the xsoar variant renders only the indicators its collection selects");
    // Two collections with the same settings share one variant.
    let (_, shared) = count(
        r#"{"All": "", "A": {"query": "type:IP", "profile": "xsoar"}, "B": {"query": "type:IP", "profile": "xsoar"}}"#,
    );
    assert_eq!(shared, n + ips);
}

#[test]
fn an_xsoar_report_lists_the_members_its_relationships_point_at() {
    let inds = samples::sample_indicators();
    let built = build_with(r#"{"All": "", "XSOAR": {"query": "", "profile": "xsoar"}}"#, &inds);
    let store = built.to_memory_store(Timestamp(0));
    let objects = |title: &str| -> Vec<Value> {
        let c = built.manifest.collections.iter().find(|c| c.title == title).unwrap();
        let svc = edge_core::server::Service::new(edge_core::server::Settings::default());
        let req = edge_testkit::request(
            "GET",
            &format!("/threatintel/collections/{}/objects/", c.id),
            &[],
            &[("Accept", edge_testkit::V21)],
        );
        edge_testkit::json(&edge_testkit::call(&svc, &store, &req))["objects"].as_array().unwrap().clone()
    };
    let weekly = |objs: &[Value]| objs.iter().find(|o| o["name"] == "Weekly report").unwrap()["object_refs"].clone();
    let id_of = |objs: &[Value], name: &str| objs.iter().find(|o| o["name"] == name).unwrap()["id"].clone();
    let (all, xsoar) = (objects("All"), objects("XSOAR"));
    // The default keeps the TIP's references and the relationships (unchanged bytes for existing feeds).
    let refs = weekly(&all);
    assert!(refs.as_array().unwrap().iter().all(|r| r.as_str().unwrap().starts_with("relationship--")), "{refs}");
    // The xsoar profile adds the targets: the malware and the vulnerability.
    let refs = weekly(&xsoar);
    for target in ["Emotet", "CVE-2021-44228"] {
        assert!(refs.as_array().unwrap().contains(&id_of(&xsoar, target)), "{target}: {refs}");
    }
}
