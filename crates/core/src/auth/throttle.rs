//! Throttling failed sign-ins: after [`FAILURES`] failed password checks as one user from one address within
//! [`PERIOD_SECONDS`], that address may not sign in as that user until the period is over (a 429 with
//! `Retry-After`, see `crate::taxii::refusal`).
//!
//! Only failures count: a client that signs in correctly is never slowed down, and the right password works
//! until failures reach the limit. The count is kept by a [`FailureCounter`]: at the edge the Workers
//! rate-limiting binding (shared by the isolates of a Cloudflare location), else [`LocalCounter`], a fixed window
//! in the isolate. A key over the limit is remembered in the isolate ([`Blocks`]), and refused before any
//! password is checked, the right one included: a throttled guesser learns nothing from its guesses (in another
//! isolate, the first failure over the limit blocks the key there too). The key is a SHA-256 of the address and
//! the username ([`key`]), never the name itself.

use crate::time::Timestamp;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;

/// Failed sign-ins allowed per address and user within a period (wrangler.toml's `SIGNIN_LIMITER` says the same).
pub const FAILURES: u32 = 10;

/// The period, in seconds (the rate-limiting binding takes 10 or 60).
pub const PERIOD_SECONDS: u32 = 60;

/// Keys an isolate keeps; beyond it, expired ones go first.
const MAX_KEYS: usize = 4096;

const PERIOD_MICROS: i64 = PERIOD_SECONDS as i64 * 1_000_000;

/// Where failed sign-ins are counted.
#[allow(async_fn_in_trait)]
pub trait FailureCounter {
    /// Counts one failed sign-in for `key`; `false` when this one is over the limit.
    async fn count(&self, key: &str, now: Timestamp) -> bool;
}

/// Failures counted by this isolate alone, in fixed windows of [`PERIOD_SECONDS`] from a key's first failure:
/// the local equivalent of the rate-limiting binding (`wrangler dev` without it, Miniflare, a deployment that
/// removed it).
#[derive(Default)]
pub struct LocalCounter {
    windows: RefCell<HashMap<String, (i64, u32)>>,
}

impl FailureCounter for LocalCounter {
    async fn count(&self, key: &str, now: Timestamp) -> bool {
        let mut windows = self.windows.borrow_mut();
        if windows.len() >= MAX_KEYS && !windows.contains_key(key) {
            windows.retain(|_, (start, _)| now.0 - *start < PERIOD_MICROS);
            if windows.len() >= MAX_KEYS {
                windows.clear();
            }
        }
        let window = windows.entry(key.to_string()).or_insert((now.0, 0));
        if now.0 - window.0 >= PERIOD_MICROS {
            *window = (now.0, 0);
        }
        window.1 += 1;
        window.1 <= FAILURES
    }
}

/// Counts nothing: the service without throttling (native tests and tools).
pub struct Unthrottled;

impl FailureCounter for Unthrottled {
    async fn count(&self, _key: &str, _now: Timestamp) -> bool {
        true
    }
}

/// The keys this isolate refuses, each until a time.
#[derive(Default)]
pub struct Blocks {
    until: RefCell<HashMap<String, i64>>,
}

impl Blocks {
    /// Seconds until `key` may sign in again; `None`: it may now.
    pub fn retry_after(&self, key: &str, now: Timestamp) -> Option<u32> {
        let until = *self.until.borrow().get(key)?;
        (until > now.0).then(|| ((until - now.0 + 999_999) / 1_000_000) as u32)
    }

    /// Refuses `key` for [`PERIOD_SECONDS`] from `now`.
    pub fn block(&self, key: &str, now: Timestamp) {
        let mut until = self.until.borrow_mut();
        if until.len() >= MAX_KEYS {
            until.retain(|_, t| *t > now.0);
            if until.len() >= MAX_KEYS {
                until.clear();
            }
        }
        until.insert(key.to_string(), now.0 + PERIOD_MICROS);
    }
}

/// What the service throttles with: the counter and the isolate's blocks.
pub struct Throttle<'a, C: FailureCounter> {
    pub counter: &'a C,
    pub blocks: &'a Blocks,
}

/// The throttling key of a sign-in: the client's address (`CF-Connecting-IP`, set by Cloudflare's edge) and the
/// username, hashed.
pub fn key(address: &str, user: &str) -> String {
    let mut h = Sha256::new();
    h.update((address.len() as u64).to_le_bytes());
    h.update(address.as_bytes());
    h.update(user.as_bytes());
    h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_counter_allows_the_limit_per_window_and_key() {
        let c = LocalCounter::default();
        let t = |s: i64| Timestamp(s * 1_000_000);
        for i in 0..FAILURES {
            assert!(pollster::block_on(c.count("a", t(i as i64))), "failure {}", i + 1);
        }
        assert!(!pollster::block_on(c.count("a", t(20))), "one over");
        assert!(pollster::block_on(c.count("b", t(20))), "another key");
        assert!(pollster::block_on(c.count("a", t(61))), "a new window");
    }

    #[test]
    fn blocks_last_a_period() {
        let b = Blocks::default();
        b.block("k", Timestamp(0));
        assert_eq!(b.retry_after("k", Timestamp(500_000)), Some(60));
        assert_eq!(b.retry_after("k", Timestamp(59_000_001)), Some(1));
        assert_eq!(b.retry_after("k", Timestamp(60_000_000)), None);
        assert_eq!(b.retry_after("other", Timestamp(0)), None);
        assert_ne!(key("1.2.3.4", "bob"), key("1.2.3.4", "alice"));
        assert_ne!(key("1.2.3.4", "bob"), key("1.2.3.", "4bob"));
    }
}
