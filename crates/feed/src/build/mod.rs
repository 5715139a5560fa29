//! Builds a snapshot from indicators and a collection configuration (native only).
//!
//! Each indicator is rendered once; each collection takes the indicators its query selects plus their extras.
//! An object version already in the previous snapshot stays where it is (same segment, same date_added); a new
//! or changed one is appended at the tail of its streams with a date_added after every earlier one. Earlier
//! versions stay in place, marked in the collection index as superseded (hidden by default) and, once they were
//! superseded longer ago than the history kept, as gone; records of objects that left are gone at once.
//!
//! Only the previous snapshot's metadata is read (its indexes and id shards); its segments are reused byte for
//! byte. A segment is rewritten only when it is in a stream's partial tail being topped up with new records
//! (trailing segments that are not full, each no bigger than what comes after it: a publish rewrites at most
//! about as many old records as it adds), or when more than half of its records are gone (compaction), and then
//! only when every record it keeps is a live version rendered now (else it stays as it is); a segment whose
//! records are all gone is dropped. The id shards are kept too,
//! with the records added since in a small delta, until a record is dropped or the delta outgrows 1/8.
//!
//! Blobs go to a [`BlobSink`]: kept in memory ([`build`]) or written to a snapshot directory as they are made
//! ([`build_to_dir`], what the CLI uses, so a million-indicator build does not hold every segment in memory).
//! Segments are encoded and hashed on every core, rendering and each collection's relationships are parallel
//! too, and collections are built side by side in groups no larger together than the largest
//! (`concurrent_groups`), so that the second core works while the peak memory stays the largest collection's.

use crate::config::CollectionConfig;
use crate::indicator::Indicator;
use crate::stix::{self, ids, Head, RenderError, RenderOptions, Rendered};
use edge_core::snapshot::format::*;
use edge_core::snapshot::format::{PreviousCollection, ShardEntry};
use edge_core::snapshot::segment::{encode, RecordHead};
use edge_core::time::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

/// Everything a build needs.
pub struct BuildInput<'a> {
    pub collections: &'a [CollectionConfig],
    pub indicators: &'a [Indicator],
    pub render: &'a RenderOptions,
    /// The build time: date_added of new objects starts here (or after the previous snapshot's newest).
    pub now: Timestamp,
    /// The previous snapshot's collections, by id (see [`crate::snapshot_dir::previous_state`]).
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
    pub fn to_memory_store(&self, published: Timestamp) -> edge_core::store::MemoryStore {
        let store = edge_core::store::MemoryStore::default();
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

/// Blobs waiting for the writer thread: about 15 MB of segments.
const WRITE_QUEUE: usize = 16;

/// Writes blobs under `<root>/blobs/<key>` as they come, skipping those already there, on a thread of its own:
/// writing a 1M-indicator snapshot (~8 GB) is most of a build's system time, and this way it overlaps encoding.
/// The writer stops at the first error, which [`DirSink::finish`] returns; dropping the sink waits for the writer.
struct DirSink {
    queue: Option<SyncSender<(String, Vec<u8>)>>,
    writer: Option<JoinHandle<Result<(), String>>>,
}

impl DirSink {
    fn new(root: &Path) -> DirSink {
        let (queue, blobs) = sync_channel::<(String, Vec<u8>)>(WRITE_QUEUE);
        let root = root.to_path_buf();
        let writer = std::thread::spawn(move || {
            for (key, bytes) in blobs {
                crate::snapshot_dir::write_blob(&root, &key, &bytes)?;
            }
            Ok(())
        });
        DirSink { queue: Some(queue), writer: Some(writer) }
    }

    /// Waits until every blob put is written (or the writer stopped): the first error, if any.
    fn finish(&mut self) -> Result<(), String> {
        drop(self.queue.take());
        match self.writer.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err("the thread writing the snapshot's blobs panicked".into()),
        }
    }
}

impl BlobSink for DirSink {
    fn put(&mut self, key: String, bytes: Vec<u8>) {
        if let Some(queue) = &self.queue {
            // A closed queue means the writer stopped on an error, which `finish` returns.
            let _ = queue.send((key, bytes));
        }
    }
}

