//! What a sync keeps between cycles in its state directory: `sync.json` (each source's record count and when it
//! last synced, for the shrink check and the report), the sources' own files (`sources/<name>/…`), the cycles'
//! builds (`build/<time>/`: the one the worker serves is kept, and the next build reads its previous snapshot
//! there), the record cache (`cache/`), what each retained snapshot reaches (`reached/`) and how many of them
//! reach each blob (`ledger`, see [`super::ledger`]), and a lock (`lock`, the pid of the sync using the directory).

use super::sources::{write_atomic, SourceError};
use edge_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One source as the last good cycle saw it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceState {
    pub records: usize,
    pub synced: Timestamp,
}

/// `sync.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncState {
    #[serde(default)]
    pub sources: BTreeMap<String, SourceState>,
    /// The last cycle that built: what it built from and what the worker served after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<LastBuild>,
}

/// What the last build was made from ([`inputs_digest`]) and the snapshot the worker served after it: a cycle
/// whose inputs have the same digest, while the worker still serves that snapshot, has nothing to build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastBuild {
    pub digest: String,
    pub snapshot: String,
    pub built: Timestamp,
}

/// A digest of everything a build reads: the collections file, the build options and each source's input file
/// (by its hash when the pull gave one, [`file_hash`] otherwise).
pub fn inputs_digest(
    collections: &Path,
    build_args: &[String],
    inputs: &[(PathBuf, Option<u128>)],
) -> Result<String, SourceError> {
    use xxhash_rust::xxh3::Xxh3;
    let mut h = Xxh3::new();
    for (path, known) in std::iter::once(&(collections.to_path_buf(), None)).chain(inputs) {
        let file_hash = match known {
            Some(hash) => *hash,
            None => file_hash(path)?,
        };
        h.update(path.display().to_string().as_bytes());
        h.update(&file_hash.to_le_bytes());
    }
    for a in build_args {
        h.update(a.as_bytes());
        h.update(&[0]);
    }
    Ok(format!("{:032x}", h.digest128()))
}

/// A file's XXH3-128, read a megabyte at a time.
pub fn file_hash(path: &Path) -> Result<u128, SourceError> {
    use std::io::Read;
    let fail = |source| SourceError::State { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(fail)?;
    let mut hash = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(fail)?;
        if n == 0 {
            return Ok(hash.digest128());
        }
        hash.update(&buf[..n]);
    }
}

impl SyncState {
    pub fn path(state: &Path) -> PathBuf {
        state.join("sync.json")
    }

    /// The saved state (none yet: empty).
    pub fn read(state: &Path) -> SyncState {
        std::fs::read(Self::path(state)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    pub fn write(&self, state: &Path) -> Result<(), SourceError> {
        write_atomic(&Self::path(state), &serde_json::to_vec_pretty(self).expect("JSON"))
    }
}

/// The lock on a state directory: one sync at a time uses it (a second is refused; a lock left by a sync that
/// was killed is taken over).
pub struct Lock(PathBuf);

impl Lock {
    pub fn take(state: &Path) -> Result<Lock, String> {
        std::fs::create_dir_all(state).map_err(|e| format!("cannot create {}: {e}", state.display()))?;
        let path = state.join("lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(Lock(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid = std::fs::read_to_string(&path).ok().and_then(|t| t.trim().parse::<i32>().ok());
                    if pid.is_some_and(alive) {
                        return Err(format!(
                            "another sync (pid {}) is using {}: one sync per state directory",
                            pid.unwrap_or_default(),
                            state.display()
                        ));
                    }
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
        Err(format!("cannot take the lock {}", path.display()))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Whether a process with this id is running.
fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists; it sends nothing.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}
