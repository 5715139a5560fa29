//! `taxii-edge prune`: delete the blobs no retained snapshot reaches, from a worker's store (through its admin
//! API) or a snapshot directory. Keeps what a retained snapshot reaches or what was uploaded within the window
//! and deletes the rest in batches (see `edge_core::retention` for the rules). `publish` prunes the same way.

use crate::admin_client::Admin;
use crate::clock::parse_now;
use crate::fail::{bad, Fail};
use crate::http::HttpError;
use crate::progress::bar;
use edge_core::retention::{plan, retained, Pruned};
use edge_core::time::Timestamp;
use edge_feed::snapshot_dir::{SnapshotDir, SnapshotDirError};
use std::collections::HashSet;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A snapshot directory to prune instead of a worker (blobs its snapshot does not reach).
    #[arg(conflicts_with_all = ["url", "token"], required_unless_present = "url")]
    dir: Option<PathBuf>,
    /// The worker's URL.
    #[arg(long, requires = "token")]
    url: Option<String>,
    /// The worker's ADMIN_TOKEN secret.
    #[arg(long, env = "TAXII_EDGE_ADMIN_TOKEN")]
    token: Option<String>,
    /// The retention window: e.g. 30m, 24h, 7d (0: keep only the current snapshot and delete every other
    /// unreachable blob, even one a publish is uploading now).
    #[arg(long, default_value = edge_core::retention::DEFAULT_KEEP)]
    keep: String,
    /// Say what would be deleted, delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// The time to judge ages against (RFC 3339), for tests; default now.
    #[arg(long, hide = true)]
    now: Option<String>,
}

/// Why pruning a worker stopped.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error(transparent)]
    Http(#[from] HttpError),
    /// What the current snapshot reaches is never in doubt: an unreadable one stops the prune.
    #[error("the current snapshot {snapshot} cannot be read: {reason}")]
    CurrentUnreadable { snapshot: String, reason: String },
}

impl From<PruneError> for Fail {
    fn from(e: PruneError) -> Fail {
        Fail::from(e.to_string())
    }
}

pub fn run(args: Args) -> Result<(), Fail> {
    let Args { dir, url, token, keep, dry_run, now } = args;
    let keep_us = edge_core::duration::parse_duration(&keep).map_err(|e| bad(format!("--keep: {e}")))?;
    let now = parse_now(now)?;
    let pruned = match (dir, url, token) {
        (Some(dir), _, _) => {
            let snapshot = SnapshotDir::open(&dir).map_err(|e| bad(e.to_string()))?;
            edge_feed::snapshot_dir::prune_dir(&snapshot, now, keep_us, dry_run)?
        }
        (None, Some(url), Some(token)) => prune_worker_with_progress(&Admin::new(&url, &token), now, keep_us, dry_run)?,
        _ => return Err(bad("give a snapshot directory, or --url and --token")),
    };
    report_prune(&pruned, keep_us);
    if !pruned.unreadable.is_empty() {
        return Err(Fail::from(format!(
            "nothing was pruned: {} retained snapshot(s) cannot be read",
            pruned.unreadable.len()
        )));
    }
    Ok(())
}

/// What each snapshot reaches, kept in a directory between prunes (`sync` keeps it in its state directory). A
/// manifest names its indexes and they their segments and id shards, all by content hash, so what a snapshot
/// reaches never changes: it is read from the worker once, not at every prune. Without it a prune reads every
/// retained snapshot's indexes, and after a day of 5-minute cycles a hundred snapshots are retained.
/// A file per manifest, `<manifest hash>`: the keys one per line, the manifest's last (a file cut short is not
/// used). A file that cannot be written is only a lost saving: the next prune reads that snapshot again.
pub struct Reached {
    dir: PathBuf,
}

impl Reached {
    pub fn new(dir: PathBuf) -> Reached {
        Reached { dir }
    }

