//! The deployment's settings: what wrangler.toml's `[vars]` and the Worker's secrets configure, with the defaults
//! the native tests and tools use. Every layer that answers a request reads them.
//!
//! It sits above the pieces it configures ([`crate::auth`]'s access, the TAXII versions and request limits of
//! [`crate::taxii`]) and below the TAXII endpoints and the server, which read it.

use crate::auth::Access;
use crate::taxii::http::Request;
use crate::taxii::limits::Limits;
use crate::taxii::media::Version;

/// Deployment settings (from wrangler.toml vars and secrets at the edge).
#[derive(Clone, Debug)]
pub struct Settings {
    pub title: String,
    pub description: String,
    pub contact: Option<String>,
    /// The API root's path segment (XSOAR's is `threatintel`).
    pub api_root: String,
    /// Page size when the client gives no `limit`, and the most a page holds.
    pub default_limit: usize,
    pub max_limit: usize,
    /// The TAXII versions served, in order of preference.
    pub versions: Vec<Version>,
    /// The key that signs `next` tokens.
    pub next_secret: Vec<u8>,
    /// The admin token for publishing; `None` turns the admin path off.
    pub admin_token: Option<String>,
    /// An absolute base URL to put in discovery instead of the request's origin.
    pub public_url: Option<String>,
    /// Users, public collections and public discovery. The default is open (tests, local tools); the worker
    /// reads it from its settings, where nothing configured means closed.
    pub access: Access,
    /// Request size limits (see [`crate::taxii::limits`]).
    pub limits: Limits,
    /// How long (micros) an isolate reuses the publish pointer it read (see [`crate::snapshot::pointer::PointerMemo`]);
    /// 0 reads it on every request. The worker's default is [`DEFAULT_POINTER_TTL_MS`].
    pub pointer_ttl: i64,
}

/// The worker's `POINTER_TTL_MS` when it is not set: a publish reaches every isolate within a second.
pub const DEFAULT_POINTER_TTL_MS: i64 = 1000;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            title: "taxii-edge".into(),
            description: "Threat intelligence feeds over TAXII 2.1 and 2.0".into(),
            contact: None,
            api_root: "threatintel".into(),
            default_limit: 1000,
            max_limit: 1000,
            versions: vec![Version::V21, Version::V20],
            next_secret: b"taxii-edge development secret".to_vec(),
            admin_token: None,
            public_url: None,
            access: Access::open(),
            limits: Default::default(),
            pointer_ttl: 0,
        }
    }
}

/// The server's base URL: the configured public URL or the request's origin.
pub fn base_url(s: &Settings, req: &Request) -> String {
    s.public_url.as_deref().unwrap_or(&req.origin).trim_end_matches('/').to_string()
}

/// What `/api/status` and the worker's log say when `PUBLIC_URL` is unset and the request names a host that is
/// not this machine: the URLs the server gives out then repeat whatever `Host` a request carried.
pub const PUBLIC_URL_WARNING: &str = "PUBLIC_URL is not set: discovery and the API root name the host each \
     request was sent to; set PUBLIC_URL in wrangler.toml's [vars] to the URL clients use (e.g. \
     https://feeds.example.com)";

/// [`PUBLIC_URL_WARNING`] for a request to a deployment without `PUBLIC_URL`, unless it reached this machine
/// (`localhost`, `127.0.0.1`, `[::1]`: local development).
pub fn public_url_warning(s: &Settings, req: &Request) -> Option<&'static str> {
    (s.public_url.is_none() && !is_local(&req.origin)).then_some(PUBLIC_URL_WARNING)
}

/// Whether an origin (`scheme://host[:port]`) names this machine.
fn is_local(origin: &str) -> bool {
    let host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|a| a.is_loopback())
}

