//! The streamed build path equals the whole one: a large JSON-lines file read record by record gives the same
//! indicators and bad records as reading it whole, and a snapshot built from batches of prepared indicators
//! (what the CLI does) is byte for byte the in-memory build of the same indicators.

use edge_core::time::Timestamp;
use edge_feed::build::{build, build_prepared_to_dir, BuildInput, History, Prepared};
use edge_feed::config::parse_collections;
use edge_feed::generate::{generate, Format, Options};
use edge_feed::import::{import_file, import_file_each};
use edge_feed::stix::RenderOptions;
use std::collections::BTreeMap;

fn now() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
}

/// 3,000 generated indicators as JSON lines (well over the size read whole), with bad lines among them.
fn feed(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = Vec::new();
    generate(&Options { count: 3000, seed: 7, now: now(), format: Format::Jsonl }, &mut text).unwrap();
    let mut lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    lines.insert(5, b"not json".to_vec());
    lines.insert(100, b"".to_vec());
    lines.insert(200, br#"{"indicator_type":"IP","modified":"2024-01-01T00:00:00Z"}"#.to_vec());
    lines.insert(300, br#"{"value":"x","indicator_type":"Nonsense Type","modified":"2024-01-01T00:00:00Z"}"#.to_vec());
    lines.insert(400, b"\r".to_vec());
    let path = dir.join("feed.jsonl");
    std::fs::write(&path, lines.join(&b"\n"[..])).unwrap();
    path
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("taxii-edge-build-stream-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn streamed_import_equals_the_whole_one() {
    let dir = tmp("import");
    let path = feed(&dir);
    assert!(std::fs::metadata(&path).unwrap().len() > 200_000);
    let whole = import_file(&path).unwrap();
    let (mut inds, mut errs) = (Vec::new(), Vec::new());
    import_file_each(&path, &mut |r| match r {
        Ok(i) => inds.push(i),
        Err(e) => errs.push(e),
    })
    .unwrap();
    assert_eq!(errs, whole.errors);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].to_string().contains("feed.jsonl:6: not JSON"), "{}", errs[0]);
    assert!(errs[1].to_string().ends_with("feed.jsonl:201: missing \"value\""), "{}", errs[1]);
    assert_eq!(inds, whole.indicators);

    // A byte that is not UTF-8 fails the whole file with the same message either way.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 100;
    bytes[at] = 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let whole = import_file(&path).unwrap_err();
    let streamed = import_file_each(&path, &mut |_| {}).unwrap_err();
    assert_eq!(streamed, whole);
    assert!(whole.reason.contains("not UTF-8"), "{whole}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_build_from_prepared_batches_equals_the_in_memory_build() {
    let dir = tmp("build");
    let path = feed(&dir);
    let indicators = import_file(&path).unwrap().indicators;
    let collections = parse_collections(
        r#"{"All": "", "IPs": "type:IP", "Bad": "score:>=2", "Tagged": "tags:ransomware or tags:apt28",
            "Feed": "sourceBrands:\"Example Phishing Feed\"", "Recent": "modified:>=\"2025-10-01\"",
            "Custom": "industrysectors:healthcare or -expirationStatus:active"}"#,
    )
    .unwrap();
    let render = RenderOptions::default();
    let previous = BTreeMap::new().into_iter().collect();
    let input = BuildInput {
        collections: &collections,
        indicators: &indicators,
        render: &render,
        now: now(),
        previous: &previous,
    };
    let whole = build(&input);
    assert_eq!(whole.render_errors.len(), 1, "{:?}", whole.render_errors);

    let mut prepared = Prepared::new(&collections, &render, now());
    for batch in indicators.chunks(700) {
        prepared.push(batch.to_vec(), &collections, &render);
    }
    assert_eq!(prepared.render_errors(), &whole.render_errors[..]);
    let out = dir.join("snap");
    let mut seen = Vec::new();
    // Each blob's key is told once the blob is in place, as a sync's early upload reads it.
    let (written, keys) = std::sync::mpsc::channel::<String>();
    let blobs_dir = out.join("blobs");
    let listener = std::thread::spawn(move || {
        keys.into_iter().map(|k| (blobs_dir.join(&k).is_file(), k)).collect::<Vec<(bool, String)>>()
    });
    let built = build_prepared_to_dir(
        &prepared,
        &collections,
        &render,
        previous.clone(),
        (History::days(30), false),
        (&out, Some(written)),
        &mut |e| {
            seen = e.to_vec();
            Ok(())
        },
    )
    .unwrap();
    let told = listener.join().unwrap();
    assert!(told.iter().all(|(there, _)| *there), "a key told before its blob was written");
    let told: std::collections::BTreeSet<&String> = told.iter().map(|(_, k)| k).collect();
    assert_eq!(told, whole.blobs.keys().collect(), "every blob written is told, once the build ends");
    assert_eq!(seen, whole.render_errors);
    assert_eq!(built.snapshot_id(), whole.snapshot_id());
    for (key, bytes) in &whole.blobs {
        assert_eq!(&std::fs::read(out.join("blobs").join(key)).unwrap(), bytes, "{key}");
    }
    assert!(whole.manifest.collections.iter().all(|c| c.count > 0), "every query selects something");
    std::fs::remove_dir_all(&dir).unwrap();
}
