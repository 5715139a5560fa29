//! The snapshot's metadata documents: pointer, manifest and collection index (JSON), the id shards (binary),
//! the per-segment visibility marks, and blob naming.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The format version written into every manifest; a reader refuses those [`reads_format`] does not take.
pub const FORMAT: u32 = 3;

/// The formats a reader (the worker, a build on a previous snapshot) takes: this one, and 2, which differs only in
/// its segments being uncompressed (see [`super::segment`], which reads both).
pub const FORMATS_READ: [u32; 2] = [2, FORMAT];

/// Whether a reader takes a manifest of format `v` (see [`FORMATS_READ`]).
pub fn reads_format(v: u32) -> bool {
    FORMATS_READ.contains(&v)
}

/// The store key of the current-snapshot pointer: the only mutable key.
pub const POINTER_KEY: &str = "current";

/// Records per segment. A page of up to this many objects reads at most two segments per stream.
pub const SEGMENT_RECORDS: usize = 1000;

/// Id-index entries per shard (about).
pub const SHARD_ENTRIES: usize = 4096;

/// Record visibility flags, kept per segment in the collection index (a segment is shared by snapshots; what is
/// hidden changes with each build). A later version of the object exists: hidden for `match[version]=last`.
pub const SUPERSEDED: u8 = 1;
/// An earlier version of the object exists: hidden for `match[version]=first`.
pub const NOT_FIRST: u8 = 2;
/// The object left the collection, or the version is older than the history kept: hidden always.
pub const GONE: u8 = 4;
/// What the default view (`match[version]=last`) hides.
pub const HIDDEN_BY_DEFAULT: u8 = SUPERSEDED | GONE;

/// Why a snapshot metadata document (visibility marks, an id shard) could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The marks string's length is not a multiple of one mark (5 hex digits).
    #[error("segment marks are not whole")]
    MarksNotWhole,
    /// The marks string has a character that is not a hex digit.
    #[error("segment marks are not hex")]
    MarksNotHex,
    /// A mark's record number is past the segment's record count.
    #[error("a segment mark names a record the segment does not have")]
    MarkOutOfRange,
    /// The bytes do not start with the id shard header.
    #[error("not an id shard (no TXIDS2 header)")]
    NotIdShard,
    /// The id shard's length disagrees with the entry counts in its header.
    #[error("the id shard's size does not match its entry counts")]
    ShardSize,
}

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
    /// The retention window the publish asked for (a duration such as `"24h"`; missing: the default,
    /// `retention::DEFAULT_KEEP`): the worker refuses to delete what a snapshot replaced within it reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<String>,
    /// The sources `taxii-edge sync` pulled for this snapshot: when each last synced and how many records it gave
    /// (shown by `/api/status` and `taxii-edge info`). Empty for a snapshot published by hand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceSync>,
}

/// One source of a synced snapshot (see [`Pointer::sources`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceSync {
    pub name: String,
    pub synced: Timestamp,
    pub records: u64,
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
    /// The client profile the collection is rendered for (`"xsoar"`); absent: strict STIX.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// date_added of the newest object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<Timestamp>,
    /// The store key of the collection index.
    pub index: String,
}

/// Where a collection's objects are: its streams and id shards.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct CollectionIndex {
    /// "all" holds every object; "type:<stix 2.1 type>" the objects of one type.
    pub streams: BTreeMap<String, Stream>,
    /// STIX 2.0 type → the 2.1 types rendered as it (observables are indicators in 2.0).
    pub types20: BTreeMap<String, Vec<String>>,
    /// Id-index shards (see [`IdShard`]); an id's shard is `shard_of(id, id_shards.len())`. A build that adds
    /// few records keeps these and puts the new records' entries in `id_delta` (sharded the same way); an id is
    /// looked up in both.
    pub id_shards: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_delta: Vec<String>,
    /// The STIX 2.1 types that id-shard entries name by number.
    #[serde(default)]
    pub types: Vec<String>,
}

/// An ordered run of objects, cut into segments.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Stream {
    /// Records served by default (neither superseded nor gone).
    pub count: u64,
    pub segments: Vec<SegmentRef>,
}

/// One segment of a stream.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SegmentRef {
    pub key: String,
    /// Records in the segment.
    pub count: u32,
    /// date_added of its first and last record.
    pub first: Timestamp,
    pub last: Timestamp,
    /// Records served by default (neither superseded nor gone).
    pub shown: u32,
    /// The records with visibility flags, as [`encode_marks`] writes them; empty when none has any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub marks: String,
}

