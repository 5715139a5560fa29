//! A snapshot on disk (native only): `snapshot.json` naming the manifest, and every blob under `blobs/<key>`.
//!
//! The directory mirrors the store, so publishing is "upload what the store lacks, then switch the pointer",
//! and a previous snapshot directory can be read back to keep each object version's date_added.

use edge_core::retention::{plan, Pruned};
use edge_core::snapshot::format::{
    decode_marks, verify_blob, CollectionIndex, Dates, IdShard, Manifest, PreviousCollection, ShardEntry, ALL, FORMAT,
    GONE, IN_ALL,
};
use edge_core::store::Listed;
use edge_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// `snapshot.json`: which manifest is the root of the directory's snapshot.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SnapshotFile {
    pub snapshot: String,
    pub manifest: String,
    pub created: Timestamp,
}

/// Writes one blob under `<dir>/blobs/<key>`; a blob already there is left as it is (same key, same bytes). The
/// bytes go to `<key>.partial` first and are renamed into place, so a build killed mid-write leaves no blob
/// whose name promises bytes it lacks (a later build would keep it as it is).
pub fn write_blob(dir: &Path, key: &str, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join("blobs").join(key);
    if path.exists() {
        return Ok(());
    }
    let parent = path.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let mut partial = path.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes).map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    std::fs::rename(&partial, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes `snapshot.json`, naming the snapshot's manifest: written last, once every blob is in place.
pub fn write_snapshot_file(dir: &Path, file: &SnapshotFile) -> Result<(), String> {
    let path = dir.join("snapshot.json");
    std::fs::write(&path, serde_json::to_vec_pretty(file).expect("serialises"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A snapshot directory opened for reading.
pub struct SnapshotDir {
    pub root: PathBuf,
    pub file: SnapshotFile,
}

impl SnapshotDir {
    pub fn open(dir: &Path) -> Result<SnapshotDir, String> {
        let path = dir.join("snapshot.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{} is not a snapshot directory (no snapshot.json: {e}); make one with `taxii-edge build`",
                dir.display()
            )
        })?;
        let file = serde_json::from_str(&text).map_err(|e| format!("{} is not valid: {e}", path.display()))?;
        Ok(SnapshotDir { root: dir.to_path_buf(), file })
    }

    /// A blob's bytes, checked against its hash.
    pub fn blob(&self, key: &str) -> Result<Vec<u8>, String> {
        let path = self.root.join("blobs").join(key);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "{} is missing: if this snapshot was built with --previous-url, it reuses that worker's blobs, \
                     so publish it to that worker (or build it without --previous-url)",
                    path.display()
                )
            } else {
                format!("cannot read {}: {e}", path.display())
            }
        })?;
        if !verify_blob(key, &bytes) {
            return Err(format!(
                "{} is damaged (its bytes do not match its name): rebuild the snapshot",
                path.display()
            ));
        }
        Ok(bytes)
    }

    pub fn manifest(&self) -> Result<Manifest, String> {
        serde_json::from_slice(&self.blob(&self.file.manifest)?).map_err(|e| format!("the manifest is not valid: {e}"))
    }

    /// Every blob key the snapshot references, manifest last.
    pub fn keys(&self) -> Result<Vec<String>, String> {
        reachable_keys(self, &self.file.manifest)
    }

    pub fn index(&self, key: &str) -> Result<CollectionIndex, String> {
        serde_json::from_slice(&self.blob(key)?).map_err(|e| format!("index {key} is not valid: {e}"))
    }
}

/// Where a previous snapshot's blobs can be read: a snapshot directory or a live worker.
pub trait BlobSource {
    /// A blob's bytes, checked against its hash.
    fn blob(&self, key: &str) -> Result<Vec<u8>, String>;
}

impl BlobSource for SnapshotDir {
    fn blob(&self, key: &str) -> Result<Vec<u8>, String> {
        SnapshotDir::blob(self, key)
    }
}

