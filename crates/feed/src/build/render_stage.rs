//! The render stage: indicators rendered once into compact [`Packed`] objects ([`Prepared`]), with only the
//! fields later stages read kept, and the `xsoar` profile's reports with the targets of their relationships.

use super::key_hash::KeyIsHash;
use crate::config::CollectionConfig;
use crate::indicator::Indicator;
use crate::pool::par_map;
use crate::stix::{self, Head, RenderError, RenderOptions, Rendered};
use edge_core::snapshot::format::id_hash;
use edge_core::time::Timestamp;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Indicators made ready for a build: each rendered once per rendering variant its collections use, then kept in
/// a compact form ([`Packed`] bytes and the indicator with only the fields the collection queries and the
/// collection extras read). [`build_to_dir`] and [`build`] prepare their whole input at once; the CLI feeds
/// [`Prepared::push`] batch by batch while it reads the inputs, so that a full [`Indicator`] (every XSOAR field)
/// never outlives its batch.
pub struct Prepared {
    /// The rendered indicators, slimmed.
    pub(super) indicators: Vec<Indicator>,
    /// Each indicator's objects, one per variant it needs in variant order: indicator `i`'s are
    /// `rendered[starts[i]..starts[i + 1]]` (`starts` has one more entry than `indicators`).
    rendered: Vec<Packed>,
    starts: Vec<u32>,
    /// Which variants each indicator was rendered in: `vwords` bits per indicator.
    needs: Vec<u64>,
    vwords: usize,
    /// The rendering variants and which one each collection uses.
    pub(super) variants: Variants,
    /// Which collections select each indicator: `words` bits per indicator, bit `c` for collection `c`.
    pub(super) selected: Vec<u64>,
    pub(super) words: usize,
    /// The build time the queries were evaluated at.
    pub(super) now: Timestamp,
    /// Indicators that could not be rendered (they are in no collection).
    pub(super) render_errors: Vec<RenderError>,
    /// The hash of each indicator's input line, when it was read with a record cache (see [`super::Warm`]).
    pub(super) lines: Vec<Option<u128>>,
    /// The TIP relationships the last build of a sync that runs on made, by their ends' lines (see
    /// [`super::relationships`]), and which of them this build took and which it made (filled by it).
    pub(super) made_before: MadeRelationships,
    pub(super) made_now: std::sync::Mutex<Option<KeptRelationships>>,
    /// The fields kept (see [`kept_fields`]).
    keep: Keep,
}

/// The distinct rendering options a build's collections use: the build's own first (variant 0, which also
/// renders the indicators no collection selects, so that their errors are reported), then one per distinct
/// client setting ([`crate::config::ClientSettings`]) that renders differently. A configuration without client
/// settings has one variant, and its build renders each indicator once, as before there were any.
pub struct Variants {
    pub options: Vec<RenderOptions>,
    /// The variant of each collection.
    pub of_collection: Vec<usize>,
}

impl Variants {
    pub fn new(collections: &[CollectionConfig], render: &RenderOptions) -> Variants {
        let mut options = vec![render.clone()];
        let mut keys = vec![(render.as_indicator.clone(), render.profile)];
        let of_collection = collections
            .iter()
            .map(|cfg| {
                let o = cfg.client.render_options(render);
                let key = (o.as_indicator.clone(), o.profile);
                keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                    keys.push(key);
                    options.push(o);
                    options.len() - 1
                })
            })
            .collect();
        Variants { options, of_collection }
    }
}

impl Prepared {
    /// An empty set for these collections (whose queries are evaluated at `now`, the build time) and render
    /// options: the build must be given the same ones.
    pub fn new(collections: &[CollectionConfig], render: &RenderOptions, now: Timestamp) -> Prepared {
        let variants = Variants::new(collections, render);
        Prepared {
            indicators: Vec::new(),
            rendered: Vec::new(),
            starts: vec![0],
            needs: Vec::new(),
            vwords: variants.options.len().div_ceil(64),
            variants,
            selected: Vec::new(),
            words: collections.len().div_ceil(64).max(1),
            now,
            render_errors: Vec::new(),
            lines: Vec::new(),
            made_before: MadeRelationships::default(),
            made_now: Default::default(),
            keep: kept_fields(render),
        }
    }

    /// Renders a batch of indicators (in each variant the collections that select it use) and evaluates the
    /// collection queries on them (on every core, in order), and keeps what the build needs of them.
    pub fn push(&mut self, batch: Vec<Indicator>, collections: &[CollectionConfig], render: &RenderOptions) {
        let results = par_map(&batch, |ind| self.render_one(ind, collections));
        for (ind, result) in batch.into_iter().zip(results) {
            match result {
                Ok(r) => self.append(ind, r, render),
                Err(e) => self.render_errors.push(e),
            }
        }
    }

