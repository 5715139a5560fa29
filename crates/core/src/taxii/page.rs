//! A content request resolved to a selection (snapshot, collection, filters, where the page starts) and the
//! pages read from it, shared by the 2.1 and 2.0 endpoints.
//!
//! A collection keeps earlier versions of its objects (see the snapshot builder); `match[version]` picks among
//! them: `last` (the default, but for the versions endpoint, which lists all), `first`, `all`, or exact
//! `modified` timestamps, a comma list being any of them.

use super::context::Ctx;
use super::error::TaxiiError;
use super::filters::{Endpoint, Filters, VersionMatch};
use super::media::Version;
use super::resources::{find_collection, lookup};
use crate::snapshot::format::{type_stream, CollectionIndex, ALL, NOT_FIRST, SUPERSEDED};
use crate::snapshot::reader::{Hit, Reader, Snapshot};
use crate::snapshot::segment::RecordMeta;
use crate::snapshot::CollectionEntry;
use crate::store::Store;
use crate::time::Timestamp;
use std::rc::Rc;

/// Segments one stream may read for one page: bounds the work of selective filters.
const MAX_SEGMENTS: usize = 4;

/// A resolved request: the snapshot and collection it reads, its filters and where the page starts.
#[derive(Clone)]
pub(super) struct Selection {
    pub(super) snapshot: Snapshot,
    pub(super) entry: CollectionEntry,
    pub(super) index: Rc<CollectionIndex>,
    pub(super) filters: Filters,
    pub(super) after: Option<Timestamp>,
    pub(super) limit: usize,
    pub(super) endpoint: Endpoint,
}

impl Selection {
    /// Whether the STIX 2.1 bodies are served (else 2.0's): over 2.1 unless only `match[spec_version]=2.0`.
    pub(super) fn bodies21(&self, v: Version) -> bool {
        v == Version::V21 && !(self.filters.spec_versions.len() == 1 && self.filters.spec_versions[0] == "2.0")
    }

    /// The `match[version]` values in force: those given, else `last` (`all` for the versions endpoint).
    pub(super) fn version_modes(&self) -> Vec<VersionMatch> {
        match (self.filters.versions.is_empty(), self.endpoint) {
            (false, _) => self.filters.versions.clone(),
            (true, Endpoint::Versions) => vec![VersionMatch::All],
            (true, _) => vec![VersionMatch::Last],
        }
    }

    /// Whether only the default view (`match[version]=last`) is asked for: what the index counts.
    pub(super) fn default_view(&self) -> bool {
        self.version_modes() == [VersionMatch::Last]
    }

    /// Whether a record (with its visibility flags) passes the filters that are checked per record.
    pub(super) fn keep(&self, v: Version) -> impl Fn(&RecordMeta<'_>, u8) -> bool + '_ {
        let spec_ok = self.filters.spec_versions.is_empty()
            || self.filters.spec_versions.iter().any(|s| s == v.number())
            || (v == Version::V21 && self.filters.spec_versions.iter().any(|s| s == "2.0"));
        let modes = self.version_modes();
        move |r: &RecordMeta<'_>, flags: u8| {
            spec_ok
                && modes.iter().any(|m| match m {
                    VersionMatch::Last => flags & SUPERSEDED == 0,
                    VersionMatch::First => flags & NOT_FIRST == 0,
                    VersionMatch::All => true,
                    VersionMatch::At(t) => r.v == t.0,
                })
        }
    }

