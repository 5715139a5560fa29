//! A snapshot on disk (native only): `snapshot.json` naming the manifest, and every blob under `blobs/<key>`.
//!
//! The directory mirrors the store, so publishing is "upload what the store lacks, then switch the pointer",
//! and a previous snapshot directory can be read back to keep each object version's date_added.

use edge_core::retention::{plan, Pruned};
use edge_core::snapshot::format::{
    decode_marks, reads_format, verify_blob, CollectionEntry, CollectionIndex, Dates, FormatError, IdShard, Manifest,
    PreviousCollection, ShardEntry, ALL, FORMAT, GONE, IN_ALL,
};
use edge_core::store::Listed;
use edge_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Why a snapshot directory could not be written or read, or a previous snapshot not reused.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotDirError {
    /// A directory could not be created.
    #[error("cannot create {}: {source}", .path.display())]
    CreateDir { path: PathBuf, source: std::io::Error },
    /// A file could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// A blob could not be copied from the previous snapshot directory.
    #[error("cannot copy {} to {}: {source}", .from.display(), .to.display())]
    Copy { from: PathBuf, to: PathBuf, source: std::io::Error },
    /// A pruned blob could not be deleted.
    #[error("cannot delete {}: {source}", .path.display())]
    Delete { path: PathBuf, source: std::io::Error },
    /// Listing a directory failed midway.
    #[error("{0}")]
    List(std::io::Error),
    /// The directory has no readable `snapshot.json`.
    #[error(
        "{} is not a snapshot directory (no snapshot.json: {source}); make one with `taxii-edge build`",
        .dir.display()
    )]
    NotSnapshotDir { dir: PathBuf, source: std::io::Error },
    /// `snapshot.json` is not valid JSON for it.
    #[error("{} is not valid: {source}", .path.display())]
    InvalidSnapshotFile { path: PathBuf, source: serde_json::Error },
    /// A blob the snapshot references is not in the directory.
    #[error(
        "{} is missing: if this snapshot was built with --previous-url, it reuses that worker's blobs, so publish \
         it to that worker (or build it without --previous-url)",
        .path.display()
    )]
    BlobMissing { path: PathBuf },
    /// A blob's bytes do not match its content-addressed name.
    #[error("{} is damaged (its bytes do not match its name): rebuild the snapshot", .path.display())]
    Damaged { path: PathBuf },
    /// The manifest is not valid JSON for a manifest.
    #[error("the manifest is not valid: {0}")]
    InvalidManifest(serde_json::Error),
    /// A collection index is not valid JSON for an index.
    #[error("index {key} is not valid: {source}")]
    InvalidIndex { key: String, source: serde_json::Error },
    /// The previous snapshot's manifest is not valid JSON for a manifest.
    #[error("the previous manifest is not valid: {0}")]
    InvalidPreviousManifest(serde_json::Error),
    /// The previous snapshot is in another format.
    #[error(
        "the previous snapshot has format {0}, this version writes format {FORMAT}: build once without \
         --previous/--previous-url (every object then gets a new date_added, so pollers receive everything once \
         more) and publish that"
    )]
    PreviousFormat(u32),
    /// An id shard of the previous snapshot could not be decoded.
    #[error("id shard {key}: {source}")]
    IdShard { key: String, source: FormatError },
    /// Two records of the previous snapshot have the same date_added.
    #[error("index {index}: two records share a date_added: build once without --previous")]
    SharedDate { index: String },
    /// A segment's visibility marks in the previous index could not be decoded.
    #[error("index {index}: {source}")]
    Marks { index: String, source: FormatError },
    /// The previous index's segments and id shards disagree.
    #[error("index {index}: the segments hold more records than the id shards list")]
    MoreRecords { index: String },
    /// A [`BlobSource`] other than a directory (a worker) failed; its message as is.
    #[error("{0}")]
    Source(String),
}

