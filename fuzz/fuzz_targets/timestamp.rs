//! Timestamps: never panics; whatever parses formats back to a string that parses to the same instant
//! (within years 0000-9999, which the strict form can write), and survives a serde round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use edge_core::time::Timestamp;

const YEAR_0: i64 = -62_167_219_200_000_000; // 0000-01-01T00:00:00Z
const YEAR_10000: i64 = 253_402_300_800_000_000; // 10000-01-01T00:00:00Z

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(t) = Timestamp::parse(text) else { return };
    let s = t.to_micros_string();
    assert_eq!(s.len(), 27, "{s}");
    let _ = t.to_millis_string();
    if (YEAR_0..YEAR_10000).contains(&t.0) {
        assert_eq!(Timestamp::parse(&s), Ok(t), "{text:?} → {s}");
        let millis = Timestamp::parse(&t.to_millis_string()).expect("the millisecond form parses");
        assert!(millis <= t && t.0 - millis.0 < 1000, "{text:?}");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    }
});
