//! The users of the `TAXII_USERS` secret and the collections they are granted: parsing the JSON document (with
//! errors that name the user and say what to fix, never quoting a hash), checking usernames, and adding a user
//! to the document (the CLI's `user add`).

use super::password::{PasswordError, PasswordHash};
use crate::snapshot::CollectionEntry;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What is wrong with a users document, a username or a list of collections; the message says what to fix and
/// never quotes a hash.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsersError {
    /// The document is not JSON (only the position is kept: serde's message could quote a hash).
    #[error(
        "not valid JSON (line {line}, column {column}): expected {{\"<username>\": {{\"hash\": \"pbkdf2-sha256:…\", \"collections\": [\"…\"]}}}}"
    )]
    NotJson { line: usize, column: usize },
    /// The document is JSON but not an object.
    #[error("must be a JSON object of username → {{\"hash\": …, \"collections\": …}}")]
    NotObject,
    /// Something is wrong with one user; `name` is the username as shown (at most 100 characters).
    #[error("user {name:?}: {problem}")]
    User { name: String, problem: Box<UsersError> },
    /// A user's entry is not an object.
    #[error("expected {{\"hash\": \"pbkdf2-sha256:…\", \"collections\": […]}}")]
    EntryNotObject,
    /// A user's entry has a field other than hash, collections and comment.
    #[error("unknown field {0:?} (the fields are hash, collections and comment)")]
    UnknownField(String),
    /// A user's entry has no `hash` string.
    #[error("\"hash\" is missing: make one with `taxii-edge user add`")]
    HashMissing,
    /// A user's hash does not parse.
    #[error("{0}")]
    Hash(#[from] PasswordError),
    /// A user's entry has no `collections`.
    #[error("\"collections\" is missing: list what the user may read, or \"*\"")]
    CollectionsMissing,
    /// A user's `collections` is a list with something other than strings.
    #[error("\"collections\" must list strings (ids, titles or aliases) or be \"*\"")]
    CollectionsNotStrings,
    /// A user's `collections` is neither a string nor a list.
    #[error("\"collections\" must be a list of ids, titles or aliases, or \"*\"")]
    CollectionsNotList,
    /// A JSON list of collections (e.g. `PUBLIC_COLLECTIONS`, `--collections`) holds something other than strings.
    #[error("a JSON list of collections must hold only strings (ids, titles or aliases)")]
    GrantsNotStrings,
    /// The username is empty.
    #[error("the username is empty")]
    NameEmpty,
    /// The username is over 128 bytes.
    #[error("the username is longer than 128 bytes")]
    NameTooLong,
    /// The username holds a `:` or a control character.
    #[error("a username cannot contain ':' or control characters (HTTP Basic cannot carry them)")]
    NameUnsendable,
}

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
    pub fn parse(text: &str) -> Result<Self, UsersError> {
        let t = text.trim();
        if t.starts_with('[') {
            let list: Vec<String> = serde_json::from_str(t).map_err(|_| UsersError::GrantsNotStrings)?;
            return Ok(Self::from_items(list));
        }
        Ok(Self::from_items(t.split(',').map(str::to_string)))
    }

    fn from_json(v: &Value) -> Result<Self, UsersError> {
        match v {
            Value::String(s) => Ok(Self::from_items(s.split(',').map(str::to_string))),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string).ok_or(()))
                .collect::<Result<Vec<_>, ()>>()
                .map(Self::from_items)
                .map_err(|_| UsersError::CollectionsNotStrings),
            _ => Err(UsersError::CollectionsNotList),
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
pub fn parse_users(text: &str) -> Result<Vec<User>, UsersError> {
    // The serde error is not shown: it could quote a hash.
    let doc: Value =
        serde_json::from_str(text).map_err(|e| UsersError::NotJson { line: e.line(), column: e.column() })?;
    let Value::Object(map) = doc else {
        return Err(UsersError::NotObject);
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, entry) in map {
        let (hash, collections) = parse_entry(&name, entry)
            .map_err(|problem| UsersError::User { name: crate::text::shown(&name), problem: Box::new(problem) })?;
        let name_digest = Sha256::digest(name.as_bytes()).into();
        out.push(User { name, hash, collections, name_digest });
    }
    Ok(out)
}

/// One user's name and entry: its hash and grants.
fn parse_entry(name: &str, entry: Value) -> Result<(PasswordHash, Grants), UsersError> {
    check_username(name)?;
    let Value::Object(fields) = entry else {
        return Err(UsersError::EntryNotObject);
    };
    if let Some(k) = fields.keys().find(|k| !matches!(k.as_str(), "hash" | "collections" | "comment")) {
        return Err(UsersError::UnknownField(k.clone()));
    }
    let hash = match fields.get("hash") {
        Some(Value::String(h)) => PasswordHash::parse(h)?,
        _ => return Err(UsersError::HashMissing),
    };
    let collections = match fields.get("collections") {
        Some(v) => Grants::from_json(v)?,
        None => return Err(UsersError::CollectionsMissing),
    };
    Ok((hash, collections))
}

/// Usernames are what HTTP Basic can carry: 1 to 128 bytes, no `:` and no control characters.
pub fn check_username(name: &str) -> Result<(), UsersError> {
    if name.is_empty() {
        return Err(UsersError::NameEmpty);
    }
    if name.len() > 128 {
        return Err(UsersError::NameTooLong);
    }
    if name.contains(':') || name.chars().any(char::is_control) {
        return Err(UsersError::NameUnsendable);
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
