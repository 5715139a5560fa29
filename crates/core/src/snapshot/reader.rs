//! Reads a published snapshot from a store with bounded work: a pointer, then cached metadata, then only the
//! segments a page needs.
//!
//! Metadata (manifests, collection indexes) and recently used segments are cached per isolate by their
//! content-addressed key, so they can never be stale. Every blob is verified against its hash when first read.

use super::format::*;
use super::segment::{RecordMeta, Segment};
use crate::store::Store;
use crate::time::Timestamp;
use std::cell::RefCell;
use std::rc::Rc;

/// Why a snapshot could not be read: all are the server's problem (503), never the client's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// Nothing has been published yet.
    NothingPublished,
    /// The store failed or timed out.
    Store(String),
    /// A blob is missing or does not match its hash.
    Corrupt(String),
    /// The published snapshot is in a format this worker does not read.
    Outdated(u32),
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::NothingPublished => {
                f.write_str("no snapshot has been published yet: run `taxii-edge publish`")
            }
            SnapshotError::Store(e) => write!(f, "the snapshot store failed: {e}"),
            SnapshotError::Corrupt(e) => write!(f, "the snapshot is damaged: {e}"),
            SnapshotError::Outdated(v) => write!(
                f,
                "the published snapshot has format {v}, this worker reads formats {FORMATS_READ:?}: rebuild and publish it \
                 with this version of taxii-edge (`taxii-edge build`, then `taxii-edge publish`)"
            ),
        }
    }
}

/// A bounded map from blob key to its parsed form, oldest out first. Blobs are content-addressed, so an entry
/// can never be stale.
struct BlobCache<T> {
    entries: RefCell<Vec<(String, Rc<T>)>>,
    capacity: usize,
}

impl<T> BlobCache<T> {
    fn new(capacity: usize) -> Self {
        BlobCache { entries: RefCell::new(Vec::new()), capacity }
    }

    fn get(&self, key: &str) -> Option<Rc<T>> {
        self.entries.borrow().iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn insert(&self, key: &str, value: Rc<T>) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= self.capacity {
            entries.remove(0);
        }
        entries.push((key.to_string(), value));
    }
}

/// Per-isolate cache of immutable blobs, parsed.
pub struct Cache {
    manifests: BlobCache<Manifest>,
    indexes: BlobCache<CollectionIndex>,
    /// About 1 MB each at most.
    segments: BlobCache<Segment>,
    shards: BlobCache<IdShard>,
    /// The publish pointer as last read (see [`crate::snapshot::pointer::Pinned::with_memo`]).
    pub pointer: crate::snapshot::pointer::PointerMemo,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            manifests: BlobCache::new(8),
            indexes: BlobCache::new(64),
            segments: BlobCache::new(24),
            shards: BlobCache::new(24),
            pointer: Default::default(),
        }
    }
}

/// A snapshot being read: its id and manifest.
#[derive(Clone)]
pub struct Snapshot {
    pub id: String,
    pub manifest: Rc<Manifest>,
    pub published: Option<Timestamp>,
    /// What `taxii-edge sync` pulled for it (the pointer's `sources`; empty when published by hand or not current).
    pub sources: Vec<crate::snapshot::format::SourceSync>,
}

/// A record found by a read: the segment that holds it, its index there, and its visibility flags.
#[derive(Clone)]
pub struct Hit {
    pub segment: Rc<Segment>,
    pub index: usize,
    pub flags: u8,
}

impl Hit {
    pub fn meta(&self) -> RecordMeta<'_> {
        self.segment.record(self.index)
    }
    pub fn date(&self) -> i64 {
        self.segment.date(self.index)
    }
    pub fn body(&self, v21: bool) -> &[u8] {
        self.segment.body(self.index, v21)
    }
}

/// The result of reading one page of a stream selection.
pub struct Page {
    pub hits: Vec<Hit>,
    /// More records may follow: the next page starts after `resume`.
    pub more: bool,
    pub resume: Option<Timestamp>,
}

/// Reads snapshots from a store through a cache.
pub struct Reader<'a, S: Store> {
    pub store: &'a S,
    pub cache: &'a Cache,
}

impl<'a, S: Store> Reader<'a, S> {
    /// A blob's bytes, checked against its hash; `None` when the store does not have it.
    async fn blob(&self, key: &str) -> Result<Option<Vec<u8>>, SnapshotError> {
        let Some(bytes) = self.store.get(key).await.map_err(|e| SnapshotError::Store(e.0))? else {
            return Ok(None);
        };
        if !verify_blob(key, &bytes) {
            return Err(SnapshotError::Corrupt(format!("blob {key} does not match its hash")));
        }
        Ok(Some(bytes))
    }

