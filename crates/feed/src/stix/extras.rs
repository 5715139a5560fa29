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
use crate::indicator::{Indicator, Relationship};
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
    maker: RelationshipMaker<'a>,
}

impl<'a, H: Head> Extras<'a, H> {
    pub fn new(members: &'a [&'a Indicator], rendered: &'a [&'a H], opts: &'a RenderOptions) -> Self {
        let tlps = members.iter().map(|m| tlp_of(m).ok().flatten()).collect();
        let mut extras = Extras::with_tlps(members, rendered, opts, tlps);
        if members.iter().any(|m| !m.relationships.is_empty()) {
            extras.by_value.reserve(members.len());
            for (i, m) in members.iter().enumerate() {
                extras.by_value.entry(m.value.as_str()).or_insert(i);
            }
        }
        extras
    }

    /// The extras of members whose TLP levels (`tlps`, parallel to `members`) are known already, without the
    /// members by value: they make the shared objects and the imported relationships, but no TIP relationship
    /// ([`Extras::relationships_of`] makes none; a build makes them with [`RelationshipMaker`]).
    pub fn with_tlps(
        members: &'a [&'a Indicator],
        rendered: &'a [&'a H],
        opts: &'a RenderOptions,
        tlps: Vec<Option<Tlp>>,
    ) -> Self {
        let ids = passthrough::member_ids(members, rendered);
        let maker = RelationshipMaker::new(opts);
        Extras { members, rendered, opts, tlps, by_value: HashMap::new(), ids, maker }
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
        let src = self.members[i];
        for rel in &src.relationships {
            let Some(&j) = self.by_value.get(rel.target_value.as_str()) else { continue };
            if j == i {
                continue;
            }
            let tlp = self.tlps[i].max(self.tlps[j]);
            let ends = [self.rendered[i], self.rendered[j]];
            if let Some(r) = self.maker.make(src, rel, self.members[j], ends, tlp) {
                out(r);
            }
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

/// Makes the relationship objects of one set of render options (the producer's references worked out once).
pub struct RelationshipMaker<'a> {
    opts: &'a RenderOptions,
    /// `created_by_ref` in 2.1 and 2.0, when there is a producer.
    producer: Option<[String; 2]>,
}

impl<'a> RelationshipMaker<'a> {
    pub fn new(opts: &'a RenderOptions) -> Self {
        let producer = opts.producer.is_some().then(|| {
            let id = producer_id(opts);
            [opts.id_for(&id, true), opts.id_for(&id, false)]
        });
        RelationshipMaker { opts, producer }
    }

    /// The relationship `rel` of `src` to `tgt` (another object; `ends` are the two rendered), marked `tlp`:
    /// `None` when the relationship has no STIX form (no type, or a relationship of a value to itself).
    pub fn make<H: Head + ?Sized>(
        &self,
        src: &Indicator,
        rel: &Relationship,
        tgt: &Indicator,
        ends: [&H; 2],
        tlp: Option<Tlp>,
    ) -> Option<Rendered> {
        let opts = self.opts;
        let (id, rtype) = relationship_id(opts, src, rel)?;
        let created = src.created.max(tgt.created);
        let modified = src.modified.max(tgt.modified).max(created);
        let id20 = opts.id_for(&id, false);
        // Written as serde_json writes the same properties in this order (the bytes are the same).
        let obj = |v21: bool| {
            let mut o = JsonObject::new();
            o.str("type", "relationship");
            if v21 {
                o.str("spec_version", "2.1");
            }
            o.str("id", if v21 { &id } else { &id20 });
            if let Some(producer) = &self.producer {
                o.str("created_by_ref", &producer[usize::from(!v21)]);
            }
            let stamp = |t: Timestamp| if v21 { t.to_micros_string() } else { t.to_millis_string() };
            o.str("created", &stamp(created));
            o.str("modified", &stamp(modified));
            o.str("relationship_type", &rtype);
            if let Some(d) = rel.description.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                o.str("description", d);
            }
            let (s, t) = if v21 { (ends[0].id21(), ends[1].id21()) } else { (ends[0].id20(), ends[1].id20()) };
            o.str("source_ref", s);
            o.str("target_ref", t);
            if let Some(t) = tlp {
                o.strs("object_marking_refs", &[t.id()]);
            }
            o.finish()
        };
        let (json21, json20) = (obj(true), obj(false));
        Some(Rendered {
            json21,
            id20,
            json20,
            id21: id,
            type21: "relationship".into(),
            type20: "relationship".into(),
            version: modified,
        })
    }
}

