//! The indicator record every importer produces and every later stage reads.
//!
//! It mirrors a Cortex XSOAR indicator: a value, an XSOAR type name ("IP", "File", "Threat Actor", …), a DBot
//! score, tags, timestamps, and every other field (top-level and `CustomFields`) kept by lower-cased name so
//! that collection queries can test any field and the renderer can read type-specific ones (hashes, registry
//! values, certificate fields). Where it came from is kept for error reports.

use edge_core::time::Timestamp;
use serde_json::Value;

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
    pub fields: Fields,
    /// Relationships to other indicators, by their value.
    pub relationships: Vec<Relationship>,
    /// Where the record came from: `file:index` or `file:line`, for messages.
    pub origin: String,
}

impl Indicator {
    /// An indicator with nothing in it (no allocation): what a record moved out of a list leaves in its place.
    pub fn empty() -> Indicator {
        Indicator {
            value: String::new(),
            xsoar_type: String::new(),
            score: 0,
            tags: Vec::new(),
            created: Timestamp(0),
            modified: Timestamp(0),
            expiration: None,
            fields: Fields::new(),
            relationships: Vec::new(),
            origin: String::new(),
        }
    }
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
pub fn mirror_tags(fields: &mut Fields, tags: &[String]) {
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

/// An indicator's other fields by lower-cased name, in name order: a sorted list rather than a map, since an
/// indicator has a handful and a build keeps a million of them (a `BTreeMap`'s smallest node is ~600 bytes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields(Vec<(String, Value)>);

impl Fields {
    pub fn new() -> Fields {
        Fields(Vec::new())
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets a field, returning the value it replaces.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }

    /// The field's value, set to `value()` first when it has none.
    pub fn get_or_insert_with(&mut self, name: String, value: impl FnOnce() -> Value) -> &mut Value {
        let i = match self.find(&name) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (name, value()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Keeps the fields `keep` says yes to, and frees the room of the others.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|(k, _)| keep(k));
        self.0.shrink_to_fit();
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = Value;
    fn index(&self, name: &str) -> &Value {
        self.get(name).unwrap_or_else(|| panic!("no field {name:?}"))
    }
}

/// Collects fields as a map would: a name given twice keeps its last value.
impl FromIterator<(String, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(items: I) -> Fields {
        let mut fields = Fields::new();
        for (k, v) in items {
            fields.insert(k, v);
        }
        fields
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a String, &'a Value);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (String, Value)>, fn(&'a (String, Value)) -> (&'a String, &'a Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::Fields;
    use serde_json::json;

    #[test]
    fn fields_behave_as_a_sorted_map() {
        let mut f: Fields =
            [("b", json!(1)), ("a", json!(2)), ("b", json!(3))].into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        assert_eq!(f.keys().collect::<Vec<_>>(), ["a", "b"], "sorted, a repeated name once");
        assert_eq!(f["b"], json!(3), "the last value of a repeated name wins");
        assert_eq!(f.insert("a".into(), json!(4)), Some(json!(2)));
        assert_eq!(f.insert("c".into(), json!(5)), None);
        *f.get_or_insert_with("d".into(), || json!([])) = json!("set");
        assert_eq!(f.get_or_insert_with("a".into(), || json!("unused")), &json!(4));
        assert_eq!(f.iter().map(|(k, _)| k.as_str()).collect::<String>(), "abcd");
        assert_eq!(f.remove("b"), Some(json!(3)));
        assert!(!f.contains_key("b") && f.get("b").is_none());
        f.retain(|k| k != "c");
        assert_eq!((&f).into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(), ["a=4", "d=\"set\""]);
        assert_eq!(f.len(), 2);
        assert!(!f.is_empty() && Fields::new().is_empty());
    }
}
