//! Why a command failed, and the exit code that tells scripts (see `commands::EXIT_CODES`): 1 when an operation
//! failed, 2 for bad usage or bad input.

use crate::admin_client::PublishError;
use crate::http::HttpError;

/// A failed command: the message printed after `error: ` and the exit code.
#[derive(Debug)]
pub struct Fail {
    pub code: u8,
    pub message: String,
}

impl From<String> for Fail {
    /// An operation that failed: exit code 1.
    fn from(message: String) -> Fail {
        Fail { code: 1, message }
    }
}

impl From<edge_feed::snapshot_dir::SnapshotDirError> for Fail {
    /// A snapshot directory could not be read or written: exit code 1.
    fn from(e: edge_feed::snapshot_dir::SnapshotDirError) -> Fail {
        Fail::from(e.to_string())
    }
}

impl From<HttpError> for Fail {
    /// The worker could not be reached, refused, or answered nonsense: exit code 1.
    fn from(e: HttpError) -> Fail {
        Fail::from(e.to_string())
    }
}

impl From<PublishError> for Fail {
    fn from(e: PublishError) -> Fail {
        Fail::from(e.to_string())
    }
}

/// Bad usage or bad input: exit code 2.
pub fn bad(message: impl Into<String>) -> Fail {
    Fail { code: 2, message: message.into() }
}
