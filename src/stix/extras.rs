//! The objects a collection serves besides its members' own, each only when something in the collection
//! references it, and never an object from outside the collection:
//!
//! - the standard TLP marking definitions its members are marked with;
//! - the producer identity named by every SDO's `created_by_ref` (and required by extension definitions);
//! - one extension definition per STIX type whose objects carry XSOAR fields (2.1; over 2.0 the fields are
//!   `x_xsoar_*` properties and the definition is served as the custom object
//!   `x-taxii-edge-extension-definition`);
//! - a relationship for every relationship between two members.
//!
//! Ids: the identity `identity--uuid5(NS, "identity:producer:<name>")`, an extension definition
//! `extension-definition--uuid5(NS, "extension-definition:<stix type>")`, a relationship
//! `relationship--uuid5(NS, "relationship:<TIP id>")` (XSOAR's rule) or, without a TIP id,
//! `relationship--uuid5(NS, "relationship:<source value>|<relationship_type>|<target value>")`.

use super::ids;
use super::markings::Tlp;
use super::render::{stamp, tlp_of, xsoar_fields, CUSTOM_PREFIX};
use super::{Head, RenderOptions, Rendered};
use crate::indicator::{Indicator, Relationship};
use crate::time::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};

/// `created` and `modified` of the producer identity and the extension definitions: fixed, so that they
/// never change version.
pub const FIXED_CREATED: &str = "2024-01-01T00:00:00.000000Z";

/// The schema an extension definition points to (XSOAR's description of its indicator fields).
pub const XSOAR_SCHEMA: &str = "https://github.com/demisto/content/blob/4265bd5c71913cd9d9ed47d9c37d0d4d3141c3eb/Packs/TAXIIServer/doc_files/XSOAR_indicator_schema.json";

/// The producer identity's name (`taxii-edge` when none is configured and extension definitions need one).
pub fn producer_name(opts: &RenderOptions) -> &str {
    opts.producer.as_deref().unwrap_or("taxii-edge")
}

/// The producer identity's id.
pub fn producer_id(opts: &RenderOptions) -> String {
    ids::sdo_id(&opts.namespace, "identity", &format!("producer:{}", producer_name(opts)))
}

/// The id of the extension definition for objects of STIX type `t`.
pub fn extension_definition_id(opts: &RenderOptions, t: &str) -> String {
    ids::sdo_id(&opts.namespace, "extension-definition", t)
}

fn fixed_version() -> Timestamp {
    Timestamp::parse(FIXED_CREATED).expect("a valid constant")
}

/// The objects a collection serves besides its indicators' own: relationships between members, the marking
/// definitions and identity they reference, extension definitions. `members` and `rendered` are parallel.
/// Each is given to `out` as it is made.
pub fn collection_extras<H: Head>(
    members: &[&Indicator],
    rendered: &[&H],
    opts: &RenderOptions,
    out: &mut dyn FnMut(Rendered),
) {
    if members.is_empty() {
        return;
    }
    let tlps: Vec<Option<Tlp>> = members.iter().map(|m| tlp_of(m).ok().flatten()).collect();
    let levels: BTreeSet<Tlp> = tlps.iter().flatten().copied().collect();
    for t in levels {
        let version = Timestamp::parse(super::markings::TLP_CREATED).expect("a valid constant");
        out(Rendered {
            id21: t.id().into(),
            type21: "marking-definition".into(),
            json21: t.definition(true).to_string(),
            id20: t.id().into(),
            type20: "marking-definition".into(),
            json20: t.definition(false).to_string(),
            version,
        });
    }
    let mut types = BTreeSet::new();
    if opts.extension_fields.enabled() {
        for (m, r) in members.iter().zip(rendered) {
            if r.type21() != "file" && !xsoar_fields(m, &opts.extension_fields).is_empty() {
                types.insert(r.type21());
            }
        }
    }
    if opts.producer.is_some() || !types.is_empty() {
        out(producer(opts));
    }
    for t in types {
        out(extension_definition(opts, t));
    }
    relationships(members, rendered, &tlps, opts, out);
}

fn producer(opts: &RenderOptions) -> Rendered {
    let id = producer_id(opts);
    let fixed = fixed_version();
    let obj = |v21: bool| {
        let mut m = Map::new();
        m.insert("type".into(), json!("identity"));
        if v21 {
            m.insert("spec_version".into(), json!("2.1"));
        }
        m.insert("id".into(), json!(opts.id_for(&id, v21)));
        m.insert("created".into(), stamp(fixed, v21));
        m.insert("modified".into(), stamp(fixed, v21));
        m.insert("name".into(), json!(producer_name(opts)));
        m.insert("description".into(), json!("The producer of this TAXII feed."));
        m.insert("identity_class".into(), json!("organization"));
        Value::Object(m).to_string()
    };
    Rendered {
        id21: id.clone(),
        type21: "identity".into(),
        json21: obj(true),
        id20: opts.id_for(&id, false),
        type20: "identity".into(),
        json20: obj(false),
        version: fixed_version(),
    }
}