    /// One indicator rendered in each variant the collections that select it use, with their selection.
    pub(super) fn render_one(
        &self,
        ind: &Indicator,
        collections: &[CollectionConfig],
    ) -> Result<Rendering, RenderError> {
        let variants = &self.variants;
        let mut selected = vec![0u64; self.words];
        let mut needs = vec![0u64; self.vwords];
        for (c, cfg) in collections.iter().enumerate() {
            if cfg.query.matches_at(ind, self.now) {
                selected[c / 64] |= 1 << (c % 64);
                let v = variants.of_collection[c];
                needs[v / 64] |= 1 << (v % 64);
            }
        }
        if needs.iter().all(|&w| w == 0) {
            needs[0] = 1;
        }
        let mut packed = Vec::with_capacity(1);
        for (v, opts) in variants.options.iter().enumerate() {
            if needs[v / 64] & (1 << (v % 64)) != 0 {
                packed.push(stix::render_indicator(ind, opts).map(|r| Packed::from(&r))?);
            }
        }
        Ok(Rendering { packed, selected, needs })
    }

    /// Makes room for `n` more indicators (so that a million are not moved each time the lists grow).
    pub fn reserve(&mut self, n: usize) {
        self.indicators.reserve(n);
        self.rendered.reserve(n);
        self.starts.reserve(n);
        self.selected.reserve(n * self.words);
        self.needs.reserve(n * self.vwords);
        self.lines.reserve(n);
    }

    /// Keeps a rendered indicator (slimmed to the fields later stages read).
    pub(super) fn append(&mut self, ind: Indicator, r: Rendering, render: &RenderOptions) {
        let ind = self.keep.slim(ind, render);
        self.append_slim(ind, r, None);
    }

    /// Keeps an indicator that is slim already with its rendering, and the hash of its input `line` when it was
    /// read with a record cache.
    pub(super) fn append_slim(&mut self, ind: Indicator, r: Rendering, line: Option<u128>) {
        debug_assert_eq!((r.selected.len(), r.needs.len()), (self.words, self.vwords));
        self.lines.push(line);
        self.indicators.push(ind);
        self.rendered.extend(r.packed);
        self.starts.push(u32::try_from(self.rendered.len()).expect("fewer than 4 billion objects"));
        self.selected.extend(r.selected);
        self.needs.extend(r.needs);
    }

    /// The indicator as [`Prepared::append`] keeps it.
    pub(super) fn slim(&self, ind: Indicator, render: &RenderOptions) -> Indicator {
        self.keep.slim(ind, render)
    }

    /// How many words of collection bits and of variant bits each indicator has.
    pub(super) fn widths(&self) -> (usize, usize) {
        (self.words, self.vwords)
    }

    /// How many indicators were rendered.
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// The indicators that could not be rendered, in input order.
    pub fn render_errors(&self) -> &[RenderError] {
        &self.render_errors
    }

    /// How many objects were rendered (an indicator once per variant it needs).
    pub fn rendered_objects(&self) -> usize {
        self.rendered.len()
    }

    /// The rendered bytes held, compressed.
    pub(super) fn rendered_bytes(&self) -> usize {
        self.rendered.iter().map(|p| p.heads.len() + p.json.len()).sum()
    }

    /// Makes the build take the TIP relationships a build before made between records of the same lines, instead
    /// of making them again.
    pub fn reuse_relationships(&mut self, made: MadeRelationships) {
        self.made_before = made;
    }

    /// The TIP relationships the build made or took from those it was given, taken out (none unless it was
    /// made with `keep_state`): what the next build of a sync that runs on is given.
    pub(super) fn take_made_relationships(&mut self) -> MadeRelationships {
        let now = self.made_now.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let mut before = std::mem::take(&mut self.made_before);
        let Some(KeptRelationships { reused, made }) = now else { return MadeRelationships::default() };
        let reused: HashSet<RelationshipKey, BuildHasherDefault<KeyIsHash>> = reused.into_iter().collect();
        before.retain(|k, _| reused.contains(k));
        before.extend(made);
        before
    }

    /// Moves record `i` of `from` (a build before this one, of the same collections and variants) to the end,
    /// with its input line's hash; what stays in its place in `from` is empty.
    pub(super) fn append_taken(&mut self, from: &mut Prepared, i: usize, line: Option<u128>) {
        debug_assert_eq!(from.widths(), self.widths());
        let (words, vwords) = self.widths();
        self.lines.push(line);
        self.indicators.push(std::mem::replace(&mut from.indicators[i], Indicator::empty()));
        let objects = &mut from.rendered[from.starts[i] as usize..from.starts[i + 1] as usize];
        self.rendered.extend(objects.iter_mut().map(Packed::take));
        self.starts.push(u32::try_from(self.rendered.len()).expect("fewer than 4 billion objects"));
        self.selected.extend_from_slice(&from.selected[i * words..(i + 1) * words]);
        self.needs.extend_from_slice(&from.needs[i * vwords..(i + 1) * vwords]);
    }

