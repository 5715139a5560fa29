//! Snapshot segments (`Segment::decode`): never panics on any bytes; a decoded segment's every record and body
//! is in bounds in both versions, its records are in strictly increasing date_added order, and `first_after` is
//! consistent with that order.
#![no_main]
use libfuzzer_sys::fuzz_target;
use edge_core::snapshot::segment::Segment;
use edge_core::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let Ok(seg) = Segment::decode(data.to_vec()) else { return };
    for i in 0..seg.len() {
        let _ = seg.body(i, true);
        let _ = seg.body(i, false);
        let r = seg.record(i);
        let _ = (r.id, r.t, r.id20(), r.type20(), r.version());
        assert_eq!(seg.date(i), r.d);
        assert!(i == 0 || seg.date(i - 1) < r.d);
        let d = r.date_added();
        assert_eq!(seg.first_after(d), i + 1);
        assert_eq!(seg.first_after(Timestamp(d.0.saturating_sub(1))), if d.0 == i64::MIN { i + 1 } else { i });
    }
    assert_eq!(seg.first_after(Timestamp(i64::MAX)), seg.len());
});
