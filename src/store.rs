//! The storage a snapshot is read from: a key → bytes map. R2 at the edge; memory or a directory natively.

use std::cell::RefCell;
use std::collections::HashMap;

/// A failure of the storage itself (not a missing key): the caller answers 503.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

/// Read access to blobs by key.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// The bytes at `key`, or `None` when there is no such key.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Whether `key` exists, without reading it.
    async fn exists(&self, key: &str) -> Result<bool, StoreError>;
    /// Writes `bytes` at `key` (publishing only).
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError>;
}

/// An in-memory store, for tests and for serving a snapshot directory natively.
#[derive(Default)]
pub struct MemoryStore {
    pub blobs: RefCell<HashMap<String, Vec<u8>>>,
}

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.blobs.borrow().get(key).cloned())
    }
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.blobs.borrow().contains_key(key))
    }
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.blobs.borrow_mut().insert(key.to_string(), bytes);
        Ok(())
    }
}
