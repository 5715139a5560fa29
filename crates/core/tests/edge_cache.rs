//! The edge response cache's logic over the real service, natively: `prepare` → key → (a map standing in for
//! `caches.default`) → `respond`/`finish`, exactly the steps src/edge.rs takes. Keys per viewer, credentials
//! before the cache, publishes moving first pages but not `next` pages, 304s and HEAD from an entry.

use edge_testkit as common;

use base64::Engine;
use common::{feed_store, json, request, V20, V21};
use edge_core::auth::password::{PasswordHash, MIN_ITERATIONS};
use edge_core::auth::{upsert_user, Access, Grants};
use edge_core::server::cache_key::{cacheable_status, edge_copy, from_edge_copy};
use edge_core::server::{Prepared, Service, Settings};
use edge_core::snapshot::format::POINTER_KEY;
use edge_core::snapshot::pointer::Pinned;
use edge_core::store::MemoryStore;
use edge_core::taxii::{Request, Response};
use edge_core::time::Timestamp;
use std::cell::RefCell;
use std::collections::HashMap;

const COLLECTIONS: &str = r#"{"Public IPs": "type:IP", "Partner Domains": "type:Domain", "Internal": "score:3"}"#;

fn rows(n: usize) -> String {
    (0..n)
        .flat_map(|i| {
            [
                format!(r#"{{"value":"10.0.{}.{}","indicator_type":"IP","score":2,"modified":"2024-02-01T00:{:02}:{:02}Z"}}"#, i / 256, i % 256, i / 60, i % 60),
                format!(r#"{{"value":"d{i}.example","indicator_type":"Domain","score":3,"modified":"2024-02-01T00:{:02}:{:02}Z"}}"#, i / 60, i % 60),
            ]
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn service() -> Service {
    let mut doc = serde_json::Map::new();
    for (name, cols) in [("partner", "Partner Domains"), ("partner2", "Partner Domains"), ("analyst", "*")] {
        let hash = PasswordHash::new(format!("{name}-pw").as_bytes(), b"0123456789abcdef", MIN_ITERATIONS);
        upsert_user(&mut doc, name, &hash, &Grants::parse(cols).unwrap());
    }
    let users = serde_json::Value::Object(doc).to_string();
    let access = Access::from_config(Some(&users), Some("Public IPs"), None, None).unwrap();
    Service::new(Settings { access, ..Settings::default() })
}

fn basic(user: &str) -> String {
    let pass = format!("{user}-pw");
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
}

/// `caches.default`: key → the edge copy.
type Edge = RefCell<HashMap<String, Response>>;

/// What src/edge.rs does for one request: the response and HIT/MISS (None: not keyed or refused).
fn through(svc: &Service, store: &MemoryStore, edge: &Edge, req: &Request) -> (Response, Option<&'static str>) {
    pollster::block_on(async {
        let pinned = Pinned::new(store);
        let ready = match svc.prepare(&pinned, req, Timestamp(0)).await {
            Prepared::Answered(r) => return (r, None),
            Prepared::Ready(r) => r,
        };
        let Some(key) = ready.key.clone() else {
            let full = svc.respond(&pinned, req, &ready).await;
            return (svc.finish(req, &ready, full), None);
        };
        if let Some(copy) = edge.borrow().get(&key) {
            let head = from_edge_copy(copy.headers.clone()).expect("our entry");
            let mut out = svc.finish(req, &ready, head);
            if out.status != 304 && req.method != "HEAD" {
                out.body = copy.body.clone();
            }
            return (out, Some("HIT"));
        }
        let full = svc.respond(&pinned, req, &ready).await;
        if cacheable_status(full.status) {
            edge.borrow_mut().insert(key, edge_copy(&full));
        }
        (svc.finish(req, &ready, full), Some("MISS"))
    })
}

fn key(svc: &Service, store: &MemoryStore, req: &Request) -> Option<String> {
    pollster::block_on(async {
        match svc.prepare(&Pinned::new(store), req, Timestamp(0)).await {
            Prepared::Ready(r) => r.key,
            Prepared::Answered(_) => None,
        }
    })
}

fn get(path: &str, query: &[(&str, &str)], auth: Option<&str>) -> Request {
    let mut headers = vec![("accept", V21)];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    request("GET", path, query, &headers)
}

fn collection_id(svc: &Service, store: &MemoryStore, title: &str) -> String {
    let r = common::call(svc, store, &get("/threatintel/collections/", &[], Some(&basic("analyst"))));
    json(&r)["collections"].as_array().unwrap().iter().find(|c| c["title"] == title).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The same status, bytes and headers (in any order).
fn same(a: &Response, b: &Response) -> bool {
    let sorted = |r: &Response| {
        let mut h = r.headers.clone();
        h.sort();
        h
    };
    a.status == b.status && a.body == b.body && sorted(a) == sorted(b)
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.header(name)
}

#[test]
fn a_hit_is_the_same_response_as_a_miss() {
    let (svc, store, edge) = (service(), feed_store(COLLECTIONS, &rows(30), "c"), Edge::default());
    let ips = collection_id(&svc, &store, "Public IPs");
    let req = get(&format!("/threatintel/collections/{ips}/objects/"), &[("limit", "7")], None);
    let (a, s1) = through(&svc, &store, &edge, &req);
    let (b, s2) = through(&svc, &store, &edge, &req);
    assert_eq!((s1, s2), (Some("MISS"), Some("HIT")));
    assert!(same(&a, &b), "the same status, headers and bytes");
    assert!(same(&a, &common::call(&svc, &store, &req)), "and the same as without any cache");
    assert_eq!(header(&a, "cache-control"), Some("public, max-age=60"));
}

#[test]
fn keys_follow_the_view_never_the_name() {
    let (svc, store) = (service(), feed_store(COLLECTIONS, &rows(5), "c"));
    let list = "/threatintel/collections/";
    let anon = key(&svc, &store, &get(list, &[], None)).unwrap();
    let partner = key(&svc, &store, &get(list, &[], Some(&basic("partner")))).unwrap();
    let partner2 = key(&svc, &store, &get(list, &[], Some(&basic("partner2")))).unwrap();
    let analyst = key(&svc, &store, &get(list, &[], Some(&basic("analyst")))).unwrap();
    assert_eq!(partner, partner2, "the same collections: one entry");
    assert_ne!(anon, partner);
    assert_ne!(partner, analyst);
    assert_ne!(anon, analyst);
    // Discovery is the same for everyone who may see the server.
    let d = |auth: Option<&str>| key(&svc, &store, &get("/taxii2/", &[], auth)).unwrap();
    assert_eq!(d(None), d(Some(&basic("analyst"))));
    // The version is part of the key; the key holds the current snapshot's id.
    let v20 = key(&svc, &store, &request("GET", list, &[], &[("accept", V20)])).unwrap();
    assert_ne!(anon, v20);
    let pointer: serde_json::Value = serde_json::from_slice(&store.blobs.borrow()[POINTER_KEY]).unwrap();
    assert!(anon.contains(&format!("/.taxii-edge-cache/{}/", pointer["snapshot"].as_str().unwrap())), "{anon}");
}

#[test]
fn credentials_are_checked_before_the_cache() {
    let (svc, store, edge) = (service(), feed_store(COLLECTIONS, &rows(5), "c"), Edge::default());
    let dom = collection_id(&svc, &store, "Partner Domains");
    let path = format!("/threatintel/collections/{dom}/objects/");
    let good = get(&path, &[], Some(&basic("partner")));
    through(&svc, &store, &edge, &good);
    assert_eq!(through(&svc, &store, &edge, &good).1, Some("HIT"));
    let wrong = get(&path, &[], Some("Basic cGFydG5lcjp3cm9uZw=="));
    let (r, s) = through(&svc, &store, &edge, &wrong);
    assert_eq!((r.status, s), (401, None));
    let (r, _) = through(&svc, &store, &edge, &get(&path, &[], None));
    assert_eq!(r.status, 401, "anonymous: its own key, where nothing is kept");
    // A signed-in caller's response is private toward the client, hit or miss.
    let (r, s) = through(&svc, &store, &edge, &good);
    assert_eq!((s, header(&r, "cache-control")), (Some("HIT"), Some("private, no-store")));
}

#[test]
fn a_publish_moves_first_pages_but_not_next_pages() {
    let (svc, store, edge) = (service(), feed_store(COLLECTIONS, &rows(30), "c"), Edge::default());
    let ips = collection_id(&svc, &store, "Public IPs");
    let path = format!("/threatintel/collections/{ips}/objects/");
    let first = get(&path, &[("limit", "10")], None);
    let (p1, _) = through(&svc, &store, &edge, &first);
    let next = json(&p1)["next"].as_str().unwrap().to_string();
    let page2 = get(&path, &[("limit", "10"), ("next", &next)], None);
    let (n1, _) = through(&svc, &store, &edge, &page2);
    assert_eq!(header(&n1, "cache-control"), Some("public, max-age=86400"));
    let old_first_key = key(&svc, &store, &first).unwrap();
    let old_next_key = key(&svc, &store, &page2).unwrap();

    // Publish a bigger snapshot into the same store.
    let newer = feed_store(COLLECTIONS, &rows(40), "c");
    for (k, v) in newer.blobs.borrow().iter() {
        store.blobs.borrow_mut().insert(k.clone(), v.clone());
    }
    assert_ne!(key(&svc, &store, &first).unwrap(), old_first_key, "a new snapshot is a new key");
    assert_eq!(key(&svc, &store, &page2).unwrap(), old_next_key, "the token's snapshot names the page");
    let (p2, s) = through(&svc, &store, &edge, &get(&path, &[("limit", "1000")], None));
    assert_eq!(s, Some("MISS"));
    assert_eq!(json(&p2)["objects"].as_array().unwrap().len(), 40);
    let (n2, s) = through(&svc, &store, &edge, &page2);
    assert_eq!(s, Some("HIT"));
    assert_eq!(n2.body, n1.body);
    // A token that is not ours gets no key (and a 400 nobody keeps).
    let forged = get(&path, &[("next", "eyJzIjoiYSJ9.AAAA")], None);
    assert_eq!(key(&svc, &store, &forged), None);
    assert_eq!(through(&svc, &store, &edge, &forged).0.status, 400);
}

#[test]
fn conditional_and_head_requests_are_answered_from_an_entry() {
    let (svc, store, edge) = (service(), feed_store(COLLECTIONS, &rows(5), "c"), Edge::default());
    let ips = collection_id(&svc, &store, "Public IPs");
    let path = format!("/threatintel/collections/{ips}/objects/");
    // A 304 on a miss keeps the full response.
    let cond = request("GET", &path, &[], &[("accept", V21), ("if-none-match", "*")]);
    let (r, s) = through(&svc, &store, &edge, &cond);
    assert_eq!((r.status, s, r.body.len()), (304, Some("MISS"), 0));
    let (full, s) = through(&svc, &store, &edge, &get(&path, &[], None));
    assert_eq!((full.status, s), (200, Some("HIT")));
    assert!(!full.body.is_empty());
    let etag = header(&full, "etag").unwrap().to_string();
    let cond = request("GET", &path, &[], &[("accept", V21), ("if-none-match", &etag)]);
    let (r, s) = through(&svc, &store, &edge, &cond);
    assert_eq!((r.status, s, r.body.len()), (304, Some("HIT"), 0));
    let head = request("HEAD", &path, &[], &[("accept", V21)]);
    let (r, s) = through(&svc, &store, &edge, &head);
    assert_eq!((r.status, s, r.body.len()), (200, Some("HIT"), 0));
    assert_eq!(header(&r, "etag"), Some(etag.as_str()));
}

#[test]
fn what_is_never_keyed() {
    let (svc, store) = (service(), feed_store(COLLECTIONS, &rows(5), "c"));
    assert_eq!(key(&svc, &store, &get("/api/status", &[], None)), None, "the status page");
    assert_eq!(key(&svc, &store, &get("/nowhere", &[], None)), None, "no route");
    assert_eq!(key(&svc, &store, &request("GET", "/taxii2/", &[], &[("accept", "text/html")])), None, "406");
    assert_eq!(key(&svc, &store, &request("POST", "/threatintel/collections/", &[], &[])), None, "not a read");
    let empty = MemoryStore::default();
    assert_eq!(key(&svc, &empty, &get("/threatintel/collections/", &[], None)), None, "nothing published");
}
