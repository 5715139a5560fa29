//! Reading what `build` and `validate` check: the collections configuration and the indicator inputs. A file
//! that cannot be read at all is bad input (exit 2); bad records are returned for the command to report.

use crate::fail::{bad, Fail};
use crate::progress::spinner;
use edge_core::time::Timestamp;
use edge_feed::build::{CacheLookup, CacheStats, Item, KeptIndex, Prepared, RecordCache, WarmRecords};
use edge_feed::config::{parse_collections, CollectionConfig};
use edge_feed::import::{self as import, import_file, import_file_each, xsoar, RecordError};
use edge_feed::indicator::Indicator;
use edge_feed::stix::RenderOptions;
use std::path::{Path, PathBuf};

/// Reads the collections configuration: a problem is bad input (exit 2).
pub fn read_config(config: &Path) -> Result<Vec<CollectionConfig>, Fail> {
    let text = std::fs::read_to_string(config).map_err(|e| bad(format!("cannot read {}: {e}", config.display())))?;
    parse_collections(&text).map_err(|e| bad(format!("{}: {e}", config.display())))
}

/// What a build's record cache gave, and its index as the build wrote it (for a sync's next build).
pub type FromCache = (CacheStats, KeptIndex);

/// Reads every input with a spinner, rendering the indicators in batches as they are read (see [`Prepared`]):
/// one thread parses the inputs while the others render. With a record cache, the records of XSOAR JSON lines
/// inputs that it holds are taken from it and only the others are parsed and rendered (see
/// [`edge_feed::build::RecordCache`]), or from `warm` (what a long-running sync kept of its last build) instead of
/// the cache's data when it holds them; the cache is written back once every input is read. A file that cannot be read
/// at all is bad input (exit 2). Returns how many indicators were read, the prepared ones, the bad records, and
/// what the cache gave with its index as written (for a sync's next build).
pub fn read_inputs(
    inputs: &[PathBuf],
    collections: &[CollectionConfig],
    render: &RenderOptions,
    now: Timestamp,
    cache: Option<RecordCache>,
    warm: Option<WarmRecords>,
) -> Result<(usize, Prepared, Vec<RecordError>, Option<FromCache>), Fail> {
    let mut prepared = Prepared::new(collections, render, now);
    // About as many records as the last build read (their lists would otherwise be moved as they grow).
    prepared.reserve(cache.as_ref().map_or(0, RecordCache::len));
    let mut warm = warm;
    if let Some(kept) = warm.as_mut() {
        prepared.reuse_relationships(kept.take_relationships());
    }
    let (mut lookup, mut writer) = match cache.map(|c| c.split(warm)).transpose() {
        Ok(Some((lookup, writer))) => (Some(lookup), Some(writer)),
        Ok(None) => (None, None),
        Err(e) => return Err(Fail::from(e.to_string())),
    };
    let steps = crate::timings::Phases::start("read:");
    let spin = spinner("reading inputs");
    let (send, batches) = std::sync::mpsc::sync_channel::<Batch>(2);
    let mut failed_cache = None;
    let mut late_bad = Vec::new();
    let got = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reading = Reading {
                send,
                batch: Vec::new(),
                items: Vec::new(),
                input: String::new(),
                read: 0,
                bad_records: Vec::new(),
            };
            for input in inputs {
                spin.set_message(format!("reading {}", input.display()));
                let lines = if lookup.is_some() { import::open_lines(input)? } else { None };
                match (&mut lookup, lines) {
                    (Some(lookup), Some((lines, bom))) => reading.lines(input, lines, bom, lookup)?,
                    _ => import_file_each(input, &mut |record| reading.record(record))?,
                }
            }
            Ok::<_, RecordError>(reading.finish())
        });
        for batch in batches {
            match batch {
                Batch::Indicators(inds) => prepared.push(inds, collections, render),
                Batch::Items(input, items) => {
                    let Some(writer) = writer.as_mut().filter(|_| failed_cache.is_none()) else { continue };
                    match prepared.push_items(&input, items, collections, render, writer) {
                        Ok(bad) => late_bad.extend(bad),
                        Err(e) => failed_cache = Some(e),
                    }
                }
            }
        }
        reader.join().expect("the input reader panicked")
    });
    spin.finish_and_clear();
    let (read, mut bad_records) = got.map_err(|e| bad(e.to_string()))?;
    if let Some(e) = failed_cache {
        return Err(Fail::from(e.to_string()));
    }
    let read = read - late_bad.len();
    bad_records.extend(late_bad);
    steps.mark("the inputs' records");
    let committed = match (writer, lookup) {
        (Some(writer), Some(lookup)) => {
            let committed = writer.commit(lookup.into_index()).map_err(|e| Fail::from(e.to_string()))?;
            steps.mark("write the record cache's index");
            Some(committed)
        }
        _ => None,
    };
    Ok((read, prepared, bad_records, committed))
}

