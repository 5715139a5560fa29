//! edge-worker: the Worker entry point: turns a `worker::Request` into the core's request, gives the core a
//! store over R2, and turns the core's response back. Nothing TAXII-specific lives here. Cacheable responses go
//! through the Workers Cache API (`caches.default`) under the key the core gives (see `edge_core::server::cache_key`):
//! authentication comes first, then the cache, then the store. Every response says where its time went in a
//! `Server-Timing` header (see [`Timing`]).

mod deadline;

use edge_core::server::cache_key as response_cache;
use edge_core::server::{Prepared, Service, Settings};
use edge_core::snapshot::pointer::Pinned;
use edge_core::snapshot::reader::Cache;
use edge_core::store::{Store, StoreError};
use edge_core::taxii::media::Version;
use edge_core::taxii::{percent_decode, Request as CoreRequest, Response as CoreResponse};
use edge_core::time::Timestamp;
use std::rc::Rc;
use worker::{event, Bucket, Cache as EdgeCache, Context, Env, Headers, Request, Response, Result};

thread_local! {
    /// Immutable snapshot metadata and segments, kept for the life of the isolate.
    static CACHE: Rc<Cache> = Rc::new(Cache::default());
}

/// R2 as the core's store.
struct R2(Bucket);

impl Store for R2 {
    async fn get(&self, key: &str) -> std::result::Result<Option<Vec<u8>>, StoreError> {
        let obj = self.0.get(key).execute().await.map_err(|e| StoreError(format!("R2 get {key}: {e}")))?;
        let Some(obj) = obj else { return Ok(None) };
        match obj.body() {
            Some(body) => body.bytes().await.map(Some).map_err(|e| StoreError(format!("R2 read {key}: {e}"))),
            None => Ok(None),
        }
    }

    async fn exists(&self, key: &str) -> std::result::Result<bool, StoreError> {
        self.0.head(key).await.map(|o| o.is_some()).map_err(|e| StoreError(format!("R2 head {key}: {e}")))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> std::result::Result<(), StoreError> {
        self.0.put(key, bytes).execute().await.map(|_| ()).map_err(|e| StoreError(format!("R2 put {key}: {e}")))
    }

    async fn list(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> std::result::Result<edge_core::store::Listing, StoreError> {
        let mut q = self.0.list().limit(limit.clamp(1, edge_core::store::MAX_BATCH) as u32);
        if let Some(c) = cursor {
            q = q.cursor(c);
        }
        let page = q.execute().await.map_err(|e| StoreError(format!("R2 list: {e}")))?;
        let keys = page
            .objects()
            .iter()
            .map(|o| edge_core::store::Listed {
                key: o.key(),
                uploaded: Timestamp(o.uploaded().as_millis() as i64 * 1000),
                size: o.size(),
            })
            .collect();
        Ok(edge_core::store::Listing { keys, cursor: if page.truncated() { page.cursor() } else { None } })
    }

    async fn delete(&self, keys: &[String]) -> std::result::Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.0.delete_multiple(keys).await.map_err(|e| StoreError(format!("R2 delete: {e}")))
    }
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty())
}

fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty())
}

/// Settings from `[vars]` in wrangler.toml and from secrets.
fn settings(env: &Env) -> Settings {
    let mut s = Settings::default();
    if let Some(v) = var(env, "TAXII_TITLE") {
        s.title = v;
    }
    if let Some(v) = var(env, "TAXII_DESCRIPTION") {
        s.description = v;
    }
    s.contact = var(env, "TAXII_CONTACT");
    if let Some(v) = var(env, "API_ROOT") {
        s.api_root = v;
    }
    if let Some(n) = var(env, "MAX_PAGE_SIZE").and_then(|v| v.parse().ok()).filter(|&n: &usize| n > 0) {
        s.max_limit = n;
    }
    if let Some(n) = var(env, "DEFAULT_PAGE_SIZE").and_then(|v| v.parse().ok()).filter(|&n: &usize| n > 0) {
        s.default_limit = n.min(s.max_limit);
    }
    if let Some(v) = var(env, "TAXII_VERSIONS") {
        let versions: Vec<Version> = v
            .split(',')
            .filter_map(|x| match x.trim() {
                "2.1" => Some(Version::V21),
                "2.0" => Some(Version::V20),
                _ => None,
            })
            .collect();
        if !versions.is_empty() {
            s.versions = versions;
        }
    }
    if let Some(k) = secret(env, "NEXT_SECRET") {
        s.next_secret = k.into_bytes();
    }
    s.admin_token = secret(env, "ADMIN_TOKEN");
    s.public_url = var(env, "PUBLIC_URL");
    s.limits = edge_core::taxii::limits::Limits::from_vars(|name| var(env, name));
    let ttl_ms = var(env, "POINTER_TTL_MS").and_then(|v| v.trim().parse::<i64>().ok()).filter(|&n| n >= 0);
    s.pointer_ttl = ttl_ms.unwrap_or(edge_core::settings::DEFAULT_POINTER_TTL_MS).min(3_600_000) * 1000;
    // Users and public collections (see edge_core::auth); nothing configured is a closed server, a broken
    // configuration one that answers 503 (fail closed) and says why in the log.
    s.access = edge_core::auth::Access::from_config_memo(
        secret(env, "TAXII_USERS").as_deref(),
        var(env, "PUBLIC_COLLECTIONS").as_deref(),
        var(env, "PUBLIC_DISCOVERY").as_deref(),
        var(env, "TAXII_REALM").as_deref(),
    )
    .unwrap_or_else(|e| {
        worker::console_error!("taxii-edge access configuration: {e}");
        edge_core::auth::Access::broken()
    });
    s
}

