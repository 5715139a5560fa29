//! The CSV importer: one indicator per row, with a header row naming the columns.
//!
//! Column names are matched ignoring case, spaces, `_` and `-` (so `Indicator Type`, `indicator_type` and
//! `indicatortype` are the same column):
//!
//! | column | meaning |
//! |---|---|
//! | `value` | the indicator value (required) |
//! | `type` or `indicator_type` | the XSOAR type, e.g. `IP` (required) |
//! | `score`, `reputation` or `verdict` | 0–3 or Unknown/None, Good, Suspicious, Bad; empty is 0 |
//! | `tags` | tags separated by `,` or `;` inside the cell |
//! | `timestamp`, `created` or `firstSeen` | when first seen (STIX `created`) |
//! | `modified` | when last changed (the object's version) |
//! | `expiration` | when it expires |
//! | anything else (`description`, `sourceBrands`, custom fields) | a field, named by its XSOAR CLI name: lower-case letters and digits (`Threat Actor` → `threatactor`); `sourceBrands` and `sourceInstances` cells are lists like `tags` |
//!
//! At least one of `timestamp`/`created`/`firstSeen` and `modified` must be a column, and each row needs one of
//! them filled (as in the XSOAR importer: without a time the version is unknowable). Empty cells are "not set";
//! XSOAR's zero time `0001-01-01T00:00:00Z` too. The delimiter is `,`, or `;` or a tab when the header row uses
//! that instead. Rows are reported by line number, counting the header as line 1; a row whose cells are all
//! empty is not a record and is passed over.

use super::{cli_name, Imported, RecordError};
use crate::indicator::{created_and_modified, mirror_tags, Fields, Indicator};
use edge_core::time::{TimeError, Timestamp};
use serde_json::Value;

/// The role of a column.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Col {
    Value,
    Type,
    Score,
    Tags,
    Created,
    Modified,
    Expiration,
    /// Any other column: a field by CLI name; `list` splits the cell like tags.
    Field {
        name: String,
        list: bool,
    },
}

fn column_for(cli: &str) -> Col {
    match cli {
        "value" | "indicatorvalue" => Col::Value,
        "type" | "indicatortype" => Col::Type,
        "score" | "reputation" | "verdict" | "dbotscore" => Col::Score,
        "tags" => Col::Tags,
        "timestamp" | "created" | "firstseen" => Col::Created,
        "modified" => Col::Modified,
        "expiration" => Col::Expiration,
        other => Col::Field { name: other.to_string(), list: matches!(other, "sourcebrands" | "sourceinstances") },
    }
}

/// The display name of a role, for messages.
fn role_name(col: &Col) -> &str {
    match col {
        Col::Value => "value",
        Col::Type => "type",
        Col::Score => "score",
        Col::Tags => "tags",
        Col::Created => "timestamp",
        Col::Modified => "modified",
        Col::Expiration => "expiration",
        Col::Field { name, .. } => name,
    }
}

/// Reads indicators from CSV `text`; `name` is the file name used in positions.
pub fn import_str(name: &str, text: &str) -> Result<Imported, RecordError> {
    let whole = |reason: String| RecordError { position: name.to_string(), reason };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(whole(
            "the file is empty: a CSV input needs a header row (value,type,…) and one row per indicator".into(),
        ));
    }
    let delimiter = sniff_delimiter(text);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| whole(format!("cannot read the header row: {e}")))?.clone();
    let cols = columns(&header).map_err(|e| whole(e.to_string()))?;

    let mut out = Imported::default();
    let mut record = ::csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                let position = format!("{name}:{line}");
                if record.iter().all(str::is_empty) {
                    continue;
                }
                if record.len() != cols.len() {
                    let reason = format!(
                        "{} cells, but the header has {} columns (a cell that contains '{}' must be in double quotes)",
                        record.len(),
                        cols.len(),
                        char::from(delimiter)
                    );
                    out.errors.push(RecordError { position, reason });
                    continue;
                }
                match row(&cols, &header, &record, &position) {
                    Ok(ind) => out.indicators.push(ind),
                    Err(e) => out.errors.push(RecordError { position, reason: e.to_string() }),
                }
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                out.errors.push(RecordError { position: format!("{name}:{line}"), reason: format!("not CSV: {e}") });
                if !matches!(e.kind(), ::csv::ErrorKind::Utf8 { .. }) {
                    break; // the reader cannot resynchronise after an I/O or parse error
                }
            }
        }
    }
    Ok(out)
}

/// `,` unless the header row has more `;` or tabs than commas.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let count = |c: char| header.chars().filter(|&x| x == c).count();
    let (commas, semis, tabs) = (count(','), count(';'), count('\t'));
    if tabs > commas && tabs >= semis {
        b'\t'
    } else if semis > commas {
        b';'
    } else {
        b','
    }
}

