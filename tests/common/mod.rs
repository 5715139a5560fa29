//! What the native service tests share: a real snapshot built into an in-memory store, requests, JSON bodies.
#![allow(dead_code)] // each test file uses its own subset

use serde_json::Value;
use std::collections::HashMap;
use taxii_edge::config::parse_collections;
use taxii_edge::import::xsoar::import_str;
use taxii_edge::service::Service;
use taxii_edge::snapshot::builder::{build, BuildInput};
use taxii_edge::stix::{ids, RenderOptions};
use taxii_edge::store::{MemoryStore, Store};
use taxii_edge::taxii::{Request, Response};
use taxii_edge::time::Timestamp;

pub const V21: &str = "application/taxii+json;version=2.1";
pub const V20: &str = "application/vnd.oasis.taxii+json; version=2.0";

/// A snapshot of `jsonl` (XSOAR JSON lines) in `collections` (XSOAR's collection JSON), current in a new store.
/// No producer identity: tests count the indicators' own objects, and the identity is in every collection.
pub fn feed_store(collections: &str, jsonl: &str, customer: &str) -> MemoryStore {
    let cols = parse_collections(collections).unwrap();
    let inds = import_str("test.jsonl", jsonl).unwrap().indicators;
    let render = RenderOptions { namespace: ids::namespace_for(customer), producer: None, ..RenderOptions::default() };
    let built = build(&BuildInput {
        collections: &cols,
        indicators: &inds,
        render: &render,
        now: Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
        previous: &HashMap::new(),
    });
    built.to_memory_store(Timestamp(0))
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
