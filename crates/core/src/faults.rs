//! Storage faults: a read deadline around any store, the record of which snapshot a request read, and the log
//! line of every failure to read one.
//!
//! [`Deadline`] turns a store read that takes too long into a [`StoreError`] (so a 503 with Retry-After, never a
//! hung request); the timer is given by the runtime (`worker::Delay` at the edge, see the worker crate's `deadline`, a thread in
//! the native tests). [`Witness`] sees the `current` pointer go by, so the service can name the snapshot a
//! response was built from. [`log_error`] is `console.error` in the worker and stderr natively.

use crate::snapshot::format::{Pointer, POINTER_KEY};
use crate::store::{Store, StoreError};
use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::OnceLock;
use std::task::Poll;

/// The response header that names the snapshot a response was built from.
pub const SNAPSHOT_HEADER: &str = "X-TAXII-Edge-Snapshot";

/// Reads through `inner` that take longer than `ms` milliseconds fail. `sleep(ms)` is a future that completes
/// after `ms` milliseconds. Writes (publishing) are not timed: the CLI reports and retries them.
pub struct Deadline<S, F> {
    pub inner: S,
    pub ms: u32,
    pub sleep: F,
}

/// `work`'s output, or `None` when `timer` completes first.
pub async fn race<A: Future>(work: A, timer: impl Future<Output = ()>) -> Option<A::Output> {
    let mut work = pin!(work);
    let mut timer = pin!(timer);
    poll_fn(|cx| {
        if let Poll::Ready(v) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

impl<S: Store, F: Fn(u32) -> T, T: Future<Output = ()>> Deadline<S, F> {
    fn timed_out(&self, what: &str, key: &str) -> StoreError {
        StoreError(format!(
            "{what} {key} took longer than {} ms (STORE_TIMEOUT_MS): the store is slow or unreachable",
            self.ms
        ))
    }
}

impl<S: Store, F: Fn(u32) -> T, T: Future<Output = ()>> Store for Deadline<S, F> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        race(self.inner.get(key), (self.sleep)(self.ms)).await.unwrap_or_else(|| Err(self.timed_out("reading", key)))
    }
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        race(self.inner.exists(key), (self.sleep)(self.ms))
            .await
            .unwrap_or_else(|| Err(self.timed_out("looking up", key)))
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<crate::store::Versioned>, StoreError> {
        race(self.inner.get_versioned(key), (self.sleep)(self.ms))
            .await
            .unwrap_or_else(|| Err(self.timed_out("reading", key)))
    }
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner.put(key, bytes).await
    }
    async fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&str>) -> Result<bool, StoreError> {
        self.inner.put_if(key, bytes, expected).await
    }
    // Listing and deleting (the admin path's prune) go to the store as they are, like writes.
    async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<crate::store::Listing, StoreError> {
        self.inner.list(cursor, limit).await
    }
    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        self.inner.delete(keys).await
    }
}

/// A store seen through for one request: remembers the snapshot the `current` pointer named when it was read.
pub struct Witness<'a, S> {
    pub inner: &'a S,
    pub snapshot: RefCell<Option<String>>,
}

impl<'a, S: Store> Witness<'a, S> {
    pub fn new(inner: &'a S) -> Self {
        Witness { inner, snapshot: RefCell::new(None) }
    }
}

impl<S: Store> Store for Witness<'_, S> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let got = self.inner.get(key).await?;
        if key == POINTER_KEY {
            if let Some(p) = got.as_deref().and_then(|b| serde_json::from_slice::<Pointer>(b).ok()) {
                *self.snapshot.borrow_mut() = Some(p.snapshot);
            }
        }
        Ok(got)
    }
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.exists(key).await
    }
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner.put(key, bytes).await
    }
}

/// Where [`log_error`] writes: set once by the runtime (the worker sets `console.error`); stderr until then.
static LOG_SINK: OnceLock<fn(&str)> = OnceLock::new();

/// Sends every later [`log_error`] line to `sink` (the first call wins).
pub fn set_log_sink(sink: fn(&str)) {
    let _ = LOG_SINK.set(sink);
}

/// Logs a server-side failure: `console.error` in the worker (visible in `wrangler tail` and the dashboard),
/// stderr natively.
pub fn log_error(message: &str) {
    let line = format!("taxii-edge: {message}");
    match LOG_SINK.get() {
        Some(sink) => sink(&line),
        None => eprintln!("{line}"),
    }
}
