//! One sync cycle: pull every source, check that none shrank too far, build on the worker's current snapshot
//! (object versions keep their date_added, only new blobs are written), and when something changed publish with a
//! compare-and-swap on that snapshot (409: another publish came first, so build again on the winner), then prune.
//! The blobs the build writes are uploaded while it goes on ([`super::early_upload`]); the publish uploads the rest.
//! A source that fails fails the cycle before anything is built: the worker keeps serving its last good snapshot.

use super::config::Loaded;
use super::early_upload::{upload_as_written, Uploaded};
use super::ledger::prune_after_publish;
use super::sources::{self, Pulled, SourceError};
use super::state::{inputs_digest, LastBuild, SourceState, SyncState};
use crate::admin_client::{Admin, PublishError, Switch};
use crate::commands::prune::{PruneError, Reached};
use crate::fail::Fail;
use crate::http::HttpError;
use edge_core::snapshot::format::{Manifest, SourceSync};
use edge_core::time::Timestamp;
use edge_feed::build::Warm;
use edge_feed::snapshot_dir::{SnapshotDir, SnapshotDirError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// How many times a cycle builds again after losing the switch to another publish.
const ATTEMPTS: usize = 3;

/// What a cycle did.
#[derive(Debug)]
pub enum Outcome {
    /// A new snapshot is current.
    Published { snapshot: String, uploaded: usize, deleted: usize },
    /// The build equals what the worker serves: nothing uploaded, the pointer untouched.
    Unchanged { snapshot: String },
}

/// Why a cycle failed (nothing was published).
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("source {name}: {source}")]
    Source { name: String, source: SourceError },
    #[error(
        "source {name} shrank from {before} to {now} records (more than max_shrink {limit:.0}%): nothing published; \
         if that is right, run once with --allow-shrink"
    )]
    Shrank { name: String, before: usize, now: usize, limit: f64 },
    /// The `[build]` options are not options of `build`.
    #[error("the [build] section gives options `build` does not take: {0}")]
    BuildOptions(#[source] clap::Error),
    #[error("the build failed: {}", .0.message)]
    Build(Fail),
    /// The build finished but its snapshot directory cannot be read back.
    #[error("the build's snapshot directory cannot be read: {0}")]
    Built(#[from] SnapshotDirError),
    #[error(transparent)]
    Worker(#[from] HttpError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("the publish succeeded, but pruning failed: {0}")]
    Prune(#[from] PruneError),
    #[error("another publish won the switch {ATTEMPTS} times in a row: nothing published this cycle")]
    Contended,
    /// The state directory (`sync.json`, the sources' files) could not be read or written.
    #[error("the sync state directory: {0} (check that it is writable)")]
    State(#[from] SourceError),
}

/// How a cycle runs.
pub struct Cycle<'a> {
    pub loaded: &'a Loaded,
    pub admin: &'a Admin,
    pub token: &'a str,
    pub build_args: &'a [String],
    pub allow_shrink: bool,
}

impl Cycle<'_> {
    /// Runs one cycle; with `warm` (a sync that runs on), what its builds prepared is kept there for the next.
    pub fn run(&self, mut warm: Option<&mut Warm>) -> Result<Outcome, CycleError> {
        let phase = crate::timings::Phases::start("sync");
        let pulled = self.pull()?;
        phase.mark("pull");
        let previous = SyncState::read(&self.loaded.state);
        self.check_shrink(&previous, &pulled)?;
        let now = crate::clock::now_utc();
        let mut state = SyncState::default();
        for (name, p) in &pulled {
            state.sources.insert(name.clone(), SourceState { records: p.records, synced: now });
        }
        let sources: Vec<SourceSync> = pulled
            .iter()
            .map(|(name, p)| SourceSync { name: name.clone(), synced: now, records: p.records as u64 })
            .collect();
        let hashed: Vec<(PathBuf, Option<u128>)> = pulled.iter().map(|(_, p)| (p.input.clone(), p.hash)).collect();
        let digest = inputs_digest(&self.loaded.collections, self.build_args, &hashed)?;
        let inputs: Vec<PathBuf> = hashed.into_iter().map(|(input, _)| input).collect();
        if let Some(snapshot) = self.same_as_last(previous.last.as_ref(), &digest, now)? {
            phase.mark("compare the inputs with the last cycle's");
            state.last = previous.last;
            state.write(&self.loaded.state)?;
            return Ok(Outcome::Unchanged { snapshot });
        }
        for _ in 0..ATTEMPTS {
            let (out, mut early) = self.build(&inputs, warm.as_deref_mut())?;
            phase.mark(&format!(
                "build (on the worker's snapshot; {} blobs, {} MB uploaded as they were written)",
                early.blobs,
                early.bytes / 1_000_000
            ));
            let dir = SnapshotDir::open(&out)?;
            let unchanged = self.unchanged(&dir)?;
            phase.mark("compare with the worker's snapshot");
            if unchanged {
                let current = self.admin.current_snapshot()?.unwrap_or_default();
                state.last = Some(LastBuild { digest: digest.clone(), snapshot: current, built: now });
                state.write(&self.loaded.state)?;
                return Ok(Outcome::Unchanged { snapshot: dir.file.snapshot.clone() });
            }
            let mut switch = Switch::for_dir(&dir, Some(self.loaded.publish.keep.clone()), false);
            switch.sources = sources.clone();
            switch.present = std::mem::take(&mut early.present);
            match self.admin.publish(&dir, &switch, &|_, _| {}) {
                Ok(done) => {
                    phase.mark("upload and switch");
                    state.last =
                        Some(LastBuild { digest: digest.clone(), snapshot: done.snapshot.clone(), built: now });
                    state.write(&self.loaded.state)?;
                    // What the new snapshot reaches is known here: the prune need not read it from the worker.
                    let reached = Reached::new(self.loaded.state.join("reached"));
                    if let Ok(keys) = edge_feed::snapshot_dir::reachable_keys(&dir, &dir.file.manifest) {
                        reached.put(&dir.file.manifest, &keys);
                    }
                    let now = crate::clock::now_utc();
                    let pruned =
                        prune_after_publish(self.admin, &self.loaded.state, now, self.loaded.keep_us, &reached)?;
                    let (listed, refused) = (pruned.listed, pruned.refused);
                    phase.mark(&format!(
                        "prune ({listed} blobs listed, {} deleted, {refused} refused)",
                        pruned.deleted.len()
                    ));
                    return Ok(Outcome::Published {
                        snapshot: done.snapshot,
                        uploaded: early.blobs + done.uploaded,
                        deleted: pruned.deleted.len(),
                    });
                }
                Err(PublishError::Conflict { current, .. }) => {
                    eprintln!(
                        "sync: another publish made {} current first: building again on it",
                        current.as_deref().unwrap_or("nothing")
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(CycleError::Contended)
    }

    /// The snapshot the worker serves, when this cycle's inputs are exactly the last build's and the worker still
    /// serves what that build left: nothing to build. Not when the build depends on the time of day
    /// (`revoke_expired`), and not when the last build is a day old (`keep_versions` ages versions out).
    fn same_as_last(
        &self,
        last: Option<&LastBuild>,
        digest: &str,
        now: Timestamp,
    ) -> Result<Option<String>, CycleError> {
        const DAY: i64 = 24 * 3600 * 1_000_000;
        let Some(last) = last.filter(|l| l.digest == digest && now.0 - l.built.0 < DAY) else { return Ok(None) };
        if self.build_args.iter().any(|a| a == "--revoke-expired") {
            return Ok(None);
        }
        let current = self.admin.current_snapshot()?;
        Ok(current.filter(|c| *c == last.snapshot))
    }

    /// Every source, in order; the first that fails fails the cycle.
    fn pull(&self) -> Result<Vec<(String, Pulled)>, CycleError> {
        use super::config::SourceConfig as S;
        let mut out = Vec::new();
        for (name, source) in &self.loaded.sources {
            let dir = self.loaded.state.join("sources").join(name);
            let got = match source {
                S::Xsoar { url, api_key_env, auth_id_env, query, .. } => {
                    let x = sources::xsoar::Xsoar { url, api_key_env, auth_id_env: auth_id_env.as_deref(), query };
                    sources::xsoar::pull(&x, &dir.join("indicators.jsonl"))
                }
                S::Taxii { url, collection, user_env, password_env, .. } => {
                    let t = sources::taxii::Taxii {
                        url,
                        collection,
                        user_env: user_env.as_deref(),
                        password_env: password_env.as_deref(),
                    };
                    sources::taxii::pull(&t, &dir)
                }
                S::Url { url, .. } => sources::url::pull(url, &dir, "download"),
            };
            let got = got.map_err(|source| CycleError::Source { name: name.clone(), source })?;
            say!("sync: source {name}: {} records", got.records);
            out.push((name.clone(), got));
        }
        Ok(out)
    }

    /// A source that lost more than `max_shrink` of its records since the last good cycle fails the cycle.
    fn check_shrink(&self, previous: &SyncState, pulled: &[(String, Pulled)]) -> Result<(), CycleError> {
        if self.allow_shrink {
            return Ok(());
        }
        for (name, p) in pulled {
            if let Some(before) = previous.sources.get(name) {
                let floor = before.records as f64 * (1.0 - self.loaded.max_shrink);
                if (p.records as f64) < floor {
                    return Err(CycleError::Shrank {
                        name: name.clone(),
                        before: before.records,
                        now: p.records,
                        limit: self.loaded.max_shrink * 100.0,
                    });
                }
            }
        }
        Ok(())
    }

    /// Builds into a fresh directory under the state directory, on the worker's current snapshot: read from the
    /// directory of the build that made it current when this sync published it last (the worker is asked only
    /// for what that directory lacks), else from the worker. Older build directories are deleted. The build keeps
    /// its record cache in `<state>/cache`, and what it prepared in `warm` when the sync runs on. The blobs it
    /// writes are uploaded as they are written; what was uploaded comes back with the directory.
    fn build(&self, inputs: &[PathBuf], warm: Option<&mut Warm>) -> Result<(PathBuf, Uploaded), CycleError> {
        let root = self.loaded.state.join("build");
        let current = self.admin.current_snapshot()?;
        let (kept, deleting) = keep_only_build_of(&root, current.as_deref());
        let out = root.join(crate::clock::now_utc().0.to_string());
        let mut argv: Vec<String> = vec!["--config".into(), path(&self.loaded.collections), "--out".into(), path(&out)];
        if let Some(dir) = &kept {
            argv.extend(["--previous".into(), path(dir)]);
        }
        argv.extend(["--previous-url".into(), self.loaded.publish.url.clone(), "--token".into(), self.token.into()]);
        // Records a cycle saw before are not parsed or rendered again.
        argv.extend(["--cache".into(), path(&self.loaded.state.join("cache"))]);
        argv.push("--input".into());
        argv.extend(inputs.iter().map(|p| path(p)));
        argv.extend(self.build_args.iter().cloned());
        let args = crate::commands::build::args_from(&argv).map_err(CycleError::BuildOptions)?;
        let (written, keys) = std::sync::mpsc::channel();
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let uploading = scope.spawn(|| upload_as_written(self.admin, &out, keys, &stop));
            // The channel closes when the build has written its last blob, or has failed.
            let built = crate::commands::build::run_keeping(args, warm, Some(written));
            if built.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            let waiting = crate::timings::Phases::start("sync build:");
            let early = uploading.join().unwrap_or_default();
            waiting.mark("wait for the uploads still running when the build ended");
            // Long done by now; a directory it could not delete is tried again next cycle.
            let _ = deleting.join();
            built.map(|()| (out.clone(), early)).map_err(CycleError::Build)
        })
    }

    /// Whether the build serves exactly what the worker serves now: the same collections with the same indexes
    /// (an index names every segment and id shard, so equal keys are equal bytes served). The manifests' `created`
    /// and `config_digest` (which holds the build time) differ from build to build and are not compared.
    fn unchanged(&self, dir: &SnapshotDir) -> Result<bool, CycleError> {
        let Some(pointer) = self.admin.pointer()? else { return Ok(false) };
        if pointer.snapshot == dir.file.snapshot {
            return Ok(true);
        }
        let Some(current) = self.admin.blob(&pointer.manifest)? else { return Ok(false) };
        let built = dir.blob(&dir.file.manifest)?;
        let (Ok(current), Ok(built)) =
            (serde_json::from_slice::<Manifest>(&current), serde_json::from_slice::<Manifest>(&built))
        else {
            return Ok(false);
        };
        Ok(current.collections == built.collections)
    }
}

/// Deletes every build directory under `root` but the one whose snapshot is `current` (the worker serves it, so
/// the next build can read it there), and returns that one. The others (ten thousand links each, at a million
/// indicators: 0.1–0.2 s) are deleted by a thread of their own while the build begins; the caller joins it.
fn keep_only_build_of(root: &Path, current: Option<&str>) -> (Option<PathBuf>, std::thread::JoinHandle<()>) {
    let mut kept = None;
    let mut doomed = Vec::new();
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let dir = entry.path();
        let serves = SnapshotDir::open(&dir).is_ok_and(|d| Some(d.file.snapshot.as_str()) == current);
        if serves && kept.is_none() {
            kept = Some(dir);
        } else {
            doomed.push(dir);
        }
    }
    let deleting = std::thread::spawn(move || {
        for dir in doomed {
            let _ = std::fs::remove_dir_all(&dir);
        }
    });
    (kept, deleting)
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn a_state_error_keeps_its_cause() {
        // Before, CycleError::State held a String: the io::Error (and the path) were flattened into text.
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = CycleError::from(SourceError::State { path: PathBuf::from("/state/sync.json"), source: io });
        assert!(matches!(&e, CycleError::State(SourceError::State { path, .. }) if path.ends_with("sync.json")));
        let cause = e.source().expect("the state error is the source").source().expect("the io error");
        assert_eq!(
            cause.downcast_ref::<std::io::Error>().map(|e| e.kind()),
            Some(std::io::ErrorKind::PermissionDenied)
        );
        assert!(e.to_string().contains("/state/sync.json"), "{e}");
    }

    #[test]
    fn only_the_build_directory_of_the_current_snapshot_is_kept_and_the_others_are_deleted_by_the_time_it_is_joined() {
        let root = std::env::temp_dir().join(format!("taxii-edge-builds-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (name, snapshot) in [("1", "old"), ("2", "current"), ("3", "failed")] {
            let dir = root.join(name);
            std::fs::create_dir_all(dir.join("blobs/segment")).expect("made");
            std::fs::write(dir.join("blobs/segment/0"), b"linked").expect("written");
            let file = edge_feed::snapshot_dir::SnapshotFile {
                snapshot: snapshot.into(),
                manifest: format!("manifest/{snapshot}"),
                created: Timestamp(0),
                built_on: None,
            };
            edge_feed::snapshot_dir::write_snapshot_file(&dir, &file).expect("written");
        }
        std::fs::create_dir_all(root.join("4/blobs")).expect("a directory a killed build left without snapshot.json");
        let (kept, deleting) = keep_only_build_of(&root, Some("current"));
        assert_eq!(kept, Some(root.join("2")));
        deleting.join().expect("the deleting thread ends");
        let left: Vec<_> = std::fs::read_dir(&root).expect("read").flatten().map(|e| e.path()).collect();
        assert_eq!(left, [root.join("2")]);
        let (kept, deleting) = keep_only_build_of(&root, None);
        deleting.join().expect("the deleting thread ends");
        assert_eq!((kept, std::fs::read_dir(&root).expect("read").count()), (None, 0), "nothing served: none kept");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn bad_build_options_are_a_clap_error() {
        let Err(e) = crate::commands::build::args_from(&["--no-such-option".to_string()]) else {
            panic!("an unknown option is refused")
        };
        let e = CycleError::BuildOptions(e);
        assert!(e.source().and_then(|s| s.downcast_ref::<clap::Error>()).is_some());
        assert!(e.to_string().contains("--no-such-option"), "{e}");
    }
}
