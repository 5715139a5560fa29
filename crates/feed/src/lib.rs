//! edge-feed: the feed side of taxii-edge, native only. It turns indicators from where they live into a
//! snapshot the worker serves; nothing here runs at the edge.
//!
//! The modules, from the bottom up:
//! - [`indicator`]: one indicator as XSOAR knows it (value, type, score, fields, relationships).
//! - [`import`]: XSOAR JSON and JSON lines, CSV, STIX bundles → indicators; every bad record with its position.
//! - [`query`]: XSOAR's query language (`type:IP and score:>=2`), parsed once and evaluated per indicator.
//! - [`config`]: the collections configuration (XSOAR's JSON: a query, or a query and a description, per name).
//! - [`stix`]: indicators → deterministic STIX 2.1 and 2.0 objects, ids, patterns, relationships, markings.
//! - [`build`]: the snapshot build: render, lay out into segments and id shards, version against the previous
//!   snapshot, write blobs.
//! - [`snapshot_dir`]: a snapshot on disk (the CLI's build output), read as a blob source, pruned.
//! - [`users`]: the users file that becomes the `TAXII_USERS` secret.
//! - [`generate`]: synthetic indicators of every type, for trials and benchmarks.
//! - `pool`: the threads the build and the previous snapshot's reading share.
//!
//! It writes the formats `edge_core::snapshot` defines and reads; docs/ARCHITECTURE.md shows the whole path.

pub mod build;
pub mod config;
pub mod generate;
pub mod import;
pub mod indicator;
mod pool;
pub mod query;
pub mod snapshot_dir;
pub mod stix;
pub mod users;
