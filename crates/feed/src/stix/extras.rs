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

use super::markings::Tlp;
pub use super::object_ids::{extension_definition_id, producer_id, producer_name, relationship_id, relationship_type};
use super::render::{object_start, stamp, tlp_of, xsoar_fields, CUSTOM_PREFIX};
use super::{passthrough, Head, RenderOptions, Rendered};
use crate::indicator::Indicator;
use edge_core::time::Timestamp;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap, HashSet};

/// `created` and `modified` of the producer identity and the extension definitions: fixed, so that they
/// never change version.
pub const FIXED_CREATED: &str = "2024-01-01T00:00:00.000000Z";

/// The schema an extension definition points to (XSOAR's description of its indicator fields).
pub const XSOAR_SCHEMA: &str = "https://github.com/demisto/content/blob/4265bd5c71913cd9d9ed47d9c37d0d4d3141c3eb/Packs/TAXIIServer/doc_files/XSOAR_indicator_schema.json";

fn fixed_version() -> Timestamp {
    Timestamp::parse(FIXED_CREATED).expect("a valid constant")
}

/// The objects a collection serves besides its indicators' own, made from what is worked out once per collection:
/// the members by value and their TLP levels, and (for imported relationships) the members' ids. `members` and
/// `rendered` are parallel. Relationships are made source by source ([`Extras::relationships_of`]), so that a
/// build can make them on every core; [`super::collection_extras`] makes everything in order.
pub struct Extras<'a, H> {
    members: &'a [&'a Indicator],
    rendered: &'a [&'a H],
    opts: &'a RenderOptions,
    tlps: Vec<Option<Tlp>>,
    /// The first member with each value (empty when no member has a relationship).
    by_value: HashMap<&'a str, usize>,
    /// The members' 2.1 ids, for the targets of imported relationships (empty when none has one).
    ids: HashSet<&'a str>,
}

impl<'a, H: Head> Extras<'a, H> {
    pub fn new(members: &'a [&'a Indicator], rendered: &'a [&'a H], opts: &'a RenderOptions) -> Self {
        let tlps = members.iter().map(|m| tlp_of(m).ok().flatten()).collect();
        let mut by_value = HashMap::new();
        if members.iter().any(|m| !m.relationships.is_empty()) {
            by_value.reserve(members.len());
            for (i, m) in members.iter().enumerate() {
                by_value.entry(m.value.as_str()).or_insert(i);
            }
        }
        let ids = passthrough::member_ids(members, rendered);
        Extras { members, rendered, opts, tlps, by_value, ids }
    }

    /// How many members there are (the sources [`Extras::relationships_of`] takes).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The objects that do not come from one member: the marking definitions the members use, the producer
    /// identity, the extension definitions.
    pub fn shared(&self, out: &mut dyn FnMut(Rendered)) {
        if self.members.is_empty() {
            return;
        }
        let levels: BTreeSet<Tlp> = self.tlps.iter().flatten().copied().collect();
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
        let opts = self.opts;
        let mut types = BTreeSet::new();
        if opts.extension_fields.enabled() {
            for (m, r) in self.members.iter().zip(self.rendered) {
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
    }

    /// The relationships (from the TIP's relationships) whose source is member `i` and whose target is a member
    /// too. The same relationship id may come from two sources: a collection serves the first, in member order.
    pub fn relationships_of(&self, i: usize, out: &mut dyn FnMut(Rendered)) {
        let (members, rendered, opts) = (self.members, self.rendered, self.opts);
        let src = members[i];
        for rel in &src.relationships {
            let Some(&j) = self.by_value.get(rel.target_value.as_str()) else { continue };
            if j == i {
                continue;
            }
            let Some((id, rtype)) = relationship_id(opts, src, rel) else { continue };
            let tgt = members[j];
            let created = src.created.max(tgt.created);
            let modified = src.modified.max(tgt.modified).max(created);
            let tlp = self.tlps[i].max(self.tlps[j]);
            let obj = |v21: bool| {
                let mut m = object_start("relationship", &opts.id_for(&id, v21), v21);
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
                id20: opts.id_for(&id, false),
                json21: obj(true),
                json20: obj(false),
                id21: id,
                type21: "relationship".into(),
                type20: "relationship".into(),
                version: modified,
            });
        }
    }

    /// The `xsoar` profile's form of report member `i` (its 2.1 and 2.0 JSON given): `object_refs` lists the
    /// members its relationships point at as well as the relationships, as XSOAR's server writes it (XSOAR's
    /// reader makes a report's references of the refs that are not relationships). `None` when it gains nothing.
    pub fn report_with_targets(&self, i: usize, json21: &str, json20: &str) -> Option<(String, String)> {
        let (mut t21, mut t20) = (Vec::new(), Vec::new());
        let src = self.members[i];
        for rel in &src.relationships {
            let Some(&j) = self.by_value.get(rel.target_value.as_str()) else { continue };
            if j != i && relationship_id(self.opts, src, rel).is_some() {
                t21.push(self.rendered[j].id21());
                t20.push(self.rendered[j].id20());
            }
        }
        if t21.is_empty() {
            return None;
        }
        Some((with_refs(json21, &t21)?, with_refs(json20, &t20)?))
    }

    /// The imported STIX relationships whose source is member `i` and whose target is a member too.
    pub fn imported_relationships_of(&self, i: usize, out: &mut dyn FnMut(Rendered)) {
        if !self.ids.is_empty() {
            passthrough::relationships_of(self.members[i], &self.ids, self.opts, out);
        }
    }
}

/// An object's JSON with `ids` appended to its `object_refs` (each once).
fn with_refs(json: &str, ids: &[&str]) -> Option<String> {
    let mut v: Value = serde_json::from_str(json).ok()?;
    let refs = v.get_mut("object_refs")?.as_array_mut()?;
    for id in ids {
        if !refs.iter().any(|r| r == id) {
            refs.push(json!(id));
        }
    }
    Some(v.to_string())
}

fn producer(opts: &RenderOptions) -> Rendered {
    let id = producer_id(opts);
    let fixed = fixed_version();
    let obj = |v21: bool| {
        let mut m = object_start("identity", &opts.id_for(&id, v21), v21);
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
        let mut m =
            if v21 { object_start("extension-definition", &id21, true) } else { object_start(&type20, &id20, false) };
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
