//! Editing the users JSON that becomes the `TAXII_USERS` secret (the CLI's `taxii-edge user`), with
//! passwords and salts from the operating system's random bytes.
//!
//! The file holds only salted hashes, never a password; a Worker secret cannot be read back, so the operator
//! keeps this file (outside the repository) and sets it again after each change.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use edge_core::auth::password::{PasswordHash, MAX_ITERATIONS, MIN_ITERATIONS};
use edge_core::auth::{check_username, parse_users, upsert_user, Grants, UsersError};
use serde_json::{Map, Value};

/// Why a users file could not be read or changed, or a password not made; the message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum UsersFileError {
    /// The document, or the username given, is not what the worker accepts.
    #[error(transparent)]
    Users(#[from] UsersError),
    /// `--collections` does not parse.
    #[error("--collections: {0}")]
    Collections(UsersError),
    /// `--collections` names nothing.
    #[error("--collections names no collection: list ids, titles or aliases, or \"*\" for all")]
    NoCollections,
    /// The document is not a JSON object.
    #[error("the users file must be a JSON object")]
    NotObject,
    /// The password given is empty.
    #[error("the password is empty")]
    EmptyPassword,
    /// The password given holds a control character.
    #[error("a password cannot contain control characters (HTTP Basic cannot carry them)")]
    PasswordUnsendable,
    /// The iterations asked for are below the configured cost or over the most a hash may have.
    #[error(
        "iterations must be {MIN_ITERATIONS} to {MAX_ITERATIONS}: fewer are quick to guess from a leaked secret, \
         and the worker refuses them"
    )]
    Iterations,
    /// `remove` of a user the document does not have.
    #[error("there is no user {0:?} in the users file")]
    NoSuchUser(String),
    /// The operating system gave no random bytes.
    #[error("the operating system gave no random bytes: {0}")]
    Random(getrandom::Error),
}

/// The result of adding a user.
pub struct Added {
    /// The new users document, one line of JSON.
    pub document: String,
    /// The password to give the user (generated unless one was supplied).
    pub password: String,
    pub generated: bool,
    /// Whether an existing user was replaced.
    pub replaced: bool,
}

/// Reads a users document: empty text is no users. Every entry is checked as the worker would check it.
pub fn load(text: &str) -> Result<Map<String, Value>, UsersFileError> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    parse_users(text)?;
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(UsersFileError::NotObject),
    }
}

/// Adds `name` (or gives it a new password and collections) to the document `text`.
pub fn add(
    text: &str,
    name: &str,
    collections: &str,
    password: Option<String>,
    iterations: u32,
) -> Result<Added, UsersFileError> {
    check_username(name)?;
    let grants = Grants::parse(collections).map_err(UsersFileError::Collections)?;
    if grants.is_empty() {
        return Err(UsersFileError::NoCollections);
    }
    let mut doc = load(text)?;
    let (password, generated) = match password {
        Some(p) if p.is_empty() => return Err(UsersFileError::EmptyPassword),
        Some(p) => (p, false),
        None => (generate_password()?, true),
    };
    let hash = hash_password(&password, iterations)?;
    let replaced = doc.contains_key(name);
    upsert_user(&mut doc, name, &hash, &grants);
    let document = Value::Object(doc).to_string();
    parse_users(&document)?;
    Ok(Added { document, password, generated, replaced })
}

/// Removes `name`; an error if there is no such user.
pub fn remove(text: &str, name: &str) -> Result<String, UsersFileError> {
    let mut doc = load(text)?;
    if doc.shift_remove(name).is_none() {
        return Err(UsersFileError::NoSuchUser(name.to_string()));
    }
    Ok(Value::Object(doc).to_string())
}

/// One line per user: name, what it may read, iterations.
pub fn list(text: &str) -> Result<Vec<String>, UsersFileError> {
    let users = parse_users(if text.trim().is_empty() { "{}" } else { text })?;
    Ok(users
        .iter()
        .map(|u| {
            let reads = match &u.collections {
                Grants::All => "every collection".to_string(),
                Grants::Some(v) if v.is_empty() => "no collection".to_string(),
                Grants::Some(v) => v.join(", "),
            };
            format!("{:<24} reads {reads} ({} iterations)", u.name, u.hash.iterations)
        })
        .collect())
}

/// Random bytes from the operating system (the CLI only).
pub fn random_bytes(n: usize) -> Result<Vec<u8>, UsersFileError> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).map_err(UsersFileError::Random)?;
    Ok(b)
}

