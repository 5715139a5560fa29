//! Each collection's extras ([`packed_extras`]), with the TIP relationships made once per build
//! ([`TipRelationships`]): a relationship between two indicators is the same object in every collection of one
//! rendering variant that holds both, so it is made once, on every core, and each collection takes it from
//! there. A collection makes its own only when its first member with the target value is not the first
//! indicator with it (the same value twice, the first of them not in the collection).

use super::render_stage::{KeptRelationships, MadeRelationships, Packed, Prepared, RelationshipKey};
use crate::indicator::Indicator;
use crate::pool::par_map;
use crate::stix::extras::RelationshipMaker;
use crate::stix::markings::Tlp;
use crate::stix::{self, Head, RenderOptions};
use std::borrow::Cow;
use std::collections::HashSet;
use xxhash_rust::xxh3::xxh3_64;

/// Indicators whose relationships one thread makes at a time.
const CHUNK: usize = 1024;

/// What is known of the TIP relationships once for all collections (those taken from an earlier build's are
/// borrowed from the prepared records).
pub(super) struct TipRelationships<'p> {
    /// Each indicator's TLP level.
    tlps: Vec<Option<Tlp>>,
    /// Indicator `i`'s relationships are `(i, k)` for `k` below its count; `at[i]` is the first one's position
    /// in the lists below (`at` has one more entry than there are indicators).
    at: Vec<u32>,
    /// The indicators whose value is each relationship's target value, ascending: `targets[from[r]..from[r + 1]]`.
    from: Vec<u32>,
    targets: Vec<u32>,
    /// For each variant, each relationship made to the first indicator with its target value, when a collection
    /// of that variant holds both (an index into `made`, or `NONE`).
    first: Vec<Vec<u32>>,
    made: Vec<Cow<'p, Packed>>,
    /// What each of `made` is made of, when they are kept for the next build ([`TipRelationships::into_made`]).
    keys: Vec<Option<RelationshipKey>>,
}

const NONE: u32 = u32::MAX;

/// A relationship of the build's: its position, what it is made of, and the object (taken from an earlier
/// build's, or made).
type Made<'p> = (usize, Option<RelationshipKey>, Cow<'p, Packed>);

