//! The request → response function: authentication, negotiation and routing over a store.
//!
//! The same function runs natively in tests over a [`MemoryStore`](crate::store::MemoryStore) and in the
//! worker over R2. Check order: admin paths first (their own token), then authentication (401, see
//! [`crate::auth`]), then Accept (406), then the route (404), then the resource. Nothing here panics on any
//! input; every failure is a TAXII error.
//!
//! [`Service::handle`] is three steps, so the worker can put its edge cache between them: `prepare` (admin,
//! authentication, the server-level access check, the cache key), `respond` (the full response from the
//! store) and `finish` (the client's `Cache-Control` and `Vary`, 304, HEAD). See [`crate::server::cache_key`].

use crate::auth::{self, Viewer};
use crate::server::admin;
use crate::server::cache_key::{self, Scope};
use crate::settings::base_url;
use crate::settings::Settings;
use crate::snapshot::pointer::Pinned;
use crate::snapshot::reader::{Cache, Reader};
use crate::store::Store;
use crate::taxii::error::{TaxiiError, FALLBACK};
use crate::taxii::media::{negotiate, Version};
use crate::taxii::{content, resources, token, Request, Response};
use crate::text::shown;
use crate::time::Timestamp;
use std::rc::Rc;

/// What [`Service::prepare`] found.
pub enum Prepared<'a> {
    /// Answered already: the admin API, or a refusal given before anything was read.
    Answered(Response),
    /// A caller who may be answered: by [`Service::respond`] then [`Service::finish`], or from the edge cache
    /// under `key` then [`Service::finish`].
    Ready(Ready<'a>),
}

/// An authenticated request, ready to be answered.
pub struct Ready<'a> {
    viewer: Viewer<'a>,
    /// Where the edge may keep the full response (see [`crate::server::cache_key`]); `None`: never kept.
    pub key: Option<String>,
    /// The client's `Cache-Control` for a 200 or 206 of a TAXII route; `None` for other paths.
    client_cache: Option<&'static str>,
}

/// The service: settings plus the per-isolate cache.
pub struct Service {
    pub settings: Settings,
    pub cache: Rc<Cache>,
}

