//! `taxii-edge collections`: the collections (ids, titles, queries, object counts) of a snapshot directory or a
//! live worker, as a table or JSON.

use crate::fail::{bad, Fail};
use crate::taxii_reads::{get_json, ReaderArgs};
use edge_feed::snapshot_dir::SnapshotDir;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
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
}

pub fn run(args: Args) -> Result<(), Fail> {
    let Args { dir, url, reader, json } = args;
    let (source, snapshot, collections) = match (dir, url) {
        (Some(dir), _) => {
            let snap = SnapshotDir::open(&dir).map_err(|e| bad(e.to_string()))?;
            let manifest = snap.manifest()?;
            let list = serde_json::to_value(&manifest.collections).expect("collections serialise");
            (dir.display().to_string(), serde_json::json!(snap.file.snapshot), list)
        }
        (None, Some(url)) => {
            let base = url.trim_end_matches('/');
            let status = get_json(&format!("{base}/api/status"), &reader, "application/json")?;
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
