//! The admin path `taxii-edge publish` uses: upload blobs, then switch the current pointer in one write.
//!
//! Off unless an admin token is configured (a Worker secret); reached only with `Authorization: Bearer
//! <token>`, compared in constant time. Blobs are content-addressed: an upload whose bytes do not match its
//! name is refused, so a half-sent or corrupted upload can never become part of a snapshot.
//!
//! The token is checked before a body is read ([`authorize`]), and every body is capped
//! ([`wire::max_body`]): the worker refuses a `Content-Length` above the cap with a 413 ([`declared_length`])
//! and stops reading a body without one at the cap. Every answer carries `Cache-Control: no-store`.
//!
//! The pointer only moves forward. A switch names the snapshot it replaces ([`wire::Replaces`]) and is a
//! compare-and-swap on it (R2's conditional put): a stale, replayed or concurrent switch is answered 409 with the
//! snapshot current now ([`wire::SwitchConflict`]). A snapshot that was current before (in the pointer's history)
//! comes back only with `"rollback": true`. A switch that names nothing it replaces (a CLI older than this) is taken
//! only when its manifest was built after the current one.
//!
//! Pruning (see [`crate::retention`]) lists the store a page at a time (`GET /admin/blobs?cursor=…`, with upload
//! times) and deletes blobs in batches (`POST /admin/delete`); the worker refuses to delete any blob a retained
//! snapshot reaches (the current one, and those replaced within the window the last publish asked for). Every call
//! does a bounded number of store operations (Workers allow 1000 per request): a delete reads at most one manifest
//! per retained snapshot ([`crate::retention::MAX_HISTORY`] + 1) and each distinct collection index once.

use crate::settings::Settings;
use crate::snapshot::format::{
    reads_format, verify_blob, CollectionIndex, Manifest, Pointer, FORMATS_READ, POINTER_KEY,
};
use crate::store::{Store, MAX_BATCH};
use crate::taxii::{Request, Response};
use crate::time::Timestamp;
use crate::wire::{
    self, valid_blob_key, BlobPage, Deleted, ListedBlob, Missing, Replaces, Stored, SwitchConflict, SwitchRequest,
    Switched, MAX_KEYS_PER_CALL,
};
use serde_json::json;
use sha2::{Digest, Sha256};

fn reply(status: u16, body: &impl serde::Serialize) -> Response {
    Response {
        status,
        headers: vec![("Content-Type".into(), "application/json".into()), ("Cache-Control".into(), "no-store".into())],
        body: serde_json::to_vec(body).expect("JSON serialises"),
    }
}

fn error(status: u16, message: &str) -> Response {
    reply(status, &json!({ "error": message }))
}

/// Equal-length digests compared without early exit.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    da.iter().zip(db.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the request carries the admin token: `Err` is the answer (404 when the admin path is off, 401).
/// Needs only the headers: the worker calls it before reading a body.
pub fn authorize(settings: &Settings, req: &Request) -> Result<(), Response> {
    let Some(token) = settings.admin_token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(error(404, "the admin path is off: set the ADMIN_TOKEN secret to publish through it"));
    };
    let given = req.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
    if !constant_time_eq(given, token) {
        let mut r = error(401, "the admin path needs Authorization: Bearer <ADMIN_TOKEN>");
        r.headers.push(("WWW-Authenticate".into(), "Bearer realm=\"taxii-edge admin\"".into()));
        return Err(r);
    }
    Ok(())
}

/// The 413 for a body over `limit` bytes.
pub fn too_large(limit: usize) -> Response {
    error(
        413,
        &format!(
            "the request body is larger than this call takes ({} MiB): a blob upload takes at most {} MiB, the JSON \
             calls {} MiB (a larger segment holds objects far larger than indicators: a worker could not serve it)",
            limit as f64 / 1048576.0,
            wire::MAX_BLOB_BYTES >> 20,
            wire::MAX_JSON_BYTES >> 20
        ),
    )
}

/// The 400 for a body the client stopped sending (what the runtime said).
pub fn unreadable_body(why: &str) -> Response {
    error(400, &format!("the request body could not be read ({why}): send it again"))
}

/// The request's `Content-Length` against its cap ([`wire::max_body`]): `Err` is the 413 (or a 400 for a
/// length that is not a number). Without one the body is capped while it is read.
pub fn declared_length(req: &Request) -> Result<(), Response> {
    let limit = wire::max_body(&req.method, req.path.trim_end_matches('/'));
    match req.header("content-length").map(str::trim) {
        None => Ok(()),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n <= limit as u64 => Ok(()),
            Ok(_) => Err(too_large(limit)),
            Err(_) => Err(error(400, "Content-Length is not a number")),
        },
    }
}

/// Answers an admin request. Takes the request whole, so an uploaded blob moves into the store without a copy.
pub async fn handle<S: Store>(settings: &Settings, store: &S, req: Request, now: Timestamp) -> Response {
    let mut resp = match checked(settings, store, req, now).await {
        Ok(r) => r,
        Err(e) => e,
    };
    // Nothing the admin path answers may be kept by a cache: the pointer changes, and blobs are the token's.
    resp.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("cache-control"));
    resp.headers.push(("Cache-Control".into(), "no-store".into()));
    resp
}