/// `snapshot.json`: which manifest is the root of the directory's snapshot.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SnapshotFile {
    pub snapshot: String,
    pub manifest: String,
    pub created: Timestamp,
    /// The worker snapshot this one was built on (`build --previous-url`, `sync`): its publish replaces exactly
    /// that one (a compare-and-swap), so a build on a snapshot that is no longer current is refused, not published
    /// over the newer one. Missing: built on no worker's snapshot; publish names whatever is current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_on: Option<BuiltOn>,
}

/// What a snapshot was built on: a worker's current snapshot, or (`snapshot` null) a worker with nothing published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltOn {
    pub snapshot: Option<String>,
    /// The blobs the build wrote; every other blob its snapshot reaches is one of `snapshot`'s, so a
    /// publish that replaces `snapshot` need not ask the worker about them. `None` in a directory an older build
    /// wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrote: Option<Vec<String>>,
}

/// Writes one blob under `<dir>/blobs/<key>`; a blob already there is left as it is (same key, same bytes). The
/// bytes go to `<key>.partial` first and are renamed into place, so a build killed mid-write leaves no blob
/// whose name promises bytes it lacks (a later build would keep it as it is).
pub fn write_blob(dir: &Path, key: &str, bytes: &[u8]) -> Result<(), SnapshotDirError> {
    let path = dir.join("blobs").join(key);
    if path.exists() {
        return Ok(());
    }
    let parent = path.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(parent)
        .map_err(|source| SnapshotDirError::CreateDir { path: parent.to_path_buf(), source })?;
    let mut partial = path.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes).map_err(|source| SnapshotDirError::Write { path: partial.clone(), source })?;
    std::fs::rename(&partial, &path).map_err(|source| SnapshotDirError::Write { path, source })
}

/// Reads one blob from `<dir>/blobs/<key>`, checked against its hash: [`write_blob`]'s counterpart, usable
/// while a build is still writing the directory (before `snapshot.json` names its manifest).
pub fn read_blob(dir: &Path, key: &str) -> Result<Vec<u8>, SnapshotDirError> {
    let path = dir.join("blobs").join(key);
    let bytes = std::fs::read(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            SnapshotDirError::BlobMissing { path: path.clone() }
        } else {
            SnapshotDirError::Read { path: path.clone(), source }
        }
    })?;
    if !verify_blob(key, &bytes) {
        return Err(SnapshotDirError::Damaged { path });
    }
    Ok(bytes)
}

/// Writes `snapshot.json`, naming the snapshot's manifest: written last, once every blob is in place.
pub fn write_snapshot_file(dir: &Path, file: &SnapshotFile) -> Result<(), SnapshotDirError> {
    let path = dir.join("snapshot.json");
    std::fs::write(&path, serde_json::to_vec_pretty(file).expect("serialises"))
        .map_err(|source| SnapshotDirError::Write { path, source })
}

/// A snapshot directory opened for reading.
pub struct SnapshotDir {
    pub root: PathBuf,
    pub file: SnapshotFile,
}

