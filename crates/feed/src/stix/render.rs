//! Renders one indicator as its STIX 2.1 and 2.0 objects.
//!
//! - Observable types: over 2.1 an SCO (`spec_version`, its own properties, markings and extension only), or an
//!   `indicator` with a pattern when its SCO type is in `as_indicator` (a domain glob always); over 2.0 an
//!   `indicator` (2.0 has no top-level SCOs; the xsoar profile's exception is below).
//! - Other types: the SDO of their kind in both versions. STIX 2.0 has no infrastructure or location: there they
//!   are the custom objects `x-taxii-edge-infrastructure` / `x-taxii-edge-location` with the same properties.
//! - `created` / `modified` carry microseconds over 2.1 and exactly milliseconds over 2.0 (which requires
//!   that); 2.0 ids are UUIDv4-shaped unless `xsoar_v20_ids` (see [`super::ids::v20_id`]).
//! - A value the STIX 2.1 schema refuses as its SCO's value is an indicator over 2.1 too (see
//!   [`super::observable`]).
//! - The `xsoar` profile ([`Profile::Xsoar`]): indicator patterns and names as XSOAR's feed reads them
//!   ([`super::observable::xsoar_form`]), an ASN always an indicator (its value keeps XSOAR's `AS`), a File SCO
//!   without `name`, and three non-strict forms: 2.1 SCOs with `created` / `modified`, 2.0 infrastructure and
//!   location under their 2.1 type names, and an observable whose value no pattern carries to XSOAR's reader
//!   ([`super::observable::xsoar_pattern_carries`]: a quote, a backslash or a space) an SCO in both versions
//!   (over 2.0 at the top level, as XSOAR's own 2.0 server serves it; over 2.1 even a value the schema refuses)
//!   unless `as_indicator` names its type; such a registry key keeps its hive as XSOAR holds it (`HKLM\…`).
//!
//! Properties, in this fixed order: type, spec_version (2.1), id, created_by_ref, created, modified, name,
//! description, the type's own, aliases, kill_chain_phases, revoked, labels, confidence (2.1),
//! external_references, object_marking_refs, then the XSOAR fields (2.1 `extensions`, 2.0 `x_xsoar_*`).
//!
//! Score → vocabulary: 3 malicious-activity, 2 anomalous-activity, 1 benign, 0 unknown (2.1 indicator_types;
//! the first 2.0 label, where score 0 gives no label when there are tags). Confidence (2.1): 3 → 85,
//! 2 → 50, 1 → 15, 0 → none. Tags → 2.1 `labels` and further 2.0 `labels`.

use super::ids;
use super::kind::{kind_of, unmapped, Kind, Obs};
use super::markings::{Tlp, TlpError};
use super::object_ids::{extension_definition_id, producer_id, relationship_id};
use super::observable::{
    observable, sco_id, vocab_word, xsoar_form, xsoar_pattern_carries, Observable, ObservableError,
};
use super::{ExtensionFields, Profile, RenderOptions, Rendered};
use crate::indicator::Indicator;
use edge_core::time::{TimeError, Timestamp};
use serde_json::{json, Map, Value};

/// Why an indicator made in XSOAR cannot be rendered as STIX: what is wrong with it and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderFailure {
    /// The indicator type has no STIX mapping (the message is [`unmapped`]'s).
    #[error("{0}")]
    Unmapped(String),
    #[error(transparent)]
    Tlp(#[from] TlpError),
    #[error("trafficlightprotocol must be a string such as \"GREEN\", not {0}")]
    TlpNotString(Value),
    #[error(transparent)]
    Observable(#[from] ObservableError),
    #[error("\"published\": {0}")]
    Published(TimeError),
    #[error("countrycode \"{0}\" is not a two-letter ISO 3166-1 code")]
    CountryCode(String),
    #[error(
        "a STIX location needs a region or a country: set countrycode (e.g. \"DE\") or region (e.g. \
         \"western-europe\")"
    )]
    LocationWithoutPlace,
    #[error("reportobjectreferences: \"{0}\" is not a STIX id (type--uuid)")]
    ReportRef(String),
    #[error(
        "a STIX report needs at least one object: set reportobjectreferences to the STIX ids it covers \
         ([{{\"objectstixid\": \"indicator--…\"}}]) or give it relationships"
    )]
    EmptyReport,
}

