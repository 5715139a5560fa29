//! The indicator record every importer produces and every later stage reads.
//!
//! It mirrors a Cortex XSOAR indicator: a value, an XSOAR type name ("IP", "File", "Threat Actor", …), a DBot
//! score, tags, timestamps, and every other field (top-level and `CustomFields`) kept by lower-cased name so
//! that collection queries can test any field and the renderer can read type-specific ones (hashes, registry
//! values, certificate fields). Where it came from is kept for error reports.

use crate::time::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;

/// One indicator from a TIP export.
#[derive(Clone, Debug, PartialEq)]
pub struct Indicator {
    /// The indicator value: an address, a hash, a name for SDO types.
    pub value: String,
    /// The XSOAR indicator type, as written by XSOAR ("IP", "Registry Key", …).
    pub xsoar_type: String,
    /// DBot score: 0 unknown, 1 good, 2 suspicious, 3 bad.
    pub score: u8,
    /// Tags, in input order, without empty strings.
    pub tags: Vec<String>,
    /// When the TIP first saw the indicator (XSOAR `timestamp`): STIX `created`.
    pub created: Timestamp,
    /// When it last changed (XSOAR `modified`): STIX `modified` and the object's TAXII version.
    pub modified: Timestamp,
    /// When it expires (XSOAR `expiration`), if ever: STIX `valid_until`.
    pub expiration: Option<Timestamp>,
    /// Every other field, by lower-cased name: top-level fields and `CustomFields` (a custom field wins).
    pub fields: BTreeMap<String, Value>,
    /// Relationships to other indicators, by their value.
    pub relationships: Vec<Relationship>,
    /// Where the record came from: `file:index` or `file:line`, for messages.
    pub origin: String,
}

/// A relationship from this indicator to another one, named by value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relationship {
    /// The relationship's name as the TIP writes it ("related-to", "indicator-of", "uses", …).
    pub name: String,
    /// The value of the indicator at the other end.
    pub target_value: String,
    /// A stable identifier of the relationship in the TIP, if it has one.
    pub tip_id: Option<String>,
    /// An optional description.
    pub description: Option<String>,
}

/// An indicator's created and modified times from what an export gives: each stands in for the other when one is
/// missing, and modified is never before created. `None` when neither is known (the version is unknowable).
pub fn created_and_modified(created: Option<Timestamp>, modified: Option<Timestamp>) -> Option<(Timestamp, Timestamp)> {
    match (created, modified) {
        (Some(c), Some(m)) => Some((c, m.max(c))),
        (Some(t), None) | (None, Some(t)) => Some((t, t)),
        (None, None) => None,
    }
}

/// Puts the tags in the field map too, so that field queries and extension fields see them like any other field.
pub fn mirror_tags(fields: &mut BTreeMap<String, Value>, tags: &[String]) {
    fields.insert("tags".into(), Value::Array(tags.iter().cloned().map(Value::String).collect()));
}

impl Indicator {
    /// A field by lower-cased name, from the typed properties first and then `fields`.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// A field as a string, if it is one (or a number, rendered).
    pub fn field_str(&self, name: &str) -> Option<String> {
        match self.fields.get(name)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The description a consumer reads (CustomFields.description), if any.
    pub fn description(&self) -> Option<String> {
        self.field_str("description")
    }

    /// The score's XSOAR name: Unknown, Good, Suspicious, Bad.
    pub fn reputation(&self) -> &'static str {
        match self.score {
            1 => "Good",
            2 => "Suspicious",
            3 => "Bad",
            _ => "Unknown",
        }
    }
}
