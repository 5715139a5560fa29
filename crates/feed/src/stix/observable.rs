//! The observable types: their STIX 2.1 SCO properties, their SCO ids and their STIX patterns.
//!
//! SCO ids follow STIX 2.1 §2.9 as the python `stix2` library (3.0.2) computes them: the id-contributing
//! properties that are present, with `hashes` reduced to one hash (MD5, else SHA-1, SHA-256, SHA-512, as
//! `stix2.base._choose_one_hash` does), canonicalised with JCS. Patterns quote string constants with `\`
//! escaped first, then `'`.
//!
//! Choices per type (documented in the issue): File keeps every hash of the record (MD5, SHA-1, SHA-256,
//! SHA-512, SSDEEP; a field that is not a hash of its kind is left out) and its first associated file name;
//! its pattern ORs the known cryptographic hashes, the value's own first. Account: `account_login` is the
//! value, `user_id` the `userid` field. ASN: `AS15169` or `15169` → `number` 15169. X509: the value is the
//! serial number. Registry Key: an abbreviated hive (`HKLM\\…`) is written out, as STIX requires.
//! DomainGlob: a `LIKE` pattern (`*` → `%`, `?` → `_`), never an SCO; nor is any value that the
//! STIX 2.1 schema would refuse as the SCO's value (an IP address with leading zeros, a host name with `_`, a URL
//! that is not an absolute URI, an address the validator's email rule refuses, a registry key the schema's hive
//! rule refuses): those are always indicators, whose pattern takes any string.

use super::ids;
use super::kind::Obs;
use crate::indicator::Indicator;
use edge_core::time::{TimeError, Timestamp};
use serde_json::{json, Map, Value};

/// An observable indicator, ready to be an SCO or the pattern of an indicator.
#[derive(Clone, Debug, PartialEq)]
pub struct Observable {
    pub sco_type: &'static str,
    /// The SCO's own properties, in output order (no type, spec_version or id).
    pub props: Map<String, Value>,
    /// The SCO id.
    pub id: String,
    /// The STIX pattern.
    pub pattern: String,
    /// Whether it can only be an indicator (a domain glob).
    pub always_indicator: bool,
}

/// Why an indicator of an observable type makes no STIX observable: what is wrong with its value or fields.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ObservableError {
    #[error("ASN \"{0}\" is not an autonomous system number (write it as 15169 or AS15169)")]
    Asn(String),
    #[error("\"{field}\": {reason}")]
    Time { field: &'static str, reason: TimeError },
    #[error("File value \"{0}\" is not an MD5, SHA-1, SHA-256 or SHA-512 hash (32, 40, 64 or 128 hex digits)")]
    FileHash(String),
    #[error("\"keyvalue\" must be a list of {{\"name\", \"data\", \"type\"}}")]
    KeyValueNotList,
    #[error("keyvalue[{0}] must be an object {{\"name\", \"data\", \"type\"}}")]
    KeyValueRow(usize),
    #[error("keyvalue[{row}]: \"{data_type}\" is not a registry data type ({})", REGISTRY_TYPES.join(", "))]
    RegistryType { row: usize, data_type: String },
}