/// The TLP level an indicator is marked with, if any.
pub fn tlp_of(ind: &Indicator) -> Result<Option<Tlp>, RenderFailure> {
    match ind.field("trafficlightprotocol") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Tlp::parse(s)?),
        Some(other) => Err(RenderFailure::TlpNotString(other.clone())),
    }
}

/// What every object made from one indicator shares.
struct Common<'a> {
    ind: &'a Indicator,
    opts: &'a RenderOptions,
    tlp: Option<Tlp>,
    revoked: bool,
    /// `modified`: the indicator's, or its expiry when that revokes it.
    modified: Timestamp,
}

/// Renders one indicator made in XSOAR (not an imported STIX object: see [`super::render_indicator`]), or says
/// why it cannot be rendered.
pub(super) fn render_one(ind: &Indicator, opts: &RenderOptions) -> Result<Rendered, RenderFailure> {
    let kind = kind_of(&ind.xsoar_type).ok_or_else(|| RenderFailure::Unmapped(unmapped(&ind.xsoar_type)))?;
    let expired = ind.field_str("expirationstatus").is_some_and(|s| s.eq_ignore_ascii_case("expired"))
        || matches!((ind.expiration, opts.expired_as_of), (Some(e), Some(now)) if e <= now);
    let revoked = opts.revoke_expired && expired;
    // A revocation is a new version: `modified` moves to the expiry (never past the build time), so that
    // consumers polling by date see it.
    let modified = match ind.expiration {
        Some(e) if revoked && opts.expired_as_of.is_none_or(|now| e <= now) => ind.modified.max(e),
        _ => ind.modified,
    };
    let c = Common { ind, opts, tlp: tlp_of(ind)?, revoked, modified };
    let version = modified;
    match kind {
        Kind::Observable(obs) => {
            let mut o = observable(ind, obs)?;
            let xsoar = opts.profile == Profile::Xsoar;
            let (name, pattern) = match xsoar {
                true => {
                    let f = xsoar_form(ind, obs, &o);
                    (f.value, f.pattern)
                }
                false => (ind.value.clone(), o.pattern.clone()),
            };
            let indicator_id = ids::sdo_id(&opts.namespace, "indicator", &ind.value);
            let as_indicator = opts.as_indicator.contains(o.sco_type);
            // Non-strict in the xsoar profile: a value no pattern carries to XSOAR's reader is an SCO in both
            // versions (over 2.0, as XSOAR's own 2.0 server serves every observable), unless `as_indicator`
            // asks for an indicator. Its reader has no software parser.
            let xsoar_sco = xsoar && obs != Obs::Software && !as_indicator && !xsoar_pattern_carries(&name);
            if xsoar_sco && obs == Obs::RegistryKey {
                // Non-strict too: the key as XSOAR holds it, as its own server serves it (an abbreviated hive,
                // `HKLM\…`, stays abbreviated, where STIX wants it written out).
                o.props.insert("key".into(), json!(ind.value.trim()));
                o.id = sco_id(o.sco_type, &o.props);
            }
            // XSOAR's reader takes an ASN's `number` as its value: an indicator keeps XSOAR's (`AS64503`); it
            // drops a file SCO with no SHA-256, SHA-1 or MD5: an indicator carries its SHA-512.
            let unread_file = obs == Obs::File
                && !["SHA-256", "SHA-1", "MD5"]
                    .iter()
                    .any(|h| o.props.get("hashes").is_some_and(|m| m.get(h).is_some()));
            let always = !xsoar_sco && (o.always_indicator || (xsoar && (obs == Obs::Asn || unread_file)));
            let (id20, type20, json20) = if xsoar_sco {
                let id20 = opts.id_for(&o.id, false);
                let json20 = sco(&c, &o, &id20, false);
                (id20, o.sco_type.to_string(), json20)
            } else {
                let id20 = opts.id_for(&indicator_id, false);
                let json20 = indicator(&c, &id20, &name, &pattern, false);
                (id20, "indicator".to_string(), json20)
            };
            let (id21, type21, json21) = if always || as_indicator {
                (indicator_id.clone(), "indicator".to_string(), indicator(&c, &indicator_id, &name, &pattern, true))
            } else {
                if xsoar && obs == Obs::File {
                    // XSOAR's relationship reader takes a file's `name` before the hash it imports it by.
                    o.props.remove("name");
                    o.id = sco_id("file", &o.props);
                }
                (o.id.clone(), o.sco_type.to_string(), sco(&c, &o, &o.id, true))
            };
            Ok(Rendered { id21, type21, json21, id20, type20, json20, version })
        }
        Kind::Sdo(t) => {
            let key = match (t, ind.field_str("mitreid")) {
                ("attack-pattern", Some(m)) => m,
                _ => ind.value.clone(),
            };
            let id21 = ids::sdo_id(&opts.namespace, t, &key);
            let type20 = match t {
                // Non-strict in the xsoar profile: XSOAR's feed reads these 2.1 types over 2.0 too.
                "infrastructure" | "location" if opts.profile == Profile::Xsoar => t.to_string(),
                "infrastructure" | "location" => format!("{CUSTOM_PREFIX}{t}"),
                _ => t.to_string(),
            };
            let id20 = opts.id_for(&format!("{type20}--{}", id21.rsplit("--").next().unwrap_or_default()), false);
            let json21 = sdo(&c, t, &id21, true)?;
            let json20 = sdo(&c, &type20, &id20, false)?;
            Ok(Rendered { id21, type21: t.to_string(), json21, id20, type20, json20, version })
        }
    }
}

