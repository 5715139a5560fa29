//! Request size limits, checked before anything else reads the request: the URL, the headers, the number of
//! query parameters, the values of one `match[...]` filter, and the length of `next`.
//!
//! Each is a clear 4xx TAXII error naming what is too large and the limit: 414 for the URL, 431 for the
//! headers (naming the header when one alone is too large), 400 naming the parameter for the query. The page
//! size is not refused: a `limit` (or a 2.0 `Range`) above the largest page is clamped, and the response says
//! so in [`CLAMPED_HEADER`]. Lengths are measured on the request as the core sees it (path and query
//! percent-decoded, header names and values), so an encoded URL may be somewhat longer on the wire.

use super::error::TaxiiError;
use super::filters::MAX_VALUES;
use super::http::Request;
use super::range::parse_range;
use crate::text::shown;

/// The response header that says a requested page size was cut to the largest page.
pub const CLAMPED_HEADER: &str = "X-TAXII-Edge-Page-Size";

/// The limits; each can be set by the worker variable named in its comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `MAX_URL_BYTES`: path plus query, decoded.
    pub max_url: usize,
    /// `MAX_HEADERS_BYTES`: every header's name and value together.
    pub max_headers: usize,
    /// `MAX_HEADER_BYTES`: one header's value.
    pub max_header: usize,
    /// `MAX_QUERY_PARAMS`: query parameters in one request.
    pub max_params: usize,
    /// `MAX_FILTER_VALUES`: comma-separated values of one `match[...]` filter (at most
    /// [`filters::MAX_VALUES`](super::filters::MAX_VALUES), which the filter parser also enforces).
    pub max_values: usize,
    /// `MAX_NEXT_BYTES`: the length of a `next` token (the server's own are a few hundred bytes).
    pub max_next: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_url: 8192,
            max_headers: 32768,
            max_header: 8192,
            max_params: 32,
            max_values: MAX_VALUES,
            max_next: 2048,
        }
    }
}