impl<'p> TipRelationships<'p> {
    /// Works out the targets of every indicator's relationships and makes, in each variant, those that a
    /// collection of the variant serves to the first indicator with the target value.
    /// With `keep_made`, what each relationship made is made of is kept, for [`TipRelationships::into_made`].
    pub(super) fn new(prepared: &'p Prepared, keep_made: bool) -> TipRelationships<'p> {
        let indicators = &prepared.indicators;
        let tlps = par_map(indicators, |m| stix::render::tlp_of(m).ok().flatten());
        let mut at = Vec::with_capacity(indicators.len() + 1);
        at.push(0u32);
        let mut n = 0usize;
        for m in indicators {
            n += m.relationships.len();
            at.push(u32::try_from(n).expect("fewer than 4 billion relationships"));
        }
        let (from, targets) = if n == 0 { (vec![0], Vec::new()) } else { targets_by_value(indicators) };
        let mut tip =
            TipRelationships { tlps, at, from, targets, first: Vec::new(), made: Vec::new(), keys: Vec::new() };
        if n > 0 {
            tip.make_shared(prepared, keep_made);
        }
        tip
    }

    /// Makes, for each variant, the relationships a collection of it serves to the first indicator with the
    /// target value.
    /// With `keep_made`, what each is made of is kept beside it (see [`TipRelationships::into_made`]).
    fn make_shared(&mut self, prepared: &'p Prepared, keep_made: bool) {
        let (indicators, words) = (&prepared.indicators, prepared.words);
        let variants = &prepared.variants;
        let relationships = *self.at.last().expect("one more entry than indicators") as usize;
        let sources: Vec<usize> = (0..indicators.len()).filter(|&i| self.at[i] < self.at[i + 1]).collect();
        let chunks: Vec<&[usize]> = sources.chunks(CHUNK).collect();
        for (v, opts) in variants.options.iter().enumerate() {
            // The collections of this variant, as collection bits.
            let mut mask = vec![0u64; words];
            for (c, &cv) in variants.of_collection.iter().enumerate() {
                if cv == v {
                    mask[c / 64] |= 1 << (c % 64);
                }
            }
            let both = |i: usize, j: usize| {
                let (si, sj) = (&prepared.selected[i * words..][..words], &prepared.selected[j * words..][..words]);
                (0..words).any(|w| si[w] & sj[w] & mask[w] != 0)
            };
            let maker = RelationshipMaker::new(opts);
            let made: Vec<Vec<Made<'p>>> =
                par_map(&chunks, |sources| {
                    let mut out = Vec::new();
                    for &i in *sources {
                        for (k, rel) in indicators[i].relationships.iter().enumerate() {
                            let r = self.at[i] as usize + k;
                            let Some(&j) = self.targets_of(r).first() else { continue };
                            let j = j as usize;
                            if j == i || !both(i, j) {
                                continue;
                            }
                            let key = prepared.lines[i].zip(prepared.lines[j]).map(|(source, target)| {
                                RelationshipKey { source, target, nth: k as u32, variant: v as u32 }
                            });
                            if let Some(p) = key.and_then(|key| prepared.made_before.get(&key)) {
                                out.push((r, key, Cow::Borrowed(p)));
                                continue;
                            }
                            let ends = [prepared.object(i, v), prepared.object(j, v)];
                            let tlp = self.tlps[i].max(self.tlps[j]);
                            if let Some(made) = maker.make(&indicators[i], rel, &indicators[j], ends, tlp) {
                                out.push((r, key, Cow::Owned(Packed::from(&made))));
                            }
                        }
                    }
                    out
                });
            let mut first = vec![NONE; relationships];
            for (r, key, p) in made.into_iter().flatten() {
                first[r] = u32::try_from(self.made.len()).expect("fewer than 4 billion relationships");
                if keep_made {
                    self.keys.push(key);
                }
                self.made.push(p);
            }
            self.first.push(first);
        }
    }

    /// The relationships taken from an earlier build's and those made, by what they are made of (those of
    /// records read from input lines, when the build was made with `keep_made`), for the next build.
    pub(super) fn into_made(self) -> KeptRelationships {
        let mut kept = KeptRelationships { reused: Vec::new(), made: MadeRelationships::default() };
        for (key, p) in self.keys.into_iter().zip(self.made) {
            match (key, p) {
                (Some(key), Cow::Borrowed(_)) => kept.reused.push(key),
                (Some(key), Cow::Owned(p)) => _ = kept.made.insert(key, p),
                (None, _) => {}
            }
        }
        kept
    }

    /// How many relationships were made for the collections to share.
    pub(super) fn made(&self) -> usize {
        self.made.len()
    }

    fn targets_of(&self, r: usize) -> &[u32] {
        &self.targets[self.from[r] as usize..self.from[r + 1] as usize]
    }
}

/// For each relationship of each indicator in order, the indicators whose value is its target value,
/// ascending: the offsets of each one's list and the lists one after another.
fn targets_by_value(indicators: &[Indicator]) -> (Vec<u32>, Vec<u32>) {
    let mut by_hash: Vec<(u64, u32)> =
        par_map(indicators, |m| xxh3_64(m.value.as_bytes())).into_iter().zip(0u32..).collect();
    by_hash.sort_unstable();
    let wanted: Vec<&str> =
        indicators.iter().flat_map(|m| m.relationships.iter().map(|rel| rel.target_value.as_str())).collect();
    let found: Vec<Vec<u32>> = par_map(&wanted, |value| {
        let h = xxh3_64(value.as_bytes());
        let start = by_hash.partition_point(|&(x, _)| x < h);
        by_hash[start..]
            .iter()
            .take_while(|&&(x, _)| x == h)
            .filter(|&&(_, j)| indicators[j as usize].value == *value)
            .map(|&(_, j)| j)
            .collect()
    });
    let mut from = Vec::with_capacity(found.len() + 1);
    from.push(0u32);
    let mut targets = Vec::with_capacity(found.len());
    for list in found {
        targets.extend(list);
        from.push(u32::try_from(targets.len()).expect("fewer than 4 billion relationships"));
    }
    (from, targets)
}

/// A collection's extras: objects made for it, and relationships taken from the build's.
pub(super) struct CollectionExtras<'t> {
    own: Vec<Packed>,
    order: Vec<Slot<'t>>,
}