impl SnapshotDir {
    pub fn open(dir: &Path) -> Result<SnapshotDir, SnapshotDirError> {
        let path = dir.join("snapshot.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|source| SnapshotDirError::NotSnapshotDir { dir: dir.to_path_buf(), source })?;
        let file =
            serde_json::from_str(&text).map_err(|source| SnapshotDirError::InvalidSnapshotFile { path, source })?;
        Ok(SnapshotDir { root: dir.to_path_buf(), file })
    }

    /// A blob's bytes, checked against its hash.
    pub fn blob(&self, key: &str) -> Result<Vec<u8>, SnapshotDirError> {
        read_blob(&self.root, key)
    }

    /// Whether the directory holds the blob itself (a build on a worker's snapshot writes only what is new).
    pub fn has_blob(&self, key: &str) -> bool {
        self.root.join("blobs").join(key).exists()
    }

    pub fn manifest(&self) -> Result<Manifest, SnapshotDirError> {
        serde_json::from_slice(&self.blob(&self.file.manifest)?).map_err(SnapshotDirError::InvalidManifest)
    }

    /// Every blob key the snapshot references, manifest last.
    pub fn keys(&self) -> Result<Vec<String>, SnapshotDirError> {
        reachable_keys(self, &self.file.manifest)
    }

    pub fn index(&self, key: &str) -> Result<CollectionIndex, SnapshotDirError> {
        serde_json::from_slice(&self.blob(key)?)
            .map_err(|source| SnapshotDirError::InvalidIndex { key: key.to_string(), source })
    }
}

/// Where a previous snapshot's blobs can be read: a snapshot directory or a live worker.
pub trait BlobSource: Sync {
    /// A blob's bytes, checked against its hash.
    fn blob(&self, key: &str) -> Result<Vec<u8>, SnapshotDirError>;
}

impl BlobSource for SnapshotDir {
    fn blob(&self, key: &str) -> Result<Vec<u8>, SnapshotDirError> {
        SnapshotDir::blob(self, key)
    }
}

/// Every blob key the snapshot rooted at `manifest_key` references, sorted, with the manifest last: what a
/// publish uploads and what pruning keeps.
pub fn reachable_keys(src: &dyn BlobSource, manifest_key: &str) -> Result<Vec<String>, SnapshotDirError> {
    keys_of(src, manifest_key, true)
}

/// The keys of the snapshot rooted at `manifest_key`, as [`reachable_keys`] lists them, with its segments or
/// without (its metadata only: what a build on it reads).
fn keys_of(src: &dyn BlobSource, manifest_key: &str, segments: bool) -> Result<Vec<String>, SnapshotDirError> {
    let manifest: Manifest =
        serde_json::from_slice(&src.blob(manifest_key)?).map_err(SnapshotDirError::InvalidManifest)?;
    let mut keys = Vec::new();
    for c in &manifest.collections {
        let index: CollectionIndex = serde_json::from_slice(&src.blob(&c.index)?)
            .map_err(|source| SnapshotDirError::InvalidIndex { key: c.index.clone(), source })?;
        for stream in index.streams.values().filter(|_| segments) {
            keys.extend(stream.segments.iter().map(|s| s.key.clone()));
        }
        keys.extend(index.id_shards.iter().cloned());
        keys.extend(index.id_delta.iter().cloned());
        keys.push(c.index.clone());
    }
    keys.sort();
    keys.dedup();
    keys.push(manifest_key.to_string());
    Ok(keys)
}

/// What a rebuild needs of the snapshot rooted at `manifest_key`, per collection id: its index and every
/// record's id hash, version, date_added and streams, from the id shards. No segment is read.
pub fn previous_state(src: &dyn BlobSource, manifest_key: &str) -> Result<Dates, SnapshotDirError> {
    let manifest: Manifest =
        serde_json::from_slice(&src.blob(manifest_key)?).map_err(SnapshotDirError::InvalidPreviousManifest)?;
    if !reads_format(manifest.format) {
        return Err(SnapshotDirError::PreviousFormat(manifest.format));
    }
    // The largest collections first, each read by the next free thread; a fault is reported as reading them in
    // the manifest's order would meet it first.
    let mut order: Vec<usize> = (0..manifest.collections.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(manifest.collections[c].count));
    let read = crate::pool::par_map_each(&order, crate::pool::workers(), |&c| {
        previous_collection(src, &manifest.collections[c])
    });
    let mut read: Vec<(usize, Result<PreviousCollection, SnapshotDirError>)> = order.into_iter().zip(read).collect();
    read.sort_by_key(|(c, _)| *c);
    let mut out = Dates::new();
    for (c, state) in read {
        out.insert(manifest.collections[c].id.clone(), state?);
    }
    Ok(out)
}

/// One collection of the previous snapshot: its index, and its records from the id shards with their flags.
fn previous_collection(src: &dyn BlobSource, c: &CollectionEntry) -> Result<PreviousCollection, SnapshotDirError> {
    let index: CollectionIndex = serde_json::from_slice(&src.blob(&c.index)?)
        .map_err(|source| SnapshotDirError::InvalidIndex { key: c.index.clone(), source })?;
    // Base entries, then the delta's: a delta entry for a record the base lists replaces it (its streams
    // changed: it was compacted out of one or all of them). Sorted by date_added (then base before delta),
    // which no two records of one of them share.
    let mut entries: Vec<(ShardEntry, bool)> = Vec::new();
    // The 2.0 id hashes that differ from the 2.1 one, by date_added, in the order the shards give them.
    let mut aliases: Vec<(i64, u64)> = Vec::new();
    for (keys, delta) in [(&index.id_shards, false), (&index.id_delta, true)] {
        for key in keys {
            let shard = IdShard::decode(src.blob(key)?)
                .map_err(|source| SnapshotDirError::IdShard { key: key.clone(), source })?;
            entries.extend(shard.entries().map(|e| (e, delta)));
            aliases.extend(shard.aliases().map(|(h, d)| (d, h)));
        }
    }
    entries.sort_unstable_by_key(|(e, delta)| (e.d, *delta));
    // Stable: of two aliases for one date (the base's and the delta's), the later stays last.
    aliases.sort_by_key(|&(d, _)| d);
    let mut aliases = aliases.into_iter().peekable();
    if entries.windows(2).any(|w| (w[0].0.d, w[0].1) == (w[1].0.d, w[1].1)) {
        return Err(SnapshotDirError::SharedDate { index: c.index.clone() });
    }
    let mut records = Vec::with_capacity(entries.len());
    let mut in_delta = Vec::with_capacity(entries.len());
    for (i, &(mut e, delta)) in entries.iter().enumerate() {
        if entries.get(i + 1).is_some_and(|(next, _)| next.d == e.d) {
            continue; // the delta's entry for this record follows
        }
        e.h20 = alias_at(&mut aliases, e.d);
        records.push(e);
        in_delta.push(delta);
    }
    let mut flags = vec![GONE; records.len()];
    let mut in_all = (0..records.len()).filter(|&i| records[i].streams & IN_ALL != 0);
    for seg in index.streams.get(ALL).map_or(&[][..], |s| &s.segments[..]) {
        for f in decode_marks(&seg.marks, seg.count as usize)
            .map_err(|source| SnapshotDirError::Marks { index: c.index.clone(), source })?
        {
            let i = in_all.next().ok_or_else(|| SnapshotDirError::MoreRecords { index: c.index.clone() })?;
            flags[i] = f;
        }
    }
    Ok(PreviousCollection { index, records, in_delta, flags })
}

/// The 2.0 id hash listed for date_added `d` (the last one listed, when the delta gives one as well), from aliases
/// sorted by date, which it walks past `d`: records ask in increasing date order. A sorted walk instead of a map:
/// at a million records, a map's lookups were most of the time spent reading the previous snapshot.
fn alias_at(aliases: &mut std::iter::Peekable<impl Iterator<Item = (i64, u64)>>, d: i64) -> Option<u64> {
    let mut found = None;
    while let Some(&(at, h)) = aliases.peek() {
        if at > d {
            break;
        }
        if at == d {
            found = Some(h);
        }
        aliases.next();
    }
    found
}

/// Puts into `out` (a snapshot directory just built) every blob it references but lacks, from `from` (the
/// previous snapshot directory it reuses segments of): hard links where it can, else copies. Returns how many.
pub fn fill_from(out: &Path, from: &SnapshotDir) -> Result<usize, SnapshotDirError> {
    let dir = SnapshotDir::open(out)?;
    let mut n = 0;
    for key in dir.keys()? {
        if !dir.has_blob(&key) {
            link_blob(out, from, &key)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Links (else copies) blob `key` of `from` into the snapshot directory `out`.
fn link_blob(out: &Path, from: &SnapshotDir, key: &str) -> Result<(), SnapshotDirError> {
    let target = out.join("blobs").join(key);
    let source = from.root.join("blobs").join(key);
    let parent = target.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(parent)
        .map_err(|source| SnapshotDirError::CreateDir { path: parent.to_path_buf(), source })?;
    if std::fs::hard_link(&source, &target).is_err() {
        std::fs::copy(&source, &target).map_err(|e| SnapshotDirError::Copy {
            from: source.clone(),
            to: target.clone(),
            source: e,
        })?;
    }
    Ok(())
}

/// The previous snapshot as a build reads it from a worker: from a local copy first when there is one (a snapshot
/// directory a build on that worker's snapshot wrote, so it may hold only part of it), from the worker for the rest.
/// What it reads from the worker (the manifest, indexes and id shards: never a segment) is kept, for
/// [`keep_read`].
pub struct Layered<'a> {
    pub local: Option<&'a SnapshotDir>,
    pub remote: &'a dyn BlobSource,
    fetched: std::sync::Mutex<HashMap<String, Vec<u8>>>,
}

impl<'a> Layered<'a> {
    pub fn new(local: Option<&'a SnapshotDir>, remote: &'a dyn BlobSource) -> Layered<'a> {
        Layered { local, remote, fetched: Default::default() }
    }

    /// How many blobs were read from the worker.
    pub fn fetched(&self) -> usize {
        self.fetched_blobs().len()
    }

    fn fetched_blobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        self.fetched.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl BlobSource for Layered<'_> {
    fn blob(&self, key: &str) -> Result<Vec<u8>, SnapshotDirError> {
        // A local blob that does not read back (damaged) is read from the worker instead.
        if let Some(Ok(bytes)) = self.local.filter(|l| l.has_blob(key)).map(|l| l.blob(key)) {
            return Ok(bytes);
        }
        if let Some(bytes) = self.fetched_blobs().get(key) {
            return Ok(bytes.clone());
        }
        let bytes = self.remote.blob(key)?;
        self.fetched_blobs().insert(key.to_string(), bytes.clone());
        Ok(bytes)
    }
}

/// Puts into `out` (built on `previous`) every manifest, index and id shard of its snapshot that it lacks and
/// `previous` holds here: linked from its local copy, or written from what was read from the worker. So a later
/// build can read `out` as its previous snapshot without the worker. The segments it reuses stay on the worker
/// only: no build reads a segment, and linking them forward, cycle after cycle, cost a link per segment of the
/// whole snapshot (about 9,000 at a million indicators) where the build wrote a few hundred. Returns how many
/// blobs it added.
pub fn keep_read(out: &Path, previous: &Layered) -> Result<usize, SnapshotDirError> {
    struct OutFirst<'a>(&'a SnapshotDir, &'a Layered<'a>);
    impl BlobSource for OutFirst<'_> {
        fn blob(&self, key: &str) -> Result<Vec<u8>, SnapshotDirError> {
            if self.0.has_blob(key) {
                self.0.blob(key)
            } else {
                self.1.blob(key)
            }
        }
    }
    let dir = SnapshotDir::open(out)?;
    let keys = keys_of(&OutFirst(&dir, previous), &dir.file.manifest, false)?;
    let mut n = 0;
    for key in keys.iter().filter(|k| !dir.has_blob(k)) {
        if let Some(local) = previous.local.filter(|l| l.has_blob(key)) {
            link_blob(out, local, key)?;
        } else if let Some(bytes) = previous.fetched_blobs().get(key) {
            write_blob(out, key, bytes)?;
        } else {
            continue;
        }
        n += 1;
    }
    Ok(n)
}

