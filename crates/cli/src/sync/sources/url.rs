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
    let (records, hash) = count(&input)?;
    Ok(Pulled { input, records, hash })
}

/// The records a file holds (good or bad), for the shrink check, and the file's hash when it was read whole here;
/// a file that cannot be read at all fails. In XSOAR JSON lines each line is a record, so they are counted without
/// being read (a million in well under a second), and the bytes are hashed as they pass; other files are read.
fn count(path: &Path) -> Result<(usize, Option<u128>), SourceError> {
    let fail = |e: edge_feed::import::RecordError| SourceError::Protocol(e.to_string());
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| fail(edge_feed::import::cannot_read(&name, e)))?;
    let mut hash = xxhash_rust::xxh3::Xxh3::new();
    let mut n = 0usize;
    let streamed = match edge_feed::import::open_lines_from(&name, Hashing { inner: file, hash: &mut hash }) {
        Ok(Some((lines, bom))) => {
            edge_feed::import::xsoar::for_each_line(&name, lines, bom, &mut |_, _| n += 1).map(|()| true)
        }
        Ok(None) => Ok(false),
        Err(e) => Err(e),
    };
    if streamed.map_err(fail)? {
        return Ok((n, Some(hash.digest128())));
    }
    edge_feed::import::import_file_each(path, &mut |_| n += 1).map_err(fail)?;
    Ok((n, None))
}

/// A reader that hashes the bytes it reads.
struct Hashing<'h, R> {
    inner: R,
    hash: &'h mut xxhash_rust::xxh3::Xxh3,
}

impl<R: std::io::Read> std::io::Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::state::file_hash;
    use edge_core::time::Timestamp;
    use edge_feed::generate::{generate, Format, Options};

    #[test]
    fn a_json_lines_file_is_counted_and_hashed_in_one_read_as_the_cycle_digest_hashes_it() {
        let dir = std::env::temp_dir().join(format!("taxii-edge-url-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("made");
        let mut lines = Vec::new();
        let options = Options { count: 400, seed: 5, now: Timestamp(1_767_225_600_000_000), format: Format::Jsonl };
        generate(&options, &mut lines).expect("generated");
        assert!(lines.len() > 64 * 1024, "long enough to be streamed");
        // A byte-order mark and a blank line: the hash is of the bytes, the count of the records.
        let mut bytes = b"\xef\xbb\xbf".to_vec();
        bytes.extend_from_slice(&lines);
        bytes.extend_from_slice(b"\n");
        let big = dir.join("feed.jsonl");
        std::fs::write(&big, &bytes).expect("written");
        let pulled = pull(big.to_str().expect("UTF-8"), &dir, "download").expect("pulled");
        assert_eq!(pulled.records, 400);
        assert_eq!(pulled.hash, Some(file_hash(&big).expect("hashed")), "what the digest would read");
        // A file read whole is not hashed here: the digest reads it.
        let small = dir.join("small.jsonl");
        std::fs::write(&small, lines.split(|&b| b == b'\n').next().expect("a line")).expect("written");
        let pulled = pull(small.to_str().expect("UTF-8"), &dir, "download").expect("pulled");
        assert_eq!((pulled.records, pulled.hash), (1, None));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