/// Builds the observable of an indicator of an observable type, or says what is wrong with it.
pub fn observable(ind: &Indicator, obs: Obs) -> Result<Observable, ObservableError> {
    let sco_type = obs.sco_type();
    let v = ind.value.trim();
    let mut props = Map::new();
    let mut always_indicator = false;
    let pattern = match obs {
        Obs::Ipv4 | Obs::Ipv6 | Obs::Domain | Obs::Url | Obs::Email => {
            always_indicator = !match obs {
                Obs::Ipv4 => is_ipv4(v),
                Obs::Ipv6 => is_ipv6(v),
                Obs::Domain => is_domain(v),
                Obs::Url => is_uri(v),
                _ => is_email(v),
            };
            props.insert("value".into(), json!(v));
            compare(sco_type, "value", v)
        }
        Obs::DomainGlob => {
            always_indicator = true;
            props.insert("value".into(), json!(v));
            let like: String = v
                .chars()
                .map(|c| {
                    if c == '*' {
                        '%'
                    } else if c == '?' {
                        '_'
                    } else {
                        c
                    }
                })
                .collect();
            format!("[domain-name:value LIKE '{}']", escape_pattern(&like))
        }
        Obs::File => return file(ind),
        Obs::RegistryKey => {
            let key = expand_hive(v);
            always_indicator = !is_registry_key(&key);
            props.insert("key".into(), json!(key));
            let values = registry_values(ind)?;
            if !values.is_empty() {
                props.insert("values".into(), Value::Array(values));
            }
            compare(sco_type, "key", &key)
        }
        Obs::Account => {
            if let Some(uid) = ind.field_str("userid") {
                props.insert("user_id".into(), json!(uid));
            }
            props.insert("account_login".into(), json!(v));
            if let Some(t) = ind.field_str("accounttype") {
                props.insert("account_type".into(), json!(vocab_word(&t)));
            }
            if let Some(d) = ind.field_str("displayname") {
                props.insert("display_name".into(), json!(d));
            }
            compare(sco_type, "account_login", v)
        }
        Obs::Asn => {
            let digits = v.strip_prefix("AS").or_else(|| v.strip_prefix("as")).unwrap_or(v).trim();
            let number: u32 = digits.parse().map_err(|_| ObservableError::Asn(v.to_string()))?;
            props.insert("number".into(), json!(number));
            if let Some(name) = ind.field_str("name") {
                props.insert("name".into(), json!(name));
            }
            format!("[autonomous-system:number = {number}]")
        }
        Obs::Software => {
            props.insert("name".into(), json!(v));
            if let Some(cpe) = ind.field_str("cpe").filter(|c| is_cpe23(c)) {
                props.insert("cpe".into(), json!(cpe));
            }
            for (field, prop) in [("vendor", "vendor"), ("version", "version")] {
                if let Some(s) = ind.field_str(field) {
                    props.insert(prop.into(), json!(s));
                }
            }
            compare(sco_type, "name", v)
        }
        Obs::X509 => {
            if let Some(h) = ind.field_str("sha256").filter(|h| is_hash(h, 64)) {
                props.insert("hashes".into(), json!({ "SHA-256": h }));
            }
            props.insert("serial_number".into(), json!(v));
            if let Some(issuer) = distinguished_name(ind.field("issuer")) {
                props.insert("issuer".into(), json!(issuer));
            }
            for (field, prop) in
                [("validitynotbefore", "validity_not_before"), ("validitynotafter", "validity_not_after")]
            {
                if let Some(s) = ind.field_str(field) {
                    let t = Timestamp::parse(&s).map_err(|reason| ObservableError::Time { field, reason })?;
                    props.insert(prop.into(), json!(t.to_micros_string()));
                }
            }
            if let Some(subject) = distinguished_name(ind.field("subject")) {
                props.insert("subject".into(), json!(subject));
            }
            compare(sco_type, "serial_number", v)
        }
        Obs::Mutex => {
            props.insert("name".into(), json!(v));
            compare(sco_type, "name", v)
        }
    };
    let id = sco_id(sco_type, &props);
    Ok(Observable { sco_type, props, id, pattern, always_indicator })
}

/// Whether a value is a dotted-quad IPv4 address with an optional `/0`–`/32` prefix, as the 2.1 schema has it
/// (no leading zeros).
pub fn is_ipv4(v: &str) -> bool {
    fn number(s: &str, max: u32) -> bool {
        !s.is_empty()
            && s.len() <= 3
            && s.bytes().all(|b| b.is_ascii_digit())
            && !(s.len() > 1 && s.starts_with('0'))
            && s.parse::<u32>().is_ok_and(|n| n <= max)
    }
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    let octets: Vec<&str> = addr.split('.').collect();
    octets.len() == 4 && octets.iter().all(|o| number(o, 255)) && prefix.is_none_or(|p| number(p, 32))
}