    /// A blob parsed by `parse`, through `cache`; `None` when the store does not have it.
    async fn cached<T, E: std::fmt::Display>(
        &self,
        cache: &BlobCache<T>,
        key: &str,
        parse: impl FnOnce(Vec<u8>) -> Result<T, E>,
    ) -> Result<Option<Rc<T>>, SnapshotError> {
        if let Some(v) = cache.get(key) {
            return Ok(Some(v));
        }
        let Some(bytes) = self.blob(key).await? else { return Ok(None) };
        let value = Rc::new(parse(bytes).map_err(|e| SnapshotError::Corrupt(format!("{key}: {e}")))?);
        cache.insert(key, value.clone());
        Ok(Some(value))
    }

    /// A blob the snapshot refers to, which must therefore exist.
    async fn required<T, E: std::fmt::Display>(
        &self,
        cache: &BlobCache<T>,
        key: &str,
        parse: impl FnOnce(Vec<u8>) -> Result<T, E>,
    ) -> Result<Rc<T>, SnapshotError> {
        self.cached(cache, key, parse).await?.ok_or_else(|| SnapshotError::Corrupt(format!("blob {key} is missing")))
    }

    /// The snapshot the pointer names.
    pub async fn current(&self) -> Result<Snapshot, SnapshotError> {
        let bytes = self.store.get(POINTER_KEY).await.map_err(|e| SnapshotError::Store(e.0))?;
        let bytes = bytes.ok_or(SnapshotError::NothingPublished)?;
        let pointer: Pointer = serde_json::from_slice(&bytes)
            .map_err(|e| SnapshotError::Corrupt(format!("the current pointer is not valid: {e}")))?;
        let manifest = self.required(&self.cache.manifests, &pointer.manifest, parse_manifest).await?;
        check_format(&manifest)?;
        Ok(Snapshot { id: pointer.snapshot, manifest, published: Some(pointer.published), sources: pointer.sources })
    }

    /// A retained snapshot by id, if its manifest is still in the store.
    pub async fn by_id(&self, id: &str) -> Result<Option<Snapshot>, SnapshotError> {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let manifest = self.cached(&self.cache.manifests, &format!("manifest/{id}"), parse_manifest).await?;
        // A snapshot of another format (from before an upgrade) is not read: the current one goes on from there.
        let manifest = manifest.filter(|m| reads_format(m.format));
        Ok(manifest.map(|manifest| Snapshot { id: id.to_string(), manifest, published: None, sources: Vec::new() }))
    }

    /// A collection's index.
    pub async fn index(&self, entry: &CollectionEntry) -> Result<Rc<CollectionIndex>, SnapshotError> {
        self.required(&self.cache.indexes, &entry.index, |b| serde_json::from_slice(&b)).await
    }

    async fn segment(&self, key: &str) -> Result<Rc<Segment>, SnapshotError> {
        self.required(&self.cache.segments, key, Segment::decode).await
    }

    /// Up to `limit` records added after `after`, merged in date_added order from the named streams, keeping
    /// those `keep` accepts. At most `max_segments` segments per stream are read, so a selective `keep` cannot
    /// make the work grow with the collection: the page is then shorter, and `resume` says where to go on.
    pub async fn page(
        &self,
        index: &CollectionIndex,
        streams: &[String],
        after: Option<Timestamp>,
        limit: usize,
        max_segments: usize,
        keep: &dyn Fn(&RecordMeta<'_>, u8) -> bool,
    ) -> Result<Page, SnapshotError> {
        let mut hits: Vec<Hit> = Vec::new();
        let mut more = false;
        // The earliest point up to which a stream was scanned before its segment budget ran out.
        let mut budget_cut: Option<Timestamp> = None;
        for name in streams {
            let Some(stream) = index.streams.get(name) else { continue };
            let mut seg_i = after.map_or(0, |a| stream.segments.partition_point(|s| s.last <= a));
            let mut taken = 0usize;
            let mut read = 0usize;
            'segments: while seg_i < stream.segments.len() {
                if read == max_segments {
                    let through = stream.segments[seg_i - 1].last;
                    budget_cut = Some(budget_cut.map_or(through, |c| c.min(through)));
                    break;
                }
                let seg_ref = &stream.segments[seg_i];
                let seg = self.segment(&seg_ref.key).await?;
                let flags = marks(seg_ref, &seg)?;
                read += 1;
                let start = after.map_or(0, |a| seg.first_after(a));
                for (i, &f) in flags.iter().enumerate().skip(start) {
                    if f & GONE == 0 && keep(&seg.record(i), f) {
                        if taken == limit {
                            more = true;
                            break 'segments;
                        }
                        hits.push(Hit { segment: seg.clone(), index: i, flags: f });
                        taken += 1;
                    }
                }
                seg_i += 1;
            }
        }
        if let Some(cut) = budget_cut {
            hits.retain(|h| h.date() <= cut.0);
        }
        if streams.len() > 1 {
            hits.sort_by_key(Hit::date);
        }
        if hits.len() > limit {
            hits.truncate(limit);
            more = true;
        }
        let last = hits.last().map(|h| h.meta().date_added());
        let resume = match (more, budget_cut) {
            (true, _) => last,
            (false, Some(cut)) => Some(last.map_or(cut, |l| l.max(cut))),
            (false, None) => None,
        };
        Ok(Page { hits, more: resume.is_some(), resume })
    }

