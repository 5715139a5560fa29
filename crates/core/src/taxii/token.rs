//! `next` tokens: stateless, self-contained, bound to the snapshot, collection and filters, and signed.
//!
//! A token says "continue after date_added D in snapshot S of collection C with filters F". It is
//! `base64url(payload) . base64url(HMAC-SHA256(secret, payload))[..16 bytes]`; a token that was altered, made
//! with another secret, or belongs to other filters is refused with a 400, never silently restarted.

use crate::time::Timestamp;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a token carries.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cursor {
    /// Snapshot id.
    pub s: String,
    /// Collection id.
    pub c: String,
    /// The canonical filter string of the request that started the paging.
    pub f: String,
    /// Continue after this date_added (microseconds).
    pub a: i64,
}

impl Cursor {
    pub fn after(&self) -> Timestamp {
        Timestamp(self.a)
    }
}

const MAC_LEN: usize = 16;

fn mac(secret: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(payload);
    m.finalize().into_bytes()[..MAC_LEN].to_vec()
}

/// Signs a cursor into a token.
pub fn encode(cursor: &Cursor, secret: &[u8]) -> String {
    let payload = serde_json::to_vec(cursor).expect("cursor serialises");
    format!("{}.{}", B64.encode(&payload), B64.encode(mac(secret, &payload)))
}

/// Why a token was refused; the 400's description is "`next` " and this.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("is not a token this server issued: start again without `next` (it is too long)")]
    TooLong,
    #[error("is not a token this server issued: start again without `next` (its signature does not match)")]
    Signature,
    #[error("is not a token this server issued: start again without `next`")]
    Malformed,
}

/// Reads a token, checking its signature.
pub fn decode(token: &str, secret: &[u8]) -> Result<Cursor, TokenError> {
    if token.len() > 2048 {
        return Err(TokenError::TooLong);
    }
    let (payload, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let payload = B64.decode(payload).map_err(|_| TokenError::Malformed)?;
    let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(&payload);
    m.verify_truncated_left(&sig).map_err(|_| TokenError::Signature)?;
    if sig.len() != MAC_LEN {
        return Err(TokenError::Malformed);
    }
    serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)
}

/// The request's `next` token (the first, if several were sent), verified: `None` when none was sent.
pub fn first_in(query: &[(String, String)], secret: &[u8]) -> Option<Result<Cursor, TokenError>> {
    query.iter().find(|(k, _)| k == "next").map(|(_, t)| decode(t, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor { s: "abc".into(), c: "col".into(), f: "type=indicator".into(), a: 42 }
    }

    #[test]
    fn round_trips() {
        let t = encode(&cursor(), b"secret");
        assert_eq!(decode(&t, b"secret").unwrap(), cursor());
    }

    #[test]
    fn refuses_tampering_and_foreign_tokens() {
        let t = encode(&cursor(), b"secret");
        assert!(decode(&t, b"other").unwrap_err().to_string().contains("signature"));
        let (p, s) = t.split_once('.').unwrap();
        let mut forged = cursor();
        forged.a = 0;
        let p2 = B64.encode(serde_json::to_vec(&forged).unwrap());
        assert!(decode(&format!("{p2}.{s}"), b"secret").is_err());
        assert!(decode(p, b"secret").is_err());
        assert!(decode("", b"secret").is_err());
        assert!(decode("4", b"secret").is_err());
        assert!(decode(&format!("{p}.{}", &s[..4]), b"secret").is_err());
    }
}