/// Encodes `(record index, flags)` pairs (flags non-zero, indexes increasing) as 5 hex digits each.
pub fn encode_marks(marks: impl Iterator<Item = (usize, u8)>) -> String {
    let mut out = String::new();
    for (i, f) in marks {
        out.push_str(&format!("{:04x}{:x}", i as u16, f & 0xf));
    }
    out
}

/// The flags of each of `count` records from [`encode_marks`]' form.
pub fn decode_marks(marks: &str, count: usize) -> Result<Vec<u8>, FormatError> {
    let mut flags = vec![0u8; count];
    let b = marks.as_bytes();
    if b.len() % 5 != 0 {
        return Err(FormatError::MarksNotWhole);
    }
    if !b.iter().all(u8::is_ascii_hexdigit) {
        return Err(FormatError::MarksNotHex);
    }
    for chunk in b.chunks(5) {
        let text = std::str::from_utf8(chunk).map_err(|_| FormatError::MarksNotHex)?;
        let i = usize::from_str_radix(&text[..4], 16).map_err(|_| FormatError::MarksNotHex)?;
        let f = u8::from_str_radix(&text[4..], 16).map_err(|_| FormatError::MarksNotHex)?;
        *flags.get_mut(i).ok_or(FormatError::MarkOutOfRange)? = f;
    }
    Ok(flags)
}

/// What a rebuild needs to know of the previous snapshot, per collection id (read from its index and id
/// shards only: no segment is downloaded).
pub type Dates = std::collections::HashMap<String, PreviousCollection>;

/// One collection of the previous snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreviousCollection {
    pub index: CollectionIndex,
    /// Every record the id shards list (gone ones included; those in no stream any more are tombstones that
    /// override the base shards' entry from the delta), in date_added order.
    pub records: Vec<ShardEntry>,
    /// Whether each record's entry is in `index.id_delta` (else in `index.id_shards`).
    pub in_delta: Vec<bool>,
    /// The visibility flags of each record (as `records`).
    pub flags: Vec<u8>,
}

/// One record as the id shards list it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardEntry {
    /// xxh3-64 of the 2.1 id, and of the 2.0 id when it differs.
    pub h21: u64,
    pub h20: Option<u64>,
    /// date_added and version, microseconds.
    pub d: i64,
    pub v: i64,
    /// A hash of the record's bodies and ids: an unchanged version with changed content is a new record.
    pub content: u32,
    /// Index into [`CollectionIndex::types`].
    pub ty: u16,
    /// Which streams still hold the record: [`IN_ALL`], [`IN_TYPE`] (a gone record may have been compacted out
    /// of one and not yet of the other).
    pub streams: u8,
}

/// The record is in the "all" stream.
pub const IN_ALL: u8 = 1;
/// The record is in its type's stream.
pub const IN_TYPE: u8 = 2;

/// The hash id shards are keyed by.
pub fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

const SHARD_MAGIC: &[u8; 8] = b"TXIDS2\0\0";
const MAIN_BYTES: usize = 31;
const ALIAS_BYTES: usize = 16;

/// Encodes one id shard: the records' 2.1 entries (hash, date_added, version, content, type) and 2.0 alias
/// entries (hash, date_added), each table sorted by hash then date.
/// `extra` are aliases of records whose 2.1 entry is in another shard.
pub fn encode_shard(entries: &[ShardEntry], extra: &[(u64, i64)]) -> Vec<u8> {
    let mut main: Vec<&ShardEntry> = entries.iter().collect();
    main.sort_unstable_by_key(|e| (e.h21, e.d));
    let mut alias: Vec<(u64, i64)> = entries.iter().filter_map(|e| e.h20.map(|h| (h, e.d))).collect();
    alias.extend_from_slice(extra);
    alias.sort_unstable();
    let mut out = Vec::with_capacity(16 + main.len() * MAIN_BYTES + alias.len() * ALIAS_BYTES);
    out.extend_from_slice(SHARD_MAGIC);
    out.extend_from_slice(&(main.len() as u32).to_le_bytes());
    out.extend_from_slice(&(alias.len() as u32).to_le_bytes());
    for e in main {
        out.extend_from_slice(&e.h21.to_le_bytes());
        out.extend_from_slice(&e.d.to_le_bytes());
        out.extend_from_slice(&e.v.to_le_bytes());
        out.extend_from_slice(&e.content.to_le_bytes());
        out.extend_from_slice(&e.ty.to_le_bytes());
        out.push(e.streams);
    }
    for (h, d) in alias {
        out.extend_from_slice(&h.to_le_bytes());
        out.extend_from_slice(&d.to_le_bytes());
    }
    out
}

