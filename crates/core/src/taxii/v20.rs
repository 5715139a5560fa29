//! TAXII 2.0 content: objects as a STIX 2.0 bundle and the manifest, paged with `Range: items a-b`.
//!
//! Accepts `items=a-b` and `items a-b` (zero-based, inclusive); answers 206 with `Content-Range: items a-b/N`
//! and `Accept-Ranges: items`, or 416 with `Content-Range: items */N` when the range starts past the end or
//! nothing matches (`items */0`: what ends taxii2-client's 2.0 pager). The page is clamped to the server's page
//! size. An empty bundle or manifest without a Range still lists `"objects": []` (docs/PROTOCOL.md says why).

use super::context::Ctx;
use super::error::TaxiiError;
use super::filters::Endpoint;
use super::http::{Request, Response};
use super::media::Version;
use super::page::{join_into, page_headers, read_page, select, Selection};
pub use super::range::{parse_range, ItemRange};
use crate::snapshot::reader::{Hit, Reader};
use crate::store::Store;

const V: Version = Version::V20;

/// Pages skipped through at most to reach a Range offset when it cannot be computed from the index.
const MAX_SKIP_PAGES: usize = 50;

/// The page at a Range offset, and the total number of matching objects when it is known.
async fn page_at<S: Store>(
    reader: &Reader<'_, S>,
    sel: &Selection,
    offset: u64,
) -> Result<(Vec<Hit>, Option<u64>), TaxiiError> {
    if !sel.filters.ids.is_empty() || !sel.default_view() || !sel.filters.spec_versions.is_empty() {
        return skip_to(reader, sel, offset).await;
    }
    // Each stream with the number of its records at or before added_after.
    let mut ranked = Vec::new();
    for name in sel.streams(V) {
        if let Some(stream) = sel.index.streams.get(&name) {
            ranked.push((stream, reader.rank(stream, sel.after).await?));
        }
    }
    let total = ranked.iter().map(|(stream, rank)| stream.count.saturating_sub(*rank)).sum();
    match ranked.as_slice() {
        [] => Ok((vec![], Some(0))),
        [(stream, rank)] => {
            Ok((reader.from_position(stream, rank.saturating_add(offset), sel.limit).await?, Some(total)))
        }
        _ => Ok((skip_to(reader, sel, offset).await?.0, Some(total))),
    }
}

/// Reaches a Range offset by reading pages from the start: for selections the index cannot count.
async fn skip_to<S: Store>(
    reader: &Reader<'_, S>,
    sel: &Selection,
    offset: u64,
) -> Result<(Vec<Hit>, Option<u64>), TaxiiError> {
    let mut after = sel.after;
    let mut skipped = 0u64;
    for _ in 0..MAX_SKIP_PAGES {
        let want = usize::try_from(offset - skipped).unwrap_or(usize::MAX);
        let chunk = Selection { after, limit: if want == 0 { sel.limit } else { want.min(sel.limit) }, ..sel.clone() };
        let (hits, resume) = read_page(reader, &chunk, V, &sel.filters.ids).await?;
        if want == 0 {
            return Ok((hits, None));
        }
        skipped += hits.len() as u64;
        match resume {
            Some(r) => after = Some(r),
            None => return Ok((vec![], None)),
        }
    }
    Err(TaxiiError::new(
        416,
        "Range not satisfiable",
        "the range starts too deep into a filtered selection: narrow it with added_after",
    ))
}

fn bundle_id(snapshot: &str, collection: &str, req: &Request, hits: &[Hit]) -> String {
    let mut name = format!("{snapshot}/{collection}/{}", req.path);
    for (k, v) in &req.query {
        name.push_str(&format!("&{k}={v}"));
    }
    if let (Some(f), Some(l)) = (hits.first(), hits.last()) {
        name.push_str(&format!("#{}-{}", f.date(), l.date()));
    }
    // STIX 2.0 requires a UUIDv4-shaped id.
    crate::stix_id::v20_id(&format!("bundle--{}", uuid::Uuid::new_v5(&crate::stix_id::SCO_NAMESPACE, name.as_bytes())))
}

