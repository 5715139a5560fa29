//! Renders the sample indicators of every type (src/stix/samples.rs) under several render settings and
//! prints one JSON corpus: per setting, every object in STIX 2.1 and in 2.0, with the collection's extras,
//! and the same collection as the service serves it (a snapshot built by the builder, read back through
//! `Service::handle` over an in-memory store: the 2.1 envelope pages and the 2.0 bundle).
//! tests/interop/test_stix_render.py validates it with stix2-validator, stix2-patterns and stix2.
//!
//! `cargo run -p edge-feed --example render_corpus > corpus.json`

use edge_core::server::{Service, Settings};
use edge_core::taxii::{Request, Response};
use edge_core::time::Timestamp;
use edge_feed::build::{build, BuildInput};
use edge_feed::config::parse_collections;
use edge_feed::indicator::Indicator;
use edge_feed::stix::{collection_extras, ids, render_indicator, ExtensionFields, RenderOptions};
use edge_testkit::samples;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// The collection `All` (every indicator) as the service serves it: all 2.1 objects (paged by `next`) and
/// the 2.0 bundle.
fn served(indicators: &[Indicator], collections: &str, opts: &RenderOptions) -> (Vec<Value>, Value) {
    let cols = parse_collections(collections).expect("valid collections");
    let built = build(&BuildInput {
        collections: &cols,
        indicators,
        render: opts,
        now: Timestamp::parse("2025-01-01T00:00:00Z").expect("valid time"),
        previous: &HashMap::new(),
    });
    let store = built.to_memory_store(Timestamp(0));
    let svc = Service::new(Settings::default());
    let col = ids::collection_id(&opts.namespace, "All");
    let get = |query: Vec<(String, String)>, accept: &str| -> Response {
        let req = Request {
            method: "GET".into(),
            path: format!("/threatintel/collections/{col}/objects/"),
            query,
            headers: vec![("accept".into(), accept.into())],
            origin: "https://feeds.example".into(),
            body: None,
        };
        let r = pollster::block_on(svc.handle(&store, &req, Timestamp(0)));
        assert!(r.status == 200 || r.status == 206, "{}: {}", r.status, String::from_utf8_lossy(&r.body));
        r
    };
    let mut objects21 = Vec::new();
    let mut query = vec![("limit".to_string(), "7".to_string())];
    loop {
        let body: Value = serde_json::from_slice(&get(query.clone(), "application/taxii+json;version=2.1").body)
            .expect("envelope JSON");
        objects21.extend(body["objects"].as_array().cloned().unwrap_or_default());
        match body["next"].as_str() {
            Some(next) if body["more"] == true => {
                query = vec![("limit".into(), "7".into()), ("next".into(), next.into())];
            }
            _ => break,
        }
    }
    let bundle: Value =
        serde_json::from_slice(&get(vec![], "application/vnd.oasis.stix+json; version=2.0").body).expect("bundle JSON");
    (objects21, bundle)
}

