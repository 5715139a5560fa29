//! Failed sign-ins throttled through the service (issue 19, finding 3; the worker's tests, with the rate-limiting
//! binding and without, are in tests/worker/security.test.mjs): failures count per address and user, the right
//! password works until the limit, then everything for that key is a 429 with Retry-After until the period ends.

use base64::Engine;
use edge_core::auth::password::{PasswordHash, MIN_ITERATIONS};
use edge_core::auth::throttle::{Blocks, LocalCounter, Throttle, FAILURES, PERIOD_SECONDS};
use edge_core::auth::{upsert_user, Access, Grants};
use edge_core::server::{Prepared, Service, Settings};
use edge_core::snapshot::pointer::Pinned;
use edge_core::store::MemoryStore;
use edge_core::taxii::Request;
use edge_core::time::Timestamp;

fn request(user: &str, password: &str, address: &str) -> Request {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Request {
        method: "GET".into(),
        path: "/taxii2/".into(),
        headers: vec![
            ("authorization".into(), format!("Basic {basic}")),
            ("cf-connecting-ip".into(), address.into()),
            ("accept".into(), "application/taxii+json;version=2.1".into()),
        ],
        origin: "https://feeds.example".into(),
        ..Default::default()
    }
}

#[test]
fn failures_are_counted_per_address_and_user_and_then_refused() {
    let mut doc = serde_json::Map::new();
    for name in ["bob", "carol"] {
        let hash = PasswordHash::new(format!("{name}-pw").as_bytes(), b"0123456789abcdef", MIN_ITERATIONS);
        upsert_user(&mut doc, name, &hash, &Grants::All);
    }
    let access = Access::from_config(Some(&serde_json::Value::Object(doc).to_string()), None, None, None).unwrap();
    let svc = Service::new(Settings { access, ..Settings::default() });
    let store = MemoryStore::default();
    let (counter, blocks) = (LocalCounter::default(), Blocks::default());
    let throttle = Throttle { counter: &counter, blocks: &blocks };
    let at = |s: i64| Timestamp(1_000_000_000_000 + s * 1_000_000);
    let status = |req: &Request, now: Timestamp| -> (u16, Option<String>) {
        match pollster::block_on(svc.prepare_throttled(&Pinned::new(&store), req, now, Some(&throttle))) {
            Prepared::Answered(r) => (r.status, r.header("retry-after").map(str::to_string)),
            Prepared::Ready(_) => (200, None),
        }
    };
    for i in 0..FAILURES - 1 {
        assert_eq!(status(&request("bob", "wrong", "192.0.2.1"), at(0)).0, 401, "failure {}", i + 1);
    }
    assert_eq!(status(&request("bob", "bob-pw", "192.0.2.1"), at(1)).0, 200, "the right password before the limit");
    assert_eq!(status(&request("bob", "wrong", "192.0.2.1"), at(1)).0, 401, "the last failure allowed");
    assert_eq!(status(&request("bob", "wrong", "192.0.2.1"), at(2)), (429, Some(PERIOD_SECONDS.to_string())));
    assert_eq!(
        status(&request("bob", "bob-pw", "192.0.2.1"), at(32)),
        (429, Some("30".into())),
        "then even the right one"
    );
    assert_eq!(status(&request("bob", "bob-pw", "192.0.2.2"), at(32)).0, 200, "another address");
    assert_eq!(status(&request("carol", "carol-pw", "192.0.2.1"), at(32)).0, 200, "another user");
    assert_eq!(status(&request("bob", "bob-pw", "192.0.2.1"), at(62)).0, 200, "after the period");
    // Without a throttle (tools, native tests) nothing is counted.
    for _ in 0..FAILURES + 2 {
        assert_eq!(pollster::block_on(svc.handle(&store, &request("carol", "wrong", "x"), at(70))).status, 401);
    }
}
