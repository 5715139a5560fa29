//! edge-testkit: what taxii-edge's tests, fuzz targets and examples share: a real snapshot built into an
//! in-memory store, requests as the worker's adapter makes them, JSON bodies, the repository's files, and
//! [`samples`] (indicators of every type).

pub mod samples;

use edge_core::server::Service;
use edge_core::store::{MemoryStore, Store};
use edge_core::taxii::{Request, Response};
use edge_core::time::Timestamp;
use edge_feed::build::{build, BuildInput, Built};
use edge_feed::config::parse_collections;
use edge_feed::import::xsoar::import_str;
use edge_feed::indicator::Indicator;
use edge_feed::stix::{ids, RenderOptions};
use serde_json::Value;
use std::collections::HashMap;

pub const V21: &str = "application/taxii+json;version=2.1";
pub const V20: &str = "application/vnd.oasis.taxii+json; version=2.0";

/// A snapshot of `jsonl` (XSOAR JSON lines) in `collections` (XSOAR's collection JSON), current in a new store.
/// No producer identity: tests count the indicators' own objects, and the identity is in every collection.
pub fn feed_store(collections: &str, jsonl: &str, customer: &str) -> MemoryStore {
    let inds = import_str("test.jsonl", jsonl).unwrap().indicators;
    let render = RenderOptions { namespace: ids::namespace_for(customer), producer: None, ..RenderOptions::default() };
    built(collections, &inds, &render).to_memory_store(Timestamp(0))
}

/// A snapshot of `indicators` in `collections` (XSOAR's collection JSON), built at 2025-01-01 with no previous
/// snapshot.
pub fn built(collections: &str, indicators: &[Indicator], render: &RenderOptions) -> Built {
    let cols = parse_collections(collections).expect("the collections parse");
    build(&BuildInput {
        collections: &cols,
        indicators,
        render,
        now: Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
        previous: &HashMap::new(),
    })
}

/// A request as the worker's adapter makes it; header names lower-case.
pub fn request(method: &str, path: &str, query: &[(&str, &str)], headers: &[(&str, &str)]) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        headers: headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect(),
        origin: "https://feeds.example".into(),
        body: None,
    }
}

/// Runs one request through the service.
pub fn call<S: Store>(svc: &Service, store: &S, req: &Request) -> Response {
    pollster::block_on(svc.handle(store, req, Timestamp(0)))
}

pub fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&r.body)))
}

/// A path in the repository (tests run in their crate's directory; the demo feed, the shared vectors and the
/// fixtures live at the top).
pub fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}