impl Drop for DirSink {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Builds the snapshot in memory, keeping superseded versions the default time.
pub fn build(input: &BuildInput<'_>) -> Built {
    build_with(input, History::days(DEFAULT_KEEP_VERSIONS_DAYS))
        .expect("a build without a check fails only on a bad previous snapshot")
}

/// Builds the snapshot in memory.
pub fn build_with(input: &BuildInput<'_>, keep: History) -> Result<Built, String> {
    let mut blobs = BTreeMap::new();
    let (manifest_key, manifest, render_errors) = build_into(input, keep, &mut blobs, &mut |_| Ok(()))?;
    Ok(Built { blobs, manifest_key, manifest, render_errors })
}

/// Builds the snapshot into the directory `dir` (blobs as they are made, then the manifest and `snapshot.json`).
/// `check` sees the indicators that could not be rendered before anything is written; an error from it stops
/// the build. The returned `Built` holds no blobs: they are in the directory.
pub fn build_to_dir(
    input: &BuildInput<'_>,
    keep: History,
    dir: &Path,
    check: &mut dyn FnMut(&[RenderError]) -> Result<(), String>,
) -> Result<Built, String> {
    let mut sink = DirSink::new(dir);
    let (manifest_key, manifest, render_errors) = build_into(input, keep, &mut sink, check)?;
    finish_dir(dir, sink, manifest_key, manifest, render_errors)
}

/// Checks the blobs were written and writes `snapshot.json`.
fn finish_dir(
    dir: &Path,
    mut sink: DirSink,
    manifest_key: String,
    manifest: Manifest,
    render_errors: Vec<RenderError>,
) -> Result<Built, String> {
    sink.finish()?;
    let built = Built { blobs: BTreeMap::new(), manifest_key, manifest, render_errors };
    let file = crate::snapshot_dir::SnapshotFile {
        snapshot: built.snapshot_id().to_string(),
        manifest: built.manifest_key.clone(),
        created: built.manifest.created,
    };
    crate::snapshot_dir::write_snapshot_file(dir, &file)?;
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

/// Indicators made ready for a build: each rendered once, then kept in a compact form ([`Packed`] bytes and the
/// indicator with only the fields the collection queries and the collection extras read). [`build_to_dir`] and
/// [`build`] prepare their whole input at once; the CLI feeds [`Prepared::push`] batch by batch while it reads
/// the inputs, so that a full [`Indicator`] (every XSOAR field) never outlives its batch.
pub struct Prepared {
    /// The rendered indicators, slimmed; parallel to `rendered`.
    indicators: Vec<Indicator>,
    rendered: Vec<Packed>,
    /// Which collections select each indicator: `words` bits per indicator, bit `c` for collection `c`.
    selected: Vec<u64>,
    words: usize,
    /// The build time the queries were evaluated at.
    now: Timestamp,
    /// Indicators that could not be rendered (they are in no collection).
    render_errors: Vec<RenderError>,
    /// The fields kept (see [`kept_fields`]).
    keep: Keep,
}

impl Prepared {
    /// An empty set for these collections (whose queries are evaluated at `now`, the build time) and render
    /// options: the build must be given the same ones.
    pub fn new(collections: &[CollectionConfig], render: &RenderOptions, now: Timestamp) -> Prepared {
        Prepared {
            indicators: Vec::new(),
            rendered: Vec::new(),
            selected: Vec::new(),
            words: collections.len().div_ceil(64).max(1),
            now,
            render_errors: Vec::new(),
            keep: kept_fields(render),
        }
    }

    /// Renders a batch of indicators and evaluates the collection queries on them (on every core, in order), and
    /// keeps what the build needs of them.
    pub fn push(&mut self, batch: Vec<Indicator>, collections: &[CollectionConfig], render: &RenderOptions) {
        let (words, now) = (self.words, self.now);
        let results = par_map(&batch, |ind| {
            let r = stix::render_indicator(ind, render).map(|r| Packed::from(&r))?;
            let mut bits = vec![0u64; words];
            for (c, cfg) in collections.iter().enumerate() {
                if cfg.query.matches_at(ind, now) {
                    bits[c / 64] |= 1 << (c % 64);
                }
            }
            Ok((r, bits))
        });
        for (ind, result) in batch.into_iter().zip(results) {
            match result {
                Ok((packed, bits)) => {
                    self.indicators.push(self.keep.slim(ind, render));
                    self.rendered.push(packed);
                    self.selected.extend(bits);
                }
                Err(e) => self.render_errors.push(e),
            }
        }
    }

    /// How many indicators were rendered.
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// The indicators that could not be rendered, in input order.
    pub fn render_errors(&self) -> &[RenderError] {
        &self.render_errors
    }
}

/// Which fields of an indicator a build still needs once it is rendered.
struct Keep {
    /// Every field, when a query or the extension fields need them all.
    all: bool,
    names: std::collections::BTreeSet<String>,
}

/// The fields the collection extras read once the queries are evaluated: the TLP marking, imported STIX
/// relationships and the extension fields.
fn kept_fields(render: &RenderOptions) -> Keep {
    let mut names = std::collections::BTreeSet::new();
    for n in ["trafficlightprotocol", stix::passthrough::RELATIONSHIPS] {
        names.insert(n.to_string());
    }
    if let stix::ExtensionFields::List(list) = &render.extension_fields {
        names.extend(list.iter().cloned());
    }
    Keep { all: matches!(render.extension_fields, stix::ExtensionFields::All), names }
}

impl Keep {
    /// The indicator without the fields no later stage reads (its origin and tags too: errors are reported and
    /// queries evaluated by now; an extension field named `tags` reads the copy in `fields`).
    fn slim(&self, mut ind: Indicator, render: &RenderOptions) -> Indicator {
        ind.origin = String::new();
        ind.tags = Vec::new();
        if self.all {
            return ind;
        }
        if ind.fields.keys().any(|k| !self.names.contains(k)) {
            let before = render.extension_fields.enabled()
                && stix::render::xsoar_fields(&ind, &render.extension_fields).is_empty();
            ind.fields.retain(|k| self.names.contains(k));
            debug_assert!(
                !render.extension_fields.enabled()
                    || before == stix::render::xsoar_fields(&ind, &render.extension_fields).is_empty()
            );
        }
        ind
    }
}

/// One rendered object, compact: the 2.1 id and type and the 2.0 id and type in one allocation, the 2.1 and 2.0
/// JSON together LZ4-compressed in another (a million objects' JSON is ~900 MB as it is, ~40% of that
/// compressed), and what the build compares without reading either: the version, the id hashes and the
/// content hash.
pub struct Packed {
    heads: Box<str>,
    /// Where the 2.1 id, the 2.1 type and the 2.0 id end in `heads`.
    ends: [u16; 3],
    /// The 2.1 JSON then the 2.0 JSON, LZ4 block-compressed.
    json: Box<[u8]>,
    /// The length of the 2.1 JSON and of both.
    json21_len: u32,
    json_len: u32,
    version: Timestamp,
    h21: u64,
    /// The 2.0 id's hash when the 2.0 id differs.
    h20: Option<u64>,
    content: u32,
}

impl From<&Rendered> for Packed {
    fn from(r: &Rendered) -> Packed {
        let heads = [&r.id21, &r.type21, &r.id20, &r.type20].map(String::as_str).concat();
        let end = |n: usize| u16::try_from(n).expect("STIX ids and types are short");
        let ends =
            [end(r.id21.len()), end(r.id21.len() + r.type21.len()), end(r.id21.len() + r.type21.len() + r.id20.len())];
        let both = [r.json21.as_str(), r.json20.as_str()].concat();
        let length = |n: usize| u32::try_from(n).expect("an object's JSON is under 4 GB");
        Packed {
            heads: heads.into_boxed_str(),
            ends,
            json: lz4_flex::block::compress(both.as_bytes()).into_boxed_slice(),
            json21_len: length(r.json21.len()),
            json_len: length(both.len()),
            version: r.version,
            h21: id_hash(&r.id21),
            h20: (r.id20 != r.id21).then(|| id_hash(&r.id20)),
            content: content_of(r),
        }
    }
}

impl Packed {
    fn type20(&self) -> &str {
        &self.heads[self.ends[2] as usize..]
    }

    /// The 2.1 JSON and the 2.0 JSON, one after the other, and where the first ends.
    fn json(&self) -> (String, usize) {
        let bytes = lz4_flex::block::decompress(&self.json, self.json_len as usize)
            .expect("the build decompresses what it compressed");
        (String::from_utf8(bytes).expect("compressed from a string"), self.json21_len as usize)
    }

    /// Appends the 2.1 JSON and the 2.0 JSON, one after the other, to `out`.
    fn json_into(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.resize(at + self.json_len as usize, 0);
        let n = lz4_flex::block::decompress_into(&self.json, &mut out[at..])
            .expect("the build decompresses what it compressed");
        assert_eq!(n, self.json_len as usize, "the build decompresses what it compressed");
    }

    fn json21(&self) -> String {
        let (mut both, at) = self.json();
        both.truncate(at);
        both
    }
}

/// The extras read the members' ids and types only.
impl stix::Head for Packed {
    fn id21(&self) -> &str {
        &self.heads[..self.ends[0] as usize]
    }
    fn type21(&self) -> &str {
        &self.heads[self.ends[0] as usize..self.ends[1] as usize]
    }
    fn id20(&self) -> &str {
        &self.heads[self.ends[1] as usize..self.ends[2] as usize]
    }
}

fn build_into(
    input: &BuildInput<'_>,
    keep: History,
    blobs: &mut dyn BlobSink,
    check: &mut dyn FnMut(&[RenderError]) -> Result<(), String>,
) -> Result<BuiltParts, String> {
    let phase = Phases::start();
    phase.mark("start (indicators imported)");
    let mut prepared = Prepared::new(input.collections, input.render, input.now);
    prepared.push(input.indicators.to_vec(), input.collections, input.render);
    phase.mark("render");
    build_prepared(prepared, input.collections, input.render, input.previous.clone(), keep, blobs, check)
}

/// Builds the snapshot from prepared indicators into the directory `dir`, as [`build_to_dir`] does.
#[allow(clippy::too_many_arguments)]
pub fn build_prepared_to_dir(
    prepared: Prepared,
    collections: &[CollectionConfig],
    render: &RenderOptions,
    previous: Dates,
    keep: History,
    dir: &Path,
    check: &mut dyn FnMut(&[RenderError]) -> Result<(), String>,
) -> Result<Built, String> {
    let mut sink = DirSink::new(dir);
    let (manifest_key, manifest, render_errors) =
        build_prepared(prepared, collections, render, previous, keep, &mut sink, check)?;
    finish_dir(dir, sink, manifest_key, manifest, render_errors)
}

#[allow(clippy::too_many_arguments)]
fn build_prepared(
    prepared: Prepared,
    collections: &[CollectionConfig],
    render: &RenderOptions,
    previous: Dates,
    keep: History,
    blobs: &mut dyn BlobSink,
    check: &mut dyn FnMut(&[RenderError]) -> Result<(), String>,
) -> Result<BuiltParts, String> {
    let phase = Phases::start();
    let Prepared { indicators, rendered, selected, words, now, render_errors, .. } = prepared;
    if phase.on {
        let bytes: usize = rendered.iter().map(|p| p.heads.len() + p.json.len()).sum();
        phase.mark(&format!("start ({} objects, {} MB rendered and compressed)", rendered.len(), bytes / 1_000_000));
    }
    check(&render_errors)?;
    let sizes: Vec<usize> = (0..collections.len())
        .map(|c| (0..indicators.len()).filter(|&i| selected[i * words + c / 64] & (1 << (c % 64)) != 0).count())
        .collect();
    let sink = SharedSink(std::sync::Mutex::new(blobs));
    // Each collection takes its part of the previous snapshot, and frees it when built.
    let previous = std::sync::Mutex::new(previous);
    // One collection's streams, from the indicators its query selected and their extras.
    let collection = |c: usize| -> Result<CollectionEntry, String> {
        let cfg = &collections[c];
        let id = ids::collection_id(&render.namespace, &cfg.name);
        let members: Vec<usize> =
            (0..indicators.len()).filter(|&i| selected[i * words + c / 64] & (1 << (c % 64)) != 0).collect();
        let inds: Vec<&Indicator> = members.iter().map(|&i| &indicators[i]).collect();
        let objs: Vec<&Packed> = members.iter().map(|&i| &rendered[i]).collect();
        let extras = packed_extras(&inds, &objs, render);
        drop(inds);
        let all: Vec<&Packed> = extras.iter().chain(objs.iter().copied()).collect();
        let previous = previous.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
        write_collection(cfg, id, all, previous, now, keep, &mut &sink)
            .map_err(|e| format!("collection {:?}: {e}", cfg.name))
    };
    let mut entries: Vec<Option<CollectionEntry>> = (0..collections.len()).map(|_| None).collect();
    // The smallest groups first: by the largest collection's turn the others have freed their previous records.
    for group in concurrent_groups(&sizes).into_iter().rev() {
        let mut done: Vec<(usize, Result<CollectionEntry, String>)> = std::thread::scope(|scope| {
            let running: Vec<_> = group.iter().map(|&c| (c, scope.spawn(move || collection(c)))).collect();
            running.into_iter().map(|(c, h)| (c, h.join().expect("a collection's build thread panicked"))).collect()
        });
        let names: Vec<&str> = done.iter().map(|(c, _)| collections[*c].name.as_str()).collect();
        phase.mark(&format!("collection {}", names.join(" + ")));
        // A failed collection stops the build here: its error (the first of its group in the configuration).
        done.sort_by_key(|(c, _)| *c);
        for (c, result) in done {
            entries[c] = Some(result?);
        }
    }
    let entries: Vec<CollectionEntry> = entries.into_iter().map(|e| e.expect("every collection was built")).collect();
    let config_digest = content_hash(format!("{collections:?}{render:?}").as_bytes());
    let manifest = Manifest { format: FORMAT, created: now, config_digest, collections: entries };
    let bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    let manifest_key = blob_key("manifest", &bytes);
    blobs.put(manifest_key.clone(), bytes);
    Ok((manifest_key, manifest, render_errors))
}

/// The collections to build at the same time, in groups run one after the other: the largest alone, then each
/// group as many as fit together in its size (a collection's build holds memory in proportion to its size, so
/// the build's peak stays that of the largest collection, while the cores the smaller ones leave idle are used).
fn concurrent_groups(sizes: &[usize]) -> Vec<Vec<usize>> {
    let budget = sizes.iter().copied().max().unwrap_or(0);
    let mut left: Vec<usize> = (0..sizes.len()).collect();
    left.sort_by_key(|&c| std::cmp::Reverse(sizes[c]));
    let mut groups = Vec::new();
    while !left.is_empty() {
        let mut group = vec![left.remove(0)];
        let mut total = sizes[group[0]];
        left.retain(|&c| {
            if total + sizes[c] <= budget {
                total += sizes[c];
                group.push(c);
                false
            } else {
                true
            }
        });
        groups.push(group);
    }
    groups
}

/// A sink several collection builds put blobs into at the same time.
struct SharedSink<'a>(std::sync::Mutex<&'a mut dyn BlobSink>);

impl BlobSink for &SharedSink<'_> {
    fn put(&mut self, key: String, bytes: Vec<u8>) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).put(key, bytes);
    }
}

