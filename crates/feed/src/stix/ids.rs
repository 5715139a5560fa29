//! Deterministic STIX ids: UUIDv5 names, RFC 8785 (JCS) canonical JSON, and the Cortex XSOAR namespaces.
//!
//! SCO ids follow STIX 2.1 §2.9 exactly as the python `stix2` library computes them. SDO, relationship and
//! extension-definition ids are `uuid5(namespace, "<type>:<value>")`; with the XSOAR customer string (license
//! id) the namespace is the one XSOAR uses, so ids carry over from an XSOAR deployment unchanged.

pub use edge_core::stix_id::{v20_id, SCO_NAMESPACE};
use serde_json::Value;
use uuid::Uuid;

/// `uuid5(NAMESPACE_URL, "https://www.paloaltonetworks.com")`.
pub fn paloalto_namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://www.paloaltonetworks.com")
}

/// The SDO namespace XSOAR builds from a customer string (its license id).
pub fn namespace_for(customer: &str) -> Uuid {
    Uuid::new_v5(&paloalto_namespace(), customer.as_bytes())
}

/// `<type>--uuid5(namespace, "<type>:<value>")`: XSOAR's SDO id rule.
pub fn sdo_id(namespace: &Uuid, stix_type: &str, value: &str) -> String {
    format!("{stix_type}--{}", Uuid::new_v5(namespace, format!("{stix_type}:{value}").as_bytes()))
}

/// `uuid5(namespace, "Collection_" + name)`: XSOAR's collection id rule.
pub fn collection_id(namespace: &Uuid, name: &str) -> String {
    Uuid::new_v5(namespace, format!("Collection_{name}").as_bytes()).to_string()
}

/// An SCO id from its id-contributing properties (a JSON object), canonicalised with JCS.
pub fn sco_id(stix_type: &str, contributing: &Value) -> String {
    let mut name = String::new();
    jcs(contributing, &mut name);
    format!("{stix_type}--{}", Uuid::new_v5(&SCO_NAMESPACE, name.as_bytes()))
}

/// Writes `v` as RFC 8785 canonical JSON: sorted keys (by UTF-16 code units), no whitespace, ES6 numbers.
pub fn jcs(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                jcs(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                jcs(item, out);
            }
            out.push(']');
        }
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e21 => out.push_str(&format!("{f:.0}")),
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sco_ids_match_the_spec_examples() {
        assert_eq!(
            sco_id("ipv4-addr", &json!({"value": "198.51.100.3"})),
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
        );
        assert_eq!(
            sco_id("ipv4-addr", &json!({"value": "8.8.8.8"})),
            "ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7"
        );
    }

    #[test]
    fn xsoar_namespaces_match_the_vectors() {
        assert_eq!(paloalto_namespace().to_string(), "749249c0-f7c7-5428-a4ad-ea5e1627a221");
        let ns = namespace_for("test");
        assert_eq!(ns.to_string(), "429ddc59-2771-5868-a52e-a3061d5fe549");
        assert_eq!(collection_id(&ns, "Collection1"), "4c649e16-2bb7-50f5-8826-2a2d0a0b9631");
        assert_eq!(collection_id(&ns, "Collection2"), "e46189b5-c5c8-5c7f-b947-183e0302b4d3");
        assert_eq!(sdo_id(&ns, "indicator", "8.8.8.8"), "indicator--5858b9e9-063f-573b-bb34-42cab292eaeb");
    }

    #[test]
    fn v20_ids_are_uuid4_shaped_and_stable() {
        assert_eq!(
            v20_id("indicator--5858b9e9-063f-573b-bb34-42cab292eaeb"),
            "indicator--5858b9e9-063f-473b-bb34-42cab292eaeb"
        );
        let tlp = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
        assert_eq!(v20_id(tlp), tlp);
        assert_eq!(v20_id("not-an-id"), "not-an-id");
    }

    #[test]
    fn jcs_sorts_keys_and_strips_space() {
        let mut s = String::new();
        jcs(&json!({"b": [1, 2.0, "x"], "a": {"d": null, "c": true}}), &mut s);
        assert_eq!(s, r#"{"a":{"c":true,"d":null},"b":[1,2,"x"]}"#);
    }
}