/// The prefix of the STIX 2.0 custom object types (for the 2.1-only infrastructure, location and
/// extension-definition).
pub const CUSTOM_PREFIX: &str = "x-taxii-edge-";

/// The score's indicator vocabulary word.
fn score_word(score: u8) -> &'static str {
    match score {
        3 => "malicious-activity",
        2 => "anomalous-activity",
        1 => "benign",
        _ => "unknown",
    }
}

/// Confidence (2.1) from the score: none for unknown.
fn confidence(score: u8) -> Option<u8> {
    match score {
        3 => Some(85),
        2 => Some(50),
        1 => Some(15),
        _ => None,
    }
}

fn ts(t: Timestamp) -> Value {
    json!(t.to_micros_string())
}

/// `created` / `modified`: microseconds in 2.1, milliseconds in 2.0 (which requires exactly that).
pub fn stamp(t: Timestamp, v21: bool) -> Value {
    json!(if v21 { t.to_micros_string() } else { t.to_millis_string() })
}

/// An observable as an SCO: its own properties, markings and XSOAR fields; in the xsoar profile with `created`
/// and `modified` (non-strict: XSOAR's feed keeps each object's `modified` and fails on an object without it).
/// Over 2.0 only the xsoar profile makes one (STIX 2.0 has no top-level SCOs).
fn sco(c: &Common<'_>, o: &Observable, id: &str, v21: bool) -> String {
    let mut m = object_start(o.sco_type, id, v21);
    if c.opts.profile == Profile::Xsoar {
        m.insert("created".into(), stamp(c.ind.created, v21));
        m.insert("modified".into(), stamp(c.modified, v21));
    }
    m.extend(o.props.clone());
    if let Some(t) = c.tlp {
        m.insert("object_marking_refs".into(), json!([t.id()]));
    }
    // A file's extensions contribute to its id: the XSOAR fields would change it, so files carry them only as
    // indicators.
    if o.sco_type != "file" {
        add_fields(c, o.sco_type, v21, &mut m);
    }
    Value::Object(m).to_string()
}

/// How every object begins: type, spec_version (2.1 only), id.
pub fn object_start(t: &str, id: &str, v21: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!(t));
    if v21 {
        m.insert("spec_version".into(), json!("2.1"));
    }
    m.insert("id".into(), json!(id));
    m
}

/// type, spec_version, id, created_by_ref, created, modified, name, description.
fn head(c: &Common<'_>, t: &str, id: &str, name: &str, v21: bool) -> Map<String, Value> {
    let mut m = object_start(t, id, v21);
    if c.opts.producer.is_some() {
        m.insert("created_by_ref".into(), json!(c.opts.id_for(&producer_id(c.opts), v21)));
    }
    m.insert("created".into(), stamp(c.ind.created, v21));
    m.insert("modified".into(), stamp(c.modified, v21));
    m.insert("name".into(), json!(name));
    if let Some(d) = c.ind.description() {
        m.insert("description".into(), json!(d));
    }
    m
}