enum Slot<'t> {
    Own(usize),
    Shared(&'t Packed),
}

impl CollectionExtras<'_> {
    /// The extras in the order the collection serves them.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Packed> {
        self.order.iter().map(|s| match s {
            Slot::Own(k) => &self.own[*k],
            Slot::Shared(p) => *p,
        })
    }
}

/// Collection `c`'s extras (its members are the indicators `members`, `inds` and `objs` those indicators and
/// their objects in its variant `v`),
/// the same objects in the same order as [`stix::collection_extras`]: the shared objects, the TIP relationships
/// (a relationship id made from two sources served from the first, in member order), the imported relationships.
pub(super) fn packed_extras<'t>(
    prepared: &Prepared,
    tip: &'t TipRelationships<'_>,
    (c, v): (usize, usize),
    (members, inds, objs): (&[usize], &[&Indicator], &[&Packed]),
    opts: &RenderOptions,
) -> CollectionExtras<'t> {
    let tlps = members.iter().map(|&i| tip.tlps[i]).collect();
    let extras = stix::Extras::with_tlps(inds, objs, opts, tlps);
    let mut own = Vec::new();
    extras.shared(&mut |r| own.push(Packed::from(&r)));
    let mut order: Vec<Slot<'t>> = (0..own.len()).map(Slot::Own).collect();

    let (words, selected) = (prepared.words, &prepared.selected);
    let holds = |j: usize| selected[j * words + c / 64] & (1 << (c % 64)) != 0;
    let maker = RelationshipMaker::new(opts);
    let mut seen = SeenIds::default();
    for &i in members {
        for (k, rel) in prepared.indicators[i].relationships.iter().enumerate() {
            let r = tip.at[i] as usize + k;
            let targets = tip.targets_of(r);
            let Some(&j) = targets.iter().find(|&&j| holds(j as usize)) else { continue };
            let j = j as usize;
            if j == i {
                continue;
            }
            let slot = if j == targets[0] as usize {
                match tip.first[v][r] {
                    NONE => continue,
                    m => Slot::Shared(&tip.made[m as usize]),
                }
            } else {
                let ends = [prepared.object(i, v), prepared.object(j, v)];
                let tlp = tip.tlps[i].max(tip.tlps[j]);
                let Some(made) = maker.make(&prepared.indicators[i], rel, &prepared.indicators[j], ends, tlp) else {
                    continue;
                };
                own.push(Packed::from(&made));
                Slot::Own(own.len() - 1)
            };
            let p = match &slot {
                Slot::Own(k) => &own[*k],
                Slot::Shared(p) => *p,
            };
            if seen.first(p) {
                order.push(slot);
            }
        }
    }

    let chunks: Vec<std::ops::Range<usize>> =
        (0..extras.len()).step_by(CHUNK).map(|s| s..(s + CHUNK).min(extras.len())).collect();
    let imported: Vec<Vec<Packed>> = par_map(&chunks, |sources| {
        let mut out = Vec::new();
        for i in sources.clone() {
            extras.imported_relationships_of(i, &mut |r| out.push(Packed::from(&r)));
        }
        out
    });
    for p in imported.into_iter().flatten() {
        own.push(p);
        order.push(Slot::Own(own.len() - 1));
    }
    CollectionExtras { own, order }
}

/// The relationship ids a collection serves already, by their hash (the ids compared when two hashes meet).
#[derive(Default)]
struct SeenIds {
    by_hash: super::versions::ByIdHash<String>,
    /// Ids whose hash an earlier, different id has.
    others: HashSet<String>,
}

