//! The record cache: each input record's rendering kept between builds, keyed by the record's bytes, so that a
//! build with a cache (`build --cache DIR`; `sync` keeps one in its state directory) parses and renders only the
//! records it has not seen before: a cycle where 1% of a million indicators changed renders ten thousand.
//! XSOAR JSON lines inputs (what the XSOAR source writes) are read this way; other inputs are read as always.
//!
//! A cache belongs to one configuration: its key ([`cache_key`]) hashes the collections (queries and client
//! settings), the render options, the program that wrote it, and the build time when a query depends on it
//! (relative dates); a cache under another key is started afresh. The directory holds `data-<generation>`, the
//! entries one after another (a build appends the ones it rendered), and `index`, which entries the last build
//! used: a record's hash, where its entry is, its length and checksum. The index is replaced whole by a rename
//! when a build finishes, so a build that stops midway leaves the last good one (and the data it appended is cut
//! off when the cache is opened again). An entry whose checksum does not match is a miss: the record is read and
//! rendered again. When half the data or less is in use, the build writes it anew as the next generation.
//! One build at a time may use a cache directory (`sync` holds a lock on its state directory).
//!
//! The index in memory, and what a sync keeps of it between builds, is [`super::cache_index`].

#[cfg(test)]
use super::cache_index::sorted;
use super::cache_index::{Index, KeptIndex, Listed, Slot, UsedIndex};
use super::render_stage::{Packed, Prepared, Rendering};
use super::warm::{KeptPlaces, KeptRecords, WarmRecords};
use crate::config::CollectionConfig;
use crate::import::RecordError;
use crate::indicator::{Fields, Indicator, Relationship};
use crate::pool::par_map;
use crate::stix::{RenderError, RenderOptions};
use edge_core::time::Timestamp;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

/// Why a record cache could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("the record cache {path}: {source} (check that the directory is writable, or delete it)")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The data file of a generation.
fn data_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("data-{generation}"))
}

/// An I/O failure on `path` as a cache error.
fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError {
    let path = path.to_path_buf();
    move |source| CacheError::Io { path, source }
}

/// What the first line of the index says: the format of both files.
const MAGIC: &[u8; 32] = b"taxii-edge record cache, v1\n\0\0\0\0";

/// The key of a cache for this configuration and this program (`program`: what identifies the build's code,
/// e.g. a hash of the executable): a cache written under another key is not used.
pub fn cache_key(collections: &[CollectionConfig], render: &RenderOptions, now: Timestamp, program: &[u8]) -> u128 {
    let uses_now = collections.iter().any(|c| c.query.uses_now());
    let at = if uses_now { now.0 } else { 0 };
    // The build time reaches the rendering only through revoke_expired.
    let mut render = render.clone();
    if !render.revoke_expired {
        render.expired_as_of = None;
    }
    let text = format!("{collections:?}\n{render:?}\n{at}\n{}", MAGIC.escape_ascii());
    xxh3_128(&[text.as_bytes(), b"\n", program].concat())
}

/// A record cache directory, opened for one build.
pub struct RecordCache {
    dir: PathBuf,
    key: u128,
    generation: u64,
    index: Index,
    data_len: u64,
    /// This build's number: entries it uses are marked with it.
    build: u64,
}

