//! The snapshot reader end to end: a real snapshot in a MemoryStore with one document replaced by fuzzed bytes
//! (the `current` pointer, the manifest, a collection index, a segment or an id shard), stored under the key
//! its hash names and referenced from re-hashed parents, so that the bytes pass the checksum and reach the
//! parser. Every endpoint is then requested in both versions: never a panic, never a 500, always a TAXII
//! JSON answer (a corrupt snapshot is a 503); only object bytes from a fuzzed segment are served as stored.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::sync::OnceLock;
use edge_core::server::{Service, Settings};
use edge_feed::build::Built;
use edge_core::snapshot::format::{blob_key, content_hash, POINTER_KEY};
use edge_core::snapshot::segment::Segment;
use edge_core::snapshot::{CollectionIndex, Manifest, Pointer};
use edge_core::store::MemoryStore;
use edge_core::time::Timestamp;
use taxii_edge_fuzz::{call, check_response, request};

struct Base {
    blobs: HashMap<String, Vec<u8>>,
    manifest: Manifest,
    /// Some object id of each collection.
    object_ids: Vec<String>,
}

fn base() -> &'static Base {
    static B: OnceLock<Base> = OnceLock::new();
    B.get_or_init(|| {
        let built: Built = taxii_edge_fuzz::built();
        let store = taxii_edge_fuzz::store_of(&built);
        let blobs = store.blobs.borrow().clone();
        let mut object_ids = Vec::new();
        for c in &built.manifest.collections {
            let index: CollectionIndex = serde_json::from_slice(&blobs[&c.index]).unwrap();
            let seg = &index.streams["all"].segments[0];
            let seg = Segment::decode(blobs[&seg.key].clone()).unwrap();
            object_ids.push(seg.record(seg.len() - 1).id.to_string());
        }
        Base { blobs, manifest: built.manifest.clone(), object_ids }
    })
}

fn put_json<T: serde::Serialize>(blobs: &mut HashMap<String, Vec<u8>>, kind: &str, v: &T) -> String {
    let bytes = serde_json::to_vec(v).unwrap();
    let key = blob_key(kind, &bytes);
    blobs.insert(key.clone(), bytes);
    key
}

fn point_at(blobs: &mut HashMap<String, Vec<u8>>, manifest_key: String) {
    let id = manifest_key.rsplit('/').next().unwrap().to_string();
    let p = Pointer {
        snapshot: id,
        manifest: manifest_key,
        published: Timestamp(0),
        history: Vec::new(),
        keep: None,
        sources: Vec::new(),
    };
    blobs.insert(POINTER_KEY.into(), serde_json::to_vec(&p).unwrap());
}

/// Replaces the index of collection `c` (re-hashing the manifest and the pointer).
fn with_index(blobs: &mut HashMap<String, Vec<u8>>, c: usize, index_key: String) {
    let mut m = base().manifest.clone();
    m.collections[c].index = index_key;
    let mk = put_json(blobs, "manifest", &m);
    point_at(blobs, mk);
}

fuzz_target!(|data: &[u8]| {
    let b = base();
    let (mode, pick, payload) = match data {
        [m, p, rest @ ..] => (*m % 5, usize::from(*p), rest),
        _ => return,
    };
    let mut blobs = b.blobs.clone();
    let c = pick % b.manifest.collections.len();
    let index_of =
        |c: usize| -> CollectionIndex { serde_json::from_slice(&b.blobs[&b.manifest.collections[c].index]).unwrap() };
    match mode {
        0 => {
            blobs.insert(POINTER_KEY.into(), payload.to_vec());
        }
        1 => {
            let key = format!("manifest/{}", content_hash(payload));
            blobs.insert(key.clone(), payload.to_vec());
            point_at(&mut blobs, key);
        }
        2 => {
            let key = blob_key("index", payload);
            blobs.insert(key.clone(), payload.to_vec());
            with_index(&mut blobs, c, key);
        }
        3 => {
            let mut index = index_of(c);
            let key = blob_key("segment", payload);
            blobs.insert(key.clone(), payload.to_vec());
            // The chosen segment of the "all" stream, and wherever else the same segment is referenced.
            let all = &index.streams["all"];
            let old = all.segments[(pick / 8) % all.segments.len()].key.clone();
            for s in index.streams.values_mut() {
                for r in s.segments.iter_mut().filter(|r| r.key == old) {
                    r.key = key.clone();
                }
            }
            let ik = put_json(&mut blobs, "index", &index);
            with_index(&mut blobs, c, ik);
        }
        _ => {
            let mut index = index_of(c);
            let key = blob_key("ids", payload);
            blobs.insert(key.clone(), payload.to_vec());
            let n = index.id_shards.len();
            if n == 0 {
                index.id_shards.push(key);
            } else {
                index.id_shards[(pick / 8) % n] = key;
            }
            let ik = put_json(&mut blobs, "index", &index);
            with_index(&mut blobs, c, ik);
        }
    }
    let store = MemoryStore { blobs: std::cell::RefCell::new(blobs), ..MemoryStore::default() };
    let svc = Service::new(Settings::default());
    // The collections the served manifest lists, if it parses, else the real ones.
    let mut ids: Vec<String> = b.manifest.collections.iter().map(|c| c.id.clone()).collect();
    if mode == 1 {
        if let Ok(m) = serde_json::from_slice::<Manifest>(payload) {
            ids = m.collections.iter().take(3).map(|c| c.id.clone()).collect();
        }
    }
    let id = ids.get(c % ids.len().max(1)).cloned().unwrap_or_else(|| "x".into());
    let obj = &b.object_ids[c];
    let root = "/threatintel";
    let col = format!("{root}/collections/{id}");
    let paths: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/taxii2/".into(), vec![]),
        (format!("{root}/"), vec![]),
        (format!("{root}/collections/"), vec![]),
        (format!("{col}/"), vec![]),
        (format!("{col}/objects/"), vec![]),
        (format!("{col}/objects/"), vec![("added_after", "2025-01-01T00:00:00.000001Z"), ("limit", "2")]),
        (format!("{col}/objects/"), vec![("match[type]", "indicator,ipv4-addr"), ("match[version]", "all")]),
        (format!("{col}/objects/"), vec![("match[id]", obj.as_str())]),
        (format!("{col}/manifest/"), vec![("limit", "1")]),
        (format!("{col}/objects/{obj}/"), vec![]),
        (format!("{col}/objects/{obj}/versions/"), vec![]),
        ("/api/status".into(), vec![]),
    ];
    for (path, query) in &paths {
        for accept in [taxii_edge_fuzz::V21, taxii_edge_fuzz::V20] {
            let mut headers = vec![("Accept", accept)];
            if accept == taxii_edge_fuzz::V20 && path.ends_with("/objects/") {
                headers.push(("Range", "items 1-3"));
            }
            let req = request("GET", path, query, &headers);
            let resp = call(&svc, &store, &req);
            check_response(&req, &resp, mode != 3);
        }
    }
});
