//! Editing the users JSON that becomes the `TAXII_USERS` secret (the CLI's `taxii-edge user`): native only.
//!
//! The file holds only salted hashes, never a password; a Worker secret cannot be read back, so the operator
//! keeps this file (outside the repository) and sets it again after each change.

use super::password::{generate_password, hash_password};
use super::{check_username, parse_users, upsert_user, Grants};
use serde_json::{Map, Value};

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
pub fn load(text: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    parse_users(text)?;
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err("the users file must be a JSON object".into()),
    }
}

/// Adds `name` (or gives it a new password and collections) to the document `text`.
pub fn add(
    text: &str,
    name: &str,
    collections: &str,
    password: Option<String>,
    iterations: u32,
) -> Result<Added, String> {
    check_username(name)?;
    let grants = Grants::parse(collections).map_err(|e| format!("--collections: {e}"))?;
    if grants.is_empty() {
        return Err("--collections names no collection: list ids, titles or aliases, or \"*\" for all".into());
    }
    let mut doc = load(text)?;
    let (password, generated) = match password {
        Some(p) if p.is_empty() => return Err("the password is empty".into()),
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
pub fn remove(text: &str, name: &str) -> Result<String, String> {
    let mut doc = load(text)?;
    if doc.shift_remove(name).is_none() {
        return Err(format!("there is no user {name:?} in the users file"));
    }
    Ok(Value::Object(doc).to_string())
}

/// One line per user: name, what it may read, iterations.
pub fn list(text: &str) -> Result<Vec<String>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{authenticate, Access};
    use base64::Engine;

    #[test]
    fn add_list_remove_and_the_worker_accepts_the_result() {
        let a = add("", "sentinel", "Public, Internal", None, 10).unwrap();
        assert!(a.generated && !a.replaced && a.password.len() == 32);
        assert!(!a.document.contains(&a.password), "only the hash is stored");
        let b = add(&a.document, "xsoar", "*", Some("kept from xsoar".into()), 10).unwrap();
        assert!(!b.generated);
        let c = add(&b.document, "sentinel", "Internal", None, 10).unwrap();
        assert!(c.replaced);
        assert_eq!(
            list(&c.document).unwrap(),
            [
                "sentinel                 reads Internal (10 iterations)",
                "xsoar                    reads every collection (10 iterations)"
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
        assert!(remove(&d, "sentinel").unwrap_err().contains("no user"));
        assert!(add("", "a:b", "*", None, 10).is_err());
        assert!(add("", "a", " , ", None, 10).err().unwrap().contains("names no collection"));
        assert!(add("not json", "a", "*", None, 10).err().unwrap().contains("not valid JSON"));
    }
}
