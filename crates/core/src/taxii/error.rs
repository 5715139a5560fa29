//! The TAXII error resource: every failure a client can cause or meet is answered with one.

use super::http::Response;
use super::media::Version;
use serde::Serialize;

/// An error to send: status, title, description and, where one is at fault, the parameter or header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxiiError {
    pub status: u16,
    pub title: String,
    pub description: String,
    /// The query parameter or header at fault.
    pub parameter: Option<String>,
    /// Extra headers (`Retry-After`, `Content-Range`, `WWW-Authenticate`…).
    pub headers: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Body<'a> {
    title: &'a str,
    description: &'a str,
    http_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details<'a>>,
}

#[derive(Serialize)]
struct Details<'a> {
    parameter: &'a str,
}

impl TaxiiError {
    pub fn new(status: u16, title: &str, description: impl Into<String>) -> Self {
        TaxiiError { status, title: title.into(), description: description.into(), parameter: None, headers: vec![] }
    }

    /// A 400 naming the parameter at fault.
    pub fn bad_parameter(parameter: &str, description: impl Into<String>) -> Self {
        let mut e = TaxiiError::new(400, "Invalid parameter", description);
        e.parameter = Some(parameter.to_string());
        e
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        TaxiiError::new(404, "Not found", description)
    }

    /// 503 with Retry-After: the server cannot answer now; the client should retry.
    pub fn unavailable(description: impl Into<String>) -> Self {
        TaxiiError::new(503, "Service unavailable", description).with_header("Retry-After", "30")
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The response, in the TAXII media type of `version`.
    pub fn to_response(&self, version: Version) -> Response {
        let body = Body {
            title: &self.title,
            description: &self.description,
            http_status: self.status.to_string(),
            details: self.parameter.as_deref().map(|parameter| Details { parameter }),
        };
        let mut headers = vec![("Content-Type".to_string(), version.taxii_type().to_string())];
        headers.extend(self.headers.iter().cloned());
        Response { status: self.status, headers, body: serde_json::to_vec(&body).expect("error serialises") }
    }
}

impl From<crate::snapshot::SnapshotError> for TaxiiError {
    fn from(e: crate::snapshot::SnapshotError) -> Self {
        TaxiiError::unavailable(e.to_string())
    }
}

/// The version to report an error in when negotiation itself failed or has not happened yet.
pub const FALLBACK: Version = Version::V21;
