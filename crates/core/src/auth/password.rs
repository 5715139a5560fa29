//! Password hashes as they are stored in the `TAXII_USERS` secret: salted PBKDF2-HMAC-SHA256, checked in
//! constant time.
//!
//! The stored form is `pbkdf2-sha256:<iterations>:<salt>:<key>` (salt and key in unpadded base64url), chosen to
//! survive shells, JSON and `.dev.vars` files unquoted (no `$`, no `=`, no `/`). The per-request budget of a
//! Worker (10 ms of CPU on the free plan) rules out the iteration counts recommended for human-chosen passwords,
//! so `taxii-edge user add` generates 192-bit random passwords by default, for which even one iteration would
//! leave a leaked hash unbreakable; the iterations ([`DEFAULT_ITERATIONS`]) slow down guessing of the
//! human-chosen passwords that an XSOAR migration may bring. A successful check is remembered per isolate
//! (see [`super`]), so the cost is paid once per credential and isolate, not per request.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The iterations `taxii-edge user add` uses: about 1 ms of CPU in the worker (see docs in the report).
pub const DEFAULT_ITERATIONS: u32 = 5_000;

/// The fewest iterations a stored hash may have (the CLI writes none below, the worker loads none below): the
/// configured cost. A cheaper hash would be quicker to guess from a leaked secret.
pub const MIN_ITERATIONS: u32 = DEFAULT_ITERATIONS;

/// The most iterations a stored hash may ask for: more would not fit the Worker's CPU budget per request.
pub const MAX_ITERATIONS: u32 = 50_000;

/// The scheme tag of the stored form.
pub const SCHEME: &str = "pbkdf2-sha256";

/// Why a stored hash could not be read; the message never repeats the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Not four `:`-separated parts.
    #[error("a hash must look like {SCHEME}:<iterations>:<salt>:<key>; make one with `taxii-edge user add`")]
    Shape,
    /// A scheme other than [`SCHEME`].
    #[error("unknown hash scheme {0:?}: the only one is {SCHEME}")]
    UnknownScheme(String),
    /// The iteration count is not a number.
    #[error("the hash's iteration count is not a number")]
    IterationsNotNumber,
    /// The iteration count is below [`MIN_ITERATIONS`] or over [`MAX_ITERATIONS`].
    #[error(
        "the hash has {0} iterations: use {MIN_ITERATIONS} to {MAX_ITERATIONS} (fewer are quick to guess from a \
         leaked secret, more do not fit a Worker's CPU budget); make a new one with `taxii-edge user add`"
    )]
    IterationsOutOfRange(u32),
    /// The salt is not unpadded base64url.
    #[error("the hash's salt is not base64url")]
    SaltNotBase64,
    /// The salt is shorter than 8 bytes.
    #[error("the hash's salt is shorter than 8 bytes")]
    SaltTooShort,
    /// The key is not 32 bytes of unpadded base64url.
    #[error("the hash's key is not 32 bytes of base64url")]
    BadKey,
}

/// A parsed stored hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub key: [u8; 32],
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasswordHash({SCHEME}, {} iterations)", self.iterations)
    }
}

/// PBKDF2-HMAC-SHA256 with a 32-byte output (one block: RFC 8018 §5.2 with dkLen = hLen).
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    pbkdf2_at_cost(password, salt, iterations, iterations)
}

/// [`pbkdf2_sha256`] of `iterations`, computed while running `cost` iterations of the same chain when `cost` is
/// higher: the result of a cheap hash, at the price of the dearest.
fn pbkdf2_at_cost(password: &[u8], salt: &[u8], iterations: u32, cost: u32) -> [u8; 32] {
    // Keyed once: every iteration then costs two SHA-256 compressions.
    let keyed = Hmac::<Sha256>::new_from_slice(password).expect("HMAC takes keys of any length");
    let mut mac = keyed.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = u;
    let mut kept = out;
    for i in 1..iterations.max(cost) {
        if i == iterations {
            kept = out;
        }
        let mut mac = keyed.clone();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    if iterations >= cost {
        kept = out;
    }
    std::hint::black_box(out);
    kept
}

/// Equality of two byte strings in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl PasswordHash {
    /// Hashes `password` with `salt`.
    pub fn new(password: &[u8], salt: &[u8], iterations: u32) -> Self {
        PasswordHash { iterations, salt: salt.to_vec(), key: pbkdf2_sha256(password, salt, iterations) }
    }

    /// Whether `password` is the one hashed, in constant time for a given hash.
    pub fn verify(&self, password: &[u8]) -> bool {
        self.verify_at_cost(password, self.iterations)
    }

    /// [`PasswordHash::verify`], costing `cost` iterations whatever this hash's own count (when `cost` is
    /// higher): every check of a configuration costs the same, so the time of a failure names no user.
    pub fn verify_at_cost(&self, password: &[u8], cost: u32) -> bool {
        ct_eq(&pbkdf2_at_cost(password, &self.salt, self.iterations, cost), &self.key)
    }

    /// Parses the stored form; the error says what is wrong without repeating the value.
    pub fn parse(s: &str) -> Result<Self, PasswordError> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let [scheme, iterations, salt, key] = parts.as_slice() else {
            return Err(PasswordError::Shape);
        };
        if *scheme != SCHEME {
            return Err(PasswordError::UnknownScheme(scheme.to_string()));
        }
        let iterations: u32 = iterations.parse().map_err(|_| PasswordError::IterationsNotNumber)?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(PasswordError::IterationsOutOfRange(iterations));
        }
        let salt = URL_SAFE_NO_PAD.decode(salt).map_err(|_| PasswordError::SaltNotBase64)?;
        if salt.len() < 8 {
            return Err(PasswordError::SaltTooShort);
        }
        let key: [u8; 32] =
            URL_SAFE_NO_PAD.decode(key).ok().and_then(|k| k.try_into().ok()).ok_or(PasswordError::BadKey)?;
        Ok(PasswordHash { iterations, salt, key })
    }
}

impl std::fmt::Display for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{SCHEME}:{}:{}:{}",
            self.iterations,
            URL_SAFE_NO_PAD.encode(&self.salt),
            URL_SAFE_NO_PAD.encode(self.key)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn pbkdf2_matches_rfc7914_vectors() {
        // RFC 7914 §11 (first 32 bytes), also Python's hashlib.pbkdf2_hmac.
        assert_eq!(
            hex(&pbkdf2_sha256(b"passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
        assert_eq!(
            hex(&pbkdf2_sha256(b"Password", b"NaCl", 80000)),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        );
    }

    #[test]
    fn a_check_at_a_higher_cost_gives_the_same_answer() {
        for (iterations, cost) in [(1, 1), (1, 2), (2, 1), (3, 80), (80, 3), (80, 80)] {
            assert_eq!(
                pbkdf2_at_cost(b"Password", b"NaCl", iterations, cost),
                pbkdf2_sha256(b"Password", b"NaCl", iterations),
                "{iterations} at cost {cost}"
            );
        }
        let h = PasswordHash::new(b"pw", b"saltsalt", 7);
        assert!(h.verify_at_cost(b"pw", 5_000) && !h.verify_at_cost(b"px", 5_000) && h.verify(b"pw"));
    }
}
