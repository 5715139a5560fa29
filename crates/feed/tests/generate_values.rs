//! The synthetic indicator generator: deterministic, every type present, values valid for their type, and
//! output the XSOAR importer reads without a single error.

use edge_core::time::Timestamp;
use edge_feed::generate::{generate, Format, Options, TYPES};
use edge_feed::import::xsoar::import_str;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};

const NOW: &str = "2026-11-01T00:00:00Z";

fn make(count: u64, seed: u64, format: Format) -> Vec<u8> {
    let opts = Options { count, seed, now: Timestamp::parse(NOW).unwrap(), format };
    let mut out = Vec::new();
    let summary = generate(&opts, &mut out).unwrap();
    assert_eq!(summary.total(), count);
    out
}

fn records(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).unwrap();
    if text.starts_with("{\n") {
        let doc: Value = serde_json::from_str(text).unwrap();
        return doc["iocs"].as_array().unwrap().clone();
    }
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn time(v: &Value) -> Timestamp {
    Timestamp::parse(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap()
}

fn is_domain(s: &str) -> bool {
    let reserved = [".example.com", ".example.net", ".example.org", ".test"];
    reserved.iter().any(|z| s.ends_with(z))
        && s.split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
}

/// Checks one record's value and type-specific fields; panics with the record on failure.
fn check(r: &Value) {
    let v = r["value"].as_str().unwrap();
    let t = r["indicator_type"].as_str().unwrap();
    let cf = &r["CustomFields"];
    let ok = match t {
        "IP" => v.parse::<Ipv4Addr>().is_ok(),
        "CIDR" => {
            let (a, p) = v.split_once('/').unwrap();
            let (a, p): (Ipv4Addr, u32) = (a.parse().unwrap(), p.parse().unwrap());
            (8..=32).contains(&p) && u32::from(a) & !(u32::MAX << (32 - p)) == 0
        }
        "IPv6" => v.parse::<Ipv6Addr>().is_ok_and(|a| a.segments()[..2] == [0x2001, 0x0db8]),
        "IPv6CIDR" => {
            let (a, p) = v.split_once('/').unwrap();
            let (a, p): (Ipv6Addr, u32) = (a.parse().unwrap(), p.parse().unwrap());
            a.segments()[..2] == [0x2001, 0x0db8] && (32..=128).contains(&p) && u128::from(a) << p == 0
        }
        "Domain" => is_domain(v),
        "DomainGlob" => v.strip_prefix("*.").is_some_and(is_domain),
        "URL" => {
            let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://")).unwrap_or("");
            let host = rest.split('/').next().unwrap();
            is_domain(host) && rest.len() > host.len()
        }
        "Email" => v.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && (is_domain(d) || ["example.com", "example.net", "example.org"].contains(&d))
        }),
        "File" => {
            let hashes = [("md5", 32), ("sha1", 40), ("sha256", 64), ("sha512", 128)];
            hashes.iter().all(|(k, n)| is_hex(cf[k].as_str().unwrap(), *n))
                && hashes.iter().any(|(k, _)| cf[k] == v)
                && !cf["associatedfilenames"].as_array().unwrap().is_empty()
        }
        "Registry Key" => {
            let kv = &cf["keyvalue"][0];
            (v.starts_with("HKEY_LOCAL_MACHINE\\") || v.starts_with("HKEY_CURRENT_USER\\"))
                && v.ends_with(&format!("\\{}", kv["name"].as_str().unwrap()))
                && kv["type"] == "REG_SZ"
                && kv["data"].is_string()
        }
        "Account" => {
            !v.is_empty()
                && ["windows-local", "windows-domain", "unix"].contains(&cf["accounttype"].as_str().unwrap())
                && cf["userid"].is_string()
                && cf["displayname"].is_string()
        }
        "ASN" => {
            v.strip_prefix("AS").is_some_and(|n| {
                let n: u64 = n.parse().unwrap();
                (64_496..=65_534).contains(&n) || (4_200_000_000..=4_294_967_294).contains(&n)
            }) && cf["name"].is_string()
        }
        "Software" => {
            let cpe = cf["cpe"].as_str().unwrap();
            cpe.starts_with("cpe:2.3:a:")
                && cpe.contains(cf["version"].as_str().unwrap())
                && v.starts_with(cf["vendor"].as_str().unwrap())
        }
        "X509 Certificate" => {
            v.len() >= 2
                && v.bytes().all(|b| b.is_ascii_hexdigit())
                && time(&cf["validitynotbefore"]) < time(&cf["validitynotafter"])
                && cf["subject"][0]["title"] == "CN"
                && cf["issuer"][0]["data"].is_string()
                && is_hex(cf["sha256"].as_str().unwrap(), 64)
        }
        "Mutex" => v.starts_with("Global\\") || v.starts_with("Local\\"),
        "CVE" => {
            let parts: Vec<&str> = v.split('-').collect();
            parts.len() == 3
                && parts[0] == "CVE"
                && parts[1].len() == 4
                && parts[2].len() >= 4
                && parts[1..].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
                && cf["cvss"].as_f64().is_some_and(|s| (0.0..=10.0).contains(&s))
        }
        "Attack Pattern" => {
            let id = cf["mitreid"].as_str().unwrap();
            id.starts_with('T')
                && cf["externalreferences"][0]["external_id"] == id
                && cf["killchainphases"].as_array().is_some_and(|p| !p.is_empty())
        }
        "Malware" => cf["ismalwarefamily"].is_boolean() && cf["malwaretypes"][0].is_string(),
        "Report" => time(&cf["published"]) <= time(&r["modified"]) && cf["reportobjectreferences"].is_array(),
        "Identity" => cf["identityclass"] == "organization",
        "Location" => {
            cf["countrycode"].as_str().is_some_and(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
                && cf["region"].is_string()
        }
        "Threat Actor" | "Intrusion Set" | "Campaign" => cf["aliases"].is_array() && cf["description"].is_string(),
        "Tool" | "Course of Action" | "Infrastructure" => cf["description"].is_string(),
        other => panic!("unexpected type {other}"),
    };
    assert!(ok, "invalid {t}: {r}");
    let score = r["score"].as_u64().unwrap();
    assert!(score <= 3, "{r}");
    if let Some(tlp) = cf.get("trafficlightprotocol") {
        assert!(["WHITE", "GREEN", "AMBER", "RED"].contains(&tlp.as_str().unwrap()), "{r}");
    }
}

