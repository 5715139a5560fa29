//! Authorization headers: `parse_header` never panics and round-trips Basic credentials; `authenticate`
//! against a configured user accepts exactly the credentials that decode to that user's name and password,
//! and refuses everything else with a 401 (never a 503, the configuration being good).
#![no_main]
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use edge_core::auth::password::{PasswordHash, MIN_ITERATIONS};
use edge_core::auth::{authenticate, parse_header, Access, AuthError};

const PASSWORD: &[u8] = b"s3cret";

fn access() -> &'static Access {
    static A: OnceLock<Access> = OnceLock::new();
    A.get_or_init(|| {
        let hash = PasswordHash::new(PASSWORD, b"fuzz salt", MIN_ITERATIONS);
        let users = format!(r#"{{"alice": {{"hash": "{hash}", "collections": "*"}}, "bob:x": null}}"#);
        assert!(Access::from_config(Some(&users), None, None, None).is_err(), "a bad user is refused");
        let users = format!(r#"{{"alice": {{"hash": "{hash}", "collections": "*"}}}}"#);
        Access::from_config(Some(&users), Some("All"), None, Some("fuzz")).expect("the fuzz users parse")
    })
}

fuzz_target!(|data: &[u8]| {
    let header = String::from_utf8_lossy(data);
    let parsed = parse_header(&header);
    if let Ok((user, pass)) = &parsed {
        assert!(!user.is_empty());
        let scheme = header.trim().split([' ', '\t']).next().unwrap_or_default().to_ascii_lowercase();
        if scheme == "basic" {
            let mut raw = user.as_bytes().to_vec();
            raw.push(b':');
            raw.extend_from_slice(pass);
            let again = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(&raw));
            if again.len() <= edge_core::auth::MAX_HEADER {
                assert_eq!(parse_header(&again).as_ref(), Ok(&(user.clone(), pass.clone())));
            }
        }
    }
    let access = access();
    match authenticate(access, Some(&header)) {
        Ok(viewer) => match viewer.name() {
            Some(name) => {
                let (u, p) = parsed.expect("an authenticated header parses");
                assert_eq!((name, u.as_str(), p.as_slice()), ("alice", "alice", PASSWORD), "{header:?}");
            }
            None => assert!(header.trim().is_empty(), "anonymous with a header: {header:?}"),
        },
        Err(e) => {
            assert_ne!(e, AuthError::Misconfigured);
            if let Ok((u, p)) = &parsed {
                assert!(!(u == "alice" && p == PASSWORD), "the right credentials refused: {header:?}");
            }
            assert_eq!(e.to_error(access).status, 401);
        }
    }
});
