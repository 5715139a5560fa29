//! Values of the types that become STIX domain objects: vulnerabilities, techniques, actors, intrusion sets,
//! malware, tools, campaigns, mitigations, infrastructure, reports, identities and locations, each related to
//! recent ones where STIX relates them.

use super::generator::{Cat, Draft, Generator};
use super::rng::{combo, scramble};
use super::words::*;
use serde_json::json;

/// The `k`-th entry of a fixed list, cycling, and which round of the list it is in (0 for the first).
fn nth<T: Copy>(list: &[T], k: u64) -> (T, u64) {
    (list[k as usize % list.len()], k / list.len() as u64)
}

/// A well-known CVE first, then synthetic ids, with a CVSS score.
pub(super) fn cve(g: &mut Generator, k: u64, _salt: u64, d: &mut Draft) -> String {
    let (v, cvss) = match CVES.get(k as usize) {
        Some(&(id, cvss)) => (id.to_string(), cvss),
        None => {
            let j = k - CVES.len() as u64;
            let year = 2020 + j % 7;
            let cvss = g.rng.range(20, 100) as f64 / 10.0;
            (format!("CVE-{year}-{}", 90_000 + j / 7), cvss)
        }
    };
    d.set("cvss", json!(cvss));
    d.set("description", json!(format!("Vulnerability {v} (synthetic record).")));
    d.set(
        "externalreferences",
        json!([{"source_name": "cve", "url": format!("https://www.cve.org/CVERecord?id={v}"), "external_id": v}]),
    );
    g.remember(Cat::Cve, &v);
    v
}

pub(super) fn attack_pattern(g: &mut Generator, k: u64, _salt: u64, d: &mut Draft) -> String {
    d.brand = BRAND_REPORTS;
    let ((id, name, phase), round) = nth(TECHNIQUES, k);
    let v = if round == 0 { name.to_string() } else { format!("{name} (variant {})", round + 1) };
    let url = format!("https://attack.mitre.org/techniques/{}/", id.replace('.', "/"));
    d.set("mitreid", json!(id));
    d.set("killchainphases", json!([phase]));
    d.set("description", json!(format!("Adversaries use {name}.")));
    d.set("externalreferences", json!([{"source_name": "mitre-attack", "url": url, "external_id": id}]));
    g.remember(Cat::AttackPattern, &v);
    v
}

pub(super) fn threat_actor(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    d.brand = BRAND_REPORTS;
    let v = combo(k, &[MINERALS, BIRDS], " ", salt);
    let alias = format!("TA-{:04}", scramble(k, 10_000, salt));
    d.set("aliases", json!([alias]));
    d.set("description", json!(format!("{v} is a fictional threat actor made for the demo feed.")));
    g.remember(Cat::Actor, &v);
    for _ in 0..g.rng.below(3) {
        g.relate(d, "uses", &[Cat::Malware, Cat::Tool, Cat::AttackPattern]);
    }
    if g.rng.chance(50) {
        g.relate(d, "targets", &[Cat::Identity, Cat::Location]);
    }
    v
}

pub(super) fn intrusion_set(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    d.brand = BRAND_REPORTS;
    let v = combo(k, &[TREES, &["Cluster", "Group", "Set"]], " ", salt);
    d.set("aliases", json!([format!("IS-{:04}", scramble(k, 10_000, salt))]));
    d.set("description", json!(format!("{v}: a fictional intrusion set.")));
    g.remember(Cat::IntrusionSet, &v);
    g.relate(d, "attributed-to", &[Cat::Actor]);
    g.relate(d, "uses", &[Cat::Malware]);
    v
}

pub(super) fn malware(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    d.brand = BRAND_MALWARE;
    let m = (MALWARE_PREFIX.len() * MALWARE_SUFFIX.len()) as u64;
    let j = scramble(k, m, salt);
    let prefix = MALWARE_PREFIX[(j % m) as usize % MALWARE_PREFIX.len()];
    let (suffix, kind) = MALWARE_SUFFIX[(j % m) as usize / MALWARE_PREFIX.len()];
    let v = if j / m == 0 { format!("{prefix}{suffix}") } else { format!("{prefix}{suffix} {}", j / m + 1) };
    d.set("ismalwarefamily", json!(g.rng.chance(80)));
    d.set("malwaretypes", json!([kind]));
    d.set("aliases", json!([v.to_ascii_lowercase()]));
    d.set("killchainphases", json!(["execution", "command-and-control"]));
    d.set("description", json!(format!("{v}: fictional {kind} family.")));
    if kind == "ransomware" {
        d.extra_tag = Some("ransomware");
    }
    g.remember(Cat::Malware, &v);
    g.relate(d, "uses", &[Cat::AttackPattern]);
    if g.rng.chance(40) {
        g.relate(d, "exploits", &[Cat::Cve]);
    }
    v
}