/// Whether a value is an IPv6 address (without embedded IPv4, which the 2.1 schema's pattern rejects), with an
/// optional `%zone` and `/0`–`/128` prefix.
pub fn is_ipv6(v: &str) -> bool {
    let (rest, prefix) = match v.rsplit_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    let addr = match rest.split_once('%') {
        Some((a, zone)) if !zone.is_empty() => a,
        Some(_) => return false,
        None => rest,
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 3
            && p.bytes().all(|b| b.is_ascii_digit())
            && !(p.len() > 1 && p.starts_with('0'))
            && p.parse::<u32>().is_ok_and(|n| n <= 128)
    });
    !addr.contains('.') && addr.parse::<std::net::Ipv6Addr>().is_ok() && prefix_ok
}

/// Whether a value is a host name (IDNA): labels of letters, digits and inner hyphens (or non-ASCII letters),
/// 1–63 long, no `--` in positions 3–4 except `xn--`, at most 253 in all, an optional final dot.
pub fn is_domain(v: &str) -> bool {
    let name = v.strip_suffix('.').unwrap_or(v);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            let n = label.chars().count();
            (1..=63).contains(&n)
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric()))
                && (label.get(2..4) != Some("--") || label.to_ascii_lowercase().starts_with("xn--"))
        })
}

/// Registry hive abbreviations, which STIX does not allow in a key, and their full names.
const HIVES: [(&str, &str); 5] = [
    ("HKLM", "HKEY_LOCAL_MACHINE"),
    ("HKCU", "HKEY_CURRENT_USER"),
    ("HKCR", "HKEY_CLASSES_ROOT"),
    ("HKCC", "HKEY_CURRENT_CONFIG"),
    ("HKU", "HKEY_USERS"),
];

/// A registry key with an abbreviated hive (`HKLM\…`, any case) written out (`HKEY_LOCAL_MACHINE\…`).
pub fn expand_hive(key: &str) -> String {
    let (hive, rest) = key.split_once('\\').unwrap_or((key, ""));
    match HIVES.iter().find(|(short, _)| hive.eq_ignore_ascii_case(short)) {
        Some((_, long)) if key.contains('\\') => format!("{long}\\{rest}"),
        Some((_, long)) => long.to_string(),
        None => key.to_string(),
    }
}

/// Whether a key passes the 2.1 schema's rule against abbreviated hives (which, as written, refuses a key that
/// starts with `HKLM` or contains `HKCC`, `HKCR`, `HKCU`, `HKU` or their lower-case forms anywhere).
pub fn is_registry_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with("HKLM")
        && !["HKCC", "HKCR", "HKCU", "HKU", "hklm", "hkcc", "hkcr", "hkcu", "hku"].iter().any(|a| key.contains(a))
}

/// Whether a value is a CPE 2.3 formatted string (`cpe:2.3:` part and ten more components); a Software's `cpe`
/// is left out otherwise (it stays in the XSOAR fields).
pub fn is_cpe23(v: &str) -> bool {
    let Some(rest) = v.strip_prefix("cpe:2.3:") else { return false };
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() && !"-._".contains(e) => {
                    cur.push('\\');
                    cur.push(e);
                }
                _ => return false,
            },
            ':' => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    if parts.len() != 11 || !["a", "h", "o", "*", "-"].contains(&parts[0].as_str()) {
        return false;
    }
    let component = |p: &str| {
        p == "*"
            || p == "-"
            || (!p.is_empty() && {
                let inner = p.trim_start_matches(['?', '*']).trim_end_matches(['?', '*']);
                !inner.is_empty()
                    && inner.split('\\').enumerate().all(|(i, s)| {
                        let s = if i > 0 { &s[s.chars().next().map_or(0, char::len_utf8)..] } else { s };
                        s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
                    })
            })
    };
    let language = |p: &str| {
        p == "*" || p == "-" || {
            let (lang, region) = p.split_once('-').unwrap_or((p, ""));
            (2..=3).contains(&lang.len())
                && lang.bytes().all(|b| b.is_ascii_alphabetic())
                && (region.is_empty()
                    || (region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()))
                    || (region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit())))
        }
    };
    parts[1..].iter().enumerate().all(|(i, p)| if i == 5 { language(p) } else { component(p) })
}

