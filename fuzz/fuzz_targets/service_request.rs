//! Whole requests against a good snapshot: a fuzzed method, path, query string, Accept, Authorization, Range
//! and body, through the open service, a service with users, and the admin path (with its token, so that its
//! JSON bodies are parsed). Never a panic, never a 5xx (the snapshot is good), always a JSON answer with a
//! TAXII error resource for a TAXII path.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::sync::OnceLock;
use edge_core::auth::password::{PasswordHash, MIN_ITERATIONS};
use edge_core::auth::Access;
use edge_core::server::{Service, Settings};
use edge_core::store::MemoryStore;
use edge_core::taxii::Request;
use taxii_edge_fuzz::{call, check_response, parts, query_pairs};

const ADMIN: &str = "fuzz-admin-token";

struct Fixture {
    blobs: HashMap<String, Vec<u8>>,
    collection: String,
    settings: [Settings; 2],
    basic: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let built = taxii_edge_fuzz::built();
        let blobs = taxii_edge_fuzz::store_of(&built).blobs.borrow().clone();
        let hash = PasswordHash::new(b"pw", b"fuzz salt", MIN_ITERATIONS);
        let users = format!(r#"{{"alice": {{"hash": "{hash}", "collections": ["IPs"]}}}}"#);
        let closed = Settings {
            access: Access::from_config(Some(&users), Some("All"), Some("false"), None).unwrap(),
            admin_token: Some(ADMIN.into()),
            max_limit: 3,
            default_limit: 2,
            ..Settings::default()
        };
        let open = Settings { admin_token: Some(ADMIN.into()), ..Settings::default() };
        use base64::Engine;
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice:pw"));
        Fixture { blobs, collection: built.manifest.collections[1].id.clone(), settings: [open, closed], basic }
    })
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", ""];

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let [sel, rest @ ..] = data else { return };
    let p = parts(rest, 7);
    let prefixes = [
        String::new(),
        "/threatintel/".into(),
        format!("/threatintel/collections/{}/", f.collection),
        format!("/threatintel/collections/{}/objects/", f.collection),
        "/taxii2/".into(),
        "/admin/".into(),
        "/taxii/".into(),
        format!("/threatintel/collections/{}/manifest/", f.collection),
    ];
    let path = format!("{}{}", prefixes[usize::from(sel & 7)], p[1]);
    let auth = match (sel >> 3) & 3 {
        0 => None,
        1 => Some(p[4].clone()),
        2 => Some(f.basic.clone()),
        _ => Some(format!("Bearer {ADMIN}")),
    };
    let mut headers = vec![("accept".to_string(), p[3].clone())];
    if let Some(a) = auth {
        headers.push(("authorization".into(), a));
    }
    if !p[5].is_empty() {
        headers.push(("range".into(), p[5].clone()));
    }
    let method = METHODS[usize::from(p[0].bytes().next().unwrap_or(0)) % METHODS.len()];
    let req = Request {
        method: method.into(),
        path,
        query: query_pairs(&p[2]),
        headers,
        origin: "https://feeds.example".into(),
        body: (!p[6].is_empty()).then(|| p[6].as_bytes().to_vec()),
    };
    let store = MemoryStore { blobs: std::cell::RefCell::new(f.blobs.clone()), ..MemoryStore::default() };
    let svc = Service::new(f.settings[usize::from(sel >> 5) & 1].clone());
    let resp = call(&svc, &store, &req);
    check_response(&req, &resp, true);
    assert!(resp.status < 500, "{} for {req:?}: {}", resp.status, String::from_utf8_lossy(&resp.body));
});
