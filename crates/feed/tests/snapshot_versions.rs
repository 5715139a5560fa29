//! Snapshot format 2: versions kept in place across incremental builds, match[version] on every endpoint (2.1
//! and 2.0), history retention, compaction, the bytes a 1% change re-publishes, and refusing format 1.

use edge_testkit as common;

use common::{call, json, request, V20, V21};
use edge_core::server::{Service, Settings};
use edge_core::snapshot::format::{CollectionIndex, Dates, Pointer, ALL, POINTER_KEY};
use edge_core::store::MemoryStore;
use edge_core::time::Timestamp;
use edge_feed::build::{build_keeping_state, build_with, BuildInput, Built, History};
use edge_feed::config::parse_collections;
use edge_feed::import::xsoar::import_str;
use edge_feed::snapshot_dir::{previous_state, reachable_keys, BlobSource, SnapshotDirError};
use edge_feed::stix::{ids, RenderOptions};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every blob published so far, as a store holds them.
#[derive(Default, Clone)]
struct Blobs(BTreeMap<String, Vec<u8>>);

impl BlobSource for Blobs {
    fn blob(&self, key: &str) -> Result<Vec<u8>, SnapshotDirError> {
        self.0.get(key).cloned().ok_or_else(|| SnapshotDirError::Source(format!("no blob {key}")))
    }
}

/// One published state: every blob and the current manifest.
struct Published {
    blobs: Blobs,
    built: Built,
}

impl Published {
    fn store(&self) -> MemoryStore {
        let store = MemoryStore::default();
        let mut b = store.blobs.borrow_mut();
        for (k, v) in &self.blobs.0 {
            b.insert(k.clone(), v.clone());
        }
        let p = Pointer {
            snapshot: self.built.snapshot_id().into(),
            manifest: self.built.manifest_key.clone(),
            published: Timestamp(0),
            history: Vec::new(),
            keep: None,
            sources: Vec::new(),
        };
        b.insert(POINTER_KEY.into(), serde_json::to_vec(&p).unwrap());
        drop(b);
        store
    }

    fn index(&self) -> CollectionIndex {
        let key = &self.built.manifest.collections[0].index;
        serde_json::from_slice(&self.blobs.0[key]).unwrap()
    }

    fn keys(&self) -> Vec<String> {
        reachable_keys(&self.blobs, &self.built.manifest_key).unwrap()
    }
}

fn ip(i: usize, modified: &str) -> String {
    format!(
        r#"{{"value":"10.1.{}.{}","indicator_type":"IP","score":{},"timestamp":"2024-01-01T00:00:00Z","modified":"{modified}"}}"#,
        i / 256,
        i % 256,
        i % 4
    )
}

fn feed(items: &[(usize, &str)]) -> String {
    items.iter().map(|(i, m)| ip(*i, m)).collect::<Vec<_>>().join("\n")
}