/// A new password: 24 random bytes (192 bits) in base64url, 32 characters with no `.` or `:`.
pub fn generate_password() -> Result<String, UsersFileError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes(24)?))
}

/// A salted hash of `password` with a new random 16-byte salt.
pub fn hash_password(password: &str, iterations: u32) -> Result<PasswordHash, UsersFileError> {
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        return Err(UsersFileError::Iterations);
    }
    if password.chars().any(char::is_control) {
        return Err(UsersFileError::PasswordUnsendable);
    }
    Ok(PasswordHash::new(password.as_bytes(), &random_bytes(16)?, iterations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use edge_core::auth::{authenticate, Access};

    #[test]
    fn add_list_remove_and_the_worker_accepts_the_result() {
        let a = add("", "sentinel", "Public, Internal", None, MIN_ITERATIONS).unwrap();
        assert!(a.generated && !a.replaced && a.password.len() == 32);
        assert!(!a.document.contains(&a.password), "only the hash is stored");
        let b = add(&a.document, "xsoar", "*", Some("kept from xsoar".into()), MIN_ITERATIONS).unwrap();
        assert!(!b.generated);
        let c = add(&b.document, "sentinel", "Internal", None, MIN_ITERATIONS).unwrap();
        assert!(c.replaced);
        assert_eq!(
            list(&c.document).unwrap(),
            [
                "sentinel                 reads Internal (5000 iterations)",
                "xsoar                    reads every collection (5000 iterations)"
            ]
        );
        let access = Access::from_config(Some(&c.document), None, None, None).unwrap();
        let basic = |u: &str, p: &str| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")))
        };
        assert!(authenticate(&access, Some(&basic("xsoar", "kept from xsoar"))).is_ok());
        assert!(authenticate(&access, Some(&basic("sentinel", &c.password))).is_ok());
        assert!(authenticate(&access, Some(&basic("sentinel", &a.password))).is_err(), "the old password is gone");
        let d = remove(&c.document, "sentinel").unwrap();
        assert_eq!(list(&d).unwrap().len(), 1);
        assert!(remove(&d, "sentinel").unwrap_err().to_string().contains("no user"));
        assert!(add("", "a:b", "*", None, MIN_ITERATIONS).is_err());
        assert!(add("", "a", " , ", None, MIN_ITERATIONS).err().unwrap().to_string().contains("names no collection"));
        assert!(add("not json", "a", "*", None, MIN_ITERATIONS).err().unwrap().to_string().contains("not valid JSON"));
    }

    #[test]
    fn stored_form_round_trips_and_verifies() {
        let h = hash_password("correct horse", MIN_ITERATIONS).unwrap();
        let text = h.to_string();
        assert!(text.starts_with("pbkdf2-sha256:5000:"), "{text}");
        assert!(!text.contains('$') && !text.contains('='), "{text}");
        let back = PasswordHash::parse(&text).unwrap();
        assert_eq!(back, h);
        assert!(back.verify(b"correct horse"));
        assert!(!back.verify(b"correct horsf"));
        assert!(!back.verify(b""));
        assert_ne!(hash_password("correct horse", MIN_ITERATIONS).unwrap().salt, h.salt, "salts are random");
    }

    #[test]
    fn bad_stored_forms_are_explained() {
        let good = hash_password("x", MIN_ITERATIONS).unwrap().to_string();
        let parts: Vec<&str> = good.split(':').collect();
        for (bad, says) in [
            ("plaintext", "must look like"),
            (&format!("md5:1:{}:{}", parts[2], parts[3]) as &str, "unknown hash scheme"),
            (&format!("pbkdf2-sha256:0:{}:{}", parts[2], parts[3]), "iterations"),
            (&format!("pbkdf2-sha256:4999:{}:{}", parts[2], parts[3]), "use 5000 to 50000"),
            (&format!("pbkdf2-sha256:999999:{}:{}", parts[2], parts[3]), "iterations"),
            (&format!("pbkdf2-sha256:x:{}:{}", parts[2], parts[3]), "not a number"),
            (&format!("pbkdf2-sha256:5000:!!:{}", parts[3]), "salt"),
            (&format!("pbkdf2-sha256:5000:{}:AAAA", parts[2]), "32 bytes"),
        ] {
            let e = PasswordHash::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains(parts[3]), "errors never repeat the key");
        }
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let (a, b) = (generate_password().unwrap(), generate_password().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
