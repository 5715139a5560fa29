//! Cortex XSOAR as a source: `POST /indicators/search` with an `IndicatorFilter` (`query`, `size` ≤ 1000,
//! `searchAfter`), as demisto-py's documented models describe it; the answer carries `iocs`, `total` and the
//! `searchAfter` cursor of the next page. XSOAR 6 takes the API key in `Authorization`; XSOAR 8 and XSIAM serve the
//! API under `/xsoar/public/v1/` and want the key id in `x-xdr-auth-id` too. The records are written as JSON lines,
//! which the XSOAR importer reads as it reads an export.

use super::{refused, write_atomic, Pulled, SourceError};
use crate::http::{Http, Method};
use crate::sync::config::env;
use std::path::Path;

/// The most indicators one search page asks for (XSOAR's own limit).
pub const PAGE: usize = 1000;

/// Where and how to ask.
pub struct Xsoar<'a> {
    pub url: &'a str,
    pub api_key_env: &'a str,
    pub auth_id_env: Option<&'a str>,
    pub query: &'a str,
}

/// Pulls every indicator the query selects into `out` (JSON lines).
pub fn pull(x: &Xsoar, out: &Path) -> Result<Pulled, SourceError> {
    let key = env(x.api_key_env, "the XSOAR API key")?;
    let auth_id = x.auth_id_env.map(|n| env(n, "the XSOAR API key id")).transpose()?;
    let base = x.url.trim_end_matches('/');
    // XSOAR 8 / XSIAM: the public API lives under /xsoar/public/v1 (unless the URL names it already).
    let url = match &auth_id {
        Some(_) if !base.ends_with("/xsoar/public/v1") => format!("{base}/xsoar/public/v1/indicators/search"),
        _ => format!("{base}/indicators/search"),
    };
    let mut headers =
        vec![("Authorization", key.as_str()), ("Content-Type", "application/json"), ("Accept", "application/json")];
    if let Some(id) = &auth_id {
        headers.push(("x-xdr-auth-id", id.as_str()));
    }
    let http = Http::source();
    let mut lines = Vec::new();
    let mut records = 0usize;
    let mut search_after: Option<serde_json::Value> = None;
    let mut total: Option<u64> = None;
    loop {
        let mut filter = serde_json::json!({ "query": x.query, "size": PAGE });
        if let Some(after) = &search_after {
            filter["searchAfter"] = after.clone();
        }
        let body = serde_json::to_vec(&filter).expect("JSON");
        let answer = http.send(Method::Post(&body), &url, &headers)?;
        if !(200..300).contains(&answer.status) {
            return Err(refused("XSOAR", &url, answer.status, &answer.body));
        }
        let page: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|e| SourceError::Protocol(format!("XSOAR {url}: the answer is not JSON: {e}")))?;
        let iocs = match page.get("iocs") {
            Some(serde_json::Value::Array(a)) => a.as_slice(),
            Some(serde_json::Value::Null) | None => &[],
            Some(_) => return Err(SourceError::Protocol(format!("XSOAR {url}: \"iocs\" is not a list"))),
        };
        total = total.or_else(|| page.get("total").and_then(serde_json::Value::as_u64));
        for ioc in iocs {
            serde_json::to_writer(&mut lines, ioc).expect("JSON");
            lines.push(b'\n');
        }
        records += iocs.len();
        let next = page.get("searchAfter").filter(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()));
        let done = iocs.is_empty() || next.is_none() || total.is_some_and(|t| records as u64 >= t);
        if done {
            break;
        }
        if next == search_after.as_ref() {
            return Err(SourceError::Protocol(format!("XSOAR {url}: searchAfter did not move: the paging is stuck")));
        }
        search_after = next.cloned();
    }
    if let Some(t) = total {
        if (records as u64) < t {
            return Err(SourceError::Protocol(format!(
                "XSOAR {url}: the search promised {t} indicators but gave {records}: try again"
            )));
        }
    }
    write_atomic(out, &lines)?;
    Ok(Pulled { input: out.to_path_buf(), records, hash: None })
}
