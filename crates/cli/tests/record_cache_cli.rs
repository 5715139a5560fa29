//! `taxii-edge build --cache DIR` through the CLI: a build that takes records from the cache makes exactly the
//! snapshot a build without it makes (every blob byte for byte), renders only the records it has not seen, never
//! trusts a damaged or foreign cache, reports bad records as a build without it does, and rewrites its data when
//! most of it is no longer used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taxii-edge-record-cache-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taxii-edge")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Indicators of every XSOAR type (relationships, tags, TLP, custom fields), one per line.
fn generated(dir: &Path, count: usize) -> Vec<String> {
    let path = dir.join("generated.jsonl");
    let o = run(&[
        "generate",
        "--count",
        &count.to_string(),
        "--seed",
        "7",
        "--now",
        "2026-01-01T00:00:00Z",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
}

/// Collections with three rendering variants (the build's, an `as_indicator` one and the xsoar profile).
const COLLECTIONS: &str = r#"{
  "All": "",
  "Bad": "score:>=2",
  "Network": "type:IP or type:Domain or type:URL",
  "Sentinel": {"query": "", "as_indicator": ["ipv4-addr", "domain-name", "url", "file"]},
  "XSOAR": {"query": "", "profile": "xsoar"}
}"#;

/// Runs `build` on `lines` (written to `<out>.jsonl`) into `out`, with `extra` options.
fn run_build(dir: &Path, lines: &[String], out: &str, extra: &[&str]) -> Output {
    let config = dir.join("collections.json");
    if !config.exists() {
        std::fs::write(&config, COLLECTIONS).unwrap();
    }
    let input = dir.join(format!("{out}.jsonl"));
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = dir.join(out);
    let (config, input, out) = (config.to_str().unwrap(), input.to_str().unwrap(), out.to_str().unwrap());
    let mut args = vec!["build", "--config", config, "--input", input, "--out", out, "--now", "2026-01-02T00:00:00Z"];
    args.extend(extra);
    run(&args)
}

/// Builds `lines` into `out`, skipping bad records; returns the snapshot id and the output.
fn build(dir: &Path, lines: &[String], out: &str, extra: &[&str]) -> (String, Output) {
    let o = run_build(dir, lines, out, &[&["--skip-bad"], extra].concat());
    assert!(o.status.success(), "{}", text(&o));
    let id = text(&o).lines().find_map(|l| l.strip_prefix("snapshot ")).unwrap().split(' ').next().unwrap().into();
    (id, o)
}

/// Every blob of a snapshot directory, by key.
fn blobs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for kind in std::fs::read_dir(dir.join("blobs")).unwrap().flatten() {
        for blob in std::fs::read_dir(kind.path()).unwrap().flatten() {
            let key = format!("{}/{}", kind.file_name().to_string_lossy(), blob.file_name().to_string_lossy());
            out.insert(key, std::fs::read(blob.path()).unwrap());
        }
    }
    out
}

/// The reused and rendered counts the build printed.
fn cache_counts(o: &Output) -> (usize, usize) {
    let all = text(o);
    let line = all.lines().find(|l| l.starts_with("record cache ")).unwrap_or_else(|| panic!("no cache line:\n{all}"));
    let numbers: Vec<usize> = line.split(": ").nth(1).unwrap().split(' ').filter_map(|w| w.parse().ok()).collect();
    (numbers[0], numbers[1])
}

/// A scratch directory, the cache path in it and `count` generated records.
fn setup(tag: &str, count: usize) -> (PathBuf, PathBuf, Vec<String>) {
    let dir = scratch(tag);
    let lines = generated(&dir, count);
    (dir.clone(), dir.join("cache"), lines)
}

/// Fills the cache with `lines`; returns how many records rendered (all of them are in the cache then).
fn fill(dir: &Path, cache: &str, lines: &[String]) -> usize {
    let (_, o) = build(dir, lines, "fill", &["--cache", cache]);
    let (reused, rendered) = cache_counts(&o);
    assert_eq!(reused, 0, "a new cache");
    rendered
}

/// Every 100th line gets a later `modified` (a new version of that indicator).
fn changed(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i % 100 != 0 {
                return l.clone();
            }
            let at = l.find("\"modified\":\"").unwrap() + "\"modified\":\"".len();
            let end = at + l[at..].find('"').unwrap();
            format!("{}2025-12-31T12:00:00Z{}", &l[..at], &l[end..])
        })
        .collect()
}

#[test]
fn a_cached_build_is_byte_for_byte_the_build_without_the_cache() {
    let (dir, cache, lines) = setup("same", 3000);
    let cache = cache.to_str().unwrap();
    let (plain, _) = build(&dir, &lines, "plain", &[]);
    let (first, o) = build(&dir, &lines, "first", &["--cache", cache]);
    let (reused, misses) = cache_counts(&o);
    assert_eq!(reused, 0);
    assert!(misses > 2000, "most generated records render: {misses}");
    let (second, o) = build(&dir, &lines, "second", &["--cache", cache]);
    assert_eq!(cache_counts(&o), (misses, 0), "every record that rendered comes from the cache");
    assert_eq!((&first, &second), (&plain, &plain));
    assert_eq!(blobs(&dir.join("second")), blobs(&dir.join("plain")));

    // 1% changed, one record gone and one twice: on the previous snapshot, with and without the cache.
    let mut next = changed(&lines);
    next.remove(5);
    next.push(next[7].clone());
    let previous = dir.join("plain").display().to_string();
    let (plain2, _) = build(&dir, &next, "plain2", &["--previous", &previous]);
    let (cached2, o) = build(&dir, &next, "cached2", &["--previous", &previous, "--cache", cache]);
    assert_eq!(cached2, plain2);
    assert_eq!(blobs(&dir.join("cached2")), blobs(&dir.join("plain2")));
    let (reused, rendered) = cache_counts(&o);
    assert_eq!(rendered, 30, "only the 30 changed records are rendered");
    assert_eq!(reused + rendered, misses, "{reused} + {rendered}: every other record from the cache");
}