/// Whether a URL is an absolute RFC 3986 URI, as a `url` SCO's value must be (stix2-validator checks it with
/// `rfc3986_validator`): `scheme ":" ["//" authority] path ["?" query] ["#" fragment]` with only the
/// characters each part allows and `%HH` escapes. IP-literal hosts (`[…]`) are not accepted here. Other URLs are
/// indicators (a pattern takes any string).
pub fn is_uri(v: &str) -> bool {
    const SUB_DELIMS: &[u8] = b"!$&'()*+,;=";
    fn ok(part: &str, extra: &[u8]) -> bool {
        let b = part.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'%' {
                if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                    return false;
                }
                i += 3;
                continue;
            }
            if !(c.is_ascii_alphanumeric() || b"-._~".contains(&c) || SUB_DELIMS.contains(&c) || extra.contains(&c)) {
                return false;
            }
            i += 1;
        }
        true
    }
    let Some((scheme, rest)) = v.split_once(':') else { return false };
    if !(scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)))
    {
        return false;
    }
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let path = match rest.strip_prefix("//") {
        Some(after) => {
            let (authority, path) = match after.find('/') {
                Some(i) => after.split_at(i),
                None => (after, ""),
            };
            let (userinfo, hostport) = match authority.rsplit_once('@') {
                Some((u, h)) => (Some(u), h),
                None => (None, authority),
            };
            let (host, port) = match hostport.rsplit_once(':') {
                Some((h, p)) => (h, p),
                None => (hostport, ""),
            };
            if !userinfo.is_none_or(|u| ok(u, b":")) || !ok(host, b"") || !port.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            path
        }
        None => rest,
    };
    ok(path, b":@/") && query.is_none_or(|q| ok(q, b":@/?")) && fragment.is_none_or(|f| ok(f, b":@/?"))
}

/// Whether an address passes stix2-validator's `email` rule (`local@domain.tld` with
/// `[a-zA-Z0-9_.+-]` in the local part); other addresses are indicators.
pub fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else { return false };
    let Some((host, tld)) = domain.split_once('.') else { return false };
    !local.is_empty()
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.+-".contains(&b))
        && !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !tld.is_empty()
        && tld.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
}

/// An observable as Cortex XSOAR's TAXII 2 feed reads it (the `xsoar` profile): the value its reader takes and
/// a pattern of one observation in a form its reader takes (TAXII2ApiModule.py, `STIX2XSOARParser`:
/// `parse_indicator` finds `…value='…'` and `…hashes.…='…'` comparisons in the pattern with its spaces removed,
/// and by default drops a pattern that yields more than one; `parse_sco_file_indicator` takes a file's SHA-256,
/// else SHA-1, else MD5).
#[derive(Clone, Debug, PartialEq)]
pub struct XsoarForm {
    /// The value XSOAR's reader takes (the indicator's `name` too, which its relationship reader prefers).
    pub value: String,
    /// The pattern.
    pub pattern: String,
}

/// The `xsoar` profile's form of an observable (valid STIX in both versions):
/// - IP, IPv6, domain, URL, email: `[type:value = '…']` (a domain glob too, as XSOAR's server writes it: a
///   pattern's string takes any value, and its reader knows no `LIKE`);
/// - File: one hash, the one XSOAR's reader would take from the SCO (SHA-256, else SHA-1, else MD5, else
///   SHA-512): `[file:hashes.'SHA-256' = '…']`, as XSOAR's server writes it;
/// - ASN, Account, Registry Key, X509, Mutex: their STIX property is one its reader does not take, so the
///   pattern ORs XSOAR's value as the custom property `x_xsoar_value` (which it reads) with the STIX comparison
///   (which every other matcher reads): `[autonomous-system:x_xsoar_value = 'AS64503' OR
///   autonomous-system:number = 64503]`. The value is XSOAR's own (an ASN keeps its `AS`), an account's is its
///   `user_id` when it has one (what XSOAR's reader takes from the SCO). A value with a quote, a backslash or
///   a space (most registry keys and mutexes) reaches that reader whole from no pattern
///   ([`xsoar_pattern_carries`]): the renderer serves it as an SCO instead, and this pattern is used only where
///   `as_indicator` asks for an indicator;
/// - Software: its reader knows no software; the default pattern.
pub fn xsoar_form(ind: &Indicator, obs: Obs, o: &Observable) -> XsoarForm {
    let v = ind.value.trim();
    let custom = |value: &str| {
        format!(
            "[{}:x_xsoar_value = '{}' OR {}]",
            o.sco_type,
            escape_pattern(value),
            &o.pattern[1..o.pattern.len() - 1]
        )
    };
    let (value, pattern) = match obs {
        Obs::DomainGlob => (v.to_string(), compare("domain-name", "value", v)),
        Obs::File => {
            let hashes = o.props.get("hashes").and_then(Value::as_object);
            let pick = ["SHA-256", "SHA-1", "MD5", "SHA-512"]
                .iter()
                .find_map(|k| hashes.and_then(|h| h.get(*k)).and_then(Value::as_str).map(|h| (*k, h)));
            match pick {
                Some((name, h)) => (h.to_string(), format!("[{}]", hash_comparison(name, h))),
                None => (v.to_string(), o.pattern.clone()),
            }
        }
        Obs::Account => {
            let value = o.props.get("user_id").and_then(Value::as_str).unwrap_or(v).to_string();
            let pattern = custom(&value);
            (value, pattern)
        }
        Obs::Asn | Obs::RegistryKey | Obs::X509 | Obs::Mutex => (v.to_string(), custom(v)),
        Obs::Ipv4 | Obs::Ipv6 | Obs::Domain | Obs::Url | Obs::Email | Obs::Software => {
            (v.to_string(), o.pattern.clone())
        }
    };
    XsoarForm { value, pattern }
}

