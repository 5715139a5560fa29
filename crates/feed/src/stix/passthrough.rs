//! STIX objects served as they are (the STIX 2.1 bundle importer's objects).
//!
//! The importer ([`crate::import::stix`]) keeps each object in its indicator's fields under [`OBJECT`] (and the
//! relationships whose source it is under [`RELATIONSHIPS`]); [`super::render_indicator`] hands such an indicator
//! here instead of rendering it from the XSOAR model.
//!
//! - STIX 2.1: the object itself, with `spec_version` added when absent, its keys sorted at every level (the
//!   same object always gives the same bytes).
//! - STIX 2.0: SCOs become indicators with a pattern, exactly as the renderer makes them from the indicator model
//!   (2.0 has no top-level SCOs); other objects lose what 2.0 does not have (`spec_version`, `confidence`, `lang`,
//!   `extensions`, `pattern_type`, `pattern_version`, `is_family`), their `<type>_types` become the `labels` 2.0
//!   requires, `created`/`modified` are written in milliseconds, every id and reference is written as the 2.0 id
//!   (UUIDv4-shaped unless `xsoar_v20_ids`), and the 2.1-only object types become `x-taxii-edge-<type>` custom
//!   objects, as the renderer does for infrastructure and location.
//! - Relationships are served in a collection when both of their ends are in it ([`relationships_of`]).

use super::render::CUSTOM_PREFIX;
use super::{Head, RenderOptions, Rendered};
use crate::indicator::Indicator;
use edge_core::time::Timestamp;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The field that holds an imported STIX object.
pub const OBJECT: &str = "__stix";
/// The field that holds the relationship objects whose `source_ref` is this object.
pub const RELATIONSHIPS: &str = "__stix_relationships";

/// The STIX 2.1 object types STIX 2.0 does not have: served over 2.0 as `x-taxii-edge-<type>`.
pub const ONLY_21: &[&str] = &[
    "grouping",
    "infrastructure",
    "location",
    "malware-analysis",
    "note",
    "opinion",
    "language-content",
    "extension-definition",
];

/// The SCO types served (those the renderer can express as a STIX 2.0 pattern).
pub fn is_served_sco(t: &str) -> bool {
    super::SCO_TYPES.contains(&t)
}

/// Why an imported STIX object cannot be served: what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PassthroughError {
    #[error("the imported STIX object is not an object")]
    NotAnObject,
    /// The STIX 2.0 indicator derived from an observable could not be rendered.
    #[error("{0} (for STIX 2.0)")]
    V20(#[source] super::render::RenderFailure),
    #[error("\"{0}\" is not a timestamp")]
    NotATimestamp(String),
    #[error("\"{key}\": {reason}")]
    BadTimestamp { key: String, reason: edge_core::time::TimeError },
}

/// Renders an imported STIX object: its own 2.1 JSON and a derived 2.0 form.
pub fn render(ind: &Indicator, object: &Value, opts: &RenderOptions) -> Result<Rendered, PassthroughError> {
    let obj = object.as_object().ok_or(PassthroughError::NotAnObject)?;
    let t = obj.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    let id = obj.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let json21 = canonical(&v21(obj)).to_string();
    if is_served_sco(&t) {
        // 2.0: the indicator the renderer makes of the same observable.
        // The model without the object's own properties (they are not XSOAR fields an extension could carry).
        let mut model = ind.clone();
        model.fields.remove(OBJECT);
        model.fields.remove(RELATIONSHIPS);
        for k in obj.keys() {
            if !matches!(k.as_str(), "name" | "cpe" | "vendor" | "version" | "issuer" | "subject") {
                model.fields.remove(&k.to_ascii_lowercase());
            }
        }
        let derived = super::render::render_one(&model, opts).map_err(PassthroughError::V20)?;
        return Ok(Rendered {
            id21: id,
            type21: t,
            json21,
            id20: derived.id20,
            type20: derived.type20,
            json20: derived.json20,
            version: ind.modified,
        });
    }
    let o20 = v20(obj, opts)?;
    Ok(Rendered {
        id21: id,
        type21: t,
        json21,
        id20: o20["id"].as_str().unwrap_or_default().to_string(),
        type20: o20["type"].as_str().unwrap_or_default().to_string(),
        json20: canonical(&o20).to_string(),
        version: ind.modified,
    })
}

