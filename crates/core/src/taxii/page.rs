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
use super::token::{self, Cursor, NextIgnored, NEXT_IGNORED_HEADER};
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
    /// Why the request's `next` token was not followed, when it was not.
    pub(super) next_ignored: Option<NextIgnored>,
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
/// collection the caller may read, the filters (a token's own when it is followed), and where the page starts.
///
/// A genuine token that does not continue this request (see [`token::follows`]) is not a reason to fail it: a
/// request with filters of its own is answered from them; a token of another collection, from the filters it
/// was minted with, from their start. Either way from the current snapshot, and the response says so.
pub(super) async fn select<S: Store>(
    ctx: &Ctx<'_>,
    reader: &Reader<'_, S>,
    collection: &str,
    endpoint: Endpoint,
) -> Result<Selection, TaxiiError> {
    let mut filters = Filters::parse(&ctx.req.query, endpoint)?;
    let s = ctx.settings;
    let limit = filters.limit.unwrap_or(s.default_limit).min(s.max_limit).max(1);
    let cursor = match filters.next {
        None => None,
        Some(_) => ctx.cursor()?,
    };
    let Some(cursor) = cursor else {
        return fresh(ctx, reader, collection, endpoint, filters, limit, None).await;
    };
    let snap = match reader.by_id(&cursor.s).await? {
        Some(snap) => snap,
        // The snapshot was pruned: date_added is stable across publishes, so the current one goes on from the
        // same point without gaps.
        None => reader.current().await?,
    };
    let entry = lookup(&snap, &ctx.viewer, collection).cloned();
    let followed =
        entry.as_ref().map_or(Err(NextIgnored::OtherCollection), |e| token::follows(cursor, &e.id, &filters));
    match (followed, entry) {
        (Ok(()), Some(entry)) => {
            take_filters(&mut filters, token_filters(cursor, endpoint)?);
            let index = reader.index(&entry).await?;
            let after = Some(cursor.after());
            Ok(Selection { snapshot: snap, entry, index, filters, after, limit, endpoint, next_ignored: None })
        }
        (Err(NextIgnored::OtherFilters), _) => {
            fresh(ctx, reader, collection, endpoint, filters, limit, Some(NextIgnored::OtherFilters)).await
        }
        (_, _) => {
            take_filters(&mut filters, token_filters(cursor, endpoint)?);
            fresh(ctx, reader, collection, endpoint, filters, limit, Some(NextIgnored::OtherCollection)).await
        }
    }
}

/// A selection of the current snapshot from `filters`, from their start.
async fn fresh<S: Store>(
    ctx: &Ctx<'_>,
    reader: &Reader<'_, S>,
    collection: &str,
    endpoint: Endpoint,
    filters: Filters,
    limit: usize,
    next_ignored: Option<NextIgnored>,
) -> Result<Selection, TaxiiError> {
    let (snapshot, entry) = find_collection(ctx, reader, collection).await?;
    let index = reader.index(&entry).await?;
    let after = filters.added_after;
    Ok(Selection { snapshot, entry, index, filters, after, limit, endpoint, next_ignored })
}

/// The filters a token was minted with, or the 400 naming `next` when they are not filters of this endpoint.
fn token_filters(cursor: &Cursor, endpoint: Endpoint) -> Result<Filters, TaxiiError> {
    Filters::parse(&pairs(&cursor.f), endpoint).map_err(|e| {
        TaxiiError::bad_parameter(
            "next",
            format!("`next` cannot be followed here: its filters do not apply to this endpoint ({})", e.description),
        )
    })
}

/// Puts the filters that select objects of `from` in place of those of `into` (keeping its `limit` and `next`).
fn take_filters(into: &mut Filters, from: Filters) {
    into.added_after = from.added_after;
    into.ids = from.ids;
    into.types = from.types;
    into.versions = from.versions;
    into.spec_versions = from.spec_versions;
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

/// The headers that frame a page: `X-TAXII-Date-Added-First` and `-Last` (the first and last object's
/// date_added; on an empty page both are the point the page starts after, when it has one, so that a client whose
/// cursor is the last header keeps it), and why a `next` token was not followed.
pub(super) fn page_headers(sel: &Selection, hits: &[Hit], headers: &mut Vec<(String, String)>) {
    let bounds = match (hits.first(), hits.last()) {
        (Some(first), Some(last)) => Some((first.meta().date_added(), last.meta().date_added())),
        _ => sel.after.map(|a| (a, a)),
    };
    if let Some((first, last)) = bounds {
        headers.push(("X-TAXII-Date-Added-First".into(), first.to_micros_string()));
        headers.push(("X-TAXII-Date-Added-Last".into(), last.to_micros_string()));
    }
    if let Some(why) = sel.next_ignored {
        headers.push((NEXT_IGNORED_HEADER.into(), why.header_value().into()));
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
