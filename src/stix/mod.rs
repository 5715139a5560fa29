//! STIX rendering: indicators in, deterministic STIX 2.1 and 2.0 objects out.
//!
//! Rendering happens once per snapshot, in the build: each object is rendered to its exact 2.1 and 2.0 JSON
//! bytes, which the worker then places into envelopes and bundles unchanged. Every id is derived (see
//! [`ids`]); the same indicators and options always give the same bytes.

pub mod ids;
pub mod render;

use crate::time::Timestamp;
use std::collections::BTreeSet;
use uuid::Uuid;

pub use render::{collection_extras, render_indicator};

/// The rendering settings of a build (the XSOAR integration's settings, where it has them).
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// The namespace for SDO, relationship and extension-definition ids.
    pub namespace: Uuid,
    /// STIX SCO types rendered as indicator SDOs with a pattern over 2.1 (XSOAR "STIX types for STIX indicator
    /// Domain Object"). Over 2.0 every observable is an indicator.
    pub as_indicator: BTreeSet<String>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { namespace: ids::namespace_for(""), as_indicator: BTreeSet::new() }
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
