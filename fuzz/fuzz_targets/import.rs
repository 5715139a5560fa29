//! The importers, through the generic entry `import_text(name, text)` that picks the format by the file
//! name's extension or, without one, by content: every name the importers know is tried (XSOAR JSON, JSON
//! lines, CSV, TSV, sniffed, and STIX bundle names for the bundle importer). Never panics; every bad record
//! is reported with a position in the named file and a reason; every good record has a sane score and
//! `modified >= created`, and renders to STIX 2.1 and 2.0 JSON (or a render error) without panicking, with
//! every extension field exported and every observable type rendered as an indicator.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use edge_feed::import::import_text;
use edge_feed::stix::{collection_extras, render_indicator, ExtensionFields, Profile, RenderOptions, SCO_TYPES};

const NAMES: &[&str] = &[
    "fuzz.json",
    "fuzz.jsonl",
    "fuzz.ndjson",
    "fuzz.csv",
    "fuzz.tsv",
    "fuzz",
    "fuzz.txt",
    "fuzz.stix",
    "fuzz.stix.json",
    "bundle.json",
];

fn options() -> &'static [RenderOptions; 3] {
    static O: OnceLock<[RenderOptions; 3]> = OnceLock::new();
    O.get_or_init(|| {
        let all = RenderOptions {
            extension_fields: ExtensionFields::All,
            as_indicator: SCO_TYPES.iter().map(|s| s.to_string()).collect(),
            revoke_expired: true,
            expired_as_of: Some(taxii_edge_fuzz::NOW),
            ..RenderOptions::default()
        };
        let xsoar = RenderOptions { profile: Profile::Xsoar, producer: None, ..all.clone() };
        [RenderOptions::default(), all, xsoar]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for name in NAMES {
        let Ok(imported) = import_text(name, text) else { continue };
        for e in &imported.errors {
            assert!(e.position.starts_with(name), "{e:?}");
            assert!(!e.reason.is_empty(), "{e:?}");
        }
        for ind in &imported.indicators {
            assert!(ind.score <= 3, "{ind:?}");
            assert!(ind.modified >= ind.created, "{ind:?}");
            assert!(ind.origin.starts_with(name), "{ind:?}");
        }
        for opts in options() {
            let mut members = Vec::new();
            let mut rendered = Vec::new();
            for ind in &imported.indicators {
                if let Ok(r) = render_indicator(ind, opts) {
                    for json in [&r.json21, &r.json20] {
                        let v: serde_json::Value = serde_json::from_str(json).expect("rendered JSON parses");
                        assert!(v.get("id").is_some() && v.get("type").is_some(), "{json}");
                    }
                    members.push(ind);
                    rendered.push(r);
                }
            }
            let refs: Vec<_> = rendered.iter().collect();
            for extra in collection_extras(&members, &refs, opts) {
                serde_json::from_str::<serde_json::Value>(&extra.json21).expect("extra JSON parses");
            }
        }
    }
});
