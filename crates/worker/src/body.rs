//! Reading an admin request's body: once, into one buffer, never past its cap.
//!
//! The caller has checked the admin token and the declared `Content-Length` first (see
//! `edge_core::server::admin`), so nobody without the token makes the isolate hold a byte. With a
//! `Content-Length` (at most the cap) the body is read whole in one call, the runtime holding it to that length;
//! without one (a chunked upload) it is read a chunk at a time into a buffer allocated at the cap, and reading
//! stops at the first chunk that would pass the cap.

use futures_util::StreamExt;
use worker::Request;

/// Why a body was not read.
pub enum BodyError {
    /// It is longer than the cap.
    TooLarge,
    /// The client's stream failed (what the runtime said).
    Read(String),
}

/// The whole body of `req`, at most `limit` bytes; an empty body when there is none.
pub async fn read_capped(req: &mut Request, limit: usize) -> Result<Vec<u8>, BodyError> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    if let Some(n) = declared {
        // The runtime holds the body to its declared length: read whole, in one call. Read as a stream, an upload
        // crossed into wasm 4 KB at a time (45 crossings for a 180 KB segment: in Miniflare, about a third more
        // of the worker's CPU time on each blob a publish uploads).
        let body = req.bytes().await.map_err(|e| BodyError::Read(e.to_string()))?;
        return if body.len() > n.min(limit) { Err(BodyError::TooLarge) } else { Ok(body) };
    }
    let Ok(mut stream) = req.stream() else {
        return Ok(Vec::new()); // no body at all
    };
    let mut body = Vec::with_capacity(limit);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Read(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
