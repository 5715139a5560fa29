//! The edge response cache, minus the Workers Cache API itself: which responses may be kept, under which key,
//! and how a kept response is stored and given back.
//!
//! A TAXII response is a pure function of (the snapshot, the path, the query, the `Range` header, the negotiated
//! version, the origin, the deployment's settings and code, the caller's view). The key digests all of these
//! with SHA-256 (collision-resistant: a crafted URL cannot poison another URL's entry). The caller's view is
//! whether it is signed in and which collections of that snapshot it may read, never its name or password, so
//! two users who may read the same collections share entries and no entry crosses an access boundary.
//! Everything under one key is immutable: the first page of a feed moves to a new key when a snapshot is
//! published (the key holds the current snapshot's id), and a page reached by `next` keeps the snapshot its
//! token names. The worker crate does the `caches.default` get and put; everything here runs natively in tests.

use crate::settings::Settings;
use crate::snapshot::format::Manifest;
use crate::taxii::http::{Request, Response};
use crate::taxii::media::Version;
use sha2::{Digest, Sha256};

/// The path prefix of synthetic cache keys (under the request's own origin, so they stay in its zone).
pub const KEY_PREFIX: &str = "/.taxii-edge-cache/";

/// The response header that says whether a cacheable response came from the edge cache.
pub const CACHE_STATUS_HEADER: &str = "X-TAXII-Edge-Cache";

/// The header that carries a kept response's real status (the Cache API keeps only 200s safely: it refuses
/// 206, and a 404 is cached by status rules of its own at Cloudflare).
pub const STATUS_HEADER: &str = "X-TAXII-Edge-Status";

/// How long the edge keeps an entry. Entries never go stale (see the module doc), so this only bounds storage.
pub const EDGE_TTL_SECONDS: u32 = 86_400;

/// Bumped when the key's inputs change meaning, so old entries are never read again.
const KEY_FORMAT: &str = "taxii-edge response cache 1";

/// What the response to a request depends on besides the request itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Discovery and the API root: the settings only, the same for every caller allowed to see the server.
    Server,
    /// Snapshot content: the snapshot and what the caller may read in it.
    Snapshot { id: String, view: String },
}

/// The caller's view of a snapshot: signed in or not, whether it may see the server's own resources, and the
/// ids of the collections it may read (sorted). Never a name or a credential.
pub fn view(authenticated: bool, sees_server: bool, readable: impl IntoIterator<Item = String>) -> String {
    let mut ids: Vec<String> = readable.into_iter().collect();
    ids.sort();
    ids.dedup();
    let mut h = Sha256::new();
    frame(&mut h, if authenticated { "user" } else { "anonymous" });
    frame(&mut h, if sees_server { "server" } else { "-" });
    for id in &ids {
        frame(&mut h, id);
    }
    hex(&h.finalize())
}

/// The view of `manifest` for a caller, given what it may read.
pub fn view_of(
    manifest: &Manifest,
    authenticated: bool,
    sees_server: bool,
    may_read: impl Fn(&crate::snapshot::format::CollectionEntry) -> bool,
) -> String {
    view(authenticated, sees_server, manifest.collections.iter().filter(|c| may_read(c)).map(|c| c.id.clone()))
}

/// A digest of every setting a cached response may depend on (and of the code's version).
pub fn settings_digest(s: &Settings) -> String {
    let mut h = Sha256::new();
    frame(&mut h, KEY_FORMAT);
    frame(&mut h, env!("CARGO_PKG_VERSION"));
    frame(&mut h, &s.title);
    frame(&mut h, &s.description);
    frame(&mut h, s.contact.as_deref().unwrap_or("\u{0}none"));
    frame(&mut h, &s.api_root);
    frame(&mut h, &s.default_limit.to_string());
    frame(&mut h, &s.max_limit.to_string());
    for v in &s.versions {
        frame(&mut h, v.taxii_type());
    }
    frame(&mut h, "");
    h.update(Sha256::digest(&s.next_secret));
    frame(&mut h, s.public_url.as_deref().unwrap_or("\u{0}none"));
    hex(&h.finalize())
}

/// The synthetic URL a response is kept under. `version` is the negotiated TAXII version.
pub fn key(settings: &Settings, req: &Request, version: Version, scope: &Scope) -> String {
    let mut h = Sha256::new();
    frame(&mut h, &settings_digest(settings));
    match scope {
        Scope::Server => frame(&mut h, "server"),
        Scope::Snapshot { id, view } => {
            frame(&mut h, "snapshot");
            frame(&mut h, id);
            frame(&mut h, view);
        }
    }
    frame(&mut h, version.taxii_type());
    frame(&mut h, &req.origin);
    frame(&mut h, &req.path);
    // Parameters as sent, in order: a 2.0 bundle's id is made from the query as written, so two orders are
    // two responses (clients page with one order; sorting would save little).
    for (k, v) in &req.query {
        frame(&mut h, k);
        frame(&mut h, v);
    }
    frame(&mut h, "\u{0}range");
    frame(&mut h, req.header("range").unwrap_or("\u{0}none"));
    let snapshot = match scope {
        Scope::Server => "server",
        Scope::Snapshot { id, .. } => id.as_str(),
    };
    format!("{}{KEY_PREFIX}{snapshot}/{}", req.origin.trim_end_matches('/'), hex(&h.finalize()))
}

