//! The sources a sync pulls each cycle: each writes what it pulled to a file in the state directory, in a format
//! the importers read, and says how many records it gave. A source that fails fails the cycle.
//!
//! - [`xsoar`]: Cortex XSOAR 6, 8 and XSIAM through `POST /indicators/search`.
//! - [`taxii`]: a TAXII 2.1 or 2.0 collection, incrementally (`added_after`), objects kept between cycles.
//! - [`url`]: a CSV, XSOAR JSON (lines) or STIX file over HTTP(S), or a local path.

pub mod taxii;
pub mod url;
pub mod xsoar;

use crate::http::HttpError;
use std::path::PathBuf;

/// What one source gave this cycle.
#[derive(Debug)]
pub struct Pulled {
    /// The file `build` reads.
    pub input: PathBuf,
    /// How many records the source holds now (a TAXII source: all it has given so far).
    pub records: usize,
    /// The input file's hash ([`super::state::file_hash`]), when pulling it read the file whole anyway (the
    /// cycle's digest then need not read it again).
    pub hash: Option<u128>,
}

/// Why a source failed (the cycle publishes nothing).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The source answered, but not with what its protocol promises.
    #[error("{0}")]
    Protocol(String),
    /// A file of the state directory could not be read or written.
    #[error("{}: {source}", .path.display())]
    State { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Config(#[from] super::config::ConfigError),
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a sync killed mid-write leaves the old file.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), SourceError> {
    let state = |source| SourceError::State { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(state)?;
    }
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(state)?;
    std::fs::rename(&tmp, path).map_err(state)
}

/// A status other than 2xx as an error that names the source and says what to check.
pub fn refused(what: &str, url: &str, status: u16, body: &[u8]) -> SourceError {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    let hint = match status {
        401 | 403 => ": check the credentials (the *_env variables)",
        404 => ": check the URL (and the collection)",
        _ => "",
    };
    SourceError::Protocol(format!("{what} {url} answered {status}{hint}: {text}"))
}
