//! The admin API over a real snapshot in memory: the pointer switch and its history, the compare-and-swap, listing
//! in pages, and deletes that never touch what a retained snapshot reaches.

use edge_core::server::admin::handle;
use edge_core::server::Settings;
use edge_core::snapshot::format::{Pointer, POINTER_KEY};
use edge_core::store::MemoryStore;
use edge_core::taxii::{Request, Response};
use edge_core::time::Timestamp;
use serde_json::json;
use std::collections::HashMap;

const TOKEN: &str = "t0ken";

fn call(store: &MemoryStore, method: &str, path: &str, query: &[(&str, &str)], body: Option<Vec<u8>>) -> Response {
    let settings = Settings { admin_token: Some(TOKEN.into()), ..Settings::default() };
    let req = Request {
        method: method.into(),
        path: path.into(),
        query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        headers: vec![("authorization".into(), format!("Bearer {TOKEN}"))],
        origin: "http://localhost".into(),
        body,
    };
    pollster::block_on(handle(&settings, store, req, store.clock.get()))
}

fn json_of(r: &Response) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

/// Builds a snapshot of `n` IPs and publishes it through the admin API; returns its manifest key and blob keys.
fn publish(store: &MemoryStore, n: usize, keep: Option<&str>) -> (String, Vec<String>) {
    let cols = edge_feed::config::parse_collections(r#"{"IPs": "type:IP"}"#).unwrap();
    let lines: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"value": "10.0.{}.{}", "indicator_type": "IP", "modified": "2025-01-01T00:00:00Z"}}"#,
                i / 256,
                i % 256
            )
        })
        .collect();
    let inds = edge_feed::import::xsoar::import_str("t.jsonl", &lines.join("\n")).unwrap().indicators;
    let render = edge_feed::stix::RenderOptions { producer: None, ..Default::default() };
    let built = edge_feed::build::build(&edge_feed::build::BuildInput {
        collections: &cols,
        indicators: &inds,
        render: &render,
        now: Timestamp(0),
        previous: &HashMap::new(),
    });
    for (k, v) in &built.blobs {
        assert_eq!(call(store, "PUT", &format!("/admin/blobs/{k}"), &[], Some(v.clone())).status, 201);
    }
    // It names the snapshot it replaces, as `taxii-edge publish` does.
    let replaces = store.blobs.borrow().get(POINTER_KEY).map(|_| pointer(store).snapshot);
    let body = json!({ "manifest": built.manifest_key, "keep": keep, "replaces": replaces });
    let r = call(store, "PUT", "/admin/current", &[], Some(serde_json::to_vec(&body).unwrap()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    (built.manifest_key.clone(), built.blobs.keys().cloned().collect())
}

fn pointer(store: &MemoryStore) -> Pointer {
    serde_json::from_slice(&store.blobs.borrow()[POINTER_KEY]).unwrap()
}

#[test]
fn switching_keeps_a_history_of_replaced_snapshots() {
    let store = MemoryStore::default();
    store.clock.set(Timestamp(1_000_000));
    let (m1, _) = publish(&store, 3, None);
    assert!(pointer(&store).history.is_empty());
    store.clock.set(Timestamp(2_000_000));
    let (m2, _) = publish(&store, 4, Some("24h"));
    let p = pointer(&store);
    assert_eq!(p.manifest, m2);
    assert_eq!(p.history.len(), 1);
    assert_eq!((p.history[0].manifest.as_str(), p.history[0].retired), (m1.as_str(), Timestamp(2_000_000)));
    let bad = call(
        &store,
        "PUT",
        "/admin/current",
        &[],
        Some(br#"{"manifest": "manifest/00000000000000000000000000000000", "keep": 5}"#.to_vec()),
    );
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(&bad.body).contains("\\\"keep\\\" must be a duration"));
}

#[test]
fn each_bad_switch_request_gets_its_own_answer() {
    let store = MemoryStore::default();
    let key = "manifest/00000000000000000000000000000000";
    let manifest = r#""manifest" must be a manifest key, manifest/<32 hex digits>"#;
    let keep = r#""keep" must be a duration such as "24h""#;
    for (body, status, says) in [
        (None, 400, "this request needs a body".to_string()),
        (Some("{\"manifest\": "), 400, "expected {\"manifest\": key}: EOF while parsing a value".into()),
        (Some("{\"keep\": 5} x"), 400, "expected {\"manifest\": key}: trailing characters".into()),
        (Some("[1]"), 400, manifest.into()),
        (Some(r#"{"manifest": "index/00000000000000000000000000000000"}"#), 400, manifest.into()),
        (Some(r#"{"manifest": 5, "keep": true}"#), 400, keep.into()),
        (Some(r#"{"keep": "soon"}"#), 400, edge_core::duration::parse_duration("soon").unwrap_err().to_string()),
        (Some(&format!(r#"{{"manifest": "{key}"}}"#) as &str), 409, format!("{key} has not been uploaded")),
    ] {
        let r = call(&store, "PUT", "/admin/current", &[], body.map(|b| b.as_bytes().to_vec()));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let error = v["error"].as_str().unwrap();
        assert_eq!(r.status, status, "{body:?}: {error}");
        assert!(error.starts_with(&says), "{body:?}: {error}");
    }
}

#[test]
fn lists_in_pages_and_refuses_to_delete_what_the_current_snapshot_reaches() {
    let store = MemoryStore::default();
    store.clock.set(Timestamp(7));
    let (_, old) = publish(&store, 1500, None);
    let (_, current) = publish(&store, 5, Some("0s"));
    // Listing: pages of `limit`, upload times, the pointer included.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = call(&store, "GET", "/admin/blobs", &[("cursor", &cursor), ("limit", "3")], None);
        assert_eq!(r.status, 200);
        let v = json_of(&r);
        let page = v["blobs"].as_array().unwrap();
        assert!(page.len() <= 3);
        for b in page {
            seen.push(b["key"].as_str().unwrap().to_string());
            if b["key"] != POINTER_KEY {
                assert_eq!(b["uploaded"], "1970-01-01T00:00:00.000007Z");
            }
        }
        match v["cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), store.blobs.borrow().len());
    assert_eq!(call(&store, "GET", "/admin/blobs", &[("limit", "1001")], None).status, 400);
    // Deleting: keys the current snapshot reaches are refused, the others go (the old snapshot was replaced with
    // a retention window of 0: it is not retained).
    let only_old: Vec<String> = old.iter().filter(|k| !current.contains(k)).cloned().collect();
    let mut ask = only_old.clone();
    ask.push(current[0].clone());
    let r = call(&store, "POST", "/admin/delete", &[], Some(serde_json::to_vec(&ask).unwrap()));
    assert_eq!(r.status, 200);
    let v = json_of(&r);
    assert_eq!(v["deleted"], only_old.len());
    assert_eq!(v["refused"], json!([current[0]]));
    assert!(current.iter().all(|k| store.blobs.borrow().contains_key(k)));
    assert!(only_old.iter().all(|k| !store.blobs.borrow().contains_key(k)));
    // Bad requests.
    let r = call(&store, "POST", "/admin/delete", &[], Some(br#"["current"]"#.to_vec()));
    assert_eq!(r.status, 400, "the pointer is not a blob key");
    let many: Vec<String> = (0..1001).map(|i| format!("segment/{i:032x}")).collect();
    let r = call(&store, "POST", "/admin/delete", &[], Some(serde_json::to_vec(&many).unwrap()));
    assert_eq!(r.status, 400);
}

#[test]
fn a_switch_replaces_what_is_current_or_gets_409_with_the_current_snapshot() {
    let store = MemoryStore::default();
    let (m1, _) = publish(&store, 3, None);
    let s1 = m1["manifest/".len()..].to_string();
    let (m2, _) = publish(&store, 4, None);
    let s2 = m2["manifest/".len()..].to_string();
    let switch =
        |body: serde_json::Value| call(&store, "PUT", "/admin/current", &[], Some(body.to_string().into_bytes()));
    // Stale: names s1, s2 is current.
    let r = switch(json!({ "manifest": m2, "replaces": s1 }));
    assert_eq!(r.status, 200, "already current: nothing to do");
    let r = switch(json!({ "manifest": m1, "replaces": s1 }));
    assert_eq!(r.status, 409);
    assert_eq!(json_of(&r)["current"], json!(s2));
    let r = switch(json!({ "manifest": m1, "replaces": null }));
    assert_eq!((r.status, json_of(&r)["current"].clone()), (409, json!(s2)));
    // Back to s1 (it was current before): only as a rollback that names s2.
    let r = switch(json!({ "manifest": m1, "replaces": s2 }));
    assert_eq!(r.status, 409);
    assert!(json_of(&r)["error"].as_str().unwrap().contains("was current before"));
    assert_eq!(switch(json!({ "manifest": m1, "replaces": s2, "rollback": true })).status, 200);
    assert_eq!(pointer(&store).snapshot, s1);
}

#[test]
fn deletes_refuse_what_a_retained_snapshot_reaches_within_the_recorded_window() {
    let store = MemoryStore::default();
    store.clock.set(Timestamp(1_000_000));
    let (_, old) = publish(&store, 40, None);
    let (_, current) = publish(&store, 5, Some("1h"));
    assert_eq!(pointer(&store).keep.as_deref(), Some("1h"));
    let only_old: Vec<String> = old.iter().filter(|k| !current.contains(k)).cloned().collect();
    let delete = || call(&store, "POST", "/admin/delete", &[], Some(serde_json::to_vec(&only_old).unwrap()));
    let r = delete();
    assert_eq!(
        (json_of(&r)["deleted"].clone(), json_of(&r)["refused"].as_array().unwrap().len()),
        (json!(0), only_old.len())
    );
    // An hour after the switch the old snapshot is no longer retained.
    store.clock.set(Timestamp(1_000_000 + 3600 * 1_000_000));
    assert_eq!(json_of(&delete())["deleted"], json!(only_old.len()));
}

/// Issue 19, finding 1 (the worker's test is tests/worker/security.test.mjs): every body is capped, a declared
/// length above the cap is refused before the body matters, the token comes first; finding 5: admin answers are
/// never kept by a cache.
#[test]
fn bodies_are_capped_and_admin_answers_are_not_cached() {
    use edge_core::server::admin::{authorize, declared_length};
    use edge_core::wire::{max_body, MAX_BLOB_BYTES, MAX_JSON_BYTES};
    let store = MemoryStore::default();
    let (manifest, _) = publish(&store, 3, None);
    let zeros = "segment/00000000000000000000000000000000";
    let blob = format!("/admin/blobs/{zeros}");
    assert_eq!((max_body("PUT", &blob), max_body("POST", "/admin/missing")), (MAX_BLOB_BYTES, MAX_JSON_BYTES));
    let over = call(&store, "PUT", &blob, &[], Some(vec![0; MAX_BLOB_BYTES + 1]));
    assert_eq!(over.status, 413, "{}", String::from_utf8_lossy(&over.body));
    assert!(json_of(&over)["error"].as_str().unwrap().contains("larger than this call takes (32 MiB)"));
    let json_over = call(&store, "POST", "/admin/missing", &[], Some(vec![b' '; MAX_JSON_BYTES + 1]));
    assert_eq!(json_over.status, 413);
    assert_eq!(call(&store, "PUT", &blob, &[], Some(vec![0; 10])).status, 400, "within the cap: a hash mismatch");
    let settings = Settings { admin_token: Some(TOKEN.into()), ..Settings::default() };
    let head = |auth: &str, length: &str| Request {
        method: "PUT".into(),
        path: blob.clone(),
        headers: vec![("authorization".into(), auth.into()), ("content-length".into(), length.into())],
        ..Default::default()
    };
    let token = format!("Bearer {TOKEN}");
    assert_eq!(authorize(&settings, &head("Bearer wrong", "1")).unwrap_err().status, 401);
    assert!(authorize(&settings, &head(&token, "1")).is_ok());
    assert!(declared_length(&head(&token, &MAX_BLOB_BYTES.to_string())).is_ok());
    assert_eq!(declared_length(&head(&token, &(MAX_BLOB_BYTES + 1).to_string())).unwrap_err().status, 413);
    assert_eq!(declared_length(&head(&token, "lots")).unwrap_err().status, 400);
    for path in ["/admin/current".to_string(), format!("/admin/blobs/{manifest}"), "/admin/blobs".into()] {
        let r = call(&store, "GET", &path, &[], None);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }
}