impl RecordCache {
    /// Opens (or creates) the cache in `dir` for a build under `key`. An index that is missing, unreadable or
    /// of another key starts an empty cache. `kept` is the index a sync's last build left in memory: it is used
    /// instead of the index file when it is this cache's and its data file is as that build left it (the sync
    /// holds the directory between its builds, so the index file holds the same).
    pub fn open(dir: &Path, key: u128, kept: Option<KeptIndex>) -> Result<RecordCache, CacheError> {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        let mut cache =
            RecordCache { dir: dir.to_path_buf(), key, generation: 0, index: Index::default(), data_len: 0, build: 1 };
        // A kept index is used only while its data file is as long as that build left it.
        let data_len_of = |generation| std::fs::metadata(data_path(dir, generation)).map(|m| m.len()).ok();
        match kept.filter(|k| k.is_of(dir, key) && data_len_of(k.generation) == Some(k.data_len)) {
            Some(kept) => {
                (cache.generation, cache.data_len, cache.index) = (kept.generation, kept.data_len, kept.index);
                cache.build = kept.build + 1;
            }
            None => {
                if let Some((generation, data_len, index)) = read_index(&dir.join("index"), key) {
                    (cache.generation, cache.data_len, cache.index) = (generation, data_len, index);
                }
            }
        }
        // Data appended after the index was written (a build that did not finish) is cut off.
        let data = data_path(dir, cache.generation);
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&data).map_err(io_at(&data))?;
        if file.metadata().map_err(io_at(&data))?.len() != cache.data_len {
            if cache.index.is_empty() {
                cache.data_len = 0;
            }
            file.set_len(cache.data_len).map_err(io_at(&data))?;
        }
        Ok(cache)
    }

    /// How many records the last build kept.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether it kept none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The lookup side (for the thread that reads the inputs) and the writing side (for the one that renders
    /// them). With `warm`, what a long-running sync kept of its last build: the lookup gives the records
    /// it holds instead of reading their entries (where each is), and the writer takes them from there.
    pub fn split(self, warm: Option<WarmRecords>) -> Result<(CacheLookup, CacheWriter), CacheError> {
        let path = data_path(&self.dir, self.generation);
        let read = File::open(&path).map_err(io_at(&path))?;
        let append = std::fs::OpenOptions::new().append(true).open(&path).map_err(io_at(&path))?;
        let (places, records) = warm.map(WarmRecords::split).unzip();
        let mut lookup = CacheLookup::new(self.index, read, self.build);
        lookup.warm = places;
        let writer = CacheWriter {
            dir: self.dir,
            key: self.key,
            generation: self.generation,
            data: BufWriter::with_capacity(1 << 20, append),
            data_len: self.data_len,
            added: Vec::new(),
            unusable: Vec::new(),
            hits: 0,
            kept: 0,
            misses: 0,
            warm: records,
        };
        Ok((lookup, writer))
    }
}

/// Reads the index: its generation, the data length it covers and its entries; `None` when it is missing,
/// damaged or of another key.
fn read_index(path: &Path, key: u128) -> Option<(u64, u64, Index)> {
    let bytes = std::fs::read(path).ok()?;
    let mut r = Bytes(&bytes);
    if r.take(MAGIC.len())? != MAGIC || r.u128()? != key {
        return None;
    }
    let (generation, data_len, count) = (r.u64()?, r.u64()?, r.u64()?);
    let mut index =
        Index::with_capacity_and_hasher(usize::try_from(count).ok()?.min(bytes.len() / 36), Default::default());
    for _ in 0..count {
        let hash = r.u128()?;
        let slot = Slot { offset: r.u64()?, len: r.u32()?, checksum: r.u64()? };
        if slot.offset + u64::from(slot.len) > data_len {
            return None;
        }
        index.insert(hash, Listed { slot, used: 0 });
    }
    let sum = r.u64()?;
    (r.0.is_empty() && xxh3_64(&bytes[..bytes.len() - 8]) == sum).then_some((generation, data_len, index))
}

/// The records the last build kept, and their entries.
///
/// Entries are read through a window of the data file read ahead, while they follow one another in it; an entry
/// away from the window (a record rendered by a later build is appended at the end, so once records change the
/// entries of the inputs' records are in two or more runs) is read alone, and the window stays for the entries
/// after it. Refilling a read-ahead buffer for each such entry instead re-read a megabyte per changed record
/// and made every cycle slower than the one before.
pub struct CacheLookup {
    index: Index,
    /// This build's number ([`Listed::used`]).
    build: u64,
    data: File,
    /// Where the file's position is.
    at: u64,
    /// The bytes of the data file from `window_at` on.
    window: Vec<u8>,
    window_at: u64,
    /// Where the last entry read ends.
    last_end: u64,
    /// How many bytes were read from the file.
    fetched: u64,
    /// Where the last build's prepared records are, when a long-running sync kept them (see [`super::Warm`]).
    warm: Option<KeptPlaces>,
}

/// How much of the data file a window holds.
const WINDOW: usize = 1 << 20;
/// How far past the window an entry may start and still be read by moving the window on to it (entries of
/// records no longer read lie between those that are).
const GAP: u64 = 1 << 16;

