//! `taxii-edge publish`: upload a snapshot directory's missing blobs to a worker, switch its current pointer,
//! then prune (unless --no-prune).

use super::prune::{bytes, prune_worker_with_progress, report_prune};
use crate::admin_client::{Admin, Switch};
use crate::clock::now_utc;
use crate::fail::{bad, Fail};
use crate::progress::bar;
use edge_feed::snapshot_dir::SnapshotDir;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The snapshot directory made by `taxii-edge build`.
    dir: PathBuf,
    /// The worker's URL, e.g. http://127.0.0.1:8787 or https://feeds.example.com.
    #[arg(long)]
    url: String,
    /// The worker's ADMIN_TOKEN secret.
    #[arg(long, env = "TAXII_EDGE_ADMIN_TOKEN")]
    token: String,
    /// How long a replaced snapshot stays readable (so clients paging across the publish finish on it), and
    /// the age below which no blob is ever pruned: e.g. 30m, 24h, 7d.
    #[arg(long, default_value = edge_core::retention::DEFAULT_KEEP)]
    keep: String,
    /// Do not prune after switching (run `taxii-edge prune` later).
    #[arg(long)]
    no_prune: bool,
    /// Go back on purpose: make this snapshot current even though it was current before (the worker refuses
    /// that otherwise, so a replayed or stale publish cannot roll the feed back).
    #[arg(long)]
    rollback: bool,
}

pub fn run(args: Args) -> Result<(), Fail> {
    let Args { dir, url, token, keep, no_prune, rollback } = args;
    let keep_us = edge_core::duration::parse_duration(&keep).map_err(|e| bad(format!("--keep: {e}")))?;
    let snapshot = SnapshotDir::open(&dir).map_err(|e| bad(e.to_string()))?;
    let started = std::time::Instant::now();
    let progress = bar(0, "uploading {bar:30} {pos}/{len} blobs ({eta} left)");
    let admin = Admin::new(&url, &token);
    let switch = Switch::for_dir(&snapshot, Some(keep.clone()), rollback);
    let done = admin.publish(&snapshot, &switch, &|i, n| {
        progress.set_length(n as u64);
        progress.set_position(i as u64);
    });
    progress.finish_and_clear();
    let done = done?;
    say!(
        "published snapshot {} to {url}: {} of {} blobs uploaded ({}), now current, in {:.1} s",
        done.snapshot,
        done.uploaded,
        done.blobs,
        bytes(done.bytes_uploaded),
        started.elapsed().as_secs_f64()
    );
    if !no_prune {
        let pruned = prune_worker_with_progress(&admin, now_utc(), keep_us, false)
            .map_err(|e| format!("the publish succeeded, but pruning failed: {e}"))?;
        report_prune(&pruned, keep_us);
    }
    Ok(())
}
