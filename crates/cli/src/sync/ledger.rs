//! The sync's prune without listing the worker's store every cycle: `<state>/ledger` counts, for each blob, how
//! many of the retained snapshots reach it. A cycle adds the snapshots that joined the retained set (the one it
//! published, and any another publisher made) and takes out those that left it (replaced longer ago than `keep`);
//! a blob whose count falls to zero no retained snapshot reaches, and is deleted. A cycle's prune so costs what
//! joined and left, not what the store holds: at a million indicators, listing the store was ten thousand blobs
//! and more every cycle, and reading what every retained snapshot reaches up to a hundred times that.
//!
//! What no published snapshot ever reached (the uploads of a build whose publish failed or lost the switch) is in
//! no count: a full prune, listing the store, finds it. The sync runs one when there is no ledger, when it cannot
//! be read or a snapshot that left cannot be taken out of it, and once every [`FULL_EVERY`]; each full prune
//! counts the retained snapshots again from scratch.
//!
//! The ledger is written before anything is deleted: a sync killed in between leaves blobs the next full prune
//! deletes, never a count that misses a blob. Whatever the count says, the worker refuses to delete a blob any
//! retained snapshot reaches (a refusal is reported: it would mean a count gone wrong).

use crate::admin_client::Admin;
use crate::commands::prune::{delete, prune_worker, PruneError, Reached};
use edge_core::retention::{retained, Pruned};
use edge_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How often the sync's prune lists the whole store (one hour, in microseconds).
pub const FULL_EVERY: i64 = 3600 * 1_000_000;

/// `<state>/ledger`: the snapshots counted and, for each blob they reach, how many of them reach it.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// When the store was last listed by a full prune.
    full: Timestamp,
    /// The manifest keys of the snapshots counted.
    counted: BTreeSet<String>,
    counts: BTreeMap<String, u32>,
}

impl Ledger {
    fn path(state: &Path) -> PathBuf {
        state.join("ledger")
    }

    /// The saved ledger; none when there is none or it cannot be read.
    fn read(state: &Path) -> Option<Ledger> {
        serde_json::from_slice(&std::fs::read(Self::path(state)).ok()?).ok()
    }

    /// Saves the ledger (written whole, then renamed into place); a ledger that cannot be saved is removed, so the
    /// next prune is a full one.
    fn write(&self, state: &Path) {
        let path = Self::path(state);
        let bytes = serde_json::to_vec(self).expect("a ledger serialises");
        if super::sources::write_atomic(&path, &bytes).is_err() {
            let _ = std::fs::remove_file(&path);
        }
    }

    /// Counts a snapshot that reaches `keys` (once: a snapshot counted already is left as it is).
    fn add(&mut self, manifest: &str, keys: &[String]) {
        if self.counted.insert(manifest.to_string()) {
            for key in keys {
                *self.counts.entry(key.clone()).or_default() += 1;
            }
        }
    }

    /// Takes out a counted snapshot that reaches `keys`; returns the blobs no counted snapshot reaches now.
    fn take_out(&mut self, manifest: &str, keys: &[String]) -> Vec<String> {
        let mut unreached = Vec::new();
        if !self.counted.remove(manifest) {
            return unreached;
        }
        for key in keys {
            if let Some(n) = self.counts.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    self.counts.remove(key);
                    unreached.push(key.clone());
                }
            }
        }
        unreached
    }
}

/// The sync's prune after it published: counted when the ledger allows it, else a full prune (which starts a new
/// ledger). `reached` holds what each snapshot reaches (the one just published is there already).
pub fn prune_after_publish(
    admin: &Admin,
    state: &Path,
    now: Timestamp,
    keep: i64,
    reached: &Reached,
) -> Result<Pruned, PruneError> {
    // `keep` 0 asks for every unreachable blob to go, even one being uploaded now: only a listing finds those.
    // A clock set back before the last full prune counts as an hour gone.
    let ledger = Ledger::read(state).filter(|l| keep > 0 && (0..FULL_EVERY).contains(&now.0.saturating_sub(l.full.0)));
    if let Some(ledger) = ledger {
        if let Some(pruned) = counted_prune(admin, state, now, keep, reached, ledger)? {
            return Ok(pruned);
        }
    }
    let pruned = prune_worker(admin, now, keep, false, Some(reached), &|_, _, _| {})?;
    if pruned.unreadable.is_empty() {
        start_ledger(admin, state, now, keep, reached)?;
    }
    Ok(pruned)
}