impl CacheLookup {
    fn new(index: Index, data: File, build: u64) -> CacheLookup {
        CacheLookup { index, build, data, at: 0, window: Vec::new(), window_at: 0, last_end: 0, fetched: 0, warm: None }
    }

    /// The index, each entry this build used marked so (for [`CacheWriter::commit`]).
    pub fn into_index(self) -> UsedIndex {
        UsedIndex { index: self.index, build: self.build }
    }

    /// The entry of the record whose bytes are `line`, when the cache has it whole (or its prepared record, when
    /// one was kept).
    pub fn get(&mut self, line: &str) -> Item {
        let hash = xxh3_128(line.as_bytes());
        let build = self.build;
        // Marked used at once (one lookup); unmarked if its entry cannot be read.
        let listed = self.index.get_mut(&hash).map(|l| (std::mem::replace(&mut l.used, build), l.slot));
        if let Some((was, slot)) = listed {
            if let Some(at) = self.warm.as_mut().and_then(|w| w.take(hash)) {
                return Item::Kept { hash, at };
            }
            if let Some(entry) = self.read(slot) {
                return Item::Cached { hash, entry };
            }
            if let Some(l) = self.index.get_mut(&hash) {
                l.used = was;
            }
        }
        Item::Line { hash, line: line.to_string() }
    }

    fn read(&mut self, slot: Slot) -> Option<Vec<u8>> {
        let (start, len) = (slot.offset, slot.len as usize);
        let window_end = self.window_at + self.window.len() as u64;
        let in_window = start >= self.window_at && start + len as u64 <= window_end;
        let entry = if in_window {
            let from = usize::try_from(start - self.window_at).ok()?;
            self.window[from..from + len].to_vec()
        } else if (start >= self.window_at && start <= window_end + GAP) || start == self.last_end {
            // The entries go on past the window (or from the last one read): move the window on to this one.
            self.fill(start, len.max(WINDOW))?;
            if self.window.len() < len {
                return None;
            }
            self.window[..len].to_vec()
        } else {
            let mut entry = vec![0; len];
            self.read_at(start, &mut entry)?;
            entry
        };
        self.last_end = start + len as u64;
        (xxh3_64(&entry) == slot.checksum).then_some(entry)
    }

    /// Fills the window with up to `len` bytes from `at` (fewer at the end of the file).
    fn fill(&mut self, at: u64, len: usize) -> Option<()> {
        let mut window = std::mem::take(&mut self.window);
        window.resize(len, 0);
        let got = self.seek(at).and_then(|()| read_up_to(&mut self.data, &mut window));
        let Some(got) = got else {
            // Where the file's position is now is unknown: the next read seeks.
            (self.at, self.window_at) = (u64::MAX, 0);
            return None;
        };
        window.truncate(got);
        self.at = at + got as u64;
        self.fetched += got as u64;
        (self.window, self.window_at) = (window, at);
        Some(())
    }

    /// Reads exactly `into.len()` bytes from `at`.
    fn read_at(&mut self, at: u64, into: &mut [u8]) -> Option<()> {
        self.seek(at)?;
        let read = self.data.read_exact(into);
        self.at = if read.is_ok() { at + into.len() as u64 } else { u64::MAX };
        self.fetched += into.len() as u64;
        read.ok()
    }

    fn seek(&mut self, at: u64) -> Option<()> {
        if self.at != at {
            self.at = u64::MAX;
            self.at = self.data.seek(SeekFrom::Start(at)).ok()?;
        }
        Some(())
    }
}

/// Reads into `buf` until it is full or the file ends; how many bytes were read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> Option<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(got)
}

/// One input record as the reader hands it on: its cached entry, or its line to read and render.
pub enum Item {
    Cached {
        hash: u128,
        entry: Vec<u8>,
    },
    /// A record the last build of a long-running sync prepared (its cache entry is in the index).
    Kept {
        hash: u128,
        /// Its place among the kept records the writer holds.
        at: u32,
    },
    Line {
        hash: u128,
        line: String,
    },
}

