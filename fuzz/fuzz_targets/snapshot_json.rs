//! The snapshot's JSON documents as the reader parses them: the pointer, manifest, collection index and id
//! shards. Never panics; whatever parses serialises and parses back to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use edge_core::snapshot::{CollectionIndex, Manifest, Pointer};

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<T>(data) {
        let bytes = serde_json::to_vec(&v).expect("serialises");
        assert_eq!(serde_json::from_slice::<T>(&bytes).expect("parses back"), v);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Pointer>(data);
    round_trip::<Manifest>(data);
    round_trip::<CollectionIndex>(data);
    round_trip::<Vec<(String, i64)>>(data);
});
