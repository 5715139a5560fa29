//! The read deadline around R2 in the worker (wasm32 only): [`edge_core::faults::Deadline`] with a `worker::Delay`
//! timer, its length from the `STORE_TIMEOUT_MS` variable.

use edge_core::faults::Deadline;
use edge_core::store::Store;
use std::time::Duration;
use worker::{Delay, Env};

/// Milliseconds a store read may take when `STORE_TIMEOUT_MS` is not set: R2 answers in tens of milliseconds,
/// so this is only reached when it is failing.
pub const DEFAULT_TIMEOUT_MS: u32 = 5000;

/// `store` with reads that time out after `STORE_TIMEOUT_MS` (a positive integer; otherwise the default).
pub fn timed<S: Store>(store: S, env: &Env) -> Deadline<S, impl Fn(u32) -> Delay> {
    let ms = env
        .var("STORE_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.to_string().trim().parse::<u32>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_TIMEOUT_MS);
    Deadline { inner: store, ms, sleep: |ms| Delay::from(Duration::from_millis(u64::from(ms))) }
}
