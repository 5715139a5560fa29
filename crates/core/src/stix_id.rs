//! The STIX ids the server derives itself: the STIX 2.1 SCO namespace, and the STIX 2.0 (UUIDv4) form of an id.
//! The feed's id rules (crate `edge-feed`, `stix::ids`) build on these.

use uuid::Uuid;

/// The STIX 2.1 namespace for SCO ids.
pub const SCO_NAMESPACE: Uuid = uuid::uuid!("00abedb4-aa42-466c-9c01-fed23315a9b7");

/// The STIX 2.0 form of an id: STIX 2.0 requires UUIDv4 ids, so a derived (v5) UUID has its version nibble set
/// to 4 and its variant to RFC 4122; a v4 UUID (the TLP marking definitions) is kept. Deterministic, and
/// distinct ids stay distinct (the 6 changed bits are fixed, the other 122 bits carry the hash).
pub fn v20_id(id: &str) -> String {
    let Some((t, u)) = id.split_once("--") else { return id.to_string() };
    let Ok(uuid) = Uuid::parse_str(u) else { return id.to_string() };
    if uuid.get_version_num() == 4 && uuid.get_variant() == uuid::Variant::RFC4122 {
        return id.to_string();
    }
    let mut b = *uuid.as_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format!("{t}--{}", Uuid::from_bytes(b))
}