    /// The streams that hold the requested types, or every object.
    pub(super) fn streams(&self, v: Version) -> Vec<String> {
        if self.filters.types.is_empty() {
            return vec![ALL.to_string()];
        }
        let mut out: Vec<String> = Vec::new();
        for t in &self.filters.types {
            let types21: Vec<String> = match v {
                Version::V21 => vec![t.clone()],
                Version::V20 => self.index.types20.get(t).cloned().unwrap_or_default(),
            };
            for t21 in types21 {
                let name = type_stream(&t21);
                if self.index.streams.contains_key(&name) && !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }
}

/// Resolves a content request: the snapshot (the current one, or the one a `next` token continues), the
/// collection the caller may read, the filters (a token's own), and where the page starts.
pub(super) async fn select<S: Store>(
    ctx: &Ctx<'_>,
    reader: &Reader<'_, S>,
    collection: &str,
    endpoint: Endpoint,
) -> Result<Selection, TaxiiError> {
    let s = ctx.settings;
    let mut filters = Filters::parse(&ctx.req.query, endpoint)?;
    let limit = filters.limit.unwrap_or(s.default_limit).min(s.max_limit).max(1);
    let cursor = match filters.next {
        None => None,
        Some(_) => ctx.cursor()?,
    };
    let (snapshot, entry, after) = match cursor {
        None => {
            let (snap, entry) = find_collection(ctx, reader, collection).await?;
            (snap, entry, filters.added_after)
        }
        Some(cursor) => {
            let snap = match reader.by_id(&cursor.s).await? {
                Some(snap) => snap,
                // The snapshot was pruned: date_added is stable across publishes, so the current one goes on
                // from the same point without gaps.
                None => reader.current().await?,
            };
            let entry =
                lookup(&snap, &ctx.viewer, collection).cloned().ok_or_else(|| ctx.no_such_collection(collection))?;
            if cursor.c != entry.id {
                return Err(TaxiiError::bad_parameter(
                    "next",
                    "`next` belongs to another collection: start again without it",
                ));
            }
            let original = Filters::parse(&pairs(&cursor.f), endpoint)?;
            if filters.selects() && filters.canonical_string() != cursor.f {
                return Err(TaxiiError::bad_parameter(
                    "next",
                    "`next` belongs to a request with other filters: repeat the original filters, or send `next` alone",
                ));
            }
            filters.added_after = original.added_after;
            filters.ids = original.ids;
            filters.types = original.types;
            filters.versions = original.versions;
            filters.spec_versions = original.spec_versions;
            (snap, entry, Some(cursor.after()))
        }
    };
    let index = reader.index(&entry).await?;
    Ok(Selection { snapshot, entry, index, filters, after, limit, endpoint })
}

fn pairs(canonical: &str) -> Vec<(String, String)> {
    canonical
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// Reads one page of the selection: by id when `match[id]` (or the path) names objects, else by stream.
pub(super) async fn read_page<S: Store>(
    reader: &Reader<'_, S>,
    sel: &Selection,
    v: Version,
    ids: &[String],
) -> Result<(Vec<Hit>, Option<Timestamp>), TaxiiError> {
    let keep = sel.keep(v);
    if ids.is_empty() {
        let streams = sel.streams(v);
        let page = reader.page(&sel.index, &streams, sel.after, sel.limit, MAX_SEGMENTS, &keep).await?;
        return Ok((page.hits, page.resume));
    }
    let wanted_types = sel.streams(v);
    let mut hits: Vec<Hit> = Vec::new();
    for id in ids {
        for hit in versions_of(reader, &sel.index, id).await? {
            if sel.after.is_some_and(|a| hit.date() <= a.0) {
                continue;
            }
            let m = hit.meta();
            let type_ok = sel.filters.types.is_empty() || wanted_types.contains(&type_stream(m.t));
            if type_ok && keep(&m, hit.flags) && !hits.iter().any(|h| h.date() == m.d) {
                hits.push(hit.clone());
            }
        }
    }
    hits.sort_by_key(Hit::date);
    let more = hits.len() > sel.limit;
    hits.truncate(sel.limit);
    let resume = if more { hits.last().map(|h| h.meta().date_added()) } else { None };
    Ok((hits, resume))
}

/// Every version of the object `id` (its 2.1 or 2.0 id) in the collection that is not gone, oldest added first.
pub(super) async fn versions_of<S: Store>(
    reader: &Reader<'_, S>,
    index: &CollectionIndex,
    id: &str,
) -> Result<Vec<Hit>, TaxiiError> {
    let mut out = Vec::new();
    for d in reader.find_id(index, id).await? {
        if let Some(hit) = reader.at(index, d).await? {
            let m = hit.meta();
            // The id index is keyed by a hash: the record says whether it is this object.
            if m.id == id || m.id20() == id {
                out.push(hit);
            }
        }
    }
    Ok(out)
}

pub(super) fn date_headers(hits: &[Hit], headers: &mut Vec<(String, String)>) {
    if let (Some(first), Some(last)) = (hits.first(), hits.last()) {
        headers.push(("X-TAXII-Date-Added-First".into(), first.meta().date_added().to_micros_string()));
        headers.push(("X-TAXII-Date-Added-Last".into(), last.meta().date_added().to_micros_string()));
    }
}

pub(super) fn join_into<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a [u8]>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
}