impl Limits {
    /// The limits from worker variables (`var` returns a variable's value): unset, empty, zero or unparsable
    /// ones keep their defaults.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Limits {
        let mut l = Limits::default();
        let num = |name: &str| var(name).and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n > 0);
        for (name, slot) in [
            ("MAX_URL_BYTES", &mut l.max_url),
            ("MAX_HEADERS_BYTES", &mut l.max_headers),
            ("MAX_HEADER_BYTES", &mut l.max_header),
            ("MAX_QUERY_PARAMS", &mut l.max_params),
            ("MAX_FILTER_VALUES", &mut l.max_values),
            ("MAX_NEXT_BYTES", &mut l.max_next),
        ] {
            if let Some(n) = num(name) {
                *slot = n;
            }
        }
        l.max_values = l.max_values.min(MAX_VALUES);
        l
    }

    /// Checks a request against the limits: the first one exceeded, as the error to answer with.
    pub fn check(&self, req: &Request) -> Result<(), TaxiiError> {
        let url = req.path.len() + req.query.iter().map(|(k, v)| k.len() + v.len() + 2).sum::<usize>();
        if url > self.max_url {
            return Err(TaxiiError::new(
                414,
                "URI too long",
                format!(
                    "the URL is {url} bytes long; this server takes at most {}: send fewer or shorter filter values \
                     (split a long match[id] list over several requests)",
                    self.max_url
                ),
            ));
        }
        if let Some((name, value)) = req.headers.iter().find(|(_, v)| v.len() > self.max_header) {
            let mut e = TaxiiError::new(
                431,
                "Request header fields too large",
                format!(
                    "the {} header is {} bytes long; this server takes at most {} in one header",
                    shown(name),
                    value.len(),
                    self.max_header
                ),
            );
            e.parameter = Some(shown(name));
            return Err(e);
        }
        let total: usize = req.headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
        if total > self.max_headers {
            return Err(TaxiiError::new(
                431,
                "Request header fields too large",
                format!(
                    "the request's headers are {total} bytes in all; this server takes at most {}: send fewer \
                     or smaller headers",
                    self.max_headers
                ),
            ));
        }
        if req.query.len() > self.max_params {
            let (first_extra, _) = &req.query[self.max_params];
            return Err(TaxiiError::bad_parameter(
                first_extra,
                format!(
                    "the query has {} parameters; this server takes at most {} (the TAXII filters are added_after, \
                     limit, next and match[id|type|version|spec_version])",
                    req.query.len(),
                    self.max_params
                ),
            ));
        }
        for (name, value) in &req.query {
            if name == "next" && value.len() > self.max_next {
                return Err(TaxiiError::bad_parameter(
                    "next",
                    format!(
                        "`next` is {} bytes long, longer than any token this server issues ({} at most): start \
                         again without it",
                        value.len(),
                        self.max_next
                    ),
                ));
            }
            if name.starts_with("match[") {
                let n = value.split(',').count();
                if n > self.max_values {
                    return Err(TaxiiError::bad_parameter(
                        name,
                        format!(
                            "`{}` lists {n} values; at most {} are allowed: split the list over several requests",
                            shown(name),
                            self.max_values
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// When the page asked for (`limit`, or a 2.0 `Range: items a-b`) is larger than `max_page`: the header that
/// says it was clamped, e.g. `X-TAXII-Edge-Page-Size: 1000; requested=5000`.
pub fn clamp_note(req: &Request, max_page: usize) -> Option<(String, String)> {
    let from_limit = req.query.iter().find(|(k, _)| k == "limit").and_then(|(_, v)| v.trim().parse::<u64>().ok());
    let from_range = req
        .header("range")
        .and_then(|h| parse_range(Some(h)).ok().flatten())
        .map(|r| (r.last - r.first).saturating_add(1));
    let asked = from_limit.into_iter().chain(from_range).max()?;
    (asked > max_page as u64).then(|| (CLAMPED_HEADER.to_string(), format!("{max_page}; requested={asked}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, query: &[(&str, &str)], headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Request::default()
        }
    }

    #[test]
    fn each_limit_has_its_status_and_names_what_is_too_large() {
        let l = Limits::default();
        assert!(l.check(&req("/taxii2/", &[("limit", "5")], &[("accept", "*/*")])).is_ok());
        assert_eq!(l.check(&req(&"/a".repeat(5000), &[], &[])).unwrap_err().status, 414);
        let e = l.check(&req("/", &[], &[("x-big", &"a".repeat(9000))])).unwrap_err();
        assert_eq!((e.status, e.parameter.as_deref()), (431, Some("x-big")));
        let many: Vec<(String, String)> = (0..10).map(|i| (format!("x-h{i}"), "a".repeat(4000))).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let e = l.check(&req("/", &[], &many)).unwrap_err();
        assert_eq!((e.status, e.parameter), (431, None));
        let params: Vec<(String, String)> = (0..40).map(|i| (format!("p{i}"), "1".into())).collect();
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let e = l.check(&req("/", &params, &[])).unwrap_err();
        assert_eq!((e.status, e.parameter.as_deref()), (400, Some("p32")));
        let e = l.check(&req("/", &[("match[type]", &"a,".repeat(100))], &[])).unwrap_err();
        assert_eq!((e.status, e.parameter.as_deref()), (400, Some("match[type]")));
        let e = l.check(&req("/", &[("next", &"x".repeat(2049))], &[])).unwrap_err();
        assert_eq!((e.status, e.parameter.as_deref()), (400, Some("next")));
    }

    #[test]
    fn variables_set_limits_and_bad_ones_are_ignored() {
        let l = Limits::from_vars(|n| match n {
            "MAX_URL_BYTES" => Some("100".into()),
            "MAX_HEADER_BYTES" => Some("zero".into()),
            "MAX_QUERY_PARAMS" => Some("0".into()),
            "MAX_FILTER_VALUES" => Some("5000".into()),
            _ => None,
        });
        assert_eq!(l.max_url, 100);
        assert_eq!(l.max_header, Limits::default().max_header);
        assert_eq!(l.max_params, Limits::default().max_params);
        assert_eq!(l.max_values, crate::taxii::filters::MAX_VALUES);
    }

    #[test]
    fn clamping_is_reported() {
        assert_eq!(clamp_note(&req("/", &[("limit", "10")], &[]), 1000), None);
        assert_eq!(
            clamp_note(&req("/", &[("limit", "5000")], &[]), 1000),
            Some((CLAMPED_HEADER.to_string(), "1000; requested=5000".into()))
        );
        assert_eq!(clamp_note(&req("/", &[], &[("range", "items=0-1999")]), 1000).unwrap().1, "1000; requested=2000");
        assert_eq!(clamp_note(&req("/", &[], &[("range", "bogus")]), 1000), None);
    }
}
