//! `taxii-edge sync`'s parts: the configuration ([`config`]), the sources ([`sources`]), what a sync keeps between
//! cycles ([`state`]) and one cycle ([`cycle`]: pull, build on the worker's snapshot while uploading what it writes
//! ([`early_upload`]), publish with a compare-and-swap, prune, counting what the retained snapshots reach ([`ledger`])). The command itself (repeating, signals, exit codes) is `commands::sync`.

pub mod config;
pub mod cycle;
pub mod early_upload;
pub mod ledger;
pub mod sources;
pub mod state;
