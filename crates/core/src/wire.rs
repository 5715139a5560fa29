//! The admin API's wire contract, shared by the worker's admin handler and the CLI's client: the paths, the
//! requests and the answers, and the rules both sides check (blob keys, batch sizes).
//!
//! The worker serialises the answers below and the CLI deserialises them, so the two cannot drift apart. Field
//! order is the JSON order on the wire (serde_json keeps it): do not reorder fields.

use crate::duration::{parse_duration, DurationError};
use crate::snapshot::format::SourceSync;
use crate::store::Listed;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// `POST`: a JSON list of blob keys (at most [`MAX_KEYS_PER_CALL`]); answers [`Missing`].
pub const MISSING: &str = "/admin/missing";
/// `GET`: the current pointer (`snapshot::format::Pointer`, as stored; 404 when nothing is published);
/// `PUT`: [`SwitchRequest`], answers [`Switched`].
pub const CURRENT: &str = "/admin/current";
/// `GET` (query `cursor`, `limit`): a page of the store's listing, [`BlobPage`].
pub const BLOBS: &str = "/admin/blobs";
/// Followed by a blob key: `PUT` uploads the blob (answers [`Stored`], 201), `GET` reads it.
pub const BLOB_PREFIX: &str = "/admin/blobs/";
/// `POST`: a JSON list of blob keys (at most `store::MAX_BATCH`); answers [`Deleted`].
pub const DELETE: &str = "/admin/delete";

/// Keys one `missing` call may ask about.
pub const MAX_KEYS_PER_CALL: usize = 50;

/// The largest blob upload the worker takes (`PUT` [`BLOB_PREFIX`]`<key>`; larger is a 413, refused from its
/// `Content-Length` before a byte is read). A build writes segments of at most
/// [`SEGMENT_RECORDS`](crate::snapshot::format::SEGMENT_RECORDS) records (measured: 1.48 MB the largest of a
/// 30,000-indicator build of every XSOAR type, 0.43 MB the demo's), id shards of about
/// [`SHARD_ENTRIES`](crate::snapshot::format::SHARD_ENTRIES) entries (0.19 MB), and indexes and manifests that
/// grow by a few hundred bytes per segment (17 KB and 1.5 KB there). The build bounds a segment by records, not
/// bytes: 32 MiB leaves room for objects twenty times the size of those, while one upload, held once, stays far
/// below an isolate's 128 MB.
pub const MAX_BLOB_BYTES: usize = 32 << 20;

/// The largest body of the JSON calls ([`MISSING`], [`CURRENT`], [`DELETE`]): 1,000 keys are about 50 KB.
pub const MAX_JSON_BYTES: usize = 1 << 20;

/// The most a request to `path` with `method` may carry: [`MAX_BLOB_BYTES`] for a blob upload, else
/// [`MAX_JSON_BYTES`].
pub fn max_body(method: &str, path: &str) -> usize {
    if method == "PUT" && path.starts_with(BLOB_PREFIX) {
        MAX_BLOB_BYTES
    } else {
        MAX_JSON_BYTES
    }
}

/// The path of one blob: [`BLOB_PREFIX`] and its key.
pub fn blob_path(key: &str) -> String {
    format!("{BLOB_PREFIX}{key}")
}

/// Whether a key names a content-addressed blob: `<kind>/<32 hex digits>`.
pub fn valid_blob_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((kind, hash)) => {
            matches!(kind, "segment" | "index" | "manifest" | "ids")
                && hash.len() == 32
                && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        None => false,
    }
}

/// The answer to [`MISSING`]: the asked keys the store lacks, and the snapshot formats the worker reads (a
/// publish checks them before it uploads: a worker from before format 3 does not send them, and reads format 2
/// only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    pub missing: Vec<String>,
    #[serde(default)]
    pub formats: Vec<u32>,
}

/// One blob of a [`BlobPage`]; `uploaded` is written as `Timestamp::to_micros_string` does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedBlob {
    pub key: String,
    pub uploaded: Timestamp,
    pub size: u64,
}

impl From<&Listed> for ListedBlob {
    fn from(l: &Listed) -> ListedBlob {
        ListedBlob { key: l.key.clone(), uploaded: l.uploaded, size: l.size }
    }
}

impl From<ListedBlob> for Listed {
    fn from(b: ListedBlob) -> Listed {
        Listed { key: b.key, uploaded: b.uploaded, size: b.size }
    }
}

/// The answer to `GET` [`BLOBS`]: a page of keys and where the next starts (`null`: this was the last).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobPage {
    pub blobs: Vec<ListedBlob>,
    pub cursor: Option<String>,
}

/// The answer to [`DELETE`]: how many blobs were deleted, and the keys refused because the current snapshot
/// reaches them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub deleted: usize,
    pub refused: Vec<String>,
}

