//! Query parameters of the content endpoints: parsed, validated, and canonicalised for `next` binding.
//!
//! Each parameter may appear once (a comma list inside it is an OR); a repeated one is a 400 that says so.
//! Unknown `match[...]` fields are ignored, as the spec allows; other unknown parameters (cache busters) too.
//! A TAXII filter the endpoint does not take is a 400 naming it.

use super::error::TaxiiError;
use crate::time::Timestamp;

/// Which content endpoint the filters are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Objects,
    Manifest,
    Object,
    Versions,
}

/// One `match[version]` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionMatch {
    First,
    Last,
    All,
    At(Timestamp),
}

/// The validated filters of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    pub added_after: Option<Timestamp>,
    pub limit: Option<usize>,
    pub next: Option<String>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub versions: Vec<VersionMatch>,
    pub spec_versions: Vec<String>,
}

/// The most values one filter may list.
pub const MAX_VALUES: usize = 100;

impl Filters {
    /// Parses the query of a request to `endpoint`.
    pub fn parse(query: &[(String, String)], endpoint: Endpoint) -> Result<Filters, TaxiiError> {
        let mut f = Filters::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in query {
            let known = matches!(
                name.as_str(),
                "added_after"
                    | "limit"
                    | "next"
                    | "match[id]"
                    | "match[type]"
                    | "match[version]"
                    | "match[spec_version]"
            );
            if !known {
                continue;
            }
            if seen.contains(&name.as_str()) {
                return Err(TaxiiError::bad_parameter(
                    name,
                    format!("`{name}` appears more than once: give it once, with a comma-separated list of values"),
                ));
            }
            seen.push(name);
            if !allowed(endpoint, name) {
                return Err(TaxiiError::bad_parameter(name, format!("`{name}` is not a filter of this endpoint")));
            }
            match name.as_str() {
                "added_after" => {
                    f.added_after = Some(
                        Timestamp::parse(value)
                            .map_err(|e| TaxiiError::bad_parameter("added_after", format!("`added_after`: {e}")))?,
                    )
                }
                "limit" => f.limit = Some(parse_limit(value)?),
                "next" => {
                    if value.is_empty() {
                        return Err(TaxiiError::bad_parameter(
                            "next",
                            "`next` is empty: omit it to start from the beginning",
                        ));
                    }
                    f.next = Some(value.clone());
                }
                "match[id]" => f.ids = list(name, value, valid_id, "a STIX id such as indicator--<uuid>")?,
                "match[type]" => f.types = list(name, value, valid_type, "a STIX type such as indicator or ipv4-addr")?,
                "match[version]" => f.versions = versions(value)?,
                "match[spec_version]" => {
                    f.spec_versions = list(name, value, |v| v == "2.0" || v == "2.1", "2.0 or 2.1")?
                }
                _ => unreachable!("known parameters are matched above"),
            }
        }
        Ok(f)
    }

    /// The filters that select objects, canonicalised as query pairs: a `next` token carries them, so that a
    /// client may page with `next` alone, and one that repeats its filters must repeat the same ones.
    pub fn canonical(&self) -> Vec<(String, String)> {
        let join = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v.join(",")
        };
        let versions: Vec<String> = self
            .versions
            .iter()
            .map(|v| match v {
                VersionMatch::First => "first".to_string(),
                VersionMatch::Last => "last".to_string(),
                VersionMatch::All => "all".to_string(),
                VersionMatch::At(t) => t.to_micros_string(),
            })
            .collect();
        let mut out = Vec::new();
        if let Some(t) = self.added_after {
            out.push(("added_after".to_string(), t.to_micros_string()));
        }
        for (name, values) in [
            ("match[id]", join(&self.ids)),
            ("match[type]", join(&self.types)),
            ("match[version]", join(&versions)),
            ("match[spec_version]", join(&self.spec_versions)),
        ] {
            if !values.is_empty() {
                out.push((name.to_string(), values));
            }
        }
        out
    }

    /// [`canonical`](Self::canonical) as one string, for comparing and signing.
    pub fn canonical_string(&self) -> String {
        self.canonical().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
    }

    /// Whether any filter that selects objects was given (everything but `limit` and `next`).
    pub fn selects(&self) -> bool {
        self.added_after.is_some()
            || !self.ids.is_empty()
            || !self.types.is_empty()
            || !self.versions.is_empty()
            || !self.spec_versions.is_empty()
    }
}

fn allowed(endpoint: Endpoint, name: &str) -> bool {
    match endpoint {
        Endpoint::Objects | Endpoint::Manifest => true,
        Endpoint::Object => !matches!(name, "match[id]" | "match[type]"),
        Endpoint::Versions => !matches!(name, "match[id]" | "match[type]" | "match[version]"),
    }
}