/// What a path names.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    Discovery(Version),
    ApiRoot,
    Status,
    Collections,
    Collection(&'a str),
    Manifest(&'a str),
    Objects(&'a str),
    Object(&'a str, &'a str),
    Versions(&'a str, &'a str),
}

impl Service {
    pub fn new(settings: Settings) -> Self {
        Service { settings, cache: Rc::new(Cache::default()) }
    }

    /// Answers one request. `now` is the current time (for the publish pointer).
    pub async fn handle<S: Store>(&self, store: &S, req: &Request, now: Timestamp) -> Response {
        let store = Pinned::with_memo(store, &self.cache.pointer, now, self.settings.pointer_ttl);
        match self.prepare(&store, req, now).await {
            Prepared::Answered(resp) => resp,
            Prepared::Ready(ready) => {
                let full = self.respond(&store, req, &ready).await;
                self.finish(req, &ready, full)
            }
        }
    }

    /// The first step of a request, before any edge cache is consulted: the admin API, authentication (every
    /// request), the server-level access check, and the cache key, which names the snapshot the pointer gives
    /// now (or that a `next` token names) and the caller's view. `store` pins the pointer for the request, so
    /// [`Service::respond`] renders from the snapshot the key names.
    pub async fn prepare<'a, S: Store>(&'a self, store: &Pinned<'_, S>, req: &Request, now: Timestamp) -> Prepared<'a> {
        // Size limits first: nothing else reads an oversized request.
        if let Err(e) = self.settings.limits.check(req) {
            return Prepared::Answered(self.refuse(req, e));
        }
        if req.path == "/admin" || req.path.starts_with("/admin/") {
            let resp = admin::handle(&self.settings, store.inner(), req, now).await;
            if !matches!(req.method.as_str(), "GET" | "HEAD") {
                store.forget_pointer(); // a switch is seen by this isolate's next request
            }
            return Prepared::Answered(resp);
        }
        // Authentication comes before anything else that is not public.
        let viewer = match auth::authenticate(&self.settings.access, req.header("authorization")) {
            Ok(v) => v,
            Err(e) => return Prepared::Answered(self.refuse(req, e.to_error(&self.settings.access))),
        };
        let path = req.path.trim_end_matches('/');
        let segments: Vec<&str> =
            if path.is_empty() { vec![] } else { path.strip_prefix('/').unwrap_or(path).split('/').collect() };
        let route = self.route(&segments);
        // An anonymous caller of a server whose discovery is not public may still read public collections;
        // everything else asks it to sign in (collections decide for themselves: see Viewer::no_such_collection).
        let in_collection = matches!(
            route,
            Some(
                Route::Collection(_) | Route::Manifest(_) | Route::Objects(_) | Route::Object(..) | Route::Versions(..)
            )
        );
        if !viewer.may_see_server() && !in_collection {
            return Prepared::Answered(self.refuse(req, viewer.sign_in_required()));
        }
        let client_cache = route.as_ref().map(|r| client_cache_control(req, r));
        let key = match &route {
            Some(r) if matches!(req.method.as_str(), "GET" | "HEAD") => self.cache_key(store, req, &viewer, r).await,
            _ => None,
        };
        Prepared::Ready(Ready { viewer, key, client_cache })
    }

    /// The edge cache key of a GET, or `None` when its response must not be kept (it cannot be negotiated,
    /// nothing is published, the store failed, a `next` token is not ours or names a pruned snapshot).
    async fn cache_key<S: Store>(
        &self,
        store: &Pinned<'_, S>,
        req: &Request,
        viewer: &Viewer<'_>,
        route: &Route<'_>,
    ) -> Option<String> {
        let version = negotiate(req.header("accept"), &self.offered(route))?;
        let scope = match route {
            Route::Discovery(_) | Route::ApiRoot => Scope::Server,
            Route::Status => return None,
            _ => {
                let reader = Reader { store, cache: &self.cache };
                let paged =
                    matches!(route, Route::Manifest(_) | Route::Objects(_) | Route::Object(..) | Route::Versions(..))
                        && version == Version::V21;
                let mut tokens = req.query.iter().filter(|(k, _)| k == "next").map(|(_, v)| v.as_str());
                let snap = match (tokens.next(), tokens.next()) {
                    (None, _) => reader.current().await.ok()?,
                    // A page reached by `next` belongs to the token's snapshot, whatever was published since.
                    (Some(t), None) if paged => {
                        let cursor = token::decode(t, &self.settings.next_secret).ok()?;
                        reader.by_id(&cursor.s).await.ok()??
                    }
                    _ => return None,
                };
                let view =
                    cache_key::view_of(&snap.manifest, viewer.is_authenticated(), viewer.may_see_server(), |c| {
                        viewer.may_read(c)
                    });
                Scope::Snapshot { id: snap.id, view }
            }
        };
        Some(cache_key::key(&self.settings, req, version, &scope))
    }

    /// Puts the client-facing parts on a full response (from [`Service::respond`] or from the edge cache, whose
    /// body may be left out): `Cache-Control` (public content, or `private, no-store` for a signed-in caller),
    /// `Vary`, a 304 for a matching `If-None-Match`, and no body for HEAD.
    pub fn finish(&self, req: &Request, ready: &Ready<'_>, mut resp: Response) -> Response {
        if let Some(cc) = ready.client_cache {
            if !resp.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("vary")) {
                resp.headers.push(("Vary".into(), "Accept, Authorization".into()));
            }
            if matches!(resp.status, 200 | 206) {
                resp.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("cache-control"));
                resp.headers.push(("Cache-Control".into(), cc.into()));
                resp = if_none_match(req, resp);
            }
        }
        // Whatever a signed-in caller sees is for it alone: no shared cache may keep it.
        if ready.viewer.is_authenticated() || resp.status == 401 {
            resp.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("cache-control"));
            resp.headers.push(("Cache-Control".into(), "private, no-store".into()));
        }
        if req.method == "HEAD" {
            resp.body.clear();
        }
        resp
    }

    /// The 401 (or 503) of a failed authentication, in the version the request negotiates where it can.
    fn refuse(&self, req: &Request, e: TaxiiError) -> Response {
        let mut offered = self.settings.versions.clone();
        let first = match req.path.trim_end_matches('/') {
            "/taxii" => Some(Version::V20),
            "/taxii2" => Some(Version::V21),
            _ => None,
        };
        if let Some(f) = first.filter(|f| offered.contains(f)) {
            offered.retain(|x| *x != f);
            offered.insert(0, f);
        }
        let version = negotiate(req.header("accept"), &offered).or(offered.first().copied()).unwrap_or(FALLBACK);
        let mut resp = e.to_response(version);
        if req.method == "HEAD" {
            resp.body.clear();
        }
        resp.headers.push(("Cache-Control".into(), "private, no-store".into()));
        resp.headers.push(("Vary".into(), "Accept, Authorization".into()));
        resp
    }

    /// Answers a request whose caller is known, in full: the body even for HEAD or a matching
    /// `If-None-Match` (those are [`Service::finish`]'s), so the edge may keep it.
    pub async fn respond<S: Store>(&self, store: &S, req: &Request, ready: &Ready<'_>) -> Response {
        let viewer = &ready.viewer;
        let path = req.path.trim_end_matches('/');
        let segments: Vec<&str> =
            if path.is_empty() { vec![] } else { path.strip_prefix('/').unwrap_or(path).split('/').collect() };
        let route = self.route(&segments);
        if path == "/api/status" {
            return self.status(store, req, viewer).await;
        }
        let Some(route) = route else {
            let version = negotiate(req.header("accept"), &self.settings.versions).unwrap_or(FALLBACK);
            return TaxiiError::not_found(format!(
                "there is no TAXII resource at {}: discovery is at /taxii2/ (TAXII 2.1) and /taxii/ (TAXII 2.0)",
                shown(&req.path)
            ))
            .to_response(version);
        };
        let offered = self.offered(&route);
        let Some(version) = negotiate(req.header("accept"), &offered) else {
            let can: Vec<&str> = offered.iter().flat_map(|v| [v.taxii_type(), v.stix_type()]).collect();
            let mut e = TaxiiError::new(
                406,
                "Not acceptable",
                format!(
                    "the Accept header {:?} allows no media type this endpoint serves; it serves: {}",
                    req.header("accept").unwrap_or_default(),
                    can.join(", ")
                ),
            );
            e.parameter = Some("Accept".into());
            return e.to_response(offered.first().copied().unwrap_or(FALLBACK));
        };
        let witness = crate::faults::Witness::new(store);
        let result = match (req.method.as_str(), &route) {
            ("GET" | "HEAD", _) => self.get(&witness, req, viewer, &route, version).await,
            ("POST", Route::Objects(_)) | ("DELETE", Route::Object(..)) => {
                self.refuse_write(store, viewer, &route).await
            }
            _ => Err(method_not_allowed(&route, &req.method)),
        };
        let mut resp = result.unwrap_or_else(|e| {
            if e.status == 503 {
                crate::faults::log_error(&format!("{} {}: {}", req.method, shown(&req.path), e.description));
            }
            e.to_response(version)
        });
        if let Some(note) = crate::taxii::limits::clamp_note(req, self.settings.max_limit) {
            let content =
                matches!(route, Route::Manifest(_) | Route::Objects(_) | Route::Object(..) | Route::Versions(..));
            if content && matches!(resp.status, 200 | 206) {
                resp.headers.push(note);
            }
        }
        // Name the snapshot the response was built from: the pointer's, or the one a `next` token continues.
        let next = req.query.iter().find(|(k, _)| k == "next");
        let cursor = next.and_then(|(_, t)| token::decode(t, &self.settings.next_secret).ok());
        if let Some(id) = witness.snapshot.into_inner().or(cursor.map(|c| c.s)) {
            resp.headers.push((crate::faults::SNAPSHOT_HEADER.into(), id));
        }
        resp.headers.push(("Vary".into(), "Accept, Authorization".into()));
        if matches!(resp.status, 200 | 206) {
            let etag = etag(&resp);
            resp.headers.push(("ETag".into(), etag));
        }
        resp
    }

    /// The versions a route offers, in order of preference (discovery prefers its own).
    fn offered(&self, route: &Route<'_>) -> Vec<Version> {
        match *route {
            Route::Discovery(v) => {
                let mut o = vec![v];
                o.extend(self.settings.versions.iter().filter(|&&x| x != v));
                o
            }
            _ => self.settings.versions.clone(),
        }
    }

    /// `GET /api/status`: what the console shows: the server, the current snapshot, and each collection with
    /// its query and counts (those the caller may read). JSON, not a TAXII resource.
    async fn status<S: Store>(&self, store: &S, req: &Request, viewer: &Viewer<'_>) -> Response {
        let reader = Reader { store, cache: &self.cache };
        let s = &self.settings;
        let mut body = serde_json::json!({
            "title": s.title,
            "description": s.description,
            "api_root": resources::api_root_url(s, req),
            "discovery": {
                "2.1": self.settings.versions.contains(&Version::V21).then(|| format!("{}/taxii2/", base_url(s, req))),
                "2.0": self.settings.versions.contains(&Version::V20).then(|| format!("{}/taxii/", base_url(s, req))),
            },
            "max_page_size": s.max_limit,
        });
        let status = match reader.current().await {
            Ok(snap) => {
                body["snapshot"] = serde_json::json!({
                    "id": snap.id,
                    "created": snap.manifest.created,
                    "published": snap.published,
                });
                let visible: Vec<_> = snap.manifest.collections.iter().filter(|c| viewer.may_read(c)).collect();
                body["collections"] = serde_json::to_value(visible).expect("collections serialise");
                if let Some(list) = body["collections"].as_array_mut() {
                    for c in list {
                        if let Some(o) = c.as_object_mut() {
                            o.remove("index");
                        }
                    }
                }
                200
            }
            Err(crate::snapshot::SnapshotError::NothingPublished) => {
                body["snapshot"] = serde_json::Value::Null;
                body["collections"] = serde_json::json!([]);
                200
            }
            Err(e) => {
                crate::faults::log_error(&format!("GET /api/status: {e}"));
                body["error"] = serde_json::json!(e.to_string());
                503
            }
        };
        Response {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Cache-Control".into(), "no-store".into()),
            ],
            body: serde_json::to_vec(&body).expect("status serialises"),
        }
    }

    fn route<'a>(&self, seg: &[&'a str]) -> Option<Route<'a>> {
        let root = self.settings.api_root.as_str();
        let enabled = |v: Version| self.settings.versions.contains(&v);
        Some(match seg {
            ["taxii2"] if enabled(Version::V21) => Route::Discovery(Version::V21),
            ["taxii"] if enabled(Version::V20) => Route::Discovery(Version::V20),
            [r] if *r == root => Route::ApiRoot,
            [r, "status", _] if *r == root => Route::Status,
            [r, "collections"] if *r == root => Route::Collections,
            [r, "collections", c] if *r == root => Route::Collection(c),
            [r, "collections", c, "manifest"] if *r == root => Route::Manifest(c),
            [r, "collections", c, "objects"] if *r == root => Route::Objects(c),
            [r, "collections", c, "objects", o] if *r == root => Route::Object(c, o),
            [r, "collections", c, "objects", o, "versions"] if *r == root => Route::Versions(c, o),
            _ => return None,
        })
    }

    async fn get<S: Store>(
        &self,
        store: &S,
        req: &Request,
        viewer: &Viewer<'_>,
        route: &Route<'_>,
        v: Version,
    ) -> Result<Response, TaxiiError> {
        let reader = Reader { store, cache: &self.cache };
        let s = &self.settings;
        match *route {
            Route::Discovery(_) => Ok(resources::discovery(s, req, v)),
            Route::ApiRoot => Ok(resources::api_root(s, v)),
            Route::Status => Err(TaxiiError::not_found(
                "this server is read-only and has no status resources: nothing was ever submitted to it",
            )),
            Route::Collections => resources::collections(&reader, viewer, v).await,
            Route::Collection(c) => resources::collection(&reader, viewer, c, v).await,
            Route::Manifest(c) => content::manifest(s, &reader, req, viewer, c, v).await,
            Route::Objects(c) => content::objects(s, &reader, req, viewer, c, v).await,
            Route::Object(c, o) => content::object(s, &reader, req, viewer, c, o, v).await,
            Route::Versions(c, o) => content::versions(s, &reader, req, viewer, c, o, v).await,
        }
    }

    /// POST objects and DELETE object on a read-only collection: 403 where the collection exists.
    async fn refuse_write<S: Store>(
        &self,
        store: &S,
        viewer: &Viewer<'_>,
        route: &Route<'_>,
    ) -> Result<Response, TaxiiError> {
        let reader = Reader { store, cache: &self.cache };
        let (Route::Objects(c) | Route::Object(c, _)) = *route else {
            return Err(method_not_allowed(route, "POST"));
        };
        resources::find_collection(&reader, viewer, c).await?;
        Err(TaxiiError::new(
            403,
            "Forbidden",
            "this collection is read-only (can_write: false): it accepts no objects and deletes none",
        )
        .with_header("Allow", "GET, HEAD"))
    }
}