/// revoked, labels, confidence, external_references, object_marking_refs, XSOAR fields.
fn tail(c: &Common<'_>, t: &str, labels: Vec<String>, refs: Vec<Value>, v21: bool, m: &mut Map<String, Value>) {
    if c.revoked {
        m.insert("revoked".into(), json!(true));
    }
    if !labels.is_empty() {
        m.insert("labels".into(), json!(labels));
    }
    if v21 {
        if let Some(n) = confidence(c.ind.score) {
            m.insert("confidence".into(), json!(n));
        }
    }
    if !refs.is_empty() {
        m.insert("external_references".into(), Value::Array(refs));
    }
    if let Some(tlp) = c.tlp {
        m.insert("object_marking_refs".into(), json!([tlp.id()]));
    }
    add_fields(c, t, v21, m);
}

fn indicator(c: &Common<'_>, id: &str, name: &str, pattern: &str, v21: bool) -> String {
    let ind = c.ind;
    let mut m = head(c, "indicator", id, name, v21);
    let mut labels = Vec::new();
    if v21 {
        m.insert("indicator_types".into(), json!([score_word(ind.score)]));
    } else if ind.score > 0 || ind.tags.is_empty() {
        labels.push(score_word(ind.score).to_string());
    }
    m.insert("pattern".into(), json!(pattern));
    if v21 {
        m.insert("pattern_type".into(), json!("stix"));
    }
    m.insert("valid_from".into(), ts(ind.created));
    if let Some(exp) = ind.expiration.filter(|e| *e > ind.created) {
        m.insert("valid_until".into(), ts(exp));
    }
    add_kill_chain(ind, &mut m);
    push_unique(&mut labels, tag_labels(ind, v21));
    tail(c, "indicator", labels, external_references(ind, "indicator"), v21, &mut m);
    Value::Object(m).to_string()
}

/// Tags as labels: verbatim in 2.1 (free text), as open-vocabulary words in 2.0 (as XSOAR writes them).
fn tag_labels(ind: &Indicator, v21: bool) -> Vec<String> {
    ind.tags.iter().map(|t| if v21 { t.trim().to_string() } else { vocab_word(t) }).collect()
}

fn push_unique(list: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for s in items {
        if !s.is_empty() && !list.contains(&s) {
            list.push(s);
        }
    }
}

/// A non-indicator SDO (`t` is the 2.0 custom type for infrastructure and location over 2.0).
fn sdo(c: &Common<'_>, t: &str, id: &str, v21: bool) -> Result<String, RenderFailure> {
    let ind = c.ind;
    let base = t.strip_prefix(CUSTOM_PREFIX).unwrap_or(t);
    let mut m = head(c, t, id, &ind.value, v21);
    let mut labels: Vec<String> = Vec::new();
    match base {
        "malware" => {
            let types: Vec<String> = strings(ind.field("malwaretypes")).iter().map(|s| vocab_word(s)).collect();
            if v21 {
                if !types.is_empty() {
                    m.insert("malware_types".into(), json!(types));
                }
                m.insert("is_family".into(), json!(truthy(ind.field("ismalwarefamily"))));
            } else {
                push_unique(&mut labels, types);
            }
        }
        "report" => {
            let published = match ind.field_str("published") {
                Some(p) => Timestamp::parse(&p).map_err(RenderFailure::Published)?,
                None => ind.created,
            };
            m.insert("published".into(), ts(published));
            let refs: Vec<String> = report_refs(ind, c.opts)?.iter().map(|r| c.opts.id_for(r, v21)).collect();
            m.insert("object_refs".into(), json!(refs));
        }
        "identity" => {
            match ind.field_str("identityclass") {
                Some(class) => m.insert("identity_class".into(), json!(vocab_word(&class))),
                None if !v21 => m.insert("identity_class".into(), json!("unknown")),
                None => None,
            };
        }
        "location" => {
            let region = ind.field_str("region").map(|r| vocab_word(&r));
            let country = ind.field_str("countrycode").or_else(|| {
                let v = ind.value.trim();
                (v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphabetic())).then(|| v.to_string())
            });
            let country = match country {
                Some(cc) if cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic()) => {
                    Some(cc.to_ascii_uppercase())
                }
                Some(cc) => return Err(RenderFailure::CountryCode(cc)),
                None => None,
            };
            if region.is_none() && country.is_none() {
                return Err(RenderFailure::LocationWithoutPlace);
            }
            if let Some(r) = region {
                m.insert("region".into(), json!(r));
            }
            if let Some(cc) = country {
                m.insert("country".into(), json!(cc));
            }
        }
        _ => {}
    }
    let has_aliases = if v21 {
        matches!(
            base,
            "attack-pattern" | "campaign" | "infrastructure" | "intrusion-set" | "malware" | "threat-actor" | "tool"
        )
    } else {
        matches!(base, "campaign" | "intrusion-set" | "threat-actor")
    };
    if has_aliases {
        let aliases: Vec<String> = strings(ind.field("aliases")).into_iter().filter(|a| a != &ind.value).collect();
        if !aliases.is_empty() {
            m.insert("aliases".into(), json!(aliases));
        }
    }
    if matches!(base, "attack-pattern" | "malware" | "tool") || (base == "infrastructure" && v21) {
        add_kill_chain(ind, &mut m);
    }
    push_unique(&mut labels, tag_labels(ind, v21));
    if !v21 && labels.is_empty() {
        // 2.0 requires labels on these types.
        match base {
            "report" => labels.push("threat-report".into()),
            "malware" | "threat-actor" | "tool" => labels.push(base.to_string()),
            _ => {}
        }
    }
    tail(c, t, labels, external_references(ind, base), v21, &mut m);
    Ok(Value::Object(m).to_string())
}

