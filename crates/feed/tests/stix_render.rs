//! STIX rendering, per type and per version: expected objects, the XSOAR vectors (shared/vectors/xsoar),
//! patterns, markings, relationships, extensions and determinism. The python side (stix2-validator,
//! stix2-patterns, stix2 ids) is tests/interop/test_stix_render.py.

use edge_feed::import::xsoar::{import_str, indicator_from};
use edge_feed::indicator::Indicator;
use edge_feed::stix::{
    collection_extras, extras::relationship_type, ids, render_indicator, ExtensionFields, RenderOptions, Rendered,
};
use edge_testkit::samples;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn opts() -> RenderOptions {
    RenderOptions { namespace: ids::namespace_for("test"), ..RenderOptions::default() }
}

fn as_indicators(list: &[&str]) -> RenderOptions {
    RenderOptions {
        namespace: ids::namespace_for("test"),
        as_indicator: list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        ..RenderOptions::default()
    }
}

fn ind(ty: &str, value: &str, score: u8, custom: Value) -> Indicator {
    samples::indicator(ty, value, score, custom)
}

fn render(i: &Indicator, o: &RenderOptions) -> Rendered {
    render_indicator(i, o).unwrap_or_else(|e| panic!("{e}"))
}

fn j(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

const PRODUCER21: &str = "identity--b56a063b-f5ac-57ac-8fd8-ce257706c6bf";
const PRODUCER20: &str = "identity--b56a063b-f5ac-47ac-8fd8-ce257706c6bf";

#[test]
fn ip_over_21_is_an_sco_and_over_20_an_indicator() {
    let r = render(&ind("IP", "8.8.8.8", 3, json!({})), &opts());
    assert_eq!(
        r.json21,
        r#"{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7","value":"8.8.8.8"}"#
    );
    assert_eq!((r.type21.as_str(), r.type20.as_str()), ("ipv4-addr", "indicator"));
    // STIX 2.0 needs UUIDv4 ids: the XSOAR id with its version nibble set to 4.
    assert_eq!(r.id20, "indicator--5858b9e9-063f-473b-bb34-42cab292eaeb");
    assert_eq!(
        r.json20,
        format!(
            r#"{{"type":"indicator","id":"indicator--5858b9e9-063f-473b-bb34-42cab292eaeb","created_by_ref":"{PRODUCER20}","created":"2024-03-01T10:00:00.123Z","modified":"2024-04-01T12:30:00.654Z","name":"8.8.8.8","pattern":"[ipv4-addr:value = '8.8.8.8']","valid_from":"2024-03-01T10:00:00.123456Z","labels":["malicious-activity"]}}"#
        )
    );
    assert_eq!(r.version.to_micros_string(), "2024-04-01T12:30:00.654321Z");
}

#[test]
fn ip_as_indicator_over_21_has_the_xsoar_id() {
    let mut i = ind("IP", "8.8.8.8", 3, json!({"description": "bad", "trafficlightprotocol": "AMBER"}));
    i.expiration = Some(edge_core::time::Timestamp::parse("2024-06-01T00:00:00Z").unwrap());
    i.tags = vec!["c2".into()];
    let r = render(&i, &as_indicators(&["ipv4-addr"]));
    assert_eq!(r.id21, "indicator--5858b9e9-063f-573b-bb34-42cab292eaeb");
    assert_eq!(
        r.json21,
        format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--5858b9e9-063f-573b-bb34-42cab292eaeb","created_by_ref":"{PRODUCER21}","created":"2024-03-01T10:00:00.123456Z","modified":"2024-04-01T12:30:00.654321Z","name":"8.8.8.8","description":"bad","indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '8.8.8.8']","pattern_type":"stix","valid_from":"2024-03-01T10:00:00.123456Z","valid_until":"2024-06-01T00:00:00.000000Z","labels":["c2"],"confidence":85,"object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]}}"#
        )
    );
    let mut x = opts();
    x.xsoar_v20_ids = true;
    assert_eq!(render(&i, &x).id20, "indicator--5858b9e9-063f-573b-bb34-42cab292eaeb");
}

#[test]
fn score_gives_indicator_types_labels_and_confidence() {
    let o = as_indicators(&["ipv4-addr"]);
    for (score, word, conf) in [
        (3, "malicious-activity", Some(85)),
        (2, "anomalous-activity", Some(50)),
        (1, "benign", Some(15)),
        (0, "unknown", None),
    ] {
        let r = render(&ind("IP", "1.2.3.4", score, json!({})), &o);
        let v21 = j(&r.json21);
        let v20 = j(&r.json20);
        assert_eq!(v21["indicator_types"], json!([word]));
        assert_eq!(v21.get("confidence").and_then(Value::as_u64), conf.map(|c: u64| c));
        assert_eq!(v20["labels"], json!([word]));
        assert!(v20.get("confidence").is_none());
    }
    // Score 0 with tags: the tags alone, never [""].
    let mut i = ind("IP", "1.2.3.4", 0, json!({}));
    i.tags = vec!["Known Scanner".into()];
    let r = render(&i, &o);
    assert_eq!(j(&r.json20)["labels"], json!(["known-scanner"]));
    assert_eq!(j(&r.json21)["labels"], json!(["Known Scanner"]));
}

