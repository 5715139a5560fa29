//! Every crash the fuzz targets (fuzz/, docs/FUZZING.md) found, replayed natively with the exact input that
//! crashed, so that `cargo test` keeps each fix. A new crash gets a test here before its fix.

use edge_testkit as common;

use common::{call, feed_store};
use edge_core::auth::password::{PasswordHash, MIN_ITERATIONS};
use edge_core::auth::{authenticate, parse_header, Access, AuthError};
use edge_core::server::{Service, Settings};
use edge_core::taxii::Request;
use edge_feed::query::Query;
use edge_feed::users::hash_password;

/// `query`: a relative date `now` followed by a multi-byte character sliced the text inside the character
/// (fuzz/artifacts/query/crash-d724a4862b7be87bf4b0ba89bf1e1e72b288a615).
#[test]
fn query_now_followed_by_a_multibyte_character() {
    let input = b"\x01\x00\x00\x00\x00\x00\x00!ied:>=now\xcd\x9b";
    let text = std::str::from_utf8(input).unwrap();
    let e = Query::parse(text).unwrap_err();
    assert!(e.message.contains("date"), "{e}");
    for q in ["modified:>=now\u{35b}", "modified:>now€7d", "modified:<now-\u{e9}"] {
        assert!(Query::parse(q).is_err(), "{q}");
    }
    assert!(Query::parse("modified:>=now-7d").is_ok());
}

/// `service_request`: a path that does not start with `/` and starts with a multi-byte character was sliced
/// inside it (fuzz/artifacts/service_request/crash-7fb233c0261f047a261b81bdb1a71fa1a3f75652: bytes
/// `00 bc ba ff f7 ff …`, which the target decodes to method "", path "\u{FFFD}", no Accept).
#[test]
fn path_without_a_leading_slash() {
    let store = feed_store(r#"{"All": ""}"#, r#"{"value": "1.2.3.4", "indicator_type": "IP"}"#, "");
    let svc = Service::new(Settings::default());
    for (method, path) in [("", "\u{FFFD}"), ("GET", "\u{FFFD}"), ("GET", "é/collections/")] {
        let req = Request {
            method: method.into(),
            path: path.into(),
            origin: "https://feeds.example".into(),
            body: Some("\u{FFFD}".repeat(8).into_bytes()),
            ..Request::default()
        };
        let resp = call(&svc, &store, &req);
        assert!((400..500).contains(&resp.status), "{method} {path:?}: {}", resp.status);
    }
}

/// `service_request`: a HEAD whose answer is an early error (404 here, also 406) carried the error body
/// (fuzz/artifacts/service_request/crash-87f582335e1ac0034c64fb13d74dce647c143cf9: bytes `4e 01 50 55 54 ff …`,
/// decoded to HEAD /taxii/OST with an empty Authorization, an empty Accept and a query and body).
#[test]
fn head_of_an_early_error_has_no_body() {
    let store = feed_store(r#"{"All": ""}"#, r#"{"value": "1.2.3.4", "indicator_type": "IP"}"#, "");
    let svc = Service::new(Settings::default());
    let req = Request {
        method: "HEAD".into(),
        path: "/taxii/OST".into(),
        query: vec![("publisblobs/segment/0000000000000000000000000000000000000000".into(), String::new())],
        headers: vec![("authorization".into(), String::new()), ("accept".into(), String::new())],
        origin: "https://feeds.example".into(),
        body: Some(b"\xff[]\n".to_vec()),
    };
    let resp = call(&svc, &store, &req);
    assert_eq!(resp.status, 404);
    assert!(resp.body.is_empty(), "{}", String::from_utf8_lossy(&resp.body));
    for (path, accept) in [("/taxii2/", "text/html"), ("/api/status", ""), ("/nope", "")] {
        let req = Request { headers: vec![("accept".into(), accept.into())], path: path.into(), ..req.clone() };
        let resp = call(&svc, &store, &req);
        assert!(resp.body.is_empty(), "HEAD {path}: {} {}", resp.status, String::from_utf8_lossy(&resp.body));
    }
}

/// `auth_header`: a password followed by NULs verified as the password, because PBKDF2's HMAC pads its key with
/// zeros (fuzz/artifacts/auth_header/crash-58acae89f32a8494b7070020dc7bd9c513caa3f6). Control characters,
/// which RFC 7617 forbids in credentials, are now refused, and `user add` refuses them in a password.
#[test]
fn a_password_padded_with_nuls_is_refused() {
    let hash = PasswordHash::new(b"s3cret", b"fuzz salt", MIN_ITERATIONS);
    let users = format!(r#"{{"alice": {{"hash": "{hash}", "collections": "*"}}}}"#);
    let access = Access::from_config(Some(&users), Some("All"), None, Some("fuzz")).unwrap();
    let input = b"bearer alice.s3cret\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    let header = std::str::from_utf8(input).unwrap();
    assert!(matches!(authenticate(&access, Some(header)), Err(AuthError::Malformed(_))));
    assert!(authenticate(&access, Some("Bearer alice.s3cret")).unwrap().name() == Some("alice"));
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("alice:s3cret\0");
    assert!(matches!(parse_header(&format!("Basic {basic}")), Err(AuthError::Malformed(_))));
    assert!(matches!(parse_header("Bearer al\u{7}ice.s3cret"), Err(AuthError::Malformed(_))));
    assert!(hash_password("s3cret\0", MIN_ITERATIONS).is_err());
    assert!(hash_password("s3cret", MIN_ITERATIONS).is_ok());
}
