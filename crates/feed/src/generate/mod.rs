//! Synthetic indicators in the Cortex XSOAR indicator JSON shape, for the demo feed and for benchmarks.
//!
//! [`generate`] writes `count` indicators of every XSOAR type (mostly IP, Domain, URL and File) to a writer as it
//! makes them, one at a time, so a million indicators need no more memory than one. The output depends only on
//! the [`Options`]: the same seed, count, `now` and format give the same bytes (the random numbers come from a
//! SplitMix64 generator in this module).
//!
//! Values are valid for their type and stay, where the type allows, in documentation and reserved space
//! (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, then 198.18.0.0/15, 100.64.0.0/10 and 240.0.0.0/4;
//! 2001:db8::/32; example.com/.net/.org and .test; private ASNs), and actor, malware and campaign names are
//! made up, so nothing real is accused. Values are unique within their type (up to hundreds of millions per
//! type). With at least 81 indicators, every type appears at least three times: the first 81 cycle through the
//! types, the rest follow the weighted mix in [`TYPES`]. Relationships point only at indicators written earlier
//! in the same output, chosen from a small window of recent ones.
//!
//! The modules: [`rng`] (the random numbers and the counter scramblers), [`words`] (the word lists),
//! [`generator`] (the state, and the [`Draft`](generator::Draft) a value maker fills), and the value makers by
//! family: [`network`] (addresses, domains, URLs, e-mail, ASNs), [`observables`] (files, registry keys, mutexes,
//! accounts, software, certificates) and [`sdo`] (the types that become STIX domain objects). This module holds
//! the options, the output formats and the driver that makes one record.

mod generator;
mod network;
mod observables;
mod rng;
mod sdo;
mod words;

use edge_core::time::Timestamp;
use generator::{Cat, Draft, Generator, DAY, HOUR};
use serde_json::{json, Map, Value};
use std::io::{self, Write};

/// Every XSOAR type the generator makes, with its weight in the mix (per 1000 indicators).
pub const TYPES: [(&str, u64); 27] = [
    ("Identity", 5),
    ("Location", 5),
    ("Attack Pattern", 10),
    ("CVE", 15),
    ("Threat Actor", 5),
    ("Intrusion Set", 5),
    ("Malware", 10),
    ("Tool", 5),
    ("Campaign", 5),
    ("Course of Action", 5),
    ("Infrastructure", 5),
    ("Report", 5),
    ("IP", 300),
    ("CIDR", 20),
    ("IPv6", 25),
    ("IPv6CIDR", 10),
    ("Domain", 160),
    ("DomainGlob", 10),
    ("URL", 150),
    ("Email", 30),
    ("File", 150),
    ("Registry Key", 10),
    ("Account", 10),
    ("ASN", 10),
    ("Software", 10),
    ("X509 Certificate", 10),
    ("Mutex", 10),
];

/// How many indicators cycle through every type before the weighted mix starts (three of each).
pub const GUARANTEED_ROUNDS: u64 = 3;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many indicators.
    pub count: u64,
    /// The random seed: the same seed gives the same indicators.
    pub seed: u64,
    /// The reference time: timestamps fall in the year before it, expirations around it.
    pub now: Timestamp,
    /// The output form.
    pub format: Format,
}

/// The output form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"iocs": [ … ]}`, one pretty-printed indicator after another (the searchIndicators shape).
    Json,
    /// One compact indicator per line.
    Jsonl,
}

/// A `--format` that is neither `json` nor `jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown format \"{0}\": use json or jsonl")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        match s {
            "json" => Ok(Format::Json),
            "jsonl" => Ok(Format::Jsonl),
            other => Err(UnknownFormat(other.to_string())),
        }
    }
}

/// What was written: the number of indicators of each type, in [`TYPES`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub per_type: Vec<(&'static str, u64)>,
}

impl Summary {
    /// The total number of indicators written.
    pub fn total(&self) -> u64 {
        self.per_type.iter().map(|(_, n)| n).sum()
    }
}

