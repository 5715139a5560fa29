//! What a long-running sync keeps in memory from one build to the next ([`Warm`]): the prepared records of the
//! last build, with where each is by the hash of its input line, so that the next build takes each unchanged
//! record as it is instead of reading its entry from the record cache and decoding it again (at a million
//! records, that read was a quarter of a cycle where 1% changed).
//!
//! It also keeps the snapshot the last build made as a build on it reads it back (its collections' indexes and
//! records, [`crate::snapshot_dir::previous_state`]), so that the next build, when the worker still serves that
//! snapshot, does not read and decode its index and id shards again.
//!
//! And it keeps the TIP relationships the last build made (see [`super::relationships`]), so that the next
//! build makes only those of records that changed, and the record cache's index as the last build wrote it
//! ([`KeptIndex`]), so that the next build does not read it back.
//!
//! The records stay where the last build put them ([`Prepared`]'s lists): the next build moves each one it takes
//! from there into its own lists. Only the map from line hash to place is made for the next build, by a thread
//! of its own while the cycle uploads, switches and waits for its next turn. (Moving each record into a box of
//! its own in a map instead took a core for about a second, while the uploads that end a cycle wanted it.)
//!
//! The records are the record cache's in another form: they belong to one cache key ([`super::cache_key`]) and
//! are used only for lines the cache's index holds, so what a build makes with them is what it makes with the
//! cache alone (the cache's index and data are kept up to date the same way).

use super::cache_index::KeptIndex;
use super::render_stage::{MadeRelationships, Prepared};
use super::versions::ByRecordHash;
use edge_core::snapshot::format::Dates;

/// What a long-running sync keeps between its builds (empty at first).
#[derive(Default)]
pub struct Warm {
    /// The last build's records.
    records: Option<Records>,
    /// The last build's snapshot id and its state.
    previous: Option<(String, Dates)>,
    /// The record cache's index as the last build wrote it.
    index: Option<KeptIndex>,
}

/// The last build's records: their places being mapped by a thread of their own, or mapped.
enum Records {
    Making(std::thread::JoinHandle<WarmRecords>),
    Made(WarmRecords),
}

impl Warm {
    /// How many prepared records are kept (waiting for them to be in their map).
    #[cfg(test)]
    fn records(&mut self) -> usize {
        self.made().map_or(0, |r| r.places.0.len())
    }

    /// Takes the kept records when they were made under `key` (else drops them: the configuration changed).
    pub fn take_records(&mut self, key: u128) -> Option<WarmRecords> {
        self.made();
        match self.records.take() {
            Some(Records::Made(records)) if records.key == key => Some(records),
            _ => None,
        }
    }

    /// The kept records once they are in their map (none if the thread that made it panicked).
    fn made(&mut self) -> Option<&mut WarmRecords> {
        if let Some(Records::Making(_)) = self.records {
            let Some(Records::Making(making)) = self.records.take() else { unreachable!("checked above") };
            self.records = making.join().ok().map(Records::Made);
        }
        match &mut self.records {
            Some(Records::Made(records)) => Some(records),
            _ => None,
        }
    }

    /// The record cache's index the last build wrote (for [`super::RecordCache::open`], which uses it only
    /// when it is the index of the cache it opens).
    pub fn take_index(&mut self) -> Option<KeptIndex> {
        self.index.take()
    }

    /// Keeps the record cache's index a build wrote ([`super::CacheWriter::commit`]).
    pub fn keep_index(&mut self, index: KeptIndex) {
        self.index = Some(index);
    }

    /// The state of snapshot `snapshot`, when it is the one the last build made (else it is dropped).
    pub fn take_previous(&mut self, snapshot: &str) -> Option<Dates> {
        self.previous.take().filter(|(id, _)| id == snapshot).map(|(_, dates)| dates)
    }

    /// Keeps the state of the snapshot `snapshot` a build made ([`super::Built::state`]).
    pub fn keep_previous(&mut self, snapshot: String, state: Dates) {
        self.previous = Some((snapshot, state));
    }

