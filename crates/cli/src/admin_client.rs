//! The client of a worker's admin API (native only), over [`crate::http`] and the wire contract in
//! [`edge_core::wire`]: ask which blobs are missing, upload them, switch the current pointer, read, list and
//! delete blobs. Publishing uploads what the store lacks (a few blobs at a time), then switches in one request: re-running an
//! interrupted publish uploads only what is still missing.

use crate::http::{Answer, Http, HttpError, Method};
use edge_core::snapshot::format::Pointer;
use edge_core::store::Listed;
use edge_core::wire::{self, BlobPage, Deleted, Missing, Replaces, SwitchConflict, SwitchRequest, MAX_KEYS_PER_CALL};
use edge_feed::snapshot_dir::{SnapshotDir, SnapshotDirError};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// How many blob uploads a publish has in flight at once.
pub(crate) const UPLOADERS: usize = 4;

/// What a publish did.
#[derive(Debug, Default)]
pub struct Published {
    pub snapshot: String,
    pub blobs: usize,
    pub uploaded: usize,
    pub bytes_uploaded: u64,
}

/// Why a publish stopped (the previous snapshot is still the one served).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The snapshot directory could not be read.
    #[error("{0}")]
    Snapshot(SnapshotDirError),
    #[error("{count} blobs are still missing after the upload (first: {first}): run publish again")]
    StillMissing { count: usize, first: String },
    /// The worker did not switch: the snapshot this publish replaces is no longer current (another publish came
    /// first), or it would move the feed back. `current` is what the worker serves now.
    #[error("the worker did not switch (409): {message}")]
    Conflict { message: String, current: Option<String> },
    /// The worker is older than the snapshot: switching to it would make every request an error.
    #[error(
        "the snapshot has format {format}, and the worker reads formats {reads:?} only: deploy the worker of this \
         taxii-edge version first (`npm run deploy`), then publish again (nothing was uploaded)"
    )]
    WorkerTooOld { format: u32, reads: Vec<u32> },
}

/// How a publish switches: what it says it replaces (`None`: the snapshot current just before the switch), and
/// whether it means to go back.
#[derive(Clone, Debug)]
pub struct Switch {
    pub keep: Option<String>,
    pub replaces: Option<Replaces>,
    pub rollback: bool,
    /// What `sync` pulled (kept in the pointer for `/api/status`).
    pub sources: Vec<edge_core::snapshot::format::SourceSync>,
    /// Blobs the worker was seen to hold a moment ago (a sync's build uploaded them, or asked and found them, as
    /// it wrote them): not asked about again before the switch, only after it, with the others.
    pub present: HashSet<String>,
}

impl Switch {
    /// How a publish of `dir` switches: it replaces the snapshot it was built on when the build recorded one
    /// (`SnapshotFile::built_on`; not for a rollback), else whatever is current when it switches.
    pub fn for_dir(dir: &SnapshotDir, keep: Option<String>, rollback: bool) -> Switch {
        let replaces = match &dir.file.built_on {
            Some(on) if !rollback => Some(Replaces::seen(on.snapshot.as_deref())),
            _ => None,
        };
        Switch { keep, replaces, rollback, sources: Vec::new(), present: HashSet::new() }
    }
}

/// A query-string value, percent-encoded.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Reads a JSON answer of the admin API.
fn parse<'a, T: serde::Deserialize<'a>>(answer: &'a Answer, what: &str) -> Result<T, HttpError> {
    serde_json::from_slice(&answer.body).map_err(|source| HttpError::BadAnswer { what: what.to_string(), source })
}

/// The admin API of one worker.
pub struct Admin {
    base: String,
    authorization: String,
    http: Http,
}

impl Admin {
    pub fn new(url: &str, token: &str) -> Admin {
        Admin {
            base: url.trim_end_matches('/').to_string(),
            authorization: format!("Bearer {token}"),
            http: Http::admin(),
        }
    }

    /// Sends an admin call; a refused token, or a worker without the admin path, is an error whatever the call.
    fn call(&self, method: Method, path: &str) -> Result<Answer, HttpError> {
        let url = format!("{}{path}", self.base);
        let answer = self.http.send(method, &url, &[("Authorization", &self.authorization)])?;
        match answer.status {
            401 => Err(HttpError::AdminToken { url }),
            404 if path == wire::MISSING => Err(HttpError::AdminOff { url }),
            _ => Ok(answer),
        }
    }

