//! The XSOAR JSON importer's export variants and errors, and how `import_file` picks an importer.

use edge_feed::import::{import_file, import_text, Format, RecordError};
use serde_json::json;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    edge_testkit::repo("tests/fixtures/import").join(name)
}

fn errors(got: &[RecordError]) -> Vec<String> {
    got.iter().map(ToString::to_string).collect()
}

#[test]
fn reads_type_or_indicator_type_and_either_custom_fields_key() {
    let path = fixture("api-variant.json");
    let name = path.display().to_string();
    let got = import_file(&path).unwrap();
    let a = &got.indicators[0];
    assert_eq!((a.value.as_str(), a.xsoar_type.as_str(), a.score), ("1.2.3.4", "IP", 3));
    assert_eq!(a.field("threatactor"), Some(&json!("Fancy Bear")));
    assert_eq!(a.tags, ["apt28"]);
    assert_eq!(a.field("type"), None, "the type key is the type, not a field");
    let b = &got.indicators[1];
    assert_eq!((b.xsoar_type.as_str(), b.score), ("Domain", 2));
    assert_eq!(b.description().as_deref(), Some("from the UI export"));
    assert_eq!(b.field("sourcebrands"), Some(&json!(["Feed A"])));
    assert_eq!(got.indicators.len(), 2);
    assert_eq!(
        errors(&got.errors),
        [
            format!("{name}:[2]: missing \"indicator_type\" (or \"type\"): the XSOAR type, e.g. \"IP\""),
            format!("{name}:[3]: \"score\" must be 0, 1, 2 or 3 or Unknown, Good, Suspicious, Bad, not \"High\""),
            format!("{name}:[4]: \"customFields\" must be an object"),
            format!("{name}:[5]: an indicator must be a JSON object"),
        ]
    );
}

#[test]
fn broken_json_fails_with_where_it_breaks() {
    let path = fixture("broken.json");
    let e = import_file(&path).unwrap_err();
    assert_eq!(e.to_string(), format!("{}: not valid JSON: expected `,` or `}}` at line 3 column 47", path.display()));
    // A pretty-printed object cannot be JSON lines either.
    let e = import_text("x.json", "{\n  \"iocs\": [\n").unwrap_err();
    assert_eq!(e.to_string(), "x.json: not valid JSON: EOF while parsing a list at line 3 column 0");
}

#[test]
fn a_stix_bundle_goes_to_the_stix_importer() {
    // (The STIX importer's own tests are in tests/import_stix.rs.)
    let e = import_file(&fixture("bundle.json")).unwrap_err();
    assert!(e.to_string().ends_with("bundle.json: no STIX objects found (the bundle or list is empty)"), "{e}");
}

#[test]
fn other_whole_file_errors() {
    let cases = [
        ("{\"iocs\": 3}", "x.json: \"iocs\" is not a list of indicators"),
        ("{\"total\": 3}", "x.json: a JSON object needs an \"iocs\" list (the searchIndicators shape)"),
        ("", "x.json: no indicators found (expected XSOAR indicator JSON or JSON lines)"),
    ];
    for (text, want) in cases {
        assert_eq!(import_text("x.json", text).unwrap_err().to_string(), want, "{text}");
    }
    let got = import_text("x.json", "3").unwrap();
    assert_eq!(errors(&got.errors), ["x.json:1: an indicator must be a JSON object"]);
}

#[test]
fn a_bad_first_json_line_is_one_bad_record() {
    let text =
        "{\"value\": \"1.1.1.1\",\n{\"value\":\"2.2.2.2\",\"type\":\"IP\",\"modified\":\"2024-01-01T00:00:00Z\"}\n";
    let got = import_text("feed.jsonl", text).unwrap();
    assert_eq!(got.indicators.len(), 1);
    let msgs = errors(&got.errors);
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].starts_with("feed.jsonl:1: not JSON: EOF while parsing a value at line 1 column 20"),
        "{}",
        msgs[0]
    );
}

#[test]
fn json_lines_report_line_numbers() {
    let text =
        "{\"value\":\"1.1.1.1\",\"type\":\"IP\",\"modified\":\"2024-01-01T00:00:00Z\"}\n\n[1]\n{\"value\":\"2.2.2.2\"";
    let got = import_text("feed.jsonl", text).unwrap();
    assert_eq!(got.indicators.len(), 1);
    assert_eq!(got.indicators[0].origin, "feed.jsonl:1");
    let msgs = errors(&got.errors);
    assert_eq!(msgs[0], "feed.jsonl:3: an indicator must be a JSON object");
    assert!(msgs[1].starts_with("feed.jsonl:4: not JSON: EOF while parsing"), "{}", msgs[1]);
    assert_eq!(msgs.len(), 2);
}

#[test]
fn picks_the_importer_by_extension_then_content() {
    assert_eq!(Format::from_name("a/b.CSV"), Some(Format::Csv));
    assert_eq!(Format::from_name("a.v2/feed"), None);
    assert_eq!(Format::from_name("feed.ndjson"), Some(Format::Xsoar));
    assert_eq!(Format::sniff("\u{feff}  [ ]"), Format::Xsoar);
    assert_eq!(Format::sniff("value,type"), Format::Csv);

    let got = import_file(&fixture("export-no-extension")).unwrap();
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.indicators.iter().map(|i| i.value.as_str()).collect::<Vec<_>>(), ["1.1.1.1", "2.2.2.2"]);
    let got = import_file(&fixture("csv-no-extension")).unwrap();
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.indicators[0].value, "x.example");
    // A .csv holding JSON is read as CSV, as its name says: the header check explains.
    let e = import_text("feed.csv", "[{\"value\": \"x\"}]").unwrap_err();
    assert!(e.reason.starts_with("the header row has no \"value\" column"), "{e}");
}

#[test]
fn unreadable_files_say_why() {
    let dir = std::env::temp_dir().join(format!("taxii-edge-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let utf16 = dir.join("utf16.csv");
    std::fs::write(&utf16, [0xFF, 0xFE, b'v', 0, b'a', 0]).unwrap();
    let latin1 = dir.join("latin1.csv");
    std::fs::write(&latin1, b"value,type,modified\nm\xfcnchen.example,Domain,2024-01-01\n").unwrap();
    let missing = dir.join("missing.json");

    let e = import_file(&utf16).unwrap_err();
    assert_eq!(e.reason, "the file is UTF-16 text: save it as UTF-8 (in Excel: \"CSV UTF-8\")");
    let e = import_file(&latin1).unwrap_err();
    assert_eq!(e.reason, "the file is not UTF-8 text (first bad byte at line 2, byte 22): save it as UTF-8");
    let e = import_file(&missing).unwrap_err();
    assert_eq!(e.position, missing.display().to_string());
    assert!(e.reason.starts_with("cannot read the file: No such file"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
