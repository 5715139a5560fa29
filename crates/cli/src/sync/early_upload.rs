//! Uploads a sync's new blobs while its build is still writing them. The build tells each blob's key once the
//! blob is in the build directory; a few uploaders ask the worker which of the keys told so far it lacks and
//! upload those. At a million indicators a cycle's build and its upload each take seconds; this way they overlap.
//!
//! Best effort: an upload that fails here stops that uploader, and the publish that follows asks the worker
//! about every blob the build wrote, so it uploads what is still missing or reports the failure. Nothing a
//! client reads changes before that publish switches the pointer: a blob no snapshot reaches is served to no
//! one, and the prune deletes it once it is older than `keep` (as after any publish that did not switch).
//! Manifests are left to the publish, so a build that equals the worker's snapshot uploads nothing; nor is
//! anything uploaded to a worker that does not read the format the build writes (the publish says so).

use crate::admin_client::{Admin, UPLOADERS};
use edge_core::snapshot::format::FORMAT;
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, PoisonError};

/// Keys one uploader asks the worker about at once, at most.
const BATCH: usize = 16;

/// What was uploaded while the build ran, and every blob the worker was seen to hold (found there, or uploaded).
#[derive(Debug, Default)]
pub struct Uploaded {
    pub blobs: usize,
    pub bytes: u64,
    pub present: HashSet<String>,
}

/// Uploads the blobs of the build directory `dir` whose keys come on `keys` and that the worker lacks, until
/// the channel closes (the build wrote its last blob) or `stop` is set (the build failed); returns what it
/// uploaded. A key told twice (collections with the same records share segments) is uploaded once. Nothing is
/// uploaded when the worker does not read [`FORMAT`], the one a build writes, or cannot say which it reads.
pub fn upload_as_written(admin: &Admin, dir: &Path, keys: Receiver<String>, stop: &AtomicBool) -> Uploaded {
    if !admin.formats_read().is_ok_and(|reads| reads.contains(&FORMAT)) {
        return Uploaded::default();
    }
    let keys = Mutex::new((keys, HashSet::new()));
    let total = Mutex::new(Uploaded::default());
    std::thread::scope(|scope| {
        for _ in 0..UPLOADERS {
            scope.spawn(|| {
                while let Some(batch) = next_batch(&keys) {
                    if stop.load(Ordering::Relaxed) || upload_batch(admin, dir, &batch, stop, &total).is_none() {
                        return;
                    }
                }
            });
        }
    });
    total.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// The next keys told (waiting for the first), without manifests and keys told before; `None` once the channel
/// is closed and empty.
fn next_batch(keys: &Mutex<(Receiver<String>, HashSet<String>)>) -> Option<Vec<String>> {
    let mut guard = keys.lock().unwrap_or_else(PoisonError::into_inner);
    let (keys, seen) = &mut *guard;
    let mut batch = vec![keys.recv().ok()?];
    while batch.len() < BATCH {
        match keys.try_recv() {
            Ok(key) => batch.push(key),
            Err(_) => break,
        }
    }
    batch.retain(|key| !key.starts_with("manifest/") && seen.insert(key.clone()));
    Some(batch)
}

/// Uploads those of `batch` the worker lacks; `None` at the first failure (the publish deals with it).
fn upload_batch(admin: &Admin, dir: &Path, batch: &[String], stop: &AtomicBool, total: &Mutex<Uploaded>) -> Option<()> {
    if batch.is_empty() {
        return Some(());
    }
    let missing: HashSet<String> = admin.missing(batch).ok()?.into_iter().collect();
    let held = batch.iter().filter(|k| !missing.contains(*k)).cloned();
    total.lock().unwrap_or_else(PoisonError::into_inner).present.extend(held);
    for key in missing {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        let bytes = edge_feed::snapshot_dir::read_blob(dir, &key).ok()?;
        admin.put_blob(&key, &bytes, "uploading").ok()?;
        let mut total = total.lock().unwrap_or_else(PoisonError::into_inner);
        total.blobs += 1;
        total.bytes += bytes.len() as u64;
        total.present.insert(key);
    }
    Some(())
}
