//! The server: one request in, one response out, over any [`Store`](crate::store::Store).
//!
//! - [`service`]: authentication, negotiation, routing and the TAXII endpoints, in three steps the worker can put
//!   its edge cache between.
//! - [`admin`]: the admin API `taxii-edge publish` and `prune` use (uploads, the pointer switch, deletes).
//! - [`cache_key`]: which responses the edge may keep, under which key.

pub mod admin;
pub mod cache_key;
pub mod service;

pub use crate::settings::Settings;
pub use service::{Prepared, Ready, Route, Service};
