//! The publish pointer, read once per request and at most once per TTL per isolate: [`Pinned`] makes the snapshot
//! a cache key names the snapshot its response is rendered from, and [`PointerMemo`] lets a first page skip the
//! store until the edge cache answers.

use crate::snapshot::format::POINTER_KEY;
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use std::cell::RefCell;

/// The publish pointer as this isolate last read it, and when. A first page's cache key needs the pointer; with
/// a memo younger than the TTL (`POINTER_TTL_MS`) a request reads nothing from the store before the edge cache
/// answers. A publish is then seen by each isolate at most one TTL late (the isolate that switches, at once).
#[derive(Default)]
pub struct PointerMemo(RefCell<Option<(Timestamp, Option<Vec<u8>>)>>);

impl PointerMemo {
    /// The memo, if it was read less than `ttl` micros before `now`.
    fn fresh(&self, now: Timestamp, ttl: i64) -> Option<Option<Vec<u8>>> {
        match self.0.borrow().as_ref() {
            Some((at, p)) if now.0 >= at.0 && now.0 - at.0 < ttl => Some(p.clone()),
            _ => None,
        }
    }

    fn keep(&self, now: Timestamp, pointer: Option<Vec<u8>>) {
        *self.0.borrow_mut() = Some((now, pointer));
    }

    /// Forgets the memo: the next request reads the pointer from the store.
    pub fn forget(&self) {
        *self.0.borrow_mut() = None;
    }
}

/// A store that reads the publish pointer at most once per request, so the snapshot a cache key names is the
/// snapshot the response is rendered from even if a publish lands in between; with a memo, at most once per TTL
/// per isolate.
pub struct Pinned<'s, S: Store> {
    inner: &'s S,
    pointer: RefCell<Option<Option<Vec<u8>>>>,
    memo: Option<(&'s PointerMemo, Timestamp, i64)>,
}

impl<'s, S: Store> Pinned<'s, S> {
    pub fn new(inner: &'s S) -> Self {
        Pinned { inner, pointer: RefCell::new(None), memo: None }
    }

    /// Pinned, and reusing the isolate's `memo` of the pointer when it is younger than `ttl` micros at `now`.
    pub fn with_memo(inner: &'s S, memo: &'s PointerMemo, now: Timestamp, ttl: i64) -> Self {
        Pinned { inner, pointer: RefCell::new(None), memo: Some((memo, now, ttl)) }
    }

    /// The store underneath (the admin API writes the pointer itself).
    pub fn inner(&self) -> &'s S {
        self.inner
    }

    /// Forgets the pointer, pinned and memoised (after the admin API may have switched it).
    pub fn forget_pointer(&self) {
        *self.pointer.borrow_mut() = None;
        if let Some((memo, ..)) = self.memo {
            memo.forget();
        }
    }
}

impl<S: Store> Store for Pinned<'_, S> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if key != POINTER_KEY {
            return self.inner.get(key).await;
        }
        if let Some(p) = self.pointer.borrow().as_ref() {
            return Ok(p.clone());
        }
        let memoised = self.memo.and_then(|(memo, now, ttl)| memo.fresh(now, ttl));
        let p = match memoised {
            Some(p) => p,
            None => {
                let p = self.inner.get(key).await?;
                if let Some((memo, now, _)) = self.memo {
                    memo.keep(now, p.clone());
                }
                p
            }
        };
        *self.pointer.borrow_mut() = Some(p.clone());
        Ok(p)
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.exists(key).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        if key == POINTER_KEY {
            self.forget_pointer();
        }
        self.inner.put(key, bytes).await
    }

    /// Read from the store itself, never the pinned or memoised pointer: a compare-and-swap needs the latest.
    async fn get_versioned(&self, key: &str) -> Result<Option<crate::store::Versioned>, StoreError> {
        self.inner.get_versioned(key).await
    }

    async fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&str>) -> Result<bool, StoreError> {
        if key == POINTER_KEY {
            self.forget_pointer();
        }
        self.inner.put_if(key, bytes, expected).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_reads_the_pointer_once() {
        use crate::store::MemoryStore;
        let store = MemoryStore::default();
        pollster::block_on(async {
            store.put(POINTER_KEY, b"one".to_vec()).await.unwrap();
            let pinned = Pinned::new(&store);
            assert_eq!(pinned.get(POINTER_KEY).await.unwrap().as_deref(), Some(&b"one"[..]));
            store.put(POINTER_KEY, b"two".to_vec()).await.unwrap();
            assert_eq!(pinned.get(POINTER_KEY).await.unwrap().as_deref(), Some(&b"one"[..]), "pinned");
            pinned.put(POINTER_KEY, b"three".to_vec()).await.unwrap();
            assert_eq!(pinned.get(POINTER_KEY).await.unwrap().as_deref(), Some(&b"three"[..]), "own write seen");
        });
    }

    #[test]
    fn the_memo_spares_reads_for_one_ttl() {
        use crate::store::MemoryStore;
        const S: i64 = 1_000_000;
        let store = MemoryStore::default();
        let memo = PointerMemo::default();
        let read = |now: i64, ttl: i64| {
            let pinned = Pinned::with_memo(&store, &memo, Timestamp(now), ttl);
            pollster::block_on(pinned.get(POINTER_KEY)).unwrap()
        };
        pollster::block_on(store.put(POINTER_KEY, b"one".to_vec())).unwrap();
        assert_eq!(read(10 * S, S).as_deref(), Some(&b"one"[..]));
        pollster::block_on(store.put(POINTER_KEY, b"two".to_vec())).unwrap();
        assert_eq!(read(10 * S + S - 1, S).as_deref(), Some(&b"one"[..]), "within the TTL: the memo");
        assert_eq!(read(11 * S, S).as_deref(), Some(&b"two"[..]), "one TTL later: read again");
        pollster::block_on(store.put(POINTER_KEY, b"three".to_vec())).unwrap();
        assert_eq!(read(11 * S, 0).as_deref(), Some(&b"three"[..]), "TTL 0: every request reads");
        pollster::block_on(store.put(POINTER_KEY, b"four".to_vec())).unwrap();
        assert_eq!(read(5 * S, S).as_deref(), Some(&b"four"[..]), "a clock that went back: read again");
        // A switch through the pinned store (the admin API's) is seen at once by the next request.
        let pinned = Pinned::with_memo(&store, &memo, Timestamp(5 * S), S);
        pollster::block_on(pinned.put(POINTER_KEY, b"five".to_vec())).unwrap();
        assert_eq!(read(5 * S, S).as_deref(), Some(&b"five"[..]));
        pollster::block_on(store.put(POINTER_KEY, b"six".to_vec())).unwrap();
        Pinned::with_memo(&store, &memo, Timestamp(5 * S), S).forget_pointer();
        assert_eq!(read(5 * S, S).as_deref(), Some(&b"six"[..]), "forgotten");
        // "Nothing published" is memoised too.
        let empty = MemoryStore::default();
        let memo2 = PointerMemo::default();
        assert_eq!(
            pollster::block_on(Pinned::with_memo(&empty, &memo2, Timestamp(0), S).get(POINTER_KEY)).unwrap(),
            None
        );
        pollster::block_on(empty.put(POINTER_KEY, b"x".to_vec())).unwrap();
        assert_eq!(
            pollster::block_on(Pinned::with_memo(&empty, &memo2, Timestamp(1), S).get(POINTER_KEY)).unwrap(),
            None
        );
    }
}
