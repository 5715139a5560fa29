//! Retention and pruning: which snapshots are kept, and which blobs may be deleted.
//!
//! Every pointer switch records the snapshot it replaces in [`Pointer::history`] with the time it stopped being
//! current. A snapshot is *retained* while it is current or for `keep` after it was replaced, so a client paging
//! with a `next` token finishes on the snapshot it started. A blob may be deleted only when it is reachable from
//! no retained snapshot **and** was uploaded more than `keep` ago: a publish in flight uploads blobs before its
//! pointer switch, and those must survive a prune that runs meanwhile.
//!
//! The pure decisions ([`retained`], [`next_pointer`], [`plan`]) are shared by the worker's admin API and the
//! CLI; [`reachable`] walks a snapshot in any [`Store`]. The CLI drives a whole prune of a worker, and
//! `edge_feed::snapshot_dir` one of a snapshot directory.

use crate::snapshot::format::{CollectionIndex, Manifest, Pointer, Retired};
use crate::store::{Listed, Store};
use crate::time::Timestamp;
use crate::wire::valid_blob_key;
use std::collections::HashSet;

/// The default retention: a day.
pub const DEFAULT_KEEP: &str = "24h";

/// The most retired snapshots a pointer remembers.
pub const MAX_HISTORY: usize = 100;

/// Why [`reachable`] could not walk a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The store failed; its message as is.
    #[error("{}", .0.0)]
    Store(crate::store::StoreError),
    /// The manifest is not in the store.
    #[error("the manifest {0} is missing")]
    ManifestMissing(String),
    /// The manifest is not valid JSON for a manifest.
    #[error("the manifest {0} is not valid: {1}")]
    ManifestInvalid(String, serde_json::Error),
    /// A collection index the manifest names is not in the store.
    #[error("the index {0} is missing")]
    IndexMissing(String),
    /// A collection index is not valid JSON for an index.
    #[error("the index {0} is not valid: {1}")]
    IndexInvalid(String, serde_json::Error),
}

/// The snapshots kept at `now` (snapshot id, manifest key): the current one and those replaced less than `keep` ago.
pub fn retained(pointer: &Pointer, now: Timestamp, keep: i64) -> Vec<(String, String)> {
    let mut out = vec![(pointer.snapshot.clone(), pointer.manifest.clone())];
    for r in &pointer.history {
        if r.retired.0.saturating_add(keep) > now.0 && !out.iter().any(|(s, _)| *s == r.snapshot) {
            out.push((r.snapshot.clone(), r.manifest.clone()));
        }
    }
    out
}

/// The pointer that makes `manifest` current at `now`: the old current snapshot joins the history (newest first),
/// the new one leaves it, entries replaced more than `keep` ago (when given) are forgotten, at most
/// [`MAX_HISTORY`] are remembered.
pub fn next_pointer(
    old: Option<Pointer>,
    snapshot: &str,
    manifest: &str,
    now: Timestamp,
    keep: Option<i64>,
) -> Pointer {
    let mut history = Vec::new();
    if let Some(old) = old {
        if old.snapshot != snapshot {
            history.push(Retired {
                snapshot: old.snapshot,
                manifest: old.manifest,
                published: old.published,
                retired: now,
            });
        }
        history.extend(old.history);
    }
    let mut seen = HashSet::new();
    history.retain(|r| {
        r.snapshot != snapshot
            && seen.insert(r.snapshot.clone())
            && keep.is_none_or(|k| r.retired.0.saturating_add(k) > now.0)
    });
    history.truncate(MAX_HISTORY);
    Pointer {
        snapshot: snapshot.into(),
        manifest: manifest.into(),
        published: now,
        history,
        keep: None,
        sources: Vec::new(),
    }
}

/// The retention window a pointer records (the `keep` its publish asked for; [`DEFAULT_KEEP`] when it names none
/// or one that does not parse), micros: the worker refuses to delete what a snapshot retained within it reaches.
pub fn recorded_keep(pointer: &Pointer) -> i64 {
    let default = || crate::duration::parse_duration(DEFAULT_KEEP).expect("the default keep parses");
    pointer.keep.as_deref().and_then(|k| crate::duration::parse_duration(k).ok()).unwrap_or_else(default)
}

