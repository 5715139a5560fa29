//! The CLI a script relies on, through the real binary: `--help` everywhere, the documented exit codes,
//! `validate` (writes nothing), `collections` of a snapshot directory, and `prune` of a snapshot directory
//! (dry run, the keep window, nothing reachable deleted).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    edge_testkit::repo("tests/fixtures/import").join(name).display().to_string()
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taxii-edge-cli-commands-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taxii-edge")).args(args).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.display().to_string()
}

fn ips(range: std::ops::Range<usize>) -> String {
    range
        .map(|i| {
            format!(
                r#"{{"value": "10.0.{}.{}", "indicator_type": "IP", "score": {}, "modified": "2025-01-01T00:00:00Z"}}"#,
                i / 256,
                i % 256,
                i % 4
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_command_has_help_naming_the_exit_codes() {
    for cmd in ["build", "publish", "prune", "collections", "info", "validate"] {
        let o = run(&[cmd, "--help"]);
        let (out, _) = text(&o);
        assert_eq!(o.status.code(), Some(0), "{cmd}");
        assert!(out.contains("Exit codes: 0 success; 1 the operation failed"), "{cmd}: {out}");
    }
    let o = run(&["--help"]);
    assert!(text(&o).0.contains("prune"));
    // Bad usage is 2.
    assert_eq!(run(&["prune"]).status.code(), Some(2));
    assert_eq!(run(&["publish", "dir", "--url", "http://x", "--token", "t", "--keep", "soon"]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn validate_reports_counts_and_writes_nothing() {
    let dir = scratch("validate");
    let config = write(&dir, "c.json", r#"{"IPs": "type:IP", "Bad": "score:Bad", "Nothing": "type:Domain"}"#);
    let input = write(&dir, "in.jsonl", &ips(0..10));
    let o = run(&["validate", "--config", &config, "--input", &input]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let row = |name: &str| out.lines().find(|l| l.contains(&format!("  {name} "))).unwrap().to_string();
    assert!(row("IPs").split_whitespace().any(|w| w == "10"), "{out}");
    assert!(row("Bad").split_whitespace().any(|w| w == "2"), "{out}");
    assert!(row("Nothing").split_whitespace().any(|w| w == "0"), "{out}");
    assert!(out.contains("valid: 3 collections, 1 inputs, 10 records, 0 bad; nothing written"), "{out}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2, "validate writes nothing");

    // Bad records: each listed with its position and reason, exit 2.
    let o = run(&["validate", "--config", &config, "--input", &fixture("cli.csv"), &fixture("api-variant.json")]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains(&format!("bad record: {}:[2]: missing \"indicator_type\"", fixture("api-variant.json"))),
        "{err}"
    );
    assert!(err.contains(&format!("bad record: {}:4: \"Reputation\" must be", fixture("cli.csv"))), "{err}");
    assert!(err.contains("error: 5 bad records (listed above)"), "{err}");
    assert!(out.contains("INVALID: 3 collections, 2 inputs"), "{out}");

    // A query that does not parse: its position, exit 2.
    let broken = write(&dir, "broken.json", r#"{"IPs": "type:IP and ("}"#);
    let o = run(&["validate", "--config", &broken]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("does not parse at character 14: expected a term"), "{err}");
    // A bad client setting: the collection and the setting named, exit 2.
    let profile = write(&dir, "profile.json", r#"{"IPs": {"query": "type:IP", "profile": "soar"}}"#);
    let o = run(&["validate", "--config", &profile]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains(r#"collection "IPs": "profile" "soar" is not a profile"#), "{}", text(&o).1);
    let types = write(&dir, "types.json", r#"{"IPs": {"query": "type:IP", "as_indicator": ["ipv4"]}}"#);
    let o = run(&["validate", "--config", &types]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains(r#"collection "IPs": "as_indicator": "ipv4" is not an SCO type"#), "{}", text(&o).1);
    // A configuration that is not JSON.
    let notjson = write(&dir, "notjson.json", "{");
    let o = run(&["validate", "--config", &notjson]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("the collections must be a JSON object"));
}

#[test]
fn build_exit_codes() {
    let dir = scratch("build");
    let config = write(&dir, "c.json", r#"{"IPs": "type:IP"}"#);
    let out = dir.join("snap").display().to_string();
    let o = run(&["build", "--config", &config, "--input", &fixture("api-variant.json"), "--out", &out]);
    assert_eq!(o.status.code(), Some(2), "bad records are bad input");
    let missing = dir.join("nope.json").display().to_string();
    let o = run(&["build", "--config", &config, "--input", &missing, "--out", &out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("cannot read the file"));
    // A worker that cannot be reached: the operation failed, 1.
    let input = write(&dir, "in.jsonl", &ips(0..3));
    assert_eq!(run(&["build", "--config", &config, "--input", &input, "--out", &out]).status.code(), Some(0));
    let o = run(&["publish", &out, "--url", "http://127.0.0.1:9", "--token", "t"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("cannot reach http://127.0.0.1:9/admin/missing"));
    // Not a snapshot directory: bad input, 2.
    let o = run(&["publish", &dir.display().to_string(), "--url", "http://127.0.0.1:9", "--token", "t"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("is not a snapshot directory"));
}

#[test]
fn collections_of_a_snapshot_directory() {
    let dir = scratch("collections");
    let config = write(&dir, "c.json", r#"{"IPs": "type:IP", "Bad": {"query": "score:Bad", "description": "d"}}"#);
    let input = write(&dir, "in.jsonl", &ips(0..8));
    let out = dir.join("snap").display().to_string();
    let o = run(&["build", "--config", &config, "--input", &input, "--out", &out, "--producer", ""]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let o = run(&["collections", &out]);
    let (table, _) = text(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(table.lines().any(|l| l.contains(" IPs ") && l.contains(" 8  type:IP")), "{table}");
    assert!(table.lines().any(|l| l.contains(" Bad ") && l.contains(" 2  score:Bad")), "{table}");
    assert!(table.contains("2 collections, 10 objects, snapshot "), "{table}");
    let o = run(&["collections", &out, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["collections"][1]["title"], "Bad");
    assert_eq!(v["collections"][1]["description"], "d");
    assert_eq!(v["collections"][0]["count"], 8);
    assert_eq!(v["collections"][0]["types"]["ipv4-addr"], 8);
    let o = run(&["collections", &dir.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
}

fn blob_files(snapshot: &str) -> Vec<String> {
    let mut out = Vec::new();
    for kind in std::fs::read_dir(Path::new(snapshot).join("blobs")).unwrap() {
        let kind = kind.unwrap();
        for f in std::fs::read_dir(kind.path()).unwrap() {
            out.push(format!("{}/{}", kind.file_name().to_string_lossy(), f.unwrap().file_name().to_string_lossy()));
        }
    }
    out.sort();
    out
}

#[test]
fn prune_a_snapshot_directory() {
    let dir = scratch("prune");
    let config = write(&dir, "c.json", r#"{"IPs": "type:IP"}"#);
    let out = dir.join("snap").display().to_string();
    // Two builds into one directory: the second leaves the first one's blobs behind.
    let first = write(&dir, "a.jsonl", &ips(0..2500));
    assert!(run(&["build", "--config", &config, "--input", &first, "--out", &out]).status.success());
    let before = blob_files(&out);
    let second = write(&dir, "b.jsonl", &ips(3000..3010));
    assert!(run(&["build", "--config", &config, "--input", &second, "--out", &out]).status.success());
    let all = blob_files(&out);
    assert!(all.len() > before.len());

    // Within the window (just written): nothing goes, even unreachable blobs.
    let o = run(&["prune", &out]);
    let (stdout, _) = text(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout.contains("0 deleted"), "{stdout}");
    assert_eq!(blob_files(&out), all);

    // A dry run past the window lists what would go and deletes nothing.
    let later = ["--now", "2100-01-01T00:00:00Z"];
    let o = run(&["prune", &out, "--dry-run", later[0], later[1]]);
    let (stdout, _) = text(&o);
    assert_eq!(o.status.code(), Some(0));
    let would: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("would delete ")).collect();
    assert!(!would.is_empty(), "{stdout}");
    assert!(stdout.contains("would be deleted (dry run: nothing deleted)"), "{stdout}");
    assert_eq!(blob_files(&out), all);

    // For real: exactly those go, and the current snapshot is whole (its collections read).
    let o = run(&["prune", &out, later[0], later[1]]);
    assert_eq!(o.status.code(), Some(0));
    let left = blob_files(&out);
    assert_eq!(left.len(), all.len() - would.len());
    assert!(would.iter().all(|k| !left.contains(&k.to_string())));
    let o = run(&["collections", &out]);
    assert!(text(&o).0.contains("1 collections, 11 objects"), "{:?}", text(&o));
    // Every blob left is one the snapshot reaches: a second prune deletes nothing.
    let o = run(&["prune", &out, "--keep", "0"]);
    assert!(text(&o).0.contains("0 deleted"));
    let o = run(&["prune", &out, "--keep", "a while"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("--keep: \"a while\" is not a duration"));
}

#[test]
fn stix_bundles_combine_with_other_inputs() {
    let dir = scratch("stix");
    let config = write(&dir, "c.json", r#"{"All": "", "APT28": "tags:apt28", "IPs": "type:IP"}"#);
    let ips_file = write(&dir, "in.jsonl", &ips(0..5));
    let out = dir.join("snap").display().to_string();
    let bundle = fixture("stix-bundle.json");
    let bad = fixture("stix-bad.json");
    // Bad objects fail the build (exit 2), each listed with its position.
    let o = run(&["build", "--config", &config, "--input", &bundle, &bad, &ips_file, "--out", &out, "--producer", ""]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains(&format!("bad record: {bad}:[5]: unknown STIX type \"gadget\"")), "{err}");
    assert!(err.contains("error: 16 bad records: fix them, or pass --skip-bad"), "{err}");
    assert!(!Path::new(&out).join("snapshot.json").exists());
    // --skip-bad: built without them, each listed as skipped.
    let o = run(&[
        "build",
        "--config",
        &config,
        "--input",
        &bundle,
        &bad,
        &ips_file,
        "--out",
        &out,
        "--producer",
        "",
        "--skip-bad",
    ]);
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("skipped: ")).count(), 16, "{err}");
    assert!(stdout.contains("15 indicators read, 16 skipped"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&run(&["collections", &out, "--json"]).stdout).unwrap();
    let count = |title: &str| {
        v["collections"].as_array().unwrap().iter().find(|c| c["title"] == title).unwrap()["count"].clone()
    };
    // IPs: 5 XSOAR IPs, the STIX IP indicator, the STIX address (the bad file's one good object is the same address,
    // same id and version: served once), and TLP:GREEN.
    assert_eq!(count("IPs"), 8);
    assert_eq!(count("APT28"), 8);
}
