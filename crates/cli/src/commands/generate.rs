//! `taxii-edge generate`: N synthetic indicators of every XSOAR type (XSOAR indicator JSON), for demos and
//! benchmarks; the same seed, count, --now and format give the same bytes.

use crate::clock::parse_now;
use crate::fail::Fail;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
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
}

pub fn run(args: Args) -> Result<(), Fail> {
    use edge_feed::generate::{generate, Options};
    let Args { count, seed, out, format, now } = args;
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
