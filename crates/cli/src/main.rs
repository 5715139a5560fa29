//! The taxii-edge command line: build a snapshot from TIP exports, and publish it to a worker.

mod admin_client;
mod prune;

use crate::admin_client::Admin;
use clap::{Parser, Subcommand};
use edge_core::time::Timestamp;
use edge_feed::build::{build_prepared_to_dir, History, Prepared};
use edge_feed::config::parse_collections;
use edge_feed::import::{import_file, import_file_each, RecordError};
use edge_feed::snapshot_dir::{self as dir, SnapshotDir};
use edge_feed::stix::{ids, ExtensionFields, RenderOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A build allocates and frees millions of small strings on several threads: jemalloc does that in far less time
/// than the system's allocator, and keeps less memory than mimalloc did (docs/BENCHMARKS.md, the build).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options: return freed memory to the system on a background thread, not on the build's.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8; 23] = b"background_thread:true\0";

/// Prints a line to standard output; when the reader has gone (`taxii-edge … | head`), the program ends quietly, as
/// Unix tools do, instead of panicking on the closed pipe.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 the operation failed (the worker could not be reached or refused, \
storage or file errors); 2 bad usage or bad input (command line, collections configuration, input records, \
a directory that is not a snapshot) or, for `validate`, problems found.";

