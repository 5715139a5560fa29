//! The hasher of the build's maps whose keys are hashes already ([`KeyIsHash`]).

use std::hash::Hasher;

/// Hashes a key that is already a hash (an id's 64-bit xxh3, a record's 128-bit one, a TIP relationship's key
/// made of its ends' line hashes) by taking it as it is: the build's maps by such hashes hold a million entries,
/// and hashing their keys again with SipHash was a visible share of a build.
#[derive(Default)]
pub struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // The maps' keys write one u64 or u128; any other key is folded in, still correct.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64 ^ (n >> 64) as u64;
    }
}