impl SeenIds {
    /// Whether `p`'s id is seen for the first time (it is seen from now on).
    fn first(&mut self, p: &Packed) -> bool {
        match self.by_hash.get(&p.h21) {
            None => {
                self.by_hash.insert(p.h21, p.id21().to_string());
                true
            }
            Some(id) if id == p.id21() => false,
            Some(_) => self.others.insert(p.id21().to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every collection's extras, made from the build's shared relationships, equal the extras
    //! [`stix::collection_extras`] makes for the collection alone, object for object and byte for byte.
    use super::*;
    use crate::config::parse_collections;
    use crate::import::xsoar::indicator_from;
    use crate::indicator::Relationship;
    use edge_core::time::Timestamp;
    use serde_json::json;

    fn ind(ty: &str, value: &str, score: u8, tlp: &str, rels: &[(&str, &str, Option<&str>)]) -> Indicator {
        let custom = if tlp.is_empty() { json!({}) } else { json!({ "trafficlightprotocol": tlp }) };
        let mut i = indicator_from(
            "test",
            json!({"value": value, "indicator_type": ty, "score": score, "timestamp": "2024-03-01T10:00:00Z",
                   "modified": format!("2024-04-0{}T12:30:00Z", 1 + score), "CustomFields": custom}),
        )
        .expect("a valid XSOAR record");
        i.relationships = rels
            .iter()
            .map(|(name, target, tip)| Relationship {
                name: name.to_string(),
                target_value: target.to_string(),
                tip_id: tip.map(String::from),
                description: Some(format!("{name} {target}")),
            })
            .collect();
        i
    }

    #[test]
    fn each_collection_gets_what_it_would_make_alone() {
        let indicators = vec![
            ind(
                "IP",
                "198.51.100.1",
                3,
                "GREEN",
                &[("related to", "dup.example", None), ("uses", "Emotet", Some("7"))],
            ),
            // The same value twice: the first is not in "Scored", so "Scored" makes its own relationship to the second.
            ind("Domain", "dup.example", 0, "", &[]),
            ind("Domain", "dup.example", 2, "RED", &[("related to", "198.51.100.1", Some("7"))]),
            ind("Malware", "Emotet", 3, "AMBER", &[("uses", "198.51.100.1", Some("7")), ("uses", "nowhere", None)]),
            ind("URL", "https://dup.example/x", 1, "", &[("related to", "https://dup.example/x", None)]),
            ind("IP", "198.51.100.2", 2, "", &[("indicates", "Emotet", None), ("", "Emotet", None)]),
        ];
        let collections = parse_collections(
            r#"{"All": "", "Scored": "score:>=1", "IPs": "type:IP",
                "XSOAR": {"query": "", "profile": "xsoar"}, "XSOAR scored": {"query": "score:>=2", "profile": "xsoar"}}"#,
        )
        .unwrap();
        let render = RenderOptions {
            namespace: stix::ids::namespace_for("test"),
            producer: Some("Test".into()),
            ..RenderOptions::default()
        };
        let now = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let mut prepared = Prepared::new(&collections, &render, now);
        prepared.push(indicators.clone(), &collections, &render);
        assert_eq!(prepared.len(), indicators.len());
        let tip = TipRelationships::new(&prepared, false);
        assert!(tip.made() >= 4, "{}", tip.made());
        let (mut own_made, mut with_relationships) = (0, 0);
        for (c, cfg) in collections.iter().enumerate() {
            let v = prepared.variants.of_collection[c];
            let opts = &prepared.variants.options[v];
            let members: Vec<usize> =
                (0..indicators.len()).filter(|&i| cfg.query.matches_at(&indicators[i], now)).collect();
            let objs: Vec<&Packed> = members.iter().map(|&i| prepared.object(i, v)).collect();
            let inds: Vec<&Indicator> = members.iter().map(|&i| &indicators[i]).collect();
            let got = packed_extras(&prepared, &tip, (c, v), (&members, &inds, &objs), opts);
            own_made += got.own.len();
            let got: Vec<(String, String)> = got.iter().map(|p| (p.id21().to_string(), p.json().0)).collect();
            let rendered: Vec<stix::Rendered> = inds.iter().map(|i| stix::render_indicator(i, opts).unwrap()).collect();
            let refs: Vec<&stix::Rendered> = rendered.iter().collect();
            let want: Vec<(String, String)> = stix::collection_extras(&inds, &refs, opts)
                .into_iter()
                .map(|r| (r.id21, [r.json21, r.json20].concat()))
                .collect();
            assert_eq!(got, want, "collection {}", cfg.name);
            with_relationships += usize::from(want.iter().any(|(id, _)| id.starts_with("relationship--")));
        }
        assert_eq!(with_relationships, 4, "every collection but IPs serves relationships");
        assert!(own_made > 0, "a collection made a relationship of its own");
    }
}