/// What a prune decided about a store's keys.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Blobs to delete: unreachable and older than the window.
    pub delete: Vec<Listed>,
    /// Blobs kept because a retained snapshot reaches them.
    pub kept_reachable: usize,
    /// Unreachable blobs kept because they were uploaded within the window (perhaps by a publish in flight).
    pub kept_recent: usize,
    /// Keys that are not blobs (the pointer, anything else): never touched.
    pub other: usize,
}

impl Plan {
    pub fn bytes(&self) -> u64 {
        self.delete.iter().map(|l| l.size).sum()
    }
}

/// Decides, for every listed key, whether it goes.
pub fn plan(listing: &[Listed], reachable: &HashSet<String>, now: Timestamp, keep: i64) -> Plan {
    let mut p = Plan::default();
    for l in listing {
        if !valid_blob_key(&l.key) {
            p.other += 1;
        } else if reachable.contains(&l.key) {
            p.kept_reachable += 1;
        } else if l.uploaded.0.saturating_add(keep) > now.0 {
            p.kept_recent += 1;
        } else {
            p.delete.push(l.clone());
        }
    }
    p
}

/// Every blob key of the snapshot rooted at `manifest_key` in `store` (manifest, indexes, id shards, segments).
/// Reads the manifest and the index of each collection whose index is not in `out` already.
pub async fn reachable<S: Store>(
    store: &S,
    manifest_key: &str,
    out: &mut HashSet<String>,
) -> Result<(), RetentionError> {
    let bytes = store
        .get(manifest_key)
        .await
        .map_err(RetentionError::Store)?
        .ok_or_else(|| RetentionError::ManifestMissing(manifest_key.to_string()))?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| RetentionError::ManifestInvalid(manifest_key.to_string(), e))?;
    out.insert(manifest_key.to_string());
    for c in &manifest.collections {
        // An index already walked (snapshots in a row share the indexes of unchanged collections) adds nothing.
        if out.contains(&c.index) {
            continue;
        }
        let bytes = store
            .get(&c.index)
            .await
            .map_err(RetentionError::Store)?
            .ok_or_else(|| RetentionError::IndexMissing(c.index.clone()))?;
        let index: CollectionIndex =
            serde_json::from_slice(&bytes).map_err(|e| RetentionError::IndexInvalid(c.index.clone(), e))?;
        add_index(&index, out);
        out.insert(c.index.clone());
    }
    Ok(())
}

/// The segments and id shards (base and delta) an index names.
pub fn add_index(index: &CollectionIndex, out: &mut HashSet<String>) {
    for stream in index.streams.values() {
        out.extend(stream.segments.iter().map(|s| s.key.clone()));
    }
    out.extend(index.id_shards.iter().cloned());
    out.extend(index.id_delta.iter().cloned());
}

/// What a prune did (or, dry, would do).
#[derive(Debug, Default)]
pub struct Pruned {
    /// The retained snapshots' ids, current first.
    pub retained: Vec<String>,
    pub listed: usize,
    pub kept_reachable: usize,
    pub kept_recent: usize,
    /// Deleted (or, dry, to delete) blobs and their bytes.
    pub deleted: Vec<String>,
    pub bytes: u64,
    /// Blobs the worker refused to delete because the snapshot made current meanwhile reaches them.
    pub refused: usize,
    /// Retained (not current) snapshots that could not be read, with the reason. When there are any, nothing is
    /// deleted: the blobs they reach cannot be told apart from garbage.
    pub unreadable: Vec<(String, String)>,
    pub dry_run: bool,
}

