//! `next` tokens: decoding anything never panics; a token that verifies under one key never verifies under
//! another; any cursor round-trips through encode/decode; a token altered in one byte is refused.
#![no_main]
use libfuzzer_sys::fuzz_target;
use edge_core::taxii::token::{decode, encode, Cursor};

const KEY: &[u8] = b"taxii-edge development secret";
const OTHER: &[u8] = b"another secret";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = decode(&text, KEY) {
        assert!(decode(&text, OTHER).is_err(), "a token verified under two keys: {text:?} → {c:?}");
    }
    assert!(decode(&text, b"").is_err() || decode(&text, KEY).is_err(), "verified under the empty key and KEY");
    // A cursor made of the input round-trips, and tampering with its token is refused.
    let p = taxii_edge_fuzz::parts(data, 4);
    let a = i64::from_le_bytes(
        data.iter().rev().take(8).copied().chain(std::iter::repeat(0)).take(8).collect::<Vec<_>>().try_into().unwrap(),
    );
    let cursor = Cursor { s: p[0].clone(), c: p[1].clone(), f: p[2].clone(), a };
    let token = encode(&cursor, KEY);
    if token.len() <= 2048 {
        assert_eq!(decode(&token, KEY).as_ref(), Ok(&cursor));
        assert!(decode(&token, OTHER).is_err());
        let i = usize::from(*data.first().unwrap_or(&0)) % token.len();
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap();
        if altered != token {
            if let Ok(c) = decode(&altered, KEY) {
                // Only base64's unused trailing bits may change without changing the bytes.
                assert_eq!(c, cursor, "an altered token decoded to another cursor: {altered}");
            }
        }
    } else {
        assert!(decode(&token, KEY).is_err());
    }
});
