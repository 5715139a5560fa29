//! The admin API's wire contract, shared by the worker's admin handler and the CLI's client: the paths, the
//! requests and the answers, and the rules both sides check (blob keys, batch sizes).

/// Keys one `missing` call may ask about.
pub const MAX_KEYS_PER_CALL: usize = 50;

/// Whether a key names a content-addressed blob: `<kind>/<32 hex digits>`.
pub fn valid_blob_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((kind, hash)) => {
            matches!(kind, "segment" | "index" | "manifest" | "ids")
                && hash.len() == 32
                && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        None => false,
    }
}
