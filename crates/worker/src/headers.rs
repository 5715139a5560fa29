//! The headers of every response the worker sends: the core's own, the security headers, whether the edge cache
//! answered, and `Server-Timing`.
//!
//! The security headers go on everything the worker answers (TAXII, JSON, errors, the admin API): no content
//! sniffing, no referrer, and a Content-Security-Policy that lets nothing load and no page frame the response
//! (a TAXII or JSON answer is data, never a document). The console (www/) is static assets, served without the
//! worker: its headers are in www/_headers.

use crate::timing::Timing;
use edge_core::server::cache_key as response_cache;
use worker::{Headers, Result};

/// Sent with every response of the worker.
pub const SECURITY: [(&str, &str); 3] = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
];

/// The core's headers, plus the security headers, whether the edge cache answered and where the time went.
pub fn of(list: &[(String, String)], cache: Option<&str>, timing: &Timing) -> Result<Headers> {
    let headers = Headers::new();
    for (k, v) in list {
        headers.append(k, v)?;
    }
    for (k, v) in SECURITY {
        headers.set(k, v)?;
    }
    if let Some(c) = cache {
        headers.set(response_cache::CACHE_STATUS_HEADER, c)?;
    }
    if let Some(t) = timing.header() {
        headers.set("Server-Timing", &t)?;
    }
    Ok(headers)
}
