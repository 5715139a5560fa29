//! Snapshot formats across an upgrade: a format 2 snapshot (uncompressed segments, what taxii-edge wrote before
//! format 3) is still served, object for object as its format 3 twin, and still taken by the switch; a snapshot of
//! a format this worker does not read is refused by the switch instead of being made current.

use edge_core::server::{admin, Service, Settings};
use edge_core::snapshot::format::{blob_key, Manifest, POINTER_KEY};
use edge_core::store::MemoryStore;
use edge_core::taxii::Response;
use edge_core::time::Timestamp;
use edge_testkit::{call, feed_store, json, request, V21};
use serde_json::Value;
use std::collections::BTreeMap;

const COLLECTIONS: &str = r#"{"IPs": "type:IP", "All": ""}"#;
const TOKEN: &str = "t0ken";

fn rows() -> String {
    (0..2500)
        .map(|i| {
            let (ty, value) = if i % 3 == 0 {
                ("Domain", format!("d{i}.example"))
            } else {
                ("IP", format!("10.1.{}.{}", i / 256, i % 256))
            };
            format!(
                r#"{{"value":"{value}","indicator_type":"{ty}","score":2,"modified":"2024-02-01T00:{:02}:{:02}Z"}}"#,
                i / 60 % 60,
                i % 60
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The store's blobs with every segment as format 2 wrote it (the LZ4 block decompressed, the `TXSEG2` header),
/// the indexes and the manifest re-keyed to match, and the manifest saying format 2; returns its manifest key.
fn downgrade(blobs: &BTreeMap<String, Vec<u8>>) -> (BTreeMap<String, Vec<u8>>, String) {
    let mut out = BTreeMap::new();
    let mut renamed = BTreeMap::new();
    for (key, bytes) in blobs.iter().filter(|(k, _)| k.starts_with("segment/")) {
        assert_eq!(&bytes[..8], b"TXSEG3\0\0", "{key} is written compressed");
        let len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let mut plain = b"TXSEG2\0\0".to_vec();
        plain.extend_from_slice(&bytes[8..12]);
        plain.extend_from_slice(&[0; 4]);
        plain.extend_from_slice(&lz4_flex::block::decompress(&bytes[16..], len).unwrap());
        assert!(plain.len() > bytes.len(), "{key}: {} bytes compressed, {} not", bytes.len(), plain.len());
        let new = blob_key("segment", &plain);
        renamed.insert(key.clone(), new.clone());
        out.insert(new, plain);
    }
    let manifest_key = blobs.keys().find(|k| k.starts_with("manifest/")).unwrap();
    let mut manifest: Manifest = serde_json::from_slice(&blobs[manifest_key]).unwrap();
    manifest.format = 2;
    for c in &mut manifest.collections {
        let mut index = String::from_utf8(blobs[&c.index].clone()).unwrap();
        for (old, new) in &renamed {
            index = index.replace(old.as_str(), new);
        }
        c.index = blob_key("index", index.as_bytes());
        out.insert(c.index.clone(), index.into_bytes());
    }
    for (key, bytes) in blobs.iter().filter(|(k, _)| k.starts_with("ids/")) {
        out.insert(key.clone(), bytes.clone());
    }
    let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    let key = blob_key("manifest", &bytes);
    out.insert(key.clone(), bytes);
    (out, key)
}

fn admin(store: &MemoryStore, method: &str, path: &str, body: Vec<u8>) -> Response {
    let settings = Settings { admin_token: Some(TOKEN.into()), ..Settings::default() };
    let mut req = request(method, path, &[], &[("authorization", &format!("Bearer {TOKEN}"))]);
    req.body = Some(body);
    pollster::block_on(admin::handle(&settings, store, req, Timestamp(0)))
}

/// Uploads `blobs` through the admin API and switches to `manifest`.
fn publish(store: &MemoryStore, blobs: &BTreeMap<String, Vec<u8>>, manifest: &str) -> Response {
    for (k, v) in blobs {
        assert_eq!(admin(store, "PUT", &format!("/admin/blobs/{k}"), v.clone()).status, 201, "{k}");
    }
    let replaces =
        store.blobs.borrow().get(POINTER_KEY).map(|p| serde_json::from_slice::<Value>(p).unwrap()["snapshot"].clone());
    let body = serde_json::json!({ "manifest": manifest, "replaces": replaces });
    admin(store, "PUT", "/admin/current", serde_json::to_vec(&body).unwrap())
}

/// Every object of a collection, following `next` in pages of 700 (pages cross segments).
fn objects(store: &MemoryStore, collection: &str) -> Vec<Value> {
    let svc = Service::new(Settings::default());
    let path = format!("/threatintel/collections/{collection}/objects/");
    let (mut all, mut next) = (Vec::new(), String::new());
    loop {
        let mut query = vec![("limit", "700")];
        if !next.is_empty() {
            query.push(("next", next.as_str()));
        }
        let r = call(&svc, store, &request("GET", &path, &query, &[("accept", V21)]));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let page = json(&r);
        all.extend(page["objects"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(n) if page["more"] == true => next = n.to_string(),
            _ => return all,
        }
    }
}

#[test]
fn a_format_2_snapshot_is_served_as_its_format_3_twin() {
    let current = feed_store(COLLECTIONS, &rows(), "");
    let blobs: BTreeMap<String, Vec<u8>> =
        current.blobs.borrow().iter().filter(|(k, _)| *k != POINTER_KEY).map(|(k, v)| (k.clone(), v.clone())).collect();
    let (old, manifest) = downgrade(&blobs);
    let store = MemoryStore::default();
    let r = publish(&store, &old, &manifest);
    assert_eq!(r.status, 200, "the switch takes format 2: {}", String::from_utf8_lossy(&r.body));
    let m: Manifest = serde_json::from_slice(&old[&manifest]).unwrap();
    for c in &m.collections {
        let (was, is) = (objects(&store, &c.id), objects(&current, &c.id));
        assert!(was.len() > 1000, "{}: {} objects", c.title, was.len());
        assert_eq!(was, is, "{}", c.title);
    }
}

#[test]
fn the_switch_refuses_a_format_it_does_not_read() {
    let current = feed_store(COLLECTIONS, &rows(), "");
    let mut blobs: BTreeMap<String, Vec<u8>> =
        current.blobs.borrow().iter().filter(|(k, _)| *k != POINTER_KEY).map(|(k, v)| (k.clone(), v.clone())).collect();
    let key = blobs.keys().find(|k| k.starts_with("manifest/")).unwrap().clone();
    let mut manifest: Manifest = serde_json::from_slice(&blobs[&key]).unwrap();
    manifest.format = 4;
    let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    let future = blob_key("manifest", &bytes);
    blobs.insert(future.clone(), bytes);
    let store = MemoryStore::default();
    let r = publish(&store, &blobs, &future);
    let error = json(&r)["error"].as_str().unwrap().to_string();
    assert_eq!(r.status, 409, "{error}");
    assert!(error.contains("has snapshot format 4, this worker reads formats [2, 3]: deploy the worker"), "{error}");
    assert!(!store.blobs.borrow().contains_key(POINTER_KEY), "nothing was made current");
    // The same blobs with the manifest this version wrote: made current.
    assert_eq!(publish(&store, &BTreeMap::new(), &key).status, 200);
}