/// Members whose relationships one thread makes at a time.
const EXTRAS_CHUNK: usize = 1024;

/// A collection's extras, made and packed on every core: the same objects in the same order as
/// [`stix::collection_extras`] (a million members have hundreds of thousands of relationships).
fn packed_extras(members: &[&Indicator], objs: &[&Packed], render: &RenderOptions) -> Vec<Packed> {
    let extras = stix::Extras::new(members, objs, render);
    let mut out = Vec::new();
    extras.shared(&mut |r| out.push(Packed::from(&r)));
    let chunks: Vec<std::ops::Range<usize>> =
        (0..extras.len()).step_by(EXTRAS_CHUNK).map(|s| s..(s + EXTRAS_CHUNK).min(extras.len())).collect();
    let made: Vec<(Vec<Packed>, Vec<Packed>)> = par_map(&chunks, |sources| {
        let (mut tip, mut imported) = (Vec::new(), Vec::new());
        for i in sources.clone() {
            extras.relationships_of(i, &mut |r| tip.push(Packed::from(&r)));
            extras.imported_relationships_of(i, &mut |r| imported.push(Packed::from(&r)));
        }
        (tip, imported)
    });
    // A TIP relationship id made from two sources is served from the first.
    let mut seen = std::collections::HashSet::new();
    let first: Vec<bool> = made.iter().flat_map(|(tip, _)| tip).map(|p| seen.insert(p.id21())).collect();
    drop(seen);
    out.reserve(first.iter().filter(|&&f| f).count() + made.iter().map(|(_, imp)| imp.len()).sum::<usize>());
    let mut imported = Vec::new();
    let mut first = first.into_iter();
    for (tip, imp) in made {
        out.extend(tip.into_iter().filter(|_| first.next() == Some(true)));
        imported.push(imp);
    }
    out.extend(imported.into_iter().flatten());
    out
}