/// Checks every record and the file as a whole; returns the count per type.
fn check_all(recs: &[Value]) -> BTreeMap<String, usize> {
    let now = Timestamp::parse(NOW).unwrap();
    let year = 366 * 86_400 * 1_000_000;
    let mut counts = BTreeMap::new();
    let mut seen_values = HashSet::new();
    let mut ids = HashSet::new();
    for r in recs {
        check(r);
        let t = r["indicator_type"].as_str().unwrap().to_string();
        let v = r["value"].as_str().unwrap().to_string();
        assert!(ids.insert(r["id"].as_str().unwrap().to_string()), "duplicate id: {r}");
        let (created, modified) = (time(&r["timestamp"]), time(&r["modified"]));
        assert!(created.micros() >= now.micros() - year && created <= modified && modified <= now, "{r}");
        let status = r["expirationStatus"].as_str().unwrap();
        let exp = r["expiration"].as_str().unwrap();
        if exp.starts_with("0001-") {
            assert_eq!(status, "active", "{r}");
        } else {
            assert_eq!(status == "expired", Timestamp::parse(exp).unwrap() <= now, "{r}");
        }
        // Relationships point at values written earlier in the same file.
        for rel in r["relationships"].as_array().into_iter().flatten() {
            let target = rel["entityB"].as_str().unwrap();
            assert!(seen_values.contains(target), "relationship to a value not written before it: {r}");
            assert!(rel["name"].is_string());
        }
        assert!(seen_values.insert(v), "duplicate value: {r}");
        *counts.entry(t).or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    for format in [Format::Json, Format::Jsonl] {
        assert_eq!(make(500, 9, format), make(500, 9, format));
        assert_ne!(make(500, 9, format), make(500, 10, format));
    }
}

#[test]
fn json_and_jsonl_hold_the_same_records() {
    assert_eq!(records(&make(300, 4, Format::Json)), records(&make(300, 4, Format::Jsonl)));
    let empty: Value = serde_json::from_slice(&make(0, 4, Format::Json)).unwrap();
    assert_eq!(empty, serde_json::json!({"iocs": []}));
}

#[test]
fn every_type_is_present_three_times_from_81_indicators() {
    let counts = check_all(&records(&make(81, 1, Format::Jsonl)));
    for (t, _) in TYPES {
        assert_eq!(counts.get(t), Some(&3), "{t}: {counts:?}");
    }
}

#[test]
fn values_are_valid_unique_and_in_a_realistic_mix() {
    let recs = records(&make(20_000, 77, Format::Jsonl));
    let counts = check_all(&recs);
    assert_eq!(counts.len(), TYPES.len(), "{counts:?}");
    let share = |t: &str| counts[t] as f64 / recs.len() as f64;
    assert!(share("IP") > 0.25 && share("IP") < 0.35, "{counts:?}");
    for t in ["Domain", "URL", "File"] {
        assert!(share(t) > 0.1, "{t}: {counts:?}");
    }
    for (t, n) in &counts {
        assert!(*n >= 30, "{t} is too rare: {counts:?}");
    }
    let with = |f: &dyn Fn(&Value) -> bool| recs.iter().filter(|r| f(r)).count();
    assert!(with(&|r| r["expirationStatus"] == "expired") > 1_000);
    assert!(with(&|r| r["CustomFields"]["trafficlightprotocol"].is_string()) > 5_000);
    assert!(with(&|r| r["relationships"].is_array()) > 1_000);
    assert!(with(&|r| !r["tags"].as_array().unwrap().is_empty()) > 5_000);
    // The first addresses stay in the documentation ranges.
    let first_ip: Ipv4Addr =
        recs.iter().find(|r| r["indicator_type"] == "IP").unwrap()["value"].as_str().unwrap().parse().unwrap();
    assert!(first_ip.is_documentation(), "{first_ip}");
}

#[test]
fn the_importer_reads_every_generated_indicator() {
    for format in [Format::Json, Format::Jsonl] {
        let bytes = make(3_000, 5, format);
        let got = import_str("generated", std::str::from_utf8(&bytes).unwrap()).unwrap();
        assert!(got.errors.is_empty(), "{:?}", &got.errors[..got.errors.len().min(5)]);
        assert_eq!(got.indicators.len(), 3_000);
        let file = got.indicators.iter().find(|i| i.xsoar_type == "File").unwrap();
        assert!(file.field_str("sha256").is_some());
        assert!(got.indicators.iter().any(|i| !i.relationships.is_empty()));
    }
}

#[test]
fn the_demo_feed_is_valid() {
    let text = std::fs::read_to_string(edge_testkit::repo("demo/indicators.json")).unwrap();
    let counts = check_all(&records(text.as_bytes()));
    for (t, _) in TYPES {
        assert!(counts.get(t).is_some_and(|n| *n >= 3), "{t}: {counts:?}");
    }
}