/// Writes `opts.count` synthetic indicators to `out`, streaming. `out` should be buffered.
pub fn generate<W: Write>(opts: &Options, mut out: W) -> io::Result<Summary> {
    let mut g = Generator::new(opts);
    let mut buf = Vec::with_capacity(4096);
    if opts.format == Format::Json {
        out.write_all(b"{\n  \"iocs\": [")?;
    }
    for i in 0..opts.count {
        let record = g.next_record(i);
        buf.clear();
        match opts.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut buf, &record)?;
                buf.push(b'\n');
                out.write_all(&buf)?;
            }
            Format::Json => {
                serde_json::to_writer_pretty(&mut buf, &record)?;
                out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
                // Indent the record two levels; JSON strings never hold a raw newline, so this is safe.
                for (n, line) in buf.split(|&b| b == b'\n').enumerate() {
                    if n > 0 {
                        out.write_all(b"\n    ")?;
                    }
                    out.write_all(line)?;
                }
            }
        }
    }
    if opts.format == Format::Json {
        out.write_all(if opts.count == 0 { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
    }
    out.flush()?;
    Ok(Summary { per_type: TYPES.iter().zip(g.per_type).map(|((t, _), n)| (*t, n)).collect() })
}

/// Makes the `k`-th value of a type (its unique values drawn with `salt`), filling the draft's other fields.
type Maker = fn(&mut Generator, u64, u64, &mut Draft) -> String;

/// The value maker of an XSOAR type.
fn maker(xsoar_type: &str) -> Maker {
    match xsoar_type {
        "IP" => network::ip,
        "CIDR" => network::cidr,
        "IPv6" => network::ipv6,
        "IPv6CIDR" => network::ipv6_cidr,
        "Domain" => network::domain_name,
        "DomainGlob" => network::domain_glob,
        "URL" => network::url,
        "Email" => network::email,
        "ASN" => network::asn,
        "File" => observables::file,
        "Registry Key" => observables::registry_key,
        "Account" => observables::account,
        "Software" => observables::software,
        "X509 Certificate" => observables::x509_certificate,
        "Mutex" => observables::mutex,
        "CVE" => sdo::cve,
        "Attack Pattern" => sdo::attack_pattern,
        "Threat Actor" => sdo::threat_actor,
        "Intrusion Set" => sdo::intrusion_set,
        "Malware" => sdo::malware,
        "Tool" => sdo::tool,
        "Campaign" => sdo::campaign,
        "Course of Action" => sdo::course_of_action,
        "Infrastructure" => sdo::infrastructure,
        "Report" => sdo::report,
        "Identity" => sdo::identity,
        "Location" => sdo::location,
        other => unreachable!("TYPES lists only handled types, not {other}"),
    }
}

/// Whether a type is an observable (it may relate to malware, campaigns, actors and other observables).
fn is_observable(xsoar_type: &str) -> bool {
    matches!(
        xsoar_type,
        "IP" | "CIDR"
            | "IPv6"
            | "IPv6CIDR"
            | "Domain"
            | "DomainGlob"
            | "URL"
            | "Email"
            | "File"
            | "Registry Key"
            | "Mutex"
            | "X509 Certificate"
            | "Account"
            | "ASN"
            | "Software"
    )
}

/// Whether a type is context (victims, techniques, mitigations, reports): no verdict and no threat tags.
fn is_context(xsoar_type: &str) -> bool {
    matches!(xsoar_type, "Identity" | "Location" | "Attack Pattern" | "Course of Action" | "Report")
}

/// A record's times and verdict, drawn before its value.
struct Basics {
    expiration: Option<i64>,
    score: i32,
}

impl Generator {
    /// The `i`-th record.
    fn next_record(&mut self, i: u64) -> Value {
        let t = self.pick_type(i);
        let k = self.per_type[t];
        self.per_type[t] += 1;
        let xsoar_type = TYPES[t].0;
        // Each type draws its unique values from its own permutation of its space.
        let salt = self.salt ^ rng::mix(t as u64 + 1);
        let (basics, mut d) = self.basics();
        let value = maker(xsoar_type)(self, k, salt, &mut d);
        let observable = is_observable(xsoar_type);
        if observable {
            self.observable_relationships(&value, &mut d);
        }
        let mut seen = Vec::with_capacity(d.rels.len());
        d.rels.retain(|r| {
            let new = !seen.contains(r);
            seen.push(r.clone());
            new
        });
        let context = is_context(xsoar_type);
        let mut tags = self.tags(d.extra_tag);
        if context {
            tags.clear();
        }
        if let Some(tlp) = d.tlp {
            d.set("trafficlightprotocol", json!(tlp));
        }
        if observable && self.rng.chance(25) {
            let what = tags.first().and_then(Value::as_str).unwrap_or("suspicious");
            d.set("description", json!(format!("Synthetic {xsoar_type} linked to {what} activity.")));
        }
        let score = if context { 0 } else { basics.score };
        self.record(i, &value, xsoar_type, score, basics.expiration, tags, d)
    }

    /// Times (first seen within the year before now, modified between then and now, mostly expiring within a
    /// year after), score and TLP.
    fn basics(&mut self) -> (Basics, Draft) {
        let rng = &mut self.rng;
        let created = self.now - rng.range(HOUR, 365 * DAY as u64) as i64;
        let modified = created + rng.below((self.now - created) as u64) as i64;
        let expiration = if rng.chance(15) { None } else { Some(modified + rng.range(30, 365) as i64 * DAY) };
        let score = *rng.pick(&[3, 3, 3, 3, 2, 2, 2, 1, 0, 0]);
        let tlp =
            if rng.chance(40) { Some(*rng.pick(&["WHITE", "GREEN", "GREEN", "AMBER", "AMBER", "RED"])) } else { None };
        (Basics { expiration, score }, Draft::new(tlp, created, modified))
    }

    /// Observables: some point at malware, campaigns or actors seen recently, or at each other.
    fn observable_relationships(&mut self, value: &str, d: &mut Draft) {
        if self.rng.chance(20) {
            self.relate(d, "indicator-of", &[Cat::Malware, Cat::Campaign, Cat::Actor]);
        }
        if self.rng.chance(10) {
            if let Some(target) = self.recent_of(&[Cat::Network]) {
                if target != value {
                    d.rels.push(("related-to", target));
                }
            }
        }
    }

    /// The record in XSOAR's indicator shape.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        i: u64,
        value: &str,
        xsoar_type: &str,
        score: i32,
        expiration: Option<i64>,
        tags: Vec<Value>,
        d: Draft,
    ) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!((100_000 + i).to_string()));
        o.insert("value".into(), json!(value));
        o.insert("indicator_type".into(), json!(xsoar_type));
        o.insert("score".into(), json!(score));
        o.insert("timestamp".into(), json!(self.time(d.created)));
        o.insert("modified".into(), json!(self.time(d.modified)));
        let expired = expiration.is_some_and(|e| e <= self.now);
        o.insert(
            "expiration".into(),
            json!(expiration.map_or_else(|| "0001-01-01T00:00:00Z".to_string(), |e| self.time(e))),
        );
        o.insert("expirationStatus".into(), json!(if expired { "expired" } else { "active" }));
        o.insert("sourceBrands".into(), json!([d.brand]));
        o.insert("sourceInstances".into(), json!([format!("{}_instance_1", d.brand)]));
        o.insert("tags".into(), Value::Array(tags));
        o.insert("CustomFields".into(), Value::Object(d.custom));
        if !d.rels.is_empty() {
            let rels = d.rels.into_iter().map(|(name, target)| self.relationship(name, target)).collect();
            o.insert("relationships".into(), Value::Array(rels));
        }
        Value::Object(o)
    }

    /// One relationship, some with an id and a description.
    fn relationship(&mut self, name: &str, target: String) -> Value {
        let mut r = Map::new();
        r.insert("name".into(), json!(name));
        r.insert("entityB".into(), json!(target));
        if self.rng.chance(50) {
            r.insert("id".into(), json!(self.rng.hex(16)));
        }
        if self.rng.chance(30) {
            r.insert("description".into(), json!("Seen together in synthetic telemetry."));
        }
        Value::Object(r)
    }
}