    /// Indicator `i` rendered in variant `v` (one its collections use).
    pub(super) fn object(&self, i: usize, v: usize) -> &Packed {
        let needs = &self.needs[i * self.vwords..(i + 1) * self.vwords];
        let before: u32 = needs[..v / 64].iter().map(|w| w.count_ones()).sum::<u32>()
            + (needs[v / 64] & ((1u64 << (v % 64)) - 1)).count_ones();
        debug_assert!(needs[v / 64] & (1 << (v % 64)) != 0, "indicator {i} was not rendered in variant {v}");
        &self.rendered[self.starts[i] as usize + before as usize]
    }
}

/// One indicator's objects (one per variant it needs, in variant order) and which collections select it.
pub(super) struct Rendering {
    pub(super) packed: Vec<Packed>,
    pub(super) selected: Vec<u64>,
    pub(super) needs: Vec<u64>,
}

/// TIP relationships a build made, by what they are made of: the input lines of both ends (so the indicators,
/// their renderings and TLP levels), which of its source's relationships it is, and the variant. A sync that runs
/// on keeps them (see [`super::Warm`] and [`super::relationships`]), so that its next build makes only those of changed records: under one
/// record cache key the render options are the same, and the same inputs make the same relationship.
pub type MadeRelationships = HashMap<RelationshipKey, Packed, BuildHasherDefault<KeyIsHash>>;

/// The TIP relationships a build kept: which of those it was given it took, and those it made.
pub(super) struct KeptRelationships {
    pub(super) reused: Vec<RelationshipKey>,
    pub(super) made: MadeRelationships,
}

/// What a TIP relationship is made of (see [`MadeRelationships`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelationshipKey {
    pub(super) source: u128,
    pub(super) target: u128,
    /// Its place among the source's relationships, and the variant.
    pub(super) nth: u32,
    pub(super) variant: u32,
}

impl Hash for RelationshipKey {
    /// One word of the two lines' hashes (hashes already) and the rest.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let rest = (u64::from(self.nth) << 32 | u64::from(self.variant)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        state.write_u64(self.source as u64 ^ (self.target as u64).rotate_left(29) ^ rest);
    }
}

/// Which fields of an indicator a build still needs once it is rendered.
struct Keep {
    /// Every field, when a query or the extension fields need them all.
    all: bool,
    names: std::collections::BTreeSet<String>,
}

/// The fields the collection extras read once the queries are evaluated: the TLP marking, imported STIX
/// relationships and the extension fields.
fn kept_fields(render: &RenderOptions) -> Keep {
    let mut names = std::collections::BTreeSet::new();
    for n in ["trafficlightprotocol", stix::passthrough::RELATIONSHIPS] {
        names.insert(n.to_string());
    }
    if let stix::ExtensionFields::List(list) = &render.extension_fields {
        names.extend(list.iter().cloned());
    }
    Keep { all: matches!(render.extension_fields, stix::ExtensionFields::All), names }
}

impl Keep {
    /// The indicator without the fields no later stage reads (its origin and tags too: errors are reported and
    /// queries evaluated by now; an extension field named `tags` reads the copy in `fields`).
    fn slim(&self, mut ind: Indicator, render: &RenderOptions) -> Indicator {
        ind.origin = String::new();
        ind.tags = Vec::new();
        if self.all {
            return ind;
        }
        if ind.fields.keys().any(|k| !self.names.contains(k)) {
            let before = render.extension_fields.enabled()
                && stix::render::xsoar_fields(&ind, &render.extension_fields).is_empty();
            ind.fields.retain(|k| self.names.contains(k));
            debug_assert!(
                !render.extension_fields.enabled()
                    || before == stix::render::xsoar_fields(&ind, &render.extension_fields).is_empty()
            );
        }
        ind
    }
}

/// One rendered object, compact: the 2.1 id and type and the 2.0 id and type in one allocation, the 2.1 and 2.0
/// JSON together LZ4-compressed in another (a million objects' JSON is ~900 MB as it is, ~40% of that
/// compressed), and what the build compares without reading either: the version, the id hashes and the
/// content hash.
#[derive(Clone)]
pub struct Packed {
    pub(super) heads: Box<str>,
    /// Where the 2.1 id, the 2.1 type and the 2.0 id end in `heads`.
    pub(super) ends: [u16; 3],
    /// The 2.1 JSON then the 2.0 JSON, LZ4 block-compressed.
    pub(super) json: Box<[u8]>,
    /// The length of the 2.1 JSON and of both.
    pub(super) json21_len: u32,
    pub(super) json_len: u32,
    pub(super) version: Timestamp,
    pub(super) h21: u64,
    /// The 2.0 id's hash when the 2.0 id differs.
    pub(super) h20: Option<u64>,
    pub(super) content: u32,
}

