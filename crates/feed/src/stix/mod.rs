//! STIX rendering: indicators in, deterministic STIX 2.1 and 2.0 objects out.
//!
//! Rendering happens once per snapshot, in the build: each object is rendered to its exact 2.1 and 2.0 JSON
//! bytes, which the worker then places into envelopes and bundles unchanged. Every id is derived (see
//! [`ids`]); the same indicators and options always give the same bytes (serde_json keeps insertion order, and
//! every object is built in one fixed property order).
//!
//! - [`kind`]: which XSOAR type becomes which STIX object (type names match case-insensitively).
//! - [`observable`]: SCO properties, SCO ids and patterns of the observable types.
//! - [`render`]: one indicator → its 2.1 and 2.0 objects (SCO, indicator SDO or other SDO).
//! - [`object_ids`]: the ids of the producer identity, extension definitions and relationships.
//! - [`extras`]: what a collection serves besides its members: relationships between members, the TLP marking
//!   definitions and the producer identity they reference, the extension definitions.
//! - [`markings`]: the four standard TLP marking definitions.
//! - [`passthrough`]: imported STIX objects, served as they are.

pub mod extras;
pub mod ids;
pub mod kind;
pub mod markings;
pub mod object_ids;
pub mod observable;
pub mod passthrough;
pub mod render;

use crate::indicator::Indicator;
use edge_core::time::Timestamp;
use std::collections::BTreeSet;
use uuid::Uuid;

pub use extras::Extras;

/// Renders one indicator as its STIX object, or says why it cannot be rendered: an imported STIX object as it
/// came ([`passthrough`]), any other by the renderer ([`render`]).
pub fn render_indicator(ind: &Indicator, opts: &RenderOptions) -> Result<Rendered, RenderError> {
    let result = match ind.fields.get(passthrough::OBJECT) {
        Some(object) => passthrough::render(ind, object, opts).map_err(|e| e.to_string()),
        None => render::render_one(ind, opts).map_err(|e| e.to_string()),
    };
    result.map_err(|reason| RenderError { origin: ind.origin.clone(), reason })
}

/// Which XSOAR fields travel with each object (the XSOAR "Extension fields" setting): over 2.1 in a
/// property-extension, over 2.0 as `x_xsoar_<field>` custom properties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ExtensionFields {
    /// No extension (XSOAR: the setting left empty).
    #[default]
    None,
    /// These fields (lower-cased XSOAR names; `value`, `indicator_type`, `score`, `tags`, `timestamp`,
    /// `modified` and `expiration` name the typed properties).
    List(Vec<String>),
    /// Every field of the indicator (XSOAR: "All").
    All,
}

impl ExtensionFields {
    /// Parses the XSOAR setting: empty → none, `all` (any case) → all, else a comma-separated list.
    pub fn parse(setting: &str) -> ExtensionFields {
        let s = setting.trim();
        if s.is_empty() {
            ExtensionFields::None
        } else if s.eq_ignore_ascii_case("all") {
            ExtensionFields::All
        } else {
            let mut list: Vec<String> =
                s.split(',').map(|f| f.trim().to_ascii_lowercase()).filter(|f| !f.is_empty()).collect();
            list.dedup();
            ExtensionFields::List(list)
        }
    }

    /// Whether any field is exported.
    pub fn enabled(&self) -> bool {
        !matches!(self, ExtensionFields::None)
    }
}

/// What a collection serves besides its members (see [`extras`]), and the imported STIX relationships whose two
/// ends are members (see [`passthrough`]), in order: the shared objects, the TIP's relationships (each id once,
/// from its first source), the imported relationships.
/// `rendered` holds the members' ids and types, parallel to `members` (a [`Rendered`] or anything else that
/// knows them: the build passes its compact form, so the extras of a million members copy no id). A build makes
/// the same objects in the same order with [`Extras`] on every core.
pub fn collection_extras<H: Head>(members: &[&Indicator], rendered: &[&H], opts: &RenderOptions) -> Vec<Rendered> {
    let extras = Extras::new(members, rendered, opts);
    let mut out = Vec::new();
    extras.shared(&mut |r| out.push(r));
    let mut seen = std::collections::HashSet::new();
    for i in 0..extras.len() {
        extras.relationships_of(i, &mut |r| {
            if seen.insert(r.id21.clone()) {
                out.push(r);
            }
        });
    }
    for i in 0..extras.len() {
        extras.imported_relationships_of(i, &mut |r| out.push(r));
    }
    out
}

/// Which clients a collection's objects are rendered for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// Strict STIX: every object passes stix2-validator and `stix2.parse`.
    #[default]
    Stix,
    /// What Cortex XSOAR's TAXII 2 feed (FeedTAXII2 over TAXII2ApiModule) reads, as XSOAR's own TAXII2 Server
    /// writes it, in valid STIX wherever that reads; three non-strict forms, named in the README: 2.1 SCOs carry
    /// `created` and `modified`, over 2.0 infrastructure and location keep their 2.1 type names, and an
    /// observable whose value no pattern carries to XSOAR's reader (a quote, a backslash or a space) is an SCO
    /// in both versions (over 2.0 at the top level; a registry key with its hive as XSOAR holds it).
    Xsoar,
}