/// The request of `PUT` [`CURRENT`]: the manifest to make current, how long the snapshot it replaces stays in the
/// pointer's history (a duration such as `"24h"`; missing or `null`: the worker's default), the snapshot the
/// publisher saw current ([`Replaces`]: the switch is a compare-and-swap on it) and whether it means to go back to
/// a snapshot that was current before (`rollback`).
///
/// The worker reads it with [`SwitchRequest::from_value`], each bad field with its own message
/// ([`SwitchRequestError`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwitchRequest {
    pub manifest: String,
    pub keep: Option<String>,
    pub replaces: Replaces,
    pub rollback: bool,
    /// What `taxii-edge sync` pulled for this snapshot (kept in the pointer for `/api/status`); empty otherwise.
    pub sources: Vec<SourceSync>,
}

/// What a switch says it replaces: the `"replaces"` field of a [`SwitchRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replaces {
    /// No `"replaces"` field: a CLI older than the compare-and-swap. The worker takes such a switch only when it
    /// moves forward (its manifest was built after the current one).
    Unstated,
    /// `"replaces": null`: the publisher saw nothing published.
    Nothing,
    /// `"replaces": "<snapshot id>"`: the publisher saw this snapshot current.
    Snapshot(String),
}

impl Replaces {
    /// What a publisher that saw `current` (a snapshot id, or nothing published) says it replaces.
    pub fn seen(current: Option<&str>) -> Replaces {
        current.map_or(Replaces::Nothing, |s| Replaces::Snapshot(s.to_string()))
    }
}

impl Serialize for SwitchRequest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("manifest", &self.manifest)?;
        map.serialize_entry("keep", &self.keep)?;
        match &self.replaces {
            Replaces::Unstated => {}
            Replaces::Nothing => map.serialize_entry("replaces", &())?,
            Replaces::Snapshot(id) => map.serialize_entry("replaces", id)?,
        }
        if self.rollback {
            map.serialize_entry("rollback", &true)?;
        }
        if !self.sources.is_empty() {
            map.serialize_entry("sources", &self.sources)?;
        }
        map.end()
    }
}

/// Why a [`SwitchRequest`] was refused; the worker answers 400 with the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SwitchRequestError {
    /// `"keep"` is neither a string nor `null`.
    #[error("\"keep\" must be a duration such as \"24h\"")]
    KeepNotText,
    /// `"keep"` is a string but not a duration.
    #[error(transparent)]
    Keep(#[from] DurationError),
    /// `"manifest"` is missing or not a manifest key.
    #[error("\"manifest\" must be a manifest key, manifest/<32 hex digits>")]
    Manifest,
    /// `"replaces"` is neither `null` nor a snapshot id.
    #[error("\"replaces\" must be the id of the snapshot this switch replaces (32 hex digits), or null when nothing is published")]
    Replaces,
    /// `"rollback"` is not a boolean.
    #[error("\"rollback\" must be true or false")]
    Rollback,
    /// `"sources"` is not a list of `{"name", "synced", "records"}`.
    #[error("\"sources\" must be a list of {{\"name\", \"synced\", \"records\"}}: {0}")]
    Sources(String),
    /// `"rollback": true` without `"replaces"`.
    #[error("a rollback must name the snapshot it replaces (\"replaces\")")]
    RollbackUnstated,
}

/// Whether `id` is a snapshot id: 32 lowercase hex digits.
pub fn valid_snapshot_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl SwitchRequest {
    /// The request as the worker reads it from the body's JSON: `"keep"` first (missing or `null`: the default; a
    /// duration string), then `"manifest"` (a manifest key), `"replaces"` (missing: [`Replaces::Unstated`]; `null`;
    /// a snapshot id) and `"rollback"` (missing or a boolean; `true` needs `"replaces"`). Other fields are ignored;
    /// JSON that is not an object has no fields.
    pub fn from_value(body: &serde_json::Value) -> Result<SwitchRequest, SwitchRequestError> {
        let keep = match body.get("keep") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(k)) => {
                parse_duration(k)?;
                Some(k.clone())
            }
            Some(_) => return Err(SwitchRequestError::KeepNotText),
        };
        let manifest = match body.get("manifest").and_then(serde_json::Value::as_str) {
            Some(key) if key.starts_with("manifest/") && valid_blob_key(key) => key.to_string(),
            _ => return Err(SwitchRequestError::Manifest),
        };
        let replaces = match body.get("replaces") {
            None => Replaces::Unstated,
            Some(serde_json::Value::Null) => Replaces::Nothing,
            Some(serde_json::Value::String(id)) if valid_snapshot_id(id) => Replaces::Snapshot(id.clone()),
            Some(_) => return Err(SwitchRequestError::Replaces),
        };
        let rollback = match body.get("rollback") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(_) => return Err(SwitchRequestError::Rollback),
        };
        if rollback && replaces == Replaces::Unstated {
            return Err(SwitchRequestError::RollbackUnstated);
        }
        let sources = match body.get("sources") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(v) => Vec::<SourceSync>::deserialize(v).map_err(|e| SwitchRequestError::Sources(e.to_string()))?,
        };
        Ok(SwitchRequest { manifest, keep, replaces, rollback, sources })
    }

    /// How long the replaced snapshot stays in the history, micros (`None`: the worker's default).
    pub fn keep_micros(&self) -> Result<Option<i64>, DurationError> {
        self.keep.as_deref().map(parse_duration).transpose()
    }
}

