//! `taxii-edge build --previous DIR` and `--keep-versions` through the CLI: the new directory holds every blob
//! its snapshot references (the reused ones linked from the previous directory, byte for byte), only the changed
//! objects are written anew, and a previous snapshot of another format is refused with what to do.

use edge_feed::snapshot_dir::SnapshotDir;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taxii-edge-snapshot-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn feed(dir: &Path, name: &str, n: usize, changed_every: usize) -> String {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let modified = if changed_every > 0 && i % changed_every == 0 { "2024-03-01" } else { "2024-02-01" };
            format!(
                r#"{{"value":"10.2.{}.{}","indicator_type":"IP","score":2,"timestamp":"2024-01-01T00:00:00Z","modified":"{modified}T00:00:00Z"}}"#,
                i / 256,
                i % 256
            )
        })
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n")).unwrap();
    path.display().to_string()
}

fn build(dir: &Path, input: &str, out: &str, now: &str, extra: &[&str]) -> Output {
    let config = dir.join("collections.json");
    std::fs::write(&config, r#"{"IPs": "type:IP", "All": ""}"#).unwrap();
    let out = dir.join(out);
    let mut args =
        vec!["build", "--config", config.to_str().unwrap(), "--input", input, "--out", out.to_str().unwrap()];
    args.extend(["--now", now]);
    args.extend(extra);
    Command::new(env!("CARGO_BIN_EXE_taxii-edge")).args(&args).output().unwrap()
}

fn ok(o: Output) {
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_build_on_a_previous_directory_reuses_its_blobs_and_holds_all_it_needs() {
    let dir = scratch("reuse");
    let first = feed(&dir, "a.jsonl", 3000, 0);
    ok(build(&dir, &first, "one", "2025-01-01T00:00:00Z", &[]));
    let second = feed(&dir, "b.jsonl", 3000, 100);
    let prev = dir.join("one").display().to_string();
    ok(build(&dir, &second, "two", "2025-01-02T00:00:00Z", &["--previous", &prev, "--keep-versions", "7"]));
    let one = SnapshotDir::open(&dir.join("one")).unwrap();
    let two = SnapshotDir::open(&dir.join("two")).unwrap();
    let keys1: BTreeSet<String> = one.keys().unwrap().into_iter().collect();
    let keys2 = two.keys().unwrap();
    let mut new_bytes = 0;
    let mut total = 0;
    for k in &keys2 {
        // Every referenced blob is there and intact (publish reads them from this directory).
        let bytes = two.blob(k).unwrap();
        total += bytes.len();
        if !keys1.contains(k) {
            new_bytes += bytes.len();
        }
    }
    let reused = keys2.iter().filter(|k| k.starts_with("segment/") && keys1.contains(*k)).count();
    assert!(reused >= 4, "segments reused: {reused}");
    assert!(new_bytes * 10 < total, "{new_bytes} of {total} bytes are new");
}

#[test]
fn keep_versions_takes_days_and_a_format_1_previous_is_refused() {
    let dir = scratch("format");
    let first = feed(&dir, "a.jsonl", 10, 0);
    let o = build(&dir, &first, "x", "2025-01-01T00:00:00Z", &["--keep-versions", "soon"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--keep-versions"));
    ok(build(&dir, &first, "one", "2025-01-01T00:00:00Z", &["--keep-versions", "0"]));
    // Make the previous snapshot claim format 1.
    let one = dir.join("one");
    let snap = SnapshotDir::open(&one).unwrap();
    let path = one.join("blobs").join(&snap.file.manifest);
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["format"] = 1.into();
    let bytes = serde_json::to_vec(&m).unwrap();
    let key = edge_core::snapshot::format::blob_key("manifest", &bytes);
    std::fs::write(one.join("blobs").join(&key), &bytes).unwrap();
    let file =
        serde_json::json!({"snapshot": key.rsplit('/').next().unwrap(), "manifest": key, "created": snap.file.created});
    std::fs::write(one.join("snapshot.json"), file.to_string()).unwrap();
    let o = build(&dir, &first, "two", "2025-01-02T00:00:00Z", &["--previous", one.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("format 1") && err.contains("without") && err.contains("--previous"), "{err}");
}

#[test]
fn blobs_are_written_whole_and_a_write_that_fails_fails_the_build() {
    let dir = scratch("write");
    let input = feed(&dir, "a.jsonl", 2500, 0);
    ok(build(&dir, &input, "one", "2025-01-01T00:00:00Z", &[]));
    // Each blob went to `<key>.partial` and was renamed into place: none is left behind.
    let mut stack = vec![dir.join("one").join("blobs")];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files += 1;
                assert!(!p.to_string_lossy().ends_with(".partial"), "left behind: {}", p.display());
            }
        }
    }
    assert!(files >= 5, "{files} blobs");
    // A directory the writer cannot write into (its `blobs` is a file): the build fails, naming the path.
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("blobs"), b"not a directory").unwrap();
    let o = build(&dir, &input, "bad", "2025-01-01T00:00:00Z", &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot create") && err.contains("blobs"), "{err}");
    assert!(!bad.join("snapshot.json").exists(), "a failed build must not name a snapshot");
}
