//! The descriptive resources: discovery, API root, collections and collection.

use super::context::Ctx;
use super::error::TaxiiError;
use super::http::{Request, Response};
use super::media::Version;
use crate::auth::Viewer;
use crate::settings::{base_url, Settings};
use crate::snapshot::reader::{Reader, Snapshot};
use crate::snapshot::CollectionEntry;
use crate::store::Store;
use serde_json::{json, Value};

/// A JSON response in the TAXII media type of `v`.
pub fn json_response(status: u16, v: Version, body: &Value) -> Response {
    Response {
        status,
        headers: vec![("Content-Type".into(), v.taxii_type().into())],
        body: serde_json::to_vec(body).expect("JSON serialises"),
    }
}

/// The absolute URL of the API root.
pub fn api_root_url(s: &Settings, req: &Request) -> String {
    format!("{}/{}/", base_url(s, req), s.api_root)
}

/// `GET /taxii2/` or `/taxii/`: the server and its API root.
pub fn discovery(ctx: &Ctx<'_>) -> Response {
    let (s, v) = (ctx.settings, ctx.version);
    let root = api_root_url(s, ctx.req);
    let mut body = json!({"title": s.title, "description": s.description, "default": root, "api_roots": [root]});
    if let Some(c) = &s.contact {
        body["contact"] = json!(c);
    }
    json_response(200, v, &body)
}

/// `GET /<api root>/`: its title and the versions it speaks.
pub fn api_root(ctx: &Ctx<'_>) -> Response {
    let (s, v) = (ctx.settings, ctx.version);
    let versions = match v {
        Version::V21 => json!([Version::V21.taxii_type()]),
        Version::V20 => json!(["taxii-2.0"]),
    };
    json_response(
        200,
        v,
        &json!({"title": s.title, "description": s.description, "versions": versions, "max_content_length": 104_857_600}),
    )
}

fn collection_json(c: &CollectionEntry, v: Version) -> Value {
    let mut o = json!({
        "id": c.id,
        "title": c.title,
        "can_read": true,
        "can_write": false,
        "media_types": [v.stix_type()],
    });
    if !c.description.is_empty() {
        o["description"] = json!(c.description);
    }
    if let Some(a) = &c.alias {
        o["alias"] = json!(a);
    }
    o
}

/// The collections the viewer may read; the others are not listed.
pub async fn collections<S: Store>(ctx: &Ctx<'_>, reader: &Reader<'_, S>) -> Result<Response, TaxiiError> {
    let (viewer, v) = (ctx.viewer, ctx.version);
    let snap = reader.current().await?;
    let list: Vec<Value> =
        snap.manifest.collections.iter().filter(|c| viewer.may_read(c)).map(|c| collection_json(c, v)).collect();
    let body = if list.is_empty() { json!({}) } else { json!({ "collections": list }) };
    Ok(json_response(200, v, &body))
}

/// `GET …/collections/<id>/`: one collection the caller may read.
pub async fn collection<S: Store>(ctx: &Ctx<'_>, reader: &Reader<'_, S>, id: &str) -> Result<Response, TaxiiError> {
    let (_, c) = find_collection(ctx, reader, id).await?;
    Ok(json_response(200, ctx.version, &collection_json(&c, ctx.version)))
}

/// The current snapshot and the collection named by id or alias that the viewer may read, or the viewer's
/// answer for a collection that does not exist (see [`Ctx::no_such_collection`]).
pub async fn find_collection<S: Store>(
    ctx: &Ctx<'_>,
    reader: &Reader<'_, S>,
    id: &str,
) -> Result<(Snapshot, CollectionEntry), TaxiiError> {
    let snap = reader.current().await?;
    let found = lookup(&snap, &ctx.viewer, id).cloned();
    found.map(|c| (snap, c)).ok_or_else(|| ctx.no_such_collection(id))
}

/// A collection of a snapshot by id or alias, if the viewer may read it: the others do not exist for it.
pub fn lookup<'s>(snap: &'s Snapshot, viewer: &Viewer<'_>, id: &str) -> Option<&'s CollectionEntry> {
    snap.manifest.collections.iter().find(|c| (c.id == id || c.alias.as_deref() == Some(id)) && viewer.may_read(c))
}
