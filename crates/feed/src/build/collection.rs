//! One collection's build: its objects' current versions against the previous snapshot's records, the streams
//! ("all" and one per type) laid out, the id shards and the collection index written.

use super::dates;
use super::id_shards::write_id_shards;
use super::layout::{lay_out, LayoutError};
use super::render_stage::Packed;
use super::sink::BlobSink;
use super::versions::{add_previous, set_flags, ByIdHash, Current, History, Rec};
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
/// segments, id shards and index, and returns its manifest entry.
pub(super) fn write_collection(
    cfg: &CollectionConfig,
    id: String,
    objects: Vec<&Packed>,
    previous: Option<PreviousCollection>,
    now: Timestamp,
    keep: History,
    blobs: &mut dyn BlobSink,
) -> Result<CollectionEntry, CollectionError> {
    // The current version of each object (the newest when an id comes twice), by the hash of its id.
    let mut current: ByIdHash<Current<'_>> = ByIdHash::with_capacity_and_hasher(objects.len(), Default::default());
    for r in objects {
        match current.get(&r.h21).map(|c| c.packed) {
            Some(old) if old.id21() != r.id21() => {
                return Err(CollectionError::IdHashCollision(old.id21().to_string(), r.id21().to_string()))
            }
            Some(old) if (r.version, r.json21()) <= (old.version, old.json21()) => {}
            _ => {
                current.insert(r.h21, Current::of(r));
            }
        }
    }
    let mut types: Vec<String> = previous.as_ref().map(|p| p.index.types.clone()).unwrap_or_default();
    let mut type_code: HashMap<String, u16> = types.iter().enumerate().map(|(i, t)| (t.clone(), i as u16)).collect();
    // The previous records, then the new ones.
    let mut recs: Vec<Rec<'_>> = Vec::with_capacity(previous.as_ref().map_or(0, |p| p.records.len()) + current.len());
    let mut live: ByIdHash<usize> = ByIdHash::with_capacity_and_hasher(current.len(), Default::default());
    let existed = previous.is_some();
    // Only the index is needed once the records are here.
    let prev_index = previous.map(|p| {
        add_previous(&mut recs, &mut live, &current, &p);
        p.index
    });
    let mut fresh: Vec<(&Packed, u32)> =
        current.iter().filter(|(h, _)| !live.contains_key(h)).map(|(_, c)| (c.packed, c.content)).collect();
    drop(current);
    fresh.sort_by(|a, b| a.0.version.cmp(&b.0.version).then_with(|| a.0.id21().cmp(b.0.id21())));
    let first = dates::first_new(recs.iter().map(|r| r.e.d).max(), existed, fresh.len(), now);
    for (i, (r, c)) in fresh.into_iter().enumerate() {
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
            content: c,
            ty,
            streams: IN_ALL | IN_TYPE,
        };
        live.insert(h21, recs.len());
        recs.push(Rec { e, body: Some(r), flags: 0, new: true, in_delta: false, was: 0 });
    }
    set_flags(&mut recs, &live, now, keep);
    drop(live);

    // Streams: "all", then one per type, each reusing the previous snapshot's segments where it can.
    let prev_index = prev_index.as_ref();
    let mut streams = BTreeMap::new();
    let all_members: Vec<usize> = (0..recs.len()).filter(|&i| recs[i].e.streams & IN_ALL != 0).collect();
    let prev_all = prev_index.and_then(|x| x.streams.get(ALL)).map_or(&[][..], |s| &s.segments[..]);
    let all = lay_out(prev_all, &all_members, &mut recs, IN_ALL, blobs)?;
    let shown_all = all.count;
    streams.insert(ALL.to_string(), all);
    let mut type_counts = BTreeMap::new();
    let mut by_type: Vec<Vec<usize>> = vec![Vec::new(); types.len()];
    for (i, r) in recs.iter().enumerate() {
        if r.e.streams & IN_TYPE != 0 {
            by_type[r.e.ty as usize].push(i);
        }
    }
    for (t, members) in types.iter().zip(by_type) {
        let name = type_stream(t);
        let prev = prev_index.and_then(|x| x.streams.get(&name)).map_or(&[][..], |s| &s.segments[..]);
        if members.is_empty() && prev.is_empty() {
            continue;
        }
        let stream = lay_out(prev, &members, &mut recs, IN_TYPE, blobs)?;
        if stream.count > 0 {
            type_counts.insert(t.clone(), stream.count);
        }
        if !stream.segments.is_empty() {
            streams.insert(name, stream);
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
    let (id_shards, id_delta) = write_id_shards(&recs, prev_index, blobs);
    let newest = recs.iter().filter(|r| r.flags & HIDDEN_BY_DEFAULT == 0).map(|r| Timestamp(r.e.d)).max();
    let index = CollectionIndex { streams, types20, id_shards, id_delta, types };
    let bytes = serde_json::to_vec(&index).expect("index serialises");
    let index_key = blob_key("index", &bytes);
    blobs.put(index_key.clone(), bytes);
    Ok(CollectionEntry {
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
    })
}