/// A field as a list of strings: a list, or a comma-separated string.
fn strings(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let items: Vec<String> = match v {
        Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(|s| s.trim().to_string()).collect(),
        _ => vec![],
    };
    push_unique(&mut out, items);
    out
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true") || s == "1" || s.eq_ignore_ascii_case("yes"),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

/// `reportobjectreferences` (`[{"objectstixid": …}]` or ids), then the report's relationships (as XSOAR adds
/// them) → `object_refs`; a report needs at least one. A relationship is served only when both its ends are in
/// the collection, so a report may name objects a collection does not hold, as STIX allows for `object_refs`.
fn report_refs(ind: &Indicator, opts: &RenderOptions) -> Result<Vec<String>, RenderFailure> {
    let mut refs = Vec::new();
    if let Some(Value::Array(rows)) = ind.field("reportobjectreferences") {
        for row in rows {
            let id = match row {
                Value::String(s) => s.trim(),
                Value::Object(o) => o.get("objectstixid").and_then(Value::as_str).unwrap_or("").trim(),
                _ => "",
            };
            if id.is_empty() {
                continue;
            }
            if !is_stix_id(id) {
                return Err(RenderFailure::ReportRef(id.to_string()));
            }
            if !refs.iter().any(|r| r == id) {
                refs.push(id.to_string());
            }
        }
    }
    for rel in &ind.relationships {
        if let Some((id, _)) = relationship_id(opts, ind, rel) {
            if !refs.contains(&id) {
                refs.push(id);
            }
        }
    }
    if refs.is_empty() {
        return Err(RenderFailure::EmptyReport);
    }
    Ok(refs)
}

fn is_stix_id(s: &str) -> bool {
    match s.split_once("--") {
        Some((t, u)) => {
            !t.is_empty()
                && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && uuid::Uuid::parse_str(u).is_ok()
                && u.len() == 36
        }
        None => false,
    }
}

/// kill_chain_phases from `killchainphases` (MITRE ATT&CK phase names).
fn add_kill_chain(ind: &Indicator, m: &mut Map<String, Value>) {
    let phases: Vec<Value> = strings(ind.field("killchainphases"))
        .iter()
        .map(|p| vocab_word(p))
        .filter(|p| !p.is_empty())
        .map(|p| json!({"kill_chain_name": "mitre-attack", "phase_name": p}))
        .collect();
    if !phases.is_empty() {
        m.insert("kill_chain_phases".into(), Value::Array(phases));
    }
}

/// external_references: the ATT&CK id of an attack pattern, the CVE id of a vulnerability, then
/// `externalreferences` rows `{"source_name","description","url","external_id"}` that have a source name and
/// one more property.
fn external_references(ind: &Indicator, t: &str) -> Vec<Value> {
    let mut refs = Vec::new();
    match (t, ind.field_str("mitreid")) {
        ("attack-pattern", Some(id)) => refs.push(json!({"source_name": "mitre-attack", "external_id": id})),
        ("vulnerability", _) => refs.push(json!({"source_name": "cve", "external_id": ind.value.trim()})),
        _ => {}
    }
    if let Some(Value::Array(rows)) = ind.field("externalreferences") {
        for row in rows {
            let text = |k: &str| row.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
            let Some(source) = text("source_name") else { continue };
            let mut r = Map::new();
            r.insert("source_name".into(), json!(source));
            for k in ["description", "url", "external_id"] {
                if let Some(v) = text(k) {
                    r.insert(k.into(), json!(v));
                }
            }
            let r = Value::Object(r);
            if r.as_object().is_some_and(|o| o.len() > 1) && !refs.contains(&r) {
                refs.push(r);
            }
        }
    }
    refs
}

/// Adds the selected XSOAR fields: a 2.1 property-extension keyed by the type's extension definition, or
/// 2.0 `x_xsoar_<field>` properties.
fn add_fields(c: &Common<'_>, t: &str, v21: bool, m: &mut Map<String, Value>) {
    let fields = xsoar_fields(c.ind, &c.opts.extension_fields);
    if fields.is_empty() {
        return;
    }
    if v21 {
        let mut ext = Map::new();
        ext.insert("extension_type".into(), json!("property-extension"));
        for (k, v) in fields {
            ext.entry(property_name(&k)).or_insert(v);
        }
        let mut exts = Map::new();
        exts.insert(extension_definition_id(c.opts, t), Value::Object(ext));
        m.insert("extensions".into(), Value::Object(exts));
    } else {
        for (k, v) in fields {
            let mut name = format!("x_xsoar_{k}");
            name.truncate(250);
            m.insert(name, v);
        }
    }
}

/// The selected fields by property name (lower-case ASCII letters, digits and `_`), without empty values.
pub fn xsoar_fields(ind: &Indicator, which: &ExtensionFields) -> Map<String, Value> {
    let typed = |name: &str| -> Option<Value> {
        Some(match name {
            "value" => json!(ind.value),
            "indicator_type" | "type" => json!(ind.xsoar_type),
            "score" => json!(ind.score),
            "timestamp" => ts(ind.created),
            "modified" => ts(ind.modified),
            "expiration" => ts(ind.expiration?),
            _ => return None,
        })
    };
    let mut out = Map::new();
    let mut put = |name: &str, v: Value| {
        if let Some(v) = clean(v) {
            out.entry(dictionary_key(name)).or_insert(v);
        }
    };
    match which {
        ExtensionFields::None => {}
        ExtensionFields::All => {
            for name in ["value", "indicator_type", "score", "timestamp", "modified", "expiration"] {
                if let Some(v) = typed(name) {
                    put(name, v);
                }
            }
            for (k, v) in &ind.fields {
                put(k, v.clone());
            }
        }
        ExtensionFields::List(names) => {
            for name in names {
                if let Some(v) = typed(name).or_else(|| ind.field(name).cloned()) {
                    put(name, v);
                }
            }
        }
    }
    out
}

/// A STIX property name for an XSOAR field: lower-case ASCII letters, digits and `_` (anything else becomes
/// `_`), starting with a letter and at least 3 long (else prefixed `xsoar_`), at most 240 long.
fn property_name(name: &str) -> String {
    let mut key = dictionary_key(name);
    if !(key.len() >= 3 && key.starts_with(|c: char| c.is_ascii_lowercase())) {
        key = format!("xsoar_{key}");
    }
    key.truncate(240);
    key
}

/// A dictionary key inside a field's value: lower-case ASCII letters, digits and `_`, at most 250 long.
fn dictionary_key(name: &str) -> String {
    let mut key: String =
        name.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch.to_ascii_lowercase() } else { '_' }).collect();
    key.truncate(250);
    key
}

/// Drops nulls, empty strings, empty lists and empty objects (STIX allows none of them), recursively, and
/// writes dictionary keys as STIX wants them (lower case; the first of two keys that become equal wins).
fn clean(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter_map(clean).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                if let Some(v) = clean(v) {
                    out.entry(dictionary_key(&k)).or_insert(v);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        other => Some(other),
    }
}
