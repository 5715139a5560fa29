//! `taxii-edge build`: a snapshot directory from indicator exports and a collection configuration, reusing the
//! object versions (and segments) of a previous snapshot, from a directory or a worker.

use crate::admin_client::Admin;
use crate::clock::parse_now;
use crate::fail::{bad, Fail};
use crate::inputs::{read_config, read_inputs};
use crate::progress::spinner;
use edge_feed::build::{build_prepared_to_dir, cache_key, BuildError, History, RecordCache, Warm};
use edge_feed::import::RecordError;
use edge_feed::snapshot_dir::{self as dir, SnapshotDir};
use edge_feed::stix::{ids, ExtensionFields, RenderOptions};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
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
    /// new and changed objects are written; the reused blobs are linked into --out). With --previous-url: a
    /// local copy of the worker's current snapshot (a directory a build on it wrote), read before the worker.
    #[arg(long)]
    previous: Option<PathBuf>,
    /// A worker whose current snapshot is the previous one (read through its admin path, with --token).
    /// The build writes only what the worker lacks; with --previous as well, also the manifest, indexes and id
    /// shards it reused (so the directory can be the next such build's --previous).
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
    /// A directory that keeps each input record's rendering between builds (created if missing): records of
    /// XSOAR JSON lines inputs that a build with the same configuration and program saw before are not parsed
    /// or rendered again. One build at a time per directory; `sync` keeps one in its state directory.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    #[command(flatten)]
    stix: StixArgs,
}

