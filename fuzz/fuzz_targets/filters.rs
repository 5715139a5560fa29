//! A query string → percent-decoded pairs → content-endpoint filters, for every endpoint: never panics; a
//! parse error is a 400 naming a parameter; parsed filters are canonical: parsing their canonical form gives
//! the same canonical form again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use edge_core::taxii::filters::{Endpoint, Filters};

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    let q = taxii_edge_fuzz::query_pairs(&query);
    for endpoint in [Endpoint::Objects, Endpoint::Manifest, Endpoint::Object, Endpoint::Versions] {
        match Filters::parse(&q, endpoint) {
            Ok(f) => {
                let canon = f.canonical();
                let again = Filters::parse(&canon, endpoint).expect("the canonical form parses");
                assert_eq!(again.canonical(), canon, "canonical form not stable for {query:?}");
                assert_eq!(again.canonical_string(), f.canonical_string());
                assert_eq!(f.selects(), !canon.is_empty());
            }
            Err(e) => {
                assert_eq!(e.status, 400, "{e:?}");
                assert!(e.parameter.is_some(), "a filter error names no parameter: {e:?}");
            }
        }
    }
});