/// Whether a response with this status may be kept: content and TAXII 404s (an unknown collection or object
/// is as much a fact of the snapshot as its objects). Never a 401, 403, 406, 400 or a storage failure.
pub fn cacheable_status(status: u16) -> bool {
    matches!(status, 200 | 206 | 404)
}

/// The copy of a full response that goes into the edge cache: status 200 with the real one in
/// [`STATUS_HEADER`], a `Cache-Control` the Cache API honours, and no `Vary` (the key already holds everything
/// a response varies by; the client's `Cache-Control` and `Vary` are put back by `Service::finish`).
pub fn edge_copy(resp: &Response) -> Response {
    let mut headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .filter(|(k, _)| !is_client_only(k) && !k.eq_ignore_ascii_case(STATUS_HEADER))
        .cloned()
        .collect();
    headers.push((STATUS_HEADER.into(), resp.status.to_string()));
    headers.push(("Cache-Control".into(), format!("public, max-age={EDGE_TTL_SECONDS}")));
    Response { status: 200, headers, body: resp.body.clone() }
}

/// A kept response's status and headers as the service produced them (the body is the caller's to attach).
/// `None` when the entry is not one of ours (no status header): the caller treats it as a miss.
pub fn from_edge_copy(headers: Vec<(String, String)>) -> Option<Response> {
    let status = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(STATUS_HEADER))?.1.parse().ok()?;
    if !cacheable_status(status) {
        return None;
    }
    let headers =
        headers.into_iter().filter(|(k, _)| !is_client_only(k) && !k.eq_ignore_ascii_case(STATUS_HEADER)).collect();
    Some(Response { status, headers, body: Vec::new() })
}

