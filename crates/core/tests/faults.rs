//! Storage faults natively: each damaged or missing blob, a dangling pointer and a slow store give a 503 TAXII
//! error with Retry-After (never objects, never a 500), and the read deadline's logic with a store that sleeps.

use edge_testkit as common;

use common::{call, feed_store, json, request, V20, V21};
use edge_core::faults::{race, Deadline, SNAPSHOT_HEADER};
use edge_core::server::{Service, Settings};
use edge_core::snapshot::format::{CollectionIndex, Manifest, Pointer, POINTER_KEY};
use edge_core::store::{MemoryStore, Store, StoreError};
use edge_core::taxii::Response;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

fn indicators(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"value":"10.1.{}.{}","indicator_type":"IP","score":1,"timestamp":"2024-01-01T00:00:00Z","modified":"2024-02-01T00:00:00.{:06}Z"}}"#,
                i / 256,
                i % 256,
                i
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn store() -> MemoryStore {
    feed_store(r#"{"Feed": "type:IP"}"#, &indicators(30), "faults")
}

fn blob(store: &MemoryStore, key: &str) -> Vec<u8> {
    store.blobs.borrow().get(key).cloned().unwrap_or_else(|| panic!("no blob {key}"))
}

fn pointer(store: &MemoryStore) -> Pointer {
    serde_json::from_slice(&blob(store, POINTER_KEY)).unwrap()
}

fn manifest(store: &MemoryStore) -> Manifest {
    serde_json::from_slice(&blob(store, &pointer(store).manifest)).unwrap()
}

fn index(store: &MemoryStore) -> CollectionIndex {
    serde_json::from_slice(&blob(store, &manifest(store).collections[0].index)).unwrap()
}

fn first_segment(store: &MemoryStore) -> String {
    index(store).streams["all"].segments[0].key.clone()
}

fn get(svc: &Service, store: &impl Store, path: &str, query: &[(&str, &str)], accept: &str) -> Response {
    call(svc, store, &request("GET", path, query, &[("accept", accept)]))
}

/// A 503 TAXII error with Retry-After whose description mentions `what`, and no objects.
fn assert_unavailable(r: &Response, what: &str) {
    let body = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, 503, "{body}");
    assert!(r.header("retry-after").is_some(), "Retry-After on {body}");
    assert!(r.header("content-type").unwrap().contains("taxii"), "a TAXII error: {:?}", r.header("content-type"));
    let j = json(r);
    assert_eq!(j["http_status"], "503");
    assert!(j.get("objects").is_none() && j.get("type").is_none());
    assert!(j["description"].as_str().unwrap().contains(what), "{what:?} not in {body}");
}

/// The collection's path; its id is the same in every store built here.
fn collection() -> String {
    format!("/threatintel/collections/{}", manifest(&store()).collections[0].id)
}

fn objects_path() -> String {
    format!("{}/objects/", collection())
}

#[test]
fn damaged_or_missing_blobs_are_503s_that_say_which() {
    let svc = Service::new(Settings::default());
    // Each fault on a fresh store and a fresh cache: what is cached is not read again.
    type Damage = fn(&MemoryStore) -> String;
    let cases: Vec<(&str, Damage)> = vec![
        ("missing segment", |s| {
            let k = first_segment(s);
            s.blobs.borrow_mut().remove(&k);
            format!("{k} is missing")
        }),
        ("corrupted segment", |s| {
            let k = first_segment(s);
            let mut b = blob(s, &k);
            let n = b.len() - 3;
            b[n] ^= 0x20;
            s.blobs.borrow_mut().insert(k.clone(), b);
            format!("{k} does not match its hash")
        }),
        ("truncated manifest", |s| {
            let k = pointer(s).manifest;
            let mut b = blob(s, &k);
            b.truncate(b.len() / 2);
            s.blobs.borrow_mut().insert(k.clone(), b);
            format!("{k} does not match its hash")
        }),
        ("pointer to a snapshot that does not exist", |s| {
            let p = Pointer {
                snapshot: "0123456789abcdef0123456789abcdef".into(),
                manifest: "manifest/0123456789abcdef0123456789abcdef".into(),
                published: pointer(s).published,
                history: Vec::new(),
                keep: None,
                sources: Vec::new(),
            };
            s.blobs.borrow_mut().insert(POINTER_KEY.into(), serde_json::to_vec(&p).unwrap());
            "manifest/0123456789abcdef0123456789abcdef is missing".into()
        }),
        ("pointer that is not JSON", |s| {
            s.blobs.borrow_mut().insert(POINTER_KEY.into(), b"{\"snapshot\":".to_vec());
            "current pointer is not valid".into()
        }),
        ("missing collection index", |s| {
            let k = manifest(s).collections[0].index.clone();
            s.blobs.borrow_mut().remove(&k);
            format!("{k} is missing")
        }),
    ];
    for (name, damage) in cases {
        let s = store();
        let what = damage(&s);
        let svc = Service::new(svc.settings.clone());
        for accept in [V21, V20] {
            let r = get(&svc, &s, &objects_path(), &[], accept);
            assert_unavailable(&r, &what);
            eprintln!("{name} over {accept}: ok");
        }
    }
}

