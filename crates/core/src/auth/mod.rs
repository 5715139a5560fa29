//! Authentication and access control: who is asking, and which collections they may read.
//!
//! Callers authenticate with HTTP Basic (the only scheme Microsoft Sentinel speaks) or with
//! `Authorization: Bearer <username>.<password>`. Users come from the `TAXII_USERS` Worker secret, a JSON object
//! `{"<username>": {"hash": "pbkdf2-sha256:…", "collections": ["<id, title or alias>", …] or "*"}}` made by
//! `taxii-edge user add`; passwords are stored only as salted hashes ([`password`]). Collections may also be public
//! (`PUBLIC_COLLECTIONS`: a comma list or JSON list of ids, titles or aliases, or `*`), and discovery and the API
//! root are public when some collection is, unless `PUBLIC_DISCOVERY` says otherwise.
//!
//! The rules (each has a test in tests/auth_*.rs):
//! - Wrong or malformed credentials get 401 on every path, public ones included: a client is told its
//!   configuration is wrong instead of silently seeing less. With no users configured, the Authorization
//!   header is ignored (every caller is anonymous).
//! - A collection a caller may not read does not exist for it: absent from lists and counts, and answered exactly
//!   like a collection that does not exist: 404 for a signed-in caller; 401 with a Basic challenge for an
//!   anonymous caller unless every collection is public (the same 401 whether the collection exists or not, so
//!   it leaks nothing, and lets challenge-driven clients such as browsers and `curl --anyauth` sign in).
//! - Anonymous callers of a server whose discovery is not public get 401 everywhere but in public collections.
//! - Every failed password check costs the same work, whoever is named: a wrong password is topped up to the
//!   highest iteration count of the configuration, and an unknown username checks a dummy hash of that count
//!   ([`password::PasswordHash::verify_at_cost`]); no hash may have fewer than [`password::MIN_ITERATIONS`]. Names
//!   and keys are compared in constant time. A successful check is remembered per isolate by a SHA-256 of the configuration
//!   and the header, so a client pays the hash once per isolate; failures are never remembered.
//! - Failed sign-ins are throttled per address and user ([`throttle`]): past the limit, a 429 with Retry-After,
//!   the right password included, until the period ends.
//! - With nothing configured the worker is closed: nobody may read anything (see [`Access::from_config`]).
//!
//! The modules, from the bottom up: [`password`] (hashes), [`users`] (the users document and grants),
//! [`access`] (the whole configuration), [`header`] (the Authorization header), [`memo`] (what an isolate
//! remembers), [`viewer`] (who is asking and what it may read). Nothing here knows TAXII: refusals are
//! [`AuthError`] and [`Refusal`], which `crate::taxii::refusal` words as TAXII errors.

pub mod access;
pub mod header;
pub mod memo;
pub mod password;
pub mod throttle;
pub mod users;
pub mod viewer;

pub use access::{Access, AccessError, DEFAULT_REALM};
pub use header::{parse_header, AuthError, MAX_HEADER};
pub use password::PasswordError;
pub use users::{check_username, parse_users, upsert_user, Grants, User, UsersError};
pub use viewer::{authenticate, Refusal, Viewer};

#[cfg(test)]
mod tests;
