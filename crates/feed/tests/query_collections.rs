//! Collection queries end to end: a collections JSON and an indicator file, as a build reads them.

use edge_core::time::Timestamp;
use edge_feed::config::parse_collections;
use edge_feed::import::{import_file, xsoar::import_str};
use edge_feed::query::Query;
use std::path::Path;

fn fixture(name: &str) -> String {
    edge_testkit::repo(&format!("tests/fixtures/query/{name}")).display().to_string()
}

#[test]
fn every_collection_selects_what_its_query_says() {
    let cols = parse_collections(&std::fs::read_to_string(fixture("collections.json")).unwrap()).unwrap();
    let got = import_file(Path::new(&fixture("indicators.jsonl"))).unwrap();
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    let now = Timestamp::parse("2025-06-15T00:00:00Z").unwrap();
    let expected: &[(&str, &[&str])] = &[
        (
            "All",
            &[
                "8.8.8.8",
                "1.1.1.1",
                "login.example.com",
                "www.example.com",
                "http://evil.example.net/payload.exe",
                "44d88612fea8a8f36de82e1278abb02f",
                "CVE-2024-3400",
            ],
        ),
        ("IPs", &["8.8.8.8", "1.1.1.1"]),
        ("Some Feed", &["8.8.8.8", "login.example.com"]),
        ("Bad", &["8.8.8.8", "http://evil.example.net/payload.exe", "44d88612fea8a8f36de82e1278abb02f"]),
        (
            "Suspicious or worse",
            &[
                "8.8.8.8",
                "login.example.com",
                "http://evil.example.net/payload.exe",
                "44d88612fea8a8f36de82e1278abb02f",
                "CVE-2024-3400",
            ],
        ),
        ("APT28", &["8.8.8.8", "http://evil.example.net/payload.exe"]),
        ("Untagged", &["1.1.1.1", "www.example.com", "CVE-2024-3400"]),
        ("Example domains", &["login.example.com", "www.example.com"]),
        (
            "Not IPs or files",
            &["login.example.com", "www.example.com", "http://evil.example.net/payload.exe", "CVE-2024-3400"],
        ),
        ("Recent", &["login.example.com", "http://evil.example.net/payload.exe", "CVE-2024-3400"]),
        ("Since June", &["8.8.8.8", "login.example.com"]),
        ("Expired", &["www.example.com"]),
        ("High confidence", &["8.8.8.8"]),
        ("Critical CVEs", &["CVE-2024-3400"]),
        ("Listed", &["8.8.8.8", "1.1.1.1", "CVE-2024-3400"]),
        ("Seen", &["login.example.com"]),
        (
            "Actor",
            &[
                "www.example.com",
                "http://evil.example.net/payload.exe",
                "44d88612fea8a8f36de82e1278abb02f",
                "CVE-2024-3400",
            ],
        ),
    ];
    assert_eq!(cols.len(), expected.len());
    for (col, (name, values)) in cols.iter().zip(expected) {
        assert_eq!(&col.name, name);
        let selected: Vec<&str> =
            got.indicators.iter().filter(|i| col.query.matches_at(i, now)).map(|i| i.value.as_str()).collect();
        assert_eq!(&selected, values, "collection {name}: {}", col.query_text);
    }
}

#[test]
fn the_xsoar_vector_with_the_documented_queries() {
    let text = std::fs::read_to_string(edge_testkit::repo("../shared/vectors/xsoar/ip_iocs.json"))
        .or_else(|_| std::fs::read_to_string("/work/shared/vectors/xsoar/ip_iocs.json"));
    let Ok(text) = text else {
        eprintln!("skipped: the XSOAR vectors are not present");
        return;
    };
    let inds = import_str("ip_iocs.json", &text).unwrap().indicators;
    let count = |q: &str| inds.iter().filter(|i| Query::parse(q).unwrap().matches(i)).count();
    assert_eq!(count("type:IP"), 5);
    assert_eq!(count("type:File"), 0);
    assert_eq!(count("type:SomeType and sourceBrands:\"Some Feed\""), 0);
    assert_eq!(count("sourceBrands:\"Some Feed\""), 5);
    assert_eq!(count("reputation:Bad expirationStatus:active"), 5);
    assert_eq!(count("service:\"Daily Threat Feed\""), 5);
    assert_eq!(count("lastSeen:"), 5, "XSOAR's zero time is no time");
    assert_eq!(count("firstSeen:2021-12-08"), 5);
    assert_eq!(count("modified:>=\"2021-12-08T10:05:28.62Z\""), 2);
    assert_eq!(count("value:1.*"), 2);
    // The forms the XSOAR integration itself builds: create_query with types and added_after, and the
    // relationship lookup by values.
    assert_eq!(
        count(r#"(sourceBrands:"Some Feed") and (type:"IP" or type:"IPv6") and modified:>="2021-12-08T10:05:28.62Z""#),
        2
    );
    assert_eq!(count(r#"value:("8.8.8.8" "1.1.1.1" )"#), 2);
}

#[test]
fn a_query_that_does_not_parse_names_the_collection_position_and_expectation() {
    let e = parse_collections(r#"{"Bad one": "type:IP and (score:>=2"}"#).unwrap_err().to_string();
    assert_eq!(
        e,
        "collection \"Bad one\": the query \"type:IP and (score:>=2\" does not parse at character 23: expected ')' \
         to close the '(' at character 13, found the end of the query"
    );
}