/// Counts the snapshots retained now from scratch, as of a full prune at `now`.
fn start_ledger(admin: &Admin, state: &Path, now: Timestamp, keep: i64, reached: &Reached) -> Result<(), PruneError> {
    let mut ledger = Ledger { full: now, ..Ledger::default() };
    if let Some(pointer) = admin.pointer()? {
        for (_, manifest) in retained(&pointer, now, keep) {
            // The full prune just read every one of them: one missing here is a lost saving, not a risk.
            let Some(keys) = reached.get(manifest.as_str()) else {
                let _ = std::fs::remove_file(Ledger::path(state));
                return Ok(());
            };
            ledger.add(&manifest, &keys);
        }
    }
    ledger.write(state);
    Ok(())
}

/// The counted prune: `None` when it cannot be done (a snapshot that joined cannot be read, or one that left is
/// no longer known), and a full prune must.
fn counted_prune(
    admin: &Admin,
    state: &Path,
    now: Timestamp,
    keep: i64,
    reached: &Reached,
    mut ledger: Ledger,
) -> Result<Option<Pruned>, PruneError> {
    let Some(pointer) = admin.pointer()? else {
        return Ok(Some(Pruned::default()));
    };
    let kept = retained(&pointer, now, keep);
    // Those that joined first, so that a blob one that left shares with one that joined is never at zero.
    for (i, (snapshot, manifest)) in kept.iter().enumerate() {
        if ledger.counted.contains(manifest) {
            continue;
        }
        let keys = match reached.get_or_read(admin, manifest) {
            Ok(keys) => keys,
            Err(reason) if i == 0 => {
                return Err(PruneError::CurrentUnreadable { snapshot: snapshot.clone(), reason: reason.to_string() });
            }
            Err(_) => return Ok(None),
        };
        ledger.add(manifest, &keys);
    }
    let retained_manifests: BTreeSet<&String> = kept.iter().map(|(_, m)| m).collect();
    let left: Vec<String> = ledger.counted.iter().filter(|m| !retained_manifests.contains(m)).cloned().collect();
    let mut unreached = Vec::new();
    for manifest in &left {
        let Some(keys) = reached.get(manifest) else { return Ok(None) };
        unreached.extend(ledger.take_out(manifest, &keys));
    }
    ledger.write(state);
    reached.keep_only(&kept.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>());
    let mut out = Pruned { retained: kept.into_iter().map(|(s, _)| s).collect(), ..Pruned::default() };
    delete(admin, &unreached, &mut out, &|_, _, _| {})?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn a_blob_is_unreached_when_the_last_snapshot_that_reached_it_is_taken_out() {
        let mut ledger = Ledger::default();
        ledger.add("manifest/a", &keys(&["index/1", "segment/1", "segment/2", "manifest/a"]));
        ledger.add("manifest/b", &keys(&["index/1", "segment/2", "segment/3", "manifest/b"]));
        ledger.add("manifest/b", &keys(&["index/1", "segment/2", "segment/3", "manifest/b"]));
        assert_eq!(ledger.counts["index/1"], 2, "a snapshot counted twice is counted once");
        let mut gone = ledger.take_out("manifest/a", &keys(&["index/1", "segment/1", "segment/2", "manifest/a"]));
        gone.sort();
        assert_eq!(gone, keys(&["manifest/a", "segment/1"]), "what b reaches stays");
        assert!(ledger.take_out("manifest/a", &keys(&["index/1"])).is_empty(), "taken out once");
        let mut gone = ledger.take_out("manifest/b", &keys(&["index/1", "segment/2", "segment/3", "manifest/b"]));
        gone.sort();
        assert_eq!(gone, keys(&["index/1", "manifest/b", "segment/2", "segment/3"]));
        assert_eq!(ledger, Ledger::default());
    }

    #[test]
    fn a_ledger_reads_back_as_written_and_a_damaged_one_is_none() {
        let state = std::env::temp_dir().join(format!("taxii-edge-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state).unwrap();
        let mut ledger = Ledger { full: Timestamp(5), ..Ledger::default() };
        ledger.add("manifest/a", &keys(&["segment/1", "manifest/a"]));
        ledger.write(&state);
        assert_eq!(Ledger::read(&state), Some(ledger));
        std::fs::write(Ledger::path(&state), b"{\"full\":").unwrap();
        assert_eq!(Ledger::read(&state), None, "a prune after a damaged ledger is a full one");
        let _ = std::fs::remove_dir_all(&state);
    }
}