/// How long superseded versions are kept.
#[derive(Clone, Copy, Debug)]
pub struct History {
    /// Microseconds after its successor was added that a superseded version is dropped; 0 keeps none.
    pub keep_micros: i64,
}

impl History {
    pub fn days(days: u32) -> History {
        History { keep_micros: i64::from(days) * 86_400_000_000 }
    }
}

/// Superseded versions are kept this many days by default.
pub const DEFAULT_KEEP_VERSIONS_DAYS: u32 = 30;

/// A compacted segment is rewritten when more than this share of its records are gone (1/2).
const COMPACT_GONE_NUM: usize = 1;
const COMPACT_GONE_DEN: usize = 2;
/// The id shards are rewritten in full when the delta would exceed 1/8 of them.
const DELTA_DEN: usize = 8;

/// Hashes a key that is already a 64-bit hash (an id's xxh3) by taking it as it is: the build's maps by id hash
/// hold a million entries, and hashing their keys again with SipHash was a visible share of a build.
#[derive(Default)]
struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the maps below; any other key is folded in, still correct.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map keyed by an id's 64-bit hash.
type ByIdHash<V> = HashMap<u64, V, BuildHasherDefault<KeyIsHash>>;

/// One record of a collection as this build sees it: from the previous snapshot or new.
struct Rec<'r> {
    e: ShardEntry,
    /// The bytes, when the record is a live version rendered now (old records otherwise have none here).
    body: Option<&'r Packed>,
    flags: u8,
    new: bool,
    in_delta: bool,
    /// The streams bits the previous snapshot's id shards gave it.
    was: u8,
}

