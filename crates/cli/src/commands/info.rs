//! `taxii-edge info`: a worker's server information as a TAXII client sees it (title, description, API roots,
//! default API root, TAXII versions) and its current snapshot (its age; for a synced feed, each source with when
//! it last synced and how many records it gave), as text or JSON.

use crate::fail::Fail;
use crate::taxii_reads::{get_json, ReaderArgs};

#[derive(clap::Args)]
pub struct Args {
    /// The worker's URL.
    #[arg(long)]
    url: String,
    #[command(flatten)]
    reader: ReaderArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<(), Fail> {
    let Args { url, reader, json } = args;
    let base = url.trim_end_matches('/');
    let status = get_json(&format!("{base}/api/status"), &reader, "application/json")?;
    let versions: Vec<&str> = ["2.1", "2.0"].into_iter().filter(|v| status["discovery"][*v].is_string()).collect();
    // Discovery as a TAXII client sees it (the first version the server offers).
    let discovery_url = status["discovery"][versions.first().copied().unwrap_or("2.1")].as_str().unwrap_or_default();
    let accept = if versions.first() == Some(&"2.0") {
        "application/vnd.oasis.taxii+json; version=2.0"
    } else {
        "application/taxii+json;version=2.1"
    };
    let discovery = get_json(discovery_url, &reader, accept)?;
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
            let published = status["snapshot"]["published"].as_str().unwrap_or("(unknown)");
            say!("snapshot:    {id}, published {published}{}", age(published))
        }
        None => say!("snapshot:    nothing published yet"),
    }
    for s in status["snapshot"]["sources"].as_array().into_iter().flatten() {
        let synced = s["synced"].as_str().unwrap_or("(unknown)");
        say!(
            "source {}: {} records, synced {synced}{}",
            s["name"].as_str().unwrap_or("?"),
            s["records"].as_u64().unwrap_or(0),
            age(synced)
        );
    }
    Ok(())
}

/// " (3 min ago)": how long ago an RFC 3339 time was, for people; empty when it does not parse.
fn age(when: &str) -> String {
    let Ok(t) = edge_core::time::Timestamp::parse(when) else { return String::new() };
    let secs = (crate::clock::now_utc().0 - t.0).max(0) / 1_000_000;
    match secs {
        s if s < 120 => format!(" ({s} s ago)"),
        s if s < 7200 => format!(" ({} min ago)", s / 60),
        s if s < 172_800 => format!(" ({} h ago)", s / 3600),
        s => format!(" ({} days ago)", s / 86_400),
    }
}
