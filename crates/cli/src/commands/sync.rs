//! `taxii-edge sync --config sync.toml [--once]`: keeps a worker current from where the indicators live. Each cycle
//! pulls every source, builds on the worker's snapshot, and publishes only when something changed (see
//! `crate::sync::cycle`); without `--once` it repeats every `interval`, keeping what each build prepared in memory
//! for the next (`edge_feed::build::Warm`). SIGINT or SIGTERM lets the cycle in progress finish (a second one
//! abandons it: a publish is atomic, so the feed stays whole) and then stops.
//! Exit codes: 0 published or nothing changed, 1 a source or the worker failed, 2 bad configuration.

use crate::admin_client::Admin;
use crate::fail::{bad, Fail};
use crate::sync::config::{self, ConfigError};
use crate::sync::cycle::{Cycle, Outcome};
use crate::sync::state::Lock;
use edge_feed::build::Warm;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The sync configuration (TOML): interval, collections, [publish], [build], [[source]].
    #[arg(long)]
    config: PathBuf,
    /// Run one cycle and exit.
    #[arg(long)]
    once: bool,
    /// Publish even when a source lost more than max_shrink of its records since the last cycle.
    #[arg(long)]
    allow_shrink: bool,
}

/// Set by SIGINT or SIGTERM: stop after the cycle in progress.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // A second signal abandons the cycle: the worker still serves a whole snapshot (publish is atomic).
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

fn catch_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only touches an atomic and calls _exit.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

impl From<ConfigError> for Fail {
    /// A configuration that cannot be used: exit code 2.
    fn from(e: ConfigError) -> Fail {
        bad(e.to_string())
    }
}

pub fn run(args: Args) -> Result<(), Fail> {
    let loaded = config::load(&args.config)?;
    crate::inputs::read_config(&loaded.collections)?;
    let token = config::env(&loaded.publish.token_env, "the worker's ADMIN_TOKEN")?;
    let build_args = config::build_args(&loaded)?;
    // The build options are checked once, before anything is pulled.
    let mut probe = vec!["--config".into(), "c".into(), "--out".into(), "o".into(), "--input".into(), "i".into()];
    probe.extend(build_args.iter().cloned());
    crate::commands::build::args_from(&probe).map_err(|e| bad(format!("{}: [build]: {e}", loaded.file.display())))?;
    let _lock = Lock::take(&loaded.state).map_err(Fail::from)?;
    let admin = Admin::new(&loaded.publish.url, &token);
    let cycle = Cycle {
        loaded: &loaded,
        admin: &admin,
        token: &token,
        build_args: &build_args,
        allow_shrink: args.allow_shrink,
    };
    catch_signals();
    // A sync that runs on keeps each build's prepared records in memory for the next (see Warm).
    let mut warm = (!args.once).then(Warm::default);
    loop {
        let started = Instant::now();
        let result = cycle.run(warm.as_mut());
        match &result {
            Ok(Outcome::Published { snapshot, uploaded, deleted }) => say!(
                "sync: published {snapshot} ({uploaded} blobs uploaded, {deleted} pruned) in {:.1} s",
                started.elapsed().as_secs_f64()
            ),
            Ok(Outcome::Unchanged { snapshot }) => {
                say!("sync: nothing changed, {snapshot} stays current ({:.1} s)", started.elapsed().as_secs_f64())
            }
            Err(e) => eprintln!("error: sync: {e}; the worker keeps serving its last good snapshot"),
        }
        if args.once {
            return result.map(|_| ()).map_err(|e| Fail::from(format!("sync: {e}")));
        }
        let interval = Duration::from_micros(loaded.interval_us.max(0) as u64);
        while started.elapsed() < interval {
            if STOP.load(Ordering::SeqCst) {
                say!("sync: stopped");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200).min(interval.saturating_sub(started.elapsed())));
        }
        if STOP.load(Ordering::SeqCst) {
            say!("sync: stopped");
            return Ok(());
        }
    }
}