    /// The keys `manifest` reaches, when kept whole.
    pub(crate) fn get(&self, manifest: &str) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(self.file(manifest)?).ok()?;
        let keys: Vec<String> = text.lines().map(str::to_string).collect();
        (keys.last().map(String::as_str) == Some(manifest)).then_some(keys)
    }

    /// Keeps the keys `manifest` reaches (as [`edge_feed::snapshot_dir::reachable_keys`] lists them).
    pub fn put(&self, manifest: &str, keys: &[String]) {
        let Some(path) = self.file(manifest) else { return };
        let tmp = path.with_extension("tmp");
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&tmp, keys.join("\n")))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    /// The keys `manifest` reaches: kept here, else read from `admin` (the worker) and kept.
    pub(crate) fn get_or_read(&self, admin: &Admin, manifest: &str) -> Result<Vec<String>, SnapshotDirError> {
        match self.get(manifest) {
            Some(keys) => Ok(keys),
            None => edge_feed::snapshot_dir::reachable_keys(admin, manifest).inspect(|keys| self.put(manifest, keys)),
        }
    }

    /// Forgets every snapshot but `manifests`.
    pub(crate) fn keep_only(&self, manifests: &[&str]) {
        let keep: HashSet<PathBuf> = manifests.iter().filter_map(|m| self.file(m)).collect();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if !keep.contains(&entry.path()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The file of `manifest` (a blob key `manifest/<hash>`): its hash names it.
    fn file(&self, manifest: &str) -> Option<PathBuf> {
        let hash = manifest.strip_prefix("manifest/").filter(|_| edge_core::wire::valid_blob_key(manifest))?;
        Some(self.dir.join(hash))
    }
}

/// Prunes a worker's store through its admin API, reading what each retained snapshot reaches from `reached`
/// when it is kept there (and keeping it there). `progress(step, done, total)` is told of each step.
pub fn prune_worker(
    admin: &Admin,
    now: Timestamp,
    keep: i64,
    dry_run: bool,
    reached: Option<&Reached>,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<Pruned, PruneError> {
    let Some(pointer) = admin.pointer()? else {
        return Ok(Pruned { dry_run, ..Pruned::default() });
    };
    let kept = retained(&pointer, now, keep);
    if let Some(r) = reached {
        r.keep_only(&kept.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>());
    }
    let mut reach = HashSet::new();
    let mut unreadable = Vec::new();
    for (i, (snapshot, manifest)) in kept.iter().enumerate() {
        progress("reading retained snapshots", i, kept.len());
        let keys = match reached {
            Some(r) => r.get_or_read(admin, manifest),
            None => edge_feed::snapshot_dir::reachable_keys(admin, manifest),
        };
        match keys {
            Ok(keys) => reach.extend(keys),
            // The current snapshot must be readable: what it reaches is never in doubt.
            Err(reason) if i == 0 => {
                return Err(PruneError::CurrentUnreadable { snapshot: snapshot.clone(), reason: reason.to_string() });
            }
            // A damaged (or, for now, unreachable) older snapshot: keep everything until it leaves the window.
            Err(e) => unreadable.push((snapshot.clone(), e.to_string())),
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
    delete(admin, &keys, &mut out, progress)?;
    Ok(out)
}

/// Deletes `keys` in batches, adding what was deleted and how many the worker refused (a retained snapshot
/// reaches them) to `out`.
pub(crate) fn delete(
    admin: &Admin,
    keys: &[String],
    out: &mut Pruned,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<(), PruneError> {
    for (i, chunk) in keys.chunks(edge_core::store::MAX_BATCH).enumerate() {
        progress("deleting", i * edge_core::store::MAX_BATCH, keys.len());
        let refused = admin.delete(chunk)?;
        out.refused += refused.len();
        let refused: HashSet<String> = refused.into_iter().collect();
        out.deleted.extend(chunk.iter().filter(|k| !refused.contains(*k)).cloned());
    }
    Ok(())
}

/// [`prune_worker`] with a progress bar.
pub fn prune_worker_with_progress(
    admin: &Admin,
    now: Timestamp,
    keep: i64,
    dry_run: bool,
) -> Result<Pruned, PruneError> {
    let progress = bar(0, "{msg} {bar:30} {pos}/{len}");
    let out = prune_worker(admin, now, keep, dry_run, None, &|step, done, total| {
        progress.set_message(step.to_string());
        progress.set_length(total as u64);
        progress.set_position(done as u64);
    });
    progress.finish_and_clear();
    out
}

/// Prints what a prune did (or, dry, would do); warns instead when a retained snapshot could not be read.
pub fn report_prune(p: &Pruned, keep: i64) {
    let keep = edge_core::duration::show_duration(keep);
    if !p.unreadable.is_empty() {
        for (snapshot, why) in &p.unreadable {
            eprintln!("warning: the retained snapshot {snapshot} cannot be read: {why}");
        }
        eprintln!(
            "warning: prune deleted nothing: the blobs an unreadable snapshot reaches cannot be told apart from \
             garbage. It leaves the retention window {keep} after it was replaced; prune then goes on (or prune \
             with a shorter --keep)."
        );
        return;
    }
    if p.dry_run {
        for k in &p.deleted {
            say!("would delete {k}");
        }
    }
    say!(
        "prune (keep {keep}): {} snapshot(s) retained ({}); {} blobs listed, {} reachable, {} recent kept; {} {} ({}){}",
        p.retained.len(),
        if p.retained.is_empty() { "nothing published".to_string() } else { p.retained.join(", ") },
        p.listed,
        p.kept_reachable,
        p.kept_recent,
        p.deleted.len(),
        if p.dry_run { "would be deleted (dry run: nothing deleted)" } else { "deleted" },
        bytes(p.bytes),
        if p.refused > 0 { format!("; {} refused: a retained snapshot reaches them", p.refused) } else { String::new() }
    );
}

/// A byte count for people: bytes, KiB, MiB or GiB.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory of this test's own.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("taxii-edge-reached-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    const M1: &str = "manifest/0123456789abcdef0123456789abcdef";
    const M2: &str = "manifest/fedcba9876543210fedcba9876543210";

    #[test]
    fn what_a_snapshot_reaches_is_kept_whole_or_not_at_all() {
        let dir = scratch("whole");
        let reached = Reached::new(dir.clone());
        assert_eq!(reached.get(M1), None, "nothing is kept at first");
        let keys = vec!["index/aa".to_string(), "segment/bb".to_string(), M1.to_string()];
        reached.put(M1, &keys);
        assert_eq!(reached.get(M1), Some(keys.clone()));
        // A file cut short (it does not end with its manifest) is not used: the prune reads the snapshot again.
        let file = dir.join(&M1["manifest/".len()..]);
        std::fs::write(&file, "index/aa\nsegment/b").expect("written");
        assert_eq!(reached.get(M1), None);
        reached.put(M1, &keys);
        reached.put(M2, &[M2.to_string()]);
        reached.keep_only(&[M2]);
        assert_eq!(reached.get(M1), None, "a snapshot no longer retained is forgotten");
        assert_eq!(reached.get(M2), Some(vec![M2.to_string()]));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_a_manifest_key_names_a_file() {
        let dir = scratch("names");
        let reached = Reached::new(dir.clone());
        for key in ["manifest/../../etc/passwd", "index/0123456789abcdef0123456789abcdef", "manifest/0123", ""] {
            assert_eq!(reached.file(key), None, "{key}");
            reached.put(key, &[key.to_string()]);
        }
        assert!(!dir.exists(), "nothing was written");
    }
}
