//! Object versions across snapshots: how long superseded versions are kept ([`History`]), a collection's
//! records as the build sees them ([`Rec`]), the previous snapshot's records taken in, and each record's
//! visibility (superseded, not first, gone).

use super::key_hash::KeyIsHash;
use super::render_stage::Packed;
use crate::stix::Head;
use edge_core::snapshot::format::{PreviousCollection, ShardEntry, GONE, NOT_FIRST, SUPERSEDED};
use edge_core::time::Timestamp;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

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

/// A map keyed by an id's 64-bit hash.
pub(super) type ByIdHash<V> = HashMap<u64, V, BuildHasherDefault<KeyIsHash>>;

/// A map keyed by a record's 128-bit hash (taken as it is: it is a hash already).
pub(super) type ByRecordHash<V> = HashMap<u128, V, BuildHasherDefault<KeyIsHash>>;

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
    /// Its object's place among the current versions ([`Objects`]), or [`NO_OBJECT`] when the object is no
    /// longer in the collection.
    pub(super) object: u32,
}

/// [`Rec::object`] of a record whose object left the collection.
pub(super) const NO_OBJECT: u32 = u32::MAX;

/// An object's current version in a collection: its rendering, with its id hash, version and content hash beside
/// it, so that comparing it with a previous record reads this entry only, not the rendering (a million
/// renderings spread over a gigabyte: a cache miss each).
#[derive(Clone, Copy)]
pub(super) struct Current<'r> {
    pub packed: &'r Packed,
    pub h21: u64,
    pub version: i64,
    pub content: u32,
}

impl<'r> Current<'r> {
    pub fn of(packed: &'r Packed) -> Current<'r> {
        Current { packed, h21: packed.h21, version: packed.version.0, content: packed.content }
    }
}

/// A collection's objects: the current version of each (the newest when an id comes twice), sorted by id hash,
/// and which record is that version ([`NO_OBJECT`] until one is). Sorted lists walked side by side instead of
/// maps by id hash: at a million objects, each map lookup was a cache miss, and they were most of a
/// collection's build.
pub(super) struct Objects<'r> {
    pub current: Vec<Current<'r>>,
    pub live: Vec<u32>,
}