/// `build`'s arguments from a command line without the command's name (what `sync` builds with).
pub fn args_from(argv: &[String]) -> Result<Args, clap::Error> {
    #[derive(clap::Parser)]
    #[command(name = "taxii-edge build", no_binary_name = true)]
    struct Line {
        #[command(flatten)]
        args: Args,
    }
    <Line as clap::Parser>::try_parse_from(argv).map(|l| l.args)
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

/// What identifies this program's code for the record cache: its executable's bytes (a cache another build of
/// taxii-edge wrote is not used), or, when they cannot be read, the time (no cache is used).
fn program_identity() -> Vec<u8> {
    std::env::current_exe()
        .and_then(std::fs::read)
        .unwrap_or_else(|_| format!("{:?}", std::time::SystemTime::now()).into_bytes())
}

/// Where the previous snapshot is, whose object versions keep their date_added.
enum Previous {
    None,
    Dir(PathBuf),
    /// A worker, and maybe a local copy of its current snapshot.
    Worker(String, String, Option<PathBuf>),
}

pub fn run(args: Args) -> Result<(), Fail> {
    run_keeping(args, None, None)
}

/// Runs the build; with `warm` (a long-running sync's), the records it prepared are kept there for the next build,
/// which takes those it reads again from there instead of from the record cache's data. With `written`, each
/// blob's key is sent there once the blob is in `--out` (a sync uploads it while the build goes on).
pub fn run_keeping(
    args: Args,
    mut warm: Option<&mut Warm>,
    written: Option<std::sync::mpsc::Sender<String>>,
) -> Result<(), Fail> {
    let Args {
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
        cache,
        stix,
    } = args;
    let previous = match (previous, previous_url, token) {
        (local, Some(url), Some(token)) => Previous::Worker(url, token, local),
        (Some(dir), _, _) => Previous::Dir(dir),
        _ => Previous::None,
    };
    let keep = History::days(keep_versions);
    let started = std::time::Instant::now();
    let collections = read_config(&config)?;
    let now = parse_now(now)?;
    let render = RenderOptions {
        namespace: ids::namespace_for(&customer_string),
        as_indicator: as_indicator.into_iter().collect::<BTreeSet<_>>(),
        extension_fields: ExtensionFields::parse(&stix.extension_fields),
        revoke_expired: stix.revoke_expired,
        expired_as_of: Some(now),
        xsoar_v20_ids: stix.xsoar_v20_ids,
        producer: Some(stix.producer).filter(|p| !p.trim().is_empty()),
        ..RenderOptions::default()
    };
    render.check().map_err(|e| bad(format!("--as-indicator: {e}")))?;
    let phase = std::time::Instant::now();
    let steps = crate::timings::Phases::start("read:");
    let key = cache.as_ref().map(|_| cache_key(&collections, &render, now, &program_identity()));
    let record_cache = match (&cache, key) {
        (Some(dir), Some(key)) => {
            let kept = warm.as_deref_mut().and_then(Warm::take_index);
            Some(RecordCache::open(dir, key, kept).map_err(|e| Fail::from(e.to_string()))?)
        }
        _ => None,
    };
    if let Some(cache) = &record_cache {
        steps.mark(&format!("open the record cache ({} entries)", cache.len()));
    }
    let kept = match (warm.as_deref_mut(), key) {
        (Some(warm), Some(key)) => warm.take_records(key),
        _ => None,
    };
    let (read, prepared, mut bad_records, cached) =
        read_inputs(&inputs, &collections, &render, now, record_cache, kept)?;
    if std::env::var_os("TAXII_EDGE_TIMINGS").is_some() {
        eprintln!(
            "[timing] read and render: {:.2} s ({read} indicators, {})",
            phase.elapsed().as_secs_f64(),
            edge_feed::build::memory()
        );
    }
    if let (Some(dir), Some((stats, index))) = (&cache, cached) {
        if let Some(warm) = warm.as_deref_mut() {
            warm.keep_index(index);
        }
        let kept = if stats.kept > 0 { format!(" ({} of them kept in memory)", stats.kept) } else { String::new() };
        say!("record cache {}: {} records reused{kept}, {} read and rendered", dir.display(), stats.hits, stats.misses);
    }
    let phases = crate::timings::Phases::start("build:");
    let mut previous_dir = None;
    let mut built_on = None;
    let admin;
    let local_copy;
    let mut worker = None;
    let previous = match previous {
        Previous::None => HashMap::new(),
        Previous::Dir(p) => {
            let dir = SnapshotDir::open(&p).map_err(|e| bad(e.to_string()))?;
            let state = match warm.as_deref_mut().and_then(|w| w.take_previous(&dir.file.snapshot)) {
                Some(kept) => kept,
                None => dir::previous_state(&dir, &dir.file.manifest)?,
            };
            previous_dir = Some(dir);
            state
        }
        Previous::Worker(url, token, local) => {
            admin = Admin::new(&url, &token);
            local_copy = match local {
                Some(p) => Some(SnapshotDir::open(&p).map_err(|e| bad(e.to_string()))?),
                None => None,
            };
            let manifest = match &local_copy {
                // The caller knows the worker serves this copy's snapshot; the publish's compare-and-swap on it
                // (built_on) refuses the switch if it no longer does.
                Some(copy) => Some((copy.file.snapshot.clone(), copy.file.manifest.clone())),
                None => admin.pointer()?.map(|p| (p.snapshot, p.manifest)),
            };
            built_on = Some(dir::BuiltOn { snapshot: manifest.as_ref().map(|(s, _)| s.clone()), wrote: None });
            let layered = dir::Layered::new(local_copy.as_ref(), &admin);
            // What the last build of a sync that runs on made, when it is that snapshot: kept in memory.
            let kept = manifest.as_ref().and_then(|(s, _)| warm.as_deref_mut().and_then(|w| w.take_previous(s)));
            let state = match (kept, manifest) {
                (Some(kept), _) => {
                    if std::env::var_os("TAXII_EDGE_TIMINGS").is_some() {
                        eprintln!("[timing] the previous snapshot's indexes and id shards: kept in memory");
                    }
                    kept
                }
                (None, Some((_, m))) => dir::previous_state(&layered, &m)?,
                (None, None) => HashMap::new(),
            };
            worker = Some(layered);
            state
        }
    };
    phases.mark("read the previous snapshot's indexes and id shards");
    // Blobs are written as they are made; bad records are reported (and fail the build) before any is written.
    let mut skipped = bad_records.len();
    let spin = spinner(&format!("writing {read} indicators"));
    let keep_state = warm.is_some();
    let built = build_prepared_to_dir(
        &prepared,
        &collections,
        &render,
        previous,
        (keep, keep_state),
        (&out, written),
        &mut |render_errors| {
            bad_records.extend(
                render_errors.iter().map(|e| RecordError { position: e.origin.clone(), reason: e.reason.clone() }),
            );
            skipped = bad_records.len();
            spin.suspend(|| {
                for e in &bad_records {
                    eprintln!("{}: {e}", if skip_bad { "skipped" } else { "bad record" });
                }
            });
            if !bad_records.is_empty() && !skip_bad {
                return Err(BuildError::BadRecords { bad_records: bad_records.len() });
            }
            Ok(())
        },
    );
    spin.finish_and_clear();
    let mut built = built.map_err(|e| match e {
        BuildError::BadRecords { .. } => bad(e.to_string()),
        e => Fail::from(e.to_string()),
    })?;
    phases.mark("build the collections and write their blobs");
    if let Some(warm) = warm {
        if let Some(state) = built.state.take() {
            warm.keep_previous(built.snapshot_id().to_string(), state);
        }
        if let Some(key) = key {
            warm.keep_records(prepared, key);
        }
        phases.mark("keep the prepared records and the snapshot's state for the next build");
    }
    if let Some(on) = built_on.as_mut() {
        // What the build wrote, before the reused blobs are linked in beside it.
        let written = SnapshotDir::open(&out).map_err(|e| Fail::from(e.to_string()))?;
        let keys = written.keys().map_err(|e| Fail::from(e.to_string()))?;
        let mut wrote: Vec<String> = keys.into_iter().filter(|k| written.has_blob(k)).collect();
        wrote.sort();
        on.wrote = Some(wrote);
    }
    if let Some(prev) = &previous_dir {
        dir::fill_from(&out, prev)?;
    }
    if let Some(layered) = &worker {
        if layered.local.is_some() {
            dir::keep_read(&out, layered)?;
        }
        if std::env::var_os("TAXII_EDGE_TIMINGS").is_some() {
            eprintln!("[timing] blobs of the previous snapshot read from the worker: {}", layered.fetched());
        }
    }
    phases.mark("link the reused blobs into the directory");
    if built_on.is_some() {
        // Its publish replaces exactly the snapshot it was built on (see SnapshotFile::built_on).
        let mut file = SnapshotDir::open(&out).map_err(|e| Fail::from(e.to_string()))?.file;
        file.built_on = built_on;
        dir::write_snapshot_file(&out, &file)?;
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
