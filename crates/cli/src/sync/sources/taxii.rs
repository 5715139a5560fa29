//! A TAXII 2.1 or 2.0 collection as a source, pulled incrementally: each cycle asks only for what was added after
//! the upstream's `X-TAXII-Date-Added-Last` of the cycle before, following `next`/`more` (2.1) or `Range` (2.0).
//! What it gave is kept in the state directory (`<state>/<name>/objects.stix`, one object per id, the latest
//! `modified`; `<state>/<name>/taxii.json`, where to resume), so each cycle serves everything pulled so far and a
//! restarted sync resumes where it stopped. The objects go through the STIX importer, served as they are.

use super::{refused, write_atomic, Pulled, SourceError};
use crate::http::{Answer, Http, Method};
use crate::sync::config::env;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

const ACCEPT_21: &str = "application/taxii+json;version=2.1";
const ACCEPT_20: &str = "application/vnd.oasis.taxii+json; version=2.0";
/// Objects asked for per page.
const PAGE: usize = 1000;

/// Where to ask and as whom.
pub struct Taxii<'a> {
    pub url: &'a str,
    pub collection: &'a str,
    pub user_env: Option<&'a str>,
    pub password_env: Option<&'a str>,
}

/// Where a source resumes: kept in `taxii.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Resume {
    /// The upstream's `X-TAXII-Date-Added-Last` of the last page pulled.
    added_after: Option<String>,
}

struct Client {
    http: Http,
    auth: Option<String>,
    v20: bool,
}

impl Client {
    fn get(&self, url: &str, range: Option<String>) -> Result<Answer, SourceError> {
        let mut headers = vec![("Accept", if self.v20 { ACCEPT_20 } else { ACCEPT_21 })];
        if let Some(a) = &self.auth {
            headers.push(("Authorization", a.as_str()));
        }
        if let Some(r) = &range {
            headers.push(("Range", r.as_str()));
        }
        Ok(self.http.send(Method::Get, url, &headers)?)
    }

    fn json(&self, url: &str) -> Result<serde_json::Value, SourceError> {
        let a = self.get(url, None)?;
        if !(200..300).contains(&a.status) {
            return Err(refused("TAXII", url, a.status, &a.body));
        }
        serde_json::from_slice(&a.body).map_err(|e| SourceError::Protocol(format!("TAXII {url}: not JSON: {e}")))
    }
}

/// Pulls what the collection added since the last cycle into the source's state under `dir`.
pub fn pull(t: &Taxii, dir: &Path) -> Result<Pulled, SourceError> {
    let auth = match (t.user_env, t.password_env) {
        (Some(u), Some(p)) => {
            let user = env(u, "the TAXII user")?;
            let password = env(p, "the TAXII password")?;
            Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))))
        }
        _ => None,
    };
    let mut client = Client { http: Http::source(), auth, v20: false };
    let root = api_root(&mut client, t.url)?;
    let objects_url = collection_objects(&client, &root, t.collection)?;
    let objects_file = dir.join("objects.stix");
    let resume_file = dir.join("taxii.json");
    let mut objects = read_objects(&objects_file)?;
    let resume: Resume = match std::fs::read(&resume_file) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
        Err(_) => Resume::default(),
    };
    let (new, last) = if client.v20 {
        pages_20(&client, &objects_url, resume.added_after.as_deref())?
    } else {
        pages_21(&client, &objects_url, resume.added_after.as_deref())?
    };
    for o in new {
        merge(&mut objects, o);
    }
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--00000000-0000-4000-8000-000000000000",
        "objects": objects.values().collect::<Vec<_>>(),
    });
    write_atomic(&objects_file, &serde_json::to_vec(&bundle).expect("JSON"))?;
    let resume = Resume { added_after: last.or(resume.added_after) };
    write_atomic(&resume_file, &serde_json::to_vec(&resume).expect("JSON"))?;
    Ok(Pulled { input: objects_file, records: objects.len(), hash: None })
}

/// The API root `url` is, or the default (else first) one its discovery names; decides 2.1 or 2.0.
fn api_root(client: &mut Client, url: &str) -> Result<String, SourceError> {
    let mut a = client.get(url, None)?;
    if a.status == 406 || a.status == 415 {
        client.v20 = true;
        a = client.get(url, None)?;
    }
    if !(200..300).contains(&a.status) {
        return Err(refused("TAXII", url, a.status, &a.body));
    }
    let doc: serde_json::Value =
        serde_json::from_slice(&a.body).map_err(|e| SourceError::Protocol(format!("TAXII {url}: not JSON: {e}")))?;
    let base = format!("{}/", url.trim_end_matches('/'));
    let Some(roots) = doc.get("api_roots") else {
        return Ok(base);
    };
    let chosen = doc
        .get("default")
        .and_then(serde_json::Value::as_str)
        .or_else(|| roots.as_array().and_then(|r| r.first()).and_then(serde_json::Value::as_str))
        .ok_or_else(|| SourceError::Protocol(format!("TAXII {url}: the discovery names no API root")))?;
    Ok(absolute(&base, chosen))
}

/// `link` against `base` (an absolute URL, or a path on base's host), ending in `/`.
fn absolute(base: &str, link: &str) -> String {
    let joined = if link.contains("://") {
        link.to_string()
    } else if let Some(path) = link.strip_prefix('/') {
        let host_end = base.find("://").map(|i| i + 3).and_then(|i| base[i..].find('/').map(|j| i + j));
        format!("{}/{path}", &base[..host_end.unwrap_or(base.len())])
    } else {
        format!("{base}{link}")
    };
    format!("{}/", joined.trim_end_matches('/'))
}