    pub(crate) fn missing(&self, keys: &[String]) -> Result<Vec<String>, HttpError> {
        // The calls go side by side (a publish asks about a few hundred blobs, 50 per call, before the switch and
        // after it); the answer keeps the keys' order, and a failed call is the answer.
        let chunks: Vec<&[String]> = keys.chunks(MAX_KEYS_PER_CALL).collect();
        let answers = side_by_side(&chunks, |chunk| self.ask_missing(chunk).map(|m| m.missing), &mut |_| {})?;
        Ok(answers.concat())
    }

    /// One `POST /admin/missing` (at most [`MAX_KEYS_PER_CALL`] keys): which the store lacks, and the formats the
    /// worker reads.
    fn ask_missing(&self, keys: &[String]) -> Result<Missing, HttpError> {
        let body = serde_json::to_vec(keys).expect("keys serialise");
        let answer = self.call(Method::Post(&body), wire::MISSING)?;
        if answer.status != 200 {
            return Err(HttpError::refused("asking which blobs are missing", &answer));
        }
        parse(&answer, "unexpected answer to /admin/missing")
    }

    /// Refuses to publish a snapshot whose format the worker does not read (a worker from before format 3 does not
    /// say which it reads, and reads format 2 only).
    fn check_reads(&self, dir: &SnapshotDir) -> Result<(), PublishError> {
        let format = dir.manifest().map_err(PublishError::Snapshot)?.format;
        let reads = self.formats_read()?;
        if !reads.contains(&format) {
            return Err(PublishError::WorkerTooOld { format, reads });
        }
        Ok(())
    }

    /// The snapshot formats the worker reads (a worker from before format 3 does not say: it reads format 2).
    pub(crate) fn formats_read(&self) -> Result<Vec<u32>, HttpError> {
        let page = self.ask_missing(&[])?;
        Ok(if page.formats.is_empty() { vec![2] } else { page.formats })
    }

    /// A blob from the worker's store, if it has it (to read the previous snapshot).
    pub fn blob(&self, key: &str) -> Result<Option<Vec<u8>>, HttpError> {
        let answer = self.call(Method::Get, &wire::blob_path(key))?;
        match answer.status {
            200 => Ok(Some(answer.body)),
            404 => Ok(None),
            _ => Err(HttpError::refused(format!("reading {key}"), &answer)),
        }
    }

    /// Uploads one blob.
    pub(crate) fn put_blob(&self, key: &str, bytes: &[u8], doing: &str) -> Result<(), HttpError> {
        let answer = self.call(Method::Put(bytes), &wire::blob_path(key))?;
        if answer.status != 201 {
            return Err(HttpError::refused(format!("{doing} {key}"), &answer));
        }
        Ok(())
    }

    /// The snapshot the worker's pointer names, for a switch to replace: `None` when nothing is published, or when
    /// the pointer is not valid (a storage fault left it; the worker treats it as nothing, and the switch repairs it).
    pub fn current_snapshot(&self) -> Result<Option<String>, HttpError> {
        let answer = self.call(Method::Get, wire::CURRENT)?;
        match answer.status {
            200 => Ok(serde_json::from_slice::<Pointer>(&answer.body).ok().map(|p| p.snapshot)),
            404 => Ok(None),
            _ => Err(HttpError::refused("reading the current snapshot", &answer)),
        }
    }

    /// The worker's current pointer (with its history of replaced snapshots), if anything is published.
    pub fn pointer(&self) -> Result<Option<Pointer>, HttpError> {
        let answer = self.call(Method::Get, wire::CURRENT)?;
        match answer.status {
            200 => parse(&answer, "the worker's current pointer is not valid").map(Some),
            404 => Ok(None),
            _ => Err(HttpError::refused("reading the current snapshot", &answer)),
        }
    }