/// What a build with a cache rendered and reused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Records taken from the cache.
    pub hits: usize,
    /// Of those, the records a long-running sync kept in memory from its last build (their entries not read).
    pub kept: usize,
    /// Records read and rendered (not in the cache, or changed).
    pub misses: usize,
}

/// Where a build puts what it rendered; [`CacheWriter::commit`] makes the entries it used the index.
pub struct CacheWriter {
    dir: PathBuf,
    key: u128,
    generation: u64,
    data: BufWriter<File>,
    data_len: u64,
    /// The entries it appended, in order.
    added: Vec<(u128, Slot)>,
    /// Entries it read whole but could not decode: dropped from the index, so their records are read again.
    unusable: Vec<u128>,
    hits: usize,
    kept: usize,
    misses: usize,
    /// The last build's prepared records, when a long-running sync kept them (the lookup says which to take).
    warm: Option<KeptRecords>,
}

impl CacheWriter {
    /// A record whose cached entry this build used (the lookup marked the entry used).
    fn reuse(&mut self) {
        self.hits += 1;
    }

    /// A record this build read and rendered: its entry appended to the data.
    fn add(&mut self, hash: u128, entry: &[u8]) -> Result<(), CacheError> {
        let slot = Slot {
            offset: self.data_len,
            len: u32::try_from(entry.len()).expect("an entry is under 4 GB"),
            checksum: xxh3_64(entry),
        };
        self.data.write_all(entry).map_err(io_at(&data_path(&self.dir, self.generation)))?;
        self.data_len += entry.len() as u64;
        self.added.push((hash, slot));
        self.misses += 1;
        Ok(())
    }

