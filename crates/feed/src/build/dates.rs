//! The date_added of a build's new records: whole, distinct milliseconds, each later than every record the
//! collection had before, so that a client that keeps its cursor to the millisecond (JavaScript `Date`, Java
//! `Instant`) cuts nothing and cannot read the same page forever.
//!
//! A build's new records (sorted by version, then id) take consecutive milliseconds:
//! - in a collection the previous snapshot did not have, ending at the build time (no client can have polled it,
//!   so dating its records before the build hides nothing; a first build of a million records starts about 17
//!   minutes before its build time and is never in the future);
//! - in a collection it had, from the build time, or from the millisecond after its newest record when that is
//!   later. Never before the build: a client that polls with its own clock as `added_after` (OpenCTI's connector,
//!   Sentinel) and polled before the build misses none of them. They are in the future only when a build adds more
//!   records than milliseconds have passed since the collection's newest (by at most one millisecond per record);
//!   docs/PROTOCOL.md weighs this.
//!
//! Records kept from the previous snapshot keep their date_added, whatever its precision.

use edge_core::time::Timestamp;

const MILLI: i64 = 1000;

/// The date_added of the first of a build's new records in a collection (the others follow one millisecond
/// apart): `newest` is the newest date_added of the collection's previous records, `existed` whether the previous
/// snapshot had the collection at all, `count` how many records are new.
pub(super) fn first_new(newest: Option<i64>, existed: bool, count: usize, now: Timestamp) -> Timestamp {
    let now = now.0.div_euclid(MILLI) * MILLI;
    let after_newest = newest.map(|d| (d.div_euclid(MILLI) + 1) * MILLI);
    if !existed && after_newest.is_none() {
        return Timestamp(now - (count.saturating_sub(1) as i64) * MILLI);
    }
    Timestamp(after_newest.map_or(now, |a| a.max(now)))
}

/// The date_added of the `i`-th new record, given the first.
pub(super) fn nth_new(first: Timestamp, i: usize) -> i64 {
    first.0 + i as i64 * MILLI
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_767_225_600_000_000); // 2026-01-01T00:00:00Z

    #[test]
    fn a_new_collection_ends_at_the_build_time() {
        let first = first_new(None, false, 3, NOW);
        assert_eq!([0, 1, 2].map(|i| nth_new(first, i)), [NOW.0 - 2000, NOW.0 - 1000, NOW.0]);
        let million = first_new(None, false, 1_000_000, NOW);
        assert_eq!(nth_new(million, 999_999), NOW.0, "never in the future");
        assert_eq!(NOW.0 - million.0, 999_999_000, "about 17 minutes before");
    }

    #[test]
    fn a_known_collection_goes_on_from_the_build_time_or_its_newest() {
        assert_eq!(first_new(None, true, 5, NOW), NOW, "an empty collection clients may have polled");
        assert_eq!(first_new(Some(NOW.0 - 3_600_000_000), true, 5, NOW), NOW);
        // More new records than milliseconds since the newest: after it, whatever the clock says.
        assert_eq!(first_new(Some(NOW.0 + 500_000), true, 5, NOW), Timestamp(NOW.0 + 501_000));
        // A newest date_added of microsecond precision (an older build): the next whole millisecond after it.
        assert_eq!(first_new(Some(NOW.0 + 7), true, 1, NOW), Timestamp(NOW.0 + 1000));
        assert_eq!(first_new(Some(NOW.0), true, 1, NOW), Timestamp(NOW.0 + 1000));
    }

    #[test]
    fn a_build_time_between_milliseconds_is_cut_to_its_millisecond() {
        let now = Timestamp(NOW.0 + 1_234);
        assert_eq!(first_new(None, true, 1, now), Timestamp(NOW.0 + 1_000));
        assert_eq!(first_new(None, false, 1, now), Timestamp(NOW.0 + 1_000));
    }
}