    /// Keeps the records of `prepared` that came from lines of XSOAR JSON lines inputs, under `key`.
    pub fn keep_records(&mut self, mut prepared: Prepared, key: u128) {
        let making = std::thread::spawn(move || {
            let relationships = prepared.take_made_relationships();
            let places = KeptPlaces::of(&prepared);
            WarmRecords { key, places, records: KeptRecords(Box::new(prepared)), relationships }
        });
        self.records = Some(Records::Making(making));
    }
}

/// Prepared records of the last build, and where each is by the hash of its input line.
pub struct WarmRecords {
    key: u128,
    places: KeptPlaces,
    records: KeptRecords,
    /// The TIP relationships it made, by what they are made of.
    relationships: MadeRelationships,
}

impl WarmRecords {
    /// The TIP relationships the last build made (for [`Prepared::reuse_relationships`]).
    pub fn take_relationships(&mut self) -> MadeRelationships {
        std::mem::take(&mut self.relationships)
    }

    /// Where each line's record is (for the thread that looks the lines up) and the records (for the one that
    /// takes them). The records have the shape of this build's (the same collections and variants): their key
    /// ([`Warm::take_records`]) is the cache's, which is made of those.
    pub(super) fn split(self) -> (KeptPlaces, KeptRecords) {
        (self.places, self.records)
    }
}

/// Where each kept record is among [`KeptRecords`], by the hash of its input line.
pub(super) struct KeptPlaces(ByRecordHash<u32>);

impl KeptPlaces {
    /// The places of the records of `prepared` that came from input lines (a line that came twice: its last).
    fn of(prepared: &Prepared) -> KeptPlaces {
        let mut places = ByRecordHash::with_capacity_and_hasher(prepared.lines.len(), Default::default());
        for (at, line) in (0u32..).zip(&prepared.lines) {
            if let Some(hash) = line {
                places.insert(*hash, at);
            }
        }
        KeptPlaces(places)
    }

    /// The place of the record of the line with this hash, taken out (a line that comes twice is read from the
    /// cache the second time).
    pub(super) fn take(&mut self, hash: u128) -> Option<u32> {
        self.0.remove(&hash)
    }
}

/// The last build's prepared records, each taken out once ([`Prepared::append_taken`]).
pub(super) struct KeptRecords(pub(super) Box<Prepared>);

#[cfg(test)]
mod tests {
    use super::super::record_cache::{cache_key, index_file_entries, RecordCache};
    use super::super::{build_prepared, History};
    use super::*;
    use crate::config::parse_collections;
    use crate::generate::{generate, Format, Options};
    use crate::stix::RenderOptions;
    use edge_core::time::Timestamp;
    use std::collections::{BTreeMap, HashMap};

    const NOW: Timestamp = Timestamp(1_767_225_600_000_000);

