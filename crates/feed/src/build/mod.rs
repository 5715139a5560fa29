//! Builds a snapshot from indicators and a collection configuration (native only).
//!
//! Each indicator is rendered once per rendering variant its collections use (one, unless collections set client
//! settings of their own); each collection takes the indicators its query selects plus their extras.
//! An object version already in the previous snapshot stays where it is (same segment, same date_added); a new
//! or changed one is appended at the tail of its streams with a date_added after every earlier one, in whole
//! milliseconds (see [`dates`]). Earlier
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
//! Segments are encoded and hashed on every core, rendering and the relationships (made once for every
//! collection) are parallel too, and collections are built two at a time, the largest first ([`schedule`]), so
//! that both cores work to the end while the peak memory stays that of the two largest collections. Inside a
//! collection, its objects and its previous records are sorted side by side, and its type streams are laid out
//! beside its "all" stream.
//!
//! The modules, in the order a build runs them:
//! - [`render_stage`]: indicators rendered once and packed ([`Prepared`], [`Packed`]).
//! - [`record_cache`]: the renderings of input records kept between builds ([`RecordCache`]), and
//!   [`cache_index`], its index in memory.
//! - [`relationships`]: each collection's extras, the TIP relationships made once for all of them.
//! - [`schedule`]: which collections are built side by side, in what order.
//! - [`collection`]: one collection: current versions against the previous records, streams, index.
//! - [`versions`]: records across snapshots, [`History`], superseded and gone flags.
//! - [`dates`]: the date_added of new records (whole milliseconds).
//! - [`layout`]: one stream's segments (kept, compacted, topped up, new).
//! - [`id_shards`]: the id shards and their delta.
//! - [`sink`]: where blobs go ([`BlobSink`]; a directory written by a thread of its own).
//! - [`warm`]: what a long-running sync keeps in memory from one build to the next ([`Warm`]).
//! - [`memory`]: resident memory and phase timings (the threads are the crate's `pool`).

mod cache_index;
mod collection;
mod dates;
mod id_shards;
mod key_hash;
mod layout;
mod memory;
mod record_cache;
mod relationships;
mod render_stage;
mod schedule;
mod sink;
mod versions;
mod warm;

pub use cache_index::{KeptIndex, UsedIndex};
pub use collection::CollectionError;
pub use layout::LayoutError;
pub use memory::memory;
pub use record_cache::{cache_key, CacheError, CacheLookup, CacheStats, CacheWriter, Item, RecordCache};
pub use render_stage::{MadeRelationships, Packed, Prepared, RelationshipKey};
pub use sink::{BlobSink, SinkError};
pub use versions::{History, DEFAULT_KEEP_VERSIONS_DAYS};
pub use warm::{Warm, WarmRecords};

use crate::config::CollectionConfig;
use crate::indicator::Indicator;
use crate::stix::{ids, RenderError, RenderOptions};
use collection::write_collection;
use edge_core::snapshot::format::*;
use edge_core::time::Timestamp;
use memory::Phases;
use relationships::{packed_extras, TipRelationships};
use render_stage::reports_with_targets;
use schedule::largest_first;
use sink::{DirSink, SharedSink};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::Sender;

