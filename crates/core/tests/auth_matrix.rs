//! Authentication and access control over the real service: users × collections × endpoints over TAXII 2.1
//! and 2.0, malformed credentials, caching headers, closed and public servers, and the admin path refusing
//! readers. Natively, over an in-memory store holding a real built snapshot.

use edge_testkit as common;

use base64::Engine;
use common::json;
use edge_core::auth::password::{PasswordHash, MIN_ITERATIONS};
use edge_core::auth::{upsert_user, Access, Grants};
use edge_core::server::{Service, Settings};
use edge_core::store::MemoryStore;
use edge_core::taxii::Response;
use edge_feed::config::parse_collections;
use edge_feed::stix::ids;
use serde_json::Value;
use std::collections::HashMap;

use common::{V20, V21};
const MISSING: &str = "00000000-0000-5000-8000-000000000000";
const ADMIN_TOKEN: &str = "admin-token-for-tests-0123456789";

/// The three collections of the test feed: one public, one for partners, one internal.
const COLLECTIONS: &str = r#"{"Public IPs": "type:IP", "Partner Domains": "type:Domain", "Internal URLs": "type:URL"}"#;

struct Feed {
    store: MemoryStore,
    /// title → (collection id, an object id in it)
    cols: HashMap<String, (String, String)>,
}