#[test]
fn every_observable_type_has_its_sco_and_pattern() {
    let cases: Vec<(Indicator, &str, Value, &str)> = vec![
        (
            ind("CIDR", "10.0.0.0/8", 2, json!({})),
            "ipv4-addr",
            json!({"value": "10.0.0.0/8"}),
            "[ipv4-addr:value = '10.0.0.0/8']",
        ),
        (
            ind("IPv6", "2001:db8::1", 2, json!({})),
            "ipv6-addr",
            json!({"value": "2001:db8::1"}),
            "[ipv6-addr:value = '2001:db8::1']",
        ),
        (
            ind("IPv6CIDR", "2001:db8::/32", 2, json!({})),
            "ipv6-addr",
            json!({"value": "2001:db8::/32"}),
            "[ipv6-addr:value = '2001:db8::/32']",
        ),
        (
            ind("Domain", "example.com", 2, json!({})),
            "domain-name",
            json!({"value": "example.com"}),
            "[domain-name:value = 'example.com']",
        ),
        (
            ind("URL", "https://example.com/a?b=c", 2, json!({})),
            "url",
            json!({"value": "https://example.com/a?b=c"}),
            "[url:value = 'https://example.com/a?b=c']",
        ),
        (
            ind("Email", "a@example.com", 2, json!({})),
            "email-addr",
            json!({"value": "a@example.com"}),
            "[email-addr:value = 'a@example.com']",
        ),
        (
            ind(
                "Registry Key",
                "HKLM\\Software\\It's",
                2,
                json!({"keyvalue": [{"name": "Path", "data": "C:\\x", "type": "reg_sz"}, {}]}),
            ),
            "windows-registry-key",
            json!({"key": "HKEY_LOCAL_MACHINE\\Software\\It's", "values": [{"name": "Path", "data": "C:\\x", "data_type": "REG_SZ"}]}),
            r"[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\Software\\It\'s']",
        ),
        (
            ind(
                "Account",
                "jdoe",
                2,
                json!({"userid": "1001", "accounttype": "Windows Local", "displayname": "J Doe"}),
            ),
            "user-account",
            json!({"user_id": "1001", "account_login": "jdoe", "account_type": "windows-local", "display_name": "J Doe"}),
            "[user-account:account_login = 'jdoe']",
        ),
        (
            ind("ASN", "AS15169", 2, json!({"name": "Google"})),
            "autonomous-system",
            json!({"number": 15169, "name": "Google"}),
            "[autonomous-system:number = 15169]",
        ),
        (
            ind("Software", "Word", 2, json!({"vendor": "Microsoft", "version": "2019"})),
            "software",
            json!({"name": "Word", "vendor": "Microsoft", "version": "2019"}),
            "[software:name = 'Word']",
        ),
        (
            ind(
                "X509 Certificate",
                "01:02",
                2,
                json!({"subject": [{"title": "CN", "data": "x"}], "validitynotbefore": "2020-01-01T00:00:00Z"}),
            ),
            "x509-certificate",
            json!({"serial_number": "01:02", "validity_not_before": "2020-01-01T00:00:00.000000Z", "subject": "CN=x"}),
            "[x509-certificate:serial_number = '01:02']",
        ),
        (ind("Mutex", "Global\\m", 2, json!({})), "mutex", json!({"name": "Global\\m"}), r"[mutex:name = 'Global\\m']"),
    ];
    for (i, sco, props, pattern) in cases {
        let r = render(&i, &opts());
        let v21 = j(&r.json21);
        assert_eq!(r.type21, sco, "{}", i.value);
        assert_eq!(v21["spec_version"], "2.1");
        for k in [
            "created",
            "modified",
            "created_by_ref",
            "description",
            "labels",
            "confidence",
            "revoked",
            "external_references",
        ] {
            assert!(v21.get(k).is_none(), "an SCO has no {k}: {sco}");
        }
        let mut own = v21.as_object().unwrap().clone();
        for k in ["type", "spec_version", "id"] {
            own.remove(k);
        }
        assert_eq!(Value::Object(own), props, "{sco}");
        assert_eq!(j(&r.json20)["pattern"], pattern, "{sco}");
        let as_ind = render(&i, &as_indicators(&[sco]));
        assert_eq!(as_ind.type21, "indicator");
        assert_eq!(j(&as_ind.json21)["pattern"], pattern, "{sco}");
        assert_eq!(as_ind.id21, ids::sdo_id(&ids::namespace_for("test"), "indicator", &i.value));
    }
}

