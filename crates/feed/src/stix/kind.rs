//! Which STIX object each XSOAR indicator type becomes.
//!
//! XSOAR type names match case-insensitively and with surrounding spaces ignored ("ip", "Registry Key",
//! "REGISTRY KEY"), since CSV and hand-written exports vary in case; the spelling (spaces included) must be
//! XSOAR's. A type not in this table (Host, Tactic, custom types) is a render error at build time.

/// An observable: an SCO over 2.1 (or an indicator with a pattern), an indicator over 2.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Obs {
    Ipv4,
    Ipv6,
    Domain,
    /// A domain with wildcards (`*.example.com`): always an indicator with a `LIKE` pattern, since a glob is
    /// not a domain-name value.
    DomainGlob,
    Url,
    Email,
    File,
    RegistryKey,
    Account,
    Asn,
    Software,
    X509,
    Mutex,
}

impl Obs {
    /// The STIX SCO type.
    pub fn sco_type(self) -> &'static str {
        match self {
            Obs::Ipv4 => "ipv4-addr",
            Obs::Ipv6 => "ipv6-addr",
            Obs::Domain | Obs::DomainGlob => "domain-name",
            Obs::Url => "url",
            Obs::Email => "email-addr",
            Obs::File => "file",
            Obs::RegistryKey => "windows-registry-key",
            Obs::Account => "user-account",
            Obs::Asn => "autonomous-system",
            Obs::Software => "software",
            Obs::X509 => "x509-certificate",
            Obs::Mutex => "mutex",
        }
    }
}

/// What an XSOAR type becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Observable(Obs),
    /// A STIX domain object of this type.
    Sdo(&'static str),
}

/// The XSOAR types this renderer maps, as XSOAR spells them (for messages and documentation).
pub const XSOAR_TYPES: &[&str] = &[
    "IP",
    "CIDR",
    "IPv6",
    "IPv6CIDR",
    "Domain",
    "DomainGlob",
    "URL",
    "Email",
    "File",
    "Registry Key",
    "Account",
    "ASN",
    "Software",
    "X509 Certificate",
    "Mutex",
    "Attack Pattern",
    "Campaign",
    "Course of Action",
    "Infrastructure",
    "Intrusion Set",
    "Malware",
    "Report",
    "Threat Actor",
    "Tool",
    "CVE",
    "Identity",
    "Location",
];

/// The STIX mapping of an XSOAR type, if it has one.
pub fn kind_of(xsoar_type: &str) -> Option<Kind> {
    let t = xsoar_type.trim().to_ascii_lowercase();
    Some(match t.as_str() {
        "ip" | "cidr" => Kind::Observable(Obs::Ipv4),
        "ipv6" | "ipv6cidr" => Kind::Observable(Obs::Ipv6),
        "domain" => Kind::Observable(Obs::Domain),
        "domainglob" => Kind::Observable(Obs::DomainGlob),
        "url" => Kind::Observable(Obs::Url),
        "email" => Kind::Observable(Obs::Email),
        "file" => Kind::Observable(Obs::File),
        "registry key" => Kind::Observable(Obs::RegistryKey),
        "account" => Kind::Observable(Obs::Account),
        "asn" => Kind::Observable(Obs::Asn),
        "software" => Kind::Observable(Obs::Software),
        "x509 certificate" => Kind::Observable(Obs::X509),
        "mutex" => Kind::Observable(Obs::Mutex),
        "attack pattern" => Kind::Sdo("attack-pattern"),
        "campaign" => Kind::Sdo("campaign"),
        "course of action" => Kind::Sdo("course-of-action"),
        "infrastructure" => Kind::Sdo("infrastructure"),
        "intrusion set" => Kind::Sdo("intrusion-set"),
        "malware" => Kind::Sdo("malware"),
        "report" => Kind::Sdo("report"),
        "threat actor" => Kind::Sdo("threat-actor"),
        "tool" => Kind::Sdo("tool"),
        "cve" => Kind::Sdo("vulnerability"),
        "identity" => Kind::Sdo("identity"),
        "location" => Kind::Sdo("location"),
        _ => return None,
    })
}

/// The message for a type with no mapping.
pub fn unmapped(xsoar_type: &str) -> String {
    format!(
        "indicator type \"{xsoar_type}\" has no STIX mapping; map it to one of {} before the build, or leave it \
         out of the collections' queries",
        XSOAR_TYPES.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_type_is_mapped_case_insensitively() {
        for t in XSOAR_TYPES {
            assert!(kind_of(t).is_some(), "{t}");
            assert_eq!(kind_of(&t.to_uppercase()), kind_of(t), "{t}");
            assert_eq!(kind_of(&format!(" {} ", t.to_lowercase())), kind_of(t), "{t}");
        }
        assert_eq!(kind_of("Host"), None);
        assert_eq!(kind_of("RegistryKey"), None);
        assert!(unmapped("Host").contains("\"Host\" has no STIX mapping"));
    }
}