    /// Every key in the worker's store with its upload time, a page (1000 keys) per call; `progress` gets the
    /// count so far.
    pub fn list_all(&self, progress: &dyn Fn(usize)) -> Result<Vec<Listed>, HttpError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("{}?cursor={}", wire::BLOBS, percent_encode(c)),
                None => wire::BLOBS.to_string(),
            };
            let answer = self.call(Method::Get, &path)?;
            if answer.status != 200 {
                return Err(HttpError::refused("listing the worker's blobs", &answer));
            }
            let page: BlobPage = parse(&answer, "unexpected answer to /admin/blobs")?;
            out.extend(page.blobs.into_iter().map(Listed::from));
            progress(out.len());
            match page.cursor {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
    }

    /// Deletes up to 1000 blobs; returns those the worker refused because its current snapshot reaches them.
    pub fn delete(&self, keys: &[String]) -> Result<Vec<String>, HttpError> {
        let body = serde_json::to_vec(keys).expect("keys serialise");
        let answer = self.call(Method::Post(&body), wire::DELETE)?;
        if answer.status != 200 {
            return Err(HttpError::refused("deleting blobs", &answer));
        }
        let deleted: Deleted = parse(&answer, "unexpected answer to /admin/delete")?;
        Ok(deleted.refused)
    }

    /// Uploads what the worker lacks, then makes the snapshot current with `switch` (`keep`, a duration such as
    /// "24h", tells the worker how long replaced snapshots stay in its history). `progress` is told of each upload.
    ///
    /// The worker is asked once about every blob the snapshot reaches (but those a compare-and-swap switch
    /// takes from the snapshot it replaces, and those `switch.present` names); the missing ones are uploaded
    /// [`UPLOADERS`] at a time, then checked again (only those) before the switch; after it, every blob asked
    /// about or present is checked once more. With `TAXII_EDGE_TIMINGS` set, each step's time is printed.
    pub fn publish(
        &self,
        dir: &SnapshotDir,
        switch: &Switch,
        progress: &dyn Fn(usize, usize),
    ) -> Result<Published, PublishError> {
        let keys = dir.keys().map_err(PublishError::Snapshot)?;
        // Blobs the build took from the snapshot a compare-and-swap switch replaces are on the worker: that snapshot
        // is current, and the worker refuses to delete what it reaches (and if it is no longer current, the switch
        // is refused). Only the others are asked about, before and after the switch: those the build says it
        // wrote, else those in `dir` (a build on a worker holds only what it wrote and what it read).
        let wrote = dir.file.built_on.as_ref().and_then(|on| on.wrote.as_ref());
        let asked: Vec<String> = match (&switch.replaces, wrote) {
            (None, _) => keys.clone(),
            (Some(_), Some(wrote)) => {
                let wrote: HashSet<&String> = wrote.iter().collect();
                keys.iter().filter(|k| wrote.contains(k)).cloned().collect()
            }
            (Some(_), None) => keys.iter().filter(|k| dir.has_blob(k)).cloned().collect(),
        };
        let step = crate::timings::Phases::start("publish:");
        self.check_reads(dir)?;
        let unseen: Vec<String> = asked.iter().filter(|k| !switch.present.contains(*k)).cloned().collect();
        let missing = self.missing(&unseen)?;
        step.mark(&format!("ask about {} of {} blobs ({} in all)", unseen.len(), asked.len(), keys.len()));
        let mut out = Published { snapshot: dir.file.snapshot.clone(), blobs: keys.len(), ..Published::default() };
        out.bytes_uploaded = self.upload(dir, &missing, "uploading", progress)?;
        out.uploaded = missing.len();
        step.mark(&format!("upload {} blobs, {} MB", missing.len(), out.bytes_uploaded / 1_000_000));
        let still = self.missing(&missing)?;
        if let Some(first) = still.first() {
            return Err(PublishError::StillMissing { count: still.len(), first: first.clone() });
        }
        self.switch(&dir.file.manifest, switch)?;
        step.mark("check the uploads and switch");
        // A prune running elsewhere between the first check and the switch could have deleted a blob of this
        // snapshot that no current snapshot reached; from the switch on the worker refuses to delete what the
        // current snapshot reaches, so one more check after it (re-uploading anything gone) closes that window.
        let gone = self.missing(&asked)?;
        out.bytes_uploaded += self.upload(dir, &gone, "re-uploading", &|_, _| {})?;
        out.uploaded += gone.len();
        step.mark("check again after the switch");
        Ok(out)
    }

    /// Uploads `keys` from `dir`, [`UPLOADERS`] requests at a time; returns the bytes sent. The first failure
    /// stops the uploads not yet started and is the answer.
    fn upload(
        &self,
        dir: &SnapshotDir,
        keys: &[String],
        doing: &str,
        progress: &dyn Fn(usize, usize),
    ) -> Result<u64, PublishError> {
        let mut count = 0;
        let sent = side_by_side(
            keys,
            |key| -> Result<u64, PublishError> {
                let bytes = dir.blob(key).map_err(PublishError::Snapshot)?;
                self.put_blob(key, &bytes, doing)?;
                Ok(bytes.len() as u64)
            },
            &mut |_| {
                count += 1;
                progress(count, keys.len());
            },
        )?;
        Ok(sent.iter().sum())
    }
}

