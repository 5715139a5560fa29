//! edge-worker: the Cloudflare Worker, a thin adapter over `edge_core`. It turns a `worker::Request` into the
//! core's request, gives the core a store over R2, and turns the core's response back. Nothing TAXII-specific
//! lives here. Cacheable responses go through the Workers Cache API (`caches.default`) under the key the core
//! gives (see `edge_core::server::cache_key`): authentication comes first, then the cache, then the store.
//!
//! - [`fetch`] (here): the entry point, `[vars]` and secrets → `Settings`, the edge cache around the core's steps.
//! - `r2`: R2 as the core's store.
//! - `deadline`: the read deadline around R2 (`STORE_TIMEOUT_MS`).
//! - `timing`: the `Server-Timing` header of every response.

mod deadline;
mod r2;
mod timing;

use edge_core::server::cache_key as response_cache;
use edge_core::server::{Prepared, Service, Settings};
use edge_core::snapshot::pointer::Pinned;
use edge_core::snapshot::reader::Cache;
use edge_core::taxii::{percent_decode, Request as CoreRequest, Response as CoreResponse};
use edge_core::time::Timestamp;
use std::rc::Rc;
use timing::Timing;
use worker::{event, Cache as EdgeCache, Context, Env, Headers, Request, Response, Result};

thread_local! {
    /// Immutable snapshot metadata and segments, kept for the life of the isolate.
    static CACHE: Rc<Cache> = Rc::new(Cache::default());
}

/// A `[vars]` value; empty is unset.
fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty())
}

/// A secret's value; empty is unset.
fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty())
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
    let service = Service {
        settings: Settings::from_vars(|name| var(&env, name), |name| secret(&env, name)),
        cache: CACHE.with(Rc::clone),
    };
    let now = Timestamp((js_sys::Date::now() * 1000.0) as i64);
    let r2 = deadline::timed(r2::R2(env.bucket("SNAPSHOTS")?), &env);
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
