//! The XSOAR query language: parsing anything never panics and reports a position inside the text; a parsed
//! query evaluates (deterministically) against fixed indicators of several types, and its negation
//! `not (…)`, where that parses, matches exactly the others.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use edge_feed::indicator::Indicator;
use edge_feed::query::Query;
use taxii_edge_fuzz::NOW;

fn indicators() -> &'static [Indicator] {
    static I: OnceLock<Vec<Indicator>> = OnceLock::new();
    I.get_or_init(taxii_edge_fuzz::indicators)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.len() > 4096 {
        return;
    }
    match Query::parse(text) {
        Ok(q) => {
            let _ = q.uses_now();
            for ind in indicators() {
                let m = q.matches_at(ind, NOW);
                assert_eq!(m, q.matches_at(ind, NOW), "not deterministic");
            }
            if !text.trim().is_empty() {
                if let Ok(not) = Query::parse(&format!("not ({text})")) {
                    for ind in indicators() {
                        assert_eq!(not.matches_at(ind, NOW), !q.matches_at(ind, NOW), "not ({text}) on {}", ind.value);
                    }
                }
            }
        }
        Err(e) => {
            assert!(e.position <= text.chars().count() + 1, "position {} past the end of {text:?}", e.position);
            assert!(!e.message.is_empty());
        }
    }
});
