//! The deployment's access configuration: its users, the public collections, whether discovery is public, and
//! the realm of the Basic challenge, read from the worker's settings (`TAXII_USERS`, `PUBLIC_COLLECTIONS`,
//! `PUBLIC_DISCOVERY`, `TAXII_REALM`).

use super::password::{ct_eq, PasswordHash};
use super::users::{parse_users, Grants, User, UsersError};
use crate::snapshot::CollectionEntry;
use sha2::{Digest, Sha256};

/// The realm of the Basic challenge when none is configured.
pub const DEFAULT_REALM: &str = "taxii-edge";

/// Why the access configuration could not be read: which setting, what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The `TAXII_USERS` secret.
    #[error("TAXII_USERS: {0}")]
    Users(UsersError),
    /// `PUBLIC_COLLECTIONS`.
    #[error("PUBLIC_COLLECTIONS: {0}")]
    PublicCollections(UsersError),
    /// `PUBLIC_DISCOVERY` is neither true nor false (the value as lowercased).
    #[error("PUBLIC_DISCOVERY must be true or false, not {0:?}")]
    PublicDiscovery(String),
}

/// Who may read what: the deployment's access configuration.
#[derive(Clone, Debug)]
pub struct Access {
    pub(super) users: Vec<User>,
    pub(super) public: Grants,
    pub(super) discovery_public: bool,
    pub(super) realm: String,
    /// SHA-256 of the users configuration: keys the per-isolate memory of verified credentials.
    pub(super) digest: [u8; 32],
    /// Checked for unknown usernames, so they cost what a wrong password costs.
    pub(super) dummy: Option<PasswordHash>,
    /// The iterations every password check costs: the highest of the users' hashes.
    pub(super) cost: u32,
    /// The configuration could not be read: every request gets a 503 until it is fixed.
    pub(super) broken: bool,
}

impl Access {
    /// Everything public, no users: for tests and local tools. The worker never uses it implicitly.
    pub fn open() -> Self {
        Access::build(vec![], Grants::All, None, DEFAULT_REALM.into(), [0; 32])
    }

    /// Nothing public, no users: the worker with no access configuration.
    pub fn closed() -> Self {
        Access::build(vec![], Grants::none(), None, DEFAULT_REALM.into(), [0; 32])
    }

    /// A configuration that could not be read: every request gets a 503 (fail closed).
    pub fn broken() -> Self {
        Access { broken: true, ..Access::closed() }
    }

    fn build(users: Vec<User>, public: Grants, discovery: Option<bool>, realm: String, digest: [u8; 32]) -> Self {
        let cost = users.iter().map(|u| u.hash.iterations).max().unwrap_or(0);
        let dummy = (!users.is_empty()).then(|| PasswordHash {
            iterations: cost,
            salt: b"taxii-edge dummy salt".to_vec(),
            key: [0; 32],
        });
        let discovery_public = discovery.unwrap_or(!public.is_empty());
        Access { users, public, discovery_public, realm, digest, dummy, cost, broken: false }
    }

    /// The configuration from the worker's settings, each `None` when unset:
    /// - `users`: the `TAXII_USERS` secret (see the module doc);
    /// - `public_collections`: `PUBLIC_COLLECTIONS`, `*` or a comma or JSON list of ids, titles or aliases;
    /// - `public_discovery`: `PUBLIC_DISCOVERY`, `true` or `false`; by default discovery and the API root are
    ///   public exactly when some collection is;
    /// - `realm`: `TAXII_REALM`, the realm of the Basic challenge.
    ///
    /// The error says what to fix; it never repeats a hash.
    pub fn from_config(
        users: Option<&str>,
        public_collections: Option<&str>,
        public_discovery: Option<&str>,
        realm: Option<&str>,
    ) -> Result<Self, AccessError> {
        let users_text = users.map(str::trim).filter(|u| !u.is_empty());
        let list = match users_text {
            Some(t) => parse_users(t).map_err(AccessError::Users)?,
            None => vec![],
        };
        let public = match public_collections {
            Some(p) => Grants::parse(p).map_err(AccessError::PublicCollections)?,
            None => Grants::none(),
        };
        let discovery = match public_discovery.map(|d| d.trim().to_ascii_lowercase()) {
            None => None,
            Some(d) if d.is_empty() => None,
            Some(d) => Some(match d.as_str() {
                "true" | "yes" | "1" | "on" => true,
                "false" | "no" | "0" | "off" => false,
                _ => return Err(AccessError::PublicDiscovery(d)),
            }),
        };
        let realm: String = realm
            .unwrap_or(DEFAULT_REALM)
            .chars()
            .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
            .take(100)
            .collect();
        let realm = if realm.trim().is_empty() { DEFAULT_REALM.to_string() } else { realm };
        let digest: [u8; 32] = Sha256::digest(users_text.unwrap_or_default().as_bytes()).into();
        Ok(Access::build(list, public, discovery, realm, digest))
    }

    /// The users, in configuration order.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Whether discovery, the API root and the collections list answer anonymous callers.
    pub fn discovery_public(&self) -> bool {
        self.discovery_public
    }

    /// Whether the collection may be read anonymously.
    pub fn is_public(&self, c: &CollectionEntry) -> bool {
        self.public.covers(c)
    }

    /// The user named `name`, by a constant-time scan of every user.
    pub(super) fn find(&self, name: &str) -> Option<&User> {
        let d: [u8; 32] = Sha256::digest(name.as_bytes()).into();
        let mut found = None;
        for u in &self.users {
            if ct_eq(&u.name_digest, &d) && found.is_none() {
                found = Some(u);
            }
        }
        found
    }
}
