//! `taxii-edge sync`'s parts: the configuration ([`config`]), the sources ([`sources`]), what a sync keeps between
//! cycles ([`state`]) and one cycle ([`cycle`]: pull, build on the worker's snapshot, publish with a
//! compare-and-swap, prune). The command itself (repeating, signals, exit codes) is `commands::sync`.

pub mod config;
pub mod cycle;
pub mod sources;
pub mod state;
