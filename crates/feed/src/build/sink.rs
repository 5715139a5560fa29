//! Where built blobs go: the [`BlobSink`] trait, an in-memory map, a snapshot directory written by a thread of
//! its own ([`DirSink`], which can tell another thread each blob it has written), and a sink several collection
//! builds share ([`SharedSink`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Sender, SyncSender};
use std::thread::JoinHandle;

/// Where built blobs go, by store key.
pub trait BlobSink: Send {
    fn put(&mut self, key: String, bytes: Vec<u8>);
}

impl BlobSink for BTreeMap<String, Vec<u8>> {
    fn put(&mut self, key: String, bytes: Vec<u8>) {
        self.insert(key, bytes);
    }
}

/// Why a snapshot directory's blobs were not all written.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A blob could not be written (the message names the file and why).
    #[error("{0}")]
    Write(crate::snapshot_dir::SnapshotDirError),
    #[error("the thread writing the snapshot's blobs panicked: build again, and report this if it recurs")]
    WriterPanicked,
}

/// Blobs waiting for the writer thread: about 15 MB of segments.
const WRITE_QUEUE: usize = 16;

/// Writes blobs under `<root>/blobs/<key>` as they come, skipping those already there, on a thread of its own:
/// writing a 1M-indicator snapshot (~8 GB) is most of a build's system time, and this way it overlaps encoding.
/// The writer stops at the first error, which [`DirSink::finish`] returns; dropping the sink waits for the writer.
/// With `written`, the writer sends each blob's key there once the blob is in place (a sync uploads blobs while
/// its build goes on); the channel closes when the writer stops.
pub(super) struct DirSink {
    queue: Option<SyncSender<(String, Vec<u8>)>>,
    writer: Option<JoinHandle<Result<(), SinkError>>>,
}

impl DirSink {
    pub(super) fn new(root: &Path, written: Option<Sender<String>>) -> DirSink {
        let (queue, blobs) = sync_channel::<(String, Vec<u8>)>(WRITE_QUEUE);
        let root = root.to_path_buf();
        let writer = std::thread::spawn(move || {
            for (key, bytes) in blobs {
                crate::snapshot_dir::write_blob(&root, &key, &bytes).map_err(SinkError::Write)?;
                if let Some(written) = &written {
                    // Whoever listens may have stopped listening: the build goes on without it.
                    let _ = written.send(key);
                }
            }
            Ok(())
        });
        DirSink { queue: Some(queue), writer: Some(writer) }
    }

    /// Waits until every blob put is written (or the writer stopped): the first error, if any.
    pub(super) fn finish(&mut self) -> Result<(), SinkError> {
        drop(self.queue.take());
        match self.writer.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(SinkError::WriterPanicked),
        }
    }
}

impl BlobSink for DirSink {
    fn put(&mut self, key: String, bytes: Vec<u8>) {
        if let Some(queue) = &self.queue {
            // A closed queue means the writer stopped on an error, which `finish` returns.
            let _ = queue.send((key, bytes));
        }
    }
}

impl Drop for DirSink {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// A sink several collection builds put blobs into at the same time.
pub(super) struct SharedSink<'a>(pub(super) std::sync::Mutex<&'a mut dyn BlobSink>);

impl BlobSink for &SharedSink<'_> {
    fn put(&mut self, key: String, bytes: Vec<u8>) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).put(key, bytes);
    }
}