#[derive(Parser)]
#[command(
    name = "taxii-edge",
    version,
    about = "Build and publish TAXII feeds served by the taxii-edge worker",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Build a snapshot directory from indicator exports and a collection configuration.
    #[command(after_help = EXIT_CODES)]
    Build {
        /// Collections in Cortex XSOAR's JSON form: {"name": "query"} or {"name": {"query": …, "description": …}}.
        #[arg(long)]
        config: PathBuf,
        /// Inputs, combined: XSOAR indicator JSON (a list, {"iocs": […]}, or JSON lines), CSV with a header row, or
        /// STIX 2.1 (a bundle, a list of objects, or JSON lines; served as they are, with their ids).
        #[arg(long = "input", required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
        /// Where to write the snapshot.
        #[arg(long)]
        out: PathBuf,
        /// The XSOAR customer string (license id): keeps XSOAR's collection and object ids.
        #[arg(long, default_value = "")]
        customer_string: String,
        /// STIX types served as indicator SDOs with patterns over 2.1 (comma list, e.g. ipv4-addr,domain-name).
        #[arg(long, value_delimiter = ',')]
        as_indicator: Vec<String>,
        /// A previous snapshot directory: object versions in it keep their date_added and their segments (only
        /// new and changed objects are written; the reused blobs are linked into --out).
        #[arg(long, conflicts_with = "previous_url")]
        previous: Option<PathBuf>,
        /// A worker whose current snapshot is the previous one (read through its admin path, with --token).
        #[arg(long, requires = "token")]
        previous_url: Option<String>,
        /// The worker's ADMIN_TOKEN, for --previous-url.
        #[arg(long, env = "TAXII_EDGE_ADMIN_TOKEN")]
        token: Option<String>,
        /// Skip bad records (each is listed) instead of failing the build.
        #[arg(long)]
        skip_bad: bool,
        /// The build time (RFC 3339), for reproducible builds; default now.
        #[arg(long)]
        now: Option<String>,
        /// Days an object's earlier version stays served (to match[version]=all/first) after a newer one
        /// replaced it; 0 keeps only the latest versions.
        #[arg(long, value_name = "DAYS", default_value_t = edge_feed::build::DEFAULT_KEEP_VERSIONS_DAYS)]
        keep_versions: u32,
        #[command(flatten)]
        stix: StixArgs,
    },
    /// Upload a snapshot to a worker and make it current, in one atomic step; then prune (see `prune`).
    ///
    /// Only the blobs the worker lacks are uploaded, and the pointer switches only once all are there: a publish
    /// that is interrupted leaves the previous snapshot served, and running it again completes it.
    #[command(after_help = EXIT_CODES)]
    Publish {
        /// The snapshot directory made by `taxii-edge build`.
        dir: PathBuf,
        /// The worker's URL, e.g. http://127.0.0.1:8787 or https://feeds.example.com.
        #[arg(long)]
        url: String,
        /// The worker's ADMIN_TOKEN secret.
        #[arg(long, env = "TAXII_EDGE_ADMIN_TOKEN")]
        token: String,
        /// How long a replaced snapshot stays readable (so clients paging across the publish finish on it), and
        /// the age below which no blob is ever pruned: e.g. 30m, 24h, 7d.
        #[arg(long, default_value = edge_core::retention::DEFAULT_KEEP)]
        keep: String,
        /// Do not prune after switching (run `taxii-edge prune` later).
        #[arg(long)]
        no_prune: bool,
    },
    /// Delete blobs no retained snapshot reaches, from a worker (--url) or a snapshot directory.
    ///
    /// A snapshot is retained while current and for --keep after it was replaced; a blob uploaded less than
    /// --keep ago is never deleted (a publish in flight may be uploading it).
    #[command(after_help = EXIT_CODES)]
    Prune {
        /// A snapshot directory to prune instead of a worker (blobs its snapshot does not reach).
        #[arg(conflicts_with_all = ["url", "token"], required_unless_present = "url")]
        dir: Option<PathBuf>,
        /// The worker's URL.
        #[arg(long, requires = "token")]
        url: Option<String>,
        /// The worker's ADMIN_TOKEN secret.
        #[arg(long, env = "TAXII_EDGE_ADMIN_TOKEN")]
        token: Option<String>,
        /// The retention window: e.g. 30m, 24h, 7d (0: keep only the current snapshot and delete every other
        /// unreachable blob, even one a publish is uploading now).
        #[arg(long, default_value = edge_core::retention::DEFAULT_KEEP)]
        keep: String,
        /// Say what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// The time to judge ages against (RFC 3339), for tests; default now.
        #[arg(long, hide = true)]
        now: Option<String>,
    },
    /// List the collections (ids, titles, queries, object counts) of a snapshot directory or a live worker.
    #[command(after_help = EXIT_CODES)]
    Collections {
        /// A snapshot directory made by `taxii-edge build`.
        #[arg(required_unless_present = "url", conflicts_with = "url")]
        dir: Option<PathBuf>,
        /// A worker's URL: its current snapshot (the collections the credentials may read).
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        reader: ReaderArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a worker's server information: title, description, API roots, default API root, TAXII versions,
    /// the current snapshot.
    #[command(after_help = EXIT_CODES)]
    Info {
        /// The worker's URL.
        #[arg(long)]
        url: String,
        #[command(flatten)]
        reader: ReaderArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a collections configuration and inputs without writing anything: parse errors, bad records,
    /// per-collection counts. Exits 2 when anything is wrong.
    #[command(after_help = EXIT_CODES)]
    Validate {
        /// Collections in Cortex XSOAR's JSON form.
        #[arg(long)]
        config: PathBuf,
        /// Inputs, as for `build` (none: check the configuration only).
        #[arg(long = "input", num_args = 1..)]
        inputs: Vec<PathBuf>,
        /// The XSOAR customer string, as for `build` (collection ids).
        #[arg(long, default_value = "")]
        customer_string: String,
        /// As for `build`.
        #[arg(long, value_delimiter = ',')]
        as_indicator: Vec<String>,
        /// The time relative dates in queries are judged against (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
    /// Write N synthetic indicators of every XSOAR type (XSOAR indicator JSON), for demos and benchmarks.
    Generate {
        /// How many indicators.
        #[arg(long)]
        count: u64,
        /// Random seed: the same seed, count, --now and format give the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// json ({"iocs": [...]}, pretty) or jsonl (one compact indicator per line).
        #[arg(long, default_value = "jsonl")]
        format: edge_feed::generate::Format,
        /// The reference time (RFC 3339): timestamps fall in the year before it; default now.
        #[arg(long)]
        now: Option<String>,
    },
    /// Manage the readers of the TAXII_USERS secret (HTTP Basic or Bearer API key, per-collection access).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

/// Credentials for reading a worker's collections (none: public collections only).
#[derive(clap::Args)]
struct ReaderArgs {
    /// A reader's username (HTTP Basic), with --password.
    #[arg(long, requires = "password")]
    user: Option<String>,
    /// The reader's password.
    #[arg(long, env = "TAXII_EDGE_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// A reader's API key (Authorization: Bearer).
    #[arg(long, env = "TAXII_EDGE_API_KEY", hide_env_values = true, conflicts_with = "user")]
    api_key: Option<String>,
}

impl ReaderArgs {
    fn authorization(&self) -> Option<String> {
        use base64::Engine as _;
        match (&self.user, &self.password, &self.api_key) {
            (_, _, Some(k)) => Some(format!("Bearer {k}")),
            (Some(u), Some(p), _) => {
                Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))))
            }
            _ => None,
        }
    }
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user (or give one a new password), print its password once and the TAXII_USERS value to set.
    Add {
        /// The username (no ':').
        name: String,
        /// What the user may read: collection ids, titles or aliases, comma-separated, or "*" for all.
        #[arg(long)]
        collections: String,
        /// The users file to update (created if missing); without it, prints a one-user TAXII_USERS value.
        #[arg(long)]
        users: Option<PathBuf>,
        /// Read the password from standard input (e.g. to keep an XSOAR password) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// PBKDF2 iterations (each costs CPU on a user's first request per worker isolate).
        #[arg(long, default_value_t = edge_core::auth::password::DEFAULT_ITERATIONS)]
        iterations: u32,
    },
    /// Remove a user from a users file.
    Remove {
        name: String,
        #[arg(long)]
        users: PathBuf,
    },
    /// List the users of a users file and what they may read (and check the file).
    List {
        #[arg(long)]
        users: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Build {
            config,
            inputs,
            out,
            customer_string,
            as_indicator,
            previous,
            previous_url,
            token,
            skip_bad,
            now,
            keep_versions,
            stix,
        } => {
            let previous = match (previous, previous_url, token) {
                (Some(dir), _, _) => Previous::Dir(dir),
                (None, Some(url), Some(token)) => Previous::Worker(url, token),
                _ => Previous::None,
            };
            let keep = History::days(keep_versions);
            run_build(&config, &inputs, &out, &customer_string, as_indicator, (previous, keep), skip_bad, now, stix)
        }
        Command::Publish { dir, url, token, keep, no_prune } => run_publish(&dir, &url, &token, &keep, no_prune),
        Command::Prune { dir, url, token, keep, dry_run, now } => run_prune(dir, url, token, &keep, dry_run, now),
        Command::Collections { dir, url, reader, json } => run_collections(dir, url, &reader, json),
        Command::Info { url, reader, json } => run_info(&url, &reader, json),
        Command::Validate { config, inputs, customer_string, as_indicator, now } => {
            run_validate(&config, &inputs, &customer_string, as_indicator, now)
        }
        Command::Generate { count, seed, out, format, now } => run_generate(count, seed, out, format, now),
        Command::User { action } => run_user(action).map_err(Fail::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// Why a command failed and the exit code that tells scripts (see [`EXIT_CODES`]).
struct Fail {
    code: u8,
    message: String,
}

impl From<String> for Fail {
    /// An operation that failed: exit code 1.
    fn from(message: String) -> Fail {
        Fail { code: 1, message }
    }
}

/// Bad usage or bad input: exit code 2.
fn bad(message: impl Into<String>) -> Fail {
    Fail { code: 2, message: message.into() }
}

/// A progress bar on standard error, drawn only when it is a terminal (never in logs or pipes).
fn bar(len: u64, template: &str) -> ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(ProgressStyle::with_template(template).expect("valid template"));
    b
}

/// A spinner for a step of unknown length (drawn only on a terminal).
fn spinner(message: &str) -> ProgressBar {
    let b = bar(0, "{spinner} {msg} ({elapsed})");
    b.set_message(message.to_string());
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    b
}

fn parse_now(now: Option<String>) -> Result<Timestamp, Fail> {
    match now {
        Some(t) => Timestamp::parse(&t).map_err(|e| bad(format!("--now: {e}"))),
        None => Ok(now_utc()),
    }
}

/// Reads the collections configuration: a problem is bad input (exit 2).
fn read_config(config: &Path) -> Result<Vec<edge_feed::config::CollectionConfig>, Fail> {
    let text = std::fs::read_to_string(config).map_err(|e| bad(format!("cannot read {}: {e}", config.display())))?;
    parse_collections(&text).map_err(|e| bad(format!("{}: {e}", config.display())))
}

/// Reads every input with a spinner, rendering the indicators in batches as they are read (see [`Prepared`]):
/// one thread parses the inputs while the others render. A file that cannot be read at all is bad input
/// (exit 2). Returns how many indicators were read, the prepared ones and the bad records.
fn read_inputs(
    inputs: &[PathBuf],
    collections: &[edge_feed::config::CollectionConfig],
    render: &RenderOptions,
    now: Timestamp,
) -> Result<(usize, Prepared, Vec<RecordError>), Fail> {
    const BATCH: usize = 8192;
    let mut prepared = Prepared::new(collections, render, now);
    let spin = spinner("reading inputs");
    let (send, batches) = std::sync::mpsc::sync_channel::<Vec<edge_feed::indicator::Indicator>>(2);
    let got = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut batch = Vec::with_capacity(BATCH);
            let mut read = 0usize;
            let mut bad_records = Vec::new();
            for input in inputs {
                spin.set_message(format!("reading {}", input.display()));
                import_file_each(input, &mut |record| match record {
                    Ok(ind) => {
                        read += 1;
                        batch.push(ind);
                        if batch.len() == BATCH {
                            // A closed channel means the renderer stopped: the error comes from its side.
                            let _ = send.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                        }
                    }
                    Err(e) => bad_records.push(e),
                })?;
            }
            let _ = send.send(batch);
            drop(send);
            Ok::<_, RecordError>((read, bad_records))
        });
        for batch in batches {
            prepared.push(batch, collections, render);
        }
        reader.join().expect("the input reader panicked")
    });
    spin.finish_and_clear();
    let (read, bad_records) = got.map_err(|e| bad(e.to_string()))?;
    Ok((read, prepared, bad_records))
}

