//! The storage a snapshot is read from: a key → bytes map. R2 at the edge; memory or a directory natively.
//!
//! Besides reads and writes, a store can list its keys with their upload times (a page at a time, as R2 does)
//! and delete keys in batches: what pruning old snapshots needs. The publish pointer is switched with a
//! compare-and-swap ([`Store::get_versioned`], [`Store::put_if`]): R2 does it atomically with a conditional put on
//! the object's etag; the default compares, then writes.

use crate::time::Timestamp;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A failure of the storage itself (not a missing key): the caller answers 503.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

/// The most keys one `list` call returns and one `delete` call takes (R2's own limits for both).
pub const MAX_BATCH: usize = 1000;

/// One stored key as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// When it was last written.
    pub uploaded: Timestamp,
    pub size: u64,
}

/// A page of a listing, in key order, and where the next page starts (`None`: this was the last).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub keys: Vec<Listed>,
    pub cursor: Option<String>,
}

/// A value with its version, for [`Store::put_if`]: R2's etag, or by default a digest of the bytes (two equal
/// values have the same version, which is all a compare-and-swap of the pointer needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    pub bytes: Vec<u8>,
    pub version: String,
}

/// The default version of a value: a digest of its bytes.
pub fn content_version(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Access to blobs by key.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// The bytes at `key`, or `None` when there is no such key.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Whether `key` exists, without reading it.
    async fn exists(&self, key: &str) -> Result<bool, StoreError>;
    /// Writes `bytes` at `key` (publishing only).
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError>;
    /// The bytes at `key` with their version, or `None` when there is no such key.
    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let bytes = self.get(key).await?;
        Ok(bytes.map(|bytes| Versioned { version: content_version(&bytes), bytes }))
    }
    /// Writes `bytes` at `key` only if the value there still has the version `expected` (`None`: only if there is
    /// no value); `Ok(false)`, writing nothing, when it changed meanwhile. The default compares, then writes: a
    /// compare-and-swap only for a store nothing else writes in between (memory, a test wrapper); R2 overrides it
    /// with a conditional put.
    async fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&str>) -> Result<bool, StoreError> {
        let now = self.get_versioned(key).await?;
        if now.as_ref().map(|v| v.version.as_str()) != expected {
            return Ok(false);
        }
        self.put(key, bytes).await?;
        Ok(true)
    }
    /// Up to `limit` (at most [`MAX_BATCH`]) keys in key order, from the start or from a previous page's cursor.
    /// (A store that cannot list, such as a read-only test wrapper, keeps the default: an error.)
    async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<Listing, StoreError> {
        let _ = (cursor, limit);
        Err(StoreError("this store cannot list its keys".into()))
    }
    /// Deletes up to [`MAX_BATCH`] keys; a key that is not there is no error.
    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        let _ = keys;
        Err(StoreError("this store cannot delete keys".into()))
    }
}

/// An in-memory store, for tests and for serving a snapshot directory natively.
#[derive(Default)]
pub struct MemoryStore {
    pub blobs: RefCell<HashMap<String, Vec<u8>>>,
    /// When each key was written through `put` (keys inserted into `blobs` directly count as written at 0).
    pub uploaded: RefCell<HashMap<String, Timestamp>>,
    /// The time `put` records: tests move it.
    pub clock: Cell<Timestamp>,
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
        self.uploaded.borrow_mut().insert(key.to_string(), self.clock.get());
        Ok(())
    }
    async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<Listing, StoreError> {
        let limit = limit.clamp(1, MAX_BATCH);
        let blobs = self.blobs.borrow();
        let uploaded = self.uploaded.borrow();
        let mut keys: Vec<&String> = blobs.keys().filter(|k| cursor.is_none_or(|c| k.as_str() > c)).collect();
        keys.sort();
        let more = keys.len() > limit;
        keys.truncate(limit);
        let keys: Vec<Listed> = keys
            .into_iter()
            .map(|k| Listed {
                key: k.clone(),
                uploaded: uploaded.get(k).copied().unwrap_or_default(),
                size: blobs[k].len() as u64,
            })
            .collect();
        let cursor = if more { keys.last().map(|l| l.key.clone()) } else { None };
        Ok(Listing { keys, cursor })
    }
    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.len() > MAX_BATCH {
            return Err(StoreError(format!("delete at most {MAX_BATCH} keys at once")));
        }
        for k in keys {
            self.blobs.borrow_mut().remove(k);
            self.uploaded.borrow_mut().remove(k);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_pages_and_deletes() {
        let s = MemoryStore::default();
        pollster::block_on(async {
            for i in 0..5 {
                s.clock.set(Timestamp(i));
                s.put(&format!("k{i}"), vec![0; i as usize]).await.unwrap();
            }
            let p1 = s.list(None, 2).await.unwrap();
            assert_eq!(p1.keys.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(), ["k0", "k1"]);
            assert_eq!(p1.keys[1].uploaded, Timestamp(1));
            assert_eq!(p1.keys[1].size, 1);
            let p2 = s.list(p1.cursor.as_deref(), 2).await.unwrap();
            assert_eq!(p2.keys[0].key, "k2");
            let p3 = s.list(p2.cursor.as_deref(), 2).await.unwrap();
            assert_eq!((p3.keys.len(), p3.cursor), (1, None));
            s.delete(&["k1".into(), "nope".into()]).await.unwrap();
            assert_eq!(s.list(None, 10).await.unwrap().keys.len(), 4);
        });
    }
}