fn parse_limit(value: &str) -> Result<usize, TaxiiError> {
    match value.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        Ok(_) => Err(TaxiiError::bad_parameter("limit", format!("`limit` must be a positive integer, not {value}"))),
        Err(_) => Err(TaxiiError::bad_parameter("limit", format!("`limit` must be a positive integer, not {value:?}"))),
    }
}

fn list(name: &str, value: &str, ok: fn(&str) -> bool, what: &str) -> Result<Vec<String>, TaxiiError> {
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    if items.len() > MAX_VALUES {
        return Err(TaxiiError::bad_parameter(
            name,
            format!("`{name}` lists {} values; at most {MAX_VALUES} are allowed", items.len()),
        ));
    }
    for item in &items {
        if !ok(item) {
            let shown: String = item.chars().take(80).collect();
            return Err(TaxiiError::bad_parameter(name, format!("`{name}`: {shown:?} is not {what}")));
        }
    }
    Ok(items)
}

fn valid_type(t: &str) -> bool {
    (1..=250).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn valid_id(id: &str) -> bool {
    match id.split_once("--") {
        Some((t, u)) => valid_type(t) && uuid::Uuid::try_parse(u).is_ok(),
        None => false,
    }
}

fn versions(value: &str) -> Result<Vec<VersionMatch>, TaxiiError> {
    let items: Vec<&str> = value.split(',').map(str::trim).collect();
    if items.len() > MAX_VALUES {
        return Err(TaxiiError::bad_parameter(
            "match[version]",
            format!("`match[version]` lists more than {MAX_VALUES} values"),
        ));
    }
    let parsed = items
        .iter()
        .map(|v| match *v {
            "first" => Ok(VersionMatch::First),
            "last" => Ok(VersionMatch::Last),
            "all" => Ok(VersionMatch::All),
            t => Timestamp::parse(t).map(VersionMatch::At).map_err(|e| {
                TaxiiError::bad_parameter(
                    "match[version]",
                    format!("`match[version]` takes first, last, all or timestamps: {e}"),
                )
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if parsed.contains(&VersionMatch::All) && parsed.len() > 1 {
        return Err(TaxiiError::bad_parameter(
            "match[version]",
            "`match[version]=all` cannot be combined with other values",
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn parses_every_filter() {
        let f = Filters::parse(
            &q(&[
                ("added_after", "2024-01-01 00:00:00.5+00:00"),
                ("limit", "10"),
                ("match[type]", "indicator,ipv4-addr"),
                ("match[id]", "indicator--5858b9e9-063f-573b-bb34-42cab292eaeb"),
                ("match[version]", "first,2024-01-01T00:00:00Z,last"),
                ("match[spec_version]", "2.1"),
                ("match[foo]", "ignored"),
                ("_", "12345"),
            ]),
            Endpoint::Objects,
        )
        .unwrap();
        assert_eq!(f.added_after.unwrap().to_micros_string(), "2024-01-01T00:00:00.500000Z");
        assert_eq!(f.limit, Some(10));
        assert_eq!(f.types, ["indicator", "ipv4-addr"]);
        assert_eq!(f.versions.len(), 3);
    }

    #[test]
    fn rejects_bad_values_naming_the_parameter() {
        let cases = [
            (("limit", "0"), "limit"),
            (("limit", "-5"), "limit"),
            (("limit", "ten"), "limit"),
            (("added_after", "yesterday"), "added_after"),
            (("match[type]", "Indicator"), "match[type]"),
            (("match[id]", "indicator--nope"), "match[id]"),
            (("match[version]", "all,last"), "match[version]"),
            (("match[version]", "newest"), "match[version]"),
            (("match[spec_version]", "3.0"), "match[spec_version]"),
            (("next", ""), "next"),
        ];
        for ((k, v), param) in cases {
            let e = Filters::parse(&q(&[(k, v)]), Endpoint::Objects).unwrap_err();
            assert_eq!((e.status, e.parameter.as_deref()), (400, Some(param)), "{k}={v}");
        }
        let e = Filters::parse(&q(&[("limit", "1"), ("limit", "2")]), Endpoint::Objects).unwrap_err();
        assert!(e.description.contains("more than once"));
        let e = Filters::parse(&q(&[("match[type]", "indicator")]), Endpoint::Versions).unwrap_err();
        assert_eq!(e.parameter.as_deref(), Some("match[type]"));
    }

    #[test]
    fn canonical_form_ignores_order_and_paging() {
        let a = Filters::parse(&q(&[("match[type]", "b,a"), ("limit", "5")]), Endpoint::Objects).unwrap();
        let b = Filters::parse(&q(&[("match[type]", "a,b"), ("next", "x")]), Endpoint::Objects).unwrap();
        assert_eq!(a.canonical_string(), b.canonical_string());
        assert_eq!(a.canonical_string(), "match[type]=a,b");
        let again = Filters::parse(&a.canonical(), Endpoint::Objects).unwrap();
        assert_eq!(again.canonical_string(), a.canonical_string());
    }
}