impl Settings {
    /// The settings a deployment configures: `var(name)` reads `[vars]` in wrangler.toml, `secret(name)` the
    /// Worker's secrets (each `None` when unset or empty). A value that does not parse keeps the default; a broken
    /// access configuration gives a server that answers 503 (fail closed) and says why in the log.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>, secret: impl Fn(&str) -> Option<String>) -> Settings {
        let mut s = Settings::default();
        if let Some(v) = var("TAXII_TITLE") {
            s.title = v;
        }
        if let Some(v) = var("TAXII_DESCRIPTION") {
            s.description = v;
        }
        s.contact = var("TAXII_CONTACT");
        if let Some(v) = var("API_ROOT") {
            s.api_root = v;
        }
        if let Some(n) = var("MAX_PAGE_SIZE").and_then(|v| v.parse().ok()).filter(|&n: &usize| n > 0) {
            s.max_limit = n;
        }
        if let Some(n) = var("DEFAULT_PAGE_SIZE").and_then(|v| v.parse().ok()).filter(|&n: &usize| n > 0) {
            s.default_limit = n.min(s.max_limit);
        }
        if let Some(v) = var("TAXII_VERSIONS") {
            let versions: Vec<Version> = v
                .split(',')
                .filter_map(|x| match x.trim() {
                    "2.1" => Some(Version::V21),
                    "2.0" => Some(Version::V20),
                    _ => None,
                })
                .collect();
            if !versions.is_empty() {
                s.versions = versions;
            }
        }
        if let Some(k) = secret("NEXT_SECRET") {
            s.next_secret = k.into_bytes();
        }
        s.admin_token = secret("ADMIN_TOKEN");
        s.public_url = var("PUBLIC_URL");
        s.limits = crate::taxii::limits::Limits::from_vars(|name| var(name));
        let ttl_ms = var("POINTER_TTL_MS").and_then(|v| v.trim().parse::<i64>().ok()).filter(|&n| n >= 0);
        s.pointer_ttl = ttl_ms.unwrap_or(DEFAULT_POINTER_TTL_MS).min(3_600_000) * 1000;
        // Users and public collections (see crate::auth); nothing configured is a closed server, a broken
        // configuration one that answers 503 (fail closed) and says why in the log.
        s.access = crate::auth::Access::from_config_memo(
            secret("TAXII_USERS").as_deref(),
            var("PUBLIC_COLLECTIONS").as_deref(),
            var("PUBLIC_DISCOVERY").as_deref(),
            var("TAXII_REALM").as_deref(),
        )
        .unwrap_or_else(|e| {
            crate::faults::log_error(&format!("access configuration: {e}"));
            crate::auth::Access::broken()
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Settings {
        let get = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        Settings::from_vars(get, get)
    }

    #[test]
    fn unset_vars_keep_the_defaults_and_bad_values_are_ignored() {
        let d = from(&[]);
        assert_eq!((d.default_limit, d.max_limit, d.versions.clone()), (1000, 1000, vec![Version::V21, Version::V20]));
        assert_eq!(d.pointer_ttl, DEFAULT_POINTER_TTL_MS * 1000);
        assert_eq!(d.admin_token, None);
        let bad = from(&[("MAX_PAGE_SIZE", "0"), ("TAXII_VERSIONS", "3.0, x"), ("POINTER_TTL_MS", "-5")]);
        assert_eq!((bad.max_limit, bad.versions, bad.pointer_ttl), (d.max_limit, d.versions, d.pointer_ttl));
    }

    #[test]
    fn public_url_is_warned_about_outside_local_development() {
        let req = |origin: &str| Request { origin: origin.into(), ..Default::default() };
        let unset = from(&[]);
        for local in ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787", "http://x.localhost"] {
            assert_eq!(public_url_warning(&unset, &req(local)), None, "{local}");
        }
        for remote in ["https://evil.example", "https://feeds.example.com:443", "http://127.example"] {
            assert_eq!(public_url_warning(&unset, &req(remote)), Some(PUBLIC_URL_WARNING), "{remote}");
        }
        let set = from(&[("PUBLIC_URL", "https://feeds.example.com")]);
        assert_eq!(public_url_warning(&set, &req("https://evil.example")), None);
    }

    #[test]
    fn vars_and_secrets_are_read() {
        let s = from(&[
            ("TAXII_TITLE", "Feeds"),
            ("API_ROOT", "intel"),
            ("MAX_PAGE_SIZE", "500"),
            ("DEFAULT_PAGE_SIZE", "800"),
            ("TAXII_VERSIONS", " 2.0 "),
            ("POINTER_TTL_MS", "99999999"),
            ("ADMIN_TOKEN", "t"),
            ("NEXT_SECRET", "k"),
        ]);
        assert_eq!((s.title.as_str(), s.api_root.as_str()), ("Feeds", "intel"));
        assert_eq!((s.max_limit, s.default_limit), (500, 500), "the default page is never above the largest");
        assert_eq!(s.versions, vec![Version::V20]);
        assert_eq!(s.pointer_ttl, 3_600_000 * 1000, "at most an hour");
        assert_eq!((s.admin_token.as_deref(), s.next_secret.as_slice()), (Some("t"), &b"k"[..]));
    }
}
