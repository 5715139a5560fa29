//! Accept header → negotiated TAXII version: never panics, picks only an offered version, answers the
//! first offered version when Accept is empty, and never depends on anything but its inputs.
#![no_main]
use libfuzzer_sys::fuzz_target;
use edge_core::taxii::media::{negotiate, Version};

const OFFERS: &[&[Version]] =
    &[&[Version::V21, Version::V20], &[Version::V20, Version::V21], &[Version::V21], &[Version::V20], &[]];

fuzz_target!(|data: &[u8]| {
    let accept = String::from_utf8_lossy(data);
    for offered in OFFERS {
        let got = negotiate(Some(&accept), offered);
        if let Some(v) = got {
            assert!(offered.contains(&v), "{v:?} was not offered ({offered:?}) for {accept:?}");
        }
        if accept.trim().is_empty() {
            assert_eq!(got, offered.first().copied());
        }
        assert_eq!(got, negotiate(Some(&accept), offered), "not deterministic");
    }
    // Whatever both versions allow in one order, the other order allows too (only the preference differs).
    let a = negotiate(Some(&accept), &[Version::V21, Version::V20]);
    let b = negotiate(Some(&accept), &[Version::V20, Version::V21]);
    assert_eq!(a.is_some(), b.is_some(), "{accept:?}: {a:?} vs {b:?}");
});
