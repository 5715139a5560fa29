//! Network values: IPv4 and IPv6 addresses and blocks in documentation and reserved space, domains, globs,
//! URLs and e-mail addresses in example zones, and private ASNs.

use super::generator::{Cat, Draft, Generator};
use super::rng::{combo, scramble};
use super::words::{ADJECTIVES, FIRST, LAST, MAIL_ZONES, NOUNS, URL_PATHS, ZONES};
use serde_json::json;
use std::net::{Ipv4Addr, Ipv6Addr};

/// IPv4 pools, in the order they are used: base address and size.
const IPV4_POOLS: &[(u32, u64)] = &[
    (0xC000_0200, 256),     // 192.0.2.0/24
    (0xC633_6400, 256),     // 198.51.100.0/24
    (0xCB00_7100, 256),     // 203.0.113.0/24
    (0xC612_0000, 1 << 17), // 198.18.0.0/15
    (0x6440_0000, 1 << 22), // 100.64.0.0/10
    (0xF000_0000, 1 << 28), // 240.0.0.0/4
];

/// The `k`-th address of the pools; in the three documentation /24s only hosts .1–.254 are used.
pub(super) fn ipv4_at(k: u64, salt: u64) -> Ipv4Addr {
    let total: u64 = IPV4_POOLS.iter().map(|p| if p.1 == 256 { 254 } else { p.1 }).sum();
    let mut k = k % total;
    for &(base, size) in IPV4_POOLS {
        let usable = if size == 256 { 254 } else { size };
        if k < usable {
            let offset = scramble(k, usable, salt) + u64::from(size == 256);
            return Ipv4Addr::from(base + offset as u32);
        }
        k -= usable;
    }
    unreachable!("k is reduced modulo the pools' total")
}

/// The `k`-th /24 block of the pools, as a network address.
fn ipv4_block_at(k: u64, salt: u64) -> Ipv4Addr {
    let total: u64 = IPV4_POOLS.iter().map(|p| p.1 / 256).sum();
    let mut k = k % total;
    for &(base, size) in IPV4_POOLS {
        let blocks = size / 256;
        if k < blocks {
            return Ipv4Addr::from(base + (scramble(k, blocks, salt) as u32) * 256);
        }
        k -= blocks;
    }
    unreachable!("k is reduced modulo the pools' total")
}

/// The `k`-th domain: two words and a zone, e.g. `quiet-harbor.example.com` or `rapid-signal.test`.
pub(super) fn domain(k: u64, salt: u64) -> String {
    let label = combo(k, &[ADJECTIVES, NOUNS], "-", salt);
    let zone = ZONES[(scramble(k, 1 << 20, salt) % ZONES.len() as u64) as usize];
    format!("{label}.{zone}")
}

pub(super) fn ip(g: &mut Generator, k: u64, salt: u64, _d: &mut Draft) -> String {
    let v = ipv4_at(k, salt).to_string();
    g.remember(Cat::Network, &v);
    v
}

pub(super) fn cidr(g: &mut Generator, k: u64, salt: u64, _d: &mut Draft) -> String {
    format!("{}/{}", ipv4_block_at(k, salt), g.rng.range(24, 28))
}

pub(super) fn ipv6(g: &mut Generator, k: u64, salt: u64, _d: &mut Draft) -> String {
    let s = scramble(k, 1 << 32, salt);
    let host = (g.rng.next() as u16, g.rng.range(1, 0xffff) as u16);
    Ipv6Addr::new(0x2001, 0x0db8, (s >> 16) as u16, s as u16, 0, 0, host.0, host.1).to_string()
}

pub(super) fn ipv6_cidr(g: &mut Generator, k: u64, salt: u64, _d: &mut Draft) -> String {
    let s = scramble(k, 1 << 24, salt);
    let net = Ipv6Addr::new(0x2001, 0x0db8, (s >> 8) as u16, ((s & 0xff) << 8) as u16, 0, 0, 0, 0);
    format!("{net}/{}", g.rng.pick(&[56, 64, 64]))
}

/// Two in five domains, URLs and e-mail addresses come from the phishing feed.
fn maybe_phishing(g: &mut Generator, d: &mut Draft) {
    if g.rng.chance(40) {
        d.phishing();
    }
}

pub(super) fn domain_name(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    maybe_phishing(g, d);
    let v = domain(k, salt);
    g.remember(Cat::Network, &v);
    v
}

pub(super) fn domain_glob(g: &mut Generator, k: u64, salt: u64, _d: &mut Draft) -> String {
    let v = format!("*.{}", domain(k, salt));
    g.remember(Cat::Network, &v);
    v
}

pub(super) fn url(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    maybe_phishing(g, d);
    let host = domain(k, salt);
    let sub = g.rng.pick(&["", "www.", "cdn.", "login.", "secure."]);
    let scheme = g.rng.pick(&["http", "https", "https"]);
    let path = g.rng.pick(URL_PATHS);
    let v = if g.rng.chance(30) {
        format!("{scheme}://{sub}{host}/{path}?id={}", g.rng.hex(4))
    } else {
        format!("{scheme}://{sub}{host}/{path}")
    };
    g.remember(Cat::Network, &v);
    v
}

pub(super) fn email(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    maybe_phishing(g, d);
    let local = combo(k, &[FIRST, LAST], ".", salt);
    let zone = g.rng.pick(MAIL_ZONES);
    format!("{local}@{zone}")
}

pub(super) fn asn(_g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    // Documentation ASNs 64496–64511, then private 64512–65534, then private 4200000000–.
    let n = match k {
        0..=15 => 64_496 + scramble(k, 16, salt),
        16..=1038 => 64_512 + scramble(k - 16, 1023, salt),
        _ => 4_200_000_000 + (k - 1039) % 94_967_294,
    };
    d.set("name", json!(format!("EXAMPLE-NET-{}", n % 1000)));
    format!("AS{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_addresses_are_unique_and_start_in_documentation_space() {
        let first: Vec<_> = (0..762).map(|k| ipv4_at(k, 42)).collect();
        assert!(first.iter().all(|a| a.is_documentation()), "{first:?}");
        let mut all: Vec<_> = (0..200_000).map(|k| ipv4_at(k, 42)).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 200_000);
    }
}