/// Reads every input whole with a spinner; a file that cannot be read at all is bad input (exit 2).
fn read_whole_inputs(inputs: &[PathBuf]) -> Result<(Vec<edge_feed::indicator::Indicator>, Vec<RecordError>), Fail> {
    let mut indicators = Vec::new();
    let mut bad_records = Vec::new();
    let spin = spinner("reading inputs");
    for input in inputs {
        spin.set_message(format!("reading {}", input.display()));
        let got = import_file(input).map_err(|e| {
            spin.finish_and_clear();
            bad(e.to_string())
        })?;
        indicators.extend(got.indicators);
        bad_records.extend(got.errors);
    }
    spin.finish_and_clear();
    Ok((indicators, bad_records))
}

/// How `build` renders STIX (the XSOAR integration's settings, where it has them).
#[derive(clap::Args)]
struct StixArgs {
    /// XSOAR fields to serve with each object (XSOAR "Extension fields"): empty for none, "all", or a comma list
    /// such as "sourcebrands,tags". STIX 2.1 carries them in a property-extension, 2.0 as x_xsoar_* properties.
    #[arg(long, default_value = "")]
    extension_fields: String,
    /// Serve expired indicators (expiration before the build time, or expirationStatus "expired") as revoked.
    #[arg(long)]
    revoke_expired: bool,
    /// Keep XSOAR's exact UUIDv5 ids over STIX 2.0 (invalid STIX 2.0, which wants UUIDv4) for consumers that
    /// already hold them; by default 2.0 ids are UUIDv4-shaped.
    #[arg(long)]
    xsoar_v20_ids: bool,
    /// The producer identity every object names in created_by_ref (served in every collection); "" for none.
    #[arg(long, default_value = "taxii-edge")]
    producer: String,
}