/// Whether a pattern can carry `value` to XSOAR's reader as it is. That reader takes the text between the
/// quotes of a `…value='…'` comparison after removing every space (TAXII2ApiModule.py, `parse_indicator` and
/// `INDICATOR_OPERATOR_VAL_FORMAT_PATTERN`, `'(.*?)'`): a string's escapes stay (`\\` arrives as two
/// backslashes), its spaces go, and a quote ends the value, escaped or not. A value without `'`, `\` and
/// spaces arrives whole.
pub fn xsoar_pattern_carries(value: &str) -> bool {
    !value.contains(['\'', '\\', ' '])
}

/// `[type:path = 'value']` with the value escaped.
fn compare(sco_type: &str, path: &str, v: &str) -> String {
    format!("[{sco_type}:{path} = '{}']", escape_pattern(v))
}

/// Escapes a STIX pattern string constant: `\` first, then `'`.
pub fn escape_pattern(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The id-contributing properties of each SCO type (STIX 2.1 §6, as stix2 3.0.2 lists them).
fn contributing(sco_type: &str) -> &'static [&'static str] {
    match sco_type {
        "autonomous-system" => &["number"],
        "file" => &["hashes", "name", "parent_directory_ref", "extensions"],
        "mutex" => &["name"],
        "software" => &["name", "cpe", "swid", "vendor", "version"],
        "user-account" => &["account_type", "user_id", "account_login"],
        "windows-registry-key" => &["key", "values"],
        "x509-certificate" => &["hashes", "serial_number"],
        _ => &["value"],
    }
}

/// The SCO id from an SCO's properties.
pub fn sco_id(sco_type: &str, props: &Map<String, Value>) -> String {
    let mut c = Map::new();
    for &key in contributing(sco_type) {
        if let Some(v) = props.get(key) {
            let v = if key == "hashes" { choose_one_hash(v) } else { v.clone() };
            c.insert(key.to_string(), v);
        }
    }
    ids::sco_id(sco_type, &Value::Object(c))
}

/// One hash, by stix2's preference MD5 > SHA-1 > SHA-256 > SHA-512, else the first.
fn choose_one_hash(hashes: &Value) -> Value {
    let Value::Object(m) = hashes else { return hashes.clone() };
    for k in ["MD5", "SHA-1", "SHA-256", "SHA-512"] {
        if let Some(h) = m.get(k) {
            return json!({ k: h });
        }
    }
    m.iter().next().map_or(Value::Object(Map::new()), |(k, h)| json!({ k.as_str(): h }))
}