#[event(fetch)]
pub async fn fetch(mut req: Request, env: Env, ctx: Context) -> Result<Response> {
    let mut timing = Timing::start();
    edge_core::faults::set_log_sink(|line| worker::console_error!("{line}"));
    let url = req.url()?;
    let method = req.method().to_string();
    let body = if matches!(method.as_str(), "PUT" | "POST") && url.path().starts_with("/admin/") {
        Some(req.bytes().await?)
    } else {
        None
    };
    let core = CoreRequest {
        method,
        path: percent_decode(url.path()),
        query: url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
        headers: req.headers().entries().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(),
        origin: url.origin().ascii_serialization(),
        body,
    };
    let service = Service { settings: settings(&env), cache: CACHE.with(Rc::clone) };
    let now = Timestamp((js_sys::Date::now() * 1000.0) as i64);
    let r2 = deadline::timed(R2(env.bucket("SNAPSHOTS")?), &env);
    let store = Pinned::with_memo(&r2, &service.cache.pointer, now, service.settings.pointer_ttl);
    let prepared = service.prepare(&store, &core, now).await;
    timing.mark("prepare");
    let ready = match prepared {
        Prepared::Answered(out) => return to_worker(out, None, &timing),
        Prepared::Ready(ready) => ready,
    };
    // Authenticated (or public) and keyed: the edge cache may answer, without touching a segment.
    let Some(key) = ready.key.clone() else {
        let mut out = service.finish(&core, &ready, service.respond(&store, &core, &ready).await);
        timing.mark("respond");
        if core.path == "/api/status" {
            // The isolate's wasm memory (its high-water mark: it never shrinks), for the benchmark and operators.
            let bytes = core::arch::wasm32::memory_size(0) * 65536;
            out.headers.push(("X-TAXII-Edge-Wasm-Memory".into(), bytes.to_string()));
        }
        return to_worker(out, None, &timing);
    };
    let edge = EdgeCache::default();
    let hit = edge.get(key.as_str(), false).await.ok().flatten();
    timing.mark("cache");
    if let Some(hit) = hit {
        let headers: Vec<(String, String)> = hit.headers().entries().collect();
        if let Some(head) = response_cache::from_edge_copy(headers) {
            let out = service.finish(&core, &ready, head);
            if out.status == 304 || core.method == "HEAD" {
                return to_worker(out, Some("HIT"), &timing);
            }
            return Ok(hit.with_status(out.status).with_headers(worker_headers(&out.headers, Some("HIT"), &timing)?));
        }
    }
    let full = service.respond(&store, &core, &ready).await;
    timing.mark("respond");
    if response_cache::cacheable_status(full.status) {
        let copy = response_cache::edge_copy(&full);
        let stored =
            Response::from_bytes(copy.body)?.with_headers(worker_headers(&copy.headers, None, &Timing::none())?);
        ctx.wait_until(async move {
            if let Err(e) = edge.put(key.as_str(), stored).await {
                worker::console_error!("taxii-edge: keeping a response in the edge cache failed: {e}");
            }
        });
    }
    to_worker(service.finish(&core, &ready, full), Some("MISS"), &timing)
}

/// Where a request's time went, as the `Server-Timing` header gives it (browsers' developer tools show it; the
/// benchmark reads it): `prepare` (the pointer, the snapshot's metadata, authentication), `cache` (the edge cache's
/// lookup), `respond` (storage reads and rendering). The Workers runtime advances its clock only at I/O, so each
/// part is the time from the previous part's end to the I/O that ended it: the waits on storage and on the cache,
/// and the computing before them; whole milliseconds, so one request says little and a series' mean a lot.
struct Timing {
    last: f64,
    parts: Vec<(&'static str, f64)>,
}

impl Timing {
    fn start() -> Self {
        Timing { last: js_sys::Date::now(), parts: Vec::new() }
    }

    /// A response that is not sent to a client (the edge cache's copy) says nothing.
    fn none() -> Self {
        Timing { last: 0.0, parts: Vec::new() }
    }

    fn mark(&mut self, part: &'static str) {
        let now = js_sys::Date::now();
        self.parts.push((part, now - self.last));
        self.last = now;
    }

    fn header(&self) -> Option<String> {
        let parts: Vec<String> = self.parts.iter().map(|(part, ms)| format!("{part};dur={ms}")).collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// The core's headers, plus whether the edge cache answered and where the time went.
fn worker_headers(list: &[(String, String)], cache: Option<&str>, timing: &Timing) -> Result<Headers> {
    let headers = Headers::new();
    for (k, v) in list {
        headers.append(k, v)?;
    }
    if let Some(c) = cache {
        headers.set(response_cache::CACHE_STATUS_HEADER, c)?;
    }
    if let Some(t) = timing.header() {
        headers.set("Server-Timing", &t)?;
    }
    Ok(headers)
}

fn to_worker(out: CoreResponse, cache: Option<&str>, timing: &Timing) -> Result<Response> {
    let headers = worker_headers(&out.headers, cache, timing)?;
    Ok(Response::from_bytes(out.body)?.with_status(out.status).with_headers(headers))
}
