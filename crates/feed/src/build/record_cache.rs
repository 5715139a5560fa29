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

use super::render_stage::{Packed, Prepared, Rendering};
use super::versions::ByRecordHash;
use super::warm::{Kept, WarmRecords};
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

/// Where an entry is in the data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    offset: u64,
    len: u32,
    checksum: u64,
}

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
    index: ByRecordHash<Slot>,
    data_len: u64,
}

impl RecordCache {
    /// Opens (or creates) the cache in `dir` for a build under `key`. An index that is missing, unreadable or
    /// of another key starts an empty cache.
    pub fn open(dir: &Path, key: u128) -> Result<RecordCache, CacheError> {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        let mut cache =
            RecordCache { dir: dir.to_path_buf(), key, generation: 0, index: ByRecordHash::default(), data_len: 0 };
        if let Some((generation, data_len, index)) = read_index(&dir.join("index"), key) {
            cache.generation = generation;
            cache.data_len = data_len;
            cache.index = index;
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

    /// The lookup side (for the thread that reads the inputs) and the writing side (for the one that renders).
    pub fn split(self) -> Result<(CacheLookup, CacheWriter), CacheError> {
        let path = data_path(&self.dir, self.generation);
        let read = File::open(&path).map_err(io_at(&path))?;
        let append = std::fs::OpenOptions::new().append(true).open(&path).map_err(io_at(&path))?;
        let lookup = CacheLookup::new(self.index, read);
        let writer = CacheWriter {
            dir: self.dir,
            key: self.key,
            generation: self.generation,
            data: BufWriter::with_capacity(1 << 20, append),
            data_len: self.data_len,
            live: Vec::new(),
            hits: 0,
            kept: 0,
            misses: 0,
        };
        Ok((lookup, writer))
    }
}

/// Reads the index: its generation, the data length it covers and its entries; `None` when it is missing,
/// damaged or of another key.
fn read_index(path: &Path, key: u128) -> Option<(u64, u64, ByRecordHash<Slot>)> {
    let bytes = std::fs::read(path).ok()?;
    let mut r = Bytes(&bytes);
    if r.take(MAGIC.len())? != MAGIC || r.u128()? != key {
        return None;
    }
    let (generation, data_len, count) = (r.u64()?, r.u64()?, r.u64()?);
    let mut index =
        ByRecordHash::with_capacity_and_hasher(usize::try_from(count).ok()?.min(bytes.len() / 36), Default::default());
    for _ in 0..count {
        let hash = r.u128()?;
        let slot = Slot { offset: r.u64()?, len: r.u32()?, checksum: r.u64()? };
        if slot.offset + u64::from(slot.len) > data_len {
            return None;
        }
        index.insert(hash, slot);
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
    index: ByRecordHash<Slot>,
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
    /// The last build's prepared records, when a long-running sync kept them (see [`super::Warm`]).
    warm: Option<WarmRecords>,
}

/// How much of the data file a window holds.
const WINDOW: usize = 1 << 20;
/// How far past the window an entry may start and still be read by moving the window on to it (entries of
/// records no longer read lie between those that are).
const GAP: u64 = 1 << 16;

impl CacheLookup {
    fn new(index: ByRecordHash<Slot>, data: File) -> CacheLookup {
        CacheLookup { index, data, at: 0, window: Vec::new(), window_at: 0, last_end: 0, fetched: 0, warm: None }
    }

    /// Takes the prepared records of the cache's lines from `warm` instead of reading their entries.
    pub fn with_warm(mut self, warm: Option<WarmRecords>) -> CacheLookup {
        self.warm = warm;
        self
    }

    /// The entry of the record whose bytes are `line`, when the cache has it whole (or its prepared record, when
    /// one was kept).
    pub fn get(&mut self, line: &str) -> Item {
        let hash = xxh3_128(line.as_bytes());
        if let Some(&slot) = self.index.get(&hash) {
            if let Some(kept) = self.warm.as_mut().and_then(|w| w.take(hash)) {
                return Item::Kept { hash, slot, kept };
            }
            if let Some(entry) = self.read(slot) {
                return Item::Cached { hash, slot, entry };
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
        slot: Slot,
        entry: Vec<u8>,
    },
    /// A record the last build of a long-running sync prepared (its cache entry is at `slot`).
    Kept {
        hash: u128,
        slot: Slot,
        kept: Box<Kept>,
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

/// Where a build puts what it rendered, and which entries it used; [`CacheWriter::commit`] makes that the index.
pub struct CacheWriter {
    dir: PathBuf,
    key: u128,
    generation: u64,
    data: BufWriter<File>,
    data_len: u64,
    live: Vec<(u128, Slot)>,
    hits: usize,
    kept: usize,
    misses: usize,
}

impl CacheWriter {
    /// A record whose cached entry this build used.
    fn reuse(&mut self, hash: u128, slot: Slot) {
        self.live.push((hash, slot));
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
        self.live.push((hash, slot));
        self.misses += 1;
        Ok(())
    }

    /// Makes the entries this build used the cache's index (writing the data anew first when half of it or
    /// less is in use).
    pub fn commit(mut self) -> Result<CacheStats, CacheError> {
        let stats = CacheStats { hits: self.hits, kept: self.kept, misses: self.misses };
        let old = data_path(&self.dir, self.generation);
        self.data.flush().map_err(io_at(&old))?;
        // A record that came twice is kept once; then the entries in the order they sit in the data.
        self.live.sort_unstable_by_key(|&(h, s)| (h, s.offset));
        self.live.dedup_by_key(|&mut (h, _)| h);
        let live_bytes: u64 = self.live.iter().map(|(_, s)| u64::from(s.len)).sum();
        self.live.sort_unstable_by_key(|&(_, s)| s.offset);
        if self.data_len > 0 && live_bytes * 2 <= self.data_len {
            self.compact(&old)?;
        }
        let mut index = Vec::with_capacity(MAGIC.len() + 40 + self.live.len() * 36);
        index.extend_from_slice(MAGIC);
        index.extend_from_slice(&self.key.to_le_bytes());
        for n in [self.generation, self.data_len, self.live.len() as u64] {
            index.extend_from_slice(&n.to_le_bytes());
        }
        for (hash, slot) in &self.live {
            index.extend_from_slice(&hash.to_le_bytes());
            index.extend_from_slice(&slot.offset.to_le_bytes());
            index.extend_from_slice(&slot.len.to_le_bytes());
            index.extend_from_slice(&slot.checksum.to_le_bytes());
        }
        let sum = xxh3_64(&index);
        index.extend_from_slice(&sum.to_le_bytes());
        let (tmp, path) = (self.dir.join("index.tmp"), self.dir.join("index"));
        std::fs::write(&tmp, &index).map_err(io_at(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_at(&path))?;
        // Data files of other generations are no longer named by the index.
        let current = data_path(&self.dir, self.generation);
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with("data-") && entry.path() != current {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(stats)
    }

    /// Copies the entries in use into the next generation's data file, in the order they sit in the old one.
    fn compact(&mut self, old: &Path) -> Result<(), CacheError> {
        let next = data_path(&self.dir, self.generation + 1);
        let mut from = BufReader::with_capacity(1 << 20, File::open(old).map_err(io_at(old))?);
        let mut to = BufWriter::with_capacity(1 << 20, File::create(&next).map_err(io_at(&next))?);
        let (mut at, mut len) = (0u64, 0u64);
        let mut entry = Vec::new();
        for (_, slot) in &mut self.live {
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
                (Item::Cached { hash, slot, .. }, Done::Cached(ind, r)) => {
                    cache.reuse(hash, slot);
                    self.append_slim(ind, r, Some(hash));
                }
                (Item::Kept { hash, slot, kept }, Done::Kept) => {
                    cache.reuse(hash, slot);
                    cache.kept += 1;
                    self.append_slim(kept.indicator, kept.rendering, Some(hash));
                }
                (Item::Line { hash, .. }, Done::Fresh(ind, r, entry)) => {
                    cache.add(hash, &entry)?;
                    self.append_slim(ind, r, Some(hash));
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
        let mut lookup = CacheLookup::new(ByRecordHash::default(), File::open(&path).expect("opened"));
        let order: Vec<usize> = (0..1000).flat_map(|k| [3 * k, 3 * k + 1, 3 * k + 2, 3000 + k]).collect();
        for &i in &order {
            assert_eq!(lookup.read(slots[i]), Some(vec![i as u8; 1024]), "entry {i}");
        }
        // Before, each jump between the runs refilled a 1 MB buffer: about 2 GB read for these 4 MB.
        let data = 4000 * 1024;
        assert!(lookup.fetched <= data + 2 * WINDOW as u64, "{} bytes read for {data}", lookup.fetched);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn entries_read_in_any_order_or_past_the_end_are_right_or_refused() {
        let (path, mut slots) = data_file("order", 300, 5000);
        let mut lookup = CacheLookup::new(ByRecordHash::default(), File::open(&path).expect("opened"));
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
