//! The collection configuration in Cortex XSOAR's JSON form, read as XSOAR reads it, plus the client settings
//! a collection may carry.
//!
//! `{"name": "query"}` or `{"name": {"query": "…", "description": "…"}}`, in the order written. An empty query
//! selects every indicator; a missing one is an error, as in XSOAR. The object form also takes the client
//! settings of one collection ([`ClientSettings`]): `"as_indicator": ["ipv4-addr", …]` (which SCO types are
//! served as indicator objects over 2.1: it replaces the build's `--as-indicator` for this collection) and
//! `"profile": "stix"` (the default) or `"xsoar"` (what Cortex XSOAR's TAXII 2 feed reads, see
//! [`crate::stix::Profile`]).

use crate::query::Query;
use crate::stix::{Profile, RenderOptions, SCO_TYPES};
use serde_json::Value;
use std::collections::BTreeSet;

/// One configured collection.
#[derive(Clone, PartialEq)]
pub struct CollectionConfig {
    pub name: String,
    pub query_text: String,
    pub query: Query,
    pub description: String,
    /// How this collection's objects are rendered for its clients.
    pub client: ClientSettings,
}

/// The rendering settings one collection sets for itself (each unset one is the build's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientSettings {
    /// The SCO types served as indicators over 2.1; `None`: the build's `--as-indicator`.
    pub as_indicator: Option<BTreeSet<String>>,
    /// The rendering profile.
    pub profile: Profile,
}

impl ClientSettings {
    /// Whether the collection sets nothing of its own.
    pub fn is_default(&self) -> bool {
        *self == ClientSettings::default()
    }

    /// The build's render options as this collection's settings make them: its `as_indicator` replaces the
    /// build's, and the xsoar profile names no producer (XSOAR's feed would import the producer identity as an
    /// Identity indicator; it is still served when extension definitions need a creator).
    pub fn render_options(&self, build: &RenderOptions) -> RenderOptions {
        let mut o = build.clone();
        if let Some(types) = &self.as_indicator {
            o.as_indicator = types.clone();
        }
        o.profile = self.profile;
        if o.profile == Profile::Xsoar {
            o.producer = None;
        }
        o
    }
}

/// The configuration's digest reads this: a collection without client settings prints as it did before they
/// existed, so that a configuration that does not use them keeps its digest (and its snapshots their bytes).
impl std::fmt::Debug for CollectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("CollectionConfig");
        d.field("name", &self.name)
            .field("query_text", &self.query_text)
            .field("query", &self.query)
            .field("description", &self.description);
        if !self.client.is_default() {
            d.field("client", &self.client);
        }
        d.finish()
    }
}

/// Why the collections configuration was refused: each message names the collection and says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CollectionsError {
    #[error("the collections must be a JSON object such as {{\"All IPs\": \"type:IP\"}}: {0}")]
    Json(#[source] serde_json::Error),
    #[error("the collections must be a JSON object of name → query")]
    NotAnObject,
    #[error("no collections are configured: add at least one, e.g. {{\"All\": \"\"}}")]
    Empty,
    #[error("a collection name is empty")]
    EmptyName,
    #[error("collection \"{name}\": Collection query is required (use \"\" for all indicators)")]
    MissingQuery { name: String },
    #[error("collection \"{name}\": \"query\" must be a string")]
    QueryNotString { name: String },
    #[error("collection \"{name}\": \"description\" must be a string")]
    DescriptionNotString { name: String },
    #[error("collection \"{name}\": expected a query string or {{\"query\": …, \"description\": …}}")]
    BadSpec { name: String },
    #[error(
        "collection \"{name}\": \"as_indicator\" must be a list of STIX SCO type names such as [\"ipv4-addr\", \
         \"file\"]"
    )]
    AsIndicatorNotList { name: String },
    #[error("collection \"{name}\": \"as_indicator\": {}; use STIX SCO type names: {}", .unknown.join(", "), SCO_TYPES.join(", "))]
    AsIndicatorType { name: String, unknown: Vec<String> },
    #[error("collection \"{name}\": \"profile\" {given} is not a profile: use \"stix\" (the default, strict STIX) or \"xsoar\" (for Cortex XSOAR's TAXII 2 feed)")]
    Profile { name: String, given: String },
    #[error("collection \"{name}\": unknown setting \"{key}\": a collection takes \"query\", \"description\", \"as_indicator\" and \"profile\"")]
    UnknownSetting { name: String, key: String },
    #[error("collection \"{name}\": the query {query_text:?} does not parse {source}")]
    Query { name: String, query_text: String, source: crate::query::QueryError },
}

/// Parses the collections JSON, checking every query. Errors name the collection and say what to fix.
pub fn parse_collections(text: &str) -> Result<Vec<CollectionConfig>, CollectionsError> {
    let doc: Value = serde_json::from_str(text).map_err(CollectionsError::Json)?;
    let Value::Object(map) = doc else {
        return Err(CollectionsError::NotAnObject);
    };
    if map.is_empty() {
        return Err(CollectionsError::Empty);
    }
    let mut out = Vec::with_capacity(map.len());
    for (name, spec) in map {
        if name.trim().is_empty() {
            return Err(CollectionsError::EmptyName);
        }
        let (query_text, description, client) = match spec {
            Value::String(q) => (q, String::new(), ClientSettings::default()),
            Value::Object(mut o) => {
                let query = match o.remove("query") {
                    Some(Value::String(q)) => q,
                    Some(Value::Null) | None => return Err(CollectionsError::MissingQuery { name }),
                    Some(_) => return Err(CollectionsError::QueryNotString { name }),
                };
                let description = match o.remove("description") {
                    Some(Value::String(d)) => d,
                    None | Some(Value::Null) => String::new(),
                    Some(_) => return Err(CollectionsError::DescriptionNotString { name }),
                };
                let client = client_settings(&name, &mut o)?;
                if let Some(key) = o.keys().next() {
                    return Err(CollectionsError::UnknownSetting { key: key.clone(), name });
                }
                (query, description, client)
            }
            Value::Null => return Err(CollectionsError::MissingQuery { name }),
            _ => return Err(CollectionsError::BadSpec { name }),
        };
        let query = match Query::parse(&query_text) {
            Ok(q) => q,
            Err(source) => return Err(CollectionsError::Query { name, query_text, source }),
        };
        out.push(CollectionConfig { name, query_text, query, description, client });
    }
    Ok(out)
}

