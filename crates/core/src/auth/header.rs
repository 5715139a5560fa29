//! The Authorization header: HTTP Basic (the only scheme Microsoft Sentinel speaks) or
//! `Bearer <username>.<password>`, read into a username and password, and why a header was refused.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// The longest Authorization header read: far above any real credentials, far below what hurts.
pub const MAX_HEADER: usize = 4096;

/// Why credentials were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// The header could not be read as credentials: what was wrong.
    Malformed(String),
    /// A scheme other than Basic or Bearer (never kept: an API key sent alone would be the "scheme").
    Unsupported,
    /// Well-formed credentials that match no user.
    Wrong,
    /// The access configuration could not be read.
    Misconfigured,
}

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads the credentials of an Authorization header: `(username, password)`.
pub fn parse_header(header: &str) -> Result<(String, Vec<u8>), AuthError> {
    let malformed = |s: &str| AuthError::Malformed(s.to_string());
    if header.len() > MAX_HEADER {
        return Err(malformed("it is longer than 4096 bytes"));
    }
    let header = header.trim();
    let (scheme, rest) = header.split_once([' ', '\t']).unwrap_or((header, ""));
    let rest = rest.trim();
    let (user, pass) = credentials(scheme, rest)?;
    // RFC 7617 forbids control characters; a NUL would also pad the PBKDF2 (HMAC) key, so that `pw\0` would
    // verify as `pw`.
    if user.chars().chain(pass.chars()).any(char::is_control) {
        return Err(malformed("the credentials contain a control character"));
    }
    Ok((user, pass.into_bytes()))
}

fn credentials(scheme: &str, rest: &str) -> Result<(String, String), AuthError> {
    let malformed = |s: &str| AuthError::Malformed(s.to_string());
    if scheme.eq_ignore_ascii_case("basic") {
        if rest.is_empty() {
            return Err(malformed("Basic carries no credentials"));
        }
        let bytes = BASE64.decode(rest).map_err(|_| malformed("the Basic credentials are not base64"))?;
        let text = String::from_utf8(bytes).map_err(|_| malformed("the Basic credentials are not UTF-8"))?;
        let (user, pass) = text
            .split_once(':')
            .ok_or_else(|| malformed("the Basic credentials have no ':' between username and password"))?;
        if user.is_empty() {
            return Err(malformed("the username is empty"));
        }
        Ok((user.to_string(), pass.to_string()))
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let (user, pass) =
            rest.rsplit_once('.').ok_or_else(|| malformed("a Bearer API key has the form <username>.<password>"))?;
        if user.is_empty() {
            return Err(malformed("the username is empty"));
        }
        Ok((user.to_string(), pass.to_string()))
    } else {
        Err(AuthError::Unsupported)
    }
}