/// A strong ETag: a response is a pure function of the snapshot, the request and the caller's view, so the hash
/// of its bytes is one.
fn etag(resp: &Response) -> String {
    let ct = resp.header("content-type").unwrap_or_default();
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(ct.as_bytes());
    hasher.update(&[0]);
    hasher.update(&resp.body);
    format!("\"{:032x}\"", hasher.digest128())
}

/// How long shared caches may keep a 200 or 206: pages reached by `next` never change; other content is
/// current until the next publish.
fn client_cache_control(req: &Request, route: &Route<'_>) -> &'static str {
    let paged = req.query.iter().any(|(k, _)| k == "next");
    match route {
        _ if paged => "public, max-age=86400",
        Route::Discovery(_) | Route::ApiRoot => "public, max-age=300",
        _ => "public, max-age=60",
    }
}

/// Answers a matching `If-None-Match` with 304 (no body, no `Content-Range`).
fn if_none_match(req: &Request, mut resp: Response) -> Response {
    let Some(etag) = resp.header("etag").map(str::to_string) else { return resp };
    let matches = req
        .header("if-none-match")
        .is_some_and(|h| h.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == etag || t == "*"));
    if matches {
        resp.status = 304;
        resp.body.clear();
        resp.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-range"));
    }
    resp
}

fn method_not_allowed(route: &Route<'_>, method: &str) -> TaxiiError {
    let allow = match route {
        Route::Objects(_) => "GET, HEAD, POST",
        Route::Object(..) => "GET, HEAD, DELETE",
        _ => "GET, HEAD",
    };
    TaxiiError::new(405, "Method not allowed", format!("{} is not allowed here; use {allow}", shown(method)))
        .with_header("Allow", allow)
}