impl<'r> Objects<'r> {
    /// The current version of each object in `objects`; `Err` with both ids when two differ but share a hash.
    pub fn of(objects: &[&'r Packed]) -> Result<Objects<'r>, (String, String)> {
        // Each rendering is read once, here, in the order given; ties on the id hash keep that order.
        let mut given: Vec<(Current<'r>, u32)> = objects.iter().map(|&r| Current::of(r)).zip(0u32..).collect();
        given.sort_unstable_by_key(|(c, i)| (c.h21, *i));
        let mut current = Vec::with_capacity(given.len());
        for group in given.chunk_by(|a, b| a.0.h21 == b.0.h21) {
            let mut newest = group[0].0;
            for &(c, _) in &group[1..] {
                let (r, n) = (c.packed, newest.packed);
                if r.id21() != n.id21() {
                    return Err((n.id21().to_string(), r.id21().to_string()));
                }
                // Of equal versions, the first given stays.
                if (r.version, r.json21()) > (n.version, n.json21()) {
                    newest = c;
                }
            }
            current.push(newest);
        }
        let live = vec![NO_OBJECT; current.len()];
        Ok(Objects { current, live })
    }
}

/// The previous snapshot's records in id hash order (id hash, place): what [`add_previous`] walks beside the
/// objects. A sort of up to a million entries, made while [`Objects::of`] sorts the objects.
pub(super) fn hash_order(p: &PreviousCollection) -> Vec<(u64, u32)> {
    let mut by_hash: Vec<(u64, u32)> = p.records.iter().zip(0u32..).map(|(e, i)| (e.h21, i)).collect();
    by_hash.sort_unstable();
    by_hash
}

/// Puts the previous snapshot's records first in `recs`, each with its object (when still in the collection)
/// and its bytes when it is the version `objects` holds, with the same content (that record is then the
/// object's live one). `by_hash` is the records' [`hash_order`].
pub(super) fn add_previous<'r>(
    recs: &mut Vec<Rec<'r>>,
    objects: &mut Objects<'r>,
    p: &PreviousCollection,
    by_hash: Vec<(u64, u32)>,
) {
    // Each previous record's object, found by walking the records in id hash order beside the objects.
    let mut object = vec![NO_OBJECT; p.records.len()];
    let mut k = 0;
    for &(h, i) in &by_hash {
        while objects.current.get(k).is_some_and(|c| c.h21 < h) {
            k += 1;
        }
        if objects.current.get(k).is_some_and(|c| c.h21 == h) {
            object[i as usize] = k as u32;
        }
    }
    drop(by_hash);
    for (i, (e, &flags)) in p.records.iter().zip(&p.flags).enumerate() {
        let at = recs.len();
        let mut body = None;
        if let Some(c) = objects.current.get(object[i] as usize) {
            if flags & GONE == 0 && c.version == e.v && c.content == e.content {
                body = Some(c.packed);
                objects.live[object[i] as usize] = at as u32;
            }
        }
        let in_delta = p.in_delta.get(i).copied().unwrap_or(false);
        recs.push(Rec { e: *e, body, flags, new: false, in_delta, was: e.streams, object: object[i] });
    }
}

/// Sets each record's visibility: records of objects no longer in the collection are gone; of an object's other
/// versions, those not older than its current one, and those superseded longer ago than `keep`, are gone; of
/// the rest, all but the newest are superseded and all but the oldest are not first.
pub(super) fn set_flags(recs: &mut [Rec<'_>], live: &[u32], now: Timestamp, keep: History) {
    // How many records still in play each object has: most have one, their live version, which needs no flags.
    let mut versions = vec![0u32; live.len()];
    for r in recs.iter_mut() {
        if r.flags & GONE != 0 {
            continue;
        }
        r.flags = 0;
        if r.object != NO_OBJECT {
            versions[r.object as usize] += 1;
        } else {
            r.flags = GONE;
        }
    }
    // The records of the objects with more, grouped by object (sorting these few is far cheaper than a map of
    // lists, or a sort of every record, at a million).
    let mut order: Vec<(u32, u32)> = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.flags & GONE == 0 && r.object != NO_OBJECT && versions[r.object as usize] > 1)
        .map(|(i, r)| (r.object, i as u32))
        .collect();
    drop(versions);
    order.sort_unstable();
    let mut list: Vec<usize> = Vec::new();
    for group in order.chunk_by(|a, b| a.0 == b.0) {
        let cur = live[group[0].0 as usize] as usize;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stix::Rendered;

    fn packed(id: &str, version: i64, json: &str) -> Packed {
        let r = Rendered {
            id21: id.into(),
            type21: "ipv4-addr".into(),
            json21: json.into(),
            id20: id.into(),
            type20: "ipv4-addr".into(),
            json20: json.into(),
            version: Timestamp(version),
        };
        Packed::from(&r)
    }

    #[test]
    fn the_newest_version_of_each_object_is_current_and_the_first_given_wins_a_tie() {
        let a1 = packed("ipv4-addr--a", 1, "{\"v\":1}");
        let a2 = packed("ipv4-addr--a", 2, "{\"v\":2}");
        let b = packed("ipv4-addr--b", 5, "{\"b\":1}");
        let b_again = packed("ipv4-addr--b", 5, "{\"b\":1}");
        let objects = Objects::of(&[&a2, &b, &a1, &b_again]).expect("no collision");
        assert_eq!(objects.current.len(), 2);
        assert!(objects.current.windows(2).all(|w| w[0].h21 < w[1].h21), "sorted by id hash");
        let of = |h: u64| objects.current.iter().find(|c| c.h21 == h).expect("listed").packed;
        assert!(std::ptr::eq(of(a1.h21), &a2), "the later version is current, given first or not");
        assert!(std::ptr::eq(of(b.h21), &b), "of two equal versions, the first given stays");
        assert!(objects.live.iter().all(|&l| l == NO_OBJECT), "no record is live before the join");
    }

    #[test]
    fn two_ids_with_one_hash_are_refused() {
        let a = packed("ipv4-addr--a", 1, "{}");
        let mut twin = packed("ipv4-addr--z", 1, "{}");
        twin.h21 = a.h21;
        assert_eq!(Objects::of(&[&a, &twin]).err(), Some(("ipv4-addr--a".to_string(), "ipv4-addr--z".to_string())));
    }

    #[test]
    fn previous_records_are_joined_to_their_objects_by_id_hash() {
        let a = packed("ipv4-addr--a", 2, "{\"v\":2}");
        let b = packed("ipv4-addr--b", 1, "{}");
        let mut objects = Objects::of(&[&a, &b]).expect("no collision");
        let entry = |p: &Packed, v: i64, content: u32, d: i64| ShardEntry {
            h21: p.h21,
            h20: None,
            d,
            v,
            content,
            ty: 0,
            streams: 3,
        };
        let gone_object = packed("ipv4-addr--gone", 1, "{}");
        let previous = PreviousCollection {
            index: Default::default(),
            // a's old version, a's current one, b's current one already gone, an object no longer given.
            records: vec![
                entry(&a, 1, 7, 10),
                entry(&a, 2, a.content, 20),
                entry(&b, 1, b.content, 30),
                entry(&gone_object, 1, gone_object.content, 40),
            ],
            in_delta: vec![false, true, false, false],
            flags: vec![0, 0, GONE, 0],
        };
        let mut recs = Vec::new();
        add_previous(&mut recs, &mut objects, &previous, hash_order(&previous));
        let k = |p: &Packed| objects.current.iter().position(|c| c.h21 == p.h21).expect("listed") as u32;
        let got: Vec<(u32, bool, bool)> = recs.iter().map(|r| (r.object, r.body.is_some(), r.in_delta)).collect();
        assert_eq!(got, [(k(&a), false, false), (k(&a), true, true), (k(&b), false, false), (NO_OBJECT, false, false)]);
        assert_eq!(objects.live[k(&a) as usize], 1, "a's live record is its current version");
        assert_eq!(objects.live[k(&b) as usize], NO_OBJECT, "b's gone record is not live: b is new again");
        set_flags(&mut recs, &objects.live, Timestamp(50), History::days(30));
        let flags: Vec<u8> = recs.iter().map(|r| r.flags).collect();
        assert_eq!(flags, [SUPERSEDED, NOT_FIRST, GONE, GONE]);
    }
}
