//! Renders a collection's indicators as STIX 2.1 and 2.0 objects.
//!
//! First form: the value observables (IP, CIDR, IPv6, Domain, URL, Email) as SCOs over 2.1 (or indicator SDOs
//! when configured) and as indicators with patterns over 2.0. A type with no mapping is reported, never dropped.

use super::{ids, RenderError, RenderOptions, Rendered};
use crate::indicator::Indicator;
use serde_json::{json, Map, Value};

/// Renders one indicator as its STIX object, or says why it cannot be rendered.
pub fn render_indicator(ind: &Indicator, opts: &RenderOptions) -> Result<Rendered, RenderError> {
    render_one(ind, opts).map_err(|reason| RenderError { origin: ind.origin.clone(), reason })
}

/// The objects a collection serves besides its indicators' own: relationships between members, the marking
/// definitions and identity they reference, extension definitions. `members` and `rendered` are parallel.
pub fn collection_extras(members: &[&Indicator], rendered: &[&Rendered], opts: &RenderOptions) -> Vec<Rendered> {
    let _ = (members, rendered, opts);
    Vec::new()
}

/// The STIX SCO type of an XSOAR value type.
fn sco_type(xsoar_type: &str) -> Option<&'static str> {
    Some(match xsoar_type {
        "IP" | "CIDR" => "ipv4-addr",
        "IPv6" | "IPv6CIDR" => "ipv6-addr",
        "Domain" | "DomainGlob" => "domain-name",
        "URL" => "url",
        "Email" => "email-addr",
        _ => return None,
    })
}

fn render_one(ind: &Indicator, opts: &RenderOptions) -> Result<Rendered, String> {
    let sco = sco_type(&ind.xsoar_type)
        .ok_or_else(|| format!("indicator type \"{}\" has no STIX mapping", ind.xsoar_type))?;
    let pattern = format!("[{sco}:value = '{}']", escape_pattern(&ind.value));
    let indicator_id = ids::sdo_id(&opts.namespace, "indicator", &ind.value);
    let json20 = indicator_json(ind, &indicator_id, &pattern, "2.0");
    let (id21, type21, json21) = if opts.as_indicator.contains(sco) {
        (indicator_id.clone(), "indicator".to_string(), indicator_json(ind, &indicator_id, &pattern, "2.1"))
    } else {
        let id = ids::sco_id(sco, &json!({ "value": ind.value }));
        let obj = json!({"type": sco, "spec_version": "2.1", "id": id, "value": ind.value});
        (id, sco.to_string(), obj.to_string())
    };
    Ok(Rendered { id21, type21, json21, id20: indicator_id, type20: "indicator".into(), json20, version: ind.modified })
}

fn indicator_json(ind: &Indicator, id: &str, pattern: &str, spec: &str) -> String {
    let mut o = Map::new();
    o.insert("type".into(), json!("indicator"));
    o.insert("id".into(), json!(id));
    o.insert("created".into(), json!(ind.created.to_micros_string()));
    o.insert("modified".into(), json!(ind.modified.to_micros_string()));
    o.insert("name".into(), json!(ind.value));
    o.insert("pattern".into(), json!(pattern));
    o.insert("valid_from".into(), json!(ind.created.to_micros_string()));
    if let Some(exp) = ind.expiration.filter(|e| *e > ind.created) {
        o.insert("valid_until".into(), json!(exp.to_micros_string()));
    }
    let label = match ind.score {
        3 => "malicious-activity",
        1 => "benign",
        _ => "anomalous-activity",
    };
    if spec == "2.1" {
        o.insert("spec_version".into(), json!("2.1"));
        o.insert("pattern_type".into(), json!("stix"));
        o.insert("indicator_types".into(), json!([label]));
    } else {
        o.insert("labels".into(), json!([label]));
    }
    Value::Object(o).to_string()
}

/// Escapes a STIX pattern string constant: `\` first, then `'`.
pub fn escape_pattern(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}