#[test]
fn files_keep_every_hash_and_take_the_stix2_id() {
    let f = ind(
        "File",
        "f1412386aa8db2579aff2636cb9511cacc5fd9880ecab60c048508fbe26ee4d9",
        3,
        json!({"md5": "e086aa137fa19f67d27b39d0eca18610", "sha1": "bad", "associatedfilenames": ["a.txt", "b.txt"]}),
    );
    let r = render(&f, &opts());
    assert_eq!(
        j(&r.json21)["hashes"],
        json!({"MD5": "e086aa137fa19f67d27b39d0eca18610", "SHA-256": "f1412386aa8db2579aff2636cb9511cacc5fd9880ecab60c048508fbe26ee4d9"})
    );
    assert_eq!(j(&r.json21)["name"], "a.txt");
    // stix2: one hash, MD5 first, plus the name.
    assert_eq!(
        r.id21,
        ids::sco_id("file", &json!({"hashes": {"MD5": "e086aa137fa19f67d27b39d0eca18610"}, "name": "a.txt"}))
    );
    assert_eq!(
        j(&r.json20)["pattern"],
        "[file:hashes.'SHA-256' = 'f1412386aa8db2579aff2636cb9511cacc5fd9880ecab60c048508fbe26ee4d9' OR file:hashes.MD5 = 'e086aa137fa19f67d27b39d0eca18610']"
    );
    // The XSOAR vectors: a lone SHA-256 and a lone SHA-1 (XSOAR's own file ids, which agree when one hash is known).
    let lone =
        render(&ind("File", "f1412386aa8db2579aff2636cb9511cacc5fd9880ecab60c048508fbe26ee4d9", 0, json!({})), &opts());
    assert_eq!(lone.id21, "file--4c51b4d2-afe2-5225-b003-c83cbfde02ee");
    let sha1 = render(&ind("File", &"1".repeat(40), 0, json!({})), &opts());
    assert_eq!(sha1.id21, "file--a8b26730-1daf-57e7-9c48-02c6481f82a0");
    assert!(render_indicator(&ind("File", "evil.exe", 0, json!({})), &opts())
        .unwrap_err()
        .reason
        .contains("not an MD5"));
}

#[test]
fn domain_globs_urls_and_odd_emails_are_indicators_with_escaped_patterns() {
    let g = render(&ind("DomainGlob", "*.example.com", 2, json!({})), &opts());
    assert_eq!(g.type21, "indicator");
    assert_eq!(j(&g.json21)["pattern"], "[domain-name:value LIKE '%.example.com']");
    let u = render(&ind("URL", "http://x.com/it's\\here", 2, json!({})), &opts());
    assert_eq!(u.type21, "indicator");
    assert_eq!(j(&u.json21)["pattern"], r"[url:value = 'http://x.com/it\'s\\here']");
    let e = render(&ind("Email", "o'brien@example.com", 2, json!({})), &opts());
    assert_eq!(e.type21, "indicator");
}

