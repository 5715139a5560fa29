//! The users of the `TAXII_USERS` secret and the collections they are granted: parsing the JSON document (with
//! errors that name the user and say what to fix, never quoting a hash), checking usernames, and adding a user
//! to the document (the CLI's `user add`).

use super::password::PasswordHash;
use crate::snapshot::CollectionEntry;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Collections named by id, title or alias, or all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grants {
    All,
    Some(Vec<String>),
}

impl Grants {
    /// No collection.
    pub fn none() -> Self {
        Grants::Some(vec![])
    }

    pub(super) fn from_items<I: IntoIterator<Item = String>>(items: I) -> Self {
        let items: Vec<String> = items.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if items.iter().any(|s| s == "*") {
            Grants::All
        } else {
            Grants::Some(items)
        }
    }

    /// `*`, a comma list, or a JSON list of strings.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.starts_with('[') {
            let list: Vec<String> = serde_json::from_str(t).map_err(|_| {
                "a JSON list of collections must hold only strings (ids, titles or aliases)".to_string()
            })?;
            return Ok(Self::from_items(list));
        }
        Ok(Self::from_items(t.split(',').map(str::to_string)))
    }

    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::String(s) => Ok(Self::from_items(s.split(',').map(str::to_string))),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string).ok_or(()))
                .collect::<Result<Vec<_>, ()>>()
                .map(Self::from_items)
                .map_err(|_| "\"collections\" must list strings (ids, titles or aliases) or be \"*\"".to_string()),
            _ => Err("\"collections\" must be a list of ids, titles or aliases, or \"*\"".into()),
        }
    }

    /// Whether the grants name this collection (by id, title or alias).
    pub fn covers(&self, c: &CollectionEntry) -> bool {
        match self {
            Grants::All => true,
            Grants::Some(refs) => refs.iter().any(|r| *r == c.id || *r == c.title || c.alias.as_deref() == Some(r)),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Grants::Some(v) if v.is_empty())
    }
}

/// One user of the `TAXII_USERS` secret.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub hash: PasswordHash,
    pub collections: Grants,
    /// SHA-256 of the name, compared in constant time.
    pub(super) name_digest: [u8; 32],
}

/// Parses the users JSON; the error names the user and says what to fix.
pub fn parse_users(text: &str) -> Result<Vec<User>, String> {
    // The serde error is not shown: it could quote a hash.
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "not valid JSON (line {}, column {}): expected {{\"<username>\": {{\"hash\": \"pbkdf2-sha256:…\", \"collections\": [\"…\"]}}}}",
            e.line(),
            e.column()
        )
    })?;
    let Value::Object(map) = doc else {
        return Err("must be a JSON object of username → {\"hash\": …, \"collections\": …}".into());
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, entry) in map {
        let who = format!("user {:?}", crate::text::shown(&name));
        check_username(&name).map_err(|e| format!("{who}: {e}"))?;
        let Value::Object(fields) = entry else {
            return Err(format!("{who}: expected {{\"hash\": \"pbkdf2-sha256:…\", \"collections\": […]}}"));
        };
        if let Some(k) = fields.keys().find(|k| !matches!(k.as_str(), "hash" | "collections" | "comment")) {
            return Err(format!("{who}: unknown field {k:?} (the fields are hash, collections and comment)"));
        }
        let hash = match fields.get("hash") {
            Some(Value::String(h)) => PasswordHash::parse(h).map_err(|e| format!("{who}: {e}"))?,
            _ => return Err(format!("{who}: \"hash\" is missing: make one with `taxii-edge user add`")),
        };
        let collections = match fields.get("collections") {
            Some(v) => Grants::from_json(v).map_err(|e| format!("{who}: {e}"))?,
            None => return Err(format!("{who}: \"collections\" is missing: list what the user may read, or \"*\"")),
        };
        let name_digest = Sha256::digest(name.as_bytes()).into();
        out.push(User { name, hash, collections, name_digest });
    }
    Ok(out)
}

/// Usernames are what HTTP Basic can carry: 1 to 128 bytes, no `:` and no control characters.
pub fn check_username(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the username is empty".into());
    }
    if name.len() > 128 {
        return Err("the username is longer than 128 bytes".into());
    }
    if name.contains(':') || name.chars().any(char::is_control) {
        return Err("a username cannot contain ':' or control characters (HTTP Basic cannot carry them)".into());
    }
    Ok(())
}

/// Adds or replaces a user in a users JSON document (the CLI's `user add`), keeping the others in order.
pub fn upsert_user(doc: &mut serde_json::Map<String, Value>, name: &str, hash: &PasswordHash, collections: &Grants) {
    let list = match collections {
        Grants::All => serde_json::json!("*"),
        Grants::Some(v) => serde_json::json!(v),
    };
    doc.insert(name.to_string(), serde_json::json!({ "hash": hash.to_string(), "collections": list }));
}
