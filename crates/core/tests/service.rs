//! The request → response function natively, over an in-memory store holding a real built snapshot.

use edge_testkit as common;

use common::{call, feed_store, json, request, V20, V21};
use edge_core::server::{Service, Settings};
use edge_core::store::MemoryStore;
use edge_core::taxii::Response;
use serde_json::Value;

const C1: &str = "4c649e16-2bb7-50f5-8826-2a2d0a0b9631";

fn indicators(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"value":"10.0.{}.{}","indicator_type":"IP","score":{},"timestamp":"2024-01-01T00:00:00Z","modified":"2024-02-01T00:00:{:02}.{:06}Z"}}"#,
                i / 256,
                i % 256,
                i % 4,
                i % 60,
                i
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn setup(n: usize) -> (Service, MemoryStore) {
    let store = feed_store(r#"{"Collection1": "type:IP", "Empty": "type:URL"}"#, &indicators(n), "test");
    (Service::new(Settings { default_limit: 100, max_limit: 500, ..Settings::default() }), store)
}

fn get(svc: &Service, store: &MemoryStore, path_query: &str, accept: Option<&str>, extra: &[(&str, &str)]) -> Response {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let query: Vec<(&str, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k, v.replace('+', " "))
        })
        .collect();
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut headers = extra.to_vec();
    if let Some(a) = accept {
        headers.push(("accept", a));
    }
    call(svc, store, &request("GET", path, &query, &headers))
}

#[test]
fn discovery_and_collections() {
    let (svc, store) = setup(3);
    let r = get(&svc, &store, "/taxii2/", Some(V21), &[]);
    assert_eq!((r.status, r.header("content-type")), (200, Some(V21)));
    assert_eq!(json(&r)["api_roots"][0], "https://feeds.example/threatintel/");
    let r = get(&svc, &store, "/taxii/", None, &[]);
    assert_eq!(r.header("content-type"), Some(V20));
    let r = get(&svc, &store, "/threatintel/collections", Some(V21), &[]);
    let cols = json(&r);
    assert_eq!(cols["collections"][0]["id"], C1);
    assert_eq!(cols["collections"][0]["media_types"][0], "application/stix+json;version=2.1");
}

#[test]
fn pages_every_object_exactly_once_by_next() {
    let (svc, store) = setup(1234);
    let mut seen = std::collections::HashSet::new();
    let mut url = format!("/threatintel/collections/{C1}/objects/?limit=100");
    let mut last_date = String::new();
    loop {
        let r = get(&svc, &store, &url, Some(V21), &[]);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let first = r.header("x-taxii-date-added-first").unwrap().to_string();
        assert!(first > last_date, "pages are ascending by date_added");
        last_date = r.header("x-taxii-date-added-last").unwrap().to_string();
        let body = json(&r);
        for o in body["objects"].as_array().unwrap() {
            assert!(seen.insert(o["id"].as_str().unwrap().to_string()), "duplicate {}", o["id"]);
        }
        if body["more"] != true {
            break;
        }
        url = format!("/threatintel/collections/{C1}/objects/?limit=100&next={}", body["next"].as_str().unwrap());
    }
    assert_eq!(seen.len(), 1234);
}

#[test]
fn pages_by_added_after_header() {
    let (svc, store) = setup(350);
    let mut after = String::new();
    let mut count = 0;
    for _ in 0..10 {
        let q = if after.is_empty() { String::new() } else { format!("&added_after={after}") };
        let r = get(&svc, &store, &format!("/threatintel/collections/{C1}/objects/?limit=100{q}"), Some(V21), &[]);
        let body = json(&r);
        let objs = body["objects"].as_array().expect("every page lists its objects");
        let last = r.header("x-taxii-date-added-last").expect("a page after added_after keeps the cursor");
        if objs.is_empty() {
            assert_eq!(last, after, "the empty page keeps the cursor where it was");
            break;
        }
        count += objs.len();
        after = last.to_string();
    }
    assert_eq!(count, 350);
}

#[test]
fn bad_requests_get_taxii_errors() {
    let (svc, store) = setup(3);
    let base = format!("/threatintel/collections/{C1}/objects/");
    for (q, param) in
        [("limit=0", "limit"), ("limit=x", "limit"), ("added_after=nope", "added_after"), ("next=garbage", "next")]
    {
        let r = get(&svc, &store, &format!("{base}?{q}"), Some(V21), &[]);
        let e = json(&r);
        assert_eq!(
            (r.status, e["http_status"].as_str(), e["details"]["parameter"].as_str()),
            (400, Some("400"), Some(param)),
            "{q}"
        );
        assert_eq!(r.header("content-type"), Some(V21));
    }
    let r = get(&svc, &store, "/threatintel/collections/nope/objects/", Some(V21), &[]);
    assert_eq!(r.status, 404);
    let r = get(&svc, &store, "/nowhere", Some(V21), &[]);
    assert_eq!((r.status, json(&r)["http_status"].as_str()), (404, Some("404")));
    let r = get(&svc, &store, "/taxii2/", Some("text/html"), &[]);
    assert_eq!(r.status, 406);
    assert!(json(&r)["description"].as_str().unwrap().contains("application/taxii+json;version=2.1"));
}