#[test]
fn sdos_of_every_type() {
    let ns = ids::namespace_for("test");
    let ap = render(
        &ind("Attack Pattern", "DNS", 0, json!({"mitreid": "T1071.004", "killchainphases": ["Command and Control"]})),
        &opts(),
    );
    assert_eq!(ap.id21, "attack-pattern--345babe7-43f6-536b-a2c3-127436065444");
    assert_eq!(
        ap.json21,
        format!(
            r#"{{"type":"attack-pattern","spec_version":"2.1","id":"attack-pattern--345babe7-43f6-536b-a2c3-127436065444","created_by_ref":"{PRODUCER21}","created":"2024-03-01T10:00:00.123456Z","modified":"2024-04-01T12:30:00.654321Z","name":"DNS","kill_chain_phases":[{{"kill_chain_name":"mitre-attack","phase_name":"command-and-control"}}],"external_references":[{{"source_name":"mitre-attack","external_id":"T1071.004"}}]}}"#
        )
    );
    let pawn = RenderOptions { namespace: ids::paloalto_namespace(), ..RenderOptions::default() };
    let ap111 = render(&ind("Attack Pattern", "x", 0, json!({"mitreid": "T111"})), &pawn);
    assert_eq!(ap111.id21, "attack-pattern--116d410f-50f9-5f0d-b677-2a9b95812a3e");
    let m = render(
        &ind("Malware", "bad malware", 3, json!({"ismalwarefamily": "true", "malwaretypes": ["Remote Access Trojan"]})),
        &pawn,
    );
    assert_eq!(m.id21, "malware--bddcf01f-9fd0-5107-a013-4b174285babc");
    let m21 = j(&m.json21);
    assert_eq!(
        (m21["is_family"].clone(), m21["malware_types"].clone()),
        (json!(true), json!(["remote-access-trojan"]))
    );
    assert_eq!(j(&m.json20)["labels"], json!(["remote-access-trojan"]));
    assert!(j(&m.json20).get("is_family").is_none());

    for (ty, stix) in [
        ("Campaign", "campaign"),
        ("Course of Action", "course-of-action"),
        ("Intrusion Set", "intrusion-set"),
        ("Threat Actor", "threat-actor"),
        ("Tool", "tool"),
        ("CVE", "vulnerability"),
        ("Identity", "identity"),
    ] {
        let r = render(&ind(ty, "Name", 0, json!({})), &opts());
        assert_eq!(r.type21, stix);
        assert_eq!(r.type20, stix);
        assert_eq!(r.id21, ids::sdo_id(&ns, stix, "Name"));
        assert_eq!(r.id20, ids::v20_id(&r.id21));
        assert_eq!(j(&r.json21)["name"], "Name");
        assert!(j(&r.json20).get("spec_version").is_none());
    }
    let tool20 = j(&render(&ind("Tool", "T", 0, json!({})), &opts()).json20);
    assert_eq!(tool20["labels"], json!(["tool"]));
    let ident = render(&ind("Identity", "Corp", 0, json!({})), &opts());
    assert!(j(&ident.json21).get("identity_class").is_none());
    assert_eq!(j(&ident.json20)["identity_class"], "unknown");
    let cve = j(&render(&ind("CVE", "CVE-2021-44228", 3, json!({})), &opts()).json21);
    assert_eq!(cve["external_references"], json!([{"source_name": "cve", "external_id": "CVE-2021-44228"}]));

    let loc = render(&ind("Location", "Germany", 0, json!({"countrycode": "de", "region": "Western Europe"})), &opts());
    assert_eq!(
        (j(&loc.json21)["country"].clone(), j(&loc.json21)["region"].clone()),
        (json!("DE"), json!("western-europe"))
    );
    assert_eq!(loc.type20, "x-taxii-edge-location");
    assert!(loc.id20.starts_with("x-taxii-edge-location--"));
    let bad = render_indicator(&ind("Location", "Somewhere", 0, json!({})), &opts()).unwrap_err();
    assert!(bad.reason.contains("needs a region or a country"), "{bad}");

    let infra = render(&ind("Infrastructure", "C2", 3, json!({})), &opts());
    assert_eq!((infra.type21.as_str(), infra.type20.as_str()), ("infrastructure", "x-taxii-edge-infrastructure"));

    let rep = render(
        &ind(
            "Report",
            "R",
            0,
            json!({"reportobjectreferences": [{"objectstixid": "malware--bddcf01f-9fd0-5107-a013-4b174285babc"}]}),
        ),
        &opts(),
    );
    let rep21 = j(&rep.json21);
    assert_eq!(rep21["object_refs"], json!(["malware--bddcf01f-9fd0-5107-a013-4b174285babc"]));
    assert_eq!(rep21["published"], "2024-03-01T10:00:00.123456Z");
    let rep20 = j(&rep.json20);
    assert_eq!(rep20["object_refs"], json!(["malware--bddcf01f-9fd0-4107-a013-4b174285babc"]));
    assert_eq!(rep20["labels"], json!(["threat-report"]));
    let empty = render_indicator(&ind("Report", "R", 0, json!({})), &opts()).unwrap_err();
    assert!(empty.reason.contains("at least one object"), "{empty}");
    // Without explicit references, the report names its relationships (XSOAR adds them too).
    let mut by_rel = ind("Report", "Weekly", 0, json!({"reportobjectreferences": []}));
    by_rel.relationships = vec![rel("related-to", "Emotet", Some("5")), rel("mentions", "CVE-1", None)];
    let r = render(&by_rel, &opts());
    let ns = ids::namespace_for("test");
    assert_eq!(
        j(&r.json21)["object_refs"],
        json!([
            "relationship--91c923a5-ba81-5729-8b8b-ffb9220a95db",
            ids::sdo_id(&ns, "relationship", "Weekly|mentions|CVE-1")
        ])
    );
    let emotet = ind("Malware", "Emotet", 3, json!({}));
    let members = [&by_rel, &emotet];
    let rendered = [render(&by_rel, &opts()), render(&emotet, &opts())];
    let extras = collection_extras(&members, &[&rendered[0], &rendered[1]], &opts());
    let served: Vec<&str> = extras.iter().filter(|e| e.type21 == "relationship").map(|e| e.id21.as_str()).collect();
    assert_eq!(served, ["relationship--91c923a5-ba81-5729-8b8b-ffb9220a95db"]);
}

