//! The generator's randomness: a SplitMix64 generator, and the bijections that turn a per-type counter into
//! unique values that look random (`scramble`, `combo`).

/// SplitMix64: small, fast, and good enough for synthetic data.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A number in `0..n` (n > 0).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    pub(super) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` random bytes as lower-case hex.
    pub(super) fn hex(&mut self, n: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(n * 2);
        let mut word = 0u64;
        for i in 0..n {
            if i % 8 == 0 {
                word = self.next();
            }
            let b = (word >> ((i % 8) * 8)) as u8;
            s.push(DIGITS[usize::from(b >> 4)] as char);
            s.push(DIGITS[usize::from(b & 15)] as char);
        }
        s
    }
}

/// A bijection on each block of `m` numbers, different for each `salt`: makes a counter look random while
/// keeping the values it picks unique.
pub(super) fn scramble(k: u64, m: u64, salt: u64) -> u64 {
    (k / m) * m + permute(k % m, m, salt)
}

/// A pseudo-random permutation of `0..m`: a four-round Feistel network on the smallest even number of bits
/// that holds `m`, walking the cycle until the result is below `m`.
pub(super) fn permute(x: u64, m: u64, salt: u64) -> u64 {
    if m <= 1 {
        return 0;
    }
    let bits = 64 - (m - 1).leading_zeros();
    let half = bits.div_ceil(2);
    let mask = (1u64 << half) - 1;
    let mut x = x;
    loop {
        let (mut l, mut r) = (x >> half, x & mask);
        for round in 0..4u64 {
            let f = mix(r ^ salt ^ (round << 56)) & mask;
            (l, r) = (r, l ^ f);
        }
        x = (l << half) | r;
        if x < m {
            return x;
        }
    }
}

/// The SplitMix64 finalizer: a good 64-bit mixing function.
pub(super) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `k`-th name made of one word from each list (scrambled), with a number suffix once the combinations run
/// out: unique for every `k`.
pub(super) fn combo(k: u64, lists: &[&[&str]], sep: &str, salt: u64) -> String {
    let m: u64 = lists.iter().map(|l| l.len() as u64).product();
    let j = scramble(k, m, salt);
    let (mut r, block) = (j % m, j / m);
    let mut out = String::new();
    for (i, list) in lists.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(list[(r % list.len() as u64) as usize]);
        r /= list.len() as u64;
    }
    if block > 0 {
        out.push_str(&(block + 1).to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::words::{FIRST, LAST};

    #[test]
    fn scramble_is_a_bijection_on_each_block() {
        for m in [1u64, 7, 254, 256, 576, 1023, 1 << 12] {
            let mut seen: Vec<u64> = (0..2 * m).map(|k| scramble(k, m, 42)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..2 * m).collect::<Vec<_>>(), "m = {m}");
        }
    }

    #[test]
    fn combos_are_unique_past_the_word_lists() {
        let mut names: Vec<String> = (0..5000).map(|k| combo(k, &[FIRST, LAST], ".", 42)).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 5000);
    }
}