/// A content hash of what a record serves: an unchanged version whose bytes changed is a new record.
fn content_of(r: &Rendered) -> u32 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for part in [&r.id21, &r.type21, &r.id20, &r.type20, &r.json21, &r.json20] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    h.digest() as u32
}

fn write_collection(
    cfg: &CollectionConfig,
    id: String,
    objects: Vec<&Packed>,
    previous: Option<PreviousCollection>,
    now: Timestamp,
    keep: History,
    blobs: &mut dyn BlobSink,
) -> Result<CollectionEntry, String> {
    // The current version of each object (the newest when an id comes twice), by the hash of its id.
    let mut current: ByIdHash<(&Packed, u32)> = ByIdHash::with_capacity_and_hasher(objects.len(), Default::default());
    for r in objects {
        match current.get(&r.h21) {
            Some((old, _)) if old.id21() != r.id21() => {
                return Err(format!(
                    "the ids {} and {} have the same 64-bit hash, which the id index cannot tell apart: report this",
                    old.id21(),
                    r.id21()
                ))
            }
            Some((old, _)) if (r.version, r.json21()) <= (old.version, old.json21()) => {}
            _ => {
                current.insert(r.h21, (r, r.content));
            }
        }
    }
    let mut types: Vec<String> = previous.as_ref().map(|p| p.index.types.clone()).unwrap_or_default();
    let mut type_code: HashMap<String, u16> = types.iter().enumerate().map(|(i, t)| (t.clone(), i as u16)).collect();
    // The previous records, then the new ones.
    let mut recs: Vec<Rec<'_>> = Vec::with_capacity(previous.as_ref().map_or(0, |p| p.records.len()) + current.len());
    let mut live: ByIdHash<usize> = ByIdHash::with_capacity_and_hasher(current.len(), Default::default());
    // Only the index is needed once the records are here.
    let prev_index = previous.map(|p| {
        add_previous(&mut recs, &mut live, &current, &p);
        p.index
    });
    let floor = recs.iter().map(|r| r.e.d).max().map_or(now, |m| Timestamp(m).next().max(now));
    let mut fresh: Vec<(&Packed, u32)> =
        current.iter().filter(|(h, _)| !live.contains_key(h)).map(|(_, &rc)| rc).collect();
    drop(current);
    fresh.sort_by(|a, b| a.0.version.cmp(&b.0.version).then_with(|| a.0.id21().cmp(b.0.id21())));
    for (i, (r, c)) in fresh.into_iter().enumerate() {
        let ty = match type_code.get(r.type21()) {
            Some(&code) => code,
            None => {
                let code = types.len() as u16;
                types.push(r.type21().to_string());
                type_code.insert(r.type21().to_string(), code);
                code
            }
        };
        let h21 = r.h21;
        let e = ShardEntry {
            h21,
            h20: r.h20,
            d: floor.0 + i as i64,
            v: r.version.0,
            content: c,
            ty,
            streams: IN_ALL | IN_TYPE,
        };
        live.insert(h21, recs.len());
        recs.push(Rec { e, body: Some(r), flags: 0, new: true, in_delta: false, was: 0 });
    }
    set_flags(&mut recs, &live, now, keep);
    drop(live);

    // Streams: "all", then one per type, each reusing the previous snapshot's segments where it can.
    let prev_index = prev_index.as_ref();
    let mut streams = BTreeMap::new();
    let all_members: Vec<usize> = (0..recs.len()).filter(|&i| recs[i].e.streams & IN_ALL != 0).collect();
    let prev_all = prev_index.and_then(|x| x.streams.get(ALL)).map_or(&[][..], |s| &s.segments[..]);
    let all = lay_out(prev_all, &all_members, &mut recs, IN_ALL, blobs)?;
    let shown_all = all.count;
    streams.insert(ALL.to_string(), all);
    let mut type_counts = BTreeMap::new();
    let mut by_type: Vec<Vec<usize>> = vec![Vec::new(); types.len()];
    for (i, r) in recs.iter().enumerate() {
        if r.e.streams & IN_TYPE != 0 {
            by_type[r.e.ty as usize].push(i);
        }
    }
    for (t, members) in types.iter().zip(by_type) {
        let name = type_stream(t);
        let prev = prev_index.and_then(|x| x.streams.get(&name)).map_or(&[][..], |s| &s.segments[..]);
        if members.is_empty() && prev.is_empty() {
            continue;
        }
        let stream = lay_out(prev, &members, &mut recs, IN_TYPE, blobs)?;
        if stream.count > 0 {
            type_counts.insert(t.clone(), stream.count);
        }
        if !stream.segments.is_empty() {
            streams.insert(name, stream);
        }
    }
    let mut types20: BTreeMap<String, Vec<String>> = prev_index.map(|x| x.types20.clone()).unwrap_or_default();
    for r in recs.iter().filter_map(|r| r.body) {
        let list = match types20.get_mut(r.type20()) {
            Some(list) => list,
            None => types20.entry(r.type20().to_string()).or_default(),
        };
        if !list.iter().any(|t| t == r.type21()) {
            list.push(r.type21().to_string());
        }
    }
    let (id_shards, id_delta) = write_id_shards(&recs, prev_index, blobs);
    let newest = recs.iter().filter(|r| r.flags & HIDDEN_BY_DEFAULT == 0).map(|r| Timestamp(r.e.d)).max();
    let index = CollectionIndex { streams, types20, id_shards, id_delta, types };
    let bytes = serde_json::to_vec(&index).expect("index serialises");
    let index_key = blob_key("index", &bytes);
    blobs.put(index_key.clone(), bytes);
    Ok(CollectionEntry {
        id,
        title: cfg.name.clone(),
        description: cfg.description.clone(),
        query: cfg.query_text.clone(),
        alias: None,
        count: shown_all,
        types: type_counts,
        newest,
        index: index_key,
    })
}