#[test]
fn unmapped_types_and_bad_fields_are_errors_that_say_what_to_do() {
    let e = render_indicator(&ind("Host", "srv1", 0, json!({})), &opts()).unwrap_err();
    assert_eq!(e.origin, "test");
    assert!(e.reason.contains("\"Host\" has no STIX mapping"), "{e}");
    assert!(render_indicator(&ind("ip", "1.1.1.1", 0, json!({})), &opts()).is_ok(), "types match case-insensitively");
    let asn = render_indicator(&ind("ASN", "Google", 0, json!({})), &opts()).unwrap_err();
    assert!(asn.reason.contains("AS15169"), "{asn}");
    let tlp = render_indicator(&ind("IP", "1.1.1.1", 0, json!({"trafficlightprotocol": "AMBER+STRICT"})), &opts())
        .unwrap_err();
    assert!(tlp.reason.contains("AMBER+STRICT"), "{tlp}");
    let reg = render_indicator(
        &ind("Registry Key", "HKLM\\x", 0, json!({"keyvalue": [{"name": "a", "type": "REG_WHATEVER"}]})),
        &opts(),
    )
    .unwrap_err();
    assert!(reg.reason.contains("not a registry data type"), "{reg}");
}

#[test]
fn revoked_only_when_configured() {
    let mut i = ind("IP", "1.1.1.1", 3, json!({"expirationStatus": "expired"}));
    i.fields.insert("expirationstatus".into(), json!("expired"));
    let o = as_indicators(&["ipv4-addr"]);
    assert!(j(&render(&i, &o).json21).get("revoked").is_none());
    let mut revoking = o.clone();
    revoking.revoke_expired = true;
    assert_eq!(j(&render(&i, &revoking).json21)["revoked"], true);
    assert_eq!(j(&render(&i, &revoking).json20)["revoked"], true);
    // By time: expired before the build time.
    let mut k = ind("IP", "1.1.1.2", 3, json!({}));
    k.expiration = Some(edge_core::time::Timestamp::parse("2024-05-01T00:00:00Z").unwrap());
    revoking.expired_as_of = Some(edge_core::time::Timestamp::parse("2024-05-02T00:00:00Z").unwrap());
    let revoked = render(&k, &revoking);
    assert_eq!(j(&revoked.json21)["revoked"], true);
    // Revocation is a new version, dated at the expiry.
    assert_eq!(revoked.version.to_micros_string(), "2024-05-01T00:00:00.000000Z");
    assert_eq!(j(&revoked.json21)["modified"], "2024-05-01T00:00:00.000000Z");
    assert_eq!(j(&revoked.json20)["modified"], "2024-05-01T00:00:00.000Z");
    revoking.expired_as_of = Some(edge_core::time::Timestamp::parse("2024-04-30T00:00:00Z").unwrap());
    assert!(j(&render(&k, &revoking).json21).get("revoked").is_none());
    // valid_until only after valid_from.
    k.expiration = Some(edge_core::time::Timestamp::parse("2020-01-01T00:00:00Z").unwrap());
    assert!(j(&render(&k, &o).json21).get("valid_until").is_none());
}

fn rel(name: &str, target: &str, tip: Option<&str>) -> edge_feed::indicator::Relationship {
    edge_feed::indicator::Relationship {
        name: name.into(),
        target_value: target.into(),
        tip_id: tip.map(String::from),
        description: None,
    }
}

