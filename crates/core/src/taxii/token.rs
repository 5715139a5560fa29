//! `next` tokens: stateless, self-contained, bound to the snapshot, collection and filters, and signed.
//!
//! A token says "continue after date_added D in snapshot S of collection C with filters F". It is
//! `base64url(payload) . base64url(HMAC-SHA256(secret, payload))[..16 bytes]`; a token that was altered or made
//! with another secret is refused with a 400, never silently restarted. A genuine token that does not continue
//! the request it came with (minted for another collection, or for other filters: clients that keep a `next`
//! across runs or collections) is not followed, and the request is answered afresh ([`follows`]).

use super::filters::Filters;
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

/// Why a genuine token was not followed: the request is answered afresh, and the response says why in
/// [`NEXT_IGNORED_HEADER`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextIgnored {
    /// The request sends filters other than those the token was minted with: they are the ones answered.
    OtherFilters,
    /// The token was minted for another collection: its filters are answered here from their start.
    OtherCollection,
}

/// The response header that says a `next` token was not followed, and why.
pub const NEXT_IGNORED_HEADER: &str = "X-TAXII-Edge-Next-Ignored";

impl NextIgnored {
    /// The header's value: a reason, then what was answered instead.
    pub fn header_value(self) -> &'static str {
        match self {
            NextIgnored::OtherFilters => "other-filters; answered from this request's filters",
            NextIgnored::OtherCollection => "other-collection; answered from the token's filters, from their start",
        }
    }
}

/// Whether a genuine token continues a request to the collection `collection_id` with `filters`: it does when it
/// was minted for that collection and the request repeats its filters or sends none.
pub fn follows(cursor: &Cursor, collection_id: &str, filters: &Filters) -> Result<(), NextIgnored> {
    if filters.selects() && filters.canonical_string() != cursor.f {
        return Err(NextIgnored::OtherFilters);
    }
    if cursor.c != collection_id {
        return Err(NextIgnored::OtherCollection);
    }
    Ok(())
}

/// The request's `next` token (the first, if several were sent), verified: `None` when none was sent.
pub fn first_in(query: &[(String, String)], secret: &[u8]) -> Option<Result<Cursor, TokenError>> {
    query.iter().find(|(k, _)| k == "next").map(|(_, t)| decode(t, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor { s: "abc".into(), c: "col".into(), f: "match[type]=indicator".into(), a: 42 }
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

    #[test]
    fn a_token_is_followed_only_by_its_collection_and_filters() {
        let c = cursor();
        let same = Filters { types: vec!["indicator".into()], ..Filters::default() };
        let other = Filters { types: vec!["ipv4-addr".into()], ..Filters::default() };
        assert_eq!(follows(&c, "col", &Filters::default()), Ok(()), "next alone");
        assert_eq!(follows(&c, "col", &same), Ok(()), "next with its filters repeated");
        assert_eq!(follows(&c, "col", &other), Err(NextIgnored::OtherFilters));
        assert_eq!(follows(&c, "another", &Filters::default()), Err(NextIgnored::OtherCollection));
        assert_eq!(follows(&c, "another", &same), Err(NextIgnored::OtherCollection));
        assert_eq!(follows(&c, "another", &other), Err(NextIgnored::OtherFilters));
    }
}