    const COLLECTIONS: &str = r#"{"All": "", "Bad": "score:>=2", "Network": "type:IP or type:Domain or type:URL",
        "Tagged": "tags:ransomware or tags:apt28"}"#;

    /// Generated XSOAR records of every type, with relationships between them, as JSON lines.
    fn generated(count: u64) -> Vec<String> {
        let mut text = Vec::new();
        generate(&Options { count, seed: 11, now: NOW, format: Format::Jsonl }, &mut text).expect("generated");
        String::from_utf8(text).expect("UTF-8").lines().map(String::from).collect()
    }

    /// The line with a later `modified`.
    fn changed(line: &str) -> String {
        let at = line.find(r#""modified":""#).expect("a modified field") + 12;
        format!("{}2026-01-01T00:00:00Z{}", &line[..at], &line[at + line[at..].find('"').expect("closed")..])
    }

    /// Prepares `lines` with the record cache in `dir` (and what `warm` kept), as `build --cache` does, and
    /// builds the snapshot in memory; keeps what it prepared and made in `warm` when one is given.
    fn cycle(dir: &std::path::Path, lines: &[String], warm: Option<&mut Warm>) -> (BTreeMap<String, Vec<u8>>, usize) {
        let collections = parse_collections(COLLECTIONS).expect("collections");
        let render = RenderOptions::default();
        let key = cache_key(&collections, &render, NOW, b"test");
        let mut warm = warm;
        let index = warm.as_deref_mut().and_then(Warm::take_index);
        let mut kept = warm.as_deref_mut().and_then(|w| w.take_records(key));
        let mut prepared = Prepared::new(&collections, &render, NOW);
        if let Some(kept) = kept.as_mut() {
            prepared.reuse_relationships(kept.take_relationships());
        }
        let cache = RecordCache::open(dir, key, index).expect("opened");
        let (mut lookup, mut writer) = cache.split(kept).expect("split");
        let items = lines.iter().enumerate().map(|(n, l)| (n + 1, lookup.get(l))).collect();
        let bad = prepared.push_items("feed.jsonl", items, &collections, &render, &mut writer).expect("pushed");
        assert!(bad.is_empty(), "{bad:?}");
        let (stats, index) = writer.commit(lookup.into_index()).expect("committed");
        if let Some(warm) = warm.as_deref_mut() {
            assert_eq!(Some(index.entries()), index_file_entries(dir, key), "the index kept is the one written");
            warm.keep_index(index);
        }
        let mut blobs = BTreeMap::new();
        let keep = (History::days(30), warm.is_some());
        build_prepared(&prepared, &collections, &render, HashMap::new(), keep, &mut blobs, &mut |_| Ok(()))
            .expect("built");
        if let Some(warm) = warm {
            warm.keep_records(prepared, key);
        }
        (blobs, stats.kept)
    }

    #[test]
    fn what_a_sync_kept_in_memory_builds_the_same_snapshot_and_a_changed_line_is_read_again() {
        let dir = std::env::temp_dir().join(format!("taxii-edge-warm-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = generated(1500);
        let mut warm = Warm::default();
        let (_, kept) = cycle(&dir.join("warm"), &first, Some(&mut warm));
        assert_eq!((kept, warm.records()), (0, 1500), "the first build keeps every record");
        let relationships = warm.made().map_or(0, |r| r.relationships.len());
        assert!(relationships > 100, "and the TIP relationships it made: {relationships}");
        // Every 10th record changed (the ends of some relationships among them), one line gone, one new.
        let mut second: Vec<String> =
            first.iter().enumerate().map(|(i, l)| if i % 10 == 0 { changed(l) } else { l.clone() }).collect();
        second.remove(7);
        second.push(generated(1501).pop().expect("one more"));
        let (with_warm, kept) = cycle(&dir.join("warm"), &second, Some(&mut warm));
        assert_eq!(kept, 1500 - 150 - 1, "the unchanged lines come from memory, the changed, gone and new do not");
        assert_eq!(warm.records(), 1500, "the second build's records are kept in their place");
        // The same lines through a record cache alone (the first build's, then this one), and with none.
        let _ = cycle(&dir.join("cold"), &first, None);
        let (with_cache, kept) = cycle(&dir.join("cold"), &second, None);
        assert_eq!(kept, 0);
        let (fresh, _) = cycle(&dir.join("fresh"), &second, None);
        assert_eq!(with_warm, with_cache, "the same blobs, byte for byte");
        // The warm cache's index, kept in memory since the first build, is what the cold one read from its file
        // and wrote: the changed and new lines added, the gone one dropped.
        let key =
            cache_key(&parse_collections(COLLECTIONS).expect("collections"), &RenderOptions::default(), NOW, b"test");
        let warm_index = warm.index.as_ref().map(KeptIndex::entries);
        assert_eq!(warm_index.as_ref().map(Vec::len), Some(1500));
        assert_eq!(warm_index, index_file_entries(&dir.join("cold"), key));
        assert_eq!(with_warm, fresh);
        // The second build kept the relationships it took from the first's beside those it made, and only
        // those (the ones of changed lines are gone): what a first build of its lines keeps. So a third build of
        // the same lines takes every one from memory.
        let after_second = warm.made().map_or(0, |r| r.relationships.len());
        let mut once = Warm::default();
        let _ = cycle(&dir.join("once"), &second, Some(&mut once));
        assert_eq!(after_second, once.made().map_or(0, |r| r.relationships.len()));
        let (third, _) = cycle(&dir.join("warm"), &second, Some(&mut warm));
        assert_eq!(third, fresh);
        assert_eq!(warm.made().map_or(0, |r| r.relationships.len()), after_second);
        // A build under another key (another configuration or program) does not take them.
        assert!(warm.take_records(1).is_none());
        assert_eq!(warm.records(), 0, "records of another key are dropped");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
