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
//! - A wrong username costs the same work as a wrong password (a dummy hash is checked), and names and keys are
//!   compared in constant time. A successful check is remembered per isolate by a SHA-256 of the configuration
//!   and the header, so a client pays the hash once per isolate; failures are never remembered.
//! - With nothing configured the worker is closed: nobody may read anything (see [`Access::from_config`]).

pub mod password;

use crate::snapshot::CollectionEntry;
use crate::taxii::error::TaxiiError;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use password::{ct_eq, PasswordHash};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;

/// The longest Authorization header read: far above any real credentials, far below what hurts.
pub const MAX_HEADER: usize = 4096;

/// Successful verifications remembered per isolate before the memory is cleared.
const VERIFIED_MAX: usize = 1024;

/// The realm of the Basic challenge when none is configured.
pub const DEFAULT_REALM: &str = "taxii-edge";

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

    fn from_items<I: IntoIterator<Item = String>>(items: I) -> Self {
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
    name_digest: [u8; 32],
}

/// Who may read what: the deployment's access configuration.
#[derive(Clone, Debug)]
pub struct Access {
    users: Vec<User>,
    public: Grants,
    discovery_public: bool,
    realm: String,
    /// SHA-256 of the users configuration: keys the per-isolate memory of verified credentials.
    digest: [u8; 32],
    /// Checked for unknown usernames, so they cost what a wrong password costs.
    dummy: Option<PasswordHash>,
    /// The configuration could not be read: every request gets a 503 until it is fixed.
    broken: bool,
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
        let dummy = users.iter().map(|u| u.hash.iterations).max().map(|iterations| PasswordHash {
            iterations,
            salt: b"taxii-edge dummy salt".to_vec(),
            key: [0; 32],
        });
        let discovery_public = discovery.unwrap_or(!public.is_empty());
        Access { users, public, discovery_public, realm, digest, dummy, broken: false }
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
    ) -> Result<Self, String> {
        let users_text = users.map(str::trim).filter(|u| !u.is_empty());
        let list = match users_text {
            Some(t) => parse_users(t).map_err(|e| format!("TAXII_USERS: {e}"))?,
            None => vec![],
        };
        let public = match public_collections {
            Some(p) => Grants::parse(p).map_err(|e| format!("PUBLIC_COLLECTIONS: {e}"))?,
            None => Grants::none(),
        };
        let discovery = match public_discovery.map(|d| d.trim().to_ascii_lowercase()) {
            None => None,
            Some(d) if d.is_empty() => None,
            Some(d) => Some(match d.as_str() {
                "true" | "yes" | "1" | "on" => true,
                "false" | "no" | "0" | "off" => false,
                _ => return Err(format!("PUBLIC_DISCOVERY must be true or false, not {d:?}")),
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

    /// [`Access::from_config`], parsed once per isolate for the same inputs (the worker reads its settings on
    /// every request).
    pub fn from_config_memo(
        users: Option<&str>,
        public_collections: Option<&str>,
        public_discovery: Option<&str>,
        realm: Option<&str>,
    ) -> Result<Self, String> {
        type Key = [Option<String>; 4];
        thread_local! {
            static MEMO: RefCell<Option<(Key, Result<Access, String>)>> = const { RefCell::new(None) };
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

    /// The 401 that asks for credentials.
    pub fn challenge(&self, description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(401, "Unauthorized", description)
            .with_header("WWW-Authenticate", &format!("Basic realm=\"{}\", charset=\"UTF-8\"", self.realm))
    }

    /// The user named `name`, by a constant-time scan of every user.
    fn find(&self, name: &str) -> Option<&User> {
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

/// Who is asking, once the credentials are checked.
#[derive(Clone, Copy, Debug)]
pub struct Viewer<'a> {
    access: &'a Access,
    user: Option<&'a User>,
}

impl<'a> Viewer<'a> {
    /// A caller without credentials.
    pub fn anonymous(access: &'a Access) -> Self {
        Viewer { access, user: None }
    }

    /// The signed-in user's name.
    pub fn name(&self) -> Option<&'a str> {
        self.user.map(|u| u.name.as_str())
    }

    pub fn is_authenticated(&self) -> bool {
        self.user.is_some()
    }

    /// Whether the caller may read this collection (and so know that it exists).
    pub fn may_read(&self, c: &CollectionEntry) -> bool {
        self.access.public.covers(c) || self.user.is_some_and(|u| u.collections.covers(c))
    }

    /// Whether the caller may see discovery, the API root, the collections list and the status.
    pub fn may_see_server(&self) -> bool {
        self.user.is_some() || self.access.discovery_public
    }

    /// The answer for a collection this caller may not read, the same whether it exists or not: 404 for a
    /// signed-in caller; for an anonymous one, a 401 challenge (it may exist for someone who signs in), unless
    /// every collection is public, where it cannot exist.
    pub fn no_such_collection(&self, id: &str) -> TaxiiError {
        if self.user.is_none() && self.access.public != Grants::All {
            self.access.challenge(
                "this collection needs credentials: send your username and password (HTTP Basic), or list the \
                 collections you may read at the API root's collections/ endpoint",
            )
        } else {
            crate::taxii::resources::unknown_collection(id)
        }
    }

    /// The 401 for an anonymous caller on a server whose discovery is not public.
    pub fn sign_in_required(&self) -> TaxiiError {
        self.access.challenge("this server needs credentials: send your username and password (HTTP Basic)")
    }
}

/// Why credentials were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// The header could not be read as credentials: what was wrong.
    Malformed(String),
    /// A scheme other than Basic or Bearer.
    Unsupported(String),
    /// Well-formed credentials that match no user.
    Wrong,
    /// The access configuration could not be read.
    Misconfigured,
}

impl AuthError {
    /// The TAXII error to answer with: 401 with a Basic challenge, or 503 when the server is misconfigured.
    pub fn to_error(&self, access: &Access) -> TaxiiError {
        match self {
            AuthError::Malformed(why) => access.challenge(format!(
                "the Authorization header is not valid: {why}; send Basic base64(username:password)"
            )),
            AuthError::Unsupported(scheme) => access.challenge(format!(
                "the Authorization scheme {:?} is not supported: use Basic (or Bearer <username>.<password>)",
                crate::text::shown(scheme)
            )),
            AuthError::Wrong => access.challenge("the username or password is not valid"),
            AuthError::Misconfigured => TaxiiError::unavailable(
                "the server's access configuration cannot be read: its operator must fix the TAXII_USERS secret or \
                 the PUBLIC_COLLECTIONS and PUBLIC_DISCOVERY settings (the worker's log says what is wrong)",
            ),
        }
    }
}

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads the credentials of an Authorization header: `(username, password)`.
pub fn parse_header(header: &str) -> Result<(String, Vec<u8>), AuthError> {
    let malformed = |s: &str| AuthError::Malformed(s.to_string());
    if header.len() > MAX_HEADER {
        return Err(malformed("it is longer than 4096 bytes"));
    }
    let header = header.trim();
    let (scheme, rest) = header.split_once([' ', '\t']).unwrap_or((header, ""));
    let rest = rest.trim();
    let (user, pass) = credentials(scheme, rest)?;
    // RFC 7617 forbids control characters; a NUL would also pad the PBKDF2 (HMAC) key, so that `pw\0` would
    // verify as `pw`.
    if user.chars().chain(pass.chars()).any(char::is_control) {
        return Err(malformed("the credentials contain a control character"));
    }
    Ok((user, pass.into_bytes()))
}

fn credentials(scheme: &str, rest: &str) -> Result<(String, String), AuthError> {
    let malformed = |s: &str| AuthError::Malformed(s.to_string());
    if scheme.eq_ignore_ascii_case("basic") {
        if rest.is_empty() {
            return Err(malformed("Basic carries no credentials"));
        }
        let bytes = BASE64.decode(rest).map_err(|_| malformed("the Basic credentials are not base64"))?;
        let text = String::from_utf8(bytes).map_err(|_| malformed("the Basic credentials are not UTF-8"))?;
        let (user, pass) = text
            .split_once(':')
            .ok_or_else(|| malformed("the Basic credentials have no ':' between username and password"))?;
        if user.is_empty() {
            return Err(malformed("the username is empty"));
        }
        Ok((user.to_string(), pass.to_string()))
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let (user, pass) =
            rest.rsplit_once('.').ok_or_else(|| malformed("a Bearer API key has the form <username>.<password>"))?;
        if user.is_empty() {
            return Err(malformed("the username is empty"));
        }
        Ok((user.to_string(), pass.to_string()))
    } else {
        Err(AuthError::Unsupported(scheme.to_string()))
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

/// Checks the Authorization header: no header is an anonymous caller; valid credentials a user; anything else
/// an error to answer with 401 (or 503 when the configuration is broken).
pub fn authenticate<'a>(access: &'a Access, header: Option<&str>) -> Result<Viewer<'a>, AuthError> {
    if access.broken {
        return Err(AuthError::Misconfigured);
    }
    // With no users, no credentials can be valid: the header is ignored, as XSOAR ignores it when it has none
    // (a client configured with credentials keeps working against a public feed).
    let Some(header) = header.filter(|h| !h.trim().is_empty() && !access.users.is_empty()) else {
        return Ok(Viewer::anonymous(access));
    };
    let (name, pass) = parse_header(header)?;
    let key = memory_key(access, header);
    if let Some(i) = VERIFIED.with(|v| v.borrow().get(&key).copied()) {
        if let Some(user) = access.users.get(i) {
            return Ok(Viewer { access, user: Some(user) });
        }
    }
    let ok = match access.find(&name) {
        Some(user) => user.hash.verify(&pass).then_some(user),
        None => {
            if let Some(d) = &access.dummy {
                // Same work as a wrong password; the result is ignored.
                std::hint::black_box(d.verify(&pass));
            }
            None
        }
    };
    let user = ok.ok_or(AuthError::Wrong)?;
    let i = access.users.iter().position(|u| std::ptr::eq(u, user)).unwrap_or(0);
    VERIFIED.with(|v| {
        let mut v = v.borrow_mut();
        if v.len() >= VERIFIED_MAX {
            v.clear();
        }
        v.insert(key, i);
    });
    Ok(Viewer { access, user: Some(user) })
}

/// Adds or replaces a user in a users JSON document (the CLI's `user add`), keeping the others in order.
pub fn upsert_user(doc: &mut serde_json::Map<String, Value>, name: &str, hash: &PasswordHash, collections: &Grants) {
    let list = match collections {
        Grants::All => serde_json::json!("*"),
        Grants::Some(v) => serde_json::json!(v),
    };
    doc.insert(name.to_string(), serde_json::json!({ "hash": hash.to_string(), "collections": list }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, title: &str, alias: Option<&str>) -> CollectionEntry {
        CollectionEntry {
            id: id.into(),
            title: title.into(),
            description: String::new(),
            query: String::new(),
            alias: alias.map(str::to_string),
            count: 0,
            types: Default::default(),
            newest: None,
            index: String::new(),
        }
    }

    fn users_json(pairs: &[(&str, &str, &str)]) -> String {
        let mut doc = serde_json::Map::new();
        for (name, pass, cols) in pairs {
            upsert_user(
                &mut doc,
                name,
                &PasswordHash::new(pass.as_bytes(), b"saltsalt", 3),
                &Grants::parse(cols).unwrap(),
            );
        }
        Value::Object(doc).to_string()
    }

    fn basic(user: &str, pass: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
    }

    #[test]
    fn grants_match_by_id_title_or_alias() {
        let c = entry("id-1", "Title One", Some("one"));
        for g in ["id-1", "Title One", "one", "*", "x, one", r#"["Title One"]"#] {
            assert!(Grants::parse(g).unwrap().covers(&c), "{g}");
        }
        for g in ["", "title one", "id-2", "Title", r#"[]"#] {
            assert!(!Grants::parse(g).unwrap().covers(&c), "{g}");
        }
        assert!(Grants::parse("[1]").is_err());
    }

    #[test]
    fn users_and_public_collections() {
        let text = users_json(&[("alice", "pw-a", "A"), ("bob", "pw-b", "*")]);
        let access = Access::from_config(Some(&text), Some("P"), None, None).unwrap();
        let (a, b, p) = (entry("1", "A", None), entry("2", "B", None), entry("3", "P", None));
        let anon = authenticate(&access, None).unwrap();
        assert!(!anon.may_read(&a) && !anon.may_read(&b) && anon.may_read(&p));
        assert!(anon.may_see_server(), "discovery is public when a collection is");
        let alice = authenticate(&access, Some(&basic("alice", "pw-a"))).unwrap();
        assert_eq!(alice.name(), Some("alice"));
        assert!(alice.may_read(&a) && !alice.may_read(&b) && alice.may_read(&p));
        let bob = authenticate(&access, Some("Bearer bob.pw-b")).unwrap();
        assert!(bob.may_read(&a) && bob.may_read(&b));
        assert_eq!(authenticate(&access, Some(&basic("alice", "pw-b"))).unwrap_err(), AuthError::Wrong);
        assert_eq!(authenticate(&access, Some(&basic("carol", "pw-a"))).unwrap_err(), AuthError::Wrong);
        assert_eq!(authenticate(&access, Some("Bearer alice.pw-b")).unwrap_err(), AuthError::Wrong);
    }

    #[test]
    fn remembered_credentials_are_bound_to_the_configuration() {
        let old = users_json(&[("alice", "pw", "*")]);
        let access = Access::from_config(Some(&old), None, None, None).unwrap();
        assert!(authenticate(&access, Some(&basic("alice", "pw"))).is_ok());
        // The password changes: the remembered success of the old one must not carry over.
        let new = users_json(&[("alice", "other", "*")]);
        let access = Access::from_config(Some(&new), None, None, None).unwrap();
        assert_eq!(authenticate(&access, Some(&basic("alice", "pw"))).unwrap_err(), AuthError::Wrong);
        assert!(authenticate(&access, Some(&basic("alice", "other"))).is_ok());
    }

    #[test]
    fn credentials_are_ignored_without_users() {
        let access = Access::from_config(None, Some("*"), None, None).unwrap();
        for h in ["Basic !!!", "Bearer x.y", "Digest z", &basic("a", "b")] {
            let v = authenticate(&access, Some(h)).unwrap();
            assert!(!v.is_authenticated() && v.may_read(&entry("1", "A", None)), "{h}");
        }
    }

    #[test]
    fn defaults_are_closed() {
        let access = Access::from_config(None, None, None, None).unwrap();
        let anon = authenticate(&access, None).unwrap();
        assert!(!anon.may_see_server());
        assert!(!anon.may_read(&entry("1", "A", None)));
        let access = Access::from_config(None, Some("A"), Some("false"), None).unwrap();
        assert!(!authenticate(&access, None).unwrap().may_see_server());
        let access = Access::from_config(None, None, Some("yes"), None).unwrap();
        assert!(authenticate(&access, None).unwrap().may_see_server());
    }

    #[test]
    fn malformed_headers_are_explained() {
        let access = Access::from_config(Some(&users_json(&[("a", "b", "*")])), None, None, None).unwrap();
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        for (h, says) in [
            ("Basic !!!notbase64", "not base64".to_string()),
            (&format!("Basic {}", b64(b"nocolon")), "no ':'".to_string()),
            (&format!("Basic {}", b64(b"\xff\xfe:pw")), "not UTF-8".to_string()),
            (&format!("Basic {}", b64(b":pw")), "username is empty".to_string()),
            ("Basic", "no credentials".to_string()),
            ("Bearer nodot", "<username>.<password>".to_string()),
            (&format!("Basic {}", "A".repeat(5000)), "longer than 4096".to_string()),
        ] {
            match authenticate(&access, Some(h)) {
                Err(AuthError::Malformed(why)) => assert!(why.contains(&says), "{h}: {why}"),
                other => panic!("{h}: {other:?}"),
            }
        }
        assert_eq!(
            authenticate(&access, Some("Digest username=\"a\"")).unwrap_err(),
            AuthError::Unsupported("Digest".into())
        );
        // Unpadded base64 and a lower-case scheme are read.
        let unpadded = format!("basic {}", b64(b"a:b").trim_end_matches('='));
        assert!(authenticate(&access, Some(&unpadded)).is_ok());
    }

    #[test]
    fn bad_configurations_are_explained_without_hashes() {
        let good = users_json(&[("a", "b", "*")]);
        let hash = serde_json::from_str::<Value>(&good).unwrap()["a"]["hash"].as_str().unwrap().to_string();
        for (text, says) in [
            ("not json".to_string(), "not valid JSON"),
            ("[]".to_string(), "JSON object"),
            (format!(r#"{{"a": {{"hash": "{hash}"}}}}"#), "\"collections\" is missing"),
            (format!(r#"{{"a": {{"hash": "{hash}", "colections": "*"}}}}"#), "unknown field"),
            (format!(r#"{{"a:b": {{"hash": "{hash}", "collections": "*"}}}}"#), "cannot contain ':'"),
            (format!(r#"{{"a": {{"hash": "{hash}", "collections": 5}}}}"#), "must be a list"),
            (r#"{"a": {"hash": "secret", "collections": "*"}}"#.to_string(), "must look like"),
        ] {
            let e = Access::from_config(Some(&text), None, None, None).unwrap_err();
            assert!(e.starts_with("TAXII_USERS: ") && e.contains(says), "{text}: {e}");
            assert!(!e.contains(&hash) && !e.contains("secret"), "{e}");
        }
        assert!(Access::from_config(None, None, Some("maybe"), None).unwrap_err().contains("PUBLIC_DISCOVERY"));
    }

    #[test]
    fn the_realm_cannot_break_the_header() {
        let access = Access::from_config(None, None, None, Some("a\"b\\c\r\nd")).unwrap();
        let e = access.challenge("x");
        assert_eq!(e.headers[0].1, "Basic realm=\"abcd\", charset=\"UTF-8\"");
    }
}
