//! taxii-edge: a TAXII 2.1 and 2.0 server for outbound threat-intelligence feeds, run as a Cloudflare Worker.
//!
//! Everything but [`edge`] is plain Rust with no Workers types: compiled natively for the CLI and the tests,
//! and to wasm32 for the worker. See shared/DESIGN.md for the path of the data.

pub mod admin;
pub mod auth;
pub mod config;
pub mod faults;
#[cfg(not(target_arch = "wasm32"))]
pub mod generate;
pub mod import;
pub mod indicator;
pub mod prune;
#[cfg(not(target_arch = "wasm32"))]
pub mod publish;
pub mod query;
pub mod response_cache;
pub mod service;
pub mod snapshot;
pub mod stix;
pub mod store;
pub mod taxii;
pub mod time;

#[cfg(target_arch = "wasm32")]
mod edge;
#[cfg(target_arch = "wasm32")]
mod edge_timeout;
