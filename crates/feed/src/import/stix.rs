//! The STIX 2.1 importer: a bundle, a JSON list of STIX objects, one object, or JSON lines of objects.
//!
//! Indicators, SCOs, SDOs and relationships are served as they are, with their ids (see
//! [`crate::stix::passthrough`]). For collection queries each object also becomes an [`Indicator`]:
//!
//! - type: an SCO's XSOAR type (`ipv4-addr` → IP, `file` → File, …); an indicator's from a pattern comparing one
//!   observable (`[domain-name:value = 'x']` → Domain, value `x`), else `Indicator`; an SDO's XSOAR type
//!   (`threat-actor` → Threat Actor, `vulnerability` → CVE, …), else its STIX type;
//! - value: the SCO's value (a file's strongest hash, an account's login, an ASN's number, …), the pattern's
//!   value, else the object's `name`, else its id;
//! - tags from `labels`; score from `indicator_types`/`labels` (malicious-activity 3, anomalous-activity 2,
//!   benign 1, else 0); created and modified from the object (an SCO has none: both are 1970-01-01, so it keeps
//!   one version); `trafficlightprotocol` from a TLP marking reference; every property by lower-cased name, plus
//!   `stixid` and `stixtype`.
//!
//! Relationships are kept with their source object and served in a collection when both ends are in it; their
//! source must be an object of the same input. The four standard TLP marking definitions are left out (the build
//! serves the identical ones with every marked object). Every bad object is reported with its position (`file:[i]`
//! in a list or bundle, `file:line` in JSON lines) and why.

use super::{Imported, RecordError};
use crate::indicator::{created_and_modified, mirror_tags, Fields, Indicator};
use crate::stix::markings::Tlp;
use crate::stix::passthrough::{is_served_sco, OBJECT, RELATIONSHIPS};
use edge_core::time::{TimeError, Timestamp};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The STIX 2.1 SDO and meta object types (custom `x-` types are taken too).
const SDO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    "sighting",
    "marking-definition",
    "language-content",
    "extension-definition",
];

/// STIX 2.1 SCO types that are not served (STIX 2.0 has no pattern for them here).
const OTHER_SCO_TYPES: &[&str] =
    &["artifact", "directory", "email-message", "mac-addr", "network-traffic", "process", "x-509-certificate"];

/// Whether the text looks like STIX rather than XSOAR JSON: a bundle, or objects whose ids are `<type>--<uuid>`.
pub fn looks_like_stix(text: &str) -> bool {
    let head: String = text.chars().take(4096).collect();
    if !head.contains("\"type\"") {
        return false;
    }
    let bundle = head.contains("\"bundle\"");
    let stix_id = head.match_indices("--").any(|(i, _)| {
        let after = &head[i + 2..];
        after.len() >= 36 && uuid::Uuid::parse_str(&after[..36]).is_ok()
    });
    (bundle || stix_id) && !head.contains("\"indicator_type\"") && !head.contains("\"iocs\"")
}

/// Reads STIX objects from `text`; `name` is the file name used in positions.
pub fn import_str(name: &str, text: &str) -> Result<Imported, RecordError> {
    let whole = |reason: String| RecordError { position: name.to_string(), reason };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let mut items: Vec<(String, Value)> = Vec::new();
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(mut o)) if o.get("type").and_then(Value::as_str) == Some("bundle") => {
            match o.remove("objects") {
                Some(Value::Array(a)) => {
                    items.extend(a.into_iter().enumerate().map(|(i, v)| (format!("{name}:[{i}]"), v)))
                }
                None | Some(Value::Null) => {}
                Some(_) => return Err(whole("the bundle's \"objects\" is not a list".into())),
            }
        }
        Ok(Value::Array(a)) => items.extend(a.into_iter().enumerate().map(|(i, v)| (format!("{name}:[{i}]"), v))),
        Ok(v @ Value::Object(_)) => items.push((name.to_string(), v)),
        Ok(_) => return Err(whole("expected a STIX bundle, a list of STIX objects or JSON lines".into())),
        Err(e) if trimmed.starts_with('[') => return Err(whole(format!("not valid JSON: {e}"))),
        Err(_) => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let position = format!("{name}:{}", i + 1);
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => items.push((position, v)),
                    Err(e) => items.push((position, Value::String(format!("\u{0}not JSON: {e}")))),
                }
            }
        }
    }
    if items.is_empty() {
        return Err(whole("no STIX objects found (the bundle or list is empty)".into()));
    }
    Ok(import_objects(items))
}

