//! The snapshot's metadata documents: pointer, manifest and collection index (JSON), and blob naming.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The format version written into every manifest; a reader refuses others.
pub const FORMAT: u32 = 1;

/// The store key of the current-snapshot pointer: the only mutable key.
pub const POINTER_KEY: &str = "current";

/// Records per segment. A page of up to this many objects reads at most two segments per stream.
pub const SEGMENT_RECORDS: usize = 1000;

/// Id-index entries per shard (about).
pub const SHARD_ENTRIES: usize = 4096;

/// What `current` holds: the snapshot being served.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pointer {
    /// The snapshot id (the manifest's hash).
    pub snapshot: String,
    /// The manifest's store key.
    pub manifest: String,
    /// When the pointer was switched to this snapshot.
    pub published: Timestamp,
    /// The snapshots that were current before, newest first, each with when it stopped being current: a client
    /// paging across a publish finishes on the snapshot it started, so pruning keeps these for a while.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Retired>,
}

/// A snapshot that was current once (an entry of [`Pointer::history`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Retired {
    pub snapshot: String,
    pub manifest: String,
    pub published: Timestamp,
    /// When another snapshot replaced it.
    pub retired: Timestamp,
}

/// The root of a snapshot.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    /// When the snapshot was built.
    pub created: Timestamp,
    /// A digest of the build configuration (collections and rendering settings).
    pub config_digest: String,
    /// Collections in configuration order.
    pub collections: Vec<CollectionEntry>,
}

/// One collection as listed in the manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CollectionEntry {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The XSOAR query that selects the collection's indicators.
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Number of objects served over 2.1.
    pub count: u64,
    /// Number of objects per STIX 2.1 type.
    pub types: BTreeMap<String, u64>,
    /// date_added of the newest object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<Timestamp>,
    /// The store key of the collection index.
    pub index: String,
}

/// Where a collection's objects are: its streams and id shards.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CollectionIndex {
    /// "all" holds every object; "type:<stix 2.1 type>" the objects of one type.
    pub streams: BTreeMap<String, Stream>,
    /// STIX 2.0 type → the 2.1 types rendered as it (observables are indicators in 2.0).
    pub types20: BTreeMap<String, Vec<String>>,
    /// Id-index shards; an id's shard is `shard_of(id, id_shards.len())`.
    pub id_shards: Vec<String>,
}

/// An ordered run of objects, cut into segments.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Stream {
    pub count: u64,
    pub segments: Vec<SegmentRef>,
}

/// One segment of a stream.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SegmentRef {
    pub key: String,
    pub count: u32,
    /// date_added of its first and last record.
    pub first: Timestamp,
    pub last: Timestamp,
}

/// date_added of object versions, per collection id: (2.1 id, version micros) → date_added.
pub type Dates = std::collections::HashMap<String, std::collections::HashMap<(String, i64), Timestamp>>;

/// The stream name of every object.
pub const ALL: &str = "all";

/// The stream name of one STIX 2.1 type.
pub fn type_stream(stix_type: &str) -> String {
    format!("type:{stix_type}")
}

/// The hash that names a blob: xxh3-128 of its bytes, in hex.
pub fn content_hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// A blob's store key: `<kind>/<hash>`.
pub fn blob_key(kind: &str, bytes: &[u8]) -> String {
    format!("{kind}/{}", content_hash(bytes))
}

/// Checks that a blob's bytes hash to the name in its key.
pub fn verify_blob(key: &str, bytes: &[u8]) -> bool {
    key.rsplit('/').next() == Some(content_hash(bytes).as_str())
}

/// The id shard an object id belongs to.
pub fn shard_of(id: &str, shards: usize) -> usize {
    if shards == 0 {
        return 0;
    }
    (xxhash_rust::xxh3::xxh3_64(id.as_bytes()) % shards as u64) as usize
}
