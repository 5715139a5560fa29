//! Importers: TIP exports in, [`Indicator`](crate::indicator::Indicator) records out.
//!
//! Every importer reports each bad record with its position (file and index or line) and the reason; the
//! caller decides whether a bad record fails the build or is skipped and listed.

pub mod xsoar;

use crate::indicator::Indicator;
use std::fmt;

/// A record an importer could not read: where it is and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// `file:index` (JSON) or `file:line` (JSON lines, CSV).
    pub position: String,
    /// What is wrong and, where it helps, what to do.
    pub reason: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.reason)
    }
}

/// What an importer read from one input: the good records and the bad ones.
#[derive(Debug, Default)]
pub struct Imported {
    pub indicators: Vec<Indicator>,
    pub errors: Vec<RecordError>,
}

/// Reads one input file, choosing the importer by content.
pub fn import_file(path: &std::path::Path) -> Result<Imported, RecordError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| RecordError { position: name.clone(), reason: format!("cannot read the file: {e}") })?;
    xsoar::import_str(&name, &text)
}
