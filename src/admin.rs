//! The admin path `taxii-edge publish` uses: upload blobs, then switch the current pointer in one write.
//!
//! Off unless an admin token is configured (a Worker secret); reached only with `Authorization: Bearer
//! <token>`, compared in constant time. Blobs are content-addressed: an upload whose bytes do not match its
//! name is refused, so a half-sent or corrupted upload can never become part of a snapshot.
//!
//! Pruning (see [`crate::prune`]) lists the store a page at a time (`GET /admin/blobs?cursor=…`, with upload
//! times) and deletes blobs in batches (`POST /admin/delete`); the worker refuses to delete any blob the current
//! snapshot reaches. Every call does a bounded number of store operations (Workers allow 1000 per request).

use crate::service::Settings;
use crate::snapshot::format::{verify_blob, CollectionIndex, Manifest, Pointer, POINTER_KEY};
use crate::store::{Store, MAX_BATCH};
use crate::taxii::{Request, Response};
use crate::time::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Keys one `missing` call may ask about.
pub const MAX_KEYS_PER_CALL: usize = 50;

fn reply(status: u16, body: serde_json::Value) -> Response {
    Response {
        status,
        headers: vec![("Content-Type".into(), "application/json".into()), ("Cache-Control".into(), "no-store".into())],
        body: serde_json::to_vec(&body).expect("JSON serialises"),
    }
}

fn error(status: u16, message: &str) -> Response {
    reply(status, json!({ "error": message }))
}

/// Equal-length digests compared without early exit.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    da.iter().zip(db.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a key names a content-addressed blob: `<kind>/<32 hex digits>`.
pub fn valid_blob_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((kind, hash)) => {
            matches!(kind, "segment" | "index" | "manifest" | "ids")
                && hash.len() == 32
                && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        None => false,
    }
}

pub async fn handle<S: Store>(settings: &Settings, store: &S, req: &Request, now: Timestamp) -> Response {
    let Some(token) = settings.admin_token.as_deref().filter(|t| !t.is_empty()) else {
        return error(404, "the admin path is off: set the ADMIN_TOKEN secret to publish through it");
    };
    let given = req.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
    if !constant_time_eq(given, token) {
        let mut r = error(401, "the admin path needs Authorization: Bearer <ADMIN_TOKEN>");
        r.headers.push(("WWW-Authenticate".into(), "Bearer realm=\"taxii-edge admin\"".into()));
        return r;
    }
    match run(store, req, now).await {
        Ok(r) => r,
        Err(e) => e,
    }
}

