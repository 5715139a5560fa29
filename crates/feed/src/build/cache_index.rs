//! The record cache's index in memory ([`super::RecordCache`]): where each record's entry is in the data file, by
//! the hash of the record's bytes, with the last build that used it. The next index is this map without the
//! entries the build did not use, plus the ones it added (no sort of a million entries), and a sync that runs
//! on keeps it ([`KeptIndex`], in [`super::Warm`]) so that its next build does not read back the index file it
//! has just written.

use super::versions::ByRecordHash;
use std::path::{Path, PathBuf};

/// Where an entry is in the data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub(super) offset: u64,
    pub(super) len: u32,
    pub(super) checksum: u64,
}

/// An entry of the index: where it is, and the last build that used it (builds are counted from the opening of
/// the index file).
#[derive(Clone, Copy, Debug)]
pub(super) struct Listed {
    pub(super) slot: Slot,
    pub(super) used: u64,
}

/// The index: each record's entry by the hash of its bytes.
pub(super) type Index = ByRecordHash<Listed>;

/// The index once a build has read its inputs: the entries it used are marked with its number.
pub struct UsedIndex {
    pub(super) index: Index,
    pub(super) build: u64,
}

/// The index as a build left it (what it wrote to the index file), for the next build of a sync that runs on.
pub struct KeptIndex {
    pub(super) dir: PathBuf,
    pub(super) key: u128,
    pub(super) generation: u64,
    pub(super) data_len: u64,
    pub(super) index: Index,
    pub(super) build: u64,
}

impl KeptIndex {
    /// Whether it is the index of the cache in `dir` under `key`.
    pub(super) fn is_of(&self, dir: &Path, key: u128) -> bool {
        self.dir == dir && self.key == key
    }

    /// Its entries, in hash order.
    #[cfg(test)]
    pub(super) fn entries(&self) -> Vec<(u128, Slot)> {
        sorted(&self.index)
    }
}

/// The entries of an index, in hash order (for tests that compare indexes).
#[cfg(test)]
pub(super) fn sorted(index: &Index) -> Vec<(u128, Slot)> {
    let mut entries: Vec<(u128, Slot)> = index.iter().map(|(&h, l)| (h, l.slot)).collect();
    entries.sort_unstable_by_key(|&(h, _)| h);
    entries
}
