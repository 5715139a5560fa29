//! The four standard TLP marking definitions of STIX 2.0 / 2.1 (§7.2.1.4) and how an XSOAR
//! `trafficlightprotocol` value selects one.
//!
//! TLP 2.0's CLEAR is TLP 1.0's WHITE (the only marking definitions STIX allows are the four TLP 1.0 ones).
//! AMBER+STRICT has no STIX marking: it is refused rather than weakened to AMBER.

use serde_json::{json, Value};

/// A TLP level, ordered from least to most restrictive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    White,
    Green,
    Amber,
    Red,
}

/// When the TLP marking definitions were created (fixed by the spec).
pub const TLP_CREATED: &str = "2017-01-20T00:00:00.000Z";

/// Why an XSOAR `trafficlightprotocol` value selects no STIX marking.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlpError {
    #[error(
        "TLP:AMBER+STRICT has no STIX marking definition (STIX knows only TLP WHITE, GREEN, AMBER and RED): set \
         trafficlightprotocol to RED or AMBER"
    )]
    AmberStrict,
    #[error("trafficlightprotocol \"{0}\" is not a TLP level: use WHITE, CLEAR, GREEN, AMBER or RED")]
    Unknown(String),
}

impl Tlp {
    /// Reads an XSOAR `trafficlightprotocol` value: WHITE, CLEAR, GREEN, AMBER, RED, in any case, with or
    /// without a `TLP:` prefix. Empty means unmarked.
    pub fn parse(v: &str) -> Result<Option<Tlp>, TlpError> {
        let t = v.trim().to_ascii_uppercase();
        let t = t.strip_prefix("TLP:").unwrap_or(&t).trim();
        Ok(Some(match t {
            "" => return Ok(None),
            "WHITE" | "CLEAR" => Tlp::White,
            "GREEN" => Tlp::Green,
            "AMBER" => Tlp::Amber,
            "RED" => Tlp::Red,
            "AMBER+STRICT" => return Err(TlpError::AmberStrict),
            _ => return Err(TlpError::Unknown(v.to_string())),
        }))
    }

    /// The standard marking definition id.
    pub fn id(self) -> &'static str {
        match self {
            Tlp::White => "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
            Tlp::Green => "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
            Tlp::Amber => "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
            Tlp::Red => "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Tlp::White => "white",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::Red => "red",
        }
    }

    /// The marking definition object exactly as the spec gives it, in 2.1 or 2.0.
    pub fn definition(self, v21: bool) -> Value {
        if v21 {
            json!({
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": self.id(),
                "created": TLP_CREATED,
                "definition_type": "tlp",
                "name": format!("TLP:{}", self.word().to_ascii_uppercase()),
                "definition": {"tlp": self.word()},
            })
        } else {
            json!({
                "type": "marking-definition",
                "id": self.id(),
                "created": TLP_CREATED,
                "definition_type": "tlp",
                "definition": {"tlp": self.word()},
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_xsoar_values() {
        assert_eq!(Tlp::parse("CLEAR"), Ok(Some(Tlp::White)));
        assert_eq!(Tlp::parse("tlp:green"), Ok(Some(Tlp::Green)));
        assert_eq!(Tlp::parse(" Amber "), Ok(Some(Tlp::Amber)));
        assert_eq!(Tlp::parse("RED"), Ok(Some(Tlp::Red)));
        assert_eq!(Tlp::parse(""), Ok(None));
        assert!(Tlp::parse("AMBER+STRICT").unwrap_err().to_string().contains("no STIX marking"));
        assert!(Tlp::parse("purple").unwrap_err().to_string().contains("not a TLP level"));
        assert!(Tlp::White < Tlp::Red);
    }

    #[test]
    fn definitions_are_the_standard_ones() {
        let d = Tlp::Green.definition(true);
        assert_eq!(
            d.to_string(),
            r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}"#
        );
        assert!(Tlp::Red.definition(false).get("spec_version").is_none());
    }
}