/// Prunes a snapshot directory: deletes the blob files its snapshot does not reach and that were written more
/// than `keep` ago.
pub fn prune_dir(dir: &SnapshotDir, now: Timestamp, keep: i64, dry_run: bool) -> Result<Pruned, SnapshotDirError> {
    let reach: HashSet<String> = dir.keys()?.into_iter().collect();
    let blobs = dir.root.join("blobs");
    let mut listing = Vec::new();
    let read = |p: &std::path::Path| {
        std::fs::read_dir(p).map_err(|source| SnapshotDirError::Read { path: p.to_path_buf(), source })
    };
    for kind in read(&blobs)? {
        let kind = kind.map_err(SnapshotDirError::List)?;
        if !kind.path().is_dir() {
            continue;
        }
        for f in read(&kind.path())? {
            let f = f.map_err(SnapshotDirError::List)?;
            let meta = f.metadata().map_err(|source| SnapshotDirError::Read { path: f.path(), source })?;
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| Timestamp(d.as_micros() as i64))
                .unwrap_or(now);
            listing.push(Listed {
                key: format!("{}/{}", kind.file_name().to_string_lossy(), f.file_name().to_string_lossy()),
                uploaded: modified,
                size: meta.len(),
            });
        }
    }
    listing.sort_by(|a, b| a.key.cmp(&b.key));
    let p = plan(&listing, &reach, now, keep);
    let mut out = Pruned::planned(vec![dir.file.snapshot.clone()], listing.len(), &p, dry_run);
    for l in p.delete {
        if !dry_run {
            let path = blobs.join(&l.key);
            std::fs::remove_file(&path).map_err(|source| SnapshotDirError::Delete { path, source })?;
        }
        out.deleted.push(l.key);
    }
    Ok(out)
}

