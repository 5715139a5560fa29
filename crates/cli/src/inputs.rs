//! Reading what `build` and `validate` check: the collections configuration and the indicator inputs. A file
//! that cannot be read at all is bad input (exit 2); bad records are returned for the command to report.

use crate::fail::{bad, Fail};
use crate::progress::spinner;
use edge_core::time::Timestamp;
use edge_feed::build::Prepared;
use edge_feed::config::{parse_collections, CollectionConfig};
use edge_feed::import::{import_file, import_file_each, RecordError};
use edge_feed::indicator::Indicator;
use edge_feed::stix::RenderOptions;
use std::path::{Path, PathBuf};

/// Reads the collections configuration: a problem is bad input (exit 2).
pub fn read_config(config: &Path) -> Result<Vec<CollectionConfig>, Fail> {
    let text = std::fs::read_to_string(config).map_err(|e| bad(format!("cannot read {}: {e}", config.display())))?;
    parse_collections(&text).map_err(|e| bad(format!("{}: {e}", config.display())))
}

/// Reads every input with a spinner, rendering the indicators in batches as they are read (see [`Prepared`]):
/// one thread parses the inputs while the others render. A file that cannot be read at all is bad input
/// (exit 2). Returns how many indicators were read, the prepared ones and the bad records.
pub fn read_inputs(
    inputs: &[PathBuf],
    collections: &[CollectionConfig],
    render: &RenderOptions,
    now: Timestamp,
) -> Result<(usize, Prepared, Vec<RecordError>), Fail> {
    const BATCH: usize = 8192;
    let mut prepared = Prepared::new(collections, render, now);
    let spin = spinner("reading inputs");
    let (send, batches) = std::sync::mpsc::sync_channel::<Vec<Indicator>>(2);
    let got = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut batch = Vec::with_capacity(BATCH);
            let mut read = 0usize;
            let mut bad_records = Vec::new();
            for input in inputs {
                spin.set_message(format!("reading {}", input.display()));
                import_file_each(input, &mut |record| match record {
                    Ok(ind) => {
                        read += 1;
                        batch.push(ind);
                        if batch.len() == BATCH {
                            // A closed channel means the renderer stopped: the error comes from its side.
                            let _ = send.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                        }
                    }
                    Err(e) => bad_records.push(e),
                })?;
            }
            let _ = send.send(batch);
            drop(send);
            Ok::<_, RecordError>((read, bad_records))
        });
        for batch in batches {
            prepared.push(batch, collections, render);
        }
        reader.join().expect("the input reader panicked")
    });
    spin.finish_and_clear();
    let (read, bad_records) = got.map_err(|e| bad(e.to_string()))?;
    Ok((read, prepared, bad_records))
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
