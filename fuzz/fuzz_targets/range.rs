//! The TAXII 2.0 `Range: items a-b` header: never panics; a malformed one is a 400 naming `Range`; a parsed
//! one has first <= last and its canonical form `items=a-b` parses to the same range.
#![no_main]
use libfuzzer_sys::fuzz_target;
use edge_core::taxii::v20::parse_range;

fuzz_target!(|data: &[u8]| {
    let h = String::from_utf8_lossy(data);
    match parse_range(Some(&h)) {
        Ok(Some(r)) => {
            assert!(r.first <= r.last);
            assert_eq!(parse_range(Some(&format!("items={}-{}", r.first, r.last))).unwrap(), Some(r));
            assert_eq!(parse_range(Some(&format!("items {}-{}", r.first, r.last))).unwrap(), Some(r));
        }
        Ok(None) => assert!(h.trim().is_empty(), "{h:?} ignored"),
        Err(e) => {
            assert_eq!(e.status, 400);
            assert_eq!(e.parameter.as_deref(), Some("Range"));
        }
    }
});