/// Why a build stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The `check` refused the indicators that could not be rendered (and the bad records it was given).
    #[error("{bad_records} bad records: fix them, or pass --skip-bad to build without them")]
    BadRecords { bad_records: usize },
    /// A collection could not be built over the previous snapshot.
    #[error("collection {name:?}: {source}")]
    Collection { name: String, source: CollectionError },
    /// The snapshot directory's blobs were not all written.
    #[error("{0}")]
    Blobs(#[source] SinkError),
    /// `snapshot.json` could not be written.
    #[error("{0}")]
    SnapshotFile(#[source] crate::snapshot_dir::SnapshotDirError),
}

/// Everything a build needs.
pub struct BuildInput<'a> {
    pub collections: &'a [CollectionConfig],
    pub indicators: &'a [Indicator],
    pub render: &'a RenderOptions,
    /// The build time: date_added of new objects ends here in a new collection, and starts here (or after the
    /// collection's newest) in one the previous snapshot had (see [`dates`]).
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
    /// This snapshot as a build on it reads it back ([`crate::snapshot_dir::previous_state`]), when the build
    /// was asked to keep it (a long-running sync's, see [`Warm`]).
    pub state: Option<Dates>,
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
            keep: None,
            sources: Vec::new(),
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

/// Builds the snapshot in memory, keeping superseded versions the default time.
pub fn build(input: &BuildInput<'_>) -> Built {
    build_with(input, History::days(DEFAULT_KEEP_VERSIONS_DAYS))
        .expect("a build without a check fails only on a bad previous snapshot")
}

/// Builds the snapshot in memory.
pub fn build_with(input: &BuildInput<'_>, keep: History) -> Result<Built, BuildError> {
    build_in_memory(input, (keep, false))
}

/// Builds the snapshot in memory with [`Built::state`], the snapshot as the next build reads it.
pub fn build_keeping_state(input: &BuildInput<'_>, keep: History) -> Result<Built, BuildError> {
    build_in_memory(input, (keep, true))
}

fn build_in_memory(input: &BuildInput<'_>, keep: (History, bool)) -> Result<Built, BuildError> {
    let mut blobs = BTreeMap::new();
    let (manifest_key, manifest, render_errors, state) = build_into(input, keep, &mut blobs, &mut |_| Ok(()))?;
    Ok(Built { blobs, manifest_key, manifest, render_errors, state })
}

/// Builds the snapshot into the directory `dir` (blobs as they are made, then the manifest and `snapshot.json`).
/// `check` sees the indicators that could not be rendered before anything is written; an error from it stops
/// the build. The returned `Built` holds no blobs: they are in the directory.
pub fn build_to_dir(
    input: &BuildInput<'_>,
    keep: History,
    dir: &Path,
    check: &mut dyn FnMut(&[RenderError]) -> Result<(), BuildError>,
) -> Result<Built, BuildError> {
    let mut sink = DirSink::new(dir, None);
    let parts = build_into(input, (keep, false), &mut sink, check)?;
    finish_dir(dir, sink, parts)
}

/// Checks the blobs were written and writes `snapshot.json`.
fn finish_dir(dir: &Path, mut sink: DirSink, parts: BuiltParts) -> Result<Built, BuildError> {
    sink.finish().map_err(BuildError::Blobs)?;
    let (manifest_key, manifest, render_errors, state) = parts;
    let built = Built { blobs: BTreeMap::new(), manifest_key, manifest, render_errors, state };
    let file = crate::snapshot_dir::SnapshotFile {
        snapshot: built.snapshot_id().to_string(),
        manifest: built.manifest_key.clone(),
        created: built.manifest.created,
        built_on: None,
    };
    crate::snapshot_dir::write_snapshot_file(dir, &file).map_err(BuildError::SnapshotFile)?;
    Ok(built)
}

type BuiltParts = (String, Manifest, Vec<RenderError>, Option<Dates>);

fn build_into(
    input: &BuildInput<'_>,
    keep: (History, bool),
    blobs: &mut dyn BlobSink,
    check: &mut dyn FnMut(&[RenderError]) -> Result<(), BuildError>,
) -> Result<BuiltParts, BuildError> {
    let phase = Phases::start();
    phase.mark("start (indicators imported)");
    let mut prepared = Prepared::new(input.collections, input.render, input.now);
    prepared.push(input.indicators.to_vec(), input.collections, input.render);
    phase.mark("render");
    let previous = input.previous.clone();
    build_prepared(&prepared, input.collections, input.render, previous, keep, blobs, check)
}

/// Builds the snapshot from prepared indicators into the directory `dir`, as [`build_to_dir`] does; with
/// `keep_state`, [`Built::state`] is the snapshot as the next build reads it (a long-running sync keeps it and
/// `prepared` for its next build, see [`Warm`]). With `written`, each blob's key is sent there once the blob is
/// in the directory (the channel closes when the last one is).
#[allow(clippy::too_many_arguments)]
pub fn build_prepared_to_dir(
    prepared: &Prepared,
    collections: &[CollectionConfig],
    render: &RenderOptions,
    previous: Dates,
    (keep, keep_state): (History, bool),
    (dir, written): (&Path, Option<Sender<String>>),
    check: &mut dyn FnMut(&[RenderError]) -> Result<(), BuildError>,
) -> Result<Built, BuildError> {
    let mut sink = DirSink::new(dir, written);
    let parts = build_prepared(prepared, collections, render, previous, (keep, keep_state), &mut sink, check)?;
    finish_dir(dir, sink, parts)
}

#[allow(clippy::too_many_arguments)]
fn build_prepared(
    prepared: &Prepared,
    collections: &[CollectionConfig],
    render: &RenderOptions,
    previous: Dates,
    (keep, keep_state): (History, bool),
    blobs: &mut dyn BlobSink,
    check: &mut dyn FnMut(&[RenderError]) -> Result<(), BuildError>,
) -> Result<BuiltParts, BuildError> {
    let phase = Phases::start();
    if phase.on() {
        let (n, bytes) = (prepared.rendered_objects(), prepared.rendered_bytes());
        phase.mark(&format!("start ({n} objects, {} MB rendered and compressed)", bytes / 1_000_000));
    }
    check(&prepared.render_errors)?;
    let (indicators, selected, words, now) = (&prepared.indicators, &prepared.selected, prepared.words, prepared.now);
    let sizes: Vec<usize> = (0..collections.len())
        .map(|c| (0..indicators.len()).filter(|&i| selected[i * words + c / 64] & (1 << (c % 64)) != 0).count())
        .collect();
    let tip = TipRelationships::new(prepared, keep_state);
    phase.mark(&format!("relationships ({} made once for every collection)", tip.made()));
    let sink = SharedSink(std::sync::Mutex::new(blobs));
    // Each collection takes its part of the previous snapshot, and frees it when built.
    let previous = std::sync::Mutex::new(previous);
    // One collection's streams, from the indicators its query selected and their extras.
    let collection = |c: usize| -> Result<(CollectionEntry, Option<PreviousCollection>), BuildError> {
        let cfg = &collections[c];
        let id = ids::collection_id(&render.namespace, &cfg.name);
        let variant = prepared.variants.of_collection[c];
        let members: Vec<usize> =
            (0..indicators.len()).filter(|&i| selected[i * words + c / 64] & (1 << (c % 64)) != 0).collect();
        let mut objs: Vec<&Packed> = members.iter().map(|&i| prepared.object(i, variant)).collect();
        let opts = &prepared.variants.options[variant];
        let inds: Vec<&Indicator> = members.iter().map(|&i| &indicators[i]).collect();
        let reports = reports_with_targets(&inds, &objs, opts);
        for (i, report) in &reports {
            objs[*i] = report;
        }
        let extras = packed_extras(prepared, &tip, (c, variant), (&members, &inds, &objs), opts);
        drop(inds);
        let all: Vec<&Packed> = extras.iter().chain(objs.iter().copied()).collect();
        let previous = previous.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
        write_collection(cfg, id, all, previous, now, keep, keep_state, &sink)
            .map_err(|source| BuildError::Collection { name: cfg.name.clone(), source })
    };
    // The largest first, two at a time (see [`schedule`]), each timed on its own.
    let clock = phase.clock();
    let order = largest_first(&sizes);
    let done = crate::pool::par_map_each(&order, schedule::AT_ONCE, |&c| {
        let started = std::time::Instant::now();
        let result = collection(c);
        clock.took(&format!("collection {}", collections[c].name), started);
        result
    });
    phase.mark("collections");
    // A failed collection stops the build: its error (the first in the configuration).
    let mut done: Vec<(usize, _)> = order.into_iter().zip(done).collect();
    done.sort_by_key(|(c, _)| *c);
    let mut entries = Vec::with_capacity(collections.len());
    let mut state = keep_state.then(Dates::new);
    for (_, result) in done {
        let (entry, kept) = result?;
        if let (Some(kept), Some(state)) = (kept, state.as_mut()) {
            state.insert(entry.id.clone(), kept);
        }
        entries.push(entry);
    }
    if keep_state {
        // Every collection has taken its relationships: they are kept for the next build.
        *prepared.made_now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tip.into_made());
    }
    let config_digest = content_hash(format!("{collections:?}{render:?}").as_bytes());
    let manifest = Manifest { format: FORMAT, created: now, config_digest, collections: entries };
    let bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    let manifest_key = blob_key("manifest", &bytes);
    blobs.put(manifest_key.clone(), bytes);
    Ok((manifest_key, manifest, prepared.render_errors.clone(), state))
}
