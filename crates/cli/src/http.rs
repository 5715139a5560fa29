//! The one HTTP client of the command (ureq): the admin API calls (`admin_client`) and the TAXII reads of
//! `collections --url` and `info --url` (`taxii_reads`) send their requests here, and its errors say what went
//! wrong and what to do.

use std::time::Duration;

/// What went wrong talking to a worker.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No answer at all: a wrong URL, or the worker is not running.
    #[error("cannot reach {url}: {source}")]
    Unreachable { url: String, source: Box<ureq::Error> },
    /// The answer was cut off or too large.
    #[error("{request}: cannot read the answer: {source}")]
    Unreadable { request: String, source: Box<ureq::Error> },
    /// The worker refused the admin token.
    #[error("{url} refused the admin token: pass the worker's ADMIN_TOKEN with --token")]
    AdminToken { url: String },
    /// The worker has no admin path.
    #[error("{url}: the admin path is off or absent: set the ADMIN_TOKEN secret on the worker")]
    AdminOff { url: String },
    /// A read the worker refused for want of (valid) reader credentials.
    #[error("{url} answered {status}: give a reader's credentials (--user and --password, or --api-key)")]
    Credentials { url: String, status: u16 },
    /// An admin call the worker refused or failed, with its message.
    #[error("{doing} failed ({status}): {message}")]
    Refused { doing: String, status: u16, message: String },
    /// A read the worker refused or failed, with (the start of) its message.
    #[error("{url} answered {status}: {message}")]
    Answered { url: String, status: u16, message: String },
    /// An answer that is not what the API promises (not a taxii-edge worker, or another version of it).
    #[error("{what}: {source}")]
    BadAnswer { what: String, source: serde_json::Error },
}

impl HttpError {
    /// The worker refused or failed `doing`: its status and its message.
    pub fn refused(doing: impl Into<String>, answer: &Answer) -> HttpError {
        HttpError::Refused { doing: doing.into(), status: answer.status, message: answer.text() }
    }
}

/// The methods the command sends, with the body of those that send one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method<'b> {
    Get,
    Post(&'b [u8]),
    Put(&'b [u8]),
}

impl Method<'_> {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post(_) => "POST",
            Method::Put(_) => "PUT",
        }
    }
}

/// A status, the headers (names lower-case) and the body that came with it.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first value of a header (`name` lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body as text (a worker's error message).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client: an agent that answers every status (the callers judge them), a timeout for a whole request, and
/// the largest body it reads.
pub struct Http {
    agent: ureq::Agent,
    body_limit: u64,
}

impl Http {
    /// For the admin API: blobs up to 64 MiB, two minutes a request.
    pub fn admin() -> Http {
        Http::new(Duration::from_secs(120), 64 * 1024 * 1024)
    }

    /// For TAXII reads: JSON documents up to 10 MB, a minute a request.
    pub fn reader() -> Http {
        Http::new(Duration::from_secs(60), 10 * 1024 * 1024)
    }

    /// For `sync`'s sources (XSOAR pages, TAXII pages, whole files): up to 2 GiB, ten minutes a request.
    pub fn source() -> Http {
        Http::new(Duration::from_secs(600), 2 * 1024 * 1024 * 1024)
    }

    fn new(timeout: Duration, body_limit: u64) -> Http {
        let agent =
            ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(timeout)).build().into();
        Http { agent, body_limit }
    }

    /// Sends a request and reads the whole answer, whatever its status.
    pub fn send(&self, method: Method, url: &str, headers: &[(&str, &str)]) -> Result<Answer, HttpError> {
        fn with<B>(mut r: ureq::RequestBuilder<B>, headers: &[(&str, &str)]) -> ureq::RequestBuilder<B> {
            for (name, value) in headers {
                r = r.header(*name, *value);
            }
            r
        }
        let result = match method {
            Method::Get => with(self.agent.get(url), headers).call(),
            Method::Post(body) => with(self.agent.post(url), headers).send(body),
            Method::Put(body) => with(self.agent.put(url), headers).send(body),
        };
        let mut resp = result.map_err(|e| HttpError::Unreachable { url: url.to_string(), source: Box::new(e) })?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
            .collect();
        let body =
            resp.body_mut().with_config().limit(self.body_limit).read_to_vec().map_err(|e| HttpError::Unreadable {
                request: format!("{} {url}", method.name()),
                source: Box::new(e),
            })?;
        Ok(Answer { status, headers, body })
    }
}