#[cfg(test)]
mod layered_tests {
    use super::*;
    use edge_core::snapshot::format::blob_key;

    /// Blobs held in memory: the worker's side of a [`Layered`] read.
    struct Remote(HashMap<String, Vec<u8>>);

    impl BlobSource for Remote {
        fn blob(&self, key: &str) -> Result<Vec<u8>, SnapshotDirError> {
            self.0.get(key).cloned().ok_or_else(|| SnapshotDirError::Source(format!("no blob {key}")))
        }
    }

    #[test]
    fn local_first_remote_for_the_rest_and_for_a_damaged_local_blob() {
        let root = std::env::temp_dir().join(format!("layered-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (a, b, c) = (b"local".to_vec(), b"remote".to_vec(), b"damaged here".to_vec());
        let (ka, kb, kc) = (blob_key("seg", &a), blob_key("seg", &b), blob_key("seg", &c));
        write_blob(&root, &ka, &a).unwrap();
        write_blob(&root, &kc, b"not what the key promises").unwrap();
        let local = SnapshotDir {
            root: root.clone(),
            file: SnapshotFile { snapshot: "s".into(), manifest: ka.clone(), created: Timestamp(0), built_on: None },
        };
        let remote = Remote([(kb.clone(), b.clone()), (kc.clone(), c.clone())].into_iter().collect());
        let layered = Layered::new(Some(&local), &remote);
        assert_eq!(layered.blob(&ka).unwrap(), a);
        assert_eq!(layered.blob(&kb).unwrap(), b);
        assert_eq!(layered.blob(&kc).unwrap(), c, "a damaged local blob is read from the worker");
        assert_eq!(layered.fetched(), 2);
        let _ = std::fs::remove_dir_all(&root);
    }
}

#[cfg(test)]
mod alias_tests {
    use super::alias_at;

    #[test]
    fn the_last_alias_of_a_date_is_found_walking_in_date_order() {
        // Sorted by date as the shards gave them: the base's alias for 3 first, the delta's after it.
        let mut aliases = vec![(1, 10), (3, 30), (3, 31), (4, 40), (6, 60)].into_iter().peekable();
        let found: Vec<Option<u64>> = [1, 2, 3, 5, 6, 7].iter().map(|&d| alias_at(&mut aliases, d)).collect();
        assert_eq!(found, [Some(10), None, Some(31), None, Some(60), None]);
    }
}