#[test]
fn taxii20_bundles_and_ranges() {
    let (svc, store) = setup(30);
    let stix20 = "application/vnd.oasis.stix+json; version=2.0";
    let base = format!("/threatintel/collections/{C1}/objects/");
    let r = get(&svc, &store, &base, Some(stix20), &[("range", "items=0-9")]);
    assert_eq!((r.status, r.header("content-type")), (206, Some(stix20)));
    assert_eq!(r.header("content-range"), Some("items 0-9/30"));
    let b = json(&r);
    assert_eq!(b["type"], "bundle");
    assert_eq!(b["spec_version"], "2.0");
    assert_eq!(b["objects"].as_array().unwrap().len(), 10);
    assert_eq!(b["objects"][0]["type"], "indicator");
    let r = get(&svc, &store, &base, Some(stix20), &[("range", "items 25-40")]);
    assert_eq!(r.header("content-range"), Some("items 25-29/30"));
    let r = get(&svc, &store, &base, Some(stix20), &[("range", "items=30-39")]);
    assert_eq!((r.status, r.header("content-range")), (416, Some("items */30")));
    for huge in ["items=0-18446744073709551615", "items=18446744073709551615-18446744073709551615"] {
        let r = get(&svc, &store, &base, Some(stix20), &[("range", huge)]);
        assert!(matches!(r.status, 206 | 416), "{huge}: {}", r.status);
    }
    let again = get(&svc, &store, &base, Some(stix20), &[("range", "items=0-9")]);
    assert_eq!(
        again.body,
        get(&svc, &store, &base, Some(stix20), &[("range", "items=0-9")]).body,
        "deterministic bundle"
    );
}

#[test]
fn object_by_id_versions_and_manifest() {
    let (svc, store) = setup(5);
    let r = get(&svc, &store, &format!("/threatintel/collections/{C1}/manifest/?limit=2"), Some(V21), &[]);
    let m = json(&r);
    assert_eq!(m["objects"].as_array().unwrap().len(), 2);
    assert_eq!(m["more"], true);
    let id = m["objects"][0]["id"].as_str().unwrap().to_string();
    let r = get(&svc, &store, &format!("/threatintel/collections/{C1}/objects/{id}/"), Some(V21), &[]);
    assert_eq!(json(&r)["objects"][0]["id"], id.as_str());
    let r = get(&svc, &store, &format!("/threatintel/collections/{C1}/objects/{id}/versions/"), Some(V21), &[]);
    assert_eq!(json(&r)["versions"].as_array().unwrap().len(), 1);
    let r = get(
        &svc,
        &store,
        &format!("/threatintel/collections/{C1}/objects/indicator--00000000-0000-4000-8000-000000000000/"),
        Some(V21),
        &[],
    );
    assert_eq!(r.status, 404);
    let r = get(
        &svc,
        &store,
        &format!("/threatintel/collections/{C1}/objects/?match[type]=ipv4-addr&limit=2"),
        Some(V21),
        &[],
    );
    assert_eq!(json(&r)["objects"].as_array().unwrap().len(), 2);
    let r = get(&svc, &store, &format!("/threatintel/collections/{C1}/objects/?match[type]=malware"), Some(V21), &[]);
    assert_eq!(r.body, br#"{"more":false,"objects":[]}"#);
}

#[test]
fn strong_etags_and_304() {
    let (svc, store) = setup(20);
    let url = format!("/threatintel/collections/{C1}/objects/?limit=5");
    let r = get(&svc, &store, &url, Some(V21), &[]);
    let etag = r.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(get(&svc, &store, &url, Some(V21), &[]).header("etag"), Some(etag.as_str()), "stable");
    let again = get(&svc, &store, &url, Some(V21), &[("if-none-match", &etag)]);
    assert_eq!((again.status, again.body.len()), (304, 0));
    let other = get(&svc, &store, &url, Some(V21), &[("if-none-match", "\"nope\"")]);
    assert_eq!(other.status, 200);
    let v20 = get(&svc, &store, &url, Some("application/vnd.oasis.taxii+json; version=2.0"), &[]);
    assert_ne!(v20.header("etag"), Some(etag.as_str()), "each version its own tag");
    let next = serde_json::from_slice::<Value>(&r.body).unwrap()["next"].as_str().unwrap().to_string();
    let paged = get(&svc, &store, &format!("{url}&next={next}"), Some(V21), &[]);
    assert_eq!(paged.header("cache-control"), Some("public, max-age=86400"));
}

/// The real in-memory store, counting reads: a request's storage work is part of its contract.
struct Counting<'a>(&'a MemoryStore, std::cell::Cell<usize>);

impl edge_core::store::Store for Counting<'_> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, edge_core::store::StoreError> {
        self.1.set(self.1.get() + 1);
        self.0.get(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool, edge_core::store::StoreError> {
        self.0.exists(key).await
    }
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), edge_core::store::StoreError> {
        self.0.put(key, bytes).await
    }
}

#[test]
fn a_page_costs_a_few_storage_reads() {
    let (svc, store) = setup(5000);
    let counting = Counting(&store, std::cell::Cell::new(0));
    let objects = format!("/threatintel/collections/{C1}/objects/");
    let reads = |svc: &Service, query: &[(&str, &str)]| {
        counting.1.set(0);
        let r = call(svc, &counting, &request("GET", &objects, query, &[("accept", V21)]));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        (counting.1.get(), r)
    };
    // Cold: pointer, manifest, index, one segment.
    let (cold, first) = reads(&svc, &[("limit", "400")]);
    assert_eq!(cold, 4);
    // Warm: only the pointer; everything else is cached by content hash.
    assert_eq!(reads(&svc, &[("limit", "400")]).0, 1);
    // A next page from a cold isolate: the token names the snapshot, so manifest, index and one segment.
    let next = serde_json::from_slice::<Value>(&first.body).unwrap()["next"].as_str().unwrap().to_string();
    let svc_cold = Service::new(Settings { default_limit: 100, max_limit: 500, ..Settings::default() });
    let (next_reads, _) = reads(&svc_cold, &[("limit", "400"), ("next", &next)]);
    assert_eq!(next_reads, 3, "manifest, index, segment: each read once");
}