/// Where the previous snapshot is, whose object versions keep their date_added.
enum Previous {
    None,
    Dir(PathBuf),
    Worker(String, String),
}

fn now_utc() -> Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("the clock is after 1970");
    Timestamp(d.as_micros() as i64)
}

#[allow(clippy::too_many_arguments)]
fn run_build(
    config: &Path,
    inputs: &[PathBuf],
    out: &Path,
    customer: &str,
    as_indicator: Vec<String>,
    (previous, keep): (Previous, History),
    skip_bad: bool,
    now: Option<String>,
    stix: StixArgs,
) -> Result<(), Fail> {
    let started = std::time::Instant::now();
    let collections = read_config(config)?;
    let now = parse_now(now)?;
    let render = RenderOptions {
        namespace: ids::namespace_for(customer),
        as_indicator: as_indicator.into_iter().collect::<BTreeSet<_>>(),
        extension_fields: ExtensionFields::parse(&stix.extension_fields),
        revoke_expired: stix.revoke_expired,
        expired_as_of: Some(now),
        xsoar_v20_ids: stix.xsoar_v20_ids,
        producer: Some(stix.producer).filter(|p| !p.trim().is_empty()),
    };
    render.check().map_err(|e| bad(format!("--as-indicator: {e}")))?;
    let phase = std::time::Instant::now();
    let (read, prepared, mut bad_records) = read_inputs(inputs, &collections, &render, now)?;
    if std::env::var_os("TAXII_EDGE_TIMINGS").is_some() {
        eprintln!(
            "[timing] read and render: {:.2} s ({read} indicators, {})",
            phase.elapsed().as_secs_f64(),
            edge_feed::build::memory()
        );
    }
    let mut previous_dir = None;
    let previous = match previous {
        Previous::None => HashMap::new(),
        Previous::Dir(p) => {
            let dir = SnapshotDir::open(&p).map_err(bad)?;
            let state = dir::previous_state(&dir, &dir.file.manifest)?;
            previous_dir = Some(dir);
            state
        }
        Previous::Worker(url, token) => {
            let admin = Admin::new(&url, &token);
            match admin.current_manifest()? {
                Some(key) => dir::previous_state(&admin, &key)?,
                None => HashMap::new(),
            }
        }
    };
    // Blobs are written as they are made; bad records are reported (and fail the build) before any is written.
    let mut skipped = bad_records.len();
    let mut refused = false;
    let spin = spinner(&format!("writing {read} indicators"));
    let built = build_prepared_to_dir(prepared, &collections, &render, previous, keep, out, &mut |render_errors| {
        bad_records
            .extend(render_errors.iter().map(|e| RecordError { position: e.origin.clone(), reason: e.reason.clone() }));
        skipped = bad_records.len();
        spin.suspend(|| {
            for e in &bad_records {
                eprintln!("{}: {e}", if skip_bad { "skipped" } else { "bad record" });
            }
        });
        if !bad_records.is_empty() && !skip_bad {
            refused = true;
            return Err(format!(
                "{} bad records: fix them, or pass --skip-bad to build without them",
                bad_records.len()
            ));
        }
        Ok(())
    });
    spin.finish_and_clear();
    let built = built.map_err(|e| if refused { bad(e) } else { Fail::from(e) })?;
    if let Some(prev) = &previous_dir {
        dir::fill_from(out, prev)?;
    }
    say!("snapshot {} in {}", built.snapshot_id(), out.display());
    say!("{:<36}  {:<24} {:>9}  query", "id", "collection", "objects");
    for c in &built.manifest.collections {
        say!("{:<36}  {:<24} {:>9}  {}", c.id, c.title, c.count, c.query);
    }
    say!(
        "{} indicators read, {} skipped, {} collections, in {:.1} s",
        read,
        skipped,
        built.manifest.collections.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_publish(dir: &Path, url: &str, token: &str, keep: &str, no_prune: bool) -> Result<(), Fail> {
    let keep_us = edge_core::retention::parse_duration(keep).map_err(|e| bad(format!("--keep: {e}")))?;
    let snapshot = SnapshotDir::open(dir).map_err(bad)?;
    let started = std::time::Instant::now();
    let progress = bar(0, "uploading {bar:30} {pos}/{len} blobs ({eta} left)");
    let admin = Admin::new(url, token);
    let done = admin.publish(&snapshot, Some(keep), &|i, n| {
        progress.set_length(n as u64);
        progress.set_position(i as u64);
    });
    progress.finish_and_clear();
    let done = done?;
    say!(
        "published snapshot {} to {url}: {} of {} blobs uploaded ({}), now current, in {:.1} s",
        done.snapshot,
        done.uploaded,
        done.blobs,
        bytes(done.bytes_uploaded),
        started.elapsed().as_secs_f64()
    );
    if !no_prune {
        let pruned = prune_worker_with_progress(&admin, now_utc(), keep_us, false)
            .map_err(|e| format!("the publish succeeded, but pruning failed: {e}"))?;
        report_prune(&pruned, keep_us);
    }
    Ok(())
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}

fn prune_worker_with_progress(
    admin: &Admin,
    now: Timestamp,
    keep: i64,
    dry_run: bool,
) -> Result<edge_core::retention::Pruned, String> {
    let progress = bar(0, "{msg} {bar:30} {pos}/{len}");
    let out = crate::prune::prune_worker(admin, now, keep, dry_run, &|step, done, total| {
        progress.set_message(step.to_string());
        progress.set_length(total as u64);
        progress.set_position(done as u64);
    });
    progress.finish_and_clear();
    out
}

fn report_prune(p: &edge_core::retention::Pruned, keep: i64) {
    let keep = edge_core::retention::show_duration(keep);
    if !p.unreadable.is_empty() {
        for (snapshot, why) in &p.unreadable {
            eprintln!("warning: the retained snapshot {snapshot} cannot be read: {why}");
        }
        eprintln!(
            "warning: prune deleted nothing: the blobs an unreadable snapshot reaches cannot be told apart from \
             garbage. It leaves the retention window {keep} after it was replaced; prune then goes on (or prune \
             with a shorter --keep)."
        );
        return;
    }
    if p.dry_run {
        for k in &p.deleted {
            say!("would delete {k}");
        }
    }
    say!(
        "prune (keep {keep}): {} snapshot(s) retained ({}); {} blobs listed, {} reachable, {} recent kept; {} {} ({}){}",
        p.retained.len(),
        if p.retained.is_empty() { "nothing published".to_string() } else { p.retained.join(", ") },
        p.listed,
        p.kept_reachable,
        p.kept_recent,
        p.deleted.len(),
        if p.dry_run { "would be deleted (dry run: nothing deleted)" } else { "deleted" },
        bytes(p.bytes),
        if p.refused > 0 { format!("; {} refused: a newer snapshot reaches them", p.refused) } else { String::new() }
    );
}

fn run_prune(
    dir: Option<PathBuf>,
    url: Option<String>,
    token: Option<String>,
    keep: &str,
    dry_run: bool,
    now: Option<String>,
) -> Result<(), Fail> {
    let keep_us = edge_core::retention::parse_duration(keep).map_err(|e| bad(format!("--keep: {e}")))?;
    let now = parse_now(now)?;
    let pruned = match (dir, url, token) {
        (Some(dir), _, _) => {
            let snapshot = SnapshotDir::open(&dir).map_err(bad)?;
            edge_feed::snapshot_dir::prune_dir(&snapshot, now, keep_us, dry_run)?
        }
        (None, Some(url), Some(token)) => prune_worker_with_progress(&Admin::new(&url, &token), now, keep_us, dry_run)?,
        _ => return Err(bad("give a snapshot directory, or --url and --token")),
    };
    report_prune(&pruned, keep_us);
    if !pruned.unreadable.is_empty() {
        return Err(Fail::from(format!(
            "nothing was pruned: {} retained snapshot(s) cannot be read",
            pruned.unreadable.len()
        )));
    }
    Ok(())
}

/// GETs a worker's JSON with optional reader credentials; `accept` names the media type.
fn get_json(url: &str, reader: &ReaderArgs, accept: &str) -> Result<serde_json::Value, Fail> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let mut req = agent.get(url).header("Accept", accept);
    if let Some(auth) = reader.authorization() {
        req = req.header("Authorization", &auth);
    }
    let mut resp = req.call().map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().map_err(|e| format!("{url}: cannot read the answer: {e}"))?;
    match status {
        200 => serde_json::from_str(&text).map_err(|e| Fail::from(format!("{url} did not answer JSON: {e}"))),
        401 | 403 => Err(Fail::from(format!(
            "{url} answered {status}: give a reader's credentials (--user and --password, or --api-key)"
        ))),
        _ => Err(Fail::from(format!("{url} answered {status}: {}", text.chars().take(300).collect::<String>()))),
    }
}

fn run_collections(dir: Option<PathBuf>, url: Option<String>, reader: &ReaderArgs, json: bool) -> Result<(), Fail> {
    let (source, snapshot, collections) = match (dir, url) {
        (Some(dir), _) => {
            let snap = SnapshotDir::open(&dir).map_err(bad)?;
            let manifest = snap.manifest()?;
            let list = serde_json::to_value(&manifest.collections).expect("collections serialise");
            (dir.display().to_string(), serde_json::json!(snap.file.snapshot), list)
        }
        (None, Some(url)) => {
            let base = url.trim_end_matches('/');
            let status = get_json(&format!("{base}/api/status"), reader, "application/json")?;
            (base.to_string(), status["snapshot"]["id"].clone(), status["collections"].clone())
        }
        _ => return Err(bad("give a snapshot directory or --url")),
    };
    let list = collections.as_array().cloned().unwrap_or_default();
    if json {
        let out: Vec<serde_json::Value> = list
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c["id"], "title": c["title"], "description": c.get("description").cloned().unwrap_or_default(),
                    "query": c["query"], "count": c["count"], "types": c["types"],
                })
            })
            .collect();
        say!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "snapshot": snapshot, "collections": out }))
                .expect("JSON")
        );
        return Ok(());
    }
    say!("{:<36}  {:<24} {:>9}  query", "id", "title", "objects");
    for c in &list {
        say!(
            "{:<36}  {:<24} {:>9}  {}",
            c["id"].as_str().unwrap_or_default(),
            c["title"].as_str().unwrap_or_default(),
            c["count"].as_u64().unwrap_or_default(),
            c["query"].as_str().unwrap_or_default()
        );
    }
    let total: u64 = list.iter().filter_map(|c| c["count"].as_u64()).sum();
    match snapshot.as_str() {
        Some(id) => say!("{} collections, {total} objects, snapshot {id} ({source})", list.len()),
        None => say!("nothing published yet at {source}"),
    }
    Ok(())
}