/// Checks and converts positioned STIX objects.
pub fn import_objects(items: Vec<(String, Value)>) -> Imported {
    let mut out = Imported::default();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut relationships: Vec<(String, Map<String, Value>)> = Vec::new();
    for (position, item) in items {
        let checked = match item {
            Value::String(s) if s.starts_with('\u{0}') => Err(s[1..].to_string()),
            other => check(other).map_err(|e| e.to_string()),
        };
        let obj = match checked {
            Ok(o) => o,
            Err(reason) => {
                out.errors.push(RecordError { position, reason });
                continue;
            }
        };
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        if let Some(first) = seen.get(&id) {
            out.errors.push(RecordError {
                position,
                reason: format!("{id} appears again (first at {first}): give each object once, in its latest version"),
            });
            continue;
        }
        seen.insert(id.clone(), position.clone());
        let t = obj["type"].as_str().unwrap_or_default();
        if t == "relationship" {
            relationships.push((position, obj));
            continue;
        }
        if t == "marking-definition" && Tlp_of_id(&id).is_some() {
            continue;
        }
        match indicator_of(&position, obj) {
            Ok(ind) => out.indicators.push(ind),
            Err(e) => out.errors.push(RecordError { position, reason: e.to_string() }),
        }
    }
    // Each relationship joins its source object.
    let index: HashMap<String, usize> = out
        .indicators
        .iter()
        .enumerate()
        .filter_map(|(i, ind)| ind.fields.get("stixid").and_then(Value::as_str).map(|id| (id.to_string(), i)))
        .collect();
    for (position, rel) in relationships {
        let source = rel["source_ref"].as_str().unwrap_or_default().to_string();
        match index.get(&source) {
            Some(&i) => {
                let list =
                    out.indicators[i].fields.get_or_insert_with(RELATIONSHIPS.to_string(), || Value::Array(vec![]));
                if let Value::Array(a) = list {
                    a.push(Value::Object(rel));
                }
            }
            None => out.errors.push(RecordError {
                position,
                reason: format!(
                    "the relationship's source_ref {source} is not an object of this input: put relationships in \
                     the same bundle as their source"
                ),
            }),
        }
    }
    out
}

#[allow(non_snake_case)]
fn Tlp_of_id(id: &str) -> Option<Tlp> {
    [Tlp::White, Tlp::Green, Tlp::Amber, Tlp::Red].into_iter().find(|t| t.id() == id)
}

/// Whether `id` is `<type>--<UUID>`.
fn valid_id(id: &str, t: Option<&str>) -> bool {
    match id.split_once("--") {
        Some((it, u)) => {
            t.is_none_or(|t| t == it) && !it.is_empty() && uuid::Uuid::parse_str(u).is_ok() && u.len() == 36
        }
        None => false,
    }
}

