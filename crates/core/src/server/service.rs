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

use crate::auth::throttle::{FailureCounter, Throttle, Unthrottled};
use crate::auth::{self, AuthError, Viewer};
use crate::server::admin;
use crate::server::cache_key::{self, Scope};
use crate::settings::base_url;
use crate::settings::Settings;
use crate::snapshot::pointer::Pinned;
use crate::snapshot::reader::{Cache, Reader, Snapshot};
use crate::store::Store;
use crate::taxii::error::{TaxiiError, FALLBACK};
use crate::taxii::filters::Filters;
use crate::taxii::http::{Request, Response};
use crate::taxii::media::{negotiate, Version};
use crate::taxii::refusal::too_many_sign_ins;
use crate::taxii::token::{self, Cursor, TokenError, NEXT_IGNORED_HEADER};
use crate::taxii::{content, resources, Ctx};
use crate::text::shown;
use crate::time::Timestamp;
use std::rc::Rc;

pub use crate::taxii::route::Route;

/// What [`Service::prepare`] found.
pub enum Prepared<'a> {
    /// Answered already: the admin API, or a refusal given before anything was read.
    Answered(Response),
    /// A caller who may be answered: by [`Service::respond`] then [`Service::finish`], or from the edge cache
    /// under `key` then [`Service::finish`].
    Ready(Ready<'a>),
}

/// An authenticated request, ready to be answered: what [`Service::prepare`] learnt once, for
/// [`Service::respond`] and [`Service::finish`].
pub struct Ready<'a> {
    viewer: Viewer<'a>,
    /// What the path names; `None`: no TAXII resource (a 404, or the status page).
    route: Option<Route<'a>>,
    /// The version negotiated for the route; `None`: the Accept header allows none it serves (a 406).
    version: Option<Version>,
    /// The request's `next` token, verified once.
    next: Option<Result<Cursor, TokenError>>,
    /// Where the edge may keep the full response (see [`crate::server::cache_key`]); `None`: never kept.
    pub key: Option<String>,
    /// The client's `Cache-Control` for a 200 or 206 of a TAXII route; `None` for other paths.
    client_cache: Option<&'static str>,
}

impl Ready<'_> {
    /// Whether the caller signed in as a configured user.
    pub fn signed_in(&self) -> bool {
        self.viewer.is_authenticated()
    }
}