const M0: &str = "2024-02-01T00:00:00Z";
const M1: &str = "2024-03-01T00:00:00Z";

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// Builds `jsonl` on top of `prev` (if any) at `now`, returning everything published so far.
fn publish(prev: Option<&Published>, jsonl: &str, now: &str, keep_days: u32) -> Published {
    let cols = parse_collections(r#"{"IPs": "type:IP"}"#).unwrap();
    let inds = import_str("t.jsonl", jsonl).unwrap().indicators;
    // IPs as indicator SDOs over 2.1 too, so that every object has a `modified` to check.
    let render = RenderOptions {
        namespace: ids::namespace_for("t"),
        producer: None,
        as_indicator: ["ipv4-addr".to_string()].into_iter().collect(),
        ..RenderOptions::default()
    };
    let previous: Dates = match prev {
        Some(p) => previous_state(&p.blobs, &p.built.manifest_key).unwrap(),
        None => Dates::new(),
    };
    let mut built = build_keeping_state(
        &BuildInput { collections: &cols, indicators: &inds, render: &render, now: t(now), previous: &previous },
        History::days(keep_days),
    )
    .unwrap();
    let mut blobs = prev.map(|p| p.blobs.clone()).unwrap_or_default();
    for (k, v) in &built.blobs {
        blobs.0.insert(k.clone(), v.clone());
    }
    // What a sync that runs on keeps for its next build is what that build would read back (every publish of
    // these tests: versions superseded and dropped, compaction, tombstones in the delta, id shards rewritten).
    let state = built.state.take().expect("asked for");
    assert_eq!(state, previous_state(&blobs, &built.manifest_key).unwrap(), "the state kept in memory");
    Published { blobs, built }
}

fn svc() -> Service {
    Service::new(Settings { default_limit: 1000, max_limit: 1000, ..Settings::default() })
}

fn base(p: &Published) -> String {
    format!("/threatintel/collections/{}", p.built.manifest.collections[0].id)
}

fn get(p: &Published, path: &str, query: &[(&str, &str)], accept: &str) -> (u16, Value, Vec<(String, String)>) {
    get_h(p, path, query, accept, &[])
}

fn get_h(
    p: &Published,
    path: &str,
    query: &[(&str, &str)],
    accept: &str,
    extra: &[(&str, &str)],
) -> (u16, Value, Vec<(String, String)>) {
    let mut headers = vec![("accept", accept)];
    headers.extend_from_slice(extra);
    let r = call(&svc(), &p.store(), &request("GET", path, query, &headers));
    let v = if r.body.is_empty() { Value::Null } else { json(&r) };
    (r.status, v, r.headers)
}

fn objects(v: &Value) -> Vec<Value> {
    v["objects"].as_array().cloned().unwrap_or_default()
}

/// The IP an indicator's pattern names.
fn value_of(o: &Value) -> String {
    o["pattern"].as_str().and_then(|p| p.split('\'').nth(1)).unwrap_or_default().to_string()
}

/// The feed index of an object's IP.
fn item_of(o: &Value) -> usize {
    let v = value_of(o);
    let parts: Vec<usize> = v.split('.').map(|p| p.parse().unwrap()).collect();
    parts[2] * 256 + parts[3]
}

fn id_of(p: &Published, i: usize) -> String {
    let (mut q, b) = (vec![], base(p));
    loop {
        let qr: Vec<(&str, &str)> = q.iter().map(|(a, b): &(String, String)| (a.as_str(), b.as_str())).collect();
        let (_, v, _) = get(p, &format!("{b}/objects/"), &qr, V21);
        if let Some(o) = objects(&v).into_iter().find(|o| item_of(o) == i) {
            return o["id"].as_str().unwrap().to_string();
        }
        q = vec![("next".to_string(), v["next"].as_str().expect("the object is served").to_string())];
    }
}

/// The feed indexes of the served objects in date_added order.
fn in_order(p: &Published) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut q, b) = (vec![], base(p));
    loop {
        let qr: Vec<(&str, &str)> = q.iter().map(|(a, b): &(String, String)| (a.as_str(), b.as_str())).collect();
        let (_, v, _) = get(p, &format!("{b}/objects/"), &qr, V21);
        out.extend(objects(&v).iter().map(item_of));
        match v["next"].as_str() {
            Some(n) => q = vec![("next".to_string(), n.to_string())],
            None => return out,
        }
    }
}

/// 100 indicators, then: #0 modified, #1 removed, #100 new.
fn two_publishes(keep_days: u32) -> (Published, Published) {
    let first: Vec<(usize, &str)> = (0..100).map(|i| (i, M0)).collect();
    let p1 = publish(None, &feed(&first), "2025-01-01T00:00:00Z", keep_days);
    let mut second: Vec<(usize, &str)> = (0..101).filter(|&i| i != 1).map(|i| (i, M0)).collect();
    second[0].1 = M1;
    let p2 = publish(Some(&p1), &feed(&second), "2025-01-02T00:00:00Z", keep_days);
    (p1, p2)
}

