//! Request limits through the service: each is a 4xx TAXII error in the negotiated version, checked before
//! authentication, and a page size above the largest is clamped and said so.

use edge_testkit as common;

use common::{call, feed_store, json, request, V20, V21};
use edge_core::auth::Access;
use edge_core::server::{Service, Settings};
use edge_core::taxii::limits::{Limits, CLAMPED_HEADER};

/// The objects path of the only collection in `store`.
fn objects(store: &edge_core::store::MemoryStore) -> String {
    let m = edge_core::snapshot::reader::Reader { store, cache: &Default::default() };
    let snap = pollster::block_on(m.current()).unwrap();
    format!("/threatintel/collections/{}/objects/", snap.manifest.collections[0].id)
}

fn ips(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(r#"{{"value":"10.2.0.{i}","indicator_type":"IP","score":1,"timestamp":"2024-01-01T00:00:00Z"}}"#)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_limit_is_a_taxii_4xx_in_the_negotiated_version() {
    let store = feed_store(r#"{"Feed": ""}"#, &ips(3), "limits");
    let svc = Service::new(Settings::default());
    let objs = objects(&store);
    let long = "a".repeat(9000);
    let values = vec!["indicator"; 101].join(",");
    let many: Vec<(String, String)> = (0..33).map(|i| (format!("_{i}"), "1".to_string())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>, u16, Option<&'a str>);
    let cases: Vec<Case> = vec![
        ("URL", format!("/threatintel/collections/{long}/"), vec![], vec![], 414, None),
        ("query URL", objs.clone(), vec![("match[id]", long.as_str())], vec![], 414, None),
        ("one header", objs.clone(), vec![], vec![("x-padding", long.as_str())], 431, Some("x-padding")),
        ("parameters", objs.clone(), many.clone(), vec![], 400, Some("_32")),
        ("filter values", objs.clone(), vec![("match[type]", values.as_str())], vec![], 400, Some("match[type]")),
        ("next", objs.clone(), vec![("next", &long[..3000])], vec![], 400, Some("next")),
    ];
    for (name, path, query, headers, status, parameter) in cases {
        for accept in [V21, V20] {
            let mut h = headers.clone();
            h.push(("accept", accept));
            let r = call(&svc, &store, &request("GET", &path, &query, &h));
            assert_eq!(r.status, status, "{name}: {}", String::from_utf8_lossy(&r.body));
            assert_eq!(r.header("content-type"), Some(accept), "{name}");
            let j = json(&r);
            assert_eq!(j["http_status"], status.to_string());
            assert_eq!(j["details"]["parameter"].as_str(), parameter, "{name}");
        }
    }
    // Many headers that are each small but too much together.
    let hs: Vec<(String, String)> = (0..10).map(|i| (format!("x-h{i}"), "b".repeat(4000))).collect();
    let hs: Vec<(&str, &str)> = hs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(call(&svc, &store, &request("GET", &objs, &[], &hs)).status, 431);
}

#[test]
fn limits_come_before_authentication_and_follow_settings() {
    let store = feed_store(r#"{"Feed": ""}"#, &ips(3), "limits");
    let closed = Access::from_config(None, None, None, None).unwrap();
    let limits = Limits { max_url: 64, ..Limits::default() };
    let svc = Service::new(Settings { access: closed, limits, ..Settings::default() });
    let r = call(&svc, &store, &request("GET", &format!("/{}", "x".repeat(80)), &[], &[("accept", V21)]));
    assert_eq!(r.status, 414);
    assert_eq!(call(&svc, &store, &request("GET", "/taxii2/", &[], &[("accept", V21)])).status, 401);
}

#[test]
fn a_page_above_the_largest_is_clamped_and_says_so() {
    let store = feed_store(r#"{"Feed": ""}"#, &ips(30), "limits");
    let objs = objects(&store);
    let svc = Service::new(Settings { max_limit: 10, default_limit: 10, ..Settings::default() });
    let r = call(&svc, &store, &request("GET", &objs, &[("limit", "25")], &[("accept", V21)]));
    assert_eq!(r.status, 200);
    assert_eq!(json(&r)["objects"].as_array().unwrap().len(), 10);
    assert_eq!(r.header(CLAMPED_HEADER), Some("10; requested=25"));
    let r = call(&svc, &store, &request("GET", &objs, &[("limit", "5")], &[("accept", V21)]));
    assert_eq!(r.header(CLAMPED_HEADER), None);
    let r = call(
        &svc,
        &store,
        &request(
            "GET",
            &objs,
            &[],
            &[("accept", "application/vnd.oasis.stix+json; version=2.0"), ("range", "items=0-99")],
        ),
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("items 0-9/30"));
    assert_eq!(r.header(CLAMPED_HEADER), Some("10; requested=100"));
}