/// The service: settings plus the per-isolate cache.
pub struct Service {
    pub settings: Settings,
    pub cache: Rc<Cache>,
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
    pub async fn prepare<'a, S: Store>(
        &'a self,
        store: &Pinned<'_, S>,
        req: &'a Request,
        now: Timestamp,
    ) -> Prepared<'a> {
        self.prepare_throttled(store, req, now, None::<&Throttle<'_, Unthrottled>>).await
    }

    /// [`Service::prepare`], with failed sign-ins throttled (see [`crate::auth::throttle`]): the worker's.
    pub async fn prepare_throttled<'a, S: Store, C: FailureCounter>(
        &'a self,
        store: &Pinned<'_, S>,
        req: &'a Request,
        now: Timestamp,
        throttle: Option<&Throttle<'_, C>>,
    ) -> Prepared<'a> {
        // Size limits first: nothing else reads an oversized request.
        if let Err(e) = self.settings.limits.check(req) {
            return Prepared::Answered(self.refuse(req, e));
        }
        if is_admin(req) {
            // Natively (tests, tools) the request is borrowed: the worker calls `admin` itself, with the body.
            return Prepared::Answered(self.admin(store, req.clone(), now).await);
        }
        // Authentication comes before anything else that is not public.
        let access = &self.settings.access;
        let viewer = match self.sign_in(req, now, throttle).await {
            Ok(v) => v,
            Err(resp) => return Prepared::Answered(resp),
        };
        let route = Route::parse(&req.path, &self.settings.api_root, &self.settings.versions);
        // An anonymous caller of a server whose discovery is not public may still read public collections;
        // everything else asks it to sign in (collections decide for themselves: see Ctx::no_such_collection).
        if !route.is_some_and(|r| r.in_collection()) {
            if let Err(refusal) = viewer.see_server() {
                return Prepared::Answered(self.refuse(req, refusal.to_error(access)));
            }
        }
        let version = route.and_then(|r| negotiate(req.header("accept"), &r.offered(&self.settings.versions)));
        let next = token::first_in(&req.query, &self.settings.next_secret);
        let mut ready = Ready { viewer, route, version, next, key: None, client_cache: None };
        if let Some(r) = route {
            ready.client_cache = Some(client_cache_control(req, &r));
            if matches!(req.method.as_str(), "GET" | "HEAD") {
                ready.key = self.cache_key(store, req, &ready, &r).await;
            }
        }
        Prepared::Ready(ready)
    }

    /// Who is asking: the credentials checked, unless the throttle refuses their key (before any check) or a
    /// failure puts it over the limit. `Err` is the 401, 429 or 503 to answer with.
    async fn sign_in<'a, C: FailureCounter>(
        &'a self,
        req: &Request,
        now: Timestamp,
        throttle: Option<&Throttle<'_, C>>,
    ) -> Result<Viewer<'a>, Response> {
        let access = &self.settings.access;
        let header = req.header("authorization");
        let key = throttle
            .and(header)
            .and_then(|h| auth::parse_header(h).ok())
            .map(|(user, _)| crate::auth::throttle::key(req.header("cf-connecting-ip").unwrap_or_default(), &user));
        let throttled = throttle.zip(key.as_deref());
        if let Some(seconds) = throttled.and_then(|(t, k)| t.blocks.retry_after(k, now)) {
            return Err(self.refuse(req, too_many_sign_ins(seconds)));
        }
        match auth::authenticate(access, header) {
            Ok(viewer) => Ok(viewer),
            Err(AuthError::Wrong) => match throttled {
                Some((t, k)) if !t.counter.count(k, now).await => {
                    t.blocks.block(k, now);
                    Err(self.refuse(req, too_many_sign_ins(crate::auth::throttle::PERIOD_SECONDS)))
                }
                _ => Err(self.refuse(req, AuthError::Wrong.to_error(access))),
            },
            Err(e) => Err(self.refuse(req, e.to_error(access))),
        }
    }

    /// Answers an admin request (see [`admin`]): the size limits, the token, then the call. The worker checks
    /// the token and the declared length before it reads the body ([`admin::authorize`],
    /// [`admin::declared_length`]), then hands the request over whole.
    pub async fn admin<S: Store>(&self, store: &Pinned<'_, S>, req: Request, now: Timestamp) -> Response {
        if let Err(e) = self.settings.limits.check(&req) {
            return self.refuse(&req, e);
        }
        let writes = !matches!(req.method.as_str(), "GET" | "HEAD");
        let resp = admin::handle(&self.settings, store.inner(), req, now).await;
        if writes {
            store.forget_pointer(); // a switch is seen by this isolate's next request
        }
        resp
    }

    /// The edge cache key of a GET, or `None` when its response must not be kept (it cannot be negotiated,
    /// nothing is published, the store failed, a `next` token is not ours or names a pruned snapshot).
    async fn cache_key<S: Store>(
        &self,
        store: &Pinned<'_, S>,
        req: &Request,
        ready: &Ready<'_>,
        route: &Route<'_>,
    ) -> Option<String> {
        let version = ready.version?;
        let scope = match route {
            Route::Discovery(_) | Route::ApiRoot => Scope::Server,
            Route::Status => return None,
            _ => {
                let reader = Reader { store, cache: &self.cache };
                let paged = route.is_content() && version == Version::V21;
                let tokens = req.query.iter().filter(|(k, _)| k == "next").take(2).count();
                let snap = match (tokens, &ready.next) {
                    (0, _) => reader.current().await.ok()?,
                    // A page reached by a followed `next` belongs to the token's snapshot, whatever was published
                    // since; a request whose token is not followed is answered from the current one.
                    (1, Some(Ok(cursor))) if paged => {
                        let snap = reader.by_id(&cursor.s).await.ok()??;
                        if followed(req, ready, route, cursor, &snap) {
                            snap
                        } else {
                            reader.current().await.ok()?
                        }
                    }
                    _ => return None,
                };
                let viewer = &ready.viewer;
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
                // A page whose `next` was not followed is current content, not a page of a past snapshot.
                let cc = if resp.header(NEXT_IGNORED_HEADER).is_some() { CURRENT_CONTENT } else { cc };
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
        let viewer = ready.viewer;
        if req.path.trim_end_matches('/') == "/api/status" {
            return self.status(store, req, &viewer).await;
        }
        let Some(route) = ready.route else {
            let version = negotiate(req.header("accept"), &self.settings.versions).unwrap_or(FALLBACK);
            return TaxiiError::not_found(format!(
                "there is no TAXII resource at {}: discovery is at /taxii2/ (TAXII 2.1) and /taxii/ (TAXII 2.0)",
                shown(&req.path)
            ))
            .to_response(version);
        };
        let Some(version) = ready.version else {
            let offered = route.offered(&self.settings.versions);
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
        let ctx = Ctx { settings: &self.settings, req, viewer, version, route, next: ready.next.as_ref() };
        let witness = crate::faults::Witness::new(store);
        let result = match (req.method.as_str(), route) {
            ("GET" | "HEAD", _) => self.get(&ctx, &witness).await,
            ("POST", Route::Objects(c)) | ("DELETE", Route::Object(c, _)) => self.refuse_write(&ctx, store, c).await,
            _ => Err(method_not_allowed(&route, &req.method)),
        };
        let mut resp = result.unwrap_or_else(|e| {
            if e.status == 503 {
                crate::faults::log_error(&format!("{} {}: {}", req.method, shown(&req.path), e.description));
            }
            e.to_response(version)
        });
        if let Some(note) = crate::taxii::limits::clamp_note(req, self.settings.max_limit) {
            if route.is_content() && matches!(resp.status, 200 | 206) {
                resp.headers.push(note);
            }
        }
        // Name the snapshot the response was built from: the pointer's, or the one a `next` token continues.
        let cursor = ready.next.as_ref().and_then(|t| t.as_ref().ok());
        if let Some(id) = witness.snapshot.into_inner().or(cursor.map(|c| c.s.clone())) {
            resp.headers.push((crate::faults::SNAPSHOT_HEADER.into(), id));
        }
        resp.headers.push(("Vary".into(), "Accept, Authorization".into()));
        if matches!(resp.status, 200 | 206) {
            let etag = etag(&resp);
            resp.headers.push(("ETag".into(), etag));
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
        if let Some(w) = crate::settings::public_url_warning(s, req) {
            body["warnings"] = serde_json::json!([w]);
        }
        let status = match reader.current().await {
            Ok(snap) => {
                body["snapshot"] = serde_json::json!({
                    "id": snap.id,
                    "created": snap.manifest.created,
                    "published": snap.published,
                    // Freshness (taxii-edge sync): when each source last synced and how many records it gave.
                    "sources": snap.sources,
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

    /// A GET (or HEAD) of a TAXII route, in full.
    async fn get<S: Store>(&self, ctx: &Ctx<'_>, store: &S) -> Result<Response, TaxiiError> {
        let reader = Reader { store, cache: &self.cache };
        match ctx.route {
            Route::Discovery(_) => Ok(resources::discovery(ctx)),
            Route::ApiRoot => Ok(resources::api_root(ctx)),
            Route::Status => Err(TaxiiError::not_found(
                "this server is read-only and has no status resources: nothing was ever submitted to it",
            )),
            Route::Collections => resources::collections(ctx, &reader).await,
            Route::Collection(c) => resources::collection(ctx, &reader, c).await,
            Route::Manifest(c) => content::manifest(ctx, &reader, c).await,
            Route::Objects(c) => content::objects(ctx, &reader, c).await,
            Route::Object(c, o) => content::object(ctx, &reader, c, o).await,
            Route::Versions(c, o) => content::versions(ctx, &reader, c, o).await,
        }
    }

    /// POST objects and DELETE object on a read-only collection `c`: 403 where the collection exists.
    async fn refuse_write<S: Store>(&self, ctx: &Ctx<'_>, store: &S, c: &str) -> Result<Response, TaxiiError> {
        let reader = Reader { store, cache: &self.cache };
        resources::find_collection(ctx, &reader, c).await?;
        Err(TaxiiError::new(
            403,
            "Forbidden",
            "this collection is read-only (can_write: false): it accepts no objects and deletes none",
        )
        .with_header("Allow", "GET, HEAD"))
    }
}

/// Whether the request is for the admin API.
pub fn is_admin(req: &Request) -> bool {
    req.path == "/admin" || req.path.starts_with("/admin/")
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

/// Whether the request's genuine token is followed (see [`token::follows`]): its page is then the token
/// snapshot's; otherwise the request is answered from the current snapshot.
fn followed(req: &Request, ready: &Ready<'_>, route: &Route<'_>, cursor: &Cursor, snap: &Snapshot) -> bool {
    let Some((collection, endpoint)) = route.content() else { return false };
    let Ok(filters) = Filters::parse(&req.query, endpoint) else { return false };
    resources::lookup(snap, &ready.viewer, collection).is_some_and(|e| token::follows(cursor, &e.id, &filters).is_ok())
}

/// How long shared caches may keep a 200 or 206: pages reached by `next` never change; other content is
/// current until the next publish.
fn client_cache_control(req: &Request, route: &Route<'_>) -> &'static str {
    let paged = req.query.iter().any(|(k, _)| k == "next");
    match route {
        _ if paged => "public, max-age=86400",
        Route::Discovery(_) | Route::ApiRoot => "public, max-age=300",
        _ => CURRENT_CONTENT,
    }
}

/// The `Cache-Control` of content that is current until the next publish.
const CURRENT_CONTENT: &str = "public, max-age=60";

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
