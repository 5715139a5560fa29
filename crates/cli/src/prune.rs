//! Pruning a worker's store through its admin API: keep what a retained snapshot reaches or what was uploaded
//! within the window, delete the rest in batches (see `edge_core::retention` for the rules).

use crate::admin_client::Admin;
use edge_core::retention::{plan, retained, Pruned};
use edge_core::time::Timestamp;
use std::collections::HashSet;

/// Prunes a worker's store through its admin API. `progress(step, done, total)` is told of each step.
pub fn prune_worker(
    admin: &Admin,
    now: Timestamp,
    keep: i64,
    dry_run: bool,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<Pruned, String> {
    let Some(pointer) = admin.pointer()? else {
        return Ok(Pruned { dry_run, ..Pruned::default() });
    };
    let kept = retained(&pointer, now, keep);
    let mut reach = HashSet::new();
    let mut unreadable = Vec::new();
    for (i, (snapshot, manifest)) in kept.iter().enumerate() {
        progress("reading retained snapshots", i, kept.len());
        match edge_feed::snapshot_dir::reachable_keys(admin, manifest) {
            Ok(keys) => reach.extend(keys),
            // The current snapshot must be readable: what it reaches is never in doubt.
            Err(e) if i == 0 => return Err(format!("the current snapshot {snapshot} cannot be read: {e}")),
            // A damaged (or, for now, unreachable) older snapshot: keep everything until it leaves the window.
            Err(e) => unreadable.push((snapshot.clone(), e)),
        }
    }
    if !unreadable.is_empty() {
        return Ok(Pruned {
            retained: kept.into_iter().map(|(s, _)| s).collect(),
            unreadable,
            dry_run,
            ..Pruned::default()
        });
    }
    let listing = admin.list_all(&|n| progress("listing blobs", n, 0))?;
    let p = plan(&listing, &reach, now, keep);
    let mut out = Pruned::planned(kept.into_iter().map(|(s, _)| s).collect(), listing.len(), &p, dry_run);
    let keys: Vec<String> = p.delete.into_iter().map(|l| l.key).collect();
    if dry_run {
        out.deleted = keys;
        return Ok(out);
    }
    // A publish may have switched the pointer since it was read: the worker refuses keys its current snapshot
    // reaches, and the blobs of a snapshot made current meanwhile were either uploaded within the window (kept)
    // or reachable from the snapshot it replaced (retained).
    let total = keys.len();
    for (i, chunk) in keys.chunks(edge_core::store::MAX_BATCH).enumerate() {
        progress("deleting", i * edge_core::store::MAX_BATCH, total);
        let refused = admin.delete(chunk)?;
        out.refused += refused.len();
        let refused: HashSet<String> = refused.into_iter().collect();
        out.deleted.extend(chunk.iter().filter(|k| !refused.contains(*k)).cloned());
    }
    Ok(out)
}
