//! A build on a worker's snapshot, as a sync makes it cycle after cycle: the previous snapshot is read from the
//! local copy the last build left (the worker for what it lacks), and `keep_read` puts into the new build
//! directory what the next build will read of it (its manifest, indexes and id shards), not the segments it
//! reuses: those stay on the worker, and carrying them forward cost a link per segment of the whole snapshot
//! every cycle.

use edge_core::snapshot::format::Dates;
use edge_core::time::Timestamp;
use edge_feed::build::{build_to_dir, BuildInput, History};
use edge_feed::config::parse_collections;
use edge_feed::generate::{generate, Format, Options};
use edge_feed::import::import_file;
use edge_feed::indicator::Indicator;
use edge_feed::snapshot_dir::{
    keep_read, previous_state, reachable_keys, BlobSource, Layered, SnapshotDir, SnapshotDirError,
};
use edge_feed::stix::RenderOptions;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn at(day: u32) -> Timestamp {
    Timestamp::parse(&format!("2026-01-{day:02}T00:00:00Z")).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taxii-edge-build-on-worker-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The worker's store: every blob each build wrote (a publish uploads them).
#[derive(Default)]
struct Worker(HashMap<String, Vec<u8>>);

impl Worker {
    fn upload(&mut self, dir: &Path) {
        for entry in walk(&dir.join("blobs")) {
            let key = entry.strip_prefix(dir.join("blobs")).unwrap().to_string_lossy().into_owned();
            self.0.insert(key, std::fs::read(&entry).unwrap());
        }
    }
}

impl BlobSource for Worker {
    fn blob(&self, key: &str) -> Result<Vec<u8>, SnapshotDirError> {
        self.0.get(key).cloned().ok_or_else(|| SnapshotDirError::Source(format!("no blob {key}")))
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The blob keys a snapshot directory holds.
fn held(dir: &Path) -> BTreeSet<String> {
    walk(&dir.join("blobs"))
        .into_iter()
        .map(|p| p.strip_prefix(dir.join("blobs")).unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_build_on_a_worker_keeps_what_the_next_build_reads_and_not_the_segments_it_reuses() {
    let dir = tmp("cycles");
    let mut text = Vec::new();
    generate(&Options { count: 3000, seed: 5, now: at(1), format: Format::Jsonl }, &mut text).unwrap();
    let path = dir.join("feed.jsonl");
    std::fs::write(&path, &text).unwrap();
    let mut indicators = import_file(&path).unwrap().indicators;
    let collections = parse_collections(r#"{"All": "", "IPs": "type:IP", "Bad": "score:>=2"}"#).unwrap();
    let render = RenderOptions::default();
    let build = |indicators: &[Indicator], day: u32, previous: &Dates, out: &Path| {
        let input = BuildInput { collections: &collections, indicators, render: &render, now: at(day), previous };
        build_to_dir(&input, History::days(30), out, &mut |_| Ok(())).unwrap();
    };

    // The first build, on nothing: every blob written, and uploaded.
    let first = dir.join("first");
    build(&indicators, 2, &HashMap::new(), &first);
    let mut worker = Worker::default();
    worker.upload(&first);
    let mut local = SnapshotDir::open(&first).unwrap();

    for (cycle, day) in [(1usize, 3u32), (2, 4)] {
        // Every 50th indicator changed: most segments are reused as they are.
        for (i, ind) in indicators.iter_mut().enumerate() {
            if i % 50 == cycle {
                ind.modified = at(day);
            }
        }
        let out = dir.join(format!("cycle-{cycle}"));
        let layered = Layered::new(Some(&local), &worker);
        let previous = previous_state(&layered, &local.file.manifest).unwrap();
        build(&indicators, day, &previous, &out);
        let wrote = held(&out);
        let added = keep_read(&out, &layered).unwrap();
        let built = SnapshotDir::open(&out).unwrap();
        let keys = reachable_keys(&built, &built.file.manifest).unwrap();
        let now_held = held(&out);

        // What the next build reads is all here: its state reads back without the worker.
        let metadata: BTreeSet<String> = keys.iter().filter(|k| !k.starts_with("segment/")).cloned().collect();
        assert!(metadata.is_subset(&now_held), "cycle {cycle}: every manifest, index and id shard is kept");
        assert_eq!(added, metadata.difference(&wrote).count(), "cycle {cycle}: only metadata was added");
        previous_state(&built, &built.file.manifest).expect("the next build reads it from this directory alone");

        // The segments it reuses are not carried forward: the directory holds the segments it wrote, no more.
        let reused = keys.iter().filter(|k| k.starts_with("segment/") && !wrote.contains(*k)).count();
        assert!(reused > 10, "cycle {cycle}: the build reused segments ({reused})");
        let segments_held: BTreeSet<&String> = now_held.iter().filter(|k| k.starts_with("segment/")).collect();
        let segments_wrote: BTreeSet<&String> = wrote.iter().filter(|k| k.starts_with("segment/")).collect();
        assert_eq!(segments_held, segments_wrote, "cycle {cycle}: no reused segment was linked in");

        worker.upload(&out);
        local = built;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
