//! Builds a snapshot from indicators and a collection configuration (native only).
//!
//! Each indicator is rendered once; each collection takes the indicators its query selects plus their extras,
//! orders them by version, gives each a unique, increasing date_added, and is cut into segments per stream.
//! An object version already present in the previous snapshot keeps its date_added; a new or changed one gets
//! a date_added after every earlier one in its collection.
//!
//! Blobs go to a [`BlobSink`]: kept in memory ([`build`]) or written to a snapshot directory as they are made
//! ([`build_to_dir`], what the CLI uses, so a million-indicator build does not hold every segment in memory).
//! Segments are encoded and hashed on every core; rendering is parallel too.

use super::format::*;
use super::segment::{encode, RecordIn};
use crate::config::CollectionConfig;
use crate::indicator::Indicator;
use crate::stix::{self, ids, RenderError, RenderOptions, Rendered};
use crate::time::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Everything a build needs.
pub struct BuildInput<'a> {
    pub collections: &'a [CollectionConfig],
    pub indicators: &'a [Indicator],
    pub render: &'a RenderOptions,
    /// The build time: date_added of new objects starts here (or after the previous snapshot's newest).
    pub now: Timestamp,
    /// date_added of object versions in the previous snapshot, per collection id: (2.1 id, version) → date_added.
    pub previous: &'a Dates,
}

/// A built snapshot: its blobs by store key and the manifest key.
pub struct Built {
    pub blobs: BTreeMap<String, Vec<u8>>,
    pub manifest_key: String,
    pub manifest: Manifest,
    /// Indicators that could not be rendered (they are in no collection).
    pub render_errors: Vec<RenderError>,
}

impl Built {
    /// An in-memory store holding this snapshot as the current one: for tests and native serving.
    pub fn to_memory_store(&self, published: Timestamp) -> crate::store::MemoryStore {
        let store = crate::store::MemoryStore::default();
        let mut blobs = store.blobs.borrow_mut();
        for (k, v) in &self.blobs {
            blobs.insert(k.clone(), v.clone());
        }
        let pointer = Pointer {
            snapshot: self.snapshot_id().into(),
            manifest: self.manifest_key.clone(),
            published,
            history: Vec::new(),
        };
        blobs.insert(POINTER_KEY.into(), serde_json::to_vec(&pointer).expect("pointer serialises"));
        drop(blobs);
        store
    }

    /// The snapshot id: the manifest's hash.
    pub fn snapshot_id(&self) -> &str {
        self.manifest_key.rsplit('/').next().unwrap_or_default()
    }
}

/// Where built blobs go, by store key.
pub trait BlobSink: Send {
    fn put(&mut self, key: String, bytes: Vec<u8>);
}

impl BlobSink for BTreeMap<String, Vec<u8>> {
    fn put(&mut self, key: String, bytes: Vec<u8>) {
        self.insert(key, bytes);
    }
}

/// Writes blobs under `<root>/blobs/<key>` as they come, skipping those already there; keeps the first error.
struct DirSink {
    root: PathBuf,
    error: Option<String>,
}

impl BlobSink for DirSink {
    fn put(&mut self, key: String, bytes: Vec<u8>) {
        if self.error.is_none() {
            self.error = super::dir::write_blob(&self.root, &key, &bytes).err();
        }
    }
}

/// Builds the snapshot in memory.
pub fn build(input: &BuildInput<'_>) -> Built {
    let mut blobs = BTreeMap::new();
    let (manifest_key, manifest, render_errors) = build_into(input, &mut blobs, &mut |_| Ok(())).expect("no check");
    Built { blobs, manifest_key, manifest, render_errors }
}

/// Builds the snapshot into the directory `dir` (blobs as they are made, then the manifest and `snapshot.json`).
/// `check` sees the indicators that could not be rendered before anything is written; an error from it stops
/// the build. The returned `Built` holds no blobs: they are in the directory.
pub fn build_to_dir(
    input: &BuildInput<'_>,
    dir: &Path,
    check: &mut dyn FnMut(&[RenderError]) -> Result<(), String>,
) -> Result<Built, String> {
    let mut sink = DirSink { root: dir.to_path_buf(), error: None };
    let (manifest_key, manifest, render_errors) = build_into(input, &mut sink, check)?;
    if let Some(e) = sink.error {
        return Err(e);
    }
    let built = Built { blobs: BTreeMap::new(), manifest_key, manifest, render_errors };
    let file = super::dir::SnapshotFile {
        snapshot: built.snapshot_id().to_string(),
        manifest: built.manifest_key.clone(),
        created: built.manifest.created,
    };
    super::dir::write_snapshot_file(dir, &file)?;
    Ok(built)
}