/// A JSON object of string properties written straight out, byte for byte as serde_json writes it.
struct JsonObject(Vec<u8>);

impl JsonObject {
    fn new() -> JsonObject {
        JsonObject(Vec::with_capacity(512))
    }

    fn key(&mut self, key: &str) {
        self.0.push(if self.0.is_empty() { b'{' } else { b',' });
        self.quoted(key);
        self.0.push(b':');
    }

    fn quoted(&mut self, s: &str) {
        serde_json::to_writer(&mut self.0, s).expect("a string serialises");
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        self.quoted(value);
    }

    fn strs(&mut self, key: &str, values: &[&str]) {
        self.key(key);
        self.0.push(b'[');
        for (k, v) in values.iter().enumerate() {
            if k > 0 {
                self.0.push(b',');
            }
            self.quoted(v);
        }
        self.0.push(b']');
    }

    fn finish(mut self) -> String {
        self.0.push(b'}');
        String::from_utf8(self.0).expect("written from strings")
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

#[cfg(test)]
mod tests {
    //! A relationship written straight out is byte for byte what serde_json writes for the same properties,
    //! whatever its strings hold.
    use super::*;
    use crate::import::xsoar::indicator_from;

    fn ind(ty: &str, value: &str, tlp: &str) -> Indicator {
        indicator_from(
            "test",
            json!({"value": value, "indicator_type": ty, "timestamp": "2024-03-01T10:00:00.123456Z",
                   "modified": "2024-04-01T12:30:00.654321Z", "CustomFields": {"trafficlightprotocol": tlp}}),
        )
        .unwrap()
    }

    #[test]
    fn a_relationship_is_what_serde_json_writes() {
        let opts = RenderOptions {
            namespace: super::super::ids::namespace_for("test"),
            producer: Some("Producer \"quoted\"".into()),
            ..RenderOptions::default()
        };
        let src = ind("Domain", "example.com", "GREEN");
        let tgt = ind("Malware", "Emo\"tet\\ é 😀 \u{1}", "RED");
        let ends = [
            super::super::render_indicator(&src, &opts).unwrap(),
            super::super::render_indicator(&tgt, &opts).unwrap(),
        ];
        for description in [None, Some("  "), Some("a \"quote\", a \\ backslash,\nnew line,\ttab, \u{7f} é 😀 \u{1f}")]
        {
            let rel = Relationship {
                name: "Related To".into(),
                target_value: tgt.value.clone(),
                tip_id: Some("tip-1".into()),
                description: description.map(String::from),
            };
            let tlp = Some(Tlp::Red);
            let made = RelationshipMaker::new(&opts).make(&src, &rel, &tgt, [&ends[0], &ends[1]], tlp).unwrap();
            let (id, rtype) = relationship_id(&opts, &src, &rel).unwrap();
            let modified = src.modified.max(tgt.modified);
            for v21 in [true, false] {
                let mut m = object_start("relationship", &opts.id_for(&id, v21), v21);
                m.insert("created_by_ref".into(), json!(opts.id_for(&producer_id(&opts), v21)));
                m.insert("created".into(), stamp(src.created.max(tgt.created), v21));
                m.insert("modified".into(), stamp(modified, v21));
                m.insert("relationship_type".into(), json!(rtype));
                if let Some(d) = description.map(str::trim).filter(|d| !d.is_empty()) {
                    m.insert("description".into(), json!(d));
                }
                let (s, t) = if v21 { (ends[0].id21(), ends[1].id21()) } else { (ends[0].id20(), ends[1].id20()) };
                m.insert("source_ref".into(), json!(s));
                m.insert("target_ref".into(), json!(t));
                m.insert("object_marking_refs".into(), json!([Tlp::Red.id()]));
                let want = Value::Object(m).to_string();
                assert_eq!(if v21 { &made.json21 } else { &made.json20 }, &want);
            }
            assert_eq!((made.id21.as_str(), made.id20), (id.as_str(), opts.id_for(&id, false)));
            assert_eq!(made.version, modified);
        }
    }
}