/// Takes `as_indicator` and `profile` out of a collection's object.
fn client_settings(name: &str, o: &mut serde_json::Map<String, Value>) -> Result<ClientSettings, CollectionsError> {
    let as_indicator = match o.remove("as_indicator") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut types = BTreeSet::new();
            let mut unknown = Vec::new();
            for item in items {
                match item {
                    Value::String(t) if SCO_TYPES.contains(&t.trim()) => {
                        types.insert(t.trim().to_string());
                    }
                    Value::String(t) => unknown.push(format!("{t:?} is not an SCO type")),
                    other => unknown.push(format!("{other} is not a type name")),
                }
            }
            if !unknown.is_empty() {
                return Err(CollectionsError::AsIndicatorType { name: name.to_string(), unknown });
            }
            Some(types)
        }
        Some(_) => return Err(CollectionsError::AsIndicatorNotList { name: name.to_string() }),
    };
    let profile = match o.remove("profile") {
        None | Some(Value::Null) => Profile::Stix,
        Some(Value::String(p)) if Profile::parse(&p).is_some() => Profile::parse(&p).unwrap_or_default(),
        Some(other) => return Err(CollectionsError::Profile { name: name.to_string(), given: other.to_string() }),
    };
    Ok(ClientSettings { as_indicator, profile })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_xsoar_forms_in_order() {
        let c =
            parse_collections(r#"{"Zeta": "type:IP", "Alpha": {"query": "", "description": "All of it"}}"#).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].name.as_str(), c[0].query_text.as_str()), ("Zeta", "type:IP"));
        assert_eq!((c[1].name.as_str(), c[1].description.as_str(), &c[1].query), ("Alpha", "All of it", &Query::All));
    }

    #[test]
    fn explains_bad_configs() {
        assert!(parse_collections("[]").unwrap_err().to_string().contains("JSON object"));
        assert!(parse_collections(r#"{"A": {"description": "x"}}"#)
            .unwrap_err()
            .to_string()
            .contains("Collection query is required"));
        let e = parse_collections(r#"{"A": "type:IP and"}"#).unwrap_err().to_string();
        assert!(e.starts_with("collection \"A\": the query \"type:IP and\" does not parse at character"), "{e}");
    }

    #[test]
    fn reads_client_settings_per_collection() {
        let c = parse_collections(
            r#"{"Sentinel": {"query": "", "as_indicator": ["ipv4-addr", "file"]},
                "XSOAR": {"query": "type:IP", "profile": "xsoar"}, "Plain": "type:IP"}"#,
        )
        .unwrap();
        let types: BTreeSet<String> = ["file", "ipv4-addr"].map(String::from).into();
        assert_eq!(c[0].client, ClientSettings { as_indicator: Some(types), profile: Profile::Stix });
        assert_eq!(c[1].client, ClientSettings { as_indicator: None, profile: Profile::Xsoar });
        assert!(c[2].client.is_default());
        // An empty list is a setting of its own: no SCO type as an indicator, whatever the build flag says.
        let empty = parse_collections(r#"{"A": {"query": "", "as_indicator": []}}"#).unwrap();
        assert_eq!(empty[0].client.as_indicator, Some(BTreeSet::new()));
    }

    #[test]
    fn names_the_collection_and_the_field_of_a_bad_client_setting() {
        let e = parse_collections(r#"{"S": {"query": "", "as_indicator": ["ipv4-addr", "ip"]}}"#).unwrap_err();
        let e = e.to_string();
        assert!(e.starts_with("collection \"S\": \"as_indicator\": \"ip\" is not an SCO type; use STIX SCO"), "{e}");
        let e = parse_collections(r#"{"S": {"query": "", "as_indicator": "ipv4-addr"}}"#).unwrap_err().to_string();
        assert!(e.starts_with("collection \"S\": \"as_indicator\" must be a list"), "{e}");
        let e = parse_collections(r#"{"X": {"query": "", "profile": "cortex"}}"#).unwrap_err().to_string();
        assert!(e.starts_with("collection \"X\": \"profile\" \"cortex\" is not a profile: use \"stix\""), "{e}");
        let e = parse_collections(r#"{"X": {"query": "", "profle": "xsoar"}}"#).unwrap_err().to_string();
        assert!(e.contains("unknown setting \"profle\""), "{e}");
    }

    #[test]
    fn a_collection_without_client_settings_keeps_its_digest_text() {
        let c = parse_collections(r#"{"A": {"query": "type:IP", "description": "d"}}"#).unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("client"), "{text}");
        let x = parse_collections(r#"{"A": {"query": "type:IP", "description": "d", "profile": "xsoar"}}"#).unwrap();
        assert!(format!("{x:?}").contains("Xsoar"));
    }
}