fn main() {
    let indicators = samples::sample_indicators();
    let all_sco: BTreeSet<String> = edge_feed::stix::SCO_TYPES.iter().map(|s| s.to_string()).collect();
    let ns = ids::namespace_for("test");
    let all = r#"{"All": ""}"#;
    let settings = vec![
        ("scos", all, RenderOptions { namespace: ns, ..RenderOptions::default() }),
        (
            "indicators+all-fields",
            all,
            RenderOptions {
                namespace: ns,
                as_indicator: all_sco,
                extension_fields: ExtensionFields::All,
                revoke_expired: true,
                ..RenderOptions::default()
            },
        ),
        (
            "scos+some-fields",
            all,
            RenderOptions {
                namespace: ns,
                extension_fields: ExtensionFields::parse("value, score, tags, sourcebrands, cvss, name"),
                ..RenderOptions::default()
            },
        ),
        // The collection's own client settings (tests/interop/test_stix_render.py names what the xsoar profile
        // may do beyond strict STIX).
        (
            "xsoar",
            r#"{"All": {"query": "", "profile": "xsoar"}}"#,
            RenderOptions { namespace: ns, ..Default::default() },
        ),
        (
            "xsoar+indicators+all-fields",
            r#"{"All": {"query": "", "profile": "xsoar", "as_indicator": ["ipv4-addr", "ipv6-addr", "domain-name",
                "url", "email-addr", "file", "windows-registry-key", "user-account", "autonomous-system",
                "software", "x509-certificate", "mutex"]}}"#,
            RenderOptions { namespace: ns, extension_fields: ExtensionFields::All, ..Default::default() },
        ),
        (
            "sentinel",
            r#"{"All": {"query": "", "as_indicator": ["ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr",
                "file", "windows-registry-key", "user-account", "autonomous-system", "software", "x509-certificate",
                "mutex"]}}"#,
            RenderOptions { namespace: ns, ..Default::default() },
        ),
    ];
    let mut out = Vec::new();
    for (name, collections, base) in &settings {
        let cols = parse_collections(collections).expect("valid collections");
        let opts = &cols[0].client.render_options(base);
        let mut members = Vec::new();
        let mut rendered = Vec::new();
        let mut errors = Vec::new();
        for ind in &indicators {
            match render_indicator(ind, opts) {
                Ok(r) => {
                    members.push(ind);
                    rendered.push(r);
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        // The xsoar profile's reports list their relationships' targets (the build does this per collection).
        let patched: Vec<(usize, String, String)> = {
            let refs: Vec<_> = rendered.iter().collect();
            let x = edge_feed::stix::Extras::new(&members, &refs, opts);
            (0..rendered.len())
                .filter(|_| opts.profile == edge_feed::stix::Profile::Xsoar)
                .filter_map(|i| {
                    x.report_with_targets(i, &rendered[i].json21, &rendered[i].json20).map(|(a, b)| (i, a, b))
                })
                .collect()
        };
        for (i, json21, json20) in patched {
            rendered[i].json21 = json21;
            rendered[i].json20 = json20;
        }
        let refs: Vec<_> = rendered.iter().collect();
        let extras = collection_extras(&members, &refs, opts);
        let all: Vec<_> = rendered.iter().chain(extras.iter()).collect();
        let parse = |s: &str| serde_json::from_str::<Value>(s).expect("rendered JSON parses");
        let (served21, bundle20) = served(&indicators, collections, base);
        out.push(json!({
            "setting": name,
            "errors": errors,
            "objects21": all.iter().map(|r| parse(&r.json21)).collect::<Vec<_>>(),
            "objects20": all.iter().map(|r| parse(&r.json20)).collect::<Vec<_>>(),
            "served21": served21,
            "bundle20": bundle20,
        }));
    }
    // What the renderer decides can be an SCO's value, for the python side to compare with the validator.
    use edge_feed::stix::observable::{is_cpe23, is_domain, is_email, is_ipv4, is_ipv6, is_registry_key, is_uri};
    type Rule = fn(&str) -> bool;
    let rules: [(&str, &str, Rule, &[&str]); 7] = [
        (
            "url",
            "value",
            is_uri,
            &[
                "https://example.com/a?b=c#d",
                "http://example.com/it's\\here",
                "example.com/path",
                "http://exa mple.com/",
                "http://user:pw@host:8080/p",
                "http://host:port/",
                "http://[::1]/",
                "http://h/a#b#c",
                "http://h/%zz",
                "http://h/%20",
                "ftp://h/a;b=c",
                "mailto:a@b.c",
                "http://h/?q=a|b",
                "http://h/ä",
                "urn:isbn:0451450523",
                "http://h/{x}",
                "http://h/a^b",
                "HTTP://H/",
                "1http://h/",
                "http://h/a`b",
                "http://h/\"q\"",
            ],
        ),
        (
            "email-addr",
            "value",
            is_email,
            &[
                "a@example.com",
                "o'brien@example.com",
                "a+b@x.co.uk",
                "a@b",
                "@x.com",
                "a b@x.com",
                "a@x..com",
                "a@-x.com",
            ],
        ),
        (
            "ipv4-addr",
            "value",
            is_ipv4,
            &[
                "1.2.3.4",
                "01.2.3.4",
                "1.2.3.4/33",
                "1.2.3.4/24",
                "1.2.3.4/05",
                "256.1.1.1",
                "1.2.3.4:80",
                "1.2.3",
                "0.0.0.0/0",
                "1.2.3.4/",
            ],
        ),
        (
            "ipv6-addr",
            "value",
            is_ipv6,
            &[
                "2001:db8::1",
                "::1",
                "::ffff:1.2.3.4",
                "2001:db8::/129",
                "fe80::1%eth0",
                "2001:DB8::1/64",
                "::",
                "1::",
                "2001:db8::1/064",
                "1:2:3:4:5:6:7:8:9",
                "gggg::1",
                "fe80::1%",
                "2001:db8::/0",
            ],
        ),
        (
            "domain-name",
            "value",
            is_domain,
            &[
                "a_b.com",
                "example.com.",
                "xn--bcher-kva.example",
                "bücher.example",
                "-a.com",
                "a..com",
                "localhost",
                "1.2.3.4",
                "*.x.com",
                "ab--cd.com",
                "EXAMPLE.COM",
                "a-.com",
                "x.y-z.com",
            ],
        ),
        (
            "windows-registry-key",
            "key",
            is_registry_key,
            &[
                "HKEY_LOCAL_MACHINE\\Software",
                "HKLM\\Software",
                "hklm\\x",
                "Computer\\HKEY_LOCAL_MACHINE\\x",
                "HKEY_USERS\\S-1\\HKCU",
                "hkey_users\\x",
            ],
        ),
        (
            "software",
            "cpe",
            is_cpe23,
            &[
                "cpe:2.3:a:microsoft:word:2019:*:*:*:*:*:*:*",
                "cpe:/a:microsoft:word",
                "cpe:2.3:a:ms:word",
                "cpe:2.3:a:ms:wo rd:1:*:*:*:*:*:*:*",
                "cpe:2.3:o:linux:linux_kernel:5.4\\.1:-:*:en-us:*:*:*:*",
                "cpe:2.3:x:a:b:*:*:*:*:*:*:*:*",
                "cpe:2.3:a:a?:b*:*:*:*:english:*:*:*:*",
            ],
        ),
    ];
    let mut checks = Vec::new();
    for (t, prop, rule, values) in rules {
        for v in values {
            checks.push(json!([t, prop, v, rule(v)]));
        }
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({ "corpus": out, "value_checks": checks })).expect("serialises")
    );
}