/// Headers the service sets for the client per request, never kept; plus those the cache itself adds.
fn is_client_only(name: &str) -> bool {
    [
        "cache-control",
        "vary",
        "cf-cache-status",
        "age",
        "expires",
        "content-length",
        "x-taxii-edge-cache",
        "server-timing",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// Length-prefixed, so no two different sequences of parts hash alike.
fn frame(h: &mut Sha256, part: &str) {
    h.update((part.len() as u64).to_le_bytes());
    h.update(part.as_bytes());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, query: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            origin: "https://feeds.example.com".into(),
            ..Default::default()
        }
    }

    fn snap(id: &str, view: &str) -> Scope {
        Scope::Snapshot { id: id.into(), view: view.into() }
    }

    #[test]
    fn the_key_names_the_snapshot_and_lives_under_the_origin() {
        let s = Settings::default();
        let k = key(&s, &req("/threatintel/collections/", &[]), Version::V21, &snap("ab12", "v"));
        assert!(k.starts_with("https://feeds.example.com/.taxii-edge-cache/ab12/"), "{k}");
        assert_eq!(k.len(), "https://feeds.example.com/.taxii-edge-cache/ab12/".len() + 64);
    }

    #[test]
    fn every_input_changes_the_key() {
        let s = Settings::default();
        let r = req("/threatintel/collections/c/objects/", &[("limit", "10")]);
        let base = key(&s, &r, Version::V21, &snap("a", "v"));
        assert_eq!(base, key(&s, &r, Version::V21, &snap("a", "v")), "the key is a pure function");
        assert_ne!(base, key(&s, &r, Version::V20, &snap("a", "v")), "version");
        assert_ne!(base, key(&s, &r, Version::V21, &snap("b", "v")), "snapshot");
        assert_ne!(base, key(&s, &r, Version::V21, &snap("a", "w")), "view");
        assert_ne!(base, key(&s, &r, Version::V21, &Scope::Server), "scope");
        let mut other = r.clone();
        other.path = "/threatintel/collections/d/objects/".into();
        assert_ne!(base, key(&s, &other, Version::V21, &snap("a", "v")), "path");
        let mut other = r.clone();
        other.query[0].1 = "11".into();
        assert_ne!(base, key(&s, &other, Version::V21, &snap("a", "v")), "query");
        let mut other = r.clone();
        other.headers.push(("range".into(), "items 0-9".into()));
        assert_ne!(base, key(&s, &other, Version::V21, &snap("a", "v")), "range");
        let mut other = r.clone();
        other.origin = "https://other.example.com".into();
        assert!(!key(&s, &other, Version::V21, &snap("a", "v")).ends_with(&base[base.len() - 64..]), "origin");
        let mut s2 = s.clone();
        s2.next_secret = b"rotated".to_vec();
        assert_ne!(base, key(&s2, &r, Version::V21, &snap("a", "v")), "next secret");
        let mut s2 = s.clone();
        s2.title = "renamed".into();
        assert_ne!(base, key(&s2, &r, Version::V21, &snap("a", "v")), "settings");
    }

    #[test]
    fn headers_that_do_not_shape_the_response_do_not_change_the_key() {
        let s = Settings::default();
        let r = req("/taxii2/", &[]);
        let mut other = r.clone();
        other.headers.push(("authorization".into(), "Basic YTpi".into()));
        other.headers.push(("if-none-match".into(), "\"x\"".into()));
        other.headers.push(("accept".into(), "application/taxii+json;version=2.1".into()));
        assert_eq!(key(&s, &r, Version::V21, &Scope::Server), key(&s, &other, Version::V21, &Scope::Server));
    }

    #[test]
    fn parameters_are_framed_and_kept_in_order() {
        let s = Settings::default();
        let sc = snap("a", "v");
        let a = key(&s, &req("/p", &[("limit", "5"), ("match[type]", "indicator")]), Version::V21, &sc);
        let b = key(&s, &req("/p", &[("match[type]", "indicator"), ("limit", "5")]), Version::V21, &sc);
        assert_ne!(a, b, "a 2.0 bundle id depends on the order");
        let c = key(&s, &req("/p", &[("limit", "5"), ("limit", "6")]), Version::V21, &sc);
        let d = key(&s, &req("/p", &[("limit", "6"), ("limit", "5")]), Version::V21, &sc);
        assert_ne!(c, d);
        // Framing: moving a character between name and value is another request.
        let e = key(&s, &req("/p", &[("ab", "c")]), Version::V21, &sc);
        let f = key(&s, &req("/p", &[("a", "bc")]), Version::V21, &sc);
        assert_ne!(e, f);
    }

    #[test]
    fn views_depend_on_what_may_be_read_not_on_who() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(view(true, true, ids(&["a", "b"])), view(true, true, ids(&["b", "a", "a"])));
        assert_ne!(view(true, true, ids(&["a"])), view(true, true, ids(&["a", "b"])));
        assert_ne!(view(true, true, ids(&["a"])), view(false, true, ids(&["a"])), "anonymous is its own view");
        assert_ne!(view(false, true, ids(&[])), view(false, false, ids(&[])));
        // "ab" is not "a" then "b".
        assert_ne!(view(true, true, ids(&["ab"])), view(true, true, ids(&["a", "b"])));
    }

    #[test]
    fn only_content_and_taxii_404s_are_cacheable() {
        for s in [200, 206, 404] {
            assert!(cacheable_status(s));
        }
        for s in [304, 400, 401, 403, 405, 406, 416, 500, 503] {
            assert!(!cacheable_status(s), "{s}");
        }
    }

    #[test]
    fn an_edge_copy_round_trips_status_and_headers_but_not_client_headers() {
        let resp = Response {
            status: 206,
            headers: vec![
                ("Content-Type".into(), "application/vnd.oasis.stix+json; version=2.0".into()),
                ("Content-Range".into(), "items 0-9/100".into()),
                ("ETag".into(), "\"e\"".into()),
                ("Cache-Control".into(), "private, no-store".into()),
                ("Vary".into(), "Accept, Authorization".into()),
            ],
            body: b"{}".to_vec(),
        };
        let copy = edge_copy(&resp);
        assert_eq!(copy.status, 200);
        assert_eq!(copy.body, b"{}");
        assert_eq!(copy.header("cache-control"), Some("public, max-age=86400"));
        assert_eq!(copy.header("vary"), None);
        assert_eq!(copy.header(STATUS_HEADER), Some("206"));
        let mut cached = copy.headers.clone();
        cached.push(("CF-Cache-Status".into(), "HIT".into()));
        cached.push(("Content-Length".into(), "2".into()));
        let back = from_edge_copy(cached).expect("ours");
        assert_eq!(back.status, 206);
        assert_eq!(
            back.headers,
            vec![
                ("Content-Type".into(), "application/vnd.oasis.stix+json; version=2.0".into()),
                ("Content-Range".into(), "items 0-9/100".into()),
                ("ETag".into(), "\"e\"".into()),
            ]
        );
        assert!(from_edge_copy(vec![("ETag".into(), "\"e\"".into())]).is_none(), "not ours");
        assert!(from_edge_copy(vec![(STATUS_HEADER.into(), "401".into())]).is_none(), "never a 401");
    }
}
