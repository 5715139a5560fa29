//! The access rules, end to end over [`authenticate`] and [`Access::from_config`].

use super::password::{PasswordHash, MIN_ITERATIONS};
use super::*;
use crate::snapshot::CollectionEntry;
use base64::Engine;
use serde_json::Value;

fn entry(id: &str, title: &str, alias: Option<&str>) -> CollectionEntry {
    CollectionEntry {
        id: id.into(),
        title: title.into(),
        description: String::new(),
        query: String::new(),
        alias: alias.map(str::to_string),
        count: 0,
        types: Default::default(),
        profile: None,
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
            &PasswordHash::new(pass.as_bytes(), b"saltsalt", MIN_ITERATIONS),
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
    assert_eq!(authenticate(&access, Some("Digest username=\"a\"")).unwrap_err(), AuthError::Unsupported);
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
        let e = Access::from_config(Some(&text), None, None, None).unwrap_err().to_string();
        assert!(e.starts_with("TAXII_USERS: ") && e.contains(says), "{text}: {e}");
        assert!(!e.contains(&hash) && !e.contains("secret"), "{e}");
    }
    assert!(Access::from_config(None, None, Some("maybe"), None).unwrap_err().to_string().contains("PUBLIC_DISCOVERY"));
}