fn run_info(url: &str, reader: &ReaderArgs, json: bool) -> Result<(), Fail> {
    let base = url.trim_end_matches('/');
    let status = get_json(&format!("{base}/api/status"), reader, "application/json")?;
    let versions: Vec<&str> = ["2.1", "2.0"].into_iter().filter(|v| status["discovery"][*v].is_string()).collect();
    // Discovery as a TAXII client sees it (the first version the server offers).
    let discovery_url = status["discovery"][versions.first().copied().unwrap_or("2.1")].as_str().unwrap_or_default();
    let accept = if versions.first() == Some(&"2.0") {
        "application/vnd.oasis.taxii+json; version=2.0"
    } else {
        "application/taxii+json;version=2.1"
    };
    let discovery = get_json(discovery_url, reader, accept)?;
    let info = serde_json::json!({
        "title": discovery["title"],
        "description": discovery.get("description").cloned().unwrap_or_default(),
        "default": discovery.get("default").cloned().unwrap_or_default(),
        "api_roots": discovery["api_roots"],
        "versions": versions,
        "discovery": status["discovery"],
        "snapshot": status["snapshot"],
    });
    if json {
        say!("{}", serde_json::to_string_pretty(&info).expect("JSON"));
        return Ok(());
    }
    say!("title:       {}", info["title"].as_str().unwrap_or_default());
    if let Some(d) = info["description"].as_str().filter(|d| !d.is_empty()) {
        say!("description: {d}");
    }
    say!("default:     {}", info["default"].as_str().unwrap_or("(none)"));
    for root in info["api_roots"].as_array().into_iter().flatten() {
        say!("api root:    {}", root.as_str().unwrap_or_default());
    }
    say!("versions:    TAXII {}", versions.join(", "));
    for v in &versions {
        say!("discovery:   {} (TAXII {v})", status["discovery"][*v].as_str().unwrap_or_default());
    }
    match status["snapshot"]["id"].as_str() {
        Some(id) => {
            say!("snapshot:    {id}, published {}", status["snapshot"]["published"].as_str().unwrap_or("(unknown)"))
        }
        None => say!("snapshot:    nothing published yet"),
    }
    Ok(())
}

