//! The time a command works at: `--now` (RFC 3339, for reproducible builds and tests) or the system clock.

use crate::fail::{bad, Fail};
use edge_core::time::Timestamp;

/// The system clock's time.
pub fn now_utc() -> Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("the clock is after 1970");
    Timestamp(d.as_micros() as i64)
}

/// `--now` if given (a bad one is bad usage, exit 2), else the system clock's time.
pub fn parse_now(now: Option<String>) -> Result<Timestamp, Fail> {
    match now {
        Some(t) => Timestamp::parse(&t).map_err(|e| bad(format!("--now: {e}"))),
        None => Ok(now_utc()),
    }
}