fn is_hash(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The hash algorithms of a File, in output order: (STIX name, XSOAR field, hex length).
const FILE_HASHES: [(&str, &str, usize); 4] =
    [("MD5", "md5", 32), ("SHA-1", "sha1", 40), ("SHA-256", "sha256", 64), ("SHA-512", "sha512", 128)];

fn file(ind: &Indicator) -> Result<Observable, ObservableError> {
    let v = ind.value.trim();
    let own = FILE_HASHES
        .iter()
        .find(|(_, _, len)| is_hash(v, *len))
        .ok_or_else(|| ObservableError::FileHash(v.to_string()))?;
    let mut hashes = Map::new();
    for &(name, field, len) in &FILE_HASHES {
        let h = if name == own.0 { Some(v.to_string()) } else { ind.field_str(field).filter(|h| is_hash(h, len)) };
        if let Some(h) = h {
            hashes.insert(name.into(), json!(h));
        }
    }
    if let Some(s) = ind.field_str("ssdeep") {
        hashes.insert("SSDEEP".into(), json!(s));
    }
    let mut props = Map::new();
    let mut comparisons = vec![hash_comparison(own.0, v)];
    for (name, h) in &hashes {
        if name != own.0 && name != "SSDEEP" {
            comparisons.push(hash_comparison(name, h.as_str().unwrap_or_default()));
        }
    }
    props.insert("hashes".into(), Value::Object(hashes));
    if let Some(name) = first_string(ind.field("associatedfilenames")) {
        props.insert("name".into(), json!(name));
    }
    let id = sco_id("file", &props);
    let pattern = format!("[{}]", comparisons.join(" OR "));
    Ok(Observable { sco_type: "file", props, id, pattern, always_indicator: false })
}

/// `file:hashes.MD5 = '…'`, quoting hash names that contain `-`.
fn hash_comparison(name: &str, h: &str) -> String {
    let path = if name.contains('-') { format!("'{name}'") } else { name.to_string() };
    format!("file:hashes.{path} = '{}'", escape_pattern(h))
}

fn first_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => s.split(',').map(str::trim).find(|s| !s.is_empty()).map(String::from),
        Value::Array(items) => {
            items.iter().filter_map(Value::as_str).map(str::trim).find(|s| !s.is_empty()).map(String::from)
        }
        _ => None,
    }
}

/// The registry value data types STIX 2.1 allows (windows-registry-datatype-enum).
const REGISTRY_TYPES: &[&str] = &[
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
    "REG_INVALID_TYPE",
];

/// `keyvalue` rows `{"name","data","type"}` → `values` `{"name","data","data_type"}`; empty rows are dropped.
fn registry_values(ind: &Indicator) -> Result<Vec<Value>, ObservableError> {
    let rows = match ind.field("keyvalue") {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(rows)) => rows,
        Some(_) => return Err(ObservableError::KeyValueNotList),
    };
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let Value::Object(row) = row else {
            return Err(ObservableError::KeyValueRow(i));
        };
        let text = |k: &str| match row.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let mut v = Map::new();
        if let Some(name) = text("name") {
            v.insert("name".into(), json!(name));
        }
        if let Some(data) = text("data") {
            v.insert("data".into(), json!(data));
        }
        if v.is_empty() {
            continue;
        }
        if let Some(t) = text("type") {
            let t = t.trim().to_ascii_uppercase();
            if !REGISTRY_TYPES.contains(&t.as_str()) {
                return Err(ObservableError::RegistryType { row: i, data_type: t });
            }
            v.insert("data_type".into(), json!(t));
        }
        out.push(Value::Object(v));
    }
    Ok(out)
}

/// An X509 subject or issuer grid `[{"title","data"}]` as `title=data, title=data`, or a plain string.
fn distinguished_name(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Array(rows) => {
            let parts: Vec<String> = rows
                .iter()
                .filter_map(|r| {
                    let t = r.get("title")?.as_str()?.trim();
                    let d = r.get("data")?.as_str()?.trim();
                    (!t.is_empty() && !d.is_empty()).then(|| format!("{t}={d}"))
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        _ => None,
    }
}

/// An open-vocabulary word: lower case, spaces and underscores as hyphens ("Command and Control" →
/// "command-and-control").
pub fn vocab_word(s: &str) -> String {
    s.trim()
        .to_ascii_lowercase()
        .split(|c: char| c.is_whitespace() || c == '_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}
