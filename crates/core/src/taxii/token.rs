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

/// Reads a token, checking its signature. The error says what is wrong, for the 400's description.
pub fn decode(token: &str, secret: &[u8]) -> Result<Cursor, String> {
    const BAD: &str = "is not a token this server issued: start again without `next`";
    if token.len() > 2048 {
        return Err(format!("{BAD} (it is too long)"));
    }
    let (payload, sig) = token.split_once('.').ok_or_else(|| BAD.to_string())?;
    let payload = B64.decode(payload).map_err(|_| BAD.to_string())?;
    let sig = B64.decode(sig).map_err(|_| BAD.to_string())?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(&payload);
    m.verify_truncated_left(&sig).map_err(|_| format!("{BAD} (its signature does not match)"))?;
    if sig.len() != MAC_LEN {
        return Err(BAD.to_string());
    }
    serde_json::from_slice(&payload).map_err(|_| BAD.to_string())
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
        assert!(decode(&t, b"other").unwrap_err().contains("signature"));
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