#[test]
fn a_damaged_cache_is_rendered_again_and_never_trusted() {
    let (dir, cache_dir, lines) = setup("damaged", 800);
    let cache = cache_dir.to_str().unwrap();
    let (plain, _) = build(&dir, &lines, "plain", &[]);
    let all = fill(&dir, cache, &lines);

    // Bytes flipped in the middle of the data: those entries fail their checksum and are rendered again.
    let data = cache_dir.join("data-0");
    let mut bytes = std::fs::read(&data).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&data, &bytes).unwrap();
    let (id, o) = build(&dir, &lines, "flipped", &["--cache", cache]);
    assert_eq!(id, plain);
    let (reused, rendered) = cache_counts(&o);
    assert!((1..5).contains(&rendered), "the damaged entries only: {rendered}");
    assert_eq!(reused + rendered, all);

    // A cut index or one of garbage: the cache starts afresh.
    let index = cache_dir.join("index");
    let cut = std::fs::read(&index).unwrap();
    std::fs::write(&index, &cut[..cut.len() / 2]).unwrap();
    let (id, o) = build(&dir, &lines, "cut", &["--cache", cache]);
    assert_eq!((id, cache_counts(&o)), (plain.clone(), (0, all)));
    std::fs::write(&index, b"not an index").unwrap();
    let (id, o) = build(&dir, &lines, "garbage", &["--cache", cache]);
    assert_eq!((id, cache_counts(&o)), (plain.clone(), (0, all)));

    // Data cut short under an index that names it: the entries past the end are misses, not errors.
    let (_, o) = build(&dir, &lines, "again", &["--cache", cache]);
    assert_eq!(cache_counts(&o), (all, 0));
    let data = std::fs::read_dir(&cache_dir).unwrap().flatten().find(|e| e.file_name() != "index").unwrap().path();
    let len = std::fs::metadata(&data).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&data).unwrap().set_len(len / 2).unwrap();
    let (id, o) = build(&dir, &lines, "short", &["--cache", cache]);
    assert_eq!(id, plain);
    assert_eq!(cache_counts(&o).0 + cache_counts(&o).1, all);
}

#[test]
fn another_configuration_does_not_use_the_cache() {
    let (dir, cache, lines) = setup("key", 500);
    let cache = cache.to_str().unwrap();
    let all = fill(&dir, cache, &lines);
    // Other render options: nothing reused, and the snapshot is that configuration's own.
    let (plain, _) = build(&dir, &lines, "plain", &["--producer", "someone else"]);
    let (id, o) = build(&dir, &lines, "other", &["--cache", cache, "--producer", "someone else"]);
    assert_eq!((id, cache_counts(&o)), (plain, (0, all)));
    // Other collections (a query changed).
    std::fs::write(dir.join("collections.json"), COLLECTIONS.replace("score:>=2", "score:3")).unwrap();
    let (plain, _) = build(&dir, &lines, "plain2", &[]);
    let (id, o) = build(&dir, &lines, "other2", &["--cache", cache]);
    assert_eq!((id, cache_counts(&o)), (plain, (0, all)));
}

#[test]
fn bad_records_are_reported_with_the_cache_as_without_it() {
    let (dir, cache, mut lines) = setup("bad", 200);
    let cache = cache.to_str().unwrap();
    lines.insert(10, "{not json".to_string());
    lines.insert(20, r#"{"value":"x","indicator_type":"No Such Type","timestamp":"2025-01-01T00:00:00Z"}"#.to_string());
    let skipped = |o: &Output| {
        let mut s: Vec<String> = text(o).lines().filter(|l| l.starts_with("skipped: ")).map(str::to_string).collect();
        s.sort();
        s
    };
    let (plain, o) = build(&dir, &lines, "plain", &[]);
    let want = skipped(&o);
    assert_eq!(want.len(), 2, "{want:?}");
    for round in ["first", "second"] {
        let (id, o) = build(&dir, &lines, "plain", &["--cache", cache]);
        assert_eq!(id, plain, "{round}");
        assert_eq!(skipped(&o), want, "{round}: the same records, positions and reasons");
    }
    // Without --skip-bad the build fails the same way with the cache.
    let o = run_build(&dir, &lines, "strict", &["--cache", cache]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("strict.jsonl:11: not JSON"), "{}", text(&o));
}

#[test]
fn the_data_is_written_anew_when_most_of_it_is_no_longer_used() {
    let (dir, cache_dir, lines) = setup("compact", 600);
    let cache = cache_dir.to_str().unwrap();
    let (_, o) = build(&dir, &lines, "a", &["--cache", cache]);
    let (_, all) = cache_counts(&o);
    // Every record changed: the old entries are dead, more than half the data: a new generation.
    let moved: Vec<String> = lines.iter().map(|l| l.replace("\"score\":", "\"x_moved\":1,\"score\":")).collect();
    let (plain, _) = build(&dir, &moved, "plain", &[]);
    let (id, o) = build(&dir, &moved, "b", &["--cache", cache]);
    assert_eq!((id, cache_counts(&o)), (plain.clone(), (0, all)));
    let names: Vec<String> =
        std::fs::read_dir(&cache_dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
    assert!(names.contains(&"data-1".to_string()) && !names.contains(&"data-0".to_string()), "{names:?}");
    let (id, o) = build(&dir, &moved, "c", &["--cache", cache]);
    assert_eq!((id, cache_counts(&o)), (plain, (all, 0)));
}