fn extension_definition(opts: &RenderOptions, t: &str) -> Rendered {
    let id21 = extension_definition_id(opts, t);
    let uuid = id21.rsplit("--").next().unwrap_or_default();
    let type20 = format!("{CUSTOM_PREFIX}extension-definition");
    let id20 = opts.id_for(&format!("{type20}--{uuid}"), false);
    let fixed = fixed_version();
    let obj = |v21: bool| {
        let mut m = Map::new();
        m.insert("type".into(), json!(if v21 { "extension-definition" } else { type20.as_str() }));
        if v21 {
            m.insert("spec_version".into(), json!("2.1"));
        }
        m.insert("id".into(), json!(if v21 { &id21 } else { &id20 }));
        m.insert("created_by_ref".into(), json!(opts.id_for(&producer_id(opts), v21)));
        m.insert("created".into(), stamp(fixed, v21));
        m.insert("modified".into(), stamp(fixed, v21));
        m.insert("name".into(), json!(format!("Cortex XSOAR TIM {t}")));
        m.insert("description".into(), json!(format!("Cortex XSOAR indicator fields of {t} objects")));
        m.insert("schema".into(), json!(XSOAR_SCHEMA));
        m.insert("version".into(), json!("1.0"));
        m.insert("extension_types".into(), json!(["property-extension"]));
        Value::Object(m).to_string()
    };
    Rendered {
        id21: id21.clone(),
        type21: "extension-definition".into(),
        json21: obj(true),
        id20: id20.clone(),
        type20: type20.clone(),
        json20: obj(false),
        version: fixed_version(),
    }
}

/// A STIX relationship_type from a TIP's relationship name: lower case, every run of other characters a
/// single hyphen ("related to" → "related-to", "Attributed_To" → "attributed-to").
pub fn relationship_type(name: &str) -> String {
    let mut out = String::new();
    for ch in name.trim().chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// A relationship's id and STIX relationship_type, or `None` when its name gives no type or it points at its
/// own source. Known without the target's record, so that a report can name it.
pub fn relationship_id(opts: &RenderOptions, src: &Indicator, rel: &Relationship) -> Option<(String, String)> {
    let rtype = relationship_type(&rel.name);
    if rtype.is_empty() || rel.target_value == src.value {
        return None;
    }
    let key = match rel.tip_id.as_deref().map(str::trim) {
        Some(tip) if !tip.is_empty() => tip.to_string(),
        _ => format!("{}|{rtype}|{}", src.value, rel.target_value),
    };
    Some((ids::sdo_id(&opts.namespace, "relationship", &key), rtype))
}

fn relationships<H: Head>(
    members: &[&Indicator],
    rendered: &[&H],
    tlps: &[Option<Tlp>],
    opts: &RenderOptions,
    out: &mut dyn FnMut(Rendered),
) {
    if members.iter().all(|m| m.relationships.is_empty()) {
        return;
    }
    let mut by_value: HashMap<&str, usize> = HashMap::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        by_value.entry(m.value.as_str()).or_insert(i);
    }
    let mut seen = HashSet::new();
    for (i, src) in members.iter().enumerate() {
        for rel in &src.relationships {
            let Some(&j) = by_value.get(rel.target_value.as_str()) else { continue };
            if j == i {
                continue;
            }
            let Some((id, rtype)) = relationship_id(opts, src, rel) else { continue };
            let tgt = members[j];
            if !seen.insert(id.clone()) {
                continue;
            }
            let created = src.created.max(tgt.created);
            let modified = src.modified.max(tgt.modified).max(created);
            let tlp = tlps[i].max(tlps[j]);
            let obj = |v21: bool| {
                let mut m = Map::new();
                m.insert("type".into(), json!("relationship"));
                if v21 {
                    m.insert("spec_version".into(), json!("2.1"));
                }
                m.insert("id".into(), json!(opts.id_for(&id, v21)));
                if opts.producer.is_some() {
                    m.insert("created_by_ref".into(), json!(opts.id_for(&producer_id(opts), v21)));
                }
                m.insert("created".into(), stamp(created, v21));
                m.insert("modified".into(), stamp(modified, v21));
                m.insert("relationship_type".into(), json!(rtype));
                if let Some(d) = rel.description.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                    m.insert("description".into(), json!(d));
                }
                let (s, t) = if v21 {
                    (rendered[i].id21(), rendered[j].id21())
                } else {
                    (rendered[i].id20(), rendered[j].id20())
                };
                m.insert("source_ref".into(), json!(s));
                m.insert("target_ref".into(), json!(t));
                if let Some(t) = tlp {
                    m.insert("object_marking_refs".into(), json!([t.id()]));
                }
                Value::Object(m).to_string()
            };
            out(Rendered {
                id21: id.clone(),
                type21: "relationship".into(),
                json21: obj(true),
                id20: opts.id_for(&id, false),
                type20: "relationship".into(),
                json20: obj(false),
                version: modified,
            });
        }
    }
}