/// What is wrong with an imported STIX object (the reason of its [`RecordError`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StixObjectError {
    #[error("a STIX object must be a JSON object")]
    NotAnObject,
    #[error("\"type\" must be a STIX type name")]
    TypeNotAName,
    #[error("missing \"type\"")]
    MissingType,
    #[error("a bundle inside a bundle: give its objects instead")]
    NestedBundle,
    #[error(
        "{stix_type} objects are not served: the SCO types served are {} (STIX 2.0 clients get them as patterns)",
        crate::stix::SCO_TYPES.join(", ")
    )]
    UnservedSco { stix_type: String },
    #[error("unknown STIX type \"{0}\" (custom object types start with x-)")]
    UnknownType(String),
    #[error("\"id\" must be a string")]
    IdNotAString,
    #[error("missing \"id\"")]
    MissingId,
    #[error("\"id\" must be {stix_type}--<UUID>, not {id:?}")]
    BadId { stix_type: String, id: String },
    #[error("\"spec_version\" must be \"2.1\", not {0}")]
    SpecVersion(Value),
    #[error("a {0} needs \"created\" and \"modified\" timestamps")]
    MissingTimestamps(String),
    #[error("an indicator needs a \"pattern\"")]
    MissingPattern,
    #[error("missing \"{0}\"")]
    MissingRef(&'static str),
    #[error("\"{key}\" must be an id (<type>--<UUID>), not {id:?}")]
    BadRefId { key: &'static str, id: String },
    #[error("\"{key}\" must be an id (<type>--<UUID>), not {value}")]
    BadRef { key: String, value: Value },
    #[error("missing \"relationship_type\"")]
    MissingRelationshipType,
    #[error("\"{key}\" must be a timestamp string, not {found}")]
    TimeNotAString { key: &'static str, found: Value },
    #[error("\"{key}\": {reason}")]
    Time { key: &'static str, reason: TimeError },
    /// An SCO without what it is served by (`what`: e.g. `a "key"`).
    #[error("a {stix_type} needs {what}")]
    ScoWithoutValue { stix_type: String, what: &'static str },
}

fn time_of(obj: &Map<String, Value>, key: &'static str) -> Result<Option<Timestamp>, StixObjectError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Timestamp::parse(s).map(Some).map_err(|reason| StixObjectError::Time { key, reason }),
        Some(other) => Err(StixObjectError::TimeNotAString { key, found: other.clone() }),
    }
}

/// Checks one object's shape: what every served object needs.
fn check(v: Value) -> Result<Map<String, Value>, StixObjectError> {
    use StixObjectError as E;
    let Value::Object(obj) = v else { return Err(E::NotAnObject) };
    let t = match obj.get("type") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        Some(_) => return Err(E::TypeNotAName),
        None => return Err(E::MissingType),
    };
    if t == "bundle" {
        return Err(E::NestedBundle);
    }
    let known = SDO_TYPES.contains(&t.as_str()) || t == "relationship" || is_served_sco(&t) || t.starts_with("x-");
    if !known {
        return Err(if OTHER_SCO_TYPES.contains(&t.as_str()) {
            E::UnservedSco { stix_type: t }
        } else {
            E::UnknownType(t)
        });
    }
    let id = match obj.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(_) => return Err(E::IdNotAString),
        None => return Err(E::MissingId),
    };
    if !valid_id(&id, Some(&t)) {
        return Err(E::BadId { stix_type: t, id });
    }
    match obj.get("spec_version") {
        None => {}
        Some(Value::String(v)) if v == "2.1" || v == "2.0" => {}
        Some(other) => return Err(E::SpecVersion(other.clone())),
    }
    let created = time_of(&obj, "created")?;
    let modified = time_of(&obj, "modified")?;
    if !is_served_sco(&t) && t != "marking-definition" && (created.is_none() || modified.is_none()) {
        return Err(E::MissingTimestamps(t));
    }
    for key in ["valid_from", "valid_until", "first_seen", "last_seen", "published"] {
        time_of(&obj, key)?;
    }
    match t.as_str() {
        "indicator" if obj.get("pattern").and_then(Value::as_str).is_none_or(|p| p.trim().is_empty()) => {
            return Err(E::MissingPattern);
        }
        "relationship" => {
            for key in ["source_ref", "target_ref"] {
                let r = obj.get(key).and_then(Value::as_str).ok_or(E::MissingRef(key))?;
                if !valid_id(r, None) {
                    return Err(E::BadRefId { key, id: r.to_string() });
                }
            }
            if !obj.get("relationship_type").is_some_and(Value::is_string) {
                return Err(E::MissingRelationshipType);
            }
        }
        _ => {}
    }
    for (k, v) in &obj {
        if k.ends_with("_ref") && !v.as_str().is_some_and(|r| valid_id(r, None)) {
            return Err(E::BadRef { key: k.clone(), value: v.clone() });
        }
    }
    Ok(obj)
}

/// The XSOAR type of an SCO type.
fn xsoar_of_sco(t: &str) -> &'static str {
    match t {
        "ipv4-addr" => "IP",
        "ipv6-addr" => "IPv6",
        "domain-name" => "Domain",
        "url" => "URL",
        "email-addr" => "Email",
        "file" => "File",
        "windows-registry-key" => "Registry Key",
        "user-account" => "Account",
        "autonomous-system" => "ASN",
        "software" => "Software",
        "x509-certificate" => "X509 Certificate",
        "mutex" => "Mutex",
        _ => "",
    }
}