#[test]
fn relationships_only_between_members_with_derived_ids() {
    assert_eq!(relationship_type("related to"), "related-to");
    assert_eq!(relationship_type(" Attributed_To "), "attributed-to");
    let o = opts();
    let mut a = ind("IP", "8.8.8.8", 3, json!({"trafficlightprotocol": "GREEN"}));
    a.relationships = vec![
        rel("related to", "example.com", Some("7ed6656f4c2aaa8f0cbc5cb83606be45")),
        rel("indicates", "Emotet", None),
        rel("related-to", "outside.example", Some("5")),
    ];
    let b = ind("Domain", "example.com", 2, json!({"trafficlightprotocol": "RED"}));
    let mut c = ind("Malware", "Emotet", 3, json!({}));
    c.relationships = vec![rel("related to", "8.8.8.8", Some("7ed6656f4c2aaa8f0cbc5cb83606be45"))];
    let members = [&a, &b, &c];
    let rendered: Vec<Rendered> = members.iter().map(|i| render(i, &o)).collect();
    let refs: Vec<&Rendered> = rendered.iter().collect();
    let extras = collection_extras(&members, &refs, &o);
    let rels: Vec<&Rendered> = extras.iter().filter(|r| r.type21 == "relationship").collect();
    assert_eq!(rels.len(), 2, "the outside target is dropped and the duplicate TIP id is served once");
    assert_eq!(rels[0].id21, "relationship--c04f44cd-c8a8-52aa-90d5-77a5249fe7b7");
    let r0 = j(&rels[0].json21);
    assert_eq!(r0["relationship_type"], "related-to");
    assert_eq!(r0["source_ref"], rendered[0].id21);
    assert_eq!(r0["target_ref"], rendered[1].id21);
    assert_eq!(r0["object_marking_refs"], json!(["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]));
    let r0_20 = j(&rels[0].json20);
    assert_eq!(
        (r0_20["source_ref"].clone(), r0_20["target_ref"].clone()),
        (json!(rendered[0].id20), json!(rendered[1].id20))
    );
    let derived = ids::sdo_id(&o.namespace, "relationship", "8.8.8.8|indicates|Emotet");
    assert_eq!(rels[1].id21, derived);
    // The marking definitions (GREEN, RED) and the producer identity are served, nothing else.
    let types: Vec<&str> = extras.iter().map(|r| r.type21.as_str()).collect();
    assert_eq!(types, ["marking-definition", "marking-definition", "identity", "relationship", "relationship"]);
    assert_eq!(extras[2].id21, PRODUCER21);
    assert!(collection_extras::<edge_feed::stix::Rendered>(&[], &[], &o).is_empty());
}

#[test]
fn extension_fields_in_21_and_custom_properties_in_20() {
    let mut o = opts();
    o.extension_fields = ExtensionFields::parse("value, score, sourcebrands, missing");
    assert_eq!(ExtensionFields::parse(" ALL "), ExtensionFields::All);
    assert_eq!(ExtensionFields::parse(""), ExtensionFields::None);
    let i = ind("Domain", "example.com", 2, json!({"sourceBrands": ["Feed A"]}));
    let r = render(&i, &o);
    let def = ids::sdo_id(&o.namespace, "extension-definition", "domain-name");
    assert_eq!(
        j(&r.json21)["extensions"],
        json!({ def.as_str(): {"extension_type": "property-extension", "value": "example.com", "score": 2, "sourcebrands": ["Feed A"]}})
    );
    let v20 = j(&r.json20);
    assert_eq!(
        (v20["x_xsoar_value"].clone(), v20["x_xsoar_sourcebrands"].clone()),
        (json!("example.com"), json!(["Feed A"]))
    );
    assert!(v20.get("extensions").is_none());
    let members = [&i];
    let extras = collection_extras(&members, &[&r], &o);
    let defs: Vec<&Rendered> = extras.iter().filter(|e| e.type21 == "extension-definition").collect();
    assert_eq!(defs.len(), 1);
    assert_eq!(defs[0].id21, def);
    assert_eq!(j(&defs[0].json21)["extension_types"], json!(["property-extension"]));
    assert_eq!(j(&defs[0].json21)["created_by_ref"], PRODUCER21);
    // Files carry no extension (a file's extensions are part of its id).
    let f = render(&ind("File", &"a".repeat(32), 2, json!({})), &o);
    assert!(j(&f.json21).get("extensions").is_none());
    assert_eq!(
        collection_extras(&[&ind("File", &"a".repeat(32), 2, json!({}))], &[&f], &o)
            .iter()
            .filter(|e| e.type21 == "extension-definition")
            .count(),
        0
    );
}

#[test]
fn the_xsoar_sco_vectors() {
    let text =
        std::fs::read_to_string(edge_testkit::repo("../shared/vectors/xsoar/apimodule_xsoar_sco_indicators.json"))
            .unwrap();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(edge_testkit::repo("../shared/vectors/xsoar/apimodule_stix_sco_indicators.json"))
            .unwrap(),
    )
    .unwrap();
    let input: Value = serde_json::from_str(&text).unwrap();
    let inds: Vec<Indicator> = input["iocs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| indicator_from("vectors", r["xsoar_indicator"].clone()).unwrap())
        .collect();
    assert_eq!(inds.len(), 3);
    for (i, exp) in inds.iter().zip(expected["objects"].as_array().unwrap()) {
        let r = render(i, &opts());
        let ours = j(&r.json21);
        assert_eq!(ours["type"], exp["type"]);
        match r.type21.as_str() {
            "file" => {
                for (k, v) in exp["hashes"].as_object().unwrap() {
                    assert_eq!(&ours["hashes"][k], v, "{k}");
                }
                assert_eq!(ours["hashes"]["SSDEEP"], "3:SU7:SU7");
            }
            "windows-registry-key" => {
                assert_eq!(ours["key"], exp["key"]);
                assert_eq!(ours["values"], exp["values"]);
            }
            "autonomous-system" => {
                // XSOAR writes the number as a string, which STIX forbids.
                assert_eq!(ours["number"], json!(15169));
                assert_eq!(ours["name"], exp["name"]);
            }
            other => panic!("unexpected {other}"),
        }
    }
}

#[test]
fn the_xsoar_ip_vector_ids() {
    let text = std::fs::read_to_string(edge_testkit::repo("../shared/vectors/xsoar/ip_iocs.json")).unwrap();
    let got = import_str("ip_iocs.json", &text).unwrap();
    let o = as_indicators(&["ipv4-addr"]);
    let by_value = |v: &str| got.indicators.iter().find(|i| i.value == v).unwrap();
    assert_eq!(render(by_value("8.8.8.8"), &o).id21, "indicator--5858b9e9-063f-573b-bb34-42cab292eaeb");
    assert_eq!(render(by_value("1.1.1.1"), &o).id21, "indicator--40037b66-eb32-562f-8ed0-60f8db598e40");
    assert_eq!(render(by_value("8.8.8.8"), &opts()).id21, "ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7");
    for i in &got.indicators {
        let r = render(i, &o);
        assert!(!r.json20.contains("[\"\"]"), "never empty labels");
    }
}

#[test]
fn every_sample_renders_deterministically() {
    let all: BTreeSet<String> = ["ipv4-addr", "file", "mutex"].iter().map(|s| s.to_string()).collect();
    let o = RenderOptions { as_indicator: all, extension_fields: ExtensionFields::All, ..opts() };
    let run = || {
        let inds = samples::sample_indicators();
        let rendered: Vec<Rendered> = inds.iter().map(|i| render(i, &o)).collect();
        let members: Vec<&Indicator> = inds.iter().collect();
        let refs: Vec<&Rendered> = rendered.iter().collect();
        let extras = collection_extras(&members, &refs, &o);
        (rendered, extras)
    };
    let (a, ax) = run();
    let (b, bx) = run();
    assert_eq!(a, b);
    assert_eq!(ax, bx);
    assert_eq!(a.len(), samples::sample_records().len());
}

#[test]
fn without_a_producer_there_is_no_created_by_ref() {
    let o = RenderOptions { producer: None, ..opts() };
    let i = ind("Malware", "M", 3, json!({}));
    let r = render(&i, &o);
    assert!(j(&r.json21).get("created_by_ref").is_none());
    assert!(collection_extras(&[&i], &[&r], &o).is_empty());
    let x = RenderOptions { extension_fields: ExtensionFields::All, ..o };
    let r = render(&i, &x);
    let types: Vec<String> = collection_extras(&[&i], &[&r], &x).into_iter().map(|e| e.type21).collect();
    assert_eq!(types, ["identity", "extension-definition"], "an extension definition needs its creator");
}

#[test]
fn values_the_21_schema_refuses_become_indicators() {
    use edge_feed::stix::observable::{expand_hive, is_cpe23, is_domain, is_ipv4, is_ipv6, is_registry_key};
    assert!(is_ipv4("10.0.0.0/8") && !is_ipv4("010.0.0.1") && !is_ipv4("1.2.3.4/33") && !is_ipv4("1.2.3.4:80"));
    assert!(is_ipv6("2001:db8::/32") && is_ipv6("fe80::1%eth0") && !is_ipv6("::ffff:1.2.3.4"));
    assert!(
        is_domain("bücher.example") && !is_domain("a_b.example") && !is_domain("*.x.com") && !is_domain("ab--c.com")
    );
    assert_eq!(expand_hive("hklm\\Software\\x"), "HKEY_LOCAL_MACHINE\\Software\\x");
    assert_eq!(expand_hive("HKU"), "HKEY_USERS");
    assert_eq!(expand_hive("Computer\\HKLM"), "Computer\\HKLM");
    assert!(is_registry_key("HKEY_CURRENT_USER\\x") && !is_registry_key("Computer\\HKCU\\x"));
    assert!(is_cpe23("cpe:2.3:a:microsoft:word:2019:*:*:*:*:*:*:*") && !is_cpe23("cpe:/a:microsoft:word"));

    let reg = render(&ind("Registry Key", "HKLM\\Software\\Run", 3, json!({})), &opts());
    assert_eq!(reg.type21, "windows-registry-key");
    assert_eq!(j(&reg.json21)["key"], "HKEY_LOCAL_MACHINE\\Software\\Run");
    assert_eq!(j(&reg.json20)["pattern"], r"[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\Software\\Run']");
    for (ty, v) in
        [("IP", "010.1.1.1"), ("Domain", "a_b.example.com"), ("IPv6", "::ffff:1.2.3.4"), ("Registry Key", "X\\HKCU")]
    {
        let r = render(&ind(ty, v, 2, json!({})), &opts());
        assert_eq!(r.type21, "indicator", "{ty} {v}");
        assert_eq!(r.id21, ids::sdo_id(&ids::namespace_for("test"), "indicator", v));
    }
    let sw = render(&ind("Software", "Word", 0, json!({"cpe": "not a cpe"})), &opts());
    assert!(j(&sw.json21).get("cpe").is_none());
}

#[test]
fn sdos_over_20_exactly() {
    let m = render(&ind("Malware", "Emotet", 3, json!({"malwaretypes": ["Trojan"], "aliases": ["Geodo"]})), &opts());
    assert_eq!(
        m.json20,
        format!(
            r#"{{"type":"malware","id":"{}","created_by_ref":"{PRODUCER20}","created":"2024-03-01T10:00:00.123Z","modified":"2024-04-01T12:30:00.654Z","name":"Emotet","labels":["trojan"]}}"#,
            m.id20
        )
    );
    assert_eq!(
        m.json21,
        format!(
            r#"{{"type":"malware","spec_version":"2.1","id":"{}","created_by_ref":"{PRODUCER21}","created":"2024-03-01T10:00:00.123456Z","modified":"2024-04-01T12:30:00.654321Z","name":"Emotet","malware_types":["trojan"],"is_family":false,"aliases":["Geodo"],"confidence":85}}"#,
            m.id21
        )
    );
    let l = render(&ind("Location", "DE", 0, json!({})), &opts());
    assert_eq!(
        l.json20,
        format!(
            r#"{{"type":"x-taxii-edge-location","id":"{}","created_by_ref":"{PRODUCER20}","created":"2024-03-01T10:00:00.123Z","modified":"2024-04-01T12:30:00.654Z","name":"DE","country":"DE"}}"#,
            l.id20
        )
    );
}

/// A digest of every sample rendered under two settings (both versions, with the extras): any change to the
/// rendered bytes fails here. After an intended change, replace the digest with the one printed.
#[test]
fn the_rendered_bytes_are_pinned() {
    use sha2::{Digest, Sha256};
    let inds = samples::sample_indicators();
    let mut h = Sha256::new();
    let all: BTreeSet<String> = ["ipv4-addr", "file", "windows-registry-key"].iter().map(|s| s.to_string()).collect();
    for o in [
        opts(),
        RenderOptions { as_indicator: all, extension_fields: ExtensionFields::All, revoke_expired: true, ..opts() },
    ] {
        let rendered: Vec<Rendered> = inds.iter().map(|i| render(i, &o)).collect();
        let members: Vec<&Indicator> = inds.iter().collect();
        let refs: Vec<&Rendered> = rendered.iter().collect();
        for r in rendered.iter().chain(collection_extras(&members, &refs, &o).iter()) {
            for part in [&r.id21, &r.type21, &r.json21, &r.id20, &r.type20, &r.json20] {
                h.update(part.as_bytes());
                h.update([0]);
            }
            h.update(r.version.0.to_be_bytes());
        }
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        digest, "49e524373e65983c577802300f7a827c71078ad3a2cc602a726f9758e5d75be2",
        "rendered bytes changed; if intended, pin {digest}"
    );
}

#[test]
fn options_are_checked() {
    assert!(as_indicators(&["ipv4-addr", "mutex"]).check().is_ok());
    let e = as_indicators(&["ipv4", "file"]).check().unwrap_err().to_string();
    assert!(e.contains("ipv4") && e.contains("ipv4-addr, ipv6-addr"), "{e}");
    for t in edge_feed::stix::SCO_TYPES {
        assert!(as_indicators(&[t]).check().is_ok());
    }
}

#[test]
fn extension_property_names_are_valid_stix() {
    let mut o = opts();
    o.extension_fields = ExtensionFields::All;
    let mut i = ind("Mutex", "m", 0, json!({"1st seen": "x", "Nested": {"camelKey": 1, "": null}}));
    i.fields.insert("id".into(), json!("42"));
    let r = render(&i, &o);
    let ext = j(&r.json21)["extensions"].as_object().unwrap().values().next().unwrap().clone();
    assert_eq!(ext["xsoar_1st_seen"], "x");
    assert_eq!(ext["xsoar_id"], "42");
    assert_eq!(ext["nested"], json!({"camelkey": 1}));
    let v20 = j(&r.json20);
    assert_eq!((v20["x_xsoar_1st_seen"].clone(), v20["x_xsoar_id"].clone()), (json!("x"), json!("42")));
}
