//! The Cortex XSOAR indicator importer: `searchIndicators` output as a list, as `{"iocs": […]}`, as one
//! object, or JSON lines.
//!
//! Required per record: `value` and the type, as `indicator_type` (UI exports, `searchIndicators`) or `type`
//! (some API paths). `score` (0–3, or the names Unknown/None, Good, Suspicious, Bad) defaults to 0,
//! `timestamp` to `modified`, `modified` to `timestamp`; a record with neither is an error (its version would
//! be unknowable). `CustomFields` (or `customFields`) are merged into the field map (lower-cased names) over the
//! top-level fields.

use super::{Imported, RecordError};
use crate::indicator::{created_and_modified, mirror_tags, Indicator, Relationship};
use edge_core::time::{TimeError, Timestamp};
use serde_json::{Map, Value};

/// Reads XSOAR indicators from `text`; `name` is the file name used in positions.
pub fn import_str(name: &str, text: &str) -> Result<Imported, RecordError> {
    let trimmed = text.trim_start();
    let mut out = Imported::default();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let whole_doc = serde_json::from_str::<Value>(text);
        if let Err(e) = &whole_doc {
            // A list, or an object spread over lines, is not JSON lines: say where the JSON breaks. JSON lines
            // have whole objects on lines of their own (a bad one among them is reported by its line).
            let looks_like_lines = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(10)
                .any(|l| matches!(serde_json::from_str::<Value>(l), Ok(Value::Object(_))));
            if trimmed.starts_with('[') || !looks_like_lines {
                return Err(whole(name, &format!("not valid JSON: {e}")));
            }
        }
        if let Ok(doc) = whole_doc {
            let records = match doc {
                Value::Array(items) => items,
                Value::Object(mut obj) => match obj.remove("iocs") {
                    Some(Value::Array(items)) => items,
                    Some(_) => return Err(whole(name, "\"iocs\" is not a list of indicators")),
                    None if obj.contains_key("value") => vec![Value::Object(obj)],
                    None if obj.get("type").and_then(Value::as_str) == Some("bundle") => {
                        return Err(whole(
                            name,
                            "this is a STIX bundle, which is not an input format yet: export the indicators from \
                             XSOAR as JSON (searchIndicators) or CSV",
                        ))
                    }
                    None => {
                        return Err(whole(name, "a JSON object needs an \"iocs\" list (the searchIndicators shape)"))
                    }
                },
                _ => return Err(whole(name, "expected a list of indicators or {\"iocs\": […]}")),
            };
            for (i, record) in records.into_iter().enumerate() {
                push(&mut out, format!("{name}:[{i}]"), record);
            }
            return Ok(out);
        }
    }
    // JSON lines: one indicator per line, blank lines allowed.
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let position = format!("{name}:{}", i + 1);
        match serde_json::from_str::<Value>(line) {
            Ok(record) => push(&mut out, position, record),
            Err(e) => out.errors.push(RecordError { position, reason: format!("not JSON: {e}") }),
        }
    }
    if out.indicators.is_empty() && out.errors.is_empty() {
        return Err(whole(name, "no indicators found (expected XSOAR indicator JSON or JSON lines)"));
    }
    Ok(out)
}

/// Whether a file that starts with `head` (its first bytes, not all of it) is XSOAR JSON lines that
/// [`import_str`] would read line by line, and so can be streamed: `Some(n)` with the length of its byte-order
/// mark. That is when the file is not named or shaped as another format, and its first non-blank line is a whole
/// JSON object followed by more than whitespace (so the file is not one JSON document). Anything else gets
/// `None` and is read whole, which keeps every message exactly as [`super::import_file`] gives it.
pub fn streamable_lines(name: &str, head: &[u8]) -> Option<usize> {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return None;
    }
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // Cut inside a character at the end of the head: fine; a bad byte inside it: read whole for the error.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    match super::Format::from_name(name).unwrap_or_else(|| super::Format::sniff(text)) {
        super::Format::Xsoar if !super::stix::looks_like_stix(text) => {}
        _ => return None,
    }
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[bom..];
    if !body.trim_start().starts_with('{') {
        return None;
    }
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        at += line.len();
        if !line.ends_with('\n') {
            return None; // the first line does not end in the head
        }
        if line.trim().is_empty() {
            continue;
        }
        let rest = &body.as_bytes()[at..];
        let more = rest.iter().any(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        return match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(_)) if more => Some(bom),
            _ => None,
        };
    }
    None
}

/// Reads XSOAR JSON lines from `reader` (a file that [`streamable_lines`] accepted; `bom` bytes of byte-order mark
/// first), handing each record to `each` as it is read: the records and messages [`import_str`] gives.
pub fn stream_lines(
    name: &str,
    reader: impl std::io::BufRead,
    bom: usize,
    each: &mut dyn FnMut(Result<Indicator, RecordError>),
) -> Result<(), RecordError> {
    for_each_line(name, reader, bom, &mut |number, line| each(parse_line(&format!("{name}:{number}"), line)))
}