async fn run<S: Store>(store: &S, req: &Request, now: Timestamp) -> Result<Response, Response> {
    let store_err = |e: crate::store::StoreError| error(503, &format!("the store failed: {}", e.0));
    let path = req.path.trim_end_matches('/');
    match (req.method.as_str(), path) {
        ("POST", "/admin/missing") => {
            let keys: Vec<String> = serde_json::from_slice(body(req)?)
                .map_err(|e| error(400, &format!("expected a JSON list of blob keys: {e}")))?;
            if keys.len() > MAX_KEYS_PER_CALL {
                return Err(error(400, &format!("ask about at most {MAX_KEYS_PER_CALL} keys per call")));
            }
            let mut missing = Vec::new();
            for k in keys {
                if !valid_blob_key(&k) {
                    return Err(error(400, &format!("{k:?} is not a blob key")));
                }
                if !store.exists(&k).await.map_err(store_err)? {
                    missing.push(k);
                }
            }
            Ok(reply(200, json!({ "missing": missing })))
        }
        ("GET", "/admin/current") => match store.get(POINTER_KEY).await.map_err(store_err)? {
            Some(bytes) => Ok(Response {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: bytes,
            }),
            None => Err(error(404, "nothing has been published yet")),
        },
        ("PUT", "/admin/current") => switch(store, req, now).await,
        ("GET", "/admin/blobs") => {
            let cursor = req.query.iter().find(|(k, _)| k == "cursor").map(|(_, v)| v.as_str());
            let limit = match req.query.iter().find(|(k, _)| k == "limit") {
                Some((_, v)) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_BATCH).contains(n))
                    .ok_or_else(|| error(400, &format!("limit must be a number from 1 to {MAX_BATCH}")))?,
                None => MAX_BATCH,
            };
            let page = store.list(cursor.filter(|c| !c.is_empty()), limit).await.map_err(store_err)?;
            let blobs: Vec<serde_json::Value> = page
                .keys
                .iter()
                .map(|l| json!({ "key": l.key, "uploaded": l.uploaded.to_micros_string(), "size": l.size }))
                .collect();
            Ok(reply(200, json!({ "blobs": blobs, "cursor": page.cursor })))
        }
        ("POST", "/admin/delete") => delete(store, req).await,
        (method, p) if p.starts_with("/admin/blobs/") => {
            let key = &p["/admin/blobs/".len()..];
            if !valid_blob_key(key) {
                return Err(error(400, &format!("{key:?} is not a blob key (<kind>/<32 hex digits>)")));
            }
            match method {
                "PUT" => {
                    let bytes = body(req)?.to_vec();
                    if !verify_blob(key, &bytes) {
                        return Err(error(400, &format!("the bytes sent for {key} do not match its hash: resend it")));
                    }
                    store.put(key, bytes).await.map_err(store_err)?;
                    Ok(reply(201, json!({ "stored": key })))
                }
                "GET" => match store.get(key).await.map_err(store_err)? {
                    Some(bytes) => Ok(Response {
                        status: 200,
                        headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                        body: bytes,
                    }),
                    None => Err(error(404, &format!("no blob {key}"))),
                },
                _ => Err(error(405, "blobs take GET and PUT")),
            }
        }
        _ => Err(error(
            404,
            "admin endpoints: POST /admin/missing, PUT|GET /admin/blobs/<key>, PUT|GET /admin/current, \
                 GET /admin/blobs?cursor=…, POST /admin/delete",
        )),
    }
}

fn body(req: &Request) -> Result<&[u8], Response> {
    req.body.as_deref().ok_or_else(|| error(400, "this request needs a body"))
}

/// Makes a manifest current after checking that it and its collection indexes are in the store and valid.
async fn switch<S: Store>(store: &S, req: &Request, now: Timestamp) -> Result<Response, Response> {
    let store_err = |e: crate::store::StoreError| error(503, &format!("the store failed: {}", e.0));
    let asked: serde_json::Value =
        serde_json::from_slice(body(req)?).map_err(|e| error(400, &format!("expected {{\"manifest\": key}}: {e}")))?;
    let keep = match asked.get("keep") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(k)) => Some(crate::prune::parse_duration(k).map_err(|e| error(400, &e))?),
        Some(_) => return Err(error(400, "\"keep\" must be a duration such as \"24h\"")),
    };
    let key = asked["manifest"].as_str().unwrap_or_default().to_string();
    if !key.starts_with("manifest/") || !valid_blob_key(&key) {
        return Err(error(400, "\"manifest\" must be a manifest key, manifest/<32 hex digits>"));
    }
    let bytes = store
        .get(&key)
        .await
        .map_err(store_err)?
        .ok_or_else(|| error(409, &format!("{key} has not been uploaded: upload every blob first")))?;
    if !verify_blob(&key, &bytes) {
        return Err(error(409, &format!("{key} in the store does not match its hash: upload it again")));
    }
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| error(409, &format!("{key} is not a valid manifest: {e}")))?;
    for c in &manifest.collections {
        let idx = store
            .get(&c.index)
            .await
            .map_err(store_err)?
            .ok_or_else(|| error(409, &format!("{} has not been uploaded", c.index)))?;
        let index: CollectionIndex =
            serde_json::from_slice(&idx).map_err(|e| error(409, &format!("{} is not a valid index: {e}", c.index)))?;
        // The first segment of every stream is the one a first page reads: check they are there.
        for stream in index.streams.values() {
            if let Some(first) = stream.segments.first() {
                if !store.exists(&first.key).await.map_err(store_err)? {
                    return Err(error(409, &format!("{} has not been uploaded", first.key)));
                }
            }
        }
    }
    // The snapshot being replaced joins the pointer's history, so pruning keeps it for a while. A pointer that
    // does not parse is replaced (it is what a storage fault left) and starts a new history.
    let old: Option<Pointer> = match store.get(POINTER_KEY).await.map_err(store_err)? {
        Some(bytes) => serde_json::from_slice(&bytes).ok(),
        None => None,
    };
    let snapshot = key["manifest/".len()..].to_string();
    let pointer = crate::prune::next_pointer(old, &snapshot, &key, now, keep);
    store.put(POINTER_KEY, serde_json::to_vec(&pointer).expect("pointer serialises")).await.map_err(store_err)?;
    Ok(reply(200, json!({ "current": snapshot, "published": now.to_micros_string() })))
}