/// The imported relationships of collection member `m` (their source) whose target is a member too: `ids` holds
/// the members' 2.1 ids ([`member_ids`]).
pub fn relationships_of(m: &Indicator, ids: &HashSet<&str>, opts: &RenderOptions, out: &mut dyn FnMut(Rendered)) {
    let Some(Value::Array(rels)) = m.fields.get(RELATIONSHIPS) else { return };
    for rel in rels {
        let target = rel.get("target_ref").and_then(Value::as_str).unwrap_or_default();
        if !ids.contains(target) {
            continue;
        }
        let Some(obj) = rel.as_object() else { continue };
        let version = ["modified", "created"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_str).and_then(|s| Timestamp::parse(s).ok()))
            .unwrap_or_default();
        // Checked by the importer: an error here would be a bug, and the relationship is left out.
        if let Ok(o20) = v20(obj, opts) {
            out(Rendered {
                id21: obj["id"].as_str().unwrap_or_default().to_string(),
                type21: "relationship".into(),
                json21: canonical(&v21(obj)).to_string(),
                id20: o20["id"].as_str().unwrap_or_default().to_string(),
                type20: "relationship".into(),
                json20: canonical(&o20).to_string(),
                version,
            });
        }
    }
}

/// The members' 2.1 ids, which imported relationships may target; empty when no member has imported
/// relationships (then there is nothing to look up).
pub fn member_ids<'a, H: Head>(members: &[&Indicator], rendered: &[&'a H]) -> HashSet<&'a str> {
    if members.iter().all(|m| !m.fields.contains_key(RELATIONSHIPS)) {
        return HashSet::new();
    }
    rendered.iter().map(|r| r.id21()).collect()
}

fn v21(obj: &Map<String, Value>) -> Value {
    let mut o = obj.clone();
    o.entry("spec_version").or_insert_with(|| Value::String("2.1".into()));
    Value::Object(o)
}

/// A value with the keys of every object sorted.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// An id or reference as STIX 2.0 writes it.
fn id20(id: &str, opts: &RenderOptions) -> String {
    let id = match id.split_once("--") {
        Some((t, rest)) if ONLY_21.contains(&t) => format!("{CUSTOM_PREFIX}{t}--{rest}"),
        _ => id.to_string(),
    };
    opts.id_for(&id, false)
}

fn v20(obj: &Map<String, Value>, opts: &RenderOptions) -> Result<Value, PassthroughError> {
    let t = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    let mut o = Map::new();
    for (k, v) in obj {
        let v = match k.as_str() {
            "spec_version" | "confidence" | "lang" | "extensions" | "pattern_type" | "pattern_version"
            | "is_family" => continue,
            "type" if ONLY_21.contains(&t) => Value::String(format!("{CUSTOM_PREFIX}{t}")),
            "created" | "modified" => {
                let s = v.as_str().ok_or_else(|| PassthroughError::NotATimestamp(k.clone()))?;
                let ts =
                    Timestamp::parse(s).map_err(|reason| PassthroughError::BadTimestamp { key: k.clone(), reason })?;
                Value::String(ts.to_millis_string())
            }
            _ if k == "id" || k.ends_with("_ref") => match v {
                Value::String(s) => Value::String(id20(s, opts)),
                other => other.clone(),
            },
            _ if k.ends_with("_refs") => match v {
                Value::Array(a) => Value::Array(
                    a.iter().map(|x| x.as_str().map(|s| Value::String(id20(s, opts))).unwrap_or(x.clone())).collect(),
                ),
                other => other.clone(),
            },
            _ => v.clone(),
        };
        o.insert(k.clone(), v);
    }
    // 2.0 requires `labels` where 2.1 has an open vocabulary of `<type>_types`.
    let types_key = format!("{}_types", t.replace('-', "_"));
    if let Some(types) = o.remove(&types_key) {
        if matches!(t, "indicator" | "malware" | "tool" | "threat-actor" | "report") && !o.contains_key("labels") {
            o.insert("labels".into(), types);
        }
    }
    if matches!(t, "indicator" | "malware" | "tool" | "threat-actor" | "report") && !o.contains_key("labels") {
        o.insert("labels".into(), Value::Array(vec![Value::String("unknown".into())]));
    }
    Ok(Value::Object(o))
}
