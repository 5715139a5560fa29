//! The ids of the objects a collection serves besides its members' own: the producer identity, the extension
//! definitions and the relationships (see [`super::extras`] for the objects). They are known without making
//! those objects, so that the renderer can point at them (`created_by_ref`, extension keys) and a report can
//! name a relationship.

use super::ids;
use super::RenderOptions;
use crate::indicator::{Indicator, Relationship};

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
