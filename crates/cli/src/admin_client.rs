//! Publishing a snapshot directory to a worker (native only): upload the blobs the store lacks, then switch
//! the current pointer in one request. Re-running an interrupted publish uploads only what is still missing.

use edge_core::snapshot::format::Pointer;
use edge_core::store::Listed;
use edge_core::time::Timestamp;
use edge_core::wire::MAX_KEYS_PER_CALL;
use edge_feed::snapshot_dir::SnapshotDir;
use std::time::Duration;

/// What a publish did.
#[derive(Debug, Default)]
pub struct Published {
    pub snapshot: String,
    pub blobs: usize,
    pub uploaded: usize,
    pub bytes_uploaded: u64,
}

#[derive(serde::Deserialize)]
struct ListPage {
    blobs: Vec<ListedBlob>,
    cursor: Option<String>,
}

#[derive(serde::Deserialize)]
struct ListedBlob {
    key: String,
    uploaded: Timestamp,
    size: u64,
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

/// The admin API of one worker.
pub struct Admin {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Admin {
    pub fn new(url: &str, token: &str) -> Admin {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Admin { base: url.trim_end_matches('/').to_string(), token: token.to_string(), agent }
    }

    fn call(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<(u16, Vec<u8>), String> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let result = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("POST", Some(b)) => self.agent.post(&url).header("Authorization", &auth).send(b),
            ("PUT", Some(b)) => self.agent.put(&url).header("Authorization", &auth).send(b),
            _ => unreachable!("admin calls are GET, POST or PUT with a body"),
        };
        let mut resp = result.map_err(|e| format!("cannot reach {url}: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| format!("{method} {url}: cannot read the answer: {e}"))?;
        match status {
            401 => Err(format!("{url} refused the admin token: pass the worker's ADMIN_TOKEN with --token")),
            404 if path == "/admin/missing" => {
                Err(format!("{url}: the admin path is off or absent: set the ADMIN_TOKEN secret on the worker"))
            }
            _ => Ok((status, bytes)),
        }
    }

    fn missing(&self, keys: &[String]) -> Result<Vec<String>, String> {
        let mut missing = Vec::new();
        for chunk in keys.chunks(MAX_KEYS_PER_CALL) {
            let (status, body) =
                self.call("POST", "/admin/missing", Some(&serde_json::to_vec(chunk).expect("keys serialise")))?;
            if status != 200 {
                return Err(format!(
                    "asking which blobs are missing failed ({status}): {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            let v: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| format!("unexpected answer to /admin/missing: {e}"))?;
            missing.extend(v["missing"].as_array().into_iter().flatten().filter_map(|k| k.as_str().map(String::from)));
        }
        Ok(missing)
    }

    /// A blob from the worker's store, if it has it (to read the previous snapshot).
    pub fn blob(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        match self.call("GET", &format!("/admin/blobs/{key}"), None)? {
            (200, b) => Ok(Some(b)),
            (404, _) => Ok(None),
            (s, b) => Err(format!("reading {key} failed ({s}): {}", String::from_utf8_lossy(&b))),
        }
    }

    /// The manifest key of the snapshot the worker serves now, if any.
    pub fn current_manifest(&self) -> Result<Option<String>, String> {
        Ok(self.pointer()?.map(|p| p.manifest))
    }

    /// The worker's current pointer (with its history of replaced snapshots), if anything is published.
    pub fn pointer(&self) -> Result<Option<Pointer>, String> {
        match self.call("GET", "/admin/current", None)? {
            (200, b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| format!("the worker's current pointer is not valid: {e}")),
            (404, _) => Ok(None),
            (s, b) => Err(format!("reading the current snapshot failed ({s}): {}", String::from_utf8_lossy(&b))),
        }
    }

    /// Every key in the worker's store with its upload time, a page (1000 keys) per call; `progress` gets the
    /// count so far.
    pub fn list_all(&self, progress: &dyn Fn(usize)) -> Result<Vec<Listed>, String> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/admin/blobs?cursor={}", percent_encode(c)),
                None => "/admin/blobs".to_string(),
            };
            let (status, body) = self.call("GET", &path, None)?;
            if status != 200 {
                return Err(format!(
                    "listing the worker's blobs failed ({status}): {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            let page: ListPage =
                serde_json::from_slice(&body).map_err(|e| format!("unexpected answer to /admin/blobs: {e}"))?;
            out.extend(page.blobs.into_iter().map(|b| Listed { key: b.key, uploaded: b.uploaded, size: b.size }));
            progress(out.len());
            match page.cursor {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
    }

    /// Deletes up to 1000 blobs; returns those the worker refused because its current snapshot reaches them.
    pub fn delete(&self, keys: &[String]) -> Result<Vec<String>, String> {
        let (status, body) =
            self.call("POST", "/admin/delete", Some(&serde_json::to_vec(keys).expect("keys serialise")))?;
        if status != 200 {
            return Err(format!("deleting blobs failed ({status}): {}", String::from_utf8_lossy(&body)));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("unexpected answer to /admin/delete: {e}"))?;
        Ok(v["refused"].as_array().into_iter().flatten().filter_map(|k| k.as_str().map(String::from)).collect())
    }

    /// Uploads what the worker lacks, then makes the snapshot current. `progress` is told of each upload.
    /// `keep` (a duration such as "24h") tells the worker how long replaced snapshots stay in its history.
    pub fn publish(
        &self,
        dir: &SnapshotDir,
        keep: Option<&str>,
        progress: &dyn Fn(usize, usize),
    ) -> Result<Published, String> {
        let keys = dir.keys()?;
        let missing = self.missing(&keys)?;
        let mut out = Published { snapshot: dir.file.snapshot.clone(), blobs: keys.len(), ..Published::default() };
        for (i, key) in missing.iter().enumerate() {
            let bytes = dir.blob(key)?;
            let (status, body) = self.call("PUT", &format!("/admin/blobs/{key}"), Some(&bytes))?;
            if status != 201 {
                return Err(format!("uploading {key} failed ({status}): {}", String::from_utf8_lossy(&body)));
            }
            out.uploaded += 1;
            out.bytes_uploaded += bytes.len() as u64;
            progress(i + 1, missing.len());
        }
        let still = self.missing(&keys)?;
        if !still.is_empty() {
            return Err(format!(
                "{} blobs are still missing after the upload (first: {}): run publish again",
                still.len(),
                still[0]
            ));
        }
        let body = serde_json::to_vec(&serde_json::json!({ "manifest": dir.file.manifest, "keep": keep }))
            .expect("serialises");
        let (status, answer) = self.call("PUT", "/admin/current", Some(&body))?;
        if status != 200 {
            return Err(format!(
                "switching to the new snapshot failed ({status}): {}",
                String::from_utf8_lossy(&answer)
            ));
        }
        // A prune running elsewhere between the last check and the switch could have deleted an old blob this
        // snapshot reuses; from the switch on the worker refuses to delete what the current snapshot reaches, so one
        // more check after it (re-uploading anything gone) closes that window.
        for key in self.missing(&keys)? {
            let bytes = dir.blob(&key)?;
            let (status, body) = self.call("PUT", &format!("/admin/blobs/{key}"), Some(&bytes))?;
            if status != 201 {
                return Err(format!("re-uploading {key} failed ({status}): {}", String::from_utf8_lossy(&body)));
            }
            out.uploaded += 1;
            out.bytes_uploaded += bytes.len() as u64;
        }
        Ok(out)
    }
}

impl edge_feed::snapshot_dir::BlobSource for Admin {
    fn blob(&self, key: &str) -> Result<Vec<u8>, String> {
        let bytes = Admin::blob(self, key)?.ok_or_else(|| format!("the worker has no blob {key}"))?;
        if !edge_core::snapshot::format::verify_blob(key, &bytes) {
            return Err(format!("the worker's blob {key} does not match its hash"));
        }
        Ok(bytes)
    }
}