pub(super) fn tool(g: &mut Generator, k: u64, _salt: u64, d: &mut Draft) -> String {
    let (name, round) = nth(TOOLS, k);
    let v = if round == 0 { name.to_string() } else { format!("{name} {}", round + 1) };
    d.set("description", json!(format!("{v}: a dual-use tool seen in intrusions.")));
    d.set("killchainphases", json!(["lateral-movement"]));
    g.remember(Cat::Tool, &v);
    v
}

pub(super) fn campaign(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    d.brand = BRAND_REPORTS;
    let words = combo(k, &[ADJECTIVES, NOUNS], " ", salt);
    let v = format!("Operation {}", title_case(&words));
    d.set("description", json!(format!("{v}: a fictional campaign.")));
    d.set("aliases", json!([format!("CMP-{:04}", scramble(k, 10_000, salt))]));
    g.remember(Cat::Campaign, &v);
    g.relate(d, "attributed-to", &[Cat::IntrusionSet, Cat::Actor]);
    g.relate(d, "uses", &[Cat::Malware, Cat::Tool]);
    v
}

pub(super) fn course_of_action(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    d.brand = BRAND_REPORTS;
    let v = combo(k, &[COA_VERBS, COA_OBJECTS], " ", salt);
    d.set("description", json!(format!("{v}.")));
    g.relate(d, "mitigates", &[Cat::AttackPattern]);
    v
}

pub(super) fn infrastructure(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    let m = (INFRA_KINDS.len() * GREEK.len()) as u64;
    let j = scramble(k, m, salt);
    let (kind, itype) = INFRA_KINDS[(j % m) as usize % INFRA_KINDS.len()];
    let greek = GREEK[(j % m) as usize / INFRA_KINDS.len()];
    let greek = if j / m == 0 { greek.to_string() } else { format!("{greek}-{}", j / m + 1) };
    let adj = *g.rng.pick(ADJECTIVES);
    let v = format!("{} {kind} {greek}", title_case(adj));
    d.set("infrastructuretypes", json!([itype]));
    d.set("description", json!(format!("{v}: fictional infrastructure.")));
    g.relate(d, "related-to", &[Cat::Malware]);
    v
}

/// A weekly report, published when the record was last modified, related to a few recent objects.
pub(super) fn report(g: &mut Generator, k: u64, _salt: u64, d: &mut Draft) -> String {
    d.brand = BRAND_REPORTS;
    let (week, year, part) = (1 + k % 52, 2026 - (k / 52) % 10, k / 520);
    let v = if part == 0 {
        format!("Weekly threat report {year}-W{week:02}")
    } else {
        format!("Weekly threat report {year}-W{week:02} part {}", part + 1)
    };
    d.set("published", json!(g.time(d.modified)));
    d.set("reportobjectreferences", json!([]));
    d.set("description", json!(format!("{v}: synthetic summary of the week's activity.")));
    for _ in 0..g.rng.range(1, 3) {
        g.relate(d, "related-to", &[Cat::Actor, Cat::Malware, Cat::Campaign, Cat::Cve]);
    }
    v
}

pub(super) fn identity(g: &mut Generator, k: u64, salt: u64, d: &mut Draft) -> String {
    let m = (ORGS.len() * SECTORS.len()) as u64;
    let j = scramble(k, m, salt);
    let org = ORGS[(j % m) as usize % ORGS.len()];
    let (sector, stix_sector) = SECTORS[(j % m) as usize / ORGS.len()];
    let v = if j / m == 0 { format!("{org} {sector}") } else { format!("{org} {sector} {}", j / m + 1) };
    d.set("identityclass", json!("organization"));
    d.set("industrysectors", json!([stix_sector]));
    d.set("description", json!(format!("{v}: a fictional organization.")));
    g.remember(Cat::Identity, &v);
    v
}

pub(super) fn location(g: &mut Generator, k: u64, _salt: u64, d: &mut Draft) -> String {
    let ((country, code, region), round) = nth(COUNTRIES, k);
    let v = if round == 0 { country.to_string() } else { format!("{country} (site {})", round + 1) };
    d.set("countrycode", json!(code));
    d.set("region", json!(region));
    g.remember(Cat::Location, &v);
    v
}
