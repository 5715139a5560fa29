//! The commands of `taxii-edge`, one module each: its clap arguments (`Args`) and its `run`. `main` parses the
//! command line into a [`Command`] and runs it.

pub mod build;
pub mod collections;
pub mod generate;
pub mod info;
pub mod prune;
pub mod publish;
pub mod sync;
pub mod user;
pub mod validate;

use clap::Subcommand;

/// Every command's help ends with this.
pub const EXIT_CODES: &str =
    "Exit codes: 0 success; 1 the operation failed (the worker could not be reached or refused, \
storage or file errors); 2 bad usage or bad input (command line, collections configuration, input records, \
a directory that is not a snapshot) or, for `validate`, problems found.";

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
pub enum Command {
    /// Build a snapshot directory from indicator exports and a collection configuration.
    #[command(after_help = EXIT_CODES)]
    Build(build::Args),
    /// Upload a snapshot to a worker and make it current, in one atomic step; then prune (see `prune`).
    ///
    /// Only the blobs the worker lacks are uploaded, and the pointer switches only once all are there: a publish
    /// that is interrupted leaves the previous snapshot served, and running it again completes it.
    #[command(after_help = EXIT_CODES)]
    Publish(publish::Args),
    /// Delete blobs no retained snapshot reaches, from a worker (--url) or a snapshot directory.
    ///
    /// A snapshot is retained while current and for --keep after it was replaced; a blob uploaded less than
    /// --keep ago is never deleted (a publish in flight may be uploading it).
    #[command(after_help = EXIT_CODES)]
    Prune(prune::Args),
    /// Keep a worker current from XSOAR, TAXII collections and files: pull, build, publish what changed, prune.
    ///
    /// Each cycle pulls every source of --config (TOML), builds on the worker's snapshot and publishes with a
    /// compare-and-swap; a failing source publishes nothing. Without --once it repeats every `interval`.
    /// Exit codes: 0 published or nothing changed; 1 a source or the worker failed; 2 bad configuration.
    #[command(after_help = EXIT_CODES)]
    Sync(sync::Args),
    /// List the collections (ids, titles, queries, object counts) of a snapshot directory or a live worker.
    #[command(after_help = EXIT_CODES)]
    Collections(collections::Args),
    /// Show a worker's server information: title, description, API roots, default API root, TAXII versions,
    /// the current snapshot.
    #[command(after_help = EXIT_CODES)]
    Info(info::Args),
    /// Check a collections configuration and inputs without writing anything: parse errors, bad records,
    /// per-collection counts. Exits 2 when anything is wrong.
    #[command(after_help = EXIT_CODES)]
    Validate(validate::Args),
    /// Write N synthetic indicators of every XSOAR type (XSOAR indicator JSON), for demos and benchmarks.
    Generate(generate::Args),
    /// Manage the readers of the TAXII_USERS secret (HTTP Basic or Bearer API key, per-collection access).
    User(user::Args),
}