    /// How many records of `stream` served by default were added at or before `after` (one segment read at
    /// most).
    pub async fn rank(&self, stream: &Stream, after: Option<Timestamp>) -> Result<u64, SnapshotError> {
        let Some(a) = after else { return Ok(0) };
        let i = stream.segments.partition_point(|s| s.last <= a);
        let before: u64 = stream.segments[..i].iter().map(|s| u64::from(s.shown)).sum();
        match stream.segments.get(i) {
            Some(s) if s.first <= a => {
                let seg = self.segment(&s.key).await?;
                let flags = marks(s, &seg)?;
                let n = flags[..seg.first_after(a)].iter().filter(|&&f| f & HIDDEN_BY_DEFAULT == 0).count();
                Ok(before + n as u64)
            }
            _ => Ok(before),
        }
    }

    /// Up to `limit` records of `stream` served by default, from position `start` (zero-based) among them on.
    pub async fn from_position(&self, stream: &Stream, start: u64, limit: usize) -> Result<Vec<Hit>, SnapshotError> {
        let mut hits = Vec::with_capacity(limit.min(4096));
        let mut skip = start;
        for s in &stream.segments {
            if hits.len() == limit {
                break;
            }
            if skip >= u64::from(s.shown) {
                skip -= u64::from(s.shown);
                continue;
            }
            let seg = self.segment(&s.key).await?;
            let flags = marks(s, &seg)?;
            for (i, &f) in flags.iter().enumerate() {
                if hits.len() == limit {
                    break;
                }
                if f & HIDDEN_BY_DEFAULT != 0 {
                    continue;
                }
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                hits.push(Hit { segment: seg.clone(), index: i, flags: f });
            }
        }
        Ok(hits)
    }

    /// The date_added of every record whose 2.1 or 2.0 id may be `id` (hashes match: the record itself says).
    pub async fn find_id(&self, index: &CollectionIndex, id: &str) -> Result<Vec<Timestamp>, SnapshotError> {
        let h = id_hash(id);
        let mut out = Vec::new();
        for shards in [&index.id_shards, &index.id_delta] {
            if shards.is_empty() {
                continue;
            }
            let shard = self.shard(&shards[shard_of_hash(h, shards.len())]).await?;
            out.extend(shard.dates(h).into_iter().map(Timestamp));
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    async fn shard(&self, key: &str) -> Result<Rc<IdShard>, SnapshotError> {
        self.required(&self.cache.shards, key, IdShard::decode).await
    }

    /// The record of the "all" stream added exactly at `d`, if any and not gone.
    pub async fn at(&self, index: &CollectionIndex, d: Timestamp) -> Result<Option<Hit>, SnapshotError> {
        let Some(stream) = index.streams.get(ALL) else { return Ok(None) };
        let i = stream.segments.partition_point(|s| s.last < d);
        let Some(seg_ref) = stream.segments.get(i) else { return Ok(None) };
        if seg_ref.first > d {
            return Ok(None);
        }
        let seg = self.segment(&seg_ref.key).await?;
        let j = seg.first_after(Timestamp(d.0.saturating_sub(1)));
        if j >= seg.len() || seg.date(j) != d.0 {
            return Ok(None);
        }
        let flags = marks(seg_ref, &seg)?[j];
        Ok((flags & GONE == 0).then_some(Hit { segment: seg, index: j, flags }))
    }
}

/// The visibility flags of a segment's records, from its reference in the index.
fn marks(seg_ref: &SegmentRef, seg: &Segment) -> Result<Vec<u8>, SnapshotError> {
    if seg.len() != seg_ref.count as usize {
        return Err(SnapshotError::Corrupt(format!(
            "segment {} holds {} records, the index says {}",
            seg_ref.key,
            seg.len(),
            seg_ref.count
        )));
    }
    decode_marks(&seg_ref.marks, seg.len()).map_err(|e| SnapshotError::Corrupt(format!("{}: {e}", seg_ref.key)))
}

/// A manifest of a format this reader does not take (1, or one after its own) is refused: its blobs are not
/// what this reader decodes.
fn check_format(m: &Manifest) -> Result<(), SnapshotError> {
    if !reads_format(m.format) {
        return Err(SnapshotError::Outdated(m.format));
    }
    Ok(())
}

/// Why a manifest blob could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("not a valid manifest: {0}")]
struct ManifestError(#[from] serde_json::Error);

fn parse_manifest(bytes: Vec<u8>) -> Result<Manifest, ManifestError> {
    Ok(serde_json::from_slice(&bytes)?)
}