/// Every blob key the snapshot rooted at `manifest_key` references, sorted, with the manifest last: what a
/// publish uploads and what pruning keeps.
pub fn reachable_keys(src: &dyn BlobSource, manifest_key: &str) -> Result<Vec<String>, String> {
    let manifest: Manifest =
        serde_json::from_slice(&src.blob(manifest_key)?).map_err(|e| format!("the manifest is not valid: {e}"))?;
    let mut keys = Vec::new();
    for c in &manifest.collections {
        let index: CollectionIndex =
            serde_json::from_slice(&src.blob(&c.index)?).map_err(|e| format!("index {} is not valid: {e}", c.index))?;
        for stream in index.streams.values() {
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
pub fn previous_state(src: &dyn BlobSource, manifest_key: &str) -> Result<Dates, String> {
    let manifest: Manifest = serde_json::from_slice(&src.blob(manifest_key)?)
        .map_err(|e| format!("the previous manifest is not valid: {e}"))?;
    if manifest.format != FORMAT {
        return Err(format!(
            "the previous snapshot has format {}, this version writes format {FORMAT}: build once without \
             --previous/--previous-url (every object then gets a new date_added, so pollers receive everything once \
             more) and publish that",
            manifest.format
        ));
    }
    let mut out = Dates::new();
    for c in &manifest.collections {
        let index: CollectionIndex =
            serde_json::from_slice(&src.blob(&c.index)?).map_err(|e| format!("index {} is not valid: {e}", c.index))?;
        // Base entries, then the delta's: a delta entry for a record the base lists replaces it (its streams
        // changed: it was compacted out of one or all of them).
        let mut by_date: std::collections::BTreeMap<i64, (ShardEntry, bool)> = std::collections::BTreeMap::new();
        let mut aliases = HashMap::new();
        for (keys, delta) in [(&index.id_shards, false), (&index.id_delta, true)] {
            let mut seen = std::collections::HashSet::new();
            for key in keys {
                let shard = IdShard::decode(src.blob(key)?).map_err(|e| format!("id shard {key}: {e}"))?;
                for e in shard.entries() {
                    if !seen.insert(e.d) {
                        return Err(format!(
                            "index {}: two records share a date_added: build once without --previous",
                            c.index
                        ));
                    }
                    by_date.insert(e.d, (e, delta));
                }
                aliases.extend(shard.aliases().map(|(h, d)| (d, h)));
            }
        }
        let mut records = Vec::with_capacity(by_date.len());
        let mut in_delta = Vec::with_capacity(by_date.len());
        for (d, (mut e, delta)) in by_date {
            e.h20 = aliases.get(&d).copied();
            records.push(e);
            in_delta.push(delta);
        }
        let mut flags = vec![GONE; records.len()];
        let mut in_all = (0..records.len()).filter(|&i| records[i].streams & IN_ALL != 0);
        for seg in index.streams.get(ALL).map_or(&[][..], |s| &s.segments[..]) {
            for f in decode_marks(&seg.marks, seg.count as usize).map_err(|e| format!("index {}: {e}", c.index))? {
                let i = in_all.next().ok_or_else(|| {
                    format!("index {}: the segments hold more records than the id shards list", c.index)
                })?;
                flags[i] = f;
            }
        }
        out.insert(c.id.clone(), PreviousCollection { index, records, in_delta, flags });
    }
    Ok(out)
}

/// Puts into `out` (a snapshot directory just built) every blob it references but lacks, from `from` (the
/// previous snapshot directory it reuses segments of): hard links where it can, else copies. Returns how many.
pub fn fill_from(out: &Path, from: &SnapshotDir) -> Result<usize, String> {
    let dir = SnapshotDir::open(out)?;
    let mut n = 0;
    for key in dir.keys()? {
        let target = out.join("blobs").join(&key);
        if target.exists() {
            continue;
        }
        let source = from.root.join("blobs").join(&key);
        let parent = target.parent().expect("blob paths have a parent");
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target)
                .map_err(|e| format!("cannot copy {} to {}: {e}", source.display(), target.display()))?;
        }
        n += 1;
    }
    Ok(n)
}

/// Prunes a snapshot directory: deletes the blob files its snapshot does not reach and that were written more
/// than `keep` ago.
pub fn prune_dir(dir: &SnapshotDir, now: Timestamp, keep: i64, dry_run: bool) -> Result<Pruned, String> {
    let reach: HashSet<String> = dir.keys()?.into_iter().collect();
    let blobs = dir.root.join("blobs");
    let mut listing = Vec::new();
    let read = |p: &std::path::Path| std::fs::read_dir(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    for kind in read(&blobs)? {
        let kind = kind.map_err(|e| e.to_string())?;
        if !kind.path().is_dir() {
            continue;
        }
        for f in read(&kind.path())? {
            let f = f.map_err(|e| e.to_string())?;
            let meta = f.metadata().map_err(|e| format!("cannot read {}: {e}", f.path().display()))?;
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
            std::fs::remove_file(&path).map_err(|e| format!("cannot delete {}: {e}", path.display()))?;
        }
        out.deleted.push(l.key);
    }
    Ok(out)
}
