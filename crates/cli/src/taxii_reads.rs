//! Reading a live worker as a TAXII client does, for `collections --url` and `info --url`: its status and
//! discovery documents, with a reader's credentials (none: public collections only).

use crate::http::{Http, HttpError, Method};

/// Credentials for reading a worker's collections (none: public collections only).
#[derive(clap::Args)]
pub struct ReaderArgs {
    /// A reader's username (HTTP Basic), with --password.
    #[arg(long, requires = "password")]
    user: Option<String>,
    /// The reader's password.
    #[arg(long, env = "TAXII_EDGE_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// A reader's API key (Authorization: Bearer).
    #[arg(long, env = "TAXII_EDGE_API_KEY", hide_env_values = true, conflicts_with = "user")]
    api_key: Option<String>,
}

impl ReaderArgs {
    fn authorization(&self) -> Option<String> {
        use base64::Engine as _;
        match (&self.user, &self.password, &self.api_key) {
            (_, _, Some(k)) => Some(format!("Bearer {k}")),
            (Some(u), Some(p), _) => {
                Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))))
            }
            _ => None,
        }
    }
}

/// GETs a worker's JSON with optional reader credentials; `accept` names the media type.
pub fn get_json(url: &str, reader: &ReaderArgs, accept: &str) -> Result<serde_json::Value, HttpError> {
    let authorization = reader.authorization();
    let mut headers = vec![("Accept", accept)];
    if let Some(auth) = &authorization {
        headers.push(("Authorization", auth));
    }
    let answer = Http::reader().send(Method::Get, url, &headers)?;
    match answer.status {
        200 => serde_json::from_slice(&answer.body)
            .map_err(|source| HttpError::BadAnswer { what: format!("{url} did not answer JSON"), source }),
        status @ (401 | 403) => Err(HttpError::Credentials { url: url.to_string(), status }),
        status => Err(HttpError::Answered {
            url: url.to_string(),
            status,
            message: answer.text().chars().take(300).collect(),
        }),
    }
}
