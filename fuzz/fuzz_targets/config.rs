//! The collections configuration (XSOAR's JSON form): never panics; an accepted configuration has a non-blank
//! name and a parsed query for every collection, in the order written, and builds a real snapshot of a fixed
//! feed whose manifest lists exactly those collections.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::sync::OnceLock;
use edge_feed::config::parse_collections;
use edge_feed::indicator::Indicator;
use edge_feed::query::Query;
use edge_feed::build::{build, BuildInput};
use edge_feed::stix::RenderOptions;
use edge_core::time::Timestamp;

fn indicators() -> &'static [Indicator] {
    static I: OnceLock<Vec<Indicator>> = OnceLock::new();
    I.get_or_init(taxii_edge_fuzz::indicators)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(cols) = parse_collections(text) else { return };
    assert!(!cols.is_empty());
    for c in &cols {
        assert!(!c.name.trim().is_empty());
        assert_eq!(Query::parse(&c.query_text).as_ref(), Ok(&c.query));
    }
    if cols.len() > 16 {
        return;
    }
    let built = build(&BuildInput {
        collections: &cols,
        indicators: indicators(),
        render: &RenderOptions::default(),
        now: Timestamp(1_735_689_600_000_000),
        previous: &HashMap::new(),
    });
    let titles: Vec<&str> = built.manifest.collections.iter().map(|c| c.title.as_str()).collect();
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(titles, names);
});