/// Records on their way from the reading thread to the rendering one: indicators, or (from a cache) items of
/// one input with their line numbers.
enum Batch {
    Indicators(Vec<Indicator>),
    Items(String, Vec<(usize, Item)>),
}

/// The reading thread's side of [`read_inputs`].
struct Reading {
    send: std::sync::mpsc::SyncSender<Batch>,
    batch: Vec<Indicator>,
    items: Vec<(usize, Item)>,
    /// The input the items are from.
    input: String,
    read: usize,
    bad_records: Vec<RecordError>,
}

impl Reading {
    const BATCH: usize = 8192;

    fn record(&mut self, record: Result<Indicator, RecordError>) {
        match record {
            Ok(ind) => {
                self.read += 1;
                self.batch.push(ind);
                if self.batch.len() == Self::BATCH {
                    // A closed channel means the renderer stopped: the error comes from its side.
                    let _ = self.send.send(Batch::Indicators(std::mem::take(&mut self.batch)));
                }
            }
            Err(e) => self.bad_records.push(e),
        }
    }

    /// An XSOAR JSON lines input, each line looked up in the cache.
    fn lines(
        &mut self,
        input: &Path,
        lines: impl std::io::BufRead,
        bom: usize,
        lookup: &mut CacheLookup,
    ) -> Result<(), RecordError> {
        self.flush();
        let name = input.display().to_string();
        self.input = name.clone();
        xsoar::for_each_line(&name, lines, bom, &mut |number, line| {
            self.read += 1;
            self.items.push((number, lookup.get(line)));
            if self.items.len() == Self::BATCH {
                let _ = self.send.send(Batch::Items(self.input.clone(), std::mem::take(&mut self.items)));
            }
        })?;
        self.flush();
        Ok(())
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let _ = self.send.send(Batch::Indicators(std::mem::take(&mut self.batch)));
        }
        if !self.items.is_empty() {
            let _ = self.send.send(Batch::Items(self.input.clone(), std::mem::take(&mut self.items)));
        }
    }

    fn finish(mut self) -> (usize, Vec<RecordError>) {
        self.flush();
        (self.read, self.bad_records)
    }
}

/// Reads every input whole with a spinner; a file that cannot be read at all is bad input (exit 2).
pub fn read_whole_inputs(inputs: &[PathBuf]) -> Result<(Vec<Indicator>, Vec<RecordError>), Fail> {
    let mut indicators = Vec::new();
    let mut bad_records = Vec::new();
    let spin = spinner("reading inputs");
    for input in inputs {
        spin.set_message(format!("reading {}", input.display()));
        let got = import_file(input).map_err(|e| {
            spin.finish_and_clear();
            bad(e.to_string())
        })?;
        indicators.extend(got.indicators);
        bad_records.extend(got.errors);
    }
    spin.finish_and_clear();
    Ok((indicators, bad_records))
}
