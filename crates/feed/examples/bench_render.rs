//! Benchmark: the native cost of serving a 1,000-object TAXII 2.1 page, next to plain serde_json.
//!
//! Builds a snapshot in memory from synthetic indicators (the `generate` mix; types the renderer does not map yet
//! are left out, as `build --skip-bad` does), then times, per 1,000-object page:
//! - `decode+envelope`: what the worker does for an uncached segment: `Segment::decode` (metadata parse and offset
//!   checks) of the segment bytes, hash check, and the `{"more":…,"objects":[…]}` envelope from the body slices;
//! - `envelope`: the same with the segment already decoded (the per-isolate segment cache is warm);
//! - `service cold` / `service warm`: the whole request through `Service::handle` over a `MemoryStore` (routing,
//!   negotiation, filters, reading the pointer/manifest/index, the next token), with a fresh or a warm cache;
//! - `serde_json`: `serde_json::to_vec` of the same envelope whose 1,000 objects are already-built
//!   `serde_json::Value`s (the limit a renderer that builds objects per request could reach).
//!
//! Prints a table and one JSON line (`BENCH_RENDER {...}`) for scripts/bench.mjs.
//! Run: `cargo run --release -p edge-feed --example bench_render -- [indicators] [iterations]`.

use edge_core::server::{Service, Settings};
use edge_core::snapshot::format::{verify_blob, CollectionIndex, Pointer, ALL, POINTER_KEY};
use edge_core::snapshot::segment::Segment;
use edge_core::store::{MemoryStore, Store};
use edge_core::taxii::Request;
use edge_core::time::Timestamp;
use edge_feed::build::{build, BuildInput};
use edge_feed::config::parse_collections;
use edge_feed::generate::{generate, Format, Options};
use edge_feed::import::xsoar::import_str;
use edge_feed::stix::{ids, RenderOptions};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

