//! What an isolate remembers between requests: the access configuration it parsed (the worker reads its
//! settings on every request), and the credentials it verified, keyed by a SHA-256 of the users configuration
//! and the header, so a client pays the password hash once per isolate. Failures are never remembered.

use super::access::{Access, AccessError};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;

/// Successful verifications remembered per isolate before the memory is cleared.
const VERIFIED_MAX: usize = 1024;

impl Access {
    /// [`Access::from_config`], parsed once per isolate for the same inputs (the worker reads its settings on
    /// every request).
    pub fn from_config_memo(
        users: Option<&str>,
        public_collections: Option<&str>,
        public_discovery: Option<&str>,
        realm: Option<&str>,
    ) -> Result<Self, AccessError> {
        type Key = [Option<String>; 4];
        thread_local! {
            static MEMO: RefCell<Option<(Key, Result<Access, AccessError>)>> = const { RefCell::new(None) };
        }
        let key: Key = [users, public_collections, public_discovery, realm].map(|o| o.map(str::to_string));
        MEMO.with(|m| {
            if let Some((k, r)) = m.borrow().as_ref() {
                if *k == key {
                    return r.clone();
                }
            }
            let r = Access::from_config(users, public_collections, public_discovery, realm);
            *m.borrow_mut() = Some((key, r.clone()));
            r
        })
    }
}

thread_local! {
    /// SHA-256(configuration digest, header) → index of the user it verified as.
    static VERIFIED: RefCell<HashMap<[u8; 32], usize>> = RefCell::new(HashMap::new());
}

fn memory_key(access: &Access, header: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(access.digest);
    h.update(header.as_bytes());
    h.finalize().into()
}

/// The index of the user this header verified as in this configuration, if it did before in this isolate.
pub(super) fn recall(access: &Access, header: &str) -> Option<usize> {
    let key = memory_key(access, header);
    VERIFIED.with(|v| v.borrow().get(&key).copied())
}

/// Remembers that this header verified as the user at index `i` of this configuration.
pub(super) fn remember(access: &Access, header: &str, i: usize) {
    let key = memory_key(access, header);
    VERIFIED.with(|v| {
        let mut v = v.borrow_mut();
        if v.len() >= VERIFIED_MAX {
            v.clear();
        }
        v.insert(key, i);
    });
}
