//! The taxii-edge command line: build a snapshot from TIP exports, and publish it to a worker.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use taxii_edge::config::parse_collections;
use taxii_edge::import::{import_file, RecordError};
use taxii_edge::publish::Admin;
use taxii_edge::snapshot::builder::{build_to_dir, BuildInput, History};
use taxii_edge::snapshot::dir::{self, SnapshotDir};
use taxii_edge::stix::{ids, ExtensionFields, RenderOptions};
use taxii_edge::time::Timestamp;

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

#[derive(Parser)]
#[command(name = "taxii-edge", version, about = "Build and publish TAXII feeds served by the taxii-edge worker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Build a snapshot directory from indicator exports and a collection configuration.
    Build {
        /// Collections in Cortex XSOAR's JSON form: {"name": "query"} or {"name": {"query": …, "description": …}}.
        #[arg(long)]
        config: PathBuf,
        /// Indicator exports: XSOAR indicator JSON (a list, {"iocs": […]}, or JSON lines) or CSV with a header row.
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
        #[arg(long, value_name = "DAYS", default_value_t = taxii_edge::snapshot::builder::DEFAULT_KEEP_VERSIONS_DAYS)]
        keep_versions: u32,
        #[command(flatten)]
        stix: StixArgs,
    },
    /// Upload a snapshot to a worker and make it current, in one atomic step.
    Publish {
        /// The snapshot directory made by `taxii-edge build`.
        dir: PathBuf,
        /// The worker's URL, e.g. http://127.0.0.1:8787 or https://feeds.example.com.
        #[arg(long)]
        url: String,
        /// The worker's ADMIN_TOKEN secret.
        #[arg(long, env = "TAXII_EDGE_ADMIN_TOKEN")]
        token: String,
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
        format: taxii_edge::generate::Format,
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
        #[arg(long, default_value_t = taxii_edge::auth::password::DEFAULT_ITERATIONS)]
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
        Command::Publish { dir, url, token } => run_publish(&dir, &url, &token),
        Command::Generate { count, seed, out, format, now } => run_generate(count, seed, out, format, now),
        Command::User { action } => run_user(action),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
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
) -> Result<(), String> {
    let text = std::fs::read_to_string(config).map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let collections = parse_collections(&text).map_err(|e| format!("{}: {e}", config.display()))?;
    let mut indicators = Vec::new();
    let mut bad: Vec<RecordError> = Vec::new();
    for input in inputs {
        let got = import_file(input).map_err(|e| e.to_string())?;
        indicators.extend(got.indicators);
        bad.extend(got.errors);
    }
    let now = match now {
        Some(t) => Timestamp::parse(&t).map_err(|e| format!("--now: {e}"))?,
        None => now_utc(),
    };
    let render = RenderOptions {
        namespace: ids::namespace_for(customer),
        as_indicator: as_indicator.into_iter().collect::<BTreeSet<_>>(),
        extension_fields: ExtensionFields::parse(&stix.extension_fields),
        revoke_expired: stix.revoke_expired,
        expired_as_of: Some(now),
        xsoar_v20_ids: stix.xsoar_v20_ids,
        producer: Some(stix.producer).filter(|p| !p.trim().is_empty()),
    };
    render.check().map_err(|e| format!("--as-indicator: {e}"))?;
    let mut previous_dir = None;
    let previous = match previous {
        Previous::None => HashMap::new(),
        Previous::Dir(p) => {
            let dir = SnapshotDir::open(&p)?;
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
    let mut skipped = bad.len();
    let built = build_to_dir(
        &BuildInput { collections: &collections, indicators: &indicators, render: &render, now, previous: &previous },
        keep,
        out,
        &mut |render_errors| {
            bad.extend(
                render_errors.iter().map(|e| RecordError { position: e.origin.clone(), reason: e.reason.clone() }),
            );
            skipped = bad.len();
            for e in &bad {
                eprintln!("{}: {e}", if skip_bad { "skipped" } else { "bad record" });
            }
            if !bad.is_empty() && !skip_bad {
                return Err(format!("{} bad records: fix them, or pass --skip-bad to build without them", bad.len()));
            }
            Ok(())
        },
    )?;
    if let Some(prev) = &previous_dir {
        dir::fill_from(out, prev)?;
    }
    say!("snapshot {} in {}", built.snapshot_id(), out.display());
    say!("{:<36}  {:<24} {:>9}  query", "id", "collection", "objects");
    for c in &built.manifest.collections {
        say!("{:<36}  {:<24} {:>9}  {}", c.id, c.title, c.count, c.query);
    }
    say!("{} indicators read, {} skipped", indicators.len(), skipped);
    Ok(())
}

fn run_publish(dir: &Path, url: &str, token: &str) -> Result<(), String> {
    let snapshot = SnapshotDir::open(dir)?;
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("uploading {bar:30} {pos}/{len} blobs").expect("valid template"));
    let admin = Admin::new(url, token);
    let done = admin.publish(&snapshot, &|i, n| {
        bar.set_length(n as u64);
        bar.set_position(i as u64);
    })?;
    bar.finish_and_clear();
    say!(
        "published snapshot {} to {url}: {} of {} blobs uploaded ({} bytes), now current",
        done.snapshot,
        done.uploaded,
        done.blobs,
        done.bytes_uploaded
    );
    Ok(())
}

fn run_generate(
    count: u64,
    seed: u64,
    out: Option<PathBuf>,
    format: taxii_edge::generate::Format,
    now: Option<String>,
) -> Result<(), String> {
    use taxii_edge::generate::{generate, Options};
    let now = match now {
        Some(t) => Timestamp::parse(&t).map_err(|e| format!("--now: {e}"))?,
        None => now_utc(),
    };
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
    use taxii_edge::auth::users_file;
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
