//! The refusals of [`crate::auth`] as TAXII errors: 401 with a Basic challenge, 404 for a collection that does
//! not exist for the caller, 503 when the access configuration cannot be read.

use super::error::TaxiiError;
use crate::auth::{Access, AuthError, Refusal};
use crate::text::shown;

impl Access {
    /// The 401 that asks for credentials.
    pub fn challenge(&self, description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(401, "Unauthorized", description)
            .with_header("WWW-Authenticate", &format!("Basic realm=\"{}\", charset=\"UTF-8\"", self.realm()))
    }
}

impl AuthError {
    /// The TAXII error to answer with: 401 with a Basic challenge, or 503 when the server is misconfigured.
    pub fn to_error(&self, access: &Access) -> TaxiiError {
        match self {
            AuthError::Malformed(why) => access.challenge(format!(
                "the Authorization header is not valid: {why}; send Basic base64(username:password)"
            )),
            // Never echoed: an API key sent without a scheme is all scheme.
            AuthError::Unsupported => access.challenge(
                "the Authorization header's scheme is not supported: use Basic (or Bearer <username>.<password>)",
            ),
            AuthError::Wrong => access.challenge("the username or password is not valid"),
            AuthError::Misconfigured => TaxiiError::unavailable(
                "the server's access configuration cannot be read: its operator must fix the TAXII_USERS secret or \
                 the PUBLIC_COLLECTIONS and PUBLIC_DISCOVERY settings (the worker's log says what is wrong)",
            ),
        }
    }
}

impl Refusal {
    /// The TAXII error to answer with: 401 with a Basic challenge, or 404 for a collection.
    pub fn to_error(&self, access: &Access) -> TaxiiError {
        match self {
            Refusal::ServerNeedsCredentials => {
                access.challenge("this server needs credentials: send your username and password (HTTP Basic)")
            }
            Refusal::CollectionNeedsCredentials => access.challenge(
                "this collection needs credentials: send your username and password (HTTP Basic), or list the \
                 collections you may read at the API root's collections/ endpoint",
            ),
            Refusal::NoSuchCollection(id) => unknown_collection(id),
        }
    }
}

/// The 429 of a sign-in refused by the throttle (see [`crate::auth::throttle`]): wait `seconds`.
pub fn too_many_sign_ins(seconds: u32) -> TaxiiError {
    TaxiiError::new(
        429,
        "Too many requests",
        format!(
            "too many failed sign-ins as this user from your address: try again in {seconds} seconds, with the right \
             password"
        ),
    )
    .with_header("Retry-After", &seconds.to_string())
}

/// The 404 for a collection that does not exist (for this caller).
pub fn unknown_collection(id: &str) -> TaxiiError {
    TaxiiError::not_found(format!(
        "there is no collection {:?}: list the collections at the API root's collections/ endpoint",
        shown(id)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_realm_cannot_break_the_header() {
        let access = Access::from_config(None, None, None, Some("a\"b\\c\r\nd")).unwrap();
        let e = access.challenge("x");
        assert_eq!(e.headers[0].1, "Basic realm=\"abcd\", charset=\"UTF-8\"");
    }
}
