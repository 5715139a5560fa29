//! Importing through the CLI: several inputs of both formats into one build, bad records failing the build
//! (or skipped and listed with --skip-bad), and a query that does not parse failing it with its position.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    edge_testkit::repo("tests/fixtures/import").join(name).display().to_string()
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taxii-edge-import-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn build(dir: &Path, collections: &str, extra: &[&str]) -> Output {
    let config = dir.join("collections.json");
    std::fs::write(&config, collections).unwrap();
    let csv = fixture("cli.csv");
    let json = fixture("api-variant.json");
    let out = dir.join("out");
    let mut args = vec!["build", "--config", config.to_str().unwrap(), "--input", &csv, "--input", &json];
    args.extend(["--out", out.to_str().unwrap(), "--now", "2025-01-01T00:00:00Z"]);
    args.extend(extra);
    Command::new(env!("CARGO_BIN_EXE_taxii-edge")).args(&args).output().unwrap()
}

const COLLECTIONS: &str = r#"{"IPs": "type:IP", "Bad": "score:Bad", "APT28": "tags:apt28", "Suspicious+": "reputation:>=Suspicious -type:IP"}"#;

fn bad_records(prefix: &str) -> Vec<String> {
    let (csv, json) = (fixture("cli.csv"), fixture("api-variant.json"));
    vec![
        format!(
            "{prefix}: {csv}:4: \"Reputation\" must be 0, 1, 2, 3 or Unknown, Good, Suspicious, Bad, not \"Great\""
        ),
        format!("{prefix}: {json}:[2]: missing \"indicator_type\" (or \"type\"): the XSOAR type, e.g. \"IP\""),
        format!("{prefix}: {json}:[3]: \"score\" must be 0, 1, 2 or 3 or Unknown, Good, Suspicious, Bad, not \"High\""),
        format!("{prefix}: {json}:[4]: \"customFields\" must be an object"),
        format!("{prefix}: {json}:[5]: an indicator must be a JSON object"),
    ]
}

#[test]
fn bad_records_fail_the_build_and_each_is_listed() {
    let dir = scratch("fail");
    let out = build(&dir, COLLECTIONS, &[]);
    assert_eq!(out.status.code(), Some(2), "bad input: exit code 2");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let mut want = bad_records("bad record");
    want.push("error: 5 bad records: fix them, or pass --skip-bad to build without them".into());
    assert_eq!(stderr.lines().collect::<Vec<_>>(), want);
    assert!(!dir.join("out").exists(), "nothing is written when the build fails");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn skip_bad_lists_every_skipped_record_and_builds_the_rest() {
    let dir = scratch("skip");
    let out = build(&dir, COLLECTIONS, &["--skip-bad"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.lines().collect::<Vec<_>>(), bad_records("skipped"));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let counts: Vec<(String, String)> = stdout
        .lines()
        .filter(|l| l.len() > 38 && l.as_bytes()[8] == b'-')
        .map(|l| {
            let cols: Vec<&str> = l[38..].split_whitespace().collect();
            let count_at = cols.iter().position(|c| c.parse::<u64>().is_ok()).unwrap();
            (cols[..count_at].join(" "), cols[count_at].to_string())
        })
        .collect();
    // Good records: 8.8.8.8 (IP, Bad, apt28) and login.example.com (Domain, Suspicious) from the CSV;
    // 1.2.3.4 (IP, Bad, apt28) and bad.example (Domain, 2) from the JSON. Each collection also serves the
    // producer identity its objects' created_by_ref names.
    let want = [("IPs", "3"), ("Bad", "3"), ("APT28", "3"), ("Suspicious+", "3")];
    assert_eq!(counts, want.map(|(a, b)| (a.to_string(), b.to_string())), "{stdout}");
    assert!(stdout.contains("4 indicators read, 5 skipped"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_query_that_does_not_parse_fails_the_build_with_its_position() {
    let dir = scratch("query");
    let out = build(&dir, r#"{"IPs": "type:IP", "Broken": "type:IP and (score:>=2"}"#, &["--skip-bad"]);
    assert_eq!(out.status.code(), Some(2), "bad input: exit code 2");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.ends_with(
            "collection \"Broken\": the query \"type:IP and (score:>=2\" does not parse at character 23: expected ')' \
             to close the '(' at character 13, found the end of the query\n"
        ),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
