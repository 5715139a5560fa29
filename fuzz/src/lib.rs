//! What the fuzz targets share: fixed indicators to evaluate queries against, a small real snapshot, requests,
//! and the checks every service response must pass.

use edge_core::store::MemoryStore;
use edge_core::taxii::{percent_decode, Request, Response};
use edge_core::time::Timestamp;
use edge_feed::build::Built;
use edge_feed::import::xsoar::import_str;
use edge_feed::indicator::Indicator;
use edge_feed::stix::RenderOptions;

/// XSOAR records of several types, with custom fields, tags, lists and relationships.
pub const FEED: &str = r#"{"value": "1.2.3.4", "indicator_type": "IP", "score": 3, "timestamp": "2024-01-01T00:00:00Z", "modified": "2024-06-01T10:00:00.123456+02:00", "expiration": "2030-01-01T00:00:00Z", "tags": ["apt", "c2"], "sourceBrands": ["Some Feed"], "CustomFields": {"tlp": "AMBER", "port": 443, "trafficlightprotocol": "GREEN"}, "relationships": [{"name": "related-to", "entityB": "evil.example", "entityBType": "Domain"}]}
{"value": "evil.example", "indicator_type": "Domain", "score": 2, "timestamp": "2024-02-01T00:00:00Z", "modified": "2024-02-02T00:00:00Z", "tags": [], "CustomFields": {"description": "a domain"}}
{"value": "https://evil.example/a?b=c", "indicator_type": "URL", "score": 1, "timestamp": "2024-03-01T00:00:00Z", "modified": "2024-03-01T00:00:00Z"}
{"value": "d41d8cd98f00b204e9800998ecf8427e", "indicator_type": "File", "score": 0, "timestamp": "2024-04-01T00:00:00Z", "modified": "2024-04-01T00:00:00Z", "CustomFields": {"md5": "d41d8cd98f00b204e9800998ecf8427e", "size": 0}}
{"value": "APT-1", "indicator_type": "Threat Actor", "score": 3, "timestamp": "2024-05-01T00:00:00Z", "modified": "2024-05-01T00:00:00Z", "aliases": ["Comment Crew"]}
{"value": "2001:db8::1", "indicator_type": "IPv6", "score": 3, "timestamp": "2024-05-02T00:00:00Z", "modified": "2024-05-03T00:00:00Z"}"#;

/// The collections of the fuzzing snapshot (XSOAR's configuration form).
pub const COLLECTIONS: &str =
    r#"{"All": "", "IPs": {"query": "type:IP", "description": "IPv4"}, "Bad": "score:3 and -tags:none"}"#;

/// A fixed "now" for query evaluation.
pub const NOW: Timestamp = Timestamp(1_730_000_000_000_000);

/// The indicators of [`FEED`].
pub fn indicators() -> Vec<Indicator> {
    let imported = import_str("fuzz.jsonl", FEED).expect("the fuzz feed imports");
    assert!(imported.errors.is_empty(), "{:?}", imported.errors);
    imported.indicators
}

/// A real snapshot of [`FEED`] in [`COLLECTIONS`].
pub fn built() -> Built {
    edge_testkit::built(COLLECTIONS, &indicators(), &RenderOptions::default())
}

pub use edge_testkit::{call, request};

/// A store holding `built` as the current snapshot.
pub fn store_of(built: &Built) -> MemoryStore {
    built.to_memory_store(Timestamp(0))
}

/// What every response must be, whatever the input: a real status (never 500), a TAXII or STIX JSON body when
/// it has one, and a Content-Type that says so. `objects_are_json`: false when the snapshot's segments were
/// fuzzed, whose object bytes the server serves as stored (they pass the checksum, so only a broken builder
/// could write them): then only error bodies must be JSON.
pub fn check_response(req: &Request, resp: &Response, objects_are_json: bool) {
    assert!(
        (200..600).contains(&resp.status) && resp.status != 500,
        "status {} for {} {} {:?}: {}",
        resp.status,
        req.method,
        req.path,
        req.query,
        String::from_utf8_lossy(&resp.body)
    );
    // The admin path serves blobs as stored (`GET /admin/blobs/<key>`, for publishing): only its errors are JSON.
    let admin = req.path == "/admin" || req.path.starts_with("/admin/");
    if !resp.body.is_empty() && ((objects_are_json && !admin) || resp.status >= 400) {
        let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&resp.body);
        assert!(parsed.is_ok(), "a body that is not JSON: {}", String::from_utf8_lossy(&resp.body));
        let ct = resp.header("content-type").unwrap_or_default();
        assert!(ct.contains("json"), "a JSON body with Content-Type {ct:?}");
    }
    if resp.status >= 400 && !resp.body.is_empty() {
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        // The admin path answers its own JSON ({"error": …}), except for the size limits, which are checked
        // before any routing; everything else a TAXII error resource.
        let has = |field: &str| v.get(field).and_then(|t| t.as_str()).is_some();
        assert!(has("title") || (admin && has("error")), "an error without a title: {v}");
    }
    // (The admin path, for the CLI's publish only, answers every method alike.)
    if req.method == "HEAD" && !req.path.starts_with("/admin") {
        assert!(resp.body.is_empty(), "a HEAD answer with a body");
    }
}

/// A query string as the worker's adapter decodes it: `&`-separated pairs, `+` as a space, `%XX` escapes.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(&k.replace('+', " ")), percent_decode(&v.replace('+', " ")))
        })
        .collect()
}

/// Splits fuzz bytes into `n` strings at 0xFF bytes (missing parts are empty), lossily decoded.
pub fn parts(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> =
        data.splitn(n, |&b| b == 0xFF).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    out.resize(n, String::new());
    out
}

/// The TAXII 2.1 and 2.0 media types clients send.
pub const V21: &str = "application/taxii+json;version=2.1";
pub const V20: &str = "application/vnd.oasis.taxii+json; version=2.0";
