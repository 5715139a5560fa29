//! `taxii-edge validate`: check a collections configuration and inputs without writing anything (parse errors,
//! bad records, per-collection counts); problems found exit 2.

use crate::clock::parse_now;
use crate::fail::{bad, Fail};
use crate::inputs::{read_config, read_whole_inputs};
use crate::progress::bar;
use edge_feed::import::RecordError;
use edge_feed::stix::{ids, RenderOptions};
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
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
}

pub fn run(args: Args) -> Result<(), Fail> {
    let Args { config, inputs, customer_string, as_indicator, now } = args;
    let collections = read_config(&config)?;
    let now = parse_now(now)?;
    let render = RenderOptions {
        namespace: ids::namespace_for(&customer_string),
        as_indicator: as_indicator.into_iter().collect::<BTreeSet<_>>(),
        expired_as_of: Some(now),
        ..RenderOptions::default()
    };
    render.check().map_err(|e| bad(format!("--as-indicator: {e}")))?;
    let (indicators, mut problems) = read_whole_inputs(&inputs)?;
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
