//! The request → response function: authentication, negotiation and routing over a store.
//!
//! The same function runs natively in tests over a [`MemoryStore`](crate::store::MemoryStore) and in the
//! worker over R2. Check order: admin paths first (their own token), then authentication (401, see
//! [`crate::auth`]), then Accept (406), then the route (404), then the resource. Nothing here panics on any
//! input; every failure is a TAXII error.

use crate::admin;
use crate::auth::{self, Access, Viewer};
use crate::snapshot::reader::{Cache, Reader};
use crate::store::Store;
use crate::taxii::error::{TaxiiError, FALLBACK};
use crate::taxii::media::{negotiate, Version};
use crate::taxii::{content, resources, Request, Response};
use crate::time::Timestamp;
use std::rc::Rc;

/// Deployment settings (from wrangler.toml vars and secrets at the edge).
#[derive(Clone, Debug)]
pub struct Settings {
    pub title: String,
    pub description: String,
    pub contact: Option<String>,
    /// The API root's path segment (XSOAR's is `threatintel`).
    pub api_root: String,
    /// Page size when the client gives no `limit`, and the most a page holds.
    pub default_limit: usize,
    pub max_limit: usize,
    /// The TAXII versions served, in order of preference.
    pub versions: Vec<Version>,
    /// The key that signs `next` tokens.
    pub next_secret: Vec<u8>,
    /// The admin token for publishing; `None` turns the admin path off.
    pub admin_token: Option<String>,
    /// An absolute base URL to put in discovery instead of the request's origin.
    pub public_url: Option<String>,
    /// Users, public collections and public discovery. The default is open (tests, local tools); the worker
    /// reads it from its settings, where nothing configured means closed.
    pub access: Access,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            title: "taxii-edge".into(),
            description: "Threat intelligence feeds over TAXII 2.1 and 2.0".into(),
            contact: None,
            api_root: "threatintel".into(),
            default_limit: 1000,
            max_limit: 1000,
            versions: vec![Version::V21, Version::V20],
            next_secret: b"taxii-edge development secret".to_vec(),
            admin_token: None,
            public_url: None,
            access: Access::open(),
        }
    }
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
        if req.path == "/admin" || req.path.starts_with("/admin/") {
            return admin::handle(&self.settings, store, req, now).await;
        }
        // Authentication comes before anything else that is not public.
        let viewer = match auth::authenticate(&self.settings.access, req.header("authorization")) {
            Ok(v) => v,
            Err(e) => return self.refuse(req, e.to_error(&self.settings.access)),
        };
        let mut resp = self.answer(store, req, &viewer).await;
        if req.method == "HEAD" {
            resp.body.clear(); // the early answers (404, 406, status) too
        }
        // Whatever a signed-in caller sees is for it alone: no shared cache may keep it.
        if viewer.is_authenticated() || resp.status == 401 {
            resp.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("cache-control"));
            resp.headers.push(("Cache-Control".into(), "private, no-store".into()));
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

    /// Answers a request whose caller is known.
    async fn answer<S: Store>(&self, store: &S, req: &Request, viewer: &Viewer<'_>) -> Response {
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
            return self.refuse(req, viewer.sign_in_required());
        }
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
        let offered: Vec<Version> = match route {
            Route::Discovery(v) => {
                let mut o = vec![v];
                o.extend(self.settings.versions.iter().filter(|&&x| x != v));
                o
            }
            _ => self.settings.versions.clone(),
        };
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
        let result = match (req.method.as_str(), &route) {
            ("GET" | "HEAD", _) => self.get(store, req, viewer, &route, version).await,
            ("POST", Route::Objects(_)) | ("DELETE", Route::Object(..)) => {
                self.refuse_write(store, viewer, &route).await
            }
            _ => Err(method_not_allowed(&route, &req.method)),
        };
        let mut resp = result.unwrap_or_else(|e| e.to_response(version));
        resp.headers.push(("Vary".into(), "Accept, Authorization".into()));
        if matches!(resp.status, 200 | 206) {
            resp = validators(req, &route, resp);
        }
        if req.method == "HEAD" {
            resp.body.clear();
        }
        resp
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

/// Adds a strong ETag (a response is a pure function of the snapshot, the request and the caller's view, so the
/// hash of its bytes is one), answers a matching `If-None-Match` with 304, and says how long shared caches may
/// keep it: pages reached by `next` never change; other content is current until the next publish.
fn validators(req: &Request, route: &Route<'_>, mut resp: Response) -> Response {
    let ct = resp.header("content-type").unwrap_or_default().to_string();
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(ct.as_bytes());
    hasher.update(&[0]);
    hasher.update(&resp.body);
    let etag = format!("\"{:032x}\"", hasher.digest128());
    let paged = req.query.iter().any(|(k, _)| k == "next");
    let max_age = match route {
        _ if paged => "public, max-age=86400",
        Route::Discovery(_) | Route::ApiRoot => "public, max-age=300",
        _ => "public, max-age=60",
    };
    resp.headers.push(("ETag".into(), etag.clone()));
    resp.headers.push(("Cache-Control".into(), max_age.into()));
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

/// The server's base URL: the configured public URL or the request's origin.
pub fn base_url(s: &Settings, req: &Request) -> String {
    s.public_url.as_deref().unwrap_or(&req.origin).trim_end_matches('/').to_string()
}

/// A client-supplied string, shortened for messages.
pub fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(100).collect();
    if s.chars().count() > 100 {
        out.push('…');
    }
    out
}
