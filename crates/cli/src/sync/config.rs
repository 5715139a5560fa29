//! `sync.toml`: what `taxii-edge sync` pulls, how it builds and where it publishes. Secrets are never in the file:
//! it names the environment variables that hold them (`token_env`, `api_key_env`, …). Relative paths are read
//! from the configuration file's directory.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Why the configuration cannot be used: bad configuration, exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", .path.display())]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("{}: interval: {source}", .path.display())]
    Interval { path: PathBuf, source: edge_core::duration::DurationError },
    #[error("{}: [publish] keep: {source}", .path.display())]
    Keep { path: PathBuf, source: edge_core::duration::DurationError },
    #[error("{}: max_shrink must be a percentage from 0 to 100, such as 50 or \"50%\"", .path.display())]
    MaxShrink { path: PathBuf },
    #[error("{}: give at least one [[source]]", .path.display())]
    NoSources { path: PathBuf },
    #[error("{}: two sources are named {name:?}: give each a distinct `name`", .path.display())]
    DuplicateName { path: PathBuf, name: String },
    #[error("the environment variable {name} ({what}) is not set: export it (secrets are never in sync.toml)")]
    MissingEnv { name: String, what: String },
    #[error("{}: [build] {key}: {why}", .path.display())]
    BuildOption { path: PathBuf, key: String, why: String },
}

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// How long between cycles, e.g. "5m".
    #[serde(default = "default_interval")]
    pub interval: String,
    /// The XSOAR "Collection JSON", as for `build --config`.
    pub collections: PathBuf,
    /// Where sources keep what they pulled between cycles (TAXII objects and `added_after`, record counts);
    /// default `<config file's directory>/.taxii-edge-sync`.
    #[serde(default)]
    pub state: Option<PathBuf>,
    /// The largest drop of one source's record count against the previous cycle that is published: 50 or "50%".
    #[serde(default)]
    pub max_shrink: Option<toml::Value>,
    pub publish: PublishConfig,
    /// Any `build` option by its long name (`as_indicator = ["ipv4-addr"]`, `skip_bad = true`, …).
    #[serde(default)]
    pub build: toml::Table,
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
}

fn default_interval() -> String {
    "5m".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    pub url: String,
    #[serde(default = "default_token_env")]
    pub token_env: String,
    #[serde(default = "default_keep")]
    pub keep: String,
}

fn default_token_env() -> String {
    "TAXII_EDGE_ADMIN_TOKEN".into()
}

fn default_keep() -> String {
    edge_core::retention::DEFAULT_KEEP.into()
}

/// One `[[source]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceConfig {
    /// Cortex XSOAR 6 (API key) or 8 / XSIAM (API key and key id), through `POST /indicators/search`.
    Xsoar {
        name: Option<String>,
        url: String,
        api_key_env: String,
        auth_id_env: Option<String>,
        #[serde(default)]
        query: String,
    },
    /// A TAXII 2.1 or 2.0 collection, pulled incrementally.
    Taxii {
        name: Option<String>,
        url: String,
        collection: String,
        user_env: Option<String>,
        password_env: Option<String>,
    },
    /// A CSV, XSOAR JSON (lines) or STIX file over HTTP(S), or a local path.
    Url { name: Option<String>, url: String },
}

impl SourceConfig {
    /// The source's name in reports, state and `/api/status`: its `name`, else `<type>-<n>` (n from 1).
    pub fn name(&self, n: usize) -> String {
        let (given, kind) = match self {
            SourceConfig::Xsoar { name, .. } => (name, "xsoar"),
            SourceConfig::Taxii { name, .. } => (name, "taxii"),
            SourceConfig::Url { name, .. } => (name, "url"),
        };
        given.clone().unwrap_or_else(|| format!("{kind}-{n}"))
    }
}