impl Pruned {
    /// The report of a plan over `listed` blobs, before anything is deleted.
    pub fn planned(retained: Vec<String>, listed: usize, p: &Plan, dry_run: bool) -> Pruned {
        Pruned {
            retained,
            listed,
            kept_reachable: p.kept_reachable,
            kept_recent: p.kept_recent,
            bytes: p.bytes(),
            dry_run,
            ..Pruned::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::MICROS_PER_SEC;

    const H: i64 = 3600 * MICROS_PER_SEC;

    fn key(kind: &str, n: u8) -> String {
        format!("{kind}/{:032x}", n)
    }

    fn ptr(snap: &str, at: i64) -> Pointer {
        Pointer {
            snapshot: snap.into(),
            manifest: format!("manifest/{snap}"),
            published: Timestamp(at),
            history: vec![],
            keep: None,
            sources: Vec::new(),
        }
    }

    #[test]
    fn switching_records_history_newest_first() {
        let p1 = next_pointer(None, "a", "manifest/a", Timestamp(0), None);
        assert!(p1.history.is_empty());
        let p2 = next_pointer(Some(p1), "b", "manifest/b", Timestamp(H), None);
        let p3 = next_pointer(Some(p2), "c", "manifest/c", Timestamp(2 * H), None);
        let names: Vec<_> = p3.history.iter().map(|r| (r.snapshot.as_str(), r.retired.0)).collect();
        assert_eq!(names, [("b", 2 * H), ("a", H)]);
        // Publishing the same snapshot again changes no history; going back to an old one takes it out of it.
        let same = next_pointer(Some(p3.clone()), "c", "manifest/c", Timestamp(3 * H), None);
        assert_eq!(same.history.len(), 2);
        let back = next_pointer(Some(p3.clone()), "a", "manifest/a", Timestamp(3 * H), None);
        let names: Vec<_> = back.history.iter().map(|r| r.snapshot.as_str()).collect();
        assert_eq!(names, ["c", "b"]);
        // With a window, entries replaced longer ago are forgotten.
        let windowed = next_pointer(Some(p3), "d", "manifest/d", Timestamp(2 * H + 30 * 60 * MICROS_PER_SEC), Some(H));
        let names: Vec<_> = windowed.history.iter().map(|r| r.snapshot.as_str()).collect();
        assert_eq!(names, ["c", "b"]);
    }

    #[test]
    fn history_is_bounded() {
        let mut p = next_pointer(None, "s0", "manifest/s0", Timestamp(0), None);
        for i in 1..(MAX_HISTORY as i64 + 20) {
            p = next_pointer(Some(p), &format!("s{i}"), &format!("manifest/s{i}"), Timestamp(i), None);
        }
        assert_eq!(p.history.len(), MAX_HISTORY);
    }

    #[test]
    fn retention_window() {
        let mut p = next_pointer(Some(ptr("a", 0)), "b", "manifest/b", Timestamp(10 * H), None);
        p = next_pointer(Some(p), "c", "manifest/c", Timestamp(20 * H), None);
        let ids = |now: i64, keep: i64| -> Vec<String> {
            retained(&p, Timestamp(now), keep).into_iter().map(|(s, _)| s).collect()
        };
        assert_eq!(ids(20 * H, 24 * H), ["c", "b", "a"]);
        assert_eq!(ids(34 * H - 1, 24 * H), ["c", "b", "a"]);
        assert_eq!(ids(34 * H, 24 * H), ["c", "b"], "a was replaced at 10h: gone at 34h");
        assert_eq!(ids(44 * H, 24 * H), ["c"]);
        assert_eq!(ids(20 * H, 0), ["c"], "keep 0: only the current one");
    }

    #[test]
    fn plan_keeps_reachable_and_recent_blobs() {
        let listed = |k: String, at: i64| Listed { key: k, uploaded: Timestamp(at), size: 10 };
        let listing = vec![
            listed(key("segment", 1), 0),      // reachable: kept
            listed(key("segment", 2), 0),      // unreachable and old: deleted
            listed(key("segment", 3), 47 * H), // unreachable but recent: kept
            listed(key("index", 4), 0),        // unreachable and old: deleted
            listed("current".into(), 0),       // the pointer: never
            listed("notes/readme".into(), 0),  // not a blob: never
        ];
        let reach: HashSet<String> = [key("segment", 1)].into_iter().collect();
        let p = plan(&listing, &reach, Timestamp(48 * H), 24 * H);
        let gone: Vec<_> = p.delete.iter().map(|l| l.key.clone()).collect();
        assert_eq!(gone, [key("segment", 2), key("index", 4)]);
        assert_eq!((p.kept_reachable, p.kept_recent, p.other, p.bytes()), (1, 1, 2, 20));
        // At the window's edge a blob is still kept; one microsecond later it goes.
        let edge = vec![listed(key("segment", 5), 24 * H)];
        assert_eq!(plan(&edge, &HashSet::new(), Timestamp(48 * H - 1), 24 * H).delete.len(), 0);
        assert_eq!(plan(&edge, &HashSet::new(), Timestamp(48 * H), 24 * H).delete.len(), 1);
    }
}
