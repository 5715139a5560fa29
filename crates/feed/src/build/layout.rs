//! Layout of one stream into segments: the previous snapshot's segments kept byte for byte, dropped, compacted
//! or topped up, then the new records cut into full segments, encoded and hashed on every core.

use super::render_stage::Packed;
use super::sink::BlobSink;
use super::versions::Rec;
use crate::pool::{par_map, workers};
use crate::stix::Head;
use edge_core::snapshot::format::*;
use edge_core::snapshot::segment::{encode, RecordHead};
use edge_core::time::Timestamp;

/// Why a stream cannot be laid out over the previous snapshot's segments: its metadata does not add up.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("the previous snapshot's index and id shards disagree: build once without --previous")]
    IndexDisagrees,
    #[error("the previous snapshot's segments and id shards disagree: build once without --previous")]
    SegmentsDisagree,
    #[error("the previous snapshot's id shards list records its segments do not hold: build once without --previous")]
    ShardsListMore,
}

/// A compacted segment is rewritten when more than this share of its records are gone (1/2).
const COMPACT_GONE_NUM: usize = 1;
const COMPACT_GONE_DEN: usize = 2;

/// What becomes of one stream's segment.
enum Plan {
    /// Kept byte for byte.
    Reuse(SegmentRef, Vec<usize>),
    /// Written from these records.
    Write(Vec<usize>),
}

/// A stream laid out, and the records it dropped (its bit is to be taken from their streams).
pub(super) struct LaidOut {
    pub stream: Stream,
    pub dropped: Vec<usize>,
}

/// Lays out one stream: the previous segments in order, each kept as it is, dropped (every record gone), or
/// rewritten (more than half gone, or in the partial tail topped up with the new records) when every record it
/// keeps is a live version rendered now; then the new records, cut into full segments. `members` are the
/// stream's records in date order (previous ones first). The records are only read, so that a collection's
/// streams can be laid out side by side.
pub(super) fn lay_out(
    prev: &[SegmentRef],
    members: &[usize],
    recs: &[Rec<'_>],
    blobs: &mut dyn BlobSink,
) -> Result<LaidOut, LayoutError> {
    let mut plans: Vec<Plan> = Vec::new();
    let mut dropped: Vec<usize> = Vec::new();
    let mut pending: Vec<usize> = Vec::new();
    let mut at = 0usize;
    let flush = |pending: &mut Vec<usize>, plans: &mut Vec<Plan>| {
        for chunk in pending.chunks(SEGMENT_RECORDS) {
            plans.push(Plan::Write(chunk.to_vec()));
        }
        pending.clear();
    };
    // The tail to top up: trailing segments that are not full, each no bigger than the new records plus the
    // tail after it (so a publish rewrites at most about as many old records as it adds, and a stream's partial
    // segments stay few, each at least twice the next), and whose kept records are all rendered now.
    let old_count: usize = prev.iter().map(|s| s.count as usize).sum();
    let mut tail_from = prev.len();
    let mut acc = members.len().saturating_sub(old_count);
    let mut end = old_count;
    for (k, seg) in prev.iter().enumerate().rev() {
        let n = seg.count as usize;
        let Some(held) = members.get(end.saturating_sub(n)..end) else { break };
        let kept_have_bytes = held.iter().all(|&i| recs[i].flags & GONE != 0 || recs[i].body.is_some());
        if acc == 0 || n >= SEGMENT_RECORDS || n > acc || !kept_have_bytes {
            break;
        }
        tail_from = k;
        acc += n;
        end -= n;
    }
    for (k, seg) in prev.iter().enumerate() {
        let n = seg.count as usize;
        let Some(held) = members.get(at..at + n) else {
            return Err(LayoutError::IndexDisagrees);
        };
        if held.first().map(|&i| recs[i].e.d) != Some(seg.first.0)
            || held.last().map(|&i| recs[i].e.d) != Some(seg.last.0)
        {
            return Err(LayoutError::SegmentsDisagree);
        }
        at += n;
        let gone = held.iter().filter(|&&i| recs[i].flags & GONE != 0).count();
        let kept_have_bytes = held.iter().all(|&i| recs[i].flags & GONE != 0 || recs[i].body.is_some());
        let compact = gone * COMPACT_GONE_DEN > n * COMPACT_GONE_NUM;
        if gone == n || ((compact || k >= tail_from) && kept_have_bytes) {
            for &i in held {
                if recs[i].flags & GONE != 0 {
                    dropped.push(i);
                } else {
                    pending.push(i);
                }
            }
            continue;
        }
        flush(&mut pending, &mut plans);
        plans.push(Plan::Reuse(seg.clone(), held.to_vec()));
    }
    if members[at..].iter().any(|&i| !recs[i].new) {
        return Err(LayoutError::ShardsListMore);
    }
    pending.extend_from_slice(&members[at..]);
    flush(&mut pending, &mut plans);

    let marks_of = |held: &[usize]| -> (u32, String) {
        let shown = held.iter().filter(|&&i| recs[i].flags & HIDDEN_BY_DEFAULT == 0).count() as u32;
        let marks = encode_marks(
            held.iter().enumerate().filter(|(_, &i)| recs[i].flags != 0).map(|(k, &i)| (k, recs[i].flags)),
        );
        (shown, marks)
    };
    let mut stream = Stream::default();
    // Encoded a batch at a time on every core, so at most a batch of segments is held before the sink.
    for batch in plans.chunks(16 * workers()) {
        let encoded = par_map(batch, |plan| match plan {
            Plan::Reuse(..) => None,
            Plan::Write(held) => {
                let bodies: Vec<&Packed> =
                    held.iter().map(|&i| recs[i].body.expect("written records have their bytes")).collect();
                let records: Vec<RecordHead<'_>> = held
                    .iter()
                    .zip(&bodies)
                    .map(|(&i, r)| RecordHead {
                        date_added: Timestamp(recs[i].e.d),
                        version: r.version,
                        id21: r.id21(),
                        type21: r.type21(),
                        id20: r.id20(),
                        type20: r.type20(),
                        json21_len: r.json21_len as usize,
                        json20_len: (r.json_len - r.json21_len) as usize,
                    })
                    .collect();
                let bytes = encode(&records, |k, out| bodies[k].json_into(out));
                Some((blob_key("segment", &bytes), bytes))
            }
        });
        for (plan, enc) in batch.iter().zip(encoded) {
            let (held, seg) = match (plan, enc) {
                (Plan::Reuse(seg, held), _) => (held, SegmentRef { marks: String::new(), shown: 0, ..seg.clone() }),
                (Plan::Write(held), Some((key, bytes))) => {
                    let seg = SegmentRef {
                        key: key.clone(),
                        count: held.len() as u32,
                        first: Timestamp(recs[held[0]].e.d),
                        last: Timestamp(recs[held[held.len() - 1]].e.d),
                        shown: 0,
                        marks: String::new(),
                    };
                    blobs.put(key, bytes);
                    (held, seg)
                }
                (Plan::Write(_), None) => unreachable!("written plans are encoded"),
            };
            let (shown, marks) = marks_of(held);
            stream.count += u64::from(shown);
            stream.segments.push(SegmentRef { shown, marks, ..seg });
        }
    }
    Ok(LaidOut { stream, dropped })
}