#[test]
fn a_corrupted_id_shard_fails_lookups_by_id_but_not_pages() {
    let s = store();
    let idx = index(&s);
    let shard = idx.id_shards[0].clone();
    let mut b = blob(&s, &shard);
    b[1] ^= 0x01;
    s.blobs.borrow_mut().insert(shard.clone(), b);
    let svc = Service::new(Settings::default());
    let page = get(&svc, &s, &objects_path(), &[("limit", "5")], V21);
    assert_eq!(page.status, 200);
    let id = json(&page)["objects"][0]["id"].as_str().unwrap().to_string();
    let r = get(&svc, &s, &format!("{}/objects/{id}/", collection()), &[], V21);
    assert_unavailable(&r, &format!("{shard} does not match its hash"));
    let r = get(&svc, &s, &objects_path(), &[("match[id]", &id)], V21);
    assert_unavailable(&r, "does not match its hash");
}

#[test]
fn responses_name_their_snapshot() {
    let s = store();
    let svc = Service::new(Settings::default());
    let id = pointer(&s).snapshot;
    let r = get(&svc, &s, &objects_path(), &[("limit", "5")], V21);
    assert_eq!(r.header(SNAPSHOT_HEADER), Some(id.as_str()));
    // A page by `next` alone names the snapshot its token continues, read without the pointer.
    let next = json(&r)["next"].as_str().unwrap().to_string();
    let r = get(&svc, &s, &objects_path(), &[("next", &next)], V21);
    assert_eq!((r.status, r.header(SNAPSHOT_HEADER)), (200, Some(id.as_str())));
    // Discovery reads no snapshot.
    assert_eq!(get(&svc, &s, "/taxii2/", &[], V21).header(SNAPSHOT_HEADER), None);
    // An unavailable snapshot still says which one the pointer named.
    let index_key = manifest(&s).collections[0].index.clone();
    s.blobs.borrow_mut().remove(&index_key);
    let svc = Service::new(Settings::default());
    let r = get(&svc, &s, &objects_path(), &[], V21);
    assert_eq!((r.status, r.header(SNAPSHOT_HEADER)), (503, Some(id.as_str())));
}

/// A future that is ready `ms` milliseconds after it is first polled (a thread wakes it).
struct Sleep {
    ms: u64,
    done: Arc<AtomicBool>,
    started: bool,
}

fn sleep(ms: u32) -> Sleep {
    Sleep { ms: u64::from(ms), done: Arc::new(AtomicBool::new(false)), started: false }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if !self.started {
            self.started = true;
            let (done, waker, ms) = (self.done.clone(), cx.waker().clone(), self.ms);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(ms));
                done.store(true, Ordering::SeqCst);
                waker.wake();
            });
        }
        Poll::Pending
    }
}

/// A store that answers after `delay_ms` (or never, with `None`).
struct Slow {
    inner: MemoryStore,
    delay_ms: Option<u32>,
}

impl Store for Slow {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.delay_ms {
            Some(ms) => sleep(ms).await,
            None => std::future::pending::<()>().await,
        }
        self.inner.get(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        if self.delay_ms.is_none() {
            std::future::pending::<()>().await;
        }
        self.inner.exists(key).await
    }
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner.put(key, bytes).await
    }
}

#[test]
fn race_returns_the_first_to_finish() {
    assert_eq!(pollster::block_on(race(async { 7 }, sleep(1000))), Some(7));
    assert_eq!(pollster::block_on(race(std::future::pending::<u8>(), sleep(10))), None);
    assert_eq!(
        pollster::block_on(race(
            async {
                sleep(5).await;
                1
            },
            sleep(2000)
        )),
        Some(1)
    );
}

#[test]
fn a_store_that_does_not_answer_in_time_is_a_503_and_a_fast_one_is_not() {
    let svc = Service::new(Settings::default());
    let hung = Deadline { inner: Slow { inner: store(), delay_ms: None }, ms: 50, sleep };
    let t = Instant::now();
    let r = get(&svc, &hung, &objects_path(), &[], V21);
    assert!(t.elapsed() < Duration::from_secs(5), "the deadline cut the read short: {:?}", t.elapsed());
    assert_unavailable(&r, "current took longer than 50 ms (STORE_TIMEOUT_MS)");
    assert!(pollster::block_on(hung.exists("current")).unwrap_err().0.contains("took longer than 50 ms"));

    let slow = Deadline { inner: Slow { inner: store(), delay_ms: Some(200) }, ms: 50, sleep };
    assert_unavailable(&get(&svc, &slow, &objects_path(), &[], V21), "took longer than 50 ms");

    // Slower than usual but within the deadline: a full answer.
    let svc = Service::new(Settings::default());
    let ok = Deadline { inner: Slow { inner: store(), delay_ms: Some(5) }, ms: 2000, sleep };
    let r = get(&svc, &ok, &objects_path(), &[], V21);
    assert_eq!(r.status, 200);
    assert_eq!(json(&r)["objects"].as_array().unwrap().len(), 30);
    // Writes are not timed.
    pollster::block_on(hung.put("x", vec![1])).unwrap();
}