async fn checked<S: Store>(settings: &Settings, store: &S, req: Request, now: Timestamp) -> Result<Response, Response> {
    authorize(settings, &req)?;
    declared_length(&req)?;
    let limit = wire::max_body(&req.method, req.path.trim_end_matches('/'));
    if req.body.as_ref().is_some_and(|b| b.len() > limit) {
        return Err(too_large(limit));
    }
    run(store, req, now).await
}

async fn run<S: Store>(store: &S, mut req: Request, now: Timestamp) -> Result<Response, Response> {
    let store_err = |e: crate::store::StoreError| error(503, &format!("the store failed: {}", e.0));
    let path = req.path.trim_end_matches('/').to_string();
    let req = &mut req;
    match (req.method.as_str(), path.as_str()) {
        ("POST", wire::MISSING) => {
            let keys: Vec<String> = serde_json::from_slice(body(req)?)
                .map_err(|e| error(400, &format!("expected a JSON list of blob keys: {e}")))?;
            if keys.len() > MAX_KEYS_PER_CALL {
                return Err(error(400, &format!("ask about at most {MAX_KEYS_PER_CALL} keys per call")));
            }
            if let Some(k) = keys.iter().find(|k| !valid_blob_key(k)) {
                return Err(error(400, &format!("{k:?} is not a blob key")));
            }
            // Asked side by side: one after the other, each a store round trip, a publish's checks of a few
            // hundred blobs took a round trip per blob.
            let found = futures_util::future::join_all(keys.iter().map(|k| store.exists(k))).await;
            let mut missing = Vec::new();
            for (k, exists) in keys.into_iter().zip(found) {
                if !exists.map_err(store_err)? {
                    missing.push(k);
                }
            }
            Ok(reply(200, &Missing { missing, formats: FORMATS_READ.to_vec() }))
        }
        ("GET", wire::CURRENT) => match store.get(POINTER_KEY).await.map_err(store_err)? {
            Some(bytes) => Ok(Response {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: bytes,
            }),
            None => Err(error(404, "nothing has been published yet")),
        },
        ("PUT", wire::CURRENT) => switch(store, req, now).await,
        ("GET", wire::BLOBS) => {
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
            let blobs = page.keys.iter().map(ListedBlob::from).collect();
            Ok(reply(200, &BlobPage { blobs, cursor: page.cursor }))
        }
        ("POST", wire::DELETE) => delete(store, req, now).await,
        (method, p) if p.starts_with(wire::BLOB_PREFIX) => {
            let key = &p[wire::BLOB_PREFIX.len()..];
            if !valid_blob_key(key) {
                return Err(error(400, &format!("{key:?} is not a blob key (<kind>/<32 hex digits>)")));
            }
            match method {
                "PUT" => {
                    let bytes = req.body.take().ok_or_else(|| error(400, "this request needs a body"))?;
                    if !verify_blob(key, &bytes) {
                        return Err(error(400, &format!("the bytes sent for {key} do not match its hash: resend it")));
                    }
                    store.put(key, bytes).await.map_err(store_err)?;
                    Ok(reply(201, &Stored { stored: key.to_string() }))
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
///
/// The request is a [`SwitchRequest`]: JSON that does not parse is refused as such, then reading the request
/// checks its fields.
async fn switch<S: Store>(store: &S, req: &Request, now: Timestamp) -> Result<Response, Response> {
    let store_err = |e: crate::store::StoreError| error(503, &format!("the store failed: {}", e.0));
    let asked: serde_json::Value =
        serde_json::from_slice(body(req)?).map_err(|e| error(400, &format!("expected {{\"manifest\": key}}: {e}")))?;
    let asked = SwitchRequest::from_value(&asked).map_err(|e| error(400, &e.to_string()))?;
    let keep = asked.keep_micros().map_err(|e| error(400, &e.to_string()))?;
    let key = asked.manifest.clone();
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
    // A snapshot this worker cannot read would be served as an error on every request: it is not made current.
    if !reads_format(manifest.format) {
        return Err(error(
            409,
            &format!(
                "{key} has snapshot format {}, this worker reads formats {FORMATS_READ:?}: deploy the worker of the \
                 same taxii-edge version as the CLI (`npm run deploy`), then publish again",
                manifest.format
            ),
        ));
    }
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
    let seen = store.get_versioned(POINTER_KEY).await.map_err(store_err)?;
    let old: Option<Pointer> = seen.as_ref().and_then(|v| serde_json::from_slice(&v.bytes).ok());
    let snapshot = key["manifest/".len()..].to_string();
    if let Some(old) = old.as_ref().filter(|o| o.snapshot == snapshot) {
        // Already current (a retried publish whose answer was lost, or the same build twice): nothing to write.
        return Ok(reply(200, &Switched { current: snapshot, published: old.published }));
    }
    moves_forward(store, &asked, &manifest, old.as_ref()).await?;
    let mut pointer = crate::retention::next_pointer(old.clone(), &snapshot, &key, now, keep);
    pointer.keep = asked.keep.clone();
    pointer.sources = asked.sources.clone();
    let bytes = serde_json::to_vec(&pointer).expect("pointer serialises");
    let expected = seen.as_ref().map(|v| v.version.as_str());
    if !store.put_if(POINTER_KEY, bytes, expected).await.map_err(store_err)? {
        let now_current: Option<Pointer> = match store.get(POINTER_KEY).await.map_err(store_err)? {
            Some(b) => serde_json::from_slice(&b).ok(),
            None => None,
        };
        let current = now_current.map(|p| p.snapshot);
        return Err(conflict(
            format!(
                "another publish switched the pointer while this one did (now {}): rebuild on it and publish again",
                current.as_deref().unwrap_or("nothing")
            ),
            current,
        ));
    }
    Ok(reply(200, &Switched { current: snapshot, published: now }))
}

/// A 409 that says which snapshot is current now ([`SwitchConflict`]).
fn conflict(message: String, current: Option<String>) -> Response {
    reply(409, &SwitchConflict { error: message, current })
}

/// Whether a switch from `old` to `manifest` moves the pointer forward: it replaces what is current (or, naming
/// nothing, was built after it), and it does not bring back a snapshot that was current before unless it says
/// `rollback`.
async fn moves_forward<S: Store>(
    store: &S,
    asked: &SwitchRequest,
    manifest: &Manifest,
    old: Option<&Pointer>,
) -> Result<(), Response> {
    let current = old.map(|p| p.snapshot.clone());
    let shown = current.as_deref().unwrap_or("nothing (nothing is published)");
    match &asked.replaces {
        Replaces::Snapshot(id) if current.as_deref() != Some(id.as_str()) => {
            return Err(conflict(
                format!(
                    "this switch replaces {id}, but the current snapshot is {shown}: another publish came first, or \
                     the request is stale or replayed; rebuild on the current snapshot and publish again"
                ),
                current,
            ));
        }
        Replaces::Nothing if current.is_some() => {
            return Err(conflict(
                format!(
                    "this switch expects nothing published, but the current snapshot is {shown}: another publish \
                     came first, or the request is stale or replayed; rebuild on the current snapshot and publish again"
                ),
                current,
            ));
        }
        Replaces::Unstated => {
            if let Some(old) = old {
                let store_err = |e: crate::store::StoreError| error(503, &format!("the store failed: {}", e.0));
                // A current manifest that is missing or not valid: replacing it is what repairs the feed.
                let newer = match store.get(&old.manifest).await.map_err(store_err)? {
                    Some(b) => serde_json::from_slice::<Manifest>(&b).ok().is_none_or(|m| manifest.created > m.created),
                    None => true,
                };
                if !newer {
                    return Err(conflict(
                        format!(
                            "this switch does not name the snapshot it replaces (\"replaces\"), and it is not newer \
                             than the current snapshot {shown}: the pointer only moves forward. Publish with a \
                             taxii-edge that names it (this one's `publish` does), or `publish --rollback` to go back \
                             on purpose"
                        ),
                        current,
                    ));
                }
            }
        }
        _ => {}
    }
    let snapshot = &asked.manifest["manifest/".len()..];
    if let Some(was) = old.and_then(|o| o.history.iter().find(|r| r.snapshot == snapshot)) {
        if !asked.rollback {
            return Err(conflict(
                format!(
                    "{snapshot} was current before (replaced at {}): the pointer only moves forward; to go back to \
                     it on purpose, publish it with --rollback",
                    was.retired.to_micros_string()
                ),
                current,
            ));
        }
    }
    Ok(())
}

/// Deletes blobs (a JSON list of keys, at most [`MAX_BATCH`]), except those a retained snapshot reaches (the
/// current one and those replaced within the window the pointer records, [`crate::retention::recorded_keep`]):
/// answers `{"deleted": n, "refused": [keys]}`. Reads the pointer, each retained manifest and each distinct index
/// once; when a retained snapshot cannot be read, deletes nothing (409).
async fn delete<S: Store>(store: &S, req: &Request, now: Timestamp) -> Result<Response, Response> {
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
        let keep = crate::retention::recorded_keep(&pointer);
        for (i, (snapshot, manifest)) in crate::retention::retained(&pointer, now, keep).iter().enumerate() {
            crate::retention::reachable(store, manifest, &mut protected).await.map_err(|e| {
                let which = if i == 0 { "the current snapshot" } else { "the retained snapshot" };
                error(409, &format!("cannot tell what {which} {snapshot} reaches: {e}; nothing deleted"))
            })?;
        }
    }
    let (refused, gone): (Vec<String>, Vec<String>) = keys.into_iter().partition(|k| protected.contains(k));
    store.delete(&gone).await.map_err(store_err)?;
    Ok(reply(200, &Deleted { deleted: gone.len(), refused }))
}
