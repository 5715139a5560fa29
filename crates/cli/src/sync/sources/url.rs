//! A file as a source: a CSV, XSOAR JSON (lines) or STIX file over HTTP(S), or a local path. A download is kept in
//! the state directory under a name whose extension tells the importers its format (from the URL, else sniffed).

use super::{refused, write_atomic, Pulled, SourceError};
use crate::http::{Http, Method};
use std::path::{Path, PathBuf};

/// Pulls the file at `url` (downloaded into `dir` as `<name>.<ext>`, or a local path read where it is).
pub fn pull(url: &str, dir: &Path, name: &str) -> Result<Pulled, SourceError> {
    let input = if url.starts_with("http://") || url.starts_with("https://") {
        let answer = Http::source().send(Method::Get, url, &[("Accept", "*/*")])?;
        if !(200..300).contains(&answer.status) {
            return Err(refused("the file", url, answer.status, &answer.body));
        }
        let path_part = url.split(['?', '#']).next().unwrap_or(url);
        let ext = match edge_feed::import::Format::from_name(path_part) {
            Some(_) => Path::new(path_part).extension().and_then(|e| e.to_str()).unwrap_or("json").to_string(),
            None => match edge_feed::import::Format::sniff(&String::from_utf8_lossy(
                &answer.body[..answer.body.len().min(64)],
            )) {
                edge_feed::import::Format::Csv => "csv".into(),
                _ => "json".into(),
            },
        };
        let file = dir.join(format!("{name}.{ext}"));
        write_atomic(&file, &answer.body)?;
        file
    } else {
        let path = PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
        if !path.is_file() {
            return Err(SourceError::Protocol(format!("{}: no such file", path.display())));
        }
        path
    };
    let records = count(&input)?;
    Ok(Pulled { input, records })
}

/// The records a file holds (good or bad), for the shrink check; a file that cannot be read at all fails. In XSOAR
/// JSON lines each line is a record, so they are counted without being read (a million in well under a second);
/// other files are read.
fn count(path: &Path) -> Result<usize, SourceError> {
    let fail = |e: edge_feed::import::RecordError| SourceError::Protocol(e.to_string());
    let mut n = 0usize;
    if let Some((lines, bom)) = edge_feed::import::open_lines(path).map_err(fail)? {
        let name = path.display().to_string();
        edge_feed::import::xsoar::for_each_line(&name, lines, bom, &mut |_, _| n += 1).map_err(fail)?;
        return Ok(n);
    }
    edge_feed::import::import_file_each(path, &mut |_| n += 1).map_err(fail)?;
    Ok(n)
}