    /// Makes the entries this build used the cache's index (writing the data anew first when half of it or
    /// less is in use). `used` is the index the lookup marked ([`CacheLookup::into_index`]); it is returned as
    /// the new index, for a sync's next build ([`RecordCache::open`]).
    pub fn commit(mut self, used: UsedIndex) -> Result<(CacheStats, KeptIndex), CacheError> {
        let UsedIndex { mut index, build } = used;
        // The kept records not taken (their lines changed or went) are freed first.
        drop(self.warm.take());
        let stats = CacheStats { hits: self.hits, kept: self.kept, misses: self.misses };
        let old = data_path(&self.dir, self.generation);
        self.data.flush().map_err(io_at(&old))?;
        for hash in &self.unusable {
            index.remove(hash);
        }
        // A record that came twice keeps one entry: the one it was read from, else the first added.
        for (hash, slot) in std::mem::take(&mut self.added) {
            if index.get(&hash).is_none_or(|l| l.used != build) {
                index.insert(hash, Listed { slot, used: build });
            }
        }
        index.retain(|_, l| l.used == build);
        let live_bytes: u64 = index.values().map(|l| u64::from(l.slot.len)).sum();
        if self.data_len > 0 && live_bytes * 2 <= self.data_len {
            self.compact(&old, &mut index)?;
        }
        let mut bytes = Vec::with_capacity(MAGIC.len() + 40 + index.len() * 36);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&self.key.to_le_bytes());
        for n in [self.generation, self.data_len, index.len() as u64] {
            bytes.extend_from_slice(&n.to_le_bytes());
        }
        for (hash, Listed { slot, .. }) in &index {
            bytes.extend_from_slice(&hash.to_le_bytes());
            bytes.extend_from_slice(&slot.offset.to_le_bytes());
            bytes.extend_from_slice(&slot.len.to_le_bytes());
            bytes.extend_from_slice(&slot.checksum.to_le_bytes());
        }
        let sum = xxh3_64(&bytes);
        bytes.extend_from_slice(&sum.to_le_bytes());
        let (tmp, path) = (self.dir.join("index.tmp"), self.dir.join("index"));
        std::fs::write(&tmp, &bytes).map_err(io_at(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_at(&path))?;
        // Data files of other generations are no longer named by the index.
        let current = data_path(&self.dir, self.generation);
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with("data-") && entry.path() != current {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let (dir, key, generation, data_len) = (self.dir, self.key, self.generation, self.data_len);
        Ok((stats, KeptIndex { dir, key, generation, data_len, index, build }))
    }

    /// Copies the entries of `index` into the next generation's data file, in the order they sit in the old one.
    fn compact(&mut self, old: &Path, index: &mut Index) -> Result<(), CacheError> {
        let next = data_path(&self.dir, self.generation + 1);
        let mut from = BufReader::with_capacity(1 << 20, File::open(old).map_err(io_at(old))?);
        let mut to = BufWriter::with_capacity(1 << 20, File::create(&next).map_err(io_at(&next))?);
        let mut live: Vec<&mut Slot> = index.values_mut().map(|l| &mut l.slot).collect();
        live.sort_unstable_by_key(|s| s.offset);
        let (mut at, mut len) = (0u64, 0u64);
        let mut entry = Vec::new();
        for slot in live {
            from.seek_relative(i64::try_from(slot.offset - at).unwrap_or(i64::MAX)).map_err(io_at(old))?;
            entry.resize(slot.len as usize, 0);
            from.read_exact(&mut entry).map_err(io_at(old))?;
            at = slot.offset + u64::from(slot.len);
            to.write_all(&entry).map_err(io_at(&next))?;
            slot.offset = len;
            len += u64::from(slot.len);
        }
        to.flush().map_err(io_at(&next))?;
        self.generation += 1;
        self.data_len = len;
        Ok(())
    }
}

impl Prepared {
    /// Takes a batch of input records read with a cache (each with its line number in `input`): cached ones as
    /// they were, the others read, rendered and added to the cache (on every core, in order). Returns the
    /// records that could not be read.
    pub fn push_items(
        &mut self,
        input: &str,
        batch: Vec<(usize, Item)>,
        collections: &[CollectionConfig],
        render: &RenderOptions,
        cache: &mut CacheWriter,
    ) -> Result<Vec<RecordError>, CacheError> {
        enum Done {
            Cached(Indicator, Rendering),
            Kept,
            Fresh(Indicator, Rendering, Vec<u8>),
            Bad(RecordError),
            Failed(RenderError),
        }
        let (words, vwords) = self.widths();
        let position = |line: &usize| format!("{input}:{line}");
        let done = par_map(&batch, |(line, item)| match item {
            Item::Kept { .. } => Done::Kept,
            Item::Cached { entry, .. } => match decode(entry, words, vwords) {
                Some((ind, r)) => Done::Cached(ind, r),
                None => Done::Bad(RecordError {
                    position: position(line),
                    reason: "its record cache entry cannot be read: delete the cache directory".into(),
                }),
            },
            Item::Line { line: text, .. } => match crate::import::xsoar::parse_line(&position(line), text) {
                Err(e) => Done::Bad(e),
                Ok(ind) => match self.render_one(&ind, collections) {
                    Err(e) => Done::Failed(e),
                    Ok(r) => {
                        let ind = self.slim(ind, render);
                        let entry = encode(&ind, &r);
                        Done::Fresh(ind, r, entry)
                    }
                },
            },
        });
        let mut bad = Vec::new();
        for ((_, item), done) in batch.into_iter().zip(done) {
            match (item, done) {
                (Item::Cached { hash, .. }, Done::Cached(ind, r)) => {
                    cache.reuse();
                    self.append_slim(ind, r, Some(hash));
                }
                (Item::Kept { hash, at }, Done::Kept) => {
                    cache.reuse();
                    cache.kept += 1;
                    let kept = cache.warm.as_mut().expect("the lookup gives kept records only with the writer's");
                    self.append_taken(&mut kept.0, at as usize, Some(hash));
                }
                (Item::Line { hash, .. }, Done::Fresh(ind, r, entry)) => {
                    cache.add(hash, &entry)?;
                    self.append_slim(ind, r, Some(hash));
                }
                (Item::Cached { hash, .. }, Done::Bad(e)) => {
                    cache.unusable.push(hash);
                    bad.push(e);
                }
                (_, Done::Bad(e)) => bad.push(e),
                (_, Done::Failed(e)) => self.render_errors.push(e),
                (_, Done::Cached(..) | Done::Kept | Done::Fresh(..)) => unreachable!("each item is done as what it is"),
            }
        }
        Ok(bad)
    }
}

/// An entry: the slim indicator, then its objects and its collection and variant bits.
fn encode(ind: &Indicator, r: &Rendering) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + r.packed.iter().map(|p| p.heads.len() + p.json.len() + 48).sum::<usize>());
    put_str(&mut out, &ind.value);
    put_str(&mut out, &ind.xsoar_type);
    out.push(ind.score);
    put_u32(&mut out, ind.tags.len());
    ind.tags.iter().for_each(|t| put_str(&mut out, t));
    for t in [ind.created.0, ind.modified.0, ind.expiration.map_or(i64::MIN, |t| t.0)] {
        out.extend_from_slice(&t.to_le_bytes());
    }
    let fields: Vec<(&String, &serde_json::Value)> = ind.fields.iter().collect();
    put_bytes(&mut out, &serde_json::to_vec(&fields).expect("fields serialise"));
    put_u32(&mut out, ind.relationships.len());
    for rel in &ind.relationships {
        put_str(&mut out, &rel.name);
        put_str(&mut out, &rel.target_value);
        put_opt(&mut out, rel.tip_id.as_deref());
        put_opt(&mut out, rel.description.as_deref());
    }
    put_str(&mut out, &ind.origin);
    put_u32(&mut out, r.packed.len());
    for p in &r.packed {
        put_str(&mut out, &p.heads);
        p.ends.iter().for_each(|e| out.extend_from_slice(&e.to_le_bytes()));
        put_bytes(&mut out, &p.json);
        out.extend_from_slice(&p.json21_len.to_le_bytes());
        out.extend_from_slice(&p.json_len.to_le_bytes());
        out.extend_from_slice(&p.version.0.to_le_bytes());
        out.extend_from_slice(&p.h21.to_le_bytes());
        out.extend_from_slice(&p.h20.map_or(0, |h| h).to_le_bytes());
        out.push(u8::from(p.h20.is_some()));
        out.extend_from_slice(&p.content.to_le_bytes());
    }
    r.selected.iter().chain(&r.needs).for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
    out
}