/// Threads for rendering and segment encoding: the cores there are (at most 8).
fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8)
}

/// Maps `f` over `items` on every core, keeping the order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = workers();
    if n == 1 || items.len() < 64 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("a build thread panicked")).collect()
    })
}

type BuiltParts = (String, Manifest, Vec<RenderError>);

fn build_into(
    input: &BuildInput<'_>,
    blobs: &mut dyn BlobSink,
    check: &mut dyn FnMut(&[RenderError]) -> Result<(), String>,
) -> Result<BuiltParts, String> {
    let phase = Phases::start();
    phase.mark("start (indicators imported)");
    let results = par_map(input.indicators, |ind| stix::render_indicator(ind, input.render));
    let mut render_errors = Vec::new();
    let rendered: Vec<Option<Rendered>> =
        results.into_iter().map(|r| r.map_err(|e| render_errors.push(e)).ok()).collect();
    phase.mark("render");
    check(&render_errors)?;
    let mut entries = Vec::with_capacity(input.collections.len());
    for cfg in input.collections {
        let id = ids::collection_id(&input.render.namespace, &cfg.name);
        let selected = par_map(input.indicators, |ind| cfg.query.matches_at(ind, input.now));
        let members: Vec<usize> =
            (0..input.indicators.len()).filter(|&i| rendered[i].is_some() && selected[i]).collect();
        drop(selected);
        let inds: Vec<&Indicator> = members.iter().map(|&i| &input.indicators[i]).collect();
        let objs: Vec<&Rendered> = members.iter().filter_map(|&i| rendered[i].as_ref()).collect();
        let extras = stix::collection_extras(&inds, &objs, input.render);
        let all: Vec<&Rendered> = extras.iter().chain(objs.iter().copied()).collect();
        let previous = input.previous.get(&id);
        let dated = assign_dates(all, previous, input.now);
        phase.mark(&format!("select+date {}", cfg.name));
        entries.push(write_collection(cfg, id, &dated, blobs));
        phase.mark(&format!("segments {}", cfg.name));
    }
    let config_digest = content_hash(format!("{:?}{:?}", input.collections, input.render).as_bytes());
    let manifest = Manifest { format: FORMAT, created: input.now, config_digest, collections: entries };
    let bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    let manifest_key = blob_key("manifest", &bytes);
    blobs.put(manifest_key.clone(), bytes);
    Ok((manifest_key, manifest, render_errors))
}

/// Orders a collection's objects and gives each its date_added: kept from the previous snapshot for an
/// unchanged version, else after everything before it. Duplicate ids keep the newest version.
fn assign_dates<'r>(
    objects: Vec<&'r Rendered>,
    previous: Option<&HashMap<(String, i64), Timestamp>>,
    now: Timestamp,
) -> Vec<(Timestamp, &'r Rendered)> {
    let mut newest: HashMap<&str, &Rendered> = HashMap::with_capacity(objects.len());
    for r in objects {
        let keep = newest.get(r.id21.as_str()).is_none_or(|old| (r.version, &r.json21) > (old.version, &old.json21));
        if keep {
            newest.insert(&r.id21, r);
        }
    }
    let mut kept = Vec::new();
    let mut fresh = Vec::new();
    for r in newest.into_values() {
        match previous.and_then(|p| p.get(&(r.id21.clone(), r.version.0))) {
            Some(&d) => kept.push((d, r)),
            None => fresh.push(r),
        }
    }
    let floor = previous.and_then(|p| p.values().max().copied()).map_or(now, |m| m.next().max(now));
    fresh.sort_by(|a, b| (a.version, &a.id21).cmp(&(b.version, &b.id21)));
    kept.extend(fresh.into_iter().enumerate().map(|(i, r)| (Timestamp(floor.0 + i as i64), r)));
    kept.sort_by_key(|(d, _)| *d);
    kept
}

