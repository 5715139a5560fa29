//! Importers: TIP exports in, [`Indicator`] records out.
//!
//! Every importer reports each bad record with its position (file and index or line) and the reason; the
//! caller decides whether a bad record fails the build or is skipped and listed. Nothing is dropped silently.
//!
//! [`import_file`] picks the importer: by extension (`.csv`, `.tsv`; `.json`, `.jsonl`, `.ndjson`; `.stix`), else
//! by content (JSON starts with `[` or `{`; anything else is read as CSV with a header row); JSON that is a STIX
//! bundle or STIX objects (ids `<type>--<UUID>`) goes to the STIX importer.

pub mod csv;
pub mod stix;
pub mod xsoar;

use crate::indicator::Indicator;
use std::fmt;

/// A record an importer could not read: where it is and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// `file:[index]` (JSON list), `file:line` (JSON lines, CSV: the header is line 1), or `file` for a
    /// problem with the whole file.
    pub position: String,
    /// What is wrong and, where it helps, what to do.
    pub reason: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.reason)
    }
}

/// What an importer read from one input: the good records and the bad ones.
#[derive(Debug, Default)]
pub struct Imported {
    pub indicators: Vec<Indicator>,
    pub errors: Vec<RecordError>,
}

/// The input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// XSOAR indicator JSON: a list, `{"iocs": […]}`, one object, or JSON lines.
    Xsoar,
    /// CSV with a header row.
    Csv,
    /// STIX 2.1: a bundle, a list of objects, or JSON lines of objects.
    Stix,
}

impl Format {
    /// The format a file name's extension names, if it names one.
    pub fn from_name(name: &str) -> Option<Format> {
        let ext = std::path::Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" => Some(Format::Csv),
            "json" | "jsonl" | "ndjson" => Some(Format::Xsoar),
            "stix" => Some(Format::Stix),
            _ => None,
        }
    }

    /// The format the text looks like: JSON starts with `[` or `{`, anything else is taken for CSV.
    pub fn sniff(text: &str) -> Format {
        match text.trim_start_matches('\u{feff}').trim_start().chars().next() {
            Some('[' | '{') => Format::Xsoar,
            _ => Format::Csv,
        }
    }
}

/// A field name in XSOAR's CLI-name form: lower-case letters and digits only (`Threat Actor` → `threatactor`).
pub fn cli_name(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// A DBot score by number (0–3) or XSOAR name (Unknown or None, Good, Suspicious, Bad), ignoring case.
pub fn score_named(text: &str) -> Option<u8> {
    match text.trim().to_ascii_lowercase().as_str() {
        "0" | "unknown" | "none" => Some(0),
        "1" | "good" => Some(1),
        "2" | "suspicious" => Some(2),
        "3" | "bad" => Some(3),
        _ => None,
    }
}

/// Reads one input file, choosing the importer by extension and otherwise by content.
pub fn import_file(path: &std::path::Path) -> Result<Imported, RecordError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| RecordError { position: name.clone(), reason: format!("cannot read the file: {e}") })?;
    let text = decode(&name, bytes)?;
    import_text(&name, &text)
}

/// Reads one input file record by record, handing each indicator, or each bad record, to `each` in input order;
/// the result is the same as [`import_file`]'s. Large XSOAR JSON-lines files are streamed (the file's text is
/// never held whole, each record becomes an [`Indicator`] as it is read); other inputs are read whole. An error
/// for the whole file can come after some records were handed over: the caller then drops them.
pub fn import_file_each(
    path: &std::path::Path,
    each: &mut dyn FnMut(Result<Indicator, RecordError>),
) -> Result<(), RecordError> {
    let name = path.display().to_string();
    if let Some((reader, bom)) = open_lines(path)? {
        return xsoar::stream_lines(&name, reader, bom, each);
    }
    let got = import_file(path)?;
    got.indicators.into_iter().for_each(|i| each(Ok(i)));
    got.errors.into_iter().for_each(|e| each(Err(e)));
    Ok(())
}

/// The file as XSOAR JSON lines to stream, with the length of its byte-order mark, when it is one that can be
/// (see [`xsoar::streamable_lines`]); `None` for a file to read whole.
pub fn open_lines(path: &std::path::Path) -> Result<Option<(impl std::io::BufRead, usize)>, RecordError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| cannot_read(&name, e))?;
    open_lines_from(&name, file)
}

/// [`open_lines`] on the bytes of the file `name` as `file` gives them.
pub fn open_lines_from<'r>(
    name: &str,
    mut file: impl std::io::Read + 'r,
) -> Result<Option<(impl std::io::BufRead + 'r, usize)>, RecordError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(STREAM_HEAD);
    (&mut file).take(STREAM_HEAD as u64).read_to_end(&mut head).map_err(|e| cannot_read(name, e))?;
    if head.len() < STREAM_HEAD {
        return Ok(None);
    }
    Ok(xsoar::streamable_lines(name, &head)
        .map(|bom| (std::io::BufReader::with_capacity(1 << 20, std::io::Cursor::new(head).chain(file)), bom)))
}

/// The error for the file `name` that could not be read.
pub fn cannot_read(name: &str, e: std::io::Error) -> RecordError {
    RecordError { position: name.to_string(), reason: format!("cannot read the file: {e}") }
}

/// How much of a file is looked at to decide whether it can be streamed; smaller files are read whole.
const STREAM_HEAD: usize = 64 * 1024;

/// Reads one input's text; `name` (a file name) is used in positions and, by its extension, to pick the
/// importer.
pub fn import_text(name: &str, text: &str) -> Result<Imported, RecordError> {
    match Format::from_name(name).unwrap_or_else(|| Format::sniff(text)) {
        Format::Csv => csv::import_str(name, text),
        Format::Xsoar if stix::looks_like_stix(text) => stix::import_str(name, text),
        Format::Xsoar => xsoar::import_str(name, text.trim_start_matches('\u{feff}')),
        Format::Stix => stix::import_str(name, text),
    }
}

/// The file's text: UTF-8 (with or without a byte-order mark); anything else is refused with what to do.
fn decode(name: &str, bytes: Vec<u8>) -> Result<String, RecordError> {
    let whole = |reason: String| RecordError { position: name.to_string(), reason };
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(whole("the file is UTF-16 text: save it as UTF-8 (in Excel: \"CSV UTF-8\")".into()));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        whole(format!("the file is not UTF-8 text (first bad byte at line {line}, byte {}): save it as UTF-8", at + 1))
    })
}
