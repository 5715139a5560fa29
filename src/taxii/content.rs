//! The content endpoints: objects, manifest, object by id and versions, over TAXII 2.1 and 2.0.
//!
//! 2.1 pages with `limit` and signed `next` tokens; 2.0 with `Range: items a-b`. Results are in ascending
//! date_added order, and `X-TAXII-Date-Added-First`/`-Last` (microseconds) frame every non-empty page.

use super::error::TaxiiError;
use super::filters::{Endpoint, Filters, VersionMatch};
use super::media::Version;
use super::resources::{find_collection, lookup};
use super::token::{self, Cursor};
use super::{Request, Response};
use crate::auth::Viewer;
use crate::service::Settings;
use crate::snapshot::format::{type_stream, CollectionIndex, ALL};
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
}

impl Selection {
    /// Whether the STIX 2.1 bodies are served (else 2.0's): over 2.1 unless only `match[spec_version]=2.0`.
    fn bodies21(&self, v: Version) -> bool {
        v == Version::V21 && !(self.filters.spec_versions.len() == 1 && self.filters.spec_versions[0] == "2.0")
    }

    /// Whether a record passes the filters that are checked per record.
    pub(super) fn keep(&self, v: Version) -> impl Fn(&RecordMeta) -> bool + '_ {
        let spec_ok = self.filters.spec_versions.is_empty()
            || self.filters.spec_versions.iter().any(|s| s == v.number())
            || (v == Version::V21 && self.filters.spec_versions.iter().any(|s| s == "2.0"));
        move |r: &RecordMeta| {
            spec_ok
                && (self.filters.versions.is_empty()
                    || self.filters.versions.iter().any(|m| match m {
                        VersionMatch::At(t) => r.v == t.0,
                        // One version per object in a snapshot: it is the first, the last and all of them.
                        VersionMatch::First | VersionMatch::Last | VersionMatch::All => true,
                    }))
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

pub(super) async fn select<S: Store>(
    s: &Settings,
    reader: &Reader<'_, S>,
    req: &Request,
    viewer: &Viewer<'_>,
    collection: &str,
    endpoint: Endpoint,
) -> Result<Selection, TaxiiError> {
    let mut filters = Filters::parse(&req.query, endpoint)?;
    let limit = filters.limit.unwrap_or(s.default_limit).min(s.max_limit).max(1);
    let (snapshot, entry, after) = match filters.next.clone() {
        None => {
            let (snap, entry) = find_collection(reader, viewer, collection).await?;
            (snap, entry, filters.added_after)
        }
        Some(next) => {
            let cursor = token::decode(&next, &s.next_secret)
                .map_err(|e| TaxiiError::bad_parameter("next", format!("`next` {e}")))?;
            let snap = match reader.by_id(&cursor.s).await? {
                Some(snap) => snap,
                // The snapshot was pruned: date_added is stable across publishes, so the current one goes on
                // from the same point without gaps.
                None => reader.current().await?,
            };
            let entry =
                lookup(&snap, viewer, collection).cloned().ok_or_else(|| viewer.no_such_collection(collection))?;
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
    Ok(Selection { snapshot, entry, index, filters, after, limit })
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
    let mut hits = Vec::new();
    for id in ids {
        for d in reader.find_id(&sel.index, id).await? {
            if sel.after.is_some_and(|a| d <= a) {
                continue;
            }
            if let Some(hit) = reader.at(&sel.index, d).await? {
                let m = hit.meta();
                let type_ok = sel.filters.types.is_empty() || wanted_types.contains(&type_stream(&m.t));
                if type_ok && keep(m) && !hits.iter().any(|h: &Hit| h.meta().d == m.d) {
                    hits.push(hit);
                }
            }
        }
    }
    hits.sort_by_key(|h| h.meta().d);
    let more = hits.len() > sel.limit;
    hits.truncate(sel.limit);
    let resume = if more { hits.last().map(|h| h.meta().date_added()) } else { None };
    Ok((hits, resume))
}

fn next_token(s: &Settings, sel: &Selection, resume: Option<Timestamp>) -> Option<String> {
    resume.map(|a| {
        let cursor =
            Cursor { s: sel.snapshot.id.clone(), c: sel.entry.id.clone(), f: sel.filters.canonical_string(), a: a.0 };
        token::encode(&cursor, &s.next_secret)
    })
}

pub(super) fn date_headers(hits: &[Hit], headers: &mut Vec<(String, String)>) {
    if let (Some(first), Some(last)) = (hits.first(), hits.last()) {
        headers.push(("X-TAXII-Date-Added-First".into(), first.meta().date_added().to_micros_string()));
        headers.push(("X-TAXII-Date-Added-Last".into(), last.meta().date_added().to_micros_string()));
    }
}

/// `{"more":…,"next":…,"<key>":[items]}`, or `{}` when there are no items. Public for the render benchmark.
pub fn envelope<T: AsRef<[u8]>>(key: &str, items: &[T], next: Option<&str>) -> Vec<u8> {
    if items.is_empty() {
        return b"{}".to_vec();
    }
    let size: usize = items.iter().map(|i| i.as_ref().len() + 1).sum();
    let mut out = Vec::with_capacity(size + 256);
    match next {
        Some(n) => {
            out.extend_from_slice(b"{\"more\":true,\"next\":");
            out.extend_from_slice(&serde_json::to_vec(n).expect("string serialises"));
            out.push(b',');
        }
        None => out.extend_from_slice(b"{\"more\":false,"),
    }
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":[");
    join_into(&mut out, items.iter().map(AsRef::as_ref));
    out.extend_from_slice(b"]}");
    out
}

pub(super) fn join_into<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a [u8]>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
}

fn content_response(v: Version, body: Vec<u8>, stix: bool, hits: &[Hit]) -> Response {
    let ct = if stix && v == Version::V20 { v.stix_type() } else { v.taxii_type() };
    let mut headers = vec![("Content-Type".to_string(), ct.to_string())];
    date_headers(hits, &mut headers);
    Response { status: 200, headers, body }
}

pub async fn objects<S: Store>(
    s: &Settings,
    reader: &Reader<'_, S>,
    req: &Request,
    viewer: &Viewer<'_>,
    c: &str,
    v: Version,
) -> Result<Response, TaxiiError> {
    if v == Version::V20 {
        return super::v20::objects(s, reader, req, viewer, c).await;
    }
    let sel = select(s, reader, req, viewer, c, Endpoint::Objects).await?;
    let (hits, resume) = read_page(reader, &sel, v, &sel.filters.ids).await?;
    Ok(objects_response(s, &sel, v, &hits, resume))
}

/// A 2.1 envelope of the hits' bodies, straight from their segments.
fn objects_response(s: &Settings, sel: &Selection, v: Version, hits: &[Hit], resume: Option<Timestamp>) -> Response {
    let v21 = sel.bodies21(v);
    let items: Vec<&[u8]> = hits.iter().map(|h| h.body(v21)).collect();
    let next = next_token(s, sel, resume);
    content_response(v, envelope("objects", &items, next.as_deref()), true, hits)
}

fn manifest_record(h: &Hit, v21: bool) -> Vec<u8> {
    let m = h.meta();
    let (id, media) =
        if v21 { (m.id.as_str(), Version::V21.stix_type()) } else { (m.id20(), Version::V20.stix_type()) };
    serde_json::to_vec(&serde_json::json!({
        "id": id,
        "date_added": m.date_added().to_micros_string(),
        "version": m.version().to_micros_string(),
        "media_type": media,
    }))
    .expect("manifest record serialises")
}

pub async fn manifest<S: Store>(
    s: &Settings,
    reader: &Reader<'_, S>,
    req: &Request,
    viewer: &Viewer<'_>,
    c: &str,
    v: Version,
) -> Result<Response, TaxiiError> {
    if v == Version::V20 {
        return super::v20::manifest(s, reader, req, viewer, c).await;
    }
    let sel = select(s, reader, req, viewer, c, Endpoint::Manifest).await?;
    let (hits, resume) = read_page(reader, &sel, v, &sel.filters.ids).await?;
    let v21 = sel.bodies21(v);
    let items: Vec<Vec<u8>> = hits.iter().map(|h| manifest_record(h, v21)).collect();
    let next = next_token(s, &sel, resume);
    Ok(content_response(v, envelope("objects", &items, next.as_deref()), false, &hits))
}

/// Every version of one object in the selection, or a 404 that names it.
#[allow(clippy::too_many_arguments)]
async fn one_object<S: Store>(
    s: &Settings,
    reader: &Reader<'_, S>,
    req: &Request,
    viewer: &Viewer<'_>,
    c: &str,
    object_id: &str,
    endpoint: Endpoint,
    v: Version,
) -> Result<(Selection, Vec<Hit>, Option<Timestamp>), TaxiiError> {
    let sel = select(s, reader, req, viewer, c, endpoint).await?;
    let exists = !reader.find_id(&sel.index, object_id).await?.is_empty();
    if !exists {
        return Err(TaxiiError::not_found(format!(
            "there is no object {:?} in collection {}",
            crate::service::shown(object_id),
            sel.entry.id
        )));
    }
    let (hits, resume) = read_page(reader, &sel, v, &[object_id.to_string()]).await?;
    Ok((sel, hits, resume))
}

pub async fn object<S: Store>(
    s: &Settings,
    reader: &Reader<'_, S>,
    req: &Request,
    viewer: &Viewer<'_>,
    c: &str,
    o: &str,
    v: Version,
) -> Result<Response, TaxiiError> {
    let (sel, hits, resume) = one_object(s, reader, req, viewer, c, o, Endpoint::Object, v).await?;
    if v == Version::V20 {
        return Ok(super::v20::bundle_response(&sel.snapshot.id, &sel.entry.id, req, &hits, 200, vec![]));
    }
    Ok(objects_response(s, &sel, v, &hits, resume))
}

pub async fn versions<S: Store>(
    s: &Settings,
    reader: &Reader<'_, S>,
    req: &Request,
    viewer: &Viewer<'_>,
    c: &str,
    o: &str,
    v: Version,
) -> Result<Response, TaxiiError> {
    let (sel, hits, resume) = one_object(s, reader, req, viewer, c, o, Endpoint::Versions, v).await?;
    let items: Vec<Vec<u8>> =
        hits.iter().map(|h| serde_json::to_vec(&h.meta().version().to_micros_string()).expect("string")).collect();
    let next = next_token(s, &sel, resume);
    Ok(content_response(v, envelope("versions", &items, next.as_deref()), false, &hits))
}
