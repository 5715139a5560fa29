//! The STIX settings of `taxii-edge build`: --as-indicator checked, --extension-fields, --revoke-expired and
//! --producer reaching the rendered objects.

use std::path::PathBuf;
use std::process::{Command, Output};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taxii-edge-stix-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const INDICATORS: &str = r#"{"value":"8.8.8.8","indicator_type":"IP","score":3,"timestamp":"2024-01-01T00:00:00Z","modified":"2024-02-01T00:00:00Z","expiration":"2024-06-01T00:00:00Z","CustomFields":{"sourcebrands":["Feed A"]}}
{"value":"Emotet","indicator_type":"Malware","score":3,"timestamp":"2024-01-01T00:00:00Z","modified":"2024-02-01T00:00:00Z"}
"#;

fn build(tag: &str, extra: &[&str]) -> (Output, String) {
    let dir = scratch(tag);
    std::fs::write(dir.join("collections.json"), r#"{"All": ""}"#).unwrap();
    std::fs::write(dir.join("in.jsonl"), INDICATORS).unwrap();
    let d = dir.to_str().unwrap();
    let (config, input, out) = (format!("{d}/collections.json"), format!("{d}/in.jsonl"), format!("{d}/out"));
    let mut args =
        vec!["build", "--config", &config, "--input", &input, "--out", &out, "--now", "2025-01-01T00:00:00Z"];
    args.extend(extra);
    let output = Command::new(env!("CARGO_BIN_EXE_taxii-edge")).args(&args).output().unwrap();
    // Every rendered body, as the segments hold them.
    let mut bodies = String::new();
    if let Ok(entries) = std::fs::read_dir(dir.join("out/blobs")) {
        for e in entries.flatten() {
            let path = e.path();
            let files: Vec<PathBuf> = if path.is_dir() {
                std::fs::read_dir(&path).unwrap().flatten().map(|f| f.path()).collect()
            } else {
                vec![path]
            };
            for f in files {
                let bytes = std::fs::read(f).unwrap();
                // A segment's records (compressed there), or a metadata blob as it is.
                match edge_core::snapshot::segment::Segment::decode(bytes.clone()) {
                    Ok(seg) => (0..seg.len()).flat_map(|i| [seg.body(i, true), seg.body(i, false)]).for_each(|b| {
                        bodies.push_str(&String::from_utf8_lossy(b));
                        bodies.push('\n');
                    }),
                    Err(_) => bodies.push_str(&String::from_utf8_lossy(&bytes)),
                }
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    (output, bodies)
}

#[test]
fn unknown_as_indicator_types_fail_the_build() {
    let (out, _) = build("as-indicator", &["--as-indicator", "ipv4"]);
    assert_eq!(out.status.code(), Some(2), "bad usage: exit code 2");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("unknown STIX type(s) for indicators: ipv4; use STIX SCO type names: ipv4-addr"),
        "{stderr}"
    );
}

#[test]
fn stix_settings_reach_the_objects() {
    let (out, plain) = build("plain", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(plain.contains("\"created_by_ref\":\"identity--"));
    assert!(!plain.contains("property-extension") && !plain.contains("\"revoked\""));

    let (out, rich) = build("rich", &["--extension-fields", "sourcebrands", "--revoke-expired", "--producer", ""]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(rich.contains("\"extension_type\":\"property-extension\",\"sourcebrands\":[\"Feed A\"]"), "{rich}");
    assert!(rich.contains("\"x_xsoar_sourcebrands\":[\"Feed A\"]"));
    assert!(rich.contains("\"type\":\"extension-definition\""));
    assert!(rich.contains("\"revoked\":true"), "expired before --now");
    // Without a producer only the extension definitions (which require one) name a creator.
    let creators = rich.matches("\"created_by_ref\"").count();
    let definitions = rich.matches("\"type\":\"extension-definition\"").count()
        + rich.matches("\"type\":\"x-taxii-edge-extension-definition\"").count();
    assert!(definitions > 0);
    assert_eq!(creators, definitions);
}
