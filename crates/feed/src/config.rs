//! The collection configuration in Cortex XSOAR's JSON form, read as XSOAR reads it.
//!
//! `{"name": "query"}` or `{"name": {"query": "…", "description": "…"}}`, in the order written. An empty query
//! selects every indicator; a missing one is an error, as in XSOAR.

use crate::query::Query;
use serde_json::Value;

/// One configured collection.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectionConfig {
    pub name: String,
    pub query_text: String,
    pub query: Query,
    pub description: String,
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
        let (query_text, description) = match spec {
            Value::String(q) => (q, String::new()),
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
                (query, description)
            }
            Value::Null => return Err(CollectionsError::MissingQuery { name }),
            _ => return Err(CollectionsError::BadSpec { name }),
        };
        let query = match Query::parse(&query_text) {
            Ok(q) => q,
            Err(source) => return Err(CollectionsError::Query { name, query_text, source }),
        };
        out.push(CollectionConfig { name, query_text, query, description });
    }
    Ok(out)
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
}