/// Puts the previous snapshot's records first in `recs`, each with its bytes (and in `live`) when it is the
/// version `current` holds, with the same content.
fn add_previous<'r>(
    recs: &mut Vec<Rec<'r>>,
    live: &mut ByIdHash<usize>,
    current: &ByIdHash<(&'r Packed, u32)>,
    p: &PreviousCollection,
) {
    for (e, &flags) in p.records.iter().zip(&p.flags) {
        let i = recs.len();
        let mut body = None;
        if let Some(&(r, c)) = current.get(&e.h21) {
            if flags & GONE == 0 && r.version.0 == e.v && c == e.content {
                body = Some(r);
                live.insert(e.h21, i);
            }
        }
        let in_delta = p.in_delta.get(i).copied().unwrap_or(false);
        recs.push(Rec { e: *e, body, flags, new: false, in_delta, was: e.streams });
    }
}

/// Sets each record's visibility: records of objects no longer in the collection are gone; of an object's other
/// versions, those not older than its current one, and those superseded longer ago than `keep`, are gone; of
/// the rest, all but the newest are superseded and all but the oldest are not first.
fn set_flags(recs: &mut [Rec<'_>], live: &ByIdHash<usize>, now: Timestamp, keep: History) {
    // The records still in play, grouped by object (sorting is far cheaper than a map of lists at a million).
    let mut order: Vec<(u64, u32)> = Vec::with_capacity(recs.len());
    for (i, r) in recs.iter_mut().enumerate() {
        if r.flags & GONE != 0 {
            continue;
        }
        r.flags = 0;
        if live.contains_key(&r.e.h21) {
            order.push((r.e.h21, i as u32));
        } else {
            r.flags = GONE;
        }
    }
    order.sort_unstable();
    let mut list: Vec<usize> = Vec::new();
    for group in order.chunk_by(|a, b| a.0 == b.0) {
        if group.len() == 1 {
            continue; // the live version alone: no flags
        }
        let cur = live[&group[0].0];
        let cur_v = recs[cur].e.v;
        list.clear();
        for &(_, i) in group {
            let i = i as usize;
            if i != cur && recs[i].e.v >= cur_v {
                recs[i].flags = GONE;
            } else {
                list.push(i);
            }
        }
        list.sort_by_key(|&i| (recs[i].e.v, recs[i].e.d));
        // Superseded when the next version was added, dropped once that is older than `keep`.
        for w in (0..list.len().saturating_sub(1)).rev() {
            let successor_added = recs[list[w + 1]].e.d;
            if keep.keep_micros == 0 || now.0.saturating_sub(successor_added) > keep.keep_micros {
                for &i in &list[..=w] {
                    recs[i].flags = GONE;
                }
                list.drain(..=w);
                break;
            }
        }
        let n = list.len();
        for (k, &i) in list.iter().enumerate() {
            let mut f = 0;
            if k + 1 < n {
                f |= SUPERSEDED;
            }
            if k > 0 {
                f |= NOT_FIRST;
            }
            recs[i].flags = f;
        }
    }
}

/// What becomes of one stream's segment.
enum Plan {
    /// Kept byte for byte.
    Reuse(SegmentRef, Vec<usize>),
    /// Written from these records.
    Write(Vec<usize>),
}

/// Lays out one stream: the previous segments in order, each kept as it is, dropped (every record gone), or
/// rewritten (more than half gone, or in the partial tail topped up with the new records) when every record it
/// keeps is a live version rendered now; then the new records, cut into full segments. `members` are the stream's records in date
/// order (previous ones first). Records dropped from the stream lose `bit`.
fn lay_out(
    prev: &[SegmentRef],
    members: &[usize],
    recs: &mut [Rec<'_>],
    bit: u8,
    blobs: &mut dyn BlobSink,
) -> Result<Stream, String> {
    let mut plans: Vec<Plan> = Vec::new();
    let mut pending: Vec<usize> = Vec::new();
    let mut at = 0usize;
    let flush = |pending: &mut Vec<usize>, plans: &mut Vec<Plan>| {
        for chunk in pending.chunks(SEGMENT_RECORDS) {
            plans.push(Plan::Write(chunk.to_vec()));
        }
        pending.clear();
    };
    // The tail to top up: trailing segments that are not full, each no bigger than the new records plus the
    // tail after it (so a publish rewrites at most about as many old records as it adds, and a stream's partial
    // segments stay few, each at least twice the next), and whose kept records are all rendered now.
    let old_count: usize = prev.iter().map(|s| s.count as usize).sum();
    let mut tail_from = prev.len();
    let mut acc = members.len().saturating_sub(old_count);
    let mut end = old_count;
    for (k, seg) in prev.iter().enumerate().rev() {
        let n = seg.count as usize;
        let Some(held) = members.get(end.saturating_sub(n)..end) else { break };
        let kept_have_bytes = held.iter().all(|&i| recs[i].flags & GONE != 0 || recs[i].body.is_some());
        if acc == 0 || n >= SEGMENT_RECORDS || n > acc || !kept_have_bytes {
            break;
        }
        tail_from = k;
        acc += n;
        end -= n;
    }
    for (k, seg) in prev.iter().enumerate() {
        let n = seg.count as usize;
        let Some(held) = members.get(at..at + n) else {
            return Err("the previous snapshot's index and id shards disagree: build once without --previous".into());
        };
        if held.first().map(|&i| recs[i].e.d) != Some(seg.first.0)
            || held.last().map(|&i| recs[i].e.d) != Some(seg.last.0)
        {
            return Err("the previous snapshot's segments and id shards disagree: build once without --previous".into());
        }
        at += n;
        let gone = held.iter().filter(|&&i| recs[i].flags & GONE != 0).count();
        let kept_have_bytes = held.iter().all(|&i| recs[i].flags & GONE != 0 || recs[i].body.is_some());
        let compact = gone * COMPACT_GONE_DEN > n * COMPACT_GONE_NUM;
        if gone == n || ((compact || k >= tail_from) && kept_have_bytes) {
            for &i in held {
                if recs[i].flags & GONE != 0 {
                    recs[i].e.streams &= !bit;
                } else {
                    pending.push(i);
                }
            }
            continue;
        }
        flush(&mut pending, &mut plans);
        plans.push(Plan::Reuse(seg.clone(), held.to_vec()));
    }
    if members[at..].iter().any(|&i| !recs[i].new) {
        return Err("the previous snapshot's id shards list records its segments do not hold: build once without \
                    --previous"
            .into());
    }
    pending.extend_from_slice(&members[at..]);
    flush(&mut pending, &mut plans);

    let marks_of = |held: &[usize]| -> (u32, String) {
        let shown = held.iter().filter(|&&i| recs[i].flags & HIDDEN_BY_DEFAULT == 0).count() as u32;
        let marks = encode_marks(
            held.iter().enumerate().filter(|(_, &i)| recs[i].flags != 0).map(|(k, &i)| (k, recs[i].flags)),
        );
        (shown, marks)
    };
    let mut stream = Stream::default();
    // Encoded a batch at a time on every core, so at most a batch of segments is held before the sink.
    for batch in plans.chunks(16 * workers()) {
        let recs_ro: &[Rec<'_>] = recs;
        let encoded = par_map(batch, |plan| match plan {
            Plan::Reuse(..) => None,
            Plan::Write(held) => {
                let bodies: Vec<&Packed> =
                    held.iter().map(|&i| recs_ro[i].body.expect("written records have their bytes")).collect();
                let records: Vec<RecordHead<'_>> = held
                    .iter()
                    .zip(&bodies)
                    .map(|(&i, r)| RecordHead {
                        date_added: Timestamp(recs_ro[i].e.d),
                        version: r.version,
                        id21: r.id21(),
                        type21: r.type21(),
                        id20: r.id20(),
                        type20: r.type20(),
                        json21_len: r.json21_len as usize,
                        json20_len: (r.json_len - r.json21_len) as usize,
                    })
                    .collect();
                let bytes = encode(&records, |k, out| bodies[k].json_into(out));
                Some((blob_key("segment", &bytes), bytes))
            }
        });
        for (plan, enc) in batch.iter().zip(encoded) {
            let (held, seg) = match (plan, enc) {
                (Plan::Reuse(seg, held), _) => (held, SegmentRef { marks: String::new(), shown: 0, ..seg.clone() }),
                (Plan::Write(held), Some((key, bytes))) => {
                    let seg = SegmentRef {
                        key: key.clone(),
                        count: held.len() as u32,
                        first: Timestamp(recs[held[0]].e.d),
                        last: Timestamp(recs[held[held.len() - 1]].e.d),
                        shown: 0,
                        marks: String::new(),
                    };
                    blobs.put(key, bytes);
                    (held, seg)
                }
                (Plan::Write(_), None) => unreachable!("written plans are encoded"),
            };
            let (shown, marks) = marks_of(held);
            stream.count += u64::from(shown);
            stream.segments.push(SegmentRef { shown, marks, ..seg });
        }
    }
    Ok(stream)
}

/// The id shards: the previous ones kept while the delta stays under 1/8 of them, the delta listing the records
/// added since and those whose streams changed (compacted out of some: a record in none is a tombstone that hides
/// its base entry); else all rewritten, without the records that are in no stream.
fn write_id_shards(
    recs: &[Rec<'_>],
    prev: Option<&CollectionIndex>,
    blobs: &mut dyn BlobSink,
) -> (Vec<String>, Vec<String>) {
    // `count` entries, read once into their shards.
    let mut write = |count: usize, entries: &mut dyn Iterator<Item = ShardEntry>| -> Vec<String> {
        let shards = count.div_ceil(SHARD_ENTRIES).max(1);
        // Each shard holds about its share of the entries and as many 2.0 aliases.
        let mut lists: Vec<Vec<ShardEntry>> =
            (0..shards).map(|_| Vec::with_capacity(2 * count / shards + 64)).collect();
        for e in entries {
            lists[shard_of_hash(e.h21, shards)].push(e);
            if let Some(h20) = e.h20 {
                if shard_of_hash(h20, shards) != shard_of_hash(e.h21, shards) {
                    lists[shard_of_hash(h20, shards)].push(ShardEntry { h20: Some(h20), ..e });
                }
            }
        }
        lists
            .into_iter()
            .enumerate()
            .map(|(k, list)| {
                let bytes = encode_shard_for(&list, k, shards);
                let key = blob_key("ids", &bytes);
                blobs.put(key.clone(), bytes);
                key
            })
            .collect()
    };
    let delta: Vec<ShardEntry> =
        recs.iter().filter(|r| r.new || r.in_delta || r.e.streams != r.was).map(|r| r.e).collect();
    let base_len = recs.len() - delta.len();
    if let Some(p) = prev {
        if !p.id_shards.is_empty() && delta.len() * DELTA_DEN <= base_len {
            let delta_keys = if delta.is_empty() { Vec::new() } else { write(delta.len(), &mut delta.into_iter()) };
            return (p.id_shards.clone(), delta_keys);
        }
    }
    let kept = || recs.iter().filter(|r| r.e.streams != 0).map(|r| r.e);
    (write(kept().count(), &mut kept()), Vec::new())
}

/// Encodes shard `k` of `shards`: 2.1 entries whose 2.1 id hashes here, 2.0 aliases whose 2.0 id does.
fn encode_shard_for(list: &[ShardEntry], k: usize, shards: usize) -> Vec<u8> {
    let main: Vec<ShardEntry> = list
        .iter()
        .filter(|e| shard_of_hash(e.h21, shards) == k)
        .map(|e| ShardEntry { h20: e.h20.filter(|&h| shard_of_hash(h, shards) == k), ..*e })
        .collect();
    let aliases: Vec<(u64, i64)> =
        list.iter().filter(|e| shard_of_hash(e.h21, shards) != k).filter_map(|e| e.h20.map(|h| (h, e.d))).collect();
    encode_shard(&main, &aliases)
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
        eprintln!(
            "[timing] {what}: {:.2} s (at {:.2} s, {})",
            (now - self.last.get()).as_secs_f64(),
            (now - self.start).as_secs_f64(),
            memory()
        );
        self.last.set(now);
    }
}

/// The process's resident memory now and at its peak so far (Linux), for the timings.
pub fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(String::from("?"), |kb| format!("{} MB", kb * 1024 / 1_000_000))
    };
    format!("rss {}, peak {}", field("VmRSS:"), field("VmHWM:"))
}

#[cfg(test)]
mod tests {
    use super::concurrent_groups;

    #[test]
    fn the_largest_collection_is_built_alone_and_each_group_fits_in_its_size() {
        let sizes = [10, 3, 7, 0, 5, 2];
        let groups = concurrent_groups(&sizes);
        assert_eq!(groups, vec![vec![0, 3], vec![2, 1], vec![4, 5]]);
        let mut seen: Vec<usize> = groups.concat();
        seen.sort();
        assert_eq!(seen, (0..sizes.len()).collect::<Vec<_>>());
        assert!(concurrent_groups(&[]).is_empty());
        assert_eq!(concurrent_groups(&[4]), vec![vec![0]]);
    }
}
