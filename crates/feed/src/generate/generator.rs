//! The generator's state ([`Generator`]: the random numbers, the count per type, recent values to relate to) and
//! what a value maker adds to a record besides its value ([`Draft`]).

use super::rng::{mix, Rng};
use super::words::{BRAND_PHISHING, BRAND_THREAT, TAGS};
use super::{Options, GUARANTEED_ROUNDS, TYPES};
use edge_core::time::Timestamp;
use serde_json::{json, Map, Value};

/// Categories of earlier indicators that later ones may relate to.
#[derive(Clone, Copy)]
pub(super) enum Cat {
    Actor,
    IntrusionSet,
    Malware,
    Tool,
    Campaign,
    AttackPattern,
    Cve,
    Identity,
    Location,
    Network,
}
pub(super) const CATS: usize = 10;
pub(super) const RECENT: usize = 8;

pub(super) struct Generator {
    pub(super) rng: Rng,
    pub(super) salt: u64,
    pub(super) now: i64,
    pub(super) per_type: Vec<u64>,
    pub(super) cumulative: Vec<u64>,
    pub(super) recent: Vec<Vec<String>>,
}

pub(super) const DAY: i64 = 86_400_000_000;
pub(super) const HOUR: u64 = 3_600_000_000;

impl Generator {
    pub(super) fn new(opts: &Options) -> Generator {
        let mut acc = 0;
        let cumulative = TYPES
            .iter()
            .map(|(_, w)| {
                acc += w;
                acc
            })
            .collect();
        Generator {
            rng: Rng(opts.seed ^ 0x7A11_ED6E_0000_0001),
            salt: mix(opts.seed),
            now: opts.now.micros(),
            per_type: vec![0; TYPES.len()],
            cumulative,
            recent: (0..CATS).map(|_| Vec::with_capacity(RECENT)).collect(),
        }
    }

    pub(super) fn pick_type(&mut self, i: u64) -> usize {
        let n = TYPES.len() as u64;
        if i < n * GUARANTEED_ROUNDS {
            return (i % n) as usize;
        }
        let total = *self.cumulative.last().expect("TYPES is not empty");
        let r = self.rng.below(total);
        self.cumulative.iter().position(|&c| r < c).expect("r is below the total")
    }

    pub(super) fn remember(&mut self, cat: Cat, value: &str) {
        let ring = &mut self.recent[cat as usize];
        if ring.len() == RECENT {
            ring.remove(0);
        }
        ring.push(value.to_string());
    }

    pub(super) fn recent_of(&mut self, cats: &[Cat]) -> Option<String> {
        let available: Vec<Cat> = cats.iter().copied().filter(|c| !self.recent[*c as usize].is_empty()).collect();
        if available.is_empty() {
            return None;
        }
        let cat = *self.rng.pick(&available);
        Some(self.rng.pick(&self.recent[cat as usize]).clone())
    }

    pub(super) fn time(&self, micros: i64) -> String {
        Timestamp(micros).to_micros_string()
    }

    pub(super) fn tags(&mut self, extra: Option<&str>) -> Vec<Value> {
        let mut tags: Vec<&str> = Vec::new();
        if let Some(t) = extra {
            tags.push(t);
        }
        for _ in 0..self.rng.below(3) {
            let t = *self.rng.pick(TAGS);
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        tags.into_iter().map(|t| json!(t)).collect()
    }
}

/// What a value maker adds to its record besides the value: custom fields, the source brand, the TLP, a tag and
/// relationships to earlier indicators; and the record's times, which some values are made from.
pub(super) struct Draft {
    pub(super) custom: Map<String, Value>,
    pub(super) brand: &'static str,
    pub(super) tlp: Option<&'static str>,
    pub(super) extra_tag: Option<&'static str>,
    pub(super) rels: Vec<(&'static str, String)>,
    /// When the indicator was first seen and last modified (microseconds).
    pub(super) created: i64,
    pub(super) modified: i64,
}

impl Draft {
    pub(super) fn new(tlp: Option<&'static str>, created: i64, modified: i64) -> Draft {
        Draft { custom: Map::new(), brand: BRAND_THREAT, tlp, extra_tag: None, rels: Vec::new(), created, modified }
    }

    /// Sets a custom field.
    pub(super) fn set(&mut self, name: &str, value: Value) {
        self.custom.insert(name.into(), value);
    }

    /// Marks the record as from the phishing feed: white, tagged `phishing`.
    pub(super) fn phishing(&mut self) {
        self.brand = BRAND_PHISHING;
        self.tlp = Some("WHITE");
        self.extra_tag = Some("phishing");
    }
}

impl Generator {
    /// Relates the record to a recent value of one of `cats`, if there is one.
    pub(super) fn relate(&mut self, d: &mut Draft, name: &'static str, cats: &[Cat]) {
        if let Some(target) = self.recent_of(cats) {
            d.rels.push((name, target));
        }
    }
}
