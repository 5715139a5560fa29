//! edge-worker: the Cloudflare Worker, a thin adapter over `edge_core`. It turns a `worker::Request` into the
//! core's request, gives the core a store over R2, and turns the core's response back. Nothing TAXII-specific
//! lives here. Cacheable responses go through the Workers Cache API (`caches.default`) under the key the core
//! gives (see `edge_core::server::cache_key`): authentication comes first, then the cache, then the store.
//!
//! - [`fetch`] (here): the entry point, `[vars]` and secrets → `Settings`, the admin API (the token before the
//!   body), the edge cache around the core's steps.
//! - `body`: an admin request's body, read once and capped.
//! - `headers`: the headers of every response (security headers, cache status, timing).
//! - `limiter`: failed sign-ins counted by the Workers rate-limiting binding, or in the isolate.
//! - `r2`: R2 as the core's store.
//! - `deadline`: the read deadline around R2 (`STORE_TIMEOUT_MS`).
//! - `timing`: the `Server-Timing` header of every response.

mod body;
mod deadline;
mod headers;
mod limiter;
mod r2;
mod timing;

use edge_core::auth::throttle::{Blocks, LocalCounter, Throttle};
use edge_core::server::cache_key as response_cache;
use edge_core::server::{admin, service, Prepared, Service, Settings};
use edge_core::snapshot::pointer::Pinned;
use edge_core::snapshot::reader::Cache;
use edge_core::store::Store;
use edge_core::taxii::{percent_decode, Request as CoreRequest, Response as CoreResponse};
use edge_core::time::Timestamp;
use std::cell::Cell;
use std::rc::Rc;
use timing::Timing;
use worker::{event, Cache as EdgeCache, Context, Env, Request, Response, Result};

thread_local! {
    /// Immutable snapshot metadata and segments, kept for the life of the isolate.
    static CACHE: Rc<Cache> = Rc::new(Cache::default());
    /// Failed sign-ins, when there is no rate-limiting binding; and the keys this isolate refuses.
    static LOCAL_FAILURES: Rc<LocalCounter> = Rc::new(LocalCounter::default());
    static BLOCKS: Rc<Blocks> = Rc::new(Blocks::default());
    /// Whether this isolate has said that PUBLIC_URL is unset.
    static WARNED: Cell<bool> = const { Cell::new(false) };
}

/// The response header with the isolate's wasm memory, for signed-in users and the admin token.
const WASM_MEMORY_HEADER: &str = "X-TAXII-Edge-Wasm-Memory";

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
    let core = CoreRequest {
        method: req.method().to_string(),
        path: percent_decode(url.path()),
        query: url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
        headers: req.headers().entries().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(),
        origin: url.origin().ascii_serialization(),
        body: None,
    };
    let service = Service {
        settings: Settings::from_vars(|name| var(&env, name), |name| secret(&env, name)),
        cache: CACHE.with(Rc::clone),
    };
    warn_once(&service.settings, &core);
    let now = Timestamp((js_sys::Date::now() * 1000.0) as i64);
    let r2 = deadline::timed(r2::R2(env.bucket("SNAPSHOTS")?), &env);
    let store = Pinned::with_memo(&r2, &service.cache.pointer, now, service.settings.pointer_ttl);
    if service::is_admin(&core) {
        let out = admin_call(&mut req, core, &service, &store, now).await;
        timing.mark("prepare");
        return to_worker(out, None, &timing);
    }
    let counter = limiter::Counter::of(&env, LOCAL_FAILURES.with(Rc::clone));
    let blocks = BLOCKS.with(Rc::clone);
    let throttle = Throttle { counter: &counter, blocks: &blocks };
    let prepared = service.prepare_throttled(&store, &core, now, Some(&throttle)).await;
    timing.mark("prepare");
    let ready = match prepared {
        Prepared::Answered(out) => return to_worker(out, None, &timing),
        Prepared::Ready(ready) => ready,
    };
    // Authenticated (or public) and keyed: the edge cache may answer, without touching a segment.
    let Some(key) = ready.key.clone() else {
        let mut out = service.finish(&core, &ready, service.respond(&store, &core, &ready).await);
        timing.mark("respond");
        if core.path == "/api/status" && ready.signed_in() {
            with_wasm_memory(&mut out);
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
            return Ok(hit.with_status(out.status).with_headers(headers::of(&out.headers, Some("HIT"), &timing)?));
        }
    }
    let full = service.respond(&store, &core, &ready).await;
    timing.mark("respond");
    if response_cache::cacheable_status(full.status) {
        let copy = response_cache::edge_copy(&full);
        let stored = Response::from_bytes(copy.body)?.with_headers(headers::of(&copy.headers, None, &Timing::none())?);
        ctx.wait_until(async move {
            if let Err(e) = edge.put(key.as_str(), stored).await {
                worker::console_error!("taxii-edge: keeping a response in the edge cache failed: {e}");
            }
        });
    }
    to_worker(service.finish(&core, &ready, full), Some("MISS"), &timing)
}

/// The admin API: the token and the declared length are checked before a byte of the body is read, the body is
/// read once and capped, then the core answers. An authorised caller also gets the isolate's wasm memory.
async fn admin_call<S: Store>(
    req: &mut Request,
    mut core: CoreRequest,
    service: &Service,
    store: &Pinned<'_, S>,
    now: Timestamp,
) -> CoreResponse {
    if let Err(refused) = admin::authorize(&service.settings, &core).and_then(|()| admin::declared_length(&core)) {
        return refused;
    }
    if matches!(core.method.as_str(), "PUT" | "POST") {
        let limit = edge_core::wire::max_body(&core.method, core.path.trim_end_matches('/'));
        core.body = match body::read_capped(req, limit).await {
            Ok(bytes) => Some(bytes),
            Err(body::BodyError::TooLarge) => return admin::too_large(limit),
            Err(body::BodyError::Read(e)) => return admin::unreadable_body(&e),
        };
    }
    let mut out = service.admin(store, core, now).await;
    with_wasm_memory(&mut out);
    out
}

/// Adds the isolate's wasm memory (its high-water mark: it never shrinks), for the benchmark and operators.
fn with_wasm_memory(out: &mut CoreResponse) {
    let bytes = core::arch::wasm32::memory_size(0) * 65536;
    out.headers.push((WASM_MEMORY_HEADER.into(), bytes.to_string()));
}

/// Says once per isolate, in the log, that PUBLIC_URL is unset (outside local development).
fn warn_once(settings: &Settings, req: &CoreRequest) {
    if let Some(w) = edge_core::settings::public_url_warning(settings, req) {
        if !WARNED.with(|d| d.replace(true)) {
            worker::console_warn!("taxii-edge: {w}");
        }
    }
}

fn to_worker(out: CoreResponse, cache: Option<&str>, timing: &Timing) -> Result<Response> {
    let headers = headers::of(&out.headers, cache, timing)?;
    Ok(Response::from_bytes(out.body)?.with_status(out.status).with_headers(headers))
}