/// The objects URL of the collection named by id or title; a collection that is not there is an error.
fn collection_objects(client: &Client, root: &str, wanted: &str) -> Result<String, SourceError> {
    let doc = client.json(&format!("{root}collections/"))?;
    let found = doc
        .get("collections")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| {
            c.get("id").and_then(|v| v.as_str()) == Some(wanted)
                || c.get("title").and_then(|v| v.as_str()) == Some(wanted)
        })
        .and_then(|c| c.get("id").and_then(serde_json::Value::as_str).map(String::from))
        .ok_or_else(|| {
            SourceError::Protocol(format!(
                "TAXII {root}: no collection {wanted:?} (by id or title) is readable: it is gone, or the credentials \
                 do not reach it"
            ))
        })?;
    Ok(format!("{root}collections/{found}/objects/"))
}

fn query(url: &str, params: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let q: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
    format!("{url}?{}", q.join("&"))
}

/// What paging a collection gives: the objects, and the `X-TAXII-Date-Added-Last` of the last page that had one.
type Pages = (Vec<serde_json::Value>, Option<String>);

/// TAXII 2.1: pages by `next` while `more`; the objects and the last `X-TAXII-Date-Added-Last`.
fn pages_21(client: &Client, url: &str, after: Option<&str>) -> Result<Pages, SourceError> {
    let mut out = Vec::new();
    let mut last = None;
    let mut next: Option<String> = None;
    let limit = PAGE.to_string();
    loop {
        let mut params = vec![("limit", limit.as_str())];
        if let Some(a) = after {
            params.push(("added_after", a));
        }
        if let Some(n) = &next {
            params.push(("next", n.as_str()));
        }
        let page_url = query(url, &params);
        let a = client.get(&page_url, None)?;
        let (page, objects) = read_page(&a, &page_url)?;
        let empty = objects.is_empty();
        out.extend(objects);
        last = header_last(&a).or(last);
        let more = page.get("more").and_then(serde_json::Value::as_bool).unwrap_or(false);
        if !more {
            return Ok((out, last));
        }
        // medallion keeps one `next` for all the pages of a request: the same value again is no loop by itself.
        match page.get("next").and_then(serde_json::Value::as_str) {
            Some(n) if !empty => next = Some(n.to_string()),
            _ => {
                return Err(SourceError::Protocol(format!(
                    "TAXII {page_url}: \"more\" is true, but the page has no objects or no \"next\""
                )))
            }
        }
    }
}

/// TAXII 2.0: pages by `Range: items=a-b` while the `Content-Range` total is not reached.
fn pages_20(client: &Client, url: &str, after: Option<&str>) -> Result<Pages, SourceError> {
    let mut out = Vec::new();
    let mut last = None;
    let page_url = match after {
        Some(a) => query(url, &[("added_after", a)]),
        None => url.to_string(),
    };
    let mut start = 0usize;
    loop {
        let a = client.get(&page_url, Some(format!("items={start}-{}", start + PAGE - 1)))?;
        if a.status == 416 {
            return Ok((out, last));
        }
        let (_, objects) = read_page(&a, &page_url)?;
        let n = objects.len();
        out.extend(objects);
        last = header_last(&a).or(last);
        let total =
            a.header("content-range").and_then(|r| r.rsplit('/').next()).and_then(|t| t.trim().parse::<usize>().ok());
        start += n;
        if a.status != 206 || n == 0 || total.is_none_or(|t| start >= t) {
            return Ok((out, last));
        }
    }
}

/// A page's document and its objects: a status other than 2xx, a body that is not JSON or `objects` that is not a
/// list fails the source.
fn read_page(a: &Answer, url: &str) -> Result<(serde_json::Value, Vec<serde_json::Value>), SourceError> {
    if !(200..300).contains(&a.status) {
        return Err(refused("TAXII", url, a.status, &a.body));
    }
    let page: serde_json::Value =
        serde_json::from_slice(&a.body).map_err(|e| SourceError::Protocol(format!("TAXII {url}: not JSON: {e}")))?;
    let objects = objects_of(&page, url)?;
    Ok((page, objects))
}

fn objects_of(page: &serde_json::Value, url: &str) -> Result<Vec<serde_json::Value>, SourceError> {
    match page.get("objects") {
        Some(serde_json::Value::Array(a)) => Ok(a.clone()),
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(_) => Err(SourceError::Protocol(format!("TAXII {url}: \"objects\" is not a list"))),
    }
}

fn header_last(a: &Answer) -> Option<String> {
    a.header("x-taxii-date-added-last").map(str::to_string)
}

/// The objects kept so far, by id.
fn read_objects(path: &Path) -> Result<BTreeMap<String, serde_json::Value>, SourceError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => return Err(SourceError::State { path: path.to_path_buf(), source }),
    };
    let bundle: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        SourceError::Protocol(format!("{}: not valid ({e}): delete it to pull everything again", path.display()))
    })?;
    let mut out = BTreeMap::new();
    for o in bundle.get("objects").and_then(serde_json::Value::as_array).into_iter().flatten() {
        merge(&mut out, o.clone());
    }
    Ok(out)
}

/// Keeps the latest version of each object (by `modified`; an object without one replaces what was there).
fn merge(objects: &mut BTreeMap<String, serde_json::Value>, o: serde_json::Value) {
    let Some(id) = o.get("id").and_then(serde_json::Value::as_str).map(String::from) else { return };
    let modified = |v: &serde_json::Value| v.get("modified").and_then(serde_json::Value::as_str).map(String::from);
    match objects.get(&id) {
        Some(old) if modified(old).is_some() && modified(&o).is_some() && modified(old) > modified(&o) => {}
        _ => {
            objects.insert(id, o);
        }
    }
}