/// Deletes blobs (a JSON list of keys, at most [`MAX_BATCH`]), except those the current snapshot reaches: answers
/// `{"deleted": n, "refused": [keys]}`. Reads the pointer, the manifest and one index per collection.
async fn delete<S: Store>(store: &S, req: &Request) -> Result<Response, Response> {
    let store_err = |e: crate::store::StoreError| error(503, &format!("the store failed: {}", e.0));
    let keys: Vec<String> = serde_json::from_slice(body(req)?)
        .map_err(|e| error(400, &format!("expected a JSON list of blob keys: {e}")))?;
    if keys.len() > MAX_BATCH {
        return Err(error(400, &format!("delete at most {MAX_BATCH} keys per call")));
    }
    if let Some(k) = keys.iter().find(|k| !valid_blob_key(k)) {
        return Err(error(400, &format!("{k:?} is not a blob key (<kind>/<32 hex digits>)")));
    }
    let mut protected = std::collections::HashSet::new();
    if let Some(bytes) = store.get(POINTER_KEY).await.map_err(store_err)? {
        let pointer: Pointer = serde_json::from_slice(&bytes).map_err(|e| {
            error(409, &format!("the current pointer is not valid ({e}): publish again before pruning"))
        })?;
        crate::prune::reachable(store, &pointer.manifest, &mut protected)
            .await
            .map_err(|e| error(409, &format!("cannot tell what the current snapshot reaches: {e}; nothing deleted")))?;
    }
    let (refused, gone): (Vec<String>, Vec<String>) = keys.into_iter().partition(|k| protected.contains(k));
    store.delete(&gone).await.map_err(store_err)?;
    Ok(reply(200, json!({ "deleted": gone.len(), "refused": refused })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
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
        pollster::block_on(handle(&settings, store, &req, store.clock.get()))
    }

    fn json_of(r: &Response) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    /// Builds a snapshot of `n` IPs and publishes it through the admin API; returns its manifest key and blob keys.
    fn publish(store: &MemoryStore, n: usize, keep: Option<&str>) -> (String, Vec<String>) {
        let cols = crate::config::parse_collections(r#"{"IPs": "type:IP"}"#).unwrap();
        let lines: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"value": "10.0.{}.{}", "indicator_type": "IP", "modified": "2025-01-01T00:00:00Z"}}"#,
                    i / 256,
                    i % 256
                )
            })
            .collect();
        let inds = crate::import::xsoar::import_str("t.jsonl", &lines.join("\n")).unwrap().indicators;
        let render = crate::stix::RenderOptions { producer: None, ..Default::default() };
        let built = crate::snapshot::builder::build(&crate::snapshot::builder::BuildInput {
            collections: &cols,
            indicators: &inds,
            render: &render,
            now: Timestamp(0),
            previous: &HashMap::new(),
        });
        for (k, v) in &built.blobs {
            assert_eq!(call(store, "PUT", &format!("/admin/blobs/{k}"), &[], Some(v.clone())).status, 201);
        }
        let body = json!({ "manifest": built.manifest_key, "keep": keep });
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
    fn lists_in_pages_and_refuses_to_delete_what_the_current_snapshot_reaches() {
        let store = MemoryStore::default();
        store.clock.set(Timestamp(7));
        let (_, old) = publish(&store, 1500, None);
        let (_, current) = publish(&store, 5, None);
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
        // Deleting: keys the current snapshot reaches are refused, the others go.
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
}