impl Profile {
    /// The profile a collection names (`"stix"` or `"xsoar"`, any case).
    pub fn parse(name: &str) -> Option<Profile> {
        match name.trim().to_ascii_lowercase().as_str() {
            "stix" => Some(Profile::Stix),
            "xsoar" => Some(Profile::Xsoar),
            _ => None,
        }
    }

    /// Its name in the collections JSON and the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Stix => "stix",
            Profile::Xsoar => "xsoar",
        }
    }
}

/// The rendering settings of a build (the XSOAR integration's settings, where it has them).
#[derive(Clone)]
pub struct RenderOptions {
    /// The namespace for SDO, relationship and extension-definition ids.
    pub namespace: Uuid,
    /// STIX SCO types rendered as indicator SDOs with a pattern over 2.1 (XSOAR "STIX types for STIX indicator
    /// Domain Object"). Over 2.0 every observable is an indicator.
    pub as_indicator: BTreeSet<String>,
    /// The XSOAR "Extension fields" setting.
    pub extension_fields: ExtensionFields,
    /// Mark expired indicators `revoked: true` (indicator and other SDOs; SCOs have no `revoked`).
    pub revoke_expired: bool,
    /// The time against which `expiration` is judged for `revoke_expired` (the build time). Without it only
    /// XSOAR's own `expirationStatus: "expired"` counts.
    pub expired_as_of: Option<Timestamp>,
    /// Keep XSOAR's exact (UUIDv5) ids over STIX 2.0 too. STIX 2.0 requires UUIDv4 ids, so by default a 2.0
    /// id is the derived id with its version bits set to 4 ([`ids::v20_id`]); set this for a drop-in
    /// replacement of an XSOAR 2.0 feed whose consumers already hold its ids (they fail 2.0 validation).
    pub xsoar_v20_ids: bool,
    /// The name of the producer identity every SDO and relationship names in `created_by_ref` (served with each
    /// collection). `None`: no `created_by_ref`, and the identity is served only for the extension definitions,
    /// which require a creator.
    pub producer: Option<String>,
    /// The client profile (a collection's setting; the build's options are always [`Profile::Stix`]).
    pub profile: Profile,
}

/// The configuration's digest reads this: options of the default profile print as they did before profiles
/// existed, so that a build that does not use them keeps its digest (and its snapshots their bytes).
impl std::fmt::Debug for RenderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("RenderOptions");
        d.field("namespace", &self.namespace)
            .field("as_indicator", &self.as_indicator)
            .field("extension_fields", &self.extension_fields)
            .field("revoke_expired", &self.revoke_expired)
            .field("expired_as_of", &self.expired_as_of)
            .field("xsoar_v20_ids", &self.xsoar_v20_ids)
            .field("producer", &self.producer);
        if self.profile != Profile::Stix {
            d.field("profile", &self.profile);
        }
        d.finish()
    }
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            namespace: ids::namespace_for(""),
            as_indicator: BTreeSet::new(),
            extension_fields: ExtensionFields::None,
            revoke_expired: false,
            expired_as_of: None,
            xsoar_v20_ids: false,
            producer: Some("taxii-edge".to_string()),
            profile: Profile::Stix,
        }
    }
}

/// The SCO types `as_indicator` may name (XSOAR's options plus autonomous-system, software and mutex).
pub const SCO_TYPES: &[&str] = &[
    "ipv4-addr",
    "ipv6-addr",
    "domain-name",
    "url",
    "email-addr",
    "file",
    "windows-registry-key",
    "user-account",
    "autonomous-system",
    "software",
    "x509-certificate",
    "mutex",
];

/// `as_indicator` names types this renderer does not make.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown STIX type(s) for indicators: {}; use STIX SCO type names: {}", .unknown.join(", "), SCO_TYPES.join(", "))]
pub struct UnknownScoTypes {
    /// The entries that are not SCO types, in the order given.
    pub unknown: Vec<String>,
}

impl RenderOptions {
    /// Checks the settings a user gives: every `as_indicator` entry must be an SCO type this renderer makes.
    pub fn check(&self) -> Result<(), UnknownScoTypes> {
        let unknown: Vec<String> =
            self.as_indicator.iter().filter(|t| !SCO_TYPES.contains(&t.as_str())).cloned().collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(UnknownScoTypes { unknown })
        }
    }

    /// An id as the given spec version writes it (see `xsoar_v20_ids`).
    pub fn id_for(&self, id: &str, v21: bool) -> String {
        if v21 || self.xsoar_v20_ids {
            id.to_string()
        } else {
            ids::v20_id(id)
        }
    }
}

/// One STIX object in both spec versions, ready to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The object's id, type and JSON in STIX 2.1.
    pub id21: String,
    pub type21: String,
    pub json21: String,
    /// The object's id, type and JSON in STIX 2.0 (an observable becomes an indicator there).
    pub id20: String,
    pub type20: String,
    pub json20: String,
    /// The object's TAXII version: `modified`, else `created`.
    pub version: Timestamp,
}

/// What the collection extras read of a rendered member: its ids and type.
pub trait Head {
    fn id21(&self) -> &str;
    fn type21(&self) -> &str;
    fn id20(&self) -> &str;
}

impl Head for Rendered {
    fn id21(&self) -> &str {
        &self.id21
    }
    fn type21(&self) -> &str {
        &self.type21
    }
    fn id20(&self) -> &str {
        &self.id20
    }
}

/// An indicator that could not be rendered: where it came from and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderError {
    pub origin: String,
    pub reason: String,
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.origin, self.reason)
    }
}