/// The entry [`encode`] wrote, or `None` when it is not one (for these widths of bits).
fn decode(entry: &[u8], words: usize, vwords: usize) -> Option<(Indicator, Rendering)> {
    let mut r = Bytes(entry);
    let value = r.string()?;
    let xsoar_type = r.string()?;
    let score = r.take(1)?[0];
    let tags = (0..r.u32()?).map(|_| r.string()).collect::<Option<Vec<_>>>()?;
    let (created, modified, expiration) = (r.i64()?, r.i64()?, r.i64()?);
    let fields: Vec<(String, serde_json::Value)> = serde_json::from_slice(r.bytes()?).ok()?;
    let relationships = (0..r.u32()?)
        .map(|_| {
            Some(Relationship { name: r.string()?, target_value: r.string()?, tip_id: r.opt()?, description: r.opt()? })
        })
        .collect::<Option<Vec<_>>>()?;
    let origin = r.string()?;
    let ind = Indicator {
        value,
        xsoar_type,
        score,
        tags,
        created: Timestamp(created),
        modified: Timestamp(modified),
        expiration: (expiration != i64::MIN).then_some(Timestamp(expiration)),
        fields: fields.into_iter().collect::<Fields>(),
        relationships,
        origin,
    };
    let packed = (0..r.u32()?)
        .map(|_| {
            let heads = r.string()?.into_boxed_str();
            let ends = [r.u16()?, r.u16()?, r.u16()?];
            let json = r.bytes()?.to_vec().into_boxed_slice();
            let (json21_len, json_len, version, h21, h20) = (r.u32()?, r.u32()?, r.i64()?, r.u64()?, r.u64()?);
            let h20 = (r.take(1)?[0] == 1).then_some(h20);
            let content = r.u32()?;
            let fits = ends[0] <= ends[1] && ends[1] <= ends[2] && usize::from(ends[2]) <= heads.len();
            let cut = |e: u16| heads.is_char_boundary(usize::from(e));
            (fits && ends.iter().all(|&e| cut(e))).then_some(Packed {
                heads,
                ends,
                json,
                json21_len,
                json_len,
                version: Timestamp(version),
                h21,
                h20,
                content,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let selected = (0..words).map(|_| r.u64()).collect::<Option<Vec<_>>>()?;
    let needs = (0..vwords).map(|_| r.u64()).collect::<Option<Vec<_>>>()?;
    let rendered: u32 = needs.iter().map(|w| w.count_ones()).sum();
    (r.0.is_empty() && rendered as usize == packed.len()).then_some((ind, Rendering { packed, selected, needs }))
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).expect("under 4 GB").to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len());
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
        None => out.push(0),
    }
}

/// A reader over an entry's or the index's bytes: `None` when they end too soon.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }
    fn u128(&mut self) -> Option<u128> {
        self.array().map(u128::from_le_bytes)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_string)
    }
    fn opt(&mut self) -> Option<Option<String>> {
        match self.take(1)?[0] {
            0 => Some(None),
            1 => self.string().map(Some),
            _ => None,
        }
    }
}

