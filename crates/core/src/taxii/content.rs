//! The content endpoints: objects, manifest, object by id and versions, over TAXII 2.1 and 2.0.
//!
//! 2.1 pages with `limit` and signed `next` tokens; 2.0 with `Range: items a-b` (see [`super::v20`]). Results
//! are in ascending date_added order, and `X-TAXII-Date-Added-First`/`-Last` (microseconds) frame every page
//! (an empty one too: see [`super::page::page_headers`]). An empty page is an envelope with an empty list,
//! which every client reads (docs/PROTOCOL.md says why). The selection and its pages are [`super::page`]'s.

use super::context::Ctx;
use super::error::TaxiiError;
use super::filters::Endpoint;
use super::http::Response;
use super::media::Version;
use super::page::{join_into, page_headers, read_page, select, versions_of, Selection};
use super::token::{self, Cursor};
use super::v20;
use crate::snapshot::reader::{Hit, Reader};
use crate::store::Store;
use crate::text::shown;
use crate::time::Timestamp;

fn next_token(ctx: &Ctx<'_>, sel: &Selection, resume: Option<Timestamp>) -> Option<String> {
    resume.map(|a| {
        let cursor =
            Cursor { s: sel.snapshot.id.clone(), c: sel.entry.id.clone(), f: sel.filters.canonical_string(), a: a.0 };
        token::encode(&cursor, &ctx.settings.next_secret)
    })
}

/// `{"more":…,"next":…,"<key>":[items]}`; with no items, `{"more":false,"<key>":[]}`, not the bare `{}` that
/// clients reading `<key>` unconditionally fail on. Public for the render benchmark.
pub fn envelope<T: AsRef<[u8]>>(key: &str, items: &[T], next: Option<&str>) -> Vec<u8> {
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

fn content_response(v: Version, body: Vec<u8>, stix: bool, sel: &Selection, hits: &[Hit]) -> Response {
    let ct = if stix && v == Version::V20 { v.stix_type() } else { v.taxii_type() };
    let mut headers = vec![("Content-Type".to_string(), ct.to_string())];
    page_headers(sel, hits, &mut headers);
    Response { status: 200, headers, body }
}

/// `GET …/objects/`: a page of the collection's objects (2.0: a bundle, see [`v20::objects`]).
pub async fn objects<S: Store>(ctx: &Ctx<'_>, reader: &Reader<'_, S>, c: &str) -> Result<Response, TaxiiError> {
    if ctx.version == Version::V20 {
        return v20::objects(ctx, reader, c).await;
    }
    let sel = select(ctx, reader, c, Endpoint::Objects).await?;
    let (hits, resume) = read_page(reader, &sel, ctx.version, &sel.filters.ids).await?;
    Ok(objects_response(ctx, &sel, &hits, resume))
}

/// A 2.1 envelope of the hits' bodies, straight from their segments.
fn objects_response(ctx: &Ctx<'_>, sel: &Selection, hits: &[Hit], resume: Option<Timestamp>) -> Response {
    let v = ctx.version;
    let v21 = sel.bodies21(v);
    let items: Vec<&[u8]> = hits.iter().map(|h| h.body(v21)).collect();
    let next = next_token(ctx, sel, resume);
    content_response(v, envelope("objects", &items, next.as_deref()), true, sel, hits)
}

fn manifest_record(h: &Hit, v21: bool) -> Vec<u8> {
    let m = h.meta();
    let (id, media) = if v21 { (m.id, Version::V21.stix_type()) } else { (m.id20(), Version::V20.stix_type()) };
    serde_json::to_vec(&serde_json::json!({
        "id": id,
        "date_added": m.date_added().to_micros_string(),
        "version": m.version().to_micros_string(),
        "media_type": media,
    }))
    .expect("manifest record serialises")
}

/// `GET …/manifest/`: a page of the collection's manifest (2.0: see [`v20::manifest`]).
pub async fn manifest<S: Store>(ctx: &Ctx<'_>, reader: &Reader<'_, S>, c: &str) -> Result<Response, TaxiiError> {
    if ctx.version == Version::V20 {
        return v20::manifest(ctx, reader, c).await;
    }
    let v = ctx.version;
    let sel = select(ctx, reader, c, Endpoint::Manifest).await?;
    let (hits, resume) = read_page(reader, &sel, v, &sel.filters.ids).await?;
    let v21 = sel.bodies21(v);
    let items: Vec<Vec<u8>> = hits.iter().map(|h| manifest_record(h, v21)).collect();
    let next = next_token(ctx, &sel, resume);
    Ok(content_response(v, envelope("objects", &items, next.as_deref()), false, &sel, &hits))
}

/// Every version of one object in the selection, or a 404 that names it.
async fn one_object<S: Store>(
    ctx: &Ctx<'_>,
    reader: &Reader<'_, S>,
    c: &str,
    object_id: &str,
    endpoint: Endpoint,
) -> Result<(Selection, Vec<Hit>, Option<Timestamp>), TaxiiError> {
    let sel = select(ctx, reader, c, endpoint).await?;
    let exists = !versions_of(reader, &sel.index, object_id).await?.is_empty();
    if !exists {
        return Err(TaxiiError::not_found(format!(
            "there is no object {:?} in collection {}",
            shown(object_id),
            sel.entry.id
        )));
    }
    let (hits, resume) = read_page(reader, &sel, ctx.version, &[object_id.to_string()]).await?;
    Ok((sel, hits, resume))
}

/// `GET …/objects/<id>/`: the object's versions the filters select (2.0: a bundle).
pub async fn object<S: Store>(ctx: &Ctx<'_>, reader: &Reader<'_, S>, c: &str, o: &str) -> Result<Response, TaxiiError> {
    let (sel, hits, resume) = one_object(ctx, reader, c, o, Endpoint::Object).await?;
    if ctx.version == Version::V20 {
        return Ok(v20::bundle_response(&sel, ctx.req, &hits, 200, vec![]));
    }
    Ok(objects_response(ctx, &sel, &hits, resume))
}

/// `GET …/objects/<id>/versions/`: the object's version timestamps.
pub async fn versions<S: Store>(
    ctx: &Ctx<'_>,
    reader: &Reader<'_, S>,
    c: &str,
    o: &str,
) -> Result<Response, TaxiiError> {
    let (sel, hits, resume) = one_object(ctx, reader, c, o, Endpoint::Versions).await?;
    let items: Vec<Vec<u8>> =
        hits.iter().map(|h| serde_json::to_vec(&h.meta().version().to_micros_string()).expect("string")).collect();
    let next = next_token(ctx, &sel, resume);
    Ok(content_response(ctx.version, envelope("versions", &items, next.as_deref()), false, &sel, &hits))
}