impl Packed {
    /// This object, with an empty one left in its place (no allocation).
    fn take(&mut self) -> Packed {
        let empty = Packed {
            heads: Box::default(),
            ends: [0; 3],
            json: Box::default(),
            json21_len: 0,
            json_len: 0,
            version: Timestamp(0),
            h21: 0,
            h20: None,
            content: 0,
        };
        std::mem::replace(self, empty)
    }
}

impl From<&Rendered> for Packed {
    fn from(r: &Rendered) -> Packed {
        let heads = [&r.id21, &r.type21, &r.id20, &r.type20].map(String::as_str).concat();
        let end = |n: usize| u16::try_from(n).expect("STIX ids and types are short");
        let ends =
            [end(r.id21.len()), end(r.id21.len() + r.type21.len()), end(r.id21.len() + r.type21.len() + r.id20.len())];
        let both = [r.json21.as_str(), r.json20.as_str()].concat();
        let length = |n: usize| u32::try_from(n).expect("an object's JSON is under 4 GB");
        Packed {
            heads: heads.into_boxed_str(),
            ends,
            json: lz4_flex::block::compress(both.as_bytes()).into_boxed_slice(),
            json21_len: length(r.json21.len()),
            json_len: length(both.len()),
            version: r.version,
            h21: id_hash(&r.id21),
            h20: (r.id20 != r.id21).then(|| id_hash(&r.id20)),
            content: content_of(r),
        }
    }
}

impl Packed {
    pub(super) fn type20(&self) -> &str {
        &self.heads[self.ends[2] as usize..]
    }

    /// The 2.1 JSON and the 2.0 JSON, one after the other, and where the first ends.
    pub(super) fn json(&self) -> (String, usize) {
        let bytes = lz4_flex::block::decompress(&self.json, self.json_len as usize)
            .expect("the build decompresses what it compressed");
        (String::from_utf8(bytes).expect("compressed from a string"), self.json21_len as usize)
    }

    /// Appends the 2.1 JSON and the 2.0 JSON, one after the other, to `out`.
    pub(super) fn json_into(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.resize(at + self.json_len as usize, 0);
        let n = lz4_flex::block::decompress_into(&self.json, &mut out[at..])
            .expect("the build decompresses what it compressed");
        assert_eq!(n, self.json_len as usize, "the build decompresses what it compressed");
    }

    pub(super) fn json21(&self) -> String {
        let (mut both, at) = self.json();
        both.truncate(at);
        both
    }
}

/// The extras read the members' ids and types only.
impl stix::Head for Packed {
    fn id21(&self) -> &str {
        &self.heads[..self.ends[0] as usize]
    }
    fn type21(&self) -> &str {
        &self.heads[self.ends[0] as usize..self.ends[1] as usize]
    }
    fn id20(&self) -> &str {
        &self.heads[self.ends[1] as usize..self.ends[2] as usize]
    }
}

/// A content hash of what a record serves: an unchanged version whose bytes changed is a new record.
fn content_of(r: &Rendered) -> u32 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for part in [&r.id21, &r.type21, &r.id20, &r.type20, &r.json21, &r.json20] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    h.digest() as u32
}

/// The `xsoar` profile's reports whose `object_refs` gain the members their relationships point at, repacked,
/// by member index (see [`stix::Extras::report_with_targets`]); none in another profile.
pub(super) fn reports_with_targets(
    members: &[&Indicator],
    objs: &[&Packed],
    render: &RenderOptions,
) -> Vec<(usize, Packed)> {
    let reports: Vec<usize> =
        (0..members.len()).filter(|&i| objs[i].type21() == "report" && !members[i].relationships.is_empty()).collect();
    if render.profile != stix::Profile::Xsoar || reports.is_empty() {
        return Vec::new();
    }
    let extras = stix::Extras::new(members, objs, render);
    reports
        .into_iter()
        .filter_map(|i| {
            let p = objs[i];
            let (both, at) = p.json();
            let (json21, json20) = extras.report_with_targets(i, &both[..at], &both[at..])?;
            let r = Rendered {
                id21: p.id21().to_string(),
                type21: p.type21().to_string(),
                json21,
                id20: p.id20().to_string(),
                type20: p.type20().to_string(),
                json20,
                version: p.version,
            };
            Some((i, Packed::from(&r)))
        })
        .collect()
}