fn run_validate(
    config: &Path,
    inputs: &[PathBuf],
    customer: &str,
    as_indicator: Vec<String>,
    now: Option<String>,
) -> Result<(), Fail> {
    let collections = read_config(config)?;
    let now = parse_now(now)?;
    let render = RenderOptions {
        namespace: ids::namespace_for(customer),
        as_indicator: as_indicator.into_iter().collect::<BTreeSet<_>>(),
        expired_as_of: Some(now),
        ..RenderOptions::default()
    };
    render.check().map_err(|e| bad(format!("--as-indicator: {e}")))?;
    let (indicators, mut problems) = read_whole_inputs(inputs)?;
    let records = indicators.len() + problems.len();
    let progress = bar(indicators.len() as u64, "checking {bar:30} {pos}/{len} indicators");
    let mut good = vec![true; indicators.len()];
    for (i, ind) in indicators.iter().enumerate() {
        if let Err(e) = edge_feed::stix::render_indicator(ind, &render) {
            good[i] = false;
            problems.push(RecordError { position: e.origin, reason: e.reason });
        }
        if i % 4096 == 0 {
            progress.set_position(i as u64);
        }
    }
    progress.finish_and_clear();
    for p in &problems {
        eprintln!("bad record: {p}");
    }
    say!("{:<36}  {:<24} {:>10}  query", "id", "collection", "indicators");
    for c in &collections {
        let n = indicators.iter().zip(&good).filter(|(ind, ok)| **ok && c.query.matches_at(ind, now)).count();
        say!("{:<36}  {:<24} {:>10}  {}", ids::collection_id(&render.namespace, &c.name), c.name, n, c.query_text);
    }
    say!(
        "{}: {} collections, {} inputs, {} records, {} bad; nothing written",
        if problems.is_empty() { "valid" } else { "INVALID" },
        collections.len(),
        inputs.len(),
        records,
        problems.len()
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(bad(format!("{} bad records (listed above)", problems.len())))
    }
}

