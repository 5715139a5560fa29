//! The admin path `taxii-edge publish` uses: upload blobs, then switch the current pointer in one write.
//!
//! Off unless an admin token is configured (a Worker secret); reached only with `Authorization: Bearer
//! <token>`, compared in constant time. Blobs are content-addressed: an upload whose bytes do not match its
//! name is refused, so a half-sent or corrupted upload can never become part of a snapshot.

use crate::service::Settings;
use crate::snapshot::format::{verify_blob, CollectionIndex, Manifest, Pointer, POINTER_KEY};
use crate::store::Store;
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
        _ => {
            Err(error(404, "admin endpoints: POST /admin/missing, PUT|GET /admin/blobs/<key>, PUT|GET /admin/current"))
        }
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
    let snapshot = key["manifest/".len()..].to_string();
    let pointer = Pointer { snapshot: snapshot.clone(), manifest: key, published: now };
    store.put(POINTER_KEY, serde_json::to_vec(&pointer).expect("pointer serialises")).await.map_err(store_err)?;
    Ok(reply(200, json!({ "current": snapshot, "published": now.to_micros_string() })))
}
