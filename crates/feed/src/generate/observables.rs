//! Host and other observable values: file hashes with their names and sizes, registry keys, mutexes, accounts,
//! software and X.509 certificates.

use super::generator::{Draft, Generator, DAY};
use super::network::domain;
use super::rng::{combo, scramble};
use super::words::{
    capitalize, BRAND_MALWARE, CAMEL_A, CAMEL_B, FILE_EXTS, FILE_STEMS, FIRST, LAST, PRODUCTS, REG_PATHS, VENDORS,
};
use serde_json::json;

/// A file: one of its hashes (mostly SHA-256) as the value, every hash, a name and a size as fields.
pub(super) fn file(g: &mut Generator, _k: u64, _salt: u64, d: &mut Draft) -> String {
    d.brand = BRAND_MALWARE;
    let md5 = g.rng.hex(16);
    let sha1 = g.rng.hex(20);
    let sha256 = g.rng.hex(32);
    let sha512 = g.rng.hex(64);
    let v = match g.rng.below(10) {
        0..=1 => md5.clone(),
        2 => sha1.clone(),
        3 => sha512.clone(),
        _ => sha256.clone(),
    };
    let name = format!("{}_{}.{}", g.rng.pick(FILE_STEMS), g.rng.range(1, 9999), g.rng.pick(FILE_EXTS));
    d.set("md5", json!(md5));
    d.set("sha1", json!(sha1));
    d.set("sha256", json!(sha256));
    d.set("sha512", json!(sha512));
    d.set("associatedfilenames", json!([name]));
    d.set("size", json!(g.rng.range(2_048, 8_000_000)));
    v
}

pub(super) fn registry_key(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    d.brand = BRAND_MALWARE;
    let name = combo(k, &[CAMEL_A, CAMEL_B], "", salt);
    let path = g.rng.pick(REG_PATHS);
    let data = format!("C:\\Users\\Public\\{}.exe", name.to_ascii_lowercase());
    d.set("keyvalue", json!([{"name": name, "data": data, "type": "REG_SZ"}]));
    format!("{path}\\{name}")
}

pub(super) fn mutex(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    d.brand = BRAND_MALWARE;
    let scope = g.rng.pick(&["Global", "Local"]);
    let a = g.rng.pick(CAMEL_A);
    format!("{scope}\\{a}Mtx_{:08x}", scramble(k, 1 << 32, salt))
}

/// An account: a `first.last` login, a Windows SID or a Unix uid, and a display name.
pub(super) fn account(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    let login = combo(k, &[FIRST, LAST], ".", salt);
    let (kind, userid) = match g.rng.below(3) {
        0 => ("windows-local", sid([1_000_000_000, 2_000_000, 3_000, 1000], k)),
        1 => ("windows-domain", sid([1_100_000_000, 2_100_000, 3_100, 2000], k)),
        _ => ("unix", (1000 + k).to_string()),
    };
    let display = login.split('.').map(capitalize).collect::<Vec<_>>().join(" ");
    d.set("accounttype", json!(kind));
    d.set("userid", json!(userid));
    d.set("displayname", json!(display));
    login
}

/// A Windows SID for the `k`-th account, its parts counted from `bases`.
fn sid(bases: [u64; 4], k: u64) -> String {
    format!("S-1-5-21-{}-{}-{}-{}", bases[0] + k % 999, bases[1] + k % 777, bases[2] + k % 55, bases[3] + k)
}

pub(super) fn software(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    let m = (VENDORS.len() * PRODUCTS.len()) as u64;
    let j = scramble(k, m, salt);
    let vendor = VENDORS[(j % m) as usize % VENDORS.len()];
    let product = PRODUCTS[(j % m) as usize / VENDORS.len()];
    // The major version keeps the value unique; the rest is for looks.
    let version = format!("{}.{}.{}", 1 + j / m, g.rng.below(20), g.rng.below(40));
    let slug = |s: &str| s.to_ascii_lowercase().replace(' ', "_");
    d.set("vendor", json!(vendor));
    d.set("version", json!(version));
    d.set("cpe", json!(format!("cpe:2.3:a:{}:{}:{version}:*:*:*:*:*:*:*", slug(vendor), slug(product))));
    format!("{vendor} {product} {version}")
}

/// A certificate: its serial number as the value; validity, subject, issuer and hash as fields.
pub(super) fn x509_certificate(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    let serial = format!("{:x}{}", g.rng.range(1, 7), g.rng.hex(15));
    let not_before = d.created - g.rng.range(0, 300) as i64 * DAY;
    let days = *g.rng.pick(&[90i64, 90, 365, 398]);
    let cn = domain(k, salt);
    d.set("validitynotbefore", json!(g.time(not_before)));
    d.set("validitynotafter", json!(g.time(not_before + days * DAY)));
    d.set("subject", json!([{"title": "CN", "data": cn}, {"title": "O", "data": "Example Hosting Ltd"}]));
    let ca = g.rng.range(1, 3);
    d.set(
        "issuer",
        json!([{"title": "CN", "data": format!("Example Issuing CA {ca}")}, {"title": "O", "data": "Example Trust Services"}]),
    );
    d.set("sha256", json!(g.rng.hex(32)));
    serial
}