fn run_generate(
    count: u64,
    seed: u64,
    out: Option<PathBuf>,
    format: edge_feed::generate::Format,
    now: Option<String>,
) -> Result<(), Fail> {
    use edge_feed::generate::{generate, Options};
    let now = parse_now(now)?;
    let opts = Options { count, seed, now, format };
    let summary = match &out {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            generate(&opts, std::io::BufWriter::with_capacity(1 << 20, file))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?
        }
        None => generate(&opts, std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock()))
            .map_err(|e| format!("cannot write to standard output: {e}"))?,
    };
    let types: Vec<String> = summary.per_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
    eprintln!("generated {} indicators: {}", summary.total(), types.join(", "));
    Ok(())
}

fn read_users(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn write_users(path: &Path, document: &str) -> Result<(), String> {
    std::fs::write(path, format!("{document}\n")).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn run_user(action: UserAction) -> Result<(), String> {
    use edge_feed::users as users_file;
    match action {
        UserAction::Add { name, collections, users, password_stdin, iterations } => {
            let text = match &users {
                Some(p) => read_users(p)?,
                None => String::new(),
            };
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map_err(|e| format!("cannot read the password: {e}"))?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let added = users_file::add(&text, &name, &collections, password, iterations).map_err(|e| {
                format!("{}{e}", users.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())
            })?;
            let verb = if added.replaced { "updated" } else { "added" };
            say!("{verb} user {name:?}, who may read: {collections}");
            if added.generated {
                say!("  password: {}", added.password);
                say!("  (shown once: give it to the user now; only its salted hash is kept)");
            } else if added.password.chars().count() < 16 {
                eprintln!("warning: a password of fewer than 16 characters can be guessed from its hash if the secret leaks; prefer a generated one");
            }
            if added.password.contains('.') {
                say!("  API key: none (the password contains '.'); use HTTP Basic");
            } else {
                say!(
                    "  API key (Authorization: Bearer …): {name}.{}",
                    if added.generated { added.password.as_str() } else { "<password>" }
                );
            }
            match &users {
                Some(p) => {
                    write_users(p, &added.document)?;
                    say!("wrote {} ({} bytes). Set it as the worker's secret:", p.display(), added.document.len());
                    say!("  npx wrangler secret put TAXII_USERS < {}", p.display());
                }
                None => {
                    say!("set the worker's secret (one user, all its access in one line):");
                    say!("  echo '{}' | npx wrangler secret put TAXII_USERS", added.document);
                }
            }
            say!("for a local run, this line in .dev.vars:");
            say!("  TAXII_USERS='{}'", added.document);
            if added.document.len() > 5000 {
                eprintln!("warning: TAXII_USERS is over 5 KB, the size Cloudflare allows one secret");
            }
            Ok(())
        }
        UserAction::Remove { name, users } => {
            let document =
                users_file::remove(&read_users(&users)?, &name).map_err(|e| format!("{}: {e}", users.display()))?;
            write_users(&users, &document)?;
            say!("removed user {name:?} from {}; set the secret again:", users.display());
            say!("  npx wrangler secret put TAXII_USERS < {}", users.display());
            Ok(())
        }
        UserAction::List { users } => {
            let lines = users_file::list(&read_users(&users)?).map_err(|e| format!("{}: {e}", users.display()))?;
            if lines.is_empty() {
                say!("no users in {}", users.display());
            }
            for l in lines {
                say!("{l}");
            }
            Ok(())
        }
    }
}