fn write_collection(
    cfg: &CollectionConfig,
    id: String,
    dated: &[(Timestamp, &Rendered)],
    blobs: &mut dyn BlobSink,
) -> CollectionEntry {
    let mut streams = BTreeMap::new();
    streams.insert(ALL.to_string(), write_stream(dated.iter().copied(), blobs));
    let mut by_type: BTreeMap<&str, Vec<(Timestamp, &Rendered)>> = BTreeMap::new();
    let mut types20: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for &(d, r) in dated {
        by_type.entry(&r.type21).or_default().push((d, r));
        let list = types20.entry(r.type20.clone()).or_default();
        if !list.contains(&r.type21) {
            list.push(r.type21.clone());
        }
    }
    let mut types = BTreeMap::new();
    for (t, items) in &by_type {
        types.insert(t.to_string(), items.len() as u64);
        streams.insert(type_stream(t), write_stream(items.iter().copied(), blobs));
    }
    let id_shards = write_id_shards(dated, blobs);
    let index = CollectionIndex { streams, types20, id_shards };
    let bytes = serde_json::to_vec(&index).expect("index serialises");
    let index_key = blob_key("index", &bytes);
    blobs.put(index_key.clone(), bytes);
    CollectionEntry {
        id,
        title: cfg.name.clone(),
        description: cfg.description.clone(),
        query: cfg.query_text.clone(),
        alias: None,
        count: dated.len() as u64,
        types,
        newest: dated.last().map(|(d, _)| *d),
        index: index_key,
    }
}

fn write_stream<'r>(items: impl Iterator<Item = (Timestamp, &'r Rendered)>, blobs: &mut dyn BlobSink) -> Stream {
    let items: Vec<(Timestamp, &Rendered)> = items.collect();
    let mut stream = Stream { count: items.len() as u64, segments: Vec::new() };
    let chunks: Vec<&[(Timestamp, &Rendered)]> = items.chunks(SEGMENT_RECORDS).collect();
    // Encoded a batch at a time on every core, so at most a batch of segments is held before the sink.
    for batch in chunks.chunks(16 * workers()) {
        let encoded = par_map(batch, |chunk| {
            let records: Vec<RecordIn<'_>> = chunk
                .iter()
                .map(|(d, r)| RecordIn {
                    date_added: *d,
                    version: r.version,
                    id21: &r.id21,
                    type21: &r.type21,
                    id20: &r.id20,
                    type20: &r.type20,
                    json21: &r.json21,
                    json20: &r.json20,
                })
                .collect();
            let bytes = encode(&records);
            (blob_key("segment", &bytes), bytes)
        });
        for (chunk, (key, bytes)) in batch.iter().zip(encoded) {
            stream.segments.push(SegmentRef {
                key: key.clone(),
                count: chunk.len() as u32,
                first: chunk[0].0,
                last: chunk[chunk.len() - 1].0,
            });
            blobs.put(key, bytes);
        }
    }
    stream
}

/// Id shards: per shard, a sorted JSON list of `[id, date_added micros]` (2.1 and 2.0 ids both).
fn write_id_shards(dated: &[(Timestamp, &Rendered)], blobs: &mut dyn BlobSink) -> Vec<String> {
    let shards = dated.len().div_ceil(SHARD_ENTRIES).max(1);
    let mut lists: Vec<Vec<(&str, i64)>> = vec![Vec::new(); shards];
    for (d, r) in dated {
        lists[shard_of(&r.id21, shards)].push((&r.id21, d.0));
        if r.id20 != r.id21 {
            lists[shard_of(&r.id20, shards)].push((&r.id20, d.0));
        }
    }
    lists
        .into_iter()
        .map(|mut list| {
            list.sort_unstable();
            let bytes = serde_json::to_vec(&list).expect("shard serialises");
            let key = blob_key("ids", &bytes);
            blobs.put(key.clone(), bytes);
            key
        })
        .collect()
}

/// Phase timings and resident memory on stderr when `TAXII_EDGE_TIMINGS` is set (for the benchmark's profile).
struct Phases {
    on: bool,
    start: std::time::Instant,
    last: std::cell::Cell<std::time::Instant>,
}

impl Phases {
    fn start() -> Phases {
        let now = std::time::Instant::now();
        Phases { on: std::env::var_os("TAXII_EDGE_TIMINGS").is_some(), start: now, last: now.into() }
    }

    fn mark(&self, what: &str) {
        if !self.on {
            return;
        }
        let now = std::time::Instant::now();
        let rss = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
            .map_or(String::from("?"), |pages| format!("{} MB", pages * 4096 / 1_000_000));
        eprintln!(
            "[timing] {what}: {:.2} s (at {:.2} s, rss {rss})",
            (now - self.last.get()).as_secs_f64(),
            (now - self.start).as_secs_f64()
        );
        self.last.set(now);
    }
}
