//! One request's context: what the service learnt once (the settings, the request, the caller, the negotiated
//! version, the route and the verified `next` token) and every endpoint reads.

use super::error::TaxiiError;
use super::http::Request;
use super::media::Version;
use super::route::Route;
use super::token::{Cursor, TokenError};
use crate::auth::Viewer;
use crate::settings::Settings;

/// A TAXII request once routed, negotiated and its caller known.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub req: &'a Request,
    pub viewer: Viewer<'a>,
    /// The version the response is in.
    pub version: Version,
    pub route: Route<'a>,
    /// The request's `next` token (the first one sent), verified once: `None` when none was sent.
    pub next: Option<&'a Result<Cursor, TokenError>>,
}

impl<'a> Ctx<'a> {
    /// The cursor of the `next` token, or the 400 naming `next` for a token this server did not issue.
    pub fn cursor(&self) -> Result<Option<&'a Cursor>, TaxiiError> {
        match self.next {
            None => Ok(None),
            Some(Ok(cursor)) => Ok(Some(cursor)),
            Some(Err(e)) => Err(TaxiiError::bad_parameter("next", format!("`next` {e}"))),
        }
    }

    /// The answer for a collection the caller may not read, the same whether it exists or not (see
    /// [`Viewer::hidden_collection`]).
    pub fn no_such_collection(&self, id: &str) -> TaxiiError {
        self.viewer.hidden_collection(id).to_error(self.viewer.access())
    }
}
