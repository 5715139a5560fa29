//! Renders the sample indicators of every type (src/stix/samples.rs) under several render settings and
//! prints one JSON corpus: per setting, every object in STIX 2.1 and in 2.0, with the collection's extras.
//! tests/interop/test_stix_render.py validates it with stix2-validator, stix2-patterns and stix2.
//!
//! `cargo run --example render_corpus > corpus.json`

use serde_json::{json, Value};
use std::collections::BTreeSet;
use taxii_edge::stix::{collection_extras, ids, render_indicator, samples, ExtensionFields, RenderOptions};

fn main() {
    let indicators = samples::sample_indicators();
    let all_sco: BTreeSet<String> = [
        "ipv4-addr",
        "ipv6-addr",
        "domain-name",
        "url",
        "email-addr",
        "file",
        "windows-registry-key",
        "user-account",
        "autonomous-system",
        "software",
        "x509-certificate",
        "mutex",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ns = ids::namespace_for("test");
    let settings = vec![
        ("scos", RenderOptions { namespace: ns, ..RenderOptions::default() }),
        (
            "indicators+all-fields",
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
            RenderOptions {
                namespace: ns,
                extension_fields: ExtensionFields::parse("value, score, tags, sourcebrands, cvss, name"),
                ..RenderOptions::default()
            },
        ),
    ];
    let mut out = Vec::new();
    for (name, opts) in &settings {
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
        let refs: Vec<_> = rendered.iter().collect();
        let extras = collection_extras(&members, &refs, opts);
        let all: Vec<_> = rendered.iter().chain(extras.iter()).collect();
        let parse = |s: &str| serde_json::from_str::<Value>(s).expect("rendered JSON parses");
        out.push(json!({
            "setting": name,
            "errors": errors,
            "objects21": all.iter().map(|r| parse(&r.json21)).collect::<Vec<_>>(),
            "objects20": all.iter().map(|r| parse(&r.json20)).collect::<Vec<_>>(),
        }));
    }
    println!("{}", serde_json::to_string_pretty(&json!({ "corpus": out })).expect("serialises"));
}