/// The XSOAR type of an SDO type, if XSOAR has one.
fn xsoar_of_sdo(t: &str) -> Option<&'static str> {
    Some(match t {
        "attack-pattern" => "Attack Pattern",
        "campaign" => "Campaign",
        "course-of-action" => "Course of Action",
        "infrastructure" => "Infrastructure",
        "intrusion-set" => "Intrusion Set",
        "malware" => "Malware",
        "report" => "Report",
        "threat-actor" => "Threat Actor",
        "tool" => "Tool",
        "vulnerability" => "CVE",
        "identity" => "Identity",
        "location" => "Location",
        _ => return None,
    })
}

fn str_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The SCO's value and its model fields; an error when the SCO has nothing to serve it by.
fn sco_value(t: &str, obj: &Map<String, Value>, fields: &mut Fields) -> Result<String, StixObjectError> {
    let need = |what: &'static str| StixObjectError::ScoWithoutValue { stix_type: t.to_string(), what };
    Ok(match t {
        "file" => {
            let hashes = obj.get("hashes").and_then(Value::as_object).cloned().unwrap_or_default();
            let mut best = None;
            for (stix, field) in [("SHA-512", "sha512"), ("MD5", "md5"), ("SHA-1", "sha1"), ("SHA-256", "sha256")] {
                if let Some(h) = hashes.get(stix).and_then(Value::as_str) {
                    fields.insert(field.into(), Value::String(h.to_ascii_lowercase()));
                    best = Some(h.to_ascii_lowercase());
                }
            }
            if let Some(s) = hashes.get("SSDEEP").and_then(Value::as_str) {
                fields.insert("ssdeep".into(), Value::String(s.into()));
            }
            if let Some(n) = str_of(obj, "name") {
                fields.insert("associatedfilenames".into(), Value::Array(vec![Value::String(n.into())]));
            }
            best.ok_or_else(|| need("an MD5, SHA-1, SHA-256 or SHA-512 hash in \"hashes\""))?
        }
        "windows-registry-key" => str_of(obj, "key").ok_or_else(|| need("a \"key\""))?.to_string(),
        "user-account" => {
            if let Some(u) = str_of(obj, "user_id") {
                fields.insert("userid".into(), Value::String(u.into()));
            }
            if let Some(a) = str_of(obj, "account_type") {
                fields.insert("accounttype".into(), Value::String(a.into()));
            }
            if let Some(d) = str_of(obj, "display_name") {
                fields.insert("displayname".into(), Value::String(d.into()));
            }
            str_of(obj, "account_login")
                .or(str_of(obj, "user_id"))
                .ok_or_else(|| need("\"account_login\" or \"user_id\""))?
                .to_string()
        }
        "autonomous-system" => match obj.get("number") {
            Some(Value::Number(n)) => format!("AS{n}"),
            _ => return Err(need("a \"number\"")),
        },
        "software" | "mutex" => str_of(obj, "name").ok_or_else(|| need("a \"name\""))?.to_string(),
        "x509-certificate" => {
            if let Some(h) = obj.get("hashes").and_then(|h| h.get("SHA-256")).and_then(Value::as_str) {
                fields.insert("sha256".into(), Value::String(h.into()));
            }
            str_of(obj, "serial_number").ok_or_else(|| need("a \"serial_number\""))?.to_string()
        }
        _ => str_of(obj, "value").ok_or_else(|| need("a \"value\""))?.to_string(),
    })
}