/// The answer `PUT` [`CURRENT`] gives (409) when the switch does not replace what is current: another publish came
/// first, or the request is stale or replayed. `current` is the snapshot current now (`null`: nothing published),
/// so the publisher can rebuild on it. A 409 without `current` is another refusal (a blob not uploaded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchConflict {
    pub error: String,
    pub current: Option<String>,
}

/// The answer to `PUT` [`CURRENT`]: the snapshot now current and when it was published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switched {
    pub current: String,
    pub published: Timestamp,
}

/// The answer to an upload (`PUT` [`BLOB_PREFIX`]`<key>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub stored: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes the worker sent before these types existed (built with `json!`), field for field.
    #[test]
    fn the_answers_serialise_as_before() {
        let t = Timestamp(1_700_000_000_123_456);
        let page = BlobPage {
            blobs: vec![ListedBlob { key: "segment/00".into(), uploaded: t, size: 3 }],
            cursor: Some("c".into()),
        };
        let before = serde_json::json!({
            "blobs": [serde_json::json!({ "key": "segment/00", "uploaded": t.to_micros_string(), "size": 3 })],
            "cursor": "c",
        });
        assert_eq!(serde_json::to_vec(&page).unwrap(), serde_json::to_vec(&before).unwrap());
        let last = BlobPage { blobs: vec![], cursor: None };
        assert_eq!(serde_json::to_string(&last).unwrap(), r#"{"blobs":[],"cursor":null}"#);
        let switched = Switched { current: "abc".into(), published: t };
        let before = serde_json::json!({ "current": "abc", "published": t.to_micros_string() });
        assert_eq!(serde_json::to_vec(&switched).unwrap(), serde_json::to_vec(&before).unwrap());
        let deleted = Deleted { deleted: 2, refused: vec!["index/1".into()] };
        assert_eq!(serde_json::to_string(&deleted).unwrap(), r#"{"deleted":2,"refused":["index/1"]}"#);
        let missing = Missing { missing: vec!["ids/2".into()], formats: vec![2, 3] };
        assert_eq!(serde_json::to_string(&missing).unwrap(), r#"{"missing":["ids/2"],"formats":[2,3]}"#);
        // What a worker from before format 3 answers: it reads format 2 only.
        let old: Missing = serde_json::from_str(r#"{"missing":[]}"#).unwrap();
        assert!(old.formats.is_empty());
        assert_eq!(serde_json::to_string(&Stored { stored: "ids/2".into() }).unwrap(), r#"{"stored":"ids/2"}"#);
        let switch = SwitchRequest {
            manifest: "manifest/1".into(),
            keep: None,
            replaces: Replaces::Unstated,
            rollback: false,
            sources: vec![],
        };
        assert_eq!(serde_json::to_string(&switch).unwrap(), r#"{"manifest":"manifest/1","keep":null}"#);
    }

    /// What the worker read field by field before the request was read as a [`SwitchRequest`].
    #[test]
    fn switch_requests_are_read_and_checked_as_before() {
        let key = "manifest/0123456789abcdef0123456789abcdef";
        let read = |body: &str| {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            SwitchRequest::from_value(&v).map_err(|e| e.to_string())
        };
        let sent = SwitchRequest {
            manifest: key.into(),
            keep: Some("24h".into()),
            replaces: Replaces::Unstated,
            rollback: false,
            sources: vec![],
        };
        assert_eq!(read(&serde_json::to_string(&sent).unwrap()), Ok(sent.clone()));
        assert_eq!(sent.keep_micros(), Ok(Some(24 * 3600 * 1_000_000)));
        let default = SwitchRequest {
            manifest: key.into(),
            keep: None,
            replaces: Replaces::Unstated,
            rollback: false,
            sources: vec![],
        };
        for body in [
            format!(r#"{{"manifest": "{key}"}}"#),
            format!(r#"{{"manifest": "{key}", "keep": null}}"#),
            format!(r#"{{"keep": null, "manifest": "{key}", "other": [1]}}"#),
            format!(r#"{{"manifest": 1, "manifest": "{key}"}}"#),
        ] {
            assert_eq!(read(&body), Ok(default.clone()), "{body}");
        }
        let keep = r#""keep" must be a duration such as "24h""#;
        let manifest = r#""manifest" must be a manifest key, manifest/<32 hex digits>"#;
        let not_a_duration = crate::duration::parse_duration("soon").unwrap_err().to_string();
        for (body, says) in [
            (format!(r#"{{"manifest": "{key}", "keep": 5}}"#), keep),
            (r#"{"manifest": 5, "keep": [1]}"#.to_string(), keep),
            (r#"{"manifest": "x", "keep": "soon"}"#.to_string(), &not_a_duration),
            (format!(r#"{{"manifest": "{key}", "keep": "soon"}}"#), &not_a_duration),
            (r#"{"keep": "1h"}"#.to_string(), manifest),
            (r#"{"manifest": null}"#.to_string(), manifest),
            (r#"{"manifest": "index/0123456789abcdef0123456789abcdef"}"#.to_string(), manifest),
            (r#"{"manifest": "manifest/0123"}"#.to_string(), manifest),
            (r#"{"manifest": {"key": 1}, "keep": "1h"}"#.to_string(), manifest),
            (format!(r#"["{key}", "1h"]"#), manifest),
            (r#""manifest""#.to_string(), manifest),
            ("null".to_string(), manifest),
            ("7".to_string(), manifest),
            ("-7.5".to_string(), manifest),
            ("true".to_string(), manifest),
        ] {
            assert_eq!(read(&body), Err(says.to_string()), "{body}");
        }
    }

    /// `"replaces"` and `"rollback"`: what the compare-and-swap reads, and what the CLI writes reads back.
    #[test]
    fn replaces_and_rollback_are_read_and_written() {
        let key = "manifest/0123456789abcdef0123456789abcdef";
        let id = "fedcba9876543210fedcba9876543210";
        let read = |body: String| {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            SwitchRequest::from_value(&v).map_err(|e| e.to_string())
        };
        let req = |replaces, rollback| SwitchRequest {
            manifest: key.into(),
            keep: None,
            replaces,
            rollback,
            sources: vec![],
        };
        for sent in [
            req(Replaces::Nothing, false),
            req(Replaces::Snapshot(id.into()), false),
            req(Replaces::Snapshot(id.into()), true),
            req(Replaces::Nothing, true),
            req(Replaces::Unstated, false),
        ] {
            assert_eq!(read(serde_json::to_string(&sent).unwrap()), Ok(sent.clone()));
        }
        assert_eq!(
            serde_json::to_string(&req(Replaces::Snapshot(id.into()), true)).unwrap(),
            format!(r#"{{"manifest":"{key}","keep":null,"replaces":"{id}","rollback":true}}"#)
        );
        assert_eq!(
            serde_json::to_string(&req(Replaces::Nothing, false)).unwrap(),
            format!(r#"{{"manifest":"{key}","keep":null,"replaces":null}}"#)
        );
        assert_eq!(
            read(format!(r#"{{"manifest":"{key}","rollback":null,"replaces":null}}"#)),
            Ok(req(Replaces::Nothing, false))
        );
        let replaces = SwitchRequestError::Replaces.to_string();
        let rollback = SwitchRequestError::Rollback.to_string();
        let unstated = SwitchRequestError::RollbackUnstated.to_string();
        for (body, says) in [
            (format!(r#"{{"manifest":"{key}","replaces":""}}"#), &replaces),
            (format!(r#"{{"manifest":"{key}","replaces":"{}"}}"#, id.to_uppercase()), &replaces),
            (format!(r#"{{"manifest":"{key}","replaces":"manifest/{id}"}}"#), &replaces),
            (format!(r#"{{"manifest":"{key}","replaces":7}}"#), &replaces),
            (format!(r#"{{"manifest":"{key}","replaces":null,"rollback":"yes"}}"#), &rollback),
            (format!(r#"{{"manifest":"{key}","rollback":true}}"#), &unstated),
        ] {
            assert_eq!(read(body.clone()), Err(says.clone()), "{body}");
        }
        assert_eq!(Replaces::seen(None), Replaces::Nothing);
        assert_eq!(Replaces::seen(Some(id)), Replaces::Snapshot(id.into()));
    }

    #[test]
    fn a_page_reads_back() {
        let page = BlobPage {
            blobs: vec![ListedBlob { key: "index/ab".into(), uploaded: Timestamp(5), size: 9 }],
            cursor: None,
        };
        let back: BlobPage = serde_json::from_slice(&serde_json::to_vec(&page).unwrap()).unwrap();
        assert_eq!(back, page);
    }
}