/// The configuration, checked, with paths resolved.
#[derive(Debug)]
pub struct Loaded {
    pub file: PathBuf,
    pub interval_us: i64,
    pub keep_us: i64,
    pub collections: PathBuf,
    pub state: PathBuf,
    /// The largest accepted drop, as a fraction (0.5 for 50%).
    pub max_shrink: f64,
    pub publish: PublishConfig,
    pub build: toml::Table,
    /// Each source with its name.
    pub sources: Vec<(String, SourceConfig)>,
}

/// Reads and checks `sync.toml`.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    let c: SyncConfig = toml::from_str(&text)
        .map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source: Box::new(source) })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let interval_us = edge_core::duration::parse_duration(&c.interval)
        .map_err(|source| ConfigError::Interval { path: path.to_path_buf(), source })?;
    let keep_us = edge_core::duration::parse_duration(&c.publish.keep)
        .map_err(|source| ConfigError::Keep { path: path.to_path_buf(), source })?;
    let max_shrink = match &c.max_shrink {
        None => 0.5,
        Some(v) => percent(v).ok_or_else(|| ConfigError::MaxShrink { path: path.to_path_buf() })?,
    };
    if c.sources.is_empty() {
        return Err(ConfigError::NoSources { path: path.to_path_buf() });
    }
    let mut sources: Vec<(String, SourceConfig)> = Vec::new();
    for (i, s) in c.sources.into_iter().enumerate() {
        let name = s.name(i + 1);
        if sources.iter().any(|(n, _)| *n == name) {
            return Err(ConfigError::DuplicateName { path: path.to_path_buf(), name });
        }
        let s = match s {
            SourceConfig::Url { name: n, url } if !url.contains("://") => {
                SourceConfig::Url { name: n, url: base.join(url).display().to_string() }
            }
            s => s,
        };
        sources.push((name, s));
    }
    Ok(Loaded {
        file: path.to_path_buf(),
        interval_us,
        keep_us,
        collections: base.join(&c.collections),
        state: base.join(c.state.unwrap_or_else(|| PathBuf::from(".taxii-edge-sync"))),
        max_shrink,
        publish: c.publish,
        build: c.build,
        sources,
    })
}

/// 50, 50.0, "50" or "50%" → 0.5.
fn percent(v: &toml::Value) -> Option<f64> {
    let n = match v {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        toml::Value::String(s) => s.trim().trim_end_matches('%').trim().parse().ok()?,
        _ => return None,
    };
    (0.0..=100.0).contains(&n).then_some(n / 100.0)
}

/// The value of the environment variable `name` (`what` says what it is for in the error).
pub fn env(name: &str, what: &str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConfigError::MissingEnv { name: name.to_string(), what: what.to_string() })
}

/// The `[build]` table as `build` arguments: `key = true` → `--key`, `key = false` → nothing, a list → one
/// comma-joined value, anything else → `--key value` (underscores become hyphens). `customer_string_env` reads the
/// customer string from the environment. Options sync sets itself (config, input, out, previous, cache…) are refused.
pub fn build_args(loaded: &Loaded) -> Result<Vec<String>, ConfigError> {
    const OWN: [&str; 8] = ["config", "input", "out", "previous", "previous_url", "token", "now", "cache"];
    let mut out = Vec::new();
    for (key, value) in &loaded.build {
        let bad = |why: &str| ConfigError::BuildOption { path: loaded.file.clone(), key: key.clone(), why: why.into() };
        if OWN.contains(&key.as_str()) {
            return Err(bad("sync sets this itself"));
        }
        if key == "customer_string_env" {
            let name = value.as_str().ok_or_else(|| bad("give the name of an environment variable"))?;
            out.push("--customer-string".to_string());
            out.push(env(name, "the XSOAR customer string")?);
            continue;
        }
        let flag = format!("--{}", key.replace('_', "-"));
        match value {
            toml::Value::Boolean(true) => out.push(flag),
            toml::Value::Boolean(false) => {}
            toml::Value::Array(items) => {
                let parts: Option<Vec<String>> = items.iter().map(scalar).collect();
                out.push(flag);
                out.push(parts.ok_or_else(|| bad("a list of strings or numbers"))?.join(","));
            }
            v => {
                out.push(flag);
                out.push(scalar(v).ok_or_else(|| bad("a string, number, boolean or list"))?);
            }
        }
    }
    Ok(out)
}

fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Loaded, ConfigError> {
        let dir = std::env::temp_dir().join(format!("sync-config-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sync.toml");
        std::fs::write(&path, text).unwrap();
        load(&path)
    }

    const MINIMAL: &str = "collections = \"c.json\"\n[publish]\nurl = \"http://w\"\n";

    #[test]
    fn defaults_and_paths() {
        let l = load_text(&format!("{MINIMAL}[[source]]\ntype = \"url\"\nurl = \"feed.csv\"\n")).unwrap();
        assert_eq!(l.interval_us, 300 * 1_000_000);
        assert_eq!(l.max_shrink, 0.5);
        assert_eq!(l.publish.token_env, "TAXII_EDGE_ADMIN_TOKEN");
        assert_eq!(l.sources[0].0, "url-1");
        let base = l.file.parent().unwrap();
        assert_eq!(l.collections, base.join("c.json"));
        assert_eq!(l.state, base.join(".taxii-edge-sync"));
        match &l.sources[0].1 {
            SourceConfig::Url { url, .. } => assert_eq!(url, &base.join("feed.csv").display().to_string()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_configurations_say_what_is_wrong() {
        let err = |t: &str| load_text(t).unwrap_err().to_string();
        assert!(err(MINIMAL).contains("give at least one [[source]]"));
        assert!(err(&format!("interval = \"soon\"\n{MINIMAL}[[source]]\ntype = \"url\"\nurl = \"a\"\n"))
            .contains("interval"));
        assert!(err(&format!("max_shrink = 150\n{MINIMAL}[[source]]\ntype = \"url\"\nurl = \"a\"\n"))
            .contains("max_shrink"));
        assert!(err(&format!("{MINIMAL}[[source]]\ntype = \"ftp\"\nurl = \"a\"\n")).contains("unknown variant"));
        assert!(err(&format!("{MINIMAL}[[source]]\ntype = \"xsoar\"\nurl = \"a\"\napi_key = \"secret\"\n"))
            .contains("unknown field `api_key`"));
        let twice = format!("{MINIMAL}[[source]]\ntype = \"url\"\nname = \"x\"\nurl = \"a\"\n[[source]]\ntype = \"url\"\nname = \"x\"\nurl = \"b\"\n");
        assert!(err(&twice).contains("two sources are named \"x\""));
    }

    #[test]
    fn max_shrink_and_build_options() {
        for (v, want) in [("25", 0.25), ("\"25%\"", 0.25), ("0", 0.0), ("100.0", 1.0)] {
            let l =
                load_text(&format!("max_shrink = {v}\n{MINIMAL}[[source]]\ntype = \"url\"\nurl = \"a\"\n")).unwrap();
            assert_eq!(l.max_shrink, want, "{v}");
        }
        let l = load_text(&format!(
            "{MINIMAL}[build]\nas_indicator = [\"ipv4-addr\", \"domain-name\"]\nskip_bad = true\nrevoke_expired = false\n\
             keep_versions = 7\n[[source]]\ntype = \"url\"\nurl = \"a\"\n"
        ))
        .unwrap();
        assert_eq!(
            build_args(&l).unwrap(),
            ["--as-indicator", "ipv4-addr,domain-name", "--keep-versions", "7", "--skip-bad"]
        );
        let own =
            load_text(&format!("{MINIMAL}[build]\nout = \"x\"\n[[source]]\ntype = \"url\"\nurl = \"a\"\n")).unwrap();
        assert!(build_args(&own).unwrap_err().to_string().contains("sync sets this itself"));
    }
}