/// The entries of the index file of the cache in `dir` under `key`, in hash order.
#[cfg(test)]
pub(super) fn index_file_entries(dir: &Path, key: u128) -> Option<Vec<(u128, Slot)>> {
    read_index(&dir.join("index"), key).map(|(_, _, index)| sorted(&index))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data file of `n` entries of `size` bytes each (entry `i` filled with byte `i`), and their slots.
    fn data_file(name: &str, n: usize, size: usize) -> (PathBuf, Vec<Slot>) {
        let path = std::env::temp_dir().join(format!("taxii-edge-cache-{name}-{}", std::process::id()));
        let mut bytes = Vec::with_capacity(n * size);
        let mut slots = Vec::with_capacity(n);
        for i in 0..n {
            let entry = vec![i as u8; size];
            slots.push(Slot { offset: bytes.len() as u64, len: size as u32, checksum: xxh3_64(&entry) });
            bytes.extend_from_slice(&entry);
        }
        std::fs::write(&path, bytes).expect("written");
        (path, slots)
    }

    #[test]
    fn entries_in_two_runs_are_read_once_each_not_a_window_per_jump() {
        // 4,000 entries of 1 KB: the first 3,000 as a first build wrote them, the last 1,000 appended by later
        // builds. The inputs ask for them interleaved: three from the first run, one from the second, and so on.
        let (path, slots) = data_file("runs", 4000, 1024);
        let mut lookup = CacheLookup::new(Index::default(), File::open(&path).expect("opened"), 1);
        let order: Vec<usize> = (0..1000).flat_map(|k| [3 * k, 3 * k + 1, 3 * k + 2, 3000 + k]).collect();
        for &i in &order {
            assert_eq!(lookup.read(slots[i]), Some(vec![i as u8; 1024]), "entry {i}");
        }
        // Before, each jump between the runs refilled a 1 MB buffer: about 2 GB read for these 4 MB.
        let data = 4000 * 1024;
        assert!(lookup.fetched <= data + 2 * WINDOW as u64, "{} bytes read for {data}", lookup.fetched);
        let _ = std::fs::remove_file(&path);
    }

    /// The cache's two sides, without kept records.
    fn split(cache: RecordCache) -> (CacheLookup, CacheWriter) {
        cache.split(None).expect("split")
    }

    /// One build on the cache in `dir`: `used` looked up (as its inputs' lines), `added` appended as rendered.
    fn one_build(dir: &Path, kept: Option<KeptIndex>, used: &[&str], added: &[&str]) -> (Vec<bool>, KeptIndex) {
        let (mut lookup, mut writer) = split(RecordCache::open(dir, 7, kept).expect("opened"));
        let hits = used.iter().map(|line| matches!(lookup.get(line), Item::Cached { .. })).collect();
        for line in added {
            writer.add(xxh3_128(line.as_bytes()), format!("entry of {line}").as_bytes()).expect("added");
        }
        let (_, index) = writer.commit(lookup.into_index()).expect("committed");
        (hits, index)
    }

    #[test]
    fn the_next_index_is_the_entries_used_and_added_and_a_kept_one_is_what_was_written() {
        let dir = std::env::temp_dir().join(format!("taxii-edge-cache-index-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let hash = |line: &str| xxh3_128(line.as_bytes());
        let keys = |index: &KeptIndex| index.entries().into_iter().map(|(h, _)| h).collect::<Vec<_>>();
        let sorted_hashes = |lines: &[&str]| {
            let mut h: Vec<u128> = lines.iter().map(|l| hash(l)).collect();
            h.sort_unstable();
            h
        };
        // A line read twice and rendered twice keeps its first entry.
        let (_, first) = one_build(&dir, None, &[], &["a", "b", "a"]);
        assert_eq!(keys(&first), sorted_hashes(&["a", "b"]));
        let a_first = first.entries().into_iter().find(|(h, _)| *h == hash("a")).expect("a").1;
        assert_eq!(a_first.offset, 0);
        assert_eq!(Some(first.entries()), index_file_entries(&dir, 7), "the index kept is the one written");
        // The next build, from the kept index: "b" used (twice), "a" not, "c" added.
        let (hits, second) = one_build(&dir, Some(first), &["b", "b"], &["c"]);
        assert_eq!(hits, [true, true]);
        assert_eq!(keys(&second), sorted_hashes(&["b", "c"]));
        assert_eq!(second.generation, 1, "half the data was no longer used: written anew, and the kept slots with it");
        assert_eq!(Some(second.entries()), index_file_entries(&dir, 7));
        // A kept index is used without reading the index file...
        std::fs::remove_file(dir.join("index")).expect("removed");
        let (hits, third) = one_build(&dir, Some(second), &["b", "c"], &[]);
        assert_eq!(hits, [true, true], "the kept index held both");
        // ... but not once its data file changed, nor for another key.
        let data = data_path(&dir, third.generation);
        std::fs::OpenOptions::new().append(true).open(&data).expect("opened").write_all(b"x").expect("written");
        std::fs::remove_file(dir.join("index")).expect("removed");
        let (hits, fourth) = one_build(&dir, Some(third), &["b"], &[]);
        assert_eq!(hits, [false], "the file's index (none) was read instead");
        let (_, fifth) = one_build(&dir, Some(fourth), &[], &["d"]);
        assert_eq!(keys(&fifth), sorted_hashes(&["d"]));
        std::fs::remove_file(dir.join("index")).expect("removed");
        let other = KeptIndex { key: 8, ..fifth };
        assert!(RecordCache::open(&dir, 7, Some(other)).expect("opened").is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_entry_read_whole_that_cannot_be_decoded_is_reported_and_dropped_from_the_index() {
        let dir = std::env::temp_dir().join(format!("taxii-edge-cache-undecodable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // "entry of line" is whole (its checksum matches) but is not an entry `encode` wrote.
        let (_, first) = one_build(&dir, None, &[], &["line"]);
        let (mut lookup, mut writer) = split(RecordCache::open(&dir, 7, Some(first)).expect("opened"));
        let item = lookup.get("line");
        assert!(matches!(item, Item::Cached { .. }));
        let collections = crate::config::parse_collections(r#"{"All": ""}"#).expect("collections");
        let render = RenderOptions::default();
        let mut prepared = Prepared::new(&collections, &render, Timestamp(0));
        let bad =
            prepared.push_items("feed.jsonl", vec![(1, item)], &collections, &render, &mut writer).expect("pushed");
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].position, "feed.jsonl:1");
        assert!(bad[0].reason.contains("delete the cache directory"), "{}", bad[0].reason);
        let (_, index) = writer.commit(lookup.into_index()).expect("committed");
        assert!(index.entries().is_empty(), "the next build reads and renders the line again");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn entries_read_in_any_order_or_past_the_end_are_right_or_refused() {
        let (path, mut slots) = data_file("order", 300, 5000);
        let mut lookup = CacheLookup::new(Index::default(), File::open(&path).expect("opened"), 1);
        for i in (0..300).rev().chain(0..300).chain((0..300).step_by(7)) {
            assert_eq!(lookup.read(slots[i]), Some(vec![i as u8; 5000]), "entry {i}");
        }
        // A slot past the end of the file, and one whose checksum does not match, are misses.
        slots[299].offset += 10;
        assert_eq!(lookup.read(slots[299]), None);
        slots[0].checksum ^= 1;
        assert_eq!(lookup.read(slots[0]), None);
        assert_eq!(lookup.read(slots[1]), Some(vec![1; 5000]), "a miss leaves the lookup usable");
        let _ = std::fs::remove_file(&path);
    }
}
