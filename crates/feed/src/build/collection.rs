//! One collection's build: its objects' current versions against the previous snapshot's records, the streams
//! ("all" and one per type) laid out, the id shards and the collection index written.

use super::dates;
use super::id_shards::{listed, write_id_shards, IdShards};
use super::layout::{lay_out, LaidOut, LayoutError};
use super::render_stage::Packed;
use super::sink::{BlobSink, SharedSink};
use super::versions::{add_previous, hash_order, set_flags, Current, History, Objects, Rec, NO_OBJECT};
use crate::config::CollectionConfig;
use crate::stix::Head;
use edge_core::snapshot::format::*;
use edge_core::time::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// Why a collection cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    #[error("the ids {0} and {1} have the same 64-bit hash, which the id index cannot tell apart: report this")]
    IdHashCollision(String, String),
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

/// Builds one collection from its objects (extras first) and its part of the previous snapshot: writes its
/// segments, id shards and index, and returns its manifest entry, and with `keep_state` its part of this
/// snapshot as the next build would read it ([`state_after`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn write_collection(
    cfg: &CollectionConfig,
    id: String,
    objects: Vec<&Packed>,
    previous: Option<PreviousCollection>,
    now: Timestamp,
    keep: History,
    keep_state: bool,
    mut blobs: &SharedSink<'_>,
) -> Result<(CollectionEntry, Option<PreviousCollection>), CollectionError> {
    // The objects sorted by id hash, and beside them on a thread of their own the previous records (each a sort
    // of up to a million entries).
    let (objects, previous_order) = std::thread::scope(|scope| {
        let order = previous.as_ref().map(|p| scope.spawn(|| hash_order(p)));
        (Objects::of(&objects), order.map(|o| o.join().expect("a collection's sorting thread panicked")))
    });
    let mut objects = objects.map_err(|(a, b)| CollectionError::IdHashCollision(a, b))?;
    let mut types: Vec<String> = previous.as_ref().map(|p| p.index.types.clone()).unwrap_or_default();
    let mut type_code: HashMap<String, u16> = types.iter().enumerate().map(|(i, t)| (t.clone(), i as u16)).collect();
    // The previous records, then the new ones.
    let count = objects.current.len();
    let mut recs: Vec<Rec<'_>> = Vec::with_capacity(previous.as_ref().map_or(0, |p| p.records.len()) + count);
    let existed = previous.is_some();
    // Only the index is needed once the records are here.
    let prev_index = previous.zip(previous_order).map(|(p, order)| {
        add_previous(&mut recs, &mut objects, &p, order);
        p.index
    });
    let mut fresh: Vec<(u32, Current<'_>)> =
        (0..count).filter(|&k| objects.live[k] == NO_OBJECT).map(|k| (k as u32, objects.current[k])).collect();
    fresh.sort_by(|a, b| a.1.version.cmp(&b.1.version).then_with(|| a.1.packed.id21().cmp(b.1.packed.id21())));
    let first = dates::first_new(recs.iter().map(|r| r.e.d).max(), existed, fresh.len(), now);
    for (i, (k, c)) in fresh.into_iter().enumerate() {
        let r = c.packed;
        let ty = match type_code.get(r.type21()) {
            Some(&code) => code,
            None => {
                let code = types.len() as u16;
                types.push(r.type21().to_string());
                type_code.insert(r.type21().to_string(), code);
                code
            }
        };
        let h21 = r.h21;
        let e = ShardEntry {
            h21,
            h20: r.h20,
            d: dates::nth_new(first, i),
            v: r.version.0,
            content: c.content,
            ty,
            streams: IN_ALL | IN_TYPE,
        };
        objects.live[k as usize] = recs.len() as u32;
        recs.push(Rec { e, body: Some(r), flags: 0, new: true, in_delta: false, was: 0, object: k });
    }
    set_flags(&mut recs, &objects.live, now, keep);
    drop(objects);

    // Streams: "all", and one per type laid out beside it on a thread of their own, each reusing the previous
    // snapshot's segments where it can.
    let prev_index = prev_index.as_ref();
    let all_members: Vec<usize> = (0..recs.len()).filter(|&i| recs[i].e.streams & IN_ALL != 0).collect();
    let mut by_type: Vec<Vec<usize>> = vec![Vec::new(); types.len()];
    for (i, r) in recs.iter().enumerate() {
        if r.e.streams & IN_TYPE != 0 {
            by_type[r.e.ty as usize].push(i);
        }
    }
    // A stream's segments in the previous snapshot (none when it had no such stream).
    let prev_of = |name: &str| prev_index.and_then(|x| x.streams.get(name)).map_or(&[][..], |s| &s.segments[..]);
    let (all, typed) = std::thread::scope(|scope| {
        let (recs, by_type, types, prev_of) = (&recs[..], &by_type, &types, &prev_of);
        let typed = scope.spawn(move || -> Result<Vec<(usize, LaidOut)>, LayoutError> {
            let mut blobs = blobs;
            let mut laid = Vec::new();
            for (t, members) in by_type.iter().enumerate() {
                let prev = prev_of(&type_stream(&types[t]));
                if !(members.is_empty() && prev.is_empty()) {
                    laid.push((t, lay_out(prev, members, recs, &mut blobs)?));
                }
            }
            Ok(laid)
        });
        let all = lay_out(prev_of(ALL), &all_members, recs, &mut blobs);
        (all, typed.join().expect("a collection's type streams thread panicked"))
    });
    // A fault in "all" is reported first, as when the streams were laid out one after the other.
    let (all, typed) = (all?, typed?);
    let mut streams = BTreeMap::new();
    for &i in &all.dropped {
        recs[i].e.streams &= !IN_ALL;
    }
    let shown_all = all.stream.count;
    streams.insert(ALL.to_string(), all.stream);
    let mut type_counts = BTreeMap::new();
    for (t, LaidOut { stream, dropped }) in typed {
        for &i in &dropped {
            recs[i].e.streams &= !IN_TYPE;
        }
        if stream.count > 0 {
            type_counts.insert(types[t].clone(), stream.count);
        }
        if !stream.segments.is_empty() {
            streams.insert(type_stream(&types[t]), stream);
        }
    }
    // The previous index lists the types of every record it had (a list only grows), so only the new records
    // can add one: reading every record's types would touch each object's bytes again.
    let mut types20: BTreeMap<String, Vec<String>> = prev_index.map(|x| x.types20.clone()).unwrap_or_default();
    for r in recs.iter().filter(|r| r.new).filter_map(|r| r.body) {
        let list = match types20.get_mut(r.type20()) {
            Some(list) => list,
            None => types20.entry(r.type20().to_string()).or_default(),
        };
        if !list.iter().any(|t| t == r.type21()) {
            list.push(r.type21().to_string());
        }
    }
    let shards = write_id_shards(&recs, prev_index, &mut blobs);
    let newest = recs.iter().filter(|r| r.flags & HIDDEN_BY_DEFAULT == 0).map(|r| Timestamp(r.e.d)).max();
    let index =
        CollectionIndex { streams, types20, id_shards: shards.shards.clone(), id_delta: shards.delta.clone(), types };
    let bytes = serde_json::to_vec(&index).expect("index serialises");
    let index_key = blob_key("index", &bytes);
    blobs.put(index_key.clone(), bytes);
    let state = keep_state.then(|| state_after(&recs, &shards, index));
    let entry = CollectionEntry {
        id,
        title: cfg.name.clone(),
        description: cfg.description.clone(),
        query: cfg.query_text.clone(),
        alias: None,
        count: shown_all,
        types: type_counts,
        profile: (cfg.client.profile != crate::stix::Profile::Stix).then(|| cfg.client.profile.name().to_string()),
        newest,
        index: index_key,
    };
    Ok((entry, state))
}

/// The collection as a build on this snapshot reads it back ([`crate::snapshot_dir::previous_state`]): the
/// records its id shards list, in date order, with their visibility in the "all" stream (gone when not in it).
fn state_after(recs: &[Rec<'_>], shards: &IdShards, index: CollectionIndex) -> PreviousCollection {
    let mut state = PreviousCollection {
        index,
        records: Vec::with_capacity(recs.len()),
        in_delta: Vec::with_capacity(recs.len()),
        flags: Vec::with_capacity(recs.len()),
    };
    for r in recs {
        let Some(in_delta) = listed(r, shards) else { continue };
        state.records.push(r.e);
        state.in_delta.push(in_delta);
        state.flags.push(if r.e.streams & IN_ALL != 0 { r.flags } else { GONE });
    }
    state
}
