//! Object versions across snapshots: how long superseded versions are kept ([`History`]), a collection's
//! records as the build sees them ([`Rec`]), the previous snapshot's records taken in, and each record's
//! visibility (superseded, not first, gone).

use super::render_stage::Packed;
use edge_core::snapshot::format::{PreviousCollection, ShardEntry, GONE, NOT_FIRST, SUPERSEDED};
use edge_core::time::Timestamp;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// How long superseded versions are kept.
#[derive(Clone, Copy, Debug)]
pub struct History {
    /// Microseconds after its successor was added that a superseded version is dropped; 0 keeps none.
    pub keep_micros: i64,
}

impl History {
    pub fn days(days: u32) -> History {
        History { keep_micros: i64::from(days) * 86_400_000_000 }
    }
}

/// Superseded versions are kept this many days by default.
pub const DEFAULT_KEEP_VERSIONS_DAYS: u32 = 30;

/// Hashes a key that is already a hash (an id's 64-bit xxh3, a record's 128-bit one) by taking it as it is:
/// the build's maps by such hashes hold a million entries, and hashing their keys again with SipHash was a
/// visible share of a build.
#[derive(Default)]
pub(super) struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the maps below; any other key is folded in, still correct.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64 ^ (n >> 64) as u64;
    }
}

/// A map keyed by an id's 64-bit hash.
pub(super) type ByIdHash<V> = HashMap<u64, V, BuildHasherDefault<KeyIsHash>>;

/// One record of a collection as this build sees it: from the previous snapshot or new.
pub(super) struct Rec<'r> {
    pub(super) e: ShardEntry,
    /// The bytes, when the record is a live version rendered now (old records otherwise have none here).
    pub(super) body: Option<&'r Packed>,
    pub(super) flags: u8,
    pub(super) new: bool,
    pub(super) in_delta: bool,
    /// The streams bits the previous snapshot's id shards gave it.
    pub(super) was: u8,
}

/// An object's current version in a collection: its rendering, with its version and content hash beside it, so
/// that comparing it with a previous record reads the map's entry only, not the rendering (a million renderings
/// spread over a gigabyte: a cache miss each).
#[derive(Clone, Copy)]
pub(super) struct Current<'r> {
    pub packed: &'r Packed,
    pub version: i64,
    pub content: u32,
}

impl<'r> Current<'r> {
    pub fn of(packed: &'r Packed) -> Current<'r> {
        Current { packed, version: packed.version.0, content: packed.content }
    }
}

/// Puts the previous snapshot's records first in `recs`, each with its bytes (and in `live`) when it is the
/// version `current` holds, with the same content.
pub(super) fn add_previous<'r>(
    recs: &mut Vec<Rec<'r>>,
    live: &mut ByIdHash<usize>,
    current: &ByIdHash<Current<'r>>,
    p: &PreviousCollection,
) {
    for (e, &flags) in p.records.iter().zip(&p.flags) {
        let i = recs.len();
        let mut body = None;
        if let Some(c) = current.get(&e.h21) {
            if flags & GONE == 0 && c.version == e.v && c.content == e.content {
                body = Some(c.packed);
                live.insert(e.h21, i);
            }
        }
        let in_delta = p.in_delta.get(i).copied().unwrap_or(false);
        recs.push(Rec { e: *e, body, flags, new: false, in_delta, was: e.streams });
    }
}

/// Sets each record's visibility: records of objects no longer in the collection are gone; of an object's other
/// versions, those not older than its current one, and those superseded longer ago than `keep`, are gone; of
/// the rest, all but the newest are superseded and all but the oldest are not first.
pub(super) fn set_flags(recs: &mut [Rec<'_>], live: &ByIdHash<usize>, now: Timestamp, keep: History) {
    // The records still in play, grouped by object (sorting is far cheaper than a map of lists at a million).
    let mut order: Vec<(u64, u32)> = Vec::with_capacity(recs.len());
    for (i, r) in recs.iter_mut().enumerate() {
        if r.flags & GONE != 0 {
            continue;
        }
        r.flags = 0;
        if live.contains_key(&r.e.h21) {
            order.push((r.e.h21, i as u32));
        } else {
            r.flags = GONE;
        }
    }
    order.sort_unstable();
    let mut list: Vec<usize> = Vec::new();
    for group in order.chunk_by(|a, b| a.0 == b.0) {
        if group.len() == 1 {
            continue; // the live version alone: no flags
        }
        let cur = live[&group[0].0];
        let cur_v = recs[cur].e.v;
        list.clear();
        for &(_, i) in group {
            let i = i as usize;
            if i != cur && recs[i].e.v >= cur_v {
                recs[i].flags = GONE;
            } else {
                list.push(i);
            }
        }
        list.sort_by_key(|&i| (recs[i].e.v, recs[i].e.d));
        // Superseded when the next version was added, dropped once that is older than `keep`.
        for w in (0..list.len().saturating_sub(1)).rev() {
            let successor_added = recs[list[w + 1]].e.d;
            if keep.keep_micros == 0 || now.0.saturating_sub(successor_added) > keep.keep_micros {
                for &i in &list[..=w] {
                    recs[i].flags = GONE;
                }
                list.drain(..=w);
                break;
            }
        }
        let n = list.len();
        for (k, &i) in list.iter().enumerate() {
            let mut f = 0;
            if k + 1 < n {
                f |= SUPERSEDED;
            }
            if k > 0 {
                f |= NOT_FIRST;
            }
            recs[i].flags = f;
        }
    }
}