const PAGE: usize = 1000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let iters: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200);
    let now = Timestamp::parse("2026-01-01T00:00:00Z").expect("valid time");

    let mut jsonl = Vec::new();
    generate(&Options { count, seed: 7, now, format: Format::Jsonl }, &mut jsonl).expect("generates");
    let text = String::from_utf8(jsonl).expect("utf-8");
    let indicators = import_str("bench.jsonl", &text).expect("imports").indicators;
    let collections = parse_collections(r#"{"All": ""}"#).expect("config parses");
    let render = RenderOptions { namespace: ids::namespace_for("bench"), ..RenderOptions::default() };
    let built = build(&BuildInput {
        collections: &collections,
        indicators: &indicators,
        render: &render,
        now,
        previous: &HashMap::new(),
    });
    let entry = &built.manifest.collections[0];
    let index: CollectionIndex = serde_json::from_slice(&built.blobs[&entry.index]).expect("index");
    let stream = &index.streams[ALL];
    // A full segment from the middle of the stream: a typical page.
    let seg_ref = &stream.segments[stream.segments.len() / 2];
    let seg_key = seg_ref.key.clone();
    let seg_bytes = built.blobs[&seg_key].clone();
    let page_objects = Segment::decode(seg_bytes.clone()).expect("decodes").len();
    assert_eq!(page_objects, PAGE, "the benchmark needs full 1,000-record segments: use more indicators");

    // The page as the worker sends it, to know its size.
    let page_bytes = {
        let seg = Segment::decode(seg_bytes.clone()).unwrap();
        envelope(&seg, None).len()
    };

    // 1. decode + envelope (an uncached segment).
    let t_decode = time(iters, || {
        assert!(verify_blob(&seg_key, &seg_bytes));
        let seg = Segment::decode(seg_bytes.clone()).expect("decodes");
        black_box(envelope(&seg, Some("next-token-placeholder-of-typical-length-abcdefghijklmnopqrstuvwxyz")));
    });
    // 2. envelope only (a cached segment).
    let seg = Segment::decode(seg_bytes.clone()).unwrap();
    let t_env = time(iters, || {
        black_box(envelope(&seg, Some("next-token-placeholder-of-typical-length-abcdefghijklmnopqrstuvwxyz")));
    });
    // 3. plain serde_json over already-built values.
    let values: Vec<serde_json::Value> =
        (0..seg.len()).map(|i| serde_json::from_slice(seg.body(i, true)).expect("body is JSON")).collect();
    let t_serde = time(iters, || {
        let doc = Envelope {
            more: true,
            next: "next-token-placeholder-of-typical-length-abcdefghijklmnopqrstuvwxyz",
            objects: &values,
        };
        black_box(serde_json::to_vec(&doc).expect("serialises"));
    });
    let t_verify = time(iters, || {
        black_box(verify_blob(&seg_key, &seg_bytes));
    });
    let t_serde_only = time(iters, || {
        black_box(serde_json::to_vec(&values).expect("serialises"));
    });

    // 4. the whole request through the service.
    let store = MemoryStore::default();
    for (k, v) in &built.blobs {
        pollster::block_on(store.put(k, v.clone())).unwrap();
    }
    let p = Pointer {
        snapshot: built.snapshot_id().into(),
        manifest: built.manifest_key.clone(),
        published: now,
        history: vec![],
        keep: None,
        sources: Vec::new(),
    };
    pollster::block_on(store.put(POINTER_KEY, serde_json::to_vec(&p).unwrap())).unwrap();
    let settings = || Settings { default_limit: PAGE, max_limit: PAGE, ..Settings::default() };
    // added_after just before the chosen segment: the page is exactly that segment.
    let after = Timestamp(seg_ref.first.0 - 1).to_micros_string();
    let req = Request {
        method: "GET".into(),
        path: format!("/threatintel/collections/{}/objects/", entry.id),
        query: vec![("limit".into(), PAGE.to_string()), ("added_after".into(), after)],
        headers: vec![("accept".into(), "application/taxii+json;version=2.1".into())],
        origin: "http://127.0.0.1".into(),
        body: None,
    };
    let warm = Service::new(settings());
    let first = pollster::block_on(warm.handle(&store, &req, now));
    assert_eq!(first.status, 200, "{}", String::from_utf8_lossy(&first.body));
    let t_warm = time(iters, || {
        black_box(pollster::block_on(warm.handle(&store, &req, now)));
    });
    let t_cold = time(iters, || {
        let svc = Service::new(settings());
        black_box(pollster::block_on(svc.handle(&store, &req, now)));
    });

    let mb = page_bytes as f64 / 1e6;
    let row = |name: &str, secs: f64| {
        println!(
            "{name:<22} {:>8.3} ms/page {:>10.0} objects/s {:>8.0} MB/s  {:>5.2}x serde_json",
            secs * 1e3,
            PAGE as f64 / secs,
            mb / secs,
            secs / t_serde
        );
    };
    println!(
        "1,000-object TAXII 2.1 page: {page_bytes} bytes ({:.0} bytes/object), {} indicators generated, {} rendered, {iters} iterations (median)",
        page_bytes as f64 / PAGE as f64,
        count,
        entry.count
    );
    row("serde_json envelope", t_serde);
    row("serde_json objects only", t_serde_only);
    row("envelope (cached seg)", t_env);
    row("decode+envelope", t_decode);
    row("  of which hash check", t_verify);
    row("service warm", t_warm);
    row("service cold", t_cold);
    println!(
        "BENCH_RENDER {}",
        serde_json::json!({
            "page_bytes": page_bytes, "objects": PAGE, "iterations": iters,
            "serde_json_ms": t_serde * 1e3, "serde_json_objects_only_ms": t_serde_only * 1e3,
            "envelope_ms": t_env * 1e3, "decode_envelope_ms": t_decode * 1e3, "hash_check_ms": t_verify * 1e3, "segment_bytes": seg_bytes.len(),
            "service_warm_ms": t_warm * 1e3, "service_cold_ms": t_cold * 1e3,
        })
    );
}

/// The envelope as a typed struct, for plain serde_json.
#[derive(serde::Serialize)]
struct Envelope<'a> {
    more: bool,
    next: &'a str,
    objects: &'a [serde_json::Value],
}

/// The worker's 2.1 envelope, by the worker's own code, over a decoded segment's bodies.
fn envelope(seg: &Segment, next: Option<&str>) -> Vec<u8> {
    let items: Vec<Vec<u8>> = (0..seg.len()).map(|i| seg.body(i, true).to_vec()).collect();
    edge_core::taxii::content::envelope("objects", &items, next)
}

/// The median wall time of `f` over `iters` runs, in seconds (after a few warm-up runs).
fn time(iters: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..iters.min(10) {
        f();
    }
    let mut samples: Vec<f64> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    samples[samples.len() / 2]
}