/// `[<sco>:<path> = '<value>']` → (XSOAR type, value), for a pattern comparing one observable property.
fn simple_pattern(pattern: &str) -> Option<(&'static str, String)> {
    let inner = pattern.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    let (lhs, rhs) = inner.split_once('=')?;
    let (sco, path) = lhs.trim().split_once(':')?;
    let rhs = rhs.trim();
    let value = rhs.strip_prefix('\'')?.strip_suffix('\'')?;
    if value.contains('\'') && !value.contains("\\'") {
        return None;
    }
    let value = value.replace("\\'", "'").replace("\\\\", "\\");
    let xsoar = xsoar_of_sco(sco.trim());
    let path = path.trim();
    let ok = match sco.trim() {
        "file" => path.starts_with("hashes."),
        "windows-registry-key" => path == "key",
        "user-account" => path == "account_login" || path == "user_id",
        "autonomous-system" => path == "number",
        "software" | "mutex" => path == "name",
        "x509-certificate" => path == "serial_number",
        _ => path == "value",
    };
    (ok && !xsoar.is_empty()).then_some((xsoar, value))
}

fn score_of(words: &[String]) -> u8 {
    let has = |w: &str| words.iter().any(|x| x.eq_ignore_ascii_case(w));
    if has("malicious-activity") || has("compromised") || has("attribution") {
        3
    } else if has("anomalous-activity") {
        2
    } else if has("benign") {
        1
    } else {
        0
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

/// The indicator model of a checked object.
fn indicator_of(position: &str, obj: Map<String, Value>) -> Result<Indicator, StixObjectError> {
    let t = obj["type"].as_str().unwrap_or_default().to_string();
    let id = obj["id"].as_str().unwrap_or_default().to_string();
    let mut fields = Fields::new();
    let (xsoar_type, value) = if is_served_sco(&t) {
        let v = sco_value(&t, &obj, &mut fields)?;
        (xsoar_of_sco(&t).to_string(), v)
    } else if t == "indicator" {
        match simple_pattern(obj["pattern"].as_str().unwrap_or_default()) {
            Some((x, v)) => (x.to_string(), v),
            None => {
                ("Indicator".to_string(), str_of(&obj, "name").or(str_of(&obj, "pattern")).unwrap_or(&id).to_string())
            }
        }
    } else {
        let x = xsoar_of_sdo(&t).map(String::from).unwrap_or_else(|| t.clone());
        (x, str_of(&obj, "name").unwrap_or(&id).to_string())
    };
    let tags = strings(obj.get("labels"));
    let mut words = strings(obj.get("indicator_types"));
    words.extend(tags.iter().cloned());
    let created = time_of(&obj, "created")?;
    let modified = time_of(&obj, "modified")?;
    let (created, modified) = created_and_modified(created, modified).unwrap_or((Timestamp(0), Timestamp(0)));
    for r in strings(obj.get("object_marking_refs")) {
        if let Some(tlp) = Tlp_of_id(&r) {
            let word = format!("{tlp:?}").to_ascii_uppercase();
            fields.insert("trafficlightprotocol".into(), Value::String(word));
        }
    }
    for (k, v) in &obj {
        fields.get_or_insert_with(k.to_ascii_lowercase(), || v.clone());
    }
    fields.insert("stixid".into(), Value::String(id.clone()));
    fields.insert("stixtype".into(), Value::String(t.clone()));
    mirror_tags(&mut fields, &tags);
    let expiration = time_of(&obj, "valid_until")?;
    fields.insert(OBJECT.into(), Value::Object(obj));
    Ok(Indicator {
        value,
        xsoar_type,
        score: score_of(&words),
        tags,
        created,
        modified,
        expiration,
        fields,
        relationships: Vec::new(),
        origin: position.to_string(),
    })
}
