//! The CSV importer on good and bad inputs, through `import::import_file` as the CLI calls it.

use edge_feed::import::{import_file, import_text, RecordError};
use serde_json::json;
use std::path::Path;

fn fixture(name: &str) -> String {
    edge_testkit::repo(&format!("tests/fixtures/import/{name}")).display().to_string()
}

fn errors(got: &[RecordError]) -> Vec<String> {
    got.iter().map(ToString::to_string).collect()
}

#[test]
fn reads_every_column() {
    let path = fixture("good.csv");
    let got = import_file(Path::new(&path)).unwrap();
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.indicators.len(), 4);

    let ip = &got.indicators[0];
    assert_eq!((ip.value.as_str(), ip.xsoar_type.as_str(), ip.score), ("8.8.8.8", "IP", 3));
    assert_eq!(ip.tags, ["apt28", "phishing"]);
    assert_eq!(ip.created.to_micros_string(), "2024-01-01T00:00:00.000000Z");
    assert_eq!(ip.modified.to_micros_string(), "2024-02-01T00:00:00.000000Z");
    assert_eq!(ip.expiration.unwrap().to_micros_string(), "2024-03-01T00:00:00.000000Z");
    assert_eq!(ip.description().as_deref(), Some("Google DNS"));
    assert_eq!(ip.field("sourcebrands"), Some(&json!(["Feed A", "Feed B"])));
    assert_eq!(ip.field("threatactor"), Some(&json!("Fancy Bear")));
    assert_eq!(ip.field("tags"), Some(&json!(["apt28", "phishing"])));
    assert_eq!(ip.origin, format!("{path}:2"));

    // A name score; a missing modified takes the timestamp; empty cells are not fields.
    let dom = &got.indicators[1];
    assert_eq!((dom.value.as_str(), dom.score), ("login.example.com", 2));
    assert_eq!(dom.modified, dom.created);
    assert!(dom.tags.is_empty());
    assert_eq!(dom.field("description"), None);
    assert_eq!(dom.expiration, None);

    // A quoted cell with the delimiter; a record over two lines; XSOAR's zero time is "no expiration".
    let url = &got.indicators[2];
    assert_eq!(url.value, "http://a.example/x,y");
    assert_eq!(url.score, 0);
    assert_eq!(url.created.to_micros_string(), "2024-01-02T22:00:00.000000Z");
    assert_eq!(url.expiration, None);
    assert_eq!(url.description().as_deref(), Some("multi\nline description"));
    assert_eq!(url.origin, format!("{path}:4"));

    // Cells are trimmed; the record after a two-line one is on line 6.
    let file = &got.indicators[3];
    assert_eq!(
        (file.value.as_str(), file.xsoar_type.as_str(), file.score),
        ("44d88612fea8a8f36de82e1278abb02f", "File", 3)
    );
    assert_eq!(file.created.to_micros_string(), "2024-01-04T00:00:00.000000Z");
    assert_eq!(file.origin, format!("{path}:6"));
}

#[test]
fn reports_each_bad_row_with_its_line() {
    let got = import_text("bad.csv", &std::fs::read_to_string(fixture("bad.csv")).unwrap()).unwrap();
    let values: Vec<&str> = got.indicators.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(values, ["1.1.1.1", "8.8.8.8"]);
    assert_eq!(got.indicators[1].score, 1);
    assert_eq!(got.indicators[1].origin, "bad.csv:11");
    assert_eq!(
        errors(&got.errors),
        [
            "bad.csv:3: the \"value\" cell is empty",
            "bad.csv:4: the \"indicator_type\" cell is empty: give the XSOAR type, e.g. IP, Domain, URL, File",
            "bad.csv:5: \"score\" must be 0, 1, 2, 3 or Unknown, Good, Suspicious, Bad, not \"7\"",
            "bad.csv:6: \"modified\": 'last tuesday' is not a timestamp: expected 4 digits of the year at character 1; \
             use RFC 3339, e.g. 2025-01-31T12:00:00.000000Z",
            "bad.csv:7: \"modified\" is empty: without a time the indicator's version is unknowable",
            "bad.csv:8: 6 cells, but the header has 5 columns (a cell that contains ',' must be in double quotes)",
            "bad.csv:10: 2 cells, but the header has 5 columns (a cell that contains ',' must be in double quotes)",
        ]
    );
}

#[test]
fn reads_excel_semicolon_exports_with_display_names() {
    let got = import_file(Path::new(&fixture("excel-semicolon.csv"))).unwrap();
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    let ind = &got.indicators[0];
    assert_eq!((ind.value.as_str(), ind.xsoar_type.as_str(), ind.score), ("evil.example", "Domain", 3));
    assert_eq!(ind.tags, ["a", "b"]);
    assert_eq!(ind.created.to_micros_string(), "2024-04-01T00:00:00.000000Z");
    assert_eq!(ind.modified.to_micros_string(), "2024-05-01T00:00:00.000000Z");
}

#[test]
fn tabs_and_a_byte_order_mark() {
    let got =
        import_text("feed.tsv", "\u{feff}value\ttype\tmodified\ttags\nx.example\tDomain\t2024-01-01\ta; b\n").unwrap();
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.indicators[0].value, "x.example");
    assert_eq!(got.indicators[0].tags, ["a", "b"]);
}

#[test]
fn header_problems_fail_the_whole_file() {
    let cases = [
        ("", "x.csv: the file is empty: a CSV input needs a header row (value,type,…) and one row per indicator"),
        (
            "name,type,modified\n",
            "x.csv: the header row has no \"value\" column (it has \"name\", \"type\", \"modified\")",
        ),
        (
            "value,modified\n",
            "x.csv: the header row has no \"type\" (or \"indicator_type\") column for the XSOAR type (it has \"value\", \"modified\")",
        ),
        (
            "value,type,score\n",
            "x.csv: the header row has neither a \"modified\" nor a \"timestamp\" column: without one an indicator's \
             version is unknowable (it has \"value\", \"type\", \"score\")",
        ),
        ("value,type,indicator_type,modified\n", "x.csv: columns 2 and 3 of the header row are both \"type\": keep one"),
        ("value,type,,modified\n", "x.csv: column 3 of the header row has no name: name every column"),
        ("value,Type,created,First Seen\n", "x.csv: columns 3 and 4 of the header row are both \"timestamp\": keep one"),
    ];
    for (text, want) in cases {
        let e = import_text("x.csv", text).expect_err(text);
        assert_eq!(e.to_string(), want);
    }
}

#[test]
fn a_header_without_rows_is_no_indicators_and_no_errors() {
    let got = import_text("x.csv", "value,type,modified\n").unwrap();
    assert!(got.indicators.is_empty() && got.errors.is_empty());
}
