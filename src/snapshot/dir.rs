//! A snapshot on disk (native only): `snapshot.json` naming the manifest, and every blob under `blobs/<key>`.
//!
//! The directory mirrors the store, so publishing is "upload what the store lacks, then switch the pointer",
//! and a previous snapshot directory can be read back to keep each object version's date_added.

use super::format::{verify_blob, CollectionIndex, Dates, Manifest};
use super::segment::Segment;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `snapshot.json`: which manifest is the root of the directory's snapshot.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SnapshotFile {
    pub snapshot: String,
    pub manifest: String,
    pub created: Timestamp,
}

/// Writes one blob under `<dir>/blobs/<key>`; a blob already there is left as it is (same key, same bytes).
pub fn write_blob(dir: &Path, key: &str, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join("blobs").join(key);
    if path.exists() {
        return Ok(());
    }
    let parent = path.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
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
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
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
        keys.push(c.index.clone());
    }
    keys.sort();
    keys.dedup();
    keys.push(manifest_key.to_string());
    Ok(keys)
}

/// date_added of every object version of the snapshot rooted at `manifest_key`, per collection id: what a
/// rebuild keeps so that unchanged objects are not announced again.
pub fn previous_dates(src: &dyn BlobSource, manifest_key: &str) -> Result<Dates, String> {
    let manifest: Manifest = serde_json::from_slice(&src.blob(manifest_key)?)
        .map_err(|e| format!("the previous manifest is not valid: {e}"))?;
    let mut out = Dates::new();
    for c in &manifest.collections {
        let index: CollectionIndex =
            serde_json::from_slice(&src.blob(&c.index)?).map_err(|e| format!("index {} is not valid: {e}", c.index))?;
        let mut dates = HashMap::new();
        if let Some(all) = index.streams.get(super::format::ALL) {
            for s in &all.segments {
                let seg = Segment::decode(src.blob(&s.key)?)?;
                for r in &seg.records {
                    dates.insert((r.id.clone(), r.v), r.date_added());
                }
            }
        }
        out.insert(c.id.clone(), dates);
    }
    Ok(out)
}
