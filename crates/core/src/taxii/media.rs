//! Content negotiation: parses Accept as media ranges and picks the TAXII version to answer in.
//!
//! Liberal in: case-insensitive types and parameter names, optional whitespace, quoted values, q-values, lists,
//! `*/*`, `application/*`, `application/json`, versionless TAXII types (the newest version), and the 2.0 types
//! with or without the space before `version`. Strict out: [`Version::taxii_type`] and [`Version::stix_type`].

/// A TAXII protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V20,
    V21,
}

impl Version {
    /// The TAXII media type of every response of this version (2.0 objects excepted).
    pub fn taxii_type(self) -> &'static str {
        match self {
            Version::V20 => "application/vnd.oasis.taxii+json; version=2.0",
            Version::V21 => "application/taxii+json;version=2.1",
        }
    }

    /// The STIX media type of this version: collections advertise it; 2.0 objects are served as it.
    pub fn stix_type(self) -> &'static str {
        match self {
            Version::V20 => "application/vnd.oasis.stix+json; version=2.0",
            Version::V21 => "application/stix+json;version=2.1",
        }
    }

    /// "2.0" or "2.1".
    pub fn number(self) -> &'static str {
        match self {
            Version::V20 => "2.0",
            Version::V21 => "2.1",
        }
    }
}

/// One media range of an Accept header.
#[derive(Debug, PartialEq)]
struct Range {
    kind: String,
    subtype: String,
    version: Option<String>,
    q: f32,
}

/// The versions an Accept header allows, in the order of preference, among `offered` (themselves in the
/// server's order of preference). An absent or empty Accept allows everything offered.
pub fn negotiate(accept: Option<&str>, offered: &[Version]) -> Option<Version> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return offered.first().copied();
    };
    let ranges = parse(accept);
    let mut best: Option<(f32, u8, usize, Version)> = None;
    for (rank, &v) in offered.iter().enumerate() {
        let mut q_best: Option<(f32, u8)> = None;
        for r in &ranges {
            if let Some(spec) = specificity(r, v) {
                // The most specific matching range decides this version's quality (RFC 9110 §12.5.1).
                if q_best.is_none_or(|(_, s)| spec > s) {
                    q_best = Some((r.q, spec));
                }
            }
        }
        if let Some((q, spec)) = q_best.filter(|(q, _)| *q > 0.0) {
            let candidate = (q, spec, usize::MAX - rank, v);
            if best.is_none_or(|b| (candidate.0, candidate.1, candidate.2) > (b.0, b.1, b.2)) {
                best = Some(candidate);
            }
        }
    }
    best.map(|b| b.3)
}

/// How specifically a range names version `v`: 3 exact type and version, 2 the type without a version,
/// 1 a generic JSON or wildcard range; `None` when it does not match.
fn specificity(r: &Range, v: Version) -> Option<u8> {
    let versioned = |ok: &[&str]| match &r.version {
        Some(ver) if ok.contains(&ver.as_str()) => Some(3),
        Some(_) => None,
        None => Some(2),
    };
    match (r.kind.as_str(), r.subtype.as_str(), v) {
        ("*", "*", _) | ("application", "*", _) | ("application", "json", _) => Some(1),
        ("application", "taxii+json" | "stix+json", Version::V21) => versioned(&["2.1"]),
        // A versionless taxii+json means the newest version, which is 2.1; a 2.0 request names its version.
        ("application", "taxii+json" | "stix+json", Version::V20) => match &r.version {
            Some(ver) if ver == "2.0" => Some(3),
            _ => None,
        },
        ("application", "vnd.oasis.taxii+json" | "vnd.oasis.stix+json", Version::V20) => versioned(&["2.0"]),
        _ => None,
    }
}

fn parse(accept: &str) -> Vec<Range> {
    split_outside_quotes(accept, ',').iter().filter_map(|item| parse_range(item)).collect()
}

fn parse_range(item: &str) -> Option<Range> {
    let parts = split_outside_quotes(item, ';');
    let (kind, subtype) = parts.first()?.trim().split_once('/')?;
    let (kind, subtype) = (kind.trim().to_ascii_lowercase(), subtype.trim().to_ascii_lowercase());
    if kind.is_empty() || subtype.is_empty() {
        return None;
    }
    let mut range = Range { kind, subtype, version: None, q: 1.0 };
    for p in &parts[1..] {
        let Some((name, value)) = p.split_once('=') else { continue };
        let value = value.trim().trim_matches('"').trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "version" => range.version = Some(value.to_string()),
            "q" => range.q = value.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))?,
            _ => {}
        }
    }
    Some(range)
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::Version::*;
    use super::*;

    const BOTH: &[Version] = &[V21, V20];

    #[test]
    fn what_real_clients_send() {
        let cases: &[(Option<&str>, Option<Version>)] = &[
            (None, Some(V21)),
            (Some(""), Some(V21)),
            (Some("application/taxii+json;version=2.1"), Some(V21)),
            (Some("application/taxii+json; version=2.1"), Some(V21)),
            (Some("Application/TAXII+JSON; Version=\"2.1\""), Some(V21)),
            (Some("application/taxii+json"), Some(V21)),
            (Some("application/vnd.oasis.taxii+json; version=2.0"), Some(V20)),
            (Some("application/vnd.oasis.taxii+json;version=2.0"), Some(V20)),
            (Some("application/vnd.oasis.stix+json; version=2.0"), Some(V20)),
            (Some("application/vnd.oasis.taxii+json"), Some(V20)),
            (Some("*/*"), Some(V21)),
            (Some("application/json"), Some(V21)),
            (Some("text/html, */*;q=0.1"), Some(V21)),
            (
                Some("application/taxii+json;version=2.1;q=0.5, application/vnd.oasis.taxii+json; version=2.0"),
                Some(V20),
            ),
            (Some("application/taxii+json;version=2.1;q=0, */*"), Some(V20)),
            (Some("application/taxii+json;version=2.2"), None),
            (Some("text/html"), None),
            (Some("garbage"), None),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(*accept, BOTH), *want, "Accept: {accept:?}");
        }
    }

    #[test]
    fn respects_what_is_offered() {
        assert_eq!(negotiate(Some("application/taxii+json;version=2.1"), &[V20]), None);
        assert_eq!(negotiate(None, &[V20, V21]), Some(V20));
        assert_eq!(negotiate(Some("*/*"), &[V20, V21]), Some(V20));
    }
}
