//! The demo feed in demo/: it is exactly what the command documented in demo/README.md writes (so it cannot
//! rot), it imports without a single error, and every demo collection selects something.

use edge_feed::config::parse_collections;
use edge_feed::import::xsoar::import_str;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_taxii-edge");

/// The arguments of the `taxii-edge generate …` line in demo/README.md.
fn documented_command() -> Vec<String> {
    let readme = std::fs::read_to_string(edge_testkit::repo("demo/README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("taxii-edge generate") && l.contains("demo/indicators.json"))
        .expect("demo/README.md documents the command that wrote demo/indicators.json");
    line.split_whitespace().skip(1).map(String::from).collect()
}

#[test]
fn the_demo_file_is_what_the_documented_command_writes() {
    let mut args = documented_command();
    let out = args.iter().position(|a| a == "--out").expect("the command names its --out file");
    assert_eq!(args[out + 1], "demo/indicators.json");
    args.drain(out..out + 2); // write to standard output instead
    let run = Command::new(BIN).args(&args).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let committed = std::fs::read(edge_testkit::repo("demo/indicators.json")).unwrap();
    assert!(
        run.stdout == committed,
        "demo/indicators.json is not what `taxii-edge {}` writes: regenerate it with the command in demo/README.md",
        args.join(" ")
    );
    assert!(String::from_utf8_lossy(&run.stderr).starts_with("generated 300 indicators: "));
}

#[test]
fn the_demo_imports_without_errors_and_every_collection_selects_something() {
    let text = std::fs::read_to_string(edge_testkit::repo("demo/indicators.json")).unwrap();
    let got = import_str("demo/indicators.json", &text).unwrap();
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.indicators.len(), 300);

    let collections =
        parse_collections(&std::fs::read_to_string(edge_testkit::repo("demo/collections.json")).unwrap()).unwrap();
    assert!(collections.len() >= 5);
    for c in &collections {
        let n = got.indicators.iter().filter(|i| c.query.matches(i)).count();
        assert!(n > 0, "collection \"{}\" ({}) selects nothing", c.name, c.query_text);
        assert!(!c.description.is_empty(), "collection \"{}\" has no description", c.name);
    }
    let all = collections.iter().find(|c| c.query_text.is_empty()).expect("an all-indicators collection");
    assert_eq!(got.indicators.iter().filter(|i| all.query.matches(i)).count(), 300);
}

#[test]
fn the_command_writes_a_file_and_rejects_bad_options() {
    let path = std::env::temp_dir().join(format!("taxii-edge-generate-{}.jsonl", std::process::id()));
    let run = Command::new(BIN)
        .args(["generate", "--count", "50", "--seed", "3", "--now", "2026-01-01T00:00:00Z", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(text.lines().count(), 50);
    assert!(import_str("x.jsonl", &text).unwrap().errors.is_empty());

    let bad_now = Command::new(BIN).args(["generate", "--count", "1", "--now", "yesterday"]).output().unwrap();
    assert_eq!(bad_now.status.code(), Some(2), "bad input: exit code 2 (see taxii-edge --help)");
    assert!(String::from_utf8_lossy(&bad_now.stderr).starts_with("error: --now: "), "{bad_now:?}");

    let bad_format = Command::new(BIN).args(["generate", "--count", "1", "--format", "xml"]).output().unwrap();
    assert!(!bad_format.status.success());
    assert!(String::from_utf8_lossy(&bad_format.stderr).contains("use json or jsonl"), "{bad_format:?}");

    let bad_out =
        Command::new(BIN).args(["generate", "--count", "1", "--out", "/nonexistent/dir/x.json"]).output().unwrap();
    assert_eq!(bad_out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_out.stderr).contains("cannot create /nonexistent/dir/x.json"));
}