impl Admin {
    /// Makes `manifest` current (`PUT /admin/current`); a 409 that names the current snapshot is a
    /// [`PublishError::Conflict`].
    pub fn switch(&self, manifest: &str, switch: &Switch) -> Result<(), PublishError> {
        let replaces = match &switch.replaces {
            Some(r) => r.clone(),
            None => Replaces::seen(self.current_snapshot()?.as_deref()),
        };
        let request = SwitchRequest {
            manifest: manifest.to_string(),
            keep: switch.keep.clone(),
            replaces,
            rollback: switch.rollback,
            sources: switch.sources.clone(),
        };
        let body = serde_json::to_vec(&request).expect("serialises");
        let answer = self.call(Method::Put(&body), wire::CURRENT)?;
        match answer.status {
            200 => Ok(()),
            409 => match serde_json::from_slice::<SwitchConflict>(&answer.body) {
                Ok(c) => Err(PublishError::Conflict { message: c.error, current: c.current }),
                Err(_) => Err(HttpError::refused("switching to the new snapshot", &answer).into()),
            },
            _ => Err(HttpError::refused("switching to the new snapshot", &answer).into()),
        }
    }
}

impl edge_feed::snapshot_dir::BlobSource for Admin {
    fn blob(&self, key: &str) -> Result<Vec<u8>, SnapshotDirError> {
        let bytes = Admin::blob(self, key)
            .map_err(|e| SnapshotDirError::Source(e.to_string()))?
            .ok_or_else(|| SnapshotDirError::Source(format!("the worker has no blob {key}")))?;
        if !edge_core::snapshot::format::verify_blob(key, &bytes) {
            return Err(SnapshotDirError::Source(format!("the worker's blob {key} does not match its hash")));
        }
        Ok(bytes)
    }
}

/// Calls `call` on each of `items`, [`UPLOADERS`] calls at a time (a single one on this thread), and returns the
/// answers in the items' order; `done` sees each success as it comes, on this thread. After a failure no further
/// call is started, and the first failure in the items' order is the answer.
fn side_by_side<T: Sync, R: Send, E: Send>(
    items: &[T],
    call: impl Fn(&T) -> Result<R, E> + Sync,
    done: &mut dyn FnMut(&R),
) -> Result<Vec<R>, E> {
    if let [item] = items {
        return call(item).inspect(|r| done(r)).map(|r| vec![r]);
    }
    let next = AtomicUsize::new(0);
    let mut answers: Vec<Option<Result<R, E>>> = items.iter().map(|_| None).collect();
    let (answer_tx, answer_rx) = mpsc::channel::<(usize, Result<R, E>)>();
    std::thread::scope(|scope| {
        for _ in 0..UPLOADERS.min(items.len()) {
            let (answer_tx, next, call) = (answer_tx.clone(), &next, &call);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { return };
                let answer = call(item);
                let failed = answer.is_err();
                if answer_tx.send((i, answer)).is_err() || failed {
                    return;
                }
            });
        }
        drop(answer_tx);
        for (i, answer) in answer_rx {
            match &answer {
                Ok(r) => done(r),
                // No call is started after a failure.
                Err(_) => next.store(items.len(), Ordering::Relaxed),
            }
            answers[i] = Some(answer);
        }
    });
    // An item is left uncalled only after a failure, so with none every answer is here.
    answers.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};

    /// A worker's `/admin/missing` on a local port, answering each call on a connection of its own: the keys that
    /// end in an odd digit are missing; a call that asks about `blob/fail` gets a 500.
    fn worker() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer(stream));
            }
        });
        url
    }

    fn answer(stream: std::net::TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = n.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let keys: Vec<String> = serde_json::from_slice(&body).unwrap();
        let (status, reply) = if keys.iter().any(|k| k == "blob/fail") {
            ("500 Internal Server Error", "{}".to_string())
        } else {
            let odd: Vec<&String> = keys.iter().filter(|k| k.ends_with(['1', '3', '5', '7', '9'])).collect();
            ("200 OK", serde_json::json!({ "missing": odd, "formats": [3] }).to_string())
        };
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
            reply.len()
        );
    }

    #[test]
    fn missing_asks_in_calls_side_by_side_and_answers_in_the_keys_order() {
        let admin = Admin::new(&worker(), "token");
        let keys: Vec<String> = (0..437).map(|i| format!("blob/{i}")).collect();
        let odd: Vec<String> = keys.iter().filter(|k| k.ends_with(['1', '3', '5', '7', '9'])).cloned().collect();
        assert_eq!(admin.missing(&keys).unwrap(), odd, "nine calls, their answers in order");
        assert_eq!(admin.missing(&[]).unwrap(), Vec::<String>::new());
        assert_eq!(admin.missing(&keys[..20]).unwrap(), odd[..10], "one call");
        let mut failing = keys.clone();
        failing.insert(300, "blob/fail".into());
        assert!(admin.missing(&failing).is_err(), "a failed call is the answer, never fewer keys");
    }
}