/// A decoded id shard: searched in place.
#[derive(Debug)]
pub struct IdShard {
    bytes: Vec<u8>,
    main: usize,
    alias: usize,
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

impl IdShard {
    pub fn decode(bytes: Vec<u8>) -> Result<IdShard, FormatError> {
        if bytes.len() < 16 || &bytes[..8] != SHARD_MAGIC {
            return Err(FormatError::NotIdShard);
        }
        let main = le_u64(&bytes, 8) as u32 as usize;
        let alias = (le_u64(&bytes, 8) >> 32) as usize;
        if 16 + main as u64 * MAIN_BYTES as u64 + alias as u64 * ALIAS_BYTES as u64 != bytes.len() as u64 {
            return Err(FormatError::ShardSize);
        }
        Ok(IdShard { bytes, main, alias })
    }

    fn main_at(&self, i: usize) -> usize {
        16 + i * MAIN_BYTES
    }

    fn alias_at(&self, i: usize) -> usize {
        16 + self.main * MAIN_BYTES + i * ALIAS_BYTES
    }

    /// Every 2.1 entry.
    pub fn entries(&self) -> impl Iterator<Item = ShardEntry> + '_ {
        (0..self.main).map(|i| {
            let at = self.main_at(i);
            let b = &self.bytes;
            ShardEntry {
                h21: le_u64(b, at),
                h20: None,
                d: le_u64(b, at + 8) as i64,
                v: le_u64(b, at + 16) as i64,
                content: u32::from_le_bytes([b[at + 24], b[at + 25], b[at + 26], b[at + 27]]),
                ty: u16::from_le_bytes([b[at + 28], b[at + 29]]),
                streams: b[at + 30],
            }
        })
    }

    /// Every 2.0 alias: (hash, date_added).
    pub fn aliases(&self) -> impl Iterator<Item = (u64, i64)> + '_ {
        (0..self.alias).map(|i| {
            let at = self.alias_at(i);
            (le_u64(&self.bytes, at), le_u64(&self.bytes, at + 8) as i64)
        })
    }

    /// date_added of every record whose 2.1 or 2.0 id hashes to `h`.
    pub fn dates(&self, h: u64) -> Vec<i64> {
        let mut out = Vec::new();
        let lo = partition(self.main, |i| le_u64(&self.bytes, self.main_at(i)) < h);
        for i in lo..self.main {
            let at = self.main_at(i);
            if le_u64(&self.bytes, at) != h {
                break;
            }
            out.push(le_u64(&self.bytes, at + 8) as i64);
        }
        let lo = partition(self.alias, |i| le_u64(&self.bytes, self.alias_at(i)) < h);
        for i in lo..self.alias {
            let at = self.alias_at(i);
            if le_u64(&self.bytes, at) != h {
                break;
            }
            out.push(le_u64(&self.bytes, at + 8) as i64);
        }
        out
    }
}

/// The first index in `0..n` where `before` is false (`before` true then false).
fn partition(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

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
    shard_of_hash(id_hash(id), shards)
}

/// The id shard of an id hash.
pub fn shard_of_hash(h: u64, shards: usize) -> usize {
    if shards == 0 {
        return 0;
    }
    (h % shards as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_and_refuse_damage() {
        let m = encode_marks([(0, SUPERSEDED), (999, GONE | NOT_FIRST)].into_iter());
        let f = decode_marks(&m, 1000).unwrap();
        assert_eq!((f[0], f[1], f[999]), (SUPERSEDED, 0, GONE | NOT_FIRST));
        assert!(decode_marks(&m, 10).is_err());
        assert!(decode_marks("zz", 10).is_err());
        assert!(decode_marks("zzzzz", 10).is_err());
        assert!(decode_marks("abc\u{e9}", 10).is_err(), "no panic on a multi-byte character");
    }

    #[test]
    fn shards_round_trip() {
        let e = |h21, h20, d| ShardEntry { h21, h20, d, v: d * 2, content: 7, ty: 1, streams: IN_ALL };
        let list = [e(5, Some(9), 1), e(3, None, 2), e(5, None, 3)];
        let shard = IdShard::decode(encode_shard(&list, &[(1, 4)])).unwrap();
        assert_eq!(shard.dates(5), [1, 3]);
        assert_eq!(shard.dates(9), [1]);
        assert_eq!(shard.dates(4), Vec::<i64>::new());
        assert_eq!(shard.entries().count(), 3);
        assert_eq!(shard.aliases().collect::<Vec<_>>(), [(1, 4), (9, 1)]);
        assert_eq!(shard.dates(1), [4]);
        let mut bad = encode_shard(&list, &[]);
        bad.pop();
        assert!(IdShard::decode(bad).is_err());
    }
}
