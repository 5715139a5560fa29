//! A collection's id shards: the previous ones kept with a small delta of the records added or moved since, or
//! all rewritten.

use super::sink::BlobSink;
use super::versions::Rec;
use edge_core::snapshot::format::*;

/// The id shards are rewritten in full when the delta would exceed 1/8 of them.
const DELTA_DEN: usize = 8;

/// The id shards: the previous ones kept while the delta stays under 1/8 of them, the delta listing the records
/// added since and those whose streams changed (compacted out of some: a record in none is a tombstone that hides
/// its base entry); else all rewritten, without the records that are in no stream.
pub(super) fn write_id_shards(recs: &[Rec<'_>], prev: Option<&CollectionIndex>, blobs: &mut dyn BlobSink) -> IdShards {
    // `count` entries, read once into their shards.
    let mut write = |count: usize, entries: &mut dyn Iterator<Item = ShardEntry>| -> Vec<String> {
        let shards = count.div_ceil(SHARD_ENTRIES).max(1);
        // Each shard holds about its share of the entries and as many 2.0 aliases.
        let mut lists: Vec<Vec<ShardEntry>> =
            (0..shards).map(|_| Vec::with_capacity(2 * count / shards + 64)).collect();
        for e in entries {
            lists[shard_of_hash(e.h21, shards)].push(e);
            if let Some(h20) = e.h20 {
                if shard_of_hash(h20, shards) != shard_of_hash(e.h21, shards) {
                    lists[shard_of_hash(h20, shards)].push(ShardEntry { h20: Some(h20), ..e });
                }
            }
        }
        lists
            .into_iter()
            .enumerate()
            .map(|(k, list)| {
                let bytes = encode_shard_for(&list, k, shards);
                let key = blob_key("ids", &bytes);
                blobs.put(key.clone(), bytes);
                key
            })
            .collect()
    };
    let delta: Vec<ShardEntry> = recs.iter().filter(|r| in_delta(r)).map(|r| r.e).collect();
    let base_len = recs.len() - delta.len();
    if let Some(p) = prev {
        if !p.id_shards.is_empty() && delta.len() * DELTA_DEN <= base_len {
            let delta_keys = if delta.is_empty() { Vec::new() } else { write(delta.len(), &mut delta.into_iter()) };
            return IdShards { shards: p.id_shards.clone(), delta: delta_keys, kept: true };
        }
    }
    let kept = || recs.iter().filter(|r| r.e.streams != 0).map(|r| r.e);
    IdShards { shards: write(kept().count(), &mut kept()), delta: Vec::new(), kept: false }
}

/// Whether kept shards list the record in their delta: it was added since, was in the delta already, or its
/// streams changed.
fn in_delta(r: &Rec<'_>) -> bool {
    r.new || r.in_delta || r.e.streams != r.was
}

/// A collection's id shards and delta (blob keys), and whether the shards are the previous snapshot's.
pub(super) struct IdShards {
    pub shards: Vec<String>,
    pub delta: Vec<String>,
    /// The previous shards were kept, so every record is listed (the new and changed ones in the delta); else
    /// the shards were rewritten with the records still in a stream.
    pub kept: bool,
}

/// Whether the id shards list a record, and in the delta: what a build reading them finds
/// ([`crate::snapshot_dir::previous_state`]).
pub(super) fn listed(r: &Rec<'_>, shards: &IdShards) -> Option<bool> {
    if shards.kept {
        Some(in_delta(r))
    } else {
        (r.e.streams != 0).then_some(false)
    }
}

/// Encodes shard `k` of `shards`: 2.1 entries whose 2.1 id hashes here, 2.0 aliases whose 2.0 id does.
fn encode_shard_for(list: &[ShardEntry], k: usize, shards: usize) -> Vec<u8> {
    let main: Vec<ShardEntry> = list
        .iter()
        .filter(|e| shard_of_hash(e.h21, shards) == k)
        .map(|e| ShardEntry { h20: e.h20.filter(|&h| shard_of_hash(h, shards) == k), ..*e })
        .collect();
    let aliases: Vec<(u64, i64)> =
        list.iter().filter(|e| shard_of_hash(e.h21, shards) != k).filter_map(|e| e.h20.map(|h| (h, e.d))).collect();
    encode_shard(&main, &aliases)
}