/// A STIX 2.0 bundle of the hits' 2.0 bodies (`"objects": []` when there are none).
pub(super) fn bundle_response(
    sel: &Selection,
    req: &Request,
    hits: &[Hit],
    status: u16,
    extra: Vec<(String, String)>,
) -> Response {
    let mut body = Vec::with_capacity(hits.iter().map(|h| h.body(false).len() + 1).sum::<usize>() + 128);
    body.extend_from_slice(b"{\"type\":\"bundle\",\"id\":\"");
    body.extend_from_slice(bundle_id(&sel.snapshot.id, &sel.entry.id, req, hits).as_bytes());
    body.extend_from_slice(b"\",\"spec_version\":\"2.0\",\"objects\":[");
    join_into(&mut body, hits.iter().map(|h| h.body(false)));
    body.extend_from_slice(b"]}");
    let mut headers = vec![("Content-Type".to_string(), V.stix_type().to_string())];
    page_headers(sel, hits, &mut headers);
    headers.extend(extra);
    Response { status, headers, body }
}

/// Runs a ranged 2.0 request: the selection, the page at the Range offset, and the status and headers.
async fn ranged<S: Store>(
    ctx: &Ctx<'_>,
    reader: &Reader<'_, S>,
    c: &str,
) -> Result<(Selection, Vec<Hit>, u16, Vec<(String, String)>), TaxiiError> {
    let range = parse_range(ctx.req.header("range"))?;
    let mut sel = select(ctx, reader, c, Endpoint::Objects).await?;
    let offset = range.map_or(0, |r| r.first);
    if let Some(r) = range {
        sel.limit = ((r.last - r.first).saturating_add(1).min(ctx.settings.max_limit as u64)) as usize;
    }
    let (hits, total) = page_at(reader, &sel, offset).await?;
    let total_s = total.map_or("*".to_string(), |t| t.to_string());
    let mut headers = vec![("Accept-Ranges".to_string(), "items".to_string())];
    if hits.is_empty() && offset > 0 {
        return Err(unsatisfiable(
            format!("the range starts at item {offset}, past the last item ({total_s} in all)"),
            &total_s,
        ));
    }
    // A Range over nothing: 416 with `items */0` ends a 2.0 pager (a 200 without Content-Range makes taxii2-client
    // retry without Range, and fail).
    if hits.is_empty() && range.is_some() {
        return Err(unsatisfiable("no object matches: there is no item to give".to_string(), "0"));
    }
    let partial = range.is_some() || total.is_none_or(|t| t > hits.len() as u64);
    let status = if partial && !hits.is_empty() {
        headers
            .push(("Content-Range".into(), format!("items {}-{}/{total_s}", offset, offset + hits.len() as u64 - 1)));
        206
    } else {
        200
    };
    Ok((sel, hits, status, headers))
}

fn unsatisfiable(description: String, total: &str) -> TaxiiError {
    TaxiiError::new(416, "Range not satisfiable", description)
        .with_header("Content-Range", &format!("items */{total}"))
        .with_header("Accept-Ranges", "items")
}

/// `GET …/objects/` over 2.0: a bundle of the page at the Range offset.
pub async fn objects<S: Store>(ctx: &Ctx<'_>, reader: &Reader<'_, S>, c: &str) -> Result<Response, TaxiiError> {
    let (sel, hits, status, headers) = ranged(ctx, reader, c).await?;
    Ok(bundle_response(&sel, ctx.req, &hits, status, headers))
}

/// `GET …/manifest/` over 2.0: the manifest of the page at the Range offset.
pub async fn manifest<S: Store>(ctx: &Ctx<'_>, reader: &Reader<'_, S>, c: &str) -> Result<Response, TaxiiError> {
    let (sel, hits, status, mut headers) = ranged(ctx, reader, c).await?;
    let entries: Vec<Vec<u8>> = hits
        .iter()
        .map(|h| {
            let m = h.meta();
            serde_json::to_vec(&serde_json::json!({
                "id": m.id20(),
                "date_added": m.date_added().to_micros_string(),
                "versions": [m.version().to_micros_string()],
                "media_types": [V.stix_type()],
            }))
            .expect("manifest entry serialises")
        })
        .collect();
    let mut body = b"{\"objects\":[".to_vec();
    join_into(&mut body, entries.iter().map(Vec::as_slice));
    body.extend_from_slice(b"]}");
    let mut all = vec![("Content-Type".to_string(), V.taxii_type().to_string())];
    page_headers(&sel, &hits, &mut all);
    all.append(&mut headers);
    Ok(Response { status, headers: all, body })
}