/// Hands each non-blank line of XSOAR JSON lines from `reader` to `each` with its line number, without its line
/// end (see [`stream_lines`]); [`parse_line`] makes the record of one. A file that is not UTF-8 is an error for
/// the whole file, naming the first bad byte.
pub fn for_each_line(
    name: &str,
    mut reader: impl std::io::BufRead,
    bom: usize,
    each: &mut dyn FnMut(usize, &str),
) -> Result<(), RecordError> {
    let mut buf = Vec::new();
    let mut offset = 0usize; // of the line in the file
    let mut number = 0usize;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| whole(name, &format!("cannot read the file: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let start = if number == 1 { bom } else { 0 };
        let line = match std::str::from_utf8(&buf[start..]) {
            Ok(line) => line,
            Err(e) => {
                let at = offset + start + e.valid_up_to();
                return Err(whole(
                    name,
                    &format!(
                        "the file is not UTF-8 text (first bad byte at line {number}, byte {}): save it as UTF-8",
                        at + 1
                    ),
                ));
            }
        };
        offset += n;
        let line = line.strip_suffix('\n').map_or(line, |l| l.strip_suffix('\r').unwrap_or(l));
        if line.trim().is_empty() {
            continue;
        }
        each(number, line);
    }
}

/// The record of one line of XSOAR JSON lines, `position` naming it in messages.
pub fn parse_line(position: &str, line: &str) -> Result<Indicator, RecordError> {
    let position = position.to_string();
    match serde_json::from_str::<Value>(line) {
        Ok(record) => indicator_from(&position, record).map_err(|e| RecordError { position, reason: e.to_string() }),
        Err(e) => Err(RecordError { position, reason: format!("not JSON: {e}") }),
    }
}

fn whole(name: &str, reason: &str) -> RecordError {
    RecordError { position: name.to_string(), reason: reason.to_string() }
}

fn push(out: &mut Imported, position: String, record: Value) {
    match indicator_from(&position, record) {
        Ok(ind) => out.indicators.push(ind),
        Err(e) => out.errors.push(RecordError { position, reason: e.to_string() }),
    }
}

/// What is wrong with an XSOAR indicator record (the reason of its [`RecordError`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum XsoarRecordError {
    #[error("an indicator must be a JSON object")]
    NotAnObject,
    #[error("missing \"value\"")]
    MissingValue,
    #[error("\"value\" is empty")]
    EmptyValue,
    #[error("missing \"indicator_type\" (or \"type\"): the XSOAR type, e.g. \"IP\"")]
    MissingType,
    #[error("\"score\" must be 0, 1, 2 or 3, not {0}")]
    ScoreOutOfRange(serde_json::Number),
    #[error("\"score\" must be 0, 1, 2 or 3 or Unknown, Good, Suspicious, Bad, not \"{0}\"")]
    ScoreName(String),
    #[error("\"score\" must be a number 0–3, not {0}")]
    ScoreType(Value),
    #[error("missing both \"timestamp\" and \"modified\": the version is unknowable")]
    NoVersion,
    #[error("\"{0}\" must be an object")]
    NotAnObjectField(&'static str),
    #[error("\"{field}\": expected strings, found {found}")]
    NotStrings { field: &'static str, found: Value },
    #[error("\"{field}\": expected a list of strings, found {found}")]
    NotAList { field: &'static str, found: Value },
    #[error("\"{key}\" must be a string, not {found}")]
    NotAString { key: &'static str, found: Value },
    #[error("\"{key}\": {reason}")]
    Time { key: &'static str, reason: TimeError },
    #[error("\"relationships\" must be a list")]
    RelationshipsNotAList,
    #[error("relationships[{0}] must be an object")]
    RelationshipNotAnObject(usize),
    #[error("relationships[{index}]: missing \"{key}\"")]
    RelationshipMissing { index: usize, key: &'static str },
}

/// Builds one indicator from an XSOAR record, or says what is wrong with it.
pub fn indicator_from(origin: &str, record: Value) -> Result<Indicator, XsoarRecordError> {
    use XsoarRecordError as E;
    let Value::Object(mut obj) = record else {
        return Err(E::NotAnObject);
    };
    let value = take_string(&mut obj, "value")?.ok_or(E::MissingValue)?;
    if value.trim().is_empty() {
        return Err(E::EmptyValue);
    }
    let indicator_type = take_string(&mut obj, "indicator_type")?;
    let plain_type = take_string(&mut obj, "type")?;
    let xsoar_type = indicator_type.or(plain_type).filter(|t| !t.trim().is_empty()).ok_or(E::MissingType)?;
    let score = match obj.remove("score") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(s @ 0..=3) => s as u8,
            _ => return Err(E::ScoreOutOfRange(n)),
        },
        Some(Value::String(s)) => match super::score_named(&s) {
            Some(score) => score,
            None => return Err(E::ScoreName(s)),
        },
        Some(other) => return Err(E::ScoreType(other)),
    };
    let created = take_time(&mut obj, "timestamp")?;
    let modified = take_time(&mut obj, "modified")?;
    let (created, modified) = created_and_modified(created, modified).ok_or(E::NoVersion)?;
    let expiration = take_time(&mut obj, "expiration")?;
    let mut custom = Map::new();
    for key in ["customFields", "CustomFields"] {
        match obj.remove(key) {
            Some(Value::Object(m)) => custom.extend(m),
            None | Some(Value::Null) => {}
            Some(_) => return Err(E::NotAnObjectField(key)),
        }
    }
    let mut tags = string_list("tags", obj.get("tags"))?;
    for t in string_list("CustomFields.tags", custom.get("tags"))? {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let relationships = relationships_from(obj.remove("relationships"))?;
    let mut fields = crate::indicator::Fields::new();
    for (k, v) in obj.into_iter().chain(custom) {
        if !v.is_null() {
            fields.insert(k.to_ascii_lowercase(), v);
        }
    }
    mirror_tags(&mut fields, &tags);
    Ok(Indicator {
        value,
        xsoar_type,
        score,
        tags,
        created,
        modified,
        expiration,
        fields,
        relationships,
        origin: origin.to_string(),
    })
}

fn take_string(obj: &mut Map<String, Value>, key: &'static str) -> Result<Option<String>, XsoarRecordError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(XsoarRecordError::NotAString { key, found: other }),
    }
}

/// A timestamp field; XSOAR's zero time `0001-01-01T00:00:00Z` and empty strings mean "not set".
fn take_time(obj: &mut Map<String, Value>, key: &'static str) -> Result<Option<Timestamp>, XsoarRecordError> {
    match take_string(obj, key)? {
        None => Ok(None),
        Some(s) if s.is_empty() || s.starts_with("0001-01-01") => Ok(None),
        Some(s) => Timestamp::parse(&s).map(Some).map_err(|reason| XsoarRecordError::Time { key, reason }),
    }
}

/// A list of strings (or one comma-separated string); `field` names it in errors.
fn string_list(field: &'static str, v: Option<&Value>) -> Result<Vec<String>, XsoarRecordError> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::String(s)) => Ok(s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_string()),
                other => Err(XsoarRecordError::NotStrings { field, found: other.clone() }),
            })
            .filter(|r| !matches!(r, Ok(s) if s.is_empty()))
            .collect(),
        Some(other) => Err(XsoarRecordError::NotAList { field, found: other.clone() }),
    }
}

/// `relationships`: a list of `{"name", "entityB", "id"?, "description"?}` (XSOAR's relationship shape).
fn relationships_from(v: Option<Value>) -> Result<Vec<Relationship>, XsoarRecordError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(XsoarRecordError::RelationshipsNotAList),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(mut o) = item else {
                return Err(XsoarRecordError::RelationshipNotAnObject(i));
            };
            let missing = |key| XsoarRecordError::RelationshipMissing { index: i, key };
            let name = take_string(&mut o, "name")?.ok_or_else(|| missing("name"))?;
            let target_value = take_string(&mut o, "entityB")?.ok_or_else(|| missing("entityB"))?;
            Ok(Relationship {
                name,
                target_value,
                tip_id: take_string(&mut o, "id")?,
                description: take_string(&mut o, "description")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_xsoar_vector() {
        let text = std::fs::read_to_string(edge_testkit::repo("../shared/vectors/xsoar/ip_iocs.json")).unwrap();
        let got = import_str("ip_iocs.json", &text).unwrap();
        assert!(got.errors.is_empty(), "{:?}", got.errors);
        assert_eq!(got.indicators.len(), 5);
        let first = &got.indicators[0];
        assert_eq!(first.value, "8.8.8.8");
        assert_eq!(first.xsoar_type, "IP");
        assert_eq!(first.score, 3);
        assert_eq!(first.created.to_micros_string(), "2021-12-08T07:32:24.104143Z");
        assert_eq!(first.modified.to_micros_string(), "2021-12-08T10:05:28.617414Z");
        assert_eq!(first.field_str("service").as_deref(), Some("Daily Threat Feed"));
        assert_eq!(first.field("sourcebrands"), Some(&serde_json::json!(["Some Feed"])));
        assert_eq!(first.origin, "ip_iocs.json:[0]");
    }

    #[test]
    fn reports_each_bad_record_with_its_position() {
        let text = r#"{"value":"1.1.1.1","indicator_type":"IP","modified":"2024-01-01T00:00:00Z"}
{"indicator_type":"IP","modified":"2024-01-01T00:00:00Z"}
not json
{"value":"x","indicator_type":"IP","score":7,"modified":"2024-01-01T00:00:00Z"}
{"value":"y","indicator_type":"IP","modified":"last tuesday"}
"#;
        let got = import_str("feed.jsonl", text).unwrap();
        assert_eq!(got.indicators.len(), 1);
        let msgs: Vec<String> = got.errors.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert_eq!(msgs[0], "feed.jsonl:2: missing \"value\"");
        assert!(msgs[1].starts_with("feed.jsonl:3: not JSON"), "{}", msgs[1]);
        assert_eq!(msgs[2], "feed.jsonl:4: \"score\" must be 0, 1, 2 or 3, not 7");
        assert!(msgs[3].starts_with("feed.jsonl:5: \"modified\": 'last tuesday' is not a timestamp"), "{}", msgs[3]);
    }
}