fn feed() -> Feed {
    let rows: Vec<String> = (0..4)
        .flat_map(|i| {
            [
                format!(r#"{{"value":"10.0.0.{i}","indicator_type":"IP","score":2,"modified":"2024-02-01T00:00:0{i}Z"}}"#),
                format!(r#"{{"value":"d{i}.example","indicator_type":"Domain","score":3,"modified":"2024-02-01T00:00:1{i}Z"}}"#),
                format!(r#"{{"value":"https://u{i}.example/x","indicator_type":"URL","score":3,"modified":"2024-02-01T00:00:2{i}Z"}}"#),
            ]
        })
        .collect();
    // No producer identity (feed_store): it is in every collection, so it is no collection's secret.
    let store = common::feed_store(COLLECTIONS, &rows.join("\n"), "auth-test");
    let mut feed = Feed { store, cols: HashMap::new() };
    let namespace = ids::namespace_for("auth-test");
    for c in parse_collections(COLLECTIONS).unwrap() {
        let (title, id) = (c.name.clone(), ids::collection_id(&namespace, &c.name));
        // An object id of the collection, from its manifest, read with open access.
        let svc = Service::new(Settings::default());
        let r = call(&svc, &feed.store, "GET", &format!("/threatintel/collections/{id}/manifest/"), Some(V21), None);
        assert_eq!(r.status, 200, "{title}");
        let object = json(&r)["objects"][0]["id"].as_str().unwrap().to_string();
        feed.cols.insert(title, (id, object));
    }
    assert_eq!(feed.cols.len(), 3);
    feed
}

/// The users: a partner (by title), an analyst ("*"), and Sentinel (by collection id, using a Bearer key).
fn users_json(feed: &Feed) -> String {
    let mut doc = serde_json::Map::new();
    let internal_id = &feed.cols["Internal URLs"].0;
    for (name, pass, cols) in [
        ("partner", "partner-pw", "Partner Domains".to_string()),
        ("analyst", "analyst:pw with colon", "*".to_string()),
        ("sentinel", "sentinel-pw", internal_id.clone()),
    ] {
        upsert_user(
            &mut doc,
            name,
            &PasswordHash::new(pass.as_bytes(), b"0123456789abcdef", MIN_ITERATIONS),
            &Grants::parse(&cols).unwrap(),
        );
    }
    Value::Object(doc).to_string()
}

fn service(feed: &Feed, public: Option<&str>, discovery: Option<&str>, admin: bool) -> Service {
    let access = Access::from_config(Some(&users_json(feed)), public, discovery, Some("feeds")).unwrap();
    Service::new(Settings { access, admin_token: admin.then(|| ADMIN_TOKEN.to_string()), ..Settings::default() })
}

fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
}

fn call(
    svc: &Service,
    store: &MemoryStore,
    method: &str,
    path: &str,
    accept: Option<&str>,
    auth: Option<&str>,
) -> Response {
    call_q(svc, store, method, path, &[], accept, auth)
}

fn call_q(
    svc: &Service,
    store: &MemoryStore,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    accept: Option<&str>,
    auth: Option<&str>,
) -> Response {
    let mut headers = vec![];
    if let Some(a) = accept {
        headers.push(("accept", a));
    }
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    common::call(svc, store, &common::request(method, path, query, &headers))
}

fn text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// Who asks, with what header, and which collections it may read.
fn viewers() -> Vec<(&'static str, Option<String>, Vec<&'static str>)> {
    vec![
        ("anonymous", None, vec!["Public IPs"]),
        ("partner", Some(basic("partner", "partner-pw")), vec!["Public IPs", "Partner Domains"]),
        (
            "analyst",
            Some(basic("analyst", "analyst:pw with colon")),
            vec!["Public IPs", "Partner Domains", "Internal URLs"],
        ),
        ("sentinel (Bearer)", Some("Bearer sentinel.sentinel-pw".into()), vec!["Public IPs", "Internal URLs"]),
    ]
}

fn endpoints(id: &str, object: &str) -> Vec<(&'static str, String)> {
    let c = format!("/threatintel/collections/{id}");
    vec![
        ("collection", format!("{c}/")),
        ("manifest", format!("{c}/manifest/")),
        ("objects", format!("{c}/objects/")),
        ("object", format!("{c}/objects/{object}/")),
        ("versions", format!("{c}/objects/{object}/versions/")),
    ]
}

/// Checks that a response says nothing of the collections `hidden` (their ids, titles and objects).
fn reveals_nothing(r: &Response, feed: &Feed, hidden: &[&str], asked: &str, what: &str) {
    let body = text(r);
    let headers = format!("{:?}", r.headers);
    for title in hidden {
        let (id, object) = &feed.cols[*title];
        for secret in [title, id.as_str(), object.as_str()] {
            if secret == asked || asked.contains(secret) {
                continue; // the caller's own words may be echoed back
            }
            assert!(!body.contains(secret) && !headers.contains(secret), "{what}: reveals {secret:?}: {body}");
        }
    }
}

#[test]
fn matrix_of_users_collections_and_endpoints() {
    let feed = feed();
    let svc = service(&feed, Some("Public IPs"), None, false);
    let mut checked = 0;
    for (who, auth, readable) in viewers() {
        let hidden: Vec<&str> =
            ["Public IPs", "Partner Domains", "Internal URLs"].into_iter().filter(|t| !readable.contains(t)).collect();
        for (accept, version) in [(V21, "2.1"), (V20, "2.0")] {
            // The list and the console's status show exactly the readable collections.
            let r = call(&svc, &feed.store, "GET", "/threatintel/collections/", Some(accept), auth.as_deref());
            assert_eq!(r.status, 200, "{who} {version} list");
            let mut listed: Vec<String> = json(&r)["collections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["title"].as_str().unwrap().to_string())
                .collect();
            listed.sort();
            let mut want: Vec<String> = readable.iter().map(|s| s.to_string()).collect();
            want.sort();
            assert_eq!(listed, want, "{who} {version} list");
            reveals_nothing(&r, &feed, &hidden, "", &format!("{who} list"));
            let r = call(&svc, &feed.store, "GET", "/api/status", None, auth.as_deref());
            assert_eq!(r.status, 200);
            assert_eq!(json(&r)["collections"].as_array().unwrap().len(), readable.len(), "{who} status");
            reveals_nothing(&r, &feed, &hidden, "", &format!("{who} status"));

            let mut targets: Vec<(&str, String, String)> =
                feed.cols.iter().map(|(t, (id, o))| (t.as_str(), id.clone(), o.clone())).collect();
            // A collection that does not exist, with a real object id in its path.
            targets.push(("(missing)", MISSING.to_string(), feed.cols["Public IPs"].1.clone()));
            for (title, id, object) in targets {
                let may = readable.contains(&title);
                for (endpoint, path) in endpoints(&id, &object) {
                    let what = format!("{who} {version} {endpoint} of {title}");
                    let r = call(&svc, &feed.store, "GET", &path, Some(accept), auth.as_deref());
                    let want = match (may, auth.is_some()) {
                        (true, _) => 200,
                        (false, true) => 404,
                        (false, false) => 401,
                    };
                    assert_eq!(r.status, want, "{what}: {}", text(&r));
                    let ct = r.header("content-type").unwrap();
                    if r.status != 200 {
                        assert_eq!(ct, accept, "{what}: errors carry the negotiated TAXII type");
                        let e = json(&r);
                        assert_eq!(e["http_status"], want.to_string(), "{what}");
                    } else {
                        assert!(ct.contains(&format!("version={version}")), "{what}: {ct}");
                    }
                    if r.status == 401 {
                        assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"feeds\", charset=\"UTF-8\""));
                    }
                    reveals_nothing(&r, &feed, &hidden, &path, &what);
                    // A hidden collection answers exactly like one that does not exist.
                    if !may {
                        let twin =
                            call(&svc, &feed.store, "GET", &path.replace(&id, MISSING), Some(accept), auth.as_deref());
                        assert_eq!(
                            (r.status, text(&r).replace(&id, MISSING), &r.headers),
                            (twin.status, text(&twin), &twin.headers),
                            "{what}: differs from a missing collection"
                        );
                    }
                    // Writes: refused as read-only where readable, hidden elsewhere.
                    if endpoint == "objects" {
                        let w = call(&svc, &feed.store, "POST", &path, Some(accept), auth.as_deref());
                        assert_eq!(w.status, if may { 403 } else { want }, "{what} POST");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 4 * 2 * 4 * 5);
}

#[test]
fn caching_never_shares_a_callers_answer() {
    let feed = feed();
    let svc = service(&feed, Some("Public IPs"), None, false);
    let public = format!("/threatintel/collections/{}/objects/", feed.cols["Public IPs"].0);
    let r = call(&svc, &feed.store, "GET", &public, Some(V21), None);
    assert_eq!(r.status, 200);
    assert!(!r.header("cache-control").unwrap_or_default().contains("private"), "public answers may be cached");
    assert!(r.header("vary").unwrap().contains("Authorization"));
    let r = call(&svc, &feed.store, "GET", &public, Some(V21), Some(&basic("partner", "partner-pw")));
    assert_eq!((r.status, r.header("cache-control")), (200, Some("private, no-store")));
    assert!(r.header("vary").unwrap().contains("Authorization"));
    let r = call(&svc, &feed.store, "GET", "/api/status", None, Some(&basic("partner", "partner-pw")));
    let cc: Vec<&str> =
        r.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("cache-control")).map(|(_, v)| v.as_str()).collect();
    assert_eq!(cc, ["private, no-store"], "one Cache-Control header");
    for auth in [None, Some(basic("partner", "wrong"))] {
        let r = call(&svc, &feed.store, "GET", "/threatintel/collections/x/", Some(V21), auth.as_deref());
        assert_eq!((r.status, r.header("cache-control")), (401, Some("private, no-store")));
    }
}

#[test]
fn wrong_and_malformed_credentials_get_401_everywhere() {
    let feed = feed();
    let svc = service(&feed, Some("Public IPs"), None, false);
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let public = format!("/threatintel/collections/{}/objects/", feed.cols["Public IPs"].0);
    let cases: Vec<(String, &str)> = vec![
        (basic("partner", "wrong"), "not valid"),
        (basic("partner", ""), "not valid"),
        (basic("nobody", "partner-pw"), "not valid"),
        (basic("Partner", "partner-pw"), "not valid"),
        (basic("analyst", "analyst"), "not valid"),
        ("Bearer sentinel.wrong".into(), "not valid"),
        ("Bearer sentinel-pw".into(), "<username>.<password>"),
        ("Basic %%%".into(), "not base64"),
        (format!("Basic {}", b64(b"partner")), "no ':'"),
        (format!("Basic {}", b64(b"partner:\xff\xfe")), "not UTF-8"),
        (format!("Basic {}", b64(b":partner-pw")), "username is empty"),
        (format!("Basic {}", "QUFB".repeat(2000)), "longer than 4096"),
        ("Digest username=\"partner\"".into(), "not supported"),
        (ADMIN_TOKEN.into(), "not supported"),
        (format!("Bearer {ADMIN_TOKEN}"), "<username>.<password>"),
    ];
    for (header, says) in &cases {
        for (path, accept, ct) in [
            ("/taxii2/", Some(V21), V21),
            ("/taxii/", None, V20),
            ("/threatintel/", Some(V20), V20),
            ("/threatintel/collections/", Some(V21), V21),
            (public.as_str(), Some(V21), V21),
            (public.as_str(), Some(V20), V20),
            ("/api/status", None, V21),
            ("/nowhere", Some(V21), V21),
        ] {
            let r = call(&svc, &feed.store, "GET", path, accept, Some(header));
            assert_eq!(r.status, 401, "{header:.60} on {path}: {}", text(&r));
            assert_eq!(r.header("content-type"), Some(ct), "{header:.60} on {path}");
            assert!(r.header("www-authenticate").unwrap().starts_with("Basic realm=\"feeds\""));
            let e = json(&r);
            assert_eq!(e["http_status"], "401");
            assert!(e["description"].as_str().unwrap().contains(says), "{header:.60}: {e}");
            assert!(!text(&r).contains("partner-pw"));
        }
        let head = call(&svc, &feed.store, "HEAD", &public, Some(V21), Some(header));
        assert_eq!((head.status, head.body.len()), (401, 0));
    }
    // A wrong username and a wrong password read the same.
    let a = call(&svc, &feed.store, "GET", &public, Some(V21), Some(&basic("nobody", "x")));
    let b = call(&svc, &feed.store, "GET", &public, Some(V21), Some(&basic("partner", "x")));
    assert_eq!((a.status, &a.headers, &a.body), (b.status, &b.headers, &b.body));
}

#[test]
fn discovery_is_public_exactly_when_a_collection_is_or_as_set() {
    let feed = feed();
    let analyst = basic("analyst", "analyst:pw with colon");
    let public_id = feed.cols["Public IPs"].0.clone();
    let objects = format!("/threatintel/collections/{public_id}/objects/");
    // (PUBLIC_COLLECTIONS, PUBLIC_DISCOVERY) → anonymous discovery status, anonymous public objects status
    for (public, discovery, want_discovery, want_objects) in [
        (None, None, 401, 401),
        (Some("Public IPs"), None, 200, 200),
        (Some("Public IPs"), Some("false"), 401, 200),
        (None, Some("true"), 200, 401),
        (Some("*"), None, 200, 200),
    ] {
        let svc = service(&feed, public, discovery, false);
        for path in ["/taxii2/", "/taxii/", "/threatintel/", "/threatintel/collections/", "/api/status", "/nowhere"] {
            let r = call(&svc, &feed.store, "GET", path, None, None);
            let want = if path == "/nowhere" && want_discovery == 200 { 404 } else { want_discovery };
            assert_eq!(r.status, want, "{public:?} {discovery:?} {path}");
            // Signed-in callers always see the server.
            let r = call(&svc, &feed.store, "GET", path, None, Some(&analyst));
            assert_eq!(r.status, if path == "/nowhere" { 404 } else { 200 }, "{public:?} {discovery:?} {path}");
        }
        let r = call(&svc, &feed.store, "GET", &objects, Some(V21), None);
        assert_eq!(r.status, want_objects, "{public:?} {discovery:?} objects");
    }
    // Everything public: a collection that does not exist is a 404, not a challenge.
    let svc = service(&feed, Some("*"), None, false);
    let r = call(&svc, &feed.store, "GET", &format!("/threatintel/collections/{MISSING}/"), Some(V21), None);
    assert_eq!(r.status, 404);
    let r = call(&svc, &feed.store, "GET", "/threatintel/collections/", Some(V21), None);
    assert_eq!(json(&r)["collections"].as_array().unwrap().len(), 3);
}

#[test]
fn a_closed_server_with_no_configuration() {
    let feed = feed();
    let svc =
        Service::new(Settings { access: Access::from_config(None, None, None, None).unwrap(), ..Settings::default() });
    for path in [
        "/taxii2/",
        "/threatintel/collections/",
        &format!("/threatintel/collections/{}/objects/", feed.cols["Public IPs"].0),
    ] {
        let r = call(&svc, &feed.store, "GET", path, Some(V21), None);
        assert_eq!(r.status, 401, "{path}");
        let r = call(&svc, &feed.store, "GET", path, Some(V21), Some(&basic("analyst", "x")));
        assert_eq!(r.status, 401, "{path}");
    }
}

#[test]
fn a_broken_configuration_fails_closed() {
    let feed = feed();
    let svc = Service::new(Settings { access: Access::broken(), ..Settings::default() });
    let r = call(&svc, &feed.store, "GET", "/threatintel/collections/", Some(V21), None);
    assert_eq!(r.status, 503);
    assert!(json(&r)["description"].as_str().unwrap().contains("TAXII_USERS"));
}

#[test]
fn xsoar_single_user_setup_is_one_line() {
    // What `taxii-edge user add xsoar --collections '*'` prints, as the whole TAXII_USERS secret.
    let feed = feed();
    let line = format!(
        r#"{{"xsoar":{{"hash":"{}","collections":"*"}}}}"#,
        PasswordHash::new(b"the xsoar password", b"salt-of-16-bytes", MIN_ITERATIONS)
    );
    let svc = Service::new(Settings {
        access: Access::from_config(Some(&line), None, None, None).unwrap(),
        ..Settings::default()
    });
    let who = basic("xsoar", "the xsoar password");
    let r = call(&svc, &feed.store, "GET", "/threatintel/collections/", Some(V21), Some(&who));
    assert_eq!(json(&r)["collections"].as_array().unwrap().len(), 3);
    for (id, _) in feed.cols.values() {
        let r =
            call(&svc, &feed.store, "GET", &format!("/threatintel/collections/{id}/objects/"), Some(V20), Some(&who));
        assert_eq!(r.status, 200);
    }
    assert_eq!(call(&svc, &feed.store, "GET", "/taxii2/", None, None).status, 401);
}

#[test]
fn the_admin_path_refuses_readers() {
    let feed = feed();
    let readers = [
        basic("analyst", "analyst:pw with colon"),
        basic("partner", "partner-pw"),
        "Bearer sentinel.sentinel-pw".to_string(),
        basic("admin", ADMIN_TOKEN),
        basic(ADMIN_TOKEN, ""),
    ];
    for admin_on in [true, false] {
        let svc = service(&feed, Some("*"), None, admin_on);
        for path in ["/admin/current", "/admin/missing", "/admin/blobs/manifest/00000000000000000000000000000000"] {
            for method in ["GET", "PUT", "POST"] {
                for who in readers.iter().map(Some).chain([None]) {
                    let r = call(&svc, &feed.store, method, path, None, who.map(String::as_str));
                    let want = if admin_on { 401 } else { 404 };
                    assert_eq!(r.status, want, "{method} {path} as {who:?} (admin {admin_on})");
                }
            }
        }
        if admin_on {
            let r = call(&svc, &feed.store, "GET", "/admin/current", None, Some(&format!("Bearer {ADMIN_TOKEN}")));
            assert_eq!(r.status, 200, "the admin token still works");
        }
        // The admin token is no reader credential.
        let r =
            call(&svc, &feed.store, "GET", "/threatintel/collections/", None, Some(&format!("Bearer {ADMIN_TOKEN}")));
        assert_eq!(r.status, 401);
    }
}

#[test]
fn a_next_token_opens_nothing_to_another_caller() {
    let feed = feed();
    let svc = service(&feed, Some("Public IPs"), None, false);
    let partner = basic("partner", "partner-pw");
    let sentinel = "Bearer sentinel.sentinel-pw";
    let objects = |title: &str| format!("/threatintel/collections/{}/objects/", feed.cols[title].0);
    let r = call_q(&svc, &feed.store, "GET", &objects("Partner Domains"), &[("limit", "1")], Some(V21), Some(&partner));
    let next = json(&r)["next"].as_str().expect("a next token").to_string();
    let q = [("next", next.as_str())];
    let r = call_q(&svc, &feed.store, "GET", &objects("Partner Domains"), &q, Some(V21), Some(&partner));
    assert_eq!(r.status, 200, "the token works for its reader");
    let r = call_q(&svc, &feed.store, "GET", &objects("Partner Domains"), &q, Some(V21), None);
    assert_eq!(r.status, 401, "anonymous");
    let r = call_q(&svc, &feed.store, "GET", &objects("Partner Domains"), &q, Some(V21), Some(sentinel));
    assert_eq!(r.status, 404, "another user");
    let r = call_q(&svc, &feed.store, "GET", &objects("Internal URLs"), &q, Some(V21), Some(sentinel));
    assert_eq!(r.status, 400, "another collection");
    reveals_nothing(&r, &feed, &["Partner Domains"], "", "token on another collection");
}
