//! The taxii-edge command line: build a snapshot from TIP exports, and publish it to a worker.
//!
//! This file parses the command line and runs the command (see [`commands`]); a failure prints `error: …` and
//! exits with the code its [`fail::Fail`] carries.

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

mod admin_client;
mod clock;
mod commands;
mod fail;
mod http;
mod inputs;
mod progress;
mod sync;
mod taxii_reads;
mod timings;

use clap::Parser;
use commands::{Command, EXIT_CODES};
use std::process::ExitCode;

/// A build allocates and frees millions of small strings on several threads: jemalloc does that in far less time
/// than the system's allocator, and keeps less memory than mimalloc did (docs/BENCHMARKS.md, the build).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options: return freed memory to the system on a background thread, not on the build's.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8; 23] = b"background_thread:true\0";

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

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Build(args) => commands::build::run(args),
        Command::Publish(args) => commands::publish::run(args),
        Command::Prune(args) => commands::prune::run(args),
        Command::Sync(args) => commands::sync::run(args),
        Command::Collections(args) => commands::collections::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::User(args) => commands::user::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