/// What is wrong with a CSV header row or data row (the reason of its [`RecordError`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("column {0} of the header row has no name: name every column")]
    UnnamedColumn(usize),
    #[error("columns {first} and {second} of the header row are both \"{role}\": keep one")]
    DuplicateColumn { first: usize, second: usize, role: String },
    #[error("the header row has no \"value\" column (it has {found})")]
    NoValueColumn { found: String },
    #[error("the header row has no \"type\" (or \"indicator_type\") column for the XSOAR type (it has {found})")]
    NoTypeColumn { found: String },
    #[error(
        "the header row has neither a \"modified\" nor a \"timestamp\" column: without one an indicator's version \
         is unknowable (it has {found})"
    )]
    NoTimeColumn { found: String },
    #[error("the \"{column}\" cell is empty")]
    EmptyValue { column: String },
    #[error("the \"{column}\" cell is empty: give the XSOAR type, e.g. IP, Domain, URL, File")]
    EmptyType { column: String },
    /// Neither time cell of a row is set; the columns are the row's `timestamp` and `modified` columns, if any.
    #[error("{}: without a time the indicator's version is unknowable", empty_times(.created.as_deref(), .modified.as_deref()))]
    NoTime { created: Option<String>, modified: Option<String> },
    #[error("\"{column}\" must be 0, 1, 2, 3 or Unknown, Good, Suspicious, Bad, not \"{cell}\"")]
    Score { column: String, cell: String },
    #[error("\"{column}\": {reason}")]
    Time { column: String, reason: TimeError },
}

fn empty_times(created: Option<&str>, modified: Option<&str>) -> String {
    match (created, modified) {
        (Some(c), Some(m)) => format!("both \"{c}\" and \"{m}\" are empty"),
        (Some(one), None) | (None, Some(one)) => format!("\"{one}\" is empty"),
        (None, None) => "no time is given".to_string(),
    }
}

fn columns(header: &::csv::StringRecord) -> Result<Vec<Col>, CsvError> {
    let mut cols: Vec<Col> = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let cli = cli_name(raw);
        if cli.is_empty() {
            return Err(CsvError::UnnamedColumn(i + 1));
        }
        let col = column_for(&cli);
        if let Some(j) = cols.iter().position(|c| *c == col) {
            return Err(CsvError::DuplicateColumn { first: j + 1, second: i + 1, role: role_name(&col).to_string() });
        }
        cols.push(col);
    }
    let found = header.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", ");
    if !cols.contains(&Col::Value) {
        return Err(CsvError::NoValueColumn { found });
    }
    if !cols.contains(&Col::Type) {
        return Err(CsvError::NoTypeColumn { found });
    }
    if !cols.contains(&Col::Created) && !cols.contains(&Col::Modified) {
        return Err(CsvError::NoTimeColumn { found });
    }
    Ok(cols)
}

fn row(
    cols: &[Col],
    header: &::csv::StringRecord,
    record: &::csv::StringRecord,
    origin: &str,
) -> Result<Indicator, CsvError> {
    let mut value = String::new();
    let mut xsoar_type = String::new();
    let mut score = 0;
    let mut tags: Vec<String> = Vec::new();
    let (mut created, mut modified, mut expiration) = (None, None, None);
    let mut fields = Fields::new();
    let mut names = (None, None);
    for ((col, cell), head) in cols.iter().zip(record.iter()).zip(header.iter()) {
        match col {
            Col::Value => value = cell.to_string(),
            Col::Type => xsoar_type = cell.to_string(),
            Col::Score => score = score_of(head, cell)?,
            Col::Tags => tags = split_list(cell),
            Col::Created => {
                created = time_of(head, cell)?;
                names.0 = Some(head);
            }
            Col::Modified => {
                modified = time_of(head, cell)?;
                names.1 = Some(head);
            }
            Col::Expiration => expiration = time_of(head, cell)?,
            Col::Field { .. } if cell.is_empty() => {}
            Col::Field { name, list: true } => {
                fields.insert(name.clone(), Value::Array(split_list(cell).into_iter().map(Value::String).collect()));
            }
            Col::Field { name, list: false } => {
                fields.insert(name.clone(), Value::String(cell.to_string()));
            }
        }
    }
    if value.is_empty() {
        return Err(CsvError::EmptyValue { column: name_of(cols, header, &Col::Value).to_string() });
    }
    if xsoar_type.is_empty() {
        return Err(CsvError::EmptyType { column: name_of(cols, header, &Col::Type).to_string() });
    }
    let Some((created, modified)) = created_and_modified(created, modified) else {
        return Err(CsvError::NoTime { created: names.0.map(String::from), modified: names.1.map(String::from) });
    };
    mirror_tags(&mut fields, &tags);
    Ok(Indicator {
        value,
        xsoar_type,
        score,
        tags,
        created,
        modified,
        expiration,
        fields,
        relationships: vec![],
        origin: origin.to_string(),
    })
}

/// The header name of a column.
fn name_of<'a>(cols: &[Col], header: &'a ::csv::StringRecord, col: &Col) -> &'a str {
    cols.iter().position(|c| c == col).and_then(|i| header.get(i)).unwrap_or("")
}

/// A score cell: empty is 0, else 0–3 or an XSOAR name.
fn score_of(column: &str, cell: &str) -> Result<u8, CsvError> {
    match super::score_named(cell) {
        Some(s) => Ok(s),
        None if cell.trim().is_empty() => Ok(0),
        None => Err(CsvError::Score { column: column.to_string(), cell: cell.to_string() }),
    }
}

/// A time cell: empty or XSOAR's zero time is "not set".
fn time_of(column: &str, cell: &str) -> Result<Option<Timestamp>, CsvError> {
    if cell.is_empty() || cell.starts_with("0001-01-01") {
        return Ok(None);
    }
    Timestamp::parse(cell).map(Some).map_err(|reason| CsvError::Time { column: column.to_string(), reason })
}

/// Tags in one cell, separated by `,` or `;`, without empties or repeats.
fn split_list(cell: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in cell.split([',', ';']).map(str::trim).filter(|t| !t.is_empty()) {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}