#[test]
fn versions_stay_in_place_and_every_match_version_mode_works_over_21() {
    let (p1, p2) = two_publishes(30);
    // The first snapshot's segment is reused byte for byte (it holds a superseded version: it cannot be rewritten).
    let seg1 = &p1.index().streams[ALL].segments[0];
    let idx2 = p2.index();
    assert_eq!(idx2.streams[ALL].segments[0].key, seg1.key);
    assert_eq!(idx2.streams[ALL].segments.len(), 2);
    assert_eq!(p2.built.manifest.collections[0].count, 100, "the manifest counts what is served by default");

    let b = base(&p2);
    let id0 = id_of(&p2, 0);
    let (s, v, _) = get(&p2, &format!("{b}/objects/"), &[], V21);
    assert_eq!(s, 200);
    let all = objects(&v);
    assert_eq!(all.len(), 100);
    assert_eq!(all.iter().filter(|o| o["id"] == id0.as_str()).count(), 1);
    assert_eq!(all.iter().find(|o| o["id"] == id0.as_str()).unwrap()["modified"], "2024-03-01T00:00:00.000000Z");
    assert!(!all.iter().any(|o| value_of(o).contains("10.1.0.1'")), "a removed object is gone");

    // Polling from the first snapshot's newest sees the changed and the new object only.
    let newest = p1.built.manifest.collections[0].newest.unwrap().to_micros_string();
    let (_, v, _) = get(&p2, &format!("{b}/objects/"), &[("added_after", &newest)], V21);
    let polled: BTreeSet<String> = objects(&v).iter().map(value_of).collect();
    assert_eq!(polled.len(), 2, "{polled:?}");

    let count = |q: &[(&str, &str)]| objects(&get(&p2, &format!("{b}/objects/"), q, V21).1).len();
    assert_eq!(count(&[("match[version]", "last")]), 100);
    assert_eq!(count(&[("match[version]", "all")]), 101);
    assert_eq!(count(&[("match[version]", "first")]), 100);
    assert_eq!(
        count(&[("match[version]", "2024-02-01T00:00:00Z")]),
        100,
        "version M0: #0's old one, 98 unchanged, 1 new"
    );
    assert_eq!(count(&[("match[version]", "2024-03-01T00:00:00Z")]), 1);
    assert_eq!(count(&[("match[version]", "first,last")]), 101);
    let (_, v, _) = get(&p2, &format!("{b}/objects/"), &[("match[version]", "first"), ("match[id]", &id0)], V21);
    assert_eq!(objects(&v)[0]["modified"], "2024-02-01T00:00:00.000000Z");

    // Manifest: one entry per served version.
    let (_, v, _) = get(&p2, &format!("{b}/manifest/"), &[], V21);
    assert_eq!(objects(&v).len(), 100);
    let (_, v, _) = get(&p2, &format!("{b}/manifest/"), &[("match[version]", "all"), ("match[id]", &id0)], V21);
    let versions: Vec<String> = objects(&v).iter().map(|m| m["version"].as_str().unwrap().to_string()).collect();
    assert_eq!(versions, ["2024-02-01T00:00:00.000000Z", "2024-03-01T00:00:00.000000Z"]);

    // Object by id: the last by default; first, all, a timestamp.
    let obj = |q: &[(&str, &str)]| -> Vec<String> {
        let (s, v, _) = get(&p2, &format!("{b}/objects/{id0}/"), q, V21);
        assert_eq!(s, 200);
        objects(&v).iter().map(|o| o["modified"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(obj(&[]), ["2024-03-01T00:00:00.000000Z"]);
    assert_eq!(obj(&[("match[version]", "first")]), ["2024-02-01T00:00:00.000000Z"]);
    assert_eq!(obj(&[("match[version]", "all")]).len(), 2);
    assert_eq!(obj(&[("match[version]", "2024-02-01T00:00:00Z")]), ["2024-02-01T00:00:00.000000Z"]);
    assert!(obj(&[("match[version]", "2023-01-01T00:00:00Z")]).is_empty());

    // Versions: every version, oldest added first.
    let (s, v, _) = get(&p2, &format!("{b}/objects/{id0}/versions/"), &[], V21);
    assert_eq!(s, 200);
    assert_eq!(v["versions"], serde_json::json!(["2024-02-01T00:00:00.000000Z", "2024-03-01T00:00:00.000000Z"]));

    // The removed object is not found at all.
    let id1 = id_of(&p1, 1);
    assert_eq!(get(&p2, &format!("{b}/objects/{id1}/"), &[], V21).0, 404);
    assert_eq!(get(&p2, &format!("{b}/objects/{id1}/versions/"), &[], V21).0, 404);
}

#[test]
fn every_match_version_mode_works_over_20_with_ranges() {
    let (_, p2) = two_publishes(30);
    let b = base(&p2);
    let id0 = edge_feed::stix::ids::v20_id(&id_of(&p2, 0));
    let bundle = |q: &[(&str, &str)], range: Option<&str>| {
        let extra: Vec<(&str, &str)> = range.map(|r| ("range", r)).into_iter().collect();
        get_h(&p2, &format!("{b}/objects/"), q, V20, &extra)
    };
    let (s, v, _) = bundle(&[], None);
    assert_eq!((s, v["type"].as_str()), (200, Some("bundle")));
    assert_eq!(objects(&v).len(), 100);
    assert_eq!(objects(&bundle(&[("match[version]", "all")], None).1).len(), 101);
    assert_eq!(objects(&bundle(&[("match[version]", "first")], None).1).len(), 100);
    assert_eq!(objects(&bundle(&[("match[version]", "2024-03-01T00:00:00Z")], None).1).len(), 1);
    // Ranges count what is served by default: the superseded version is not an item.
    let (s, v, h) = bundle(&[], Some("items 95-120"));
    assert_eq!(s, 206);
    assert_eq!(objects(&v).len(), 5);
    assert!(h.iter().any(|(k, v)| k == "Content-Range" && v == "items 95-99/100"), "{h:?}");
    let (s, v, _) = bundle(&[("match[version]", "all")], Some("items 100-110"));
    assert_eq!((s, objects(&v).len()), (206, 1));
    assert_eq!(bundle(&[], Some("items 100-110")).0, 416);
    // Manifest and object by id.
    let (_, v, _) = get(&p2, &format!("{b}/manifest/"), &[("match[version]", "all")], V20);
    assert_eq!(objects(&v).len(), 101);
    let (_, v, _) = get(&p2, &format!("{b}/objects/{id0}/"), &[], V20);
    assert_eq!(objects(&v).len(), 1);
    assert_eq!(objects(&v)[0]["modified"], "2024-03-01T00:00:00.000Z");
    let (_, v, _) = get(&p2, &format!("{b}/objects/{id0}/"), &[("match[version]", "first")], V20);
    assert_eq!(objects(&v)[0]["modified"], "2024-02-01T00:00:00.000Z");
    let (_, v, _) = get(&p2, &format!("{b}/objects/{id0}/"), &[("match[version]", "all")], V20);
    assert_eq!(objects(&v).len(), 2);
}

#[test]
fn history_is_dropped_after_the_retention_and_at_once_with_zero() {
    let (_, p2) = two_publishes(0);
    let all =
        |p: &Published| objects(&get(p, &format!("{}/objects/", base(p)), &[("match[version]", "all")], V21).1).len();
    assert_eq!(all(&p2), 100, "--keep-versions 0 keeps the latest only");
    let (_, p2) = two_publishes(30);
    let same: Vec<(usize, &str)> = (0..101).filter(|&i| i != 1).map(|i| (i, if i == 0 { M1 } else { M0 })).collect();
    let p3 = publish(Some(&p2), &feed(&same), "2025-01-20T00:00:00Z", 30);
    assert_eq!(all(&p3), 101, "within 30 days the old version stays");
    let p4 = publish(Some(&p3), &feed(&same), "2025-02-05T00:00:00Z", 30);
    assert_eq!(all(&p4), 100, "31+ days after it was superseded it is gone");
    assert_eq!(objects(&get(&p4, &format!("{}/objects/", base(&p4)), &[], V21).1).len(), 100);
}

/// The served objects of the default view, as JSON texts.
fn live(p: &Published) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let (mut q, b) = (vec![], base(p));
    loop {
        let qr: Vec<(&str, &str)> = q.iter().map(|(a, b): &(String, String)| (a.as_str(), b.as_str())).collect();
        let (_, v, _) = get(p, &format!("{b}/objects/"), &qr, V21);
        out.extend(objects(&v).iter().map(|o| o.to_string()));
        match v["next"].as_str() {
            Some(n) => q = vec![("next".to_string(), n.to_string())],
            None => return out,
        }
    }
}

#[test]
fn an_incremental_build_serves_what_a_build_from_scratch_serves() {
    let mut items: Vec<(usize, &str)> = (0..2500).map(|i| (i, M0)).collect();
    let mut p = publish(None, &feed(&items), "2025-01-01T00:00:00Z", 30);
    for (step, day) in ["2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z"].iter().enumerate() {
        for (k, item) in items.iter_mut().enumerate() {
            if k % 97 == step {
                item.1 = M1;
            }
        }
        items.retain(|(i, _)| i % 211 != step + 5);
        items.extend((0..30).map(|k| (3000 + step * 100 + k, M0)));
        p = publish(Some(&p), &feed(&items), day, 30);
        let scratch = publish(None, &feed(&items), day, 30);
        assert_eq!(live(&p), live(&scratch), "step {step}");
        assert_eq!(p.built.manifest.collections[0].count, scratch.built.manifest.collections[0].count);
    }
}

#[test]
fn republishing_after_one_percent_changed_uploads_a_few_percent_of_the_bytes() {
    let mut items: Vec<(usize, &str)> = (0..20_000).map(|i| (i, M0)).collect();
    let p1 = publish(None, &feed(&items), "2025-01-01T00:00:00Z", 30);
    for item in items.iter_mut().step_by(100) {
        item.1 = M1;
    }
    let p2 = publish(Some(&p1), &feed(&items), "2025-01-02T00:00:00Z", 30);
    let before: BTreeSet<String> = p1.keys().into_iter().collect();
    let size = |k: &String| p2.blobs.0[k].len() as u64;
    let keys = p2.keys();
    let total: u64 = keys.iter().map(size).sum();
    let new: u64 = keys.iter().filter(|k| !before.contains(*k)).map(size).sum();
    let fraction = new as f64 / total as f64;
    eprintln!("1% changed of 20,000: {new} of {total} bytes are new ({:.2}%)", fraction * 100.0);
    assert!(fraction < 0.05, "{:.2}% of the bytes are new", fraction * 100.0);
    assert_eq!(
        objects(&get(&p2, &format!("{}/objects/", base(&p2)), &[("match[version]", "all"), ("limit", "1000")], V21).1)
            .len(),
        1000
    );
}

#[test]
fn compaction_rewrites_mostly_gone_segments_and_drops_empty_ones() {
    let items: Vec<(usize, &str)> = (0..3000).map(|i| (i, M0)).collect();
    let p1 = publish(None, &feed(&items), "2025-01-01T00:00:00Z", 30);
    let segs1: Vec<String> = p1.index().streams[ALL].segments.iter().map(|s| s.key.clone()).collect();
    assert_eq!(segs1.len(), 3);
    // The first segment loses 700 of its 1000 records, the second all of them, the third none.
    let order = in_order(&p1);
    let mut kept_items: Vec<usize> = order[700..1000].iter().chain(&order[2000..]).copied().collect();
    kept_items.sort();
    let kept: Vec<(usize, &str)> = kept_items.iter().map(|&i| (i, M0)).collect();
    let p2 = publish(Some(&p1), &feed(&kept), "2025-01-02T00:00:00Z", 30);
    let segs2 = &p2.index().streams[ALL].segments;
    assert_eq!(segs2.len(), 2, "{segs2:?}");
    assert_ne!(segs2[0].key, segs1[0], "the mostly gone segment is rewritten");
    assert_eq!((segs2[0].count, segs2[0].shown), (300, 300));
    assert_eq!(segs2[1].key, segs1[2], "the untouched one is reused");
    assert_eq!(live(&p2).len(), 1300);
    // Lookups by id still work after the id index was rewritten, and a further incremental build does too.
    let id = id_of(&p2, order[800]);
    assert_eq!(objects(&get(&p2, &format!("{}/objects/{id}/", base(&p2)), &[], V21).1).len(), 1);
    let still: Vec<(usize, &str)> = kept.iter().copied().filter(|&(i, _)| i != order[801]).collect();
    let p3 = publish(Some(&p2), &feed(&still), "2025-01-03T00:00:00Z", 30);
    assert_eq!(live(&p3).len(), 1299);
    assert_eq!(objects(&get(&p3, &format!("{}/objects/{id}/", base(&p3)), &[], V21).1).len(), 1);
}

#[test]
fn a_format_1_snapshot_is_refused_with_what_to_do() {
    let (_, p2) = two_publishes(30);
    let mut m: Value = serde_json::from_slice(&p2.blobs.0[&p2.built.manifest_key]).unwrap();
    m["format"] = 1.into();
    let bytes = serde_json::to_vec(&m).unwrap();
    let key = edge_core::snapshot::format::blob_key("manifest", &bytes);
    let store = p2.store();
    store.blobs.borrow_mut().insert(key.clone(), bytes);
    let p = Pointer {
        snapshot: key.rsplit('/').next().unwrap().into(),
        manifest: key,
        published: Timestamp(0),
        history: Vec::new(),
        keep: None,
        sources: Vec::new(),
    };
    store.blobs.borrow_mut().insert(POINTER_KEY.into(), serde_json::to_vec(&p).unwrap());
    let r = call(&svc(), &store, &request("GET", &format!("{}/objects/", base(&p2)), &[], &[("accept", V21)]));
    assert_eq!(r.status, 503);
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.contains("format 1") && text.contains("rebuild and publish"), "{text}");
}

#[test]
fn records_compacted_out_of_the_tail_are_tombstoned_in_the_id_delta() {
    let items: Vec<(usize, &str)> = (0..9500).map(|i| (i, M0)).collect();
    let p1 = publish(None, &feed(&items), "2025-01-01T00:00:00Z", 30);
    let order = in_order(&p1);
    let removed: Vec<usize> = order[9100..9103].to_vec();
    let removed_id = id_of(&p1, removed[0]);
    let mut next: Vec<(usize, &str)> = items.iter().copied().filter(|(i, _)| !removed.contains(i)).collect();
    next.extend((20_000..20_600).map(|i| (i, M0)));
    let p2 = publish(Some(&p1), &feed(&next), "2025-01-02T00:00:00Z", 30);
    let (i1, i2) = (p1.index(), p2.index());
    assert_eq!(i2.id_shards, i1.id_shards, "the base id shards are kept");
    assert!(!i2.id_delta.is_empty());
    assert_ne!(i2.streams[ALL].segments[9].key, i1.streams[ALL].segments[9].key, "the partial tail was topped up");
    assert_eq!(i2.streams[ALL].segments[9].count, 1000, "without the removed records");
    assert_eq!(get(&p2, &format!("{}/objects/{removed_id}/", base(&p2)), &[], V21).0, 404);
    let scratch = publish(None, &feed(&next), "2025-01-02T00:00:00Z", 30);
    assert_eq!(live(&p2), live(&scratch));
    // A further build reads the tombstones back and goes on from there.
    let p3 = publish(Some(&p2), &feed(&next), "2025-01-03T00:00:00Z", 30);
    assert_eq!(live(&p3), live(&scratch));
    assert_eq!(get(&p3, &format!("{}/objects/{removed_id}/", base(&p3)), &[], V21).0, 404);
    let kept_id = id_of(&p3, order[9200]);
    assert_eq!(objects(&get(&p3, &format!("{}/objects/{kept_id}/", base(&p3)), &[], V21).1).len(), 1);
}

#[test]
fn a_previous_snapshot_that_disagrees_with_itself_fails_the_build_naming_the_collection() {
    let cols = parse_collections(r#"{"A": "type:IP", "B": "score:>=2", "C": ""}"#).unwrap();
    let inds = import_str("t.jsonl", &feed(&(0..50).map(|i| (i, M0)).collect::<Vec<_>>())).unwrap().indicators;
    let render = RenderOptions::default();
    let input = |previous| BuildInput { collections: &cols, indicators: &inds, render: &render, now: t(M1), previous };
    let none = Dates::new();
    let first = build_with(&input(&none), History::days(30)).unwrap();
    let mut previous = previous_state(&Blobs(first.blobs.clone()), &first.manifest_key).unwrap();
    // The id shards of B and C lose the first record their segments hold. Collections are built side by side,
    // the largest (C) last; the build stops at B, the first to fail, and says which collection and what to do.
    for name in ["C", "B"] {
        let id = &first.manifest.collections.iter().find(|c| c.title == name).unwrap().id;
        let p = previous.get_mut(id).unwrap();
        p.records.remove(0);
        p.flags.remove(0);
        p.in_delta.remove(0);
    }
    let Err(err) = build_with(&input(&previous), History::days(30)) else { panic!("the build must fail") };
    let err = err.to_string();
    assert!(err.starts_with("collection \"B\": the previous snapshot's segments and id shards disagree"), "{err}");
    assert!(err.ends_with("build once without --previous"), "{err}");
}
