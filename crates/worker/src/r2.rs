//! R2 as the core's [`Store`]: the bucket bound as `SNAPSHOTS` holds the snapshots' blobs and the pointer.

use edge_core::store::{Store, StoreError, Versioned};
use edge_core::time::Timestamp;
use worker::{Bucket, Conditional};

/// R2 as the core's store.
pub struct R2(pub Bucket);

impl Store for R2 {
    async fn get(&self, key: &str) -> std::result::Result<Option<Vec<u8>>, StoreError> {
        let obj = self.0.get(key).execute().await.map_err(|e| StoreError(format!("R2 get {key}: {e}")))?;
        let Some(obj) = obj else { return Ok(None) };
        match obj.body() {
            Some(body) => body.bytes().await.map(Some).map_err(|e| StoreError(format!("R2 read {key}: {e}"))),
            None => Ok(None),
        }
    }

    async fn exists(&self, key: &str) -> std::result::Result<bool, StoreError> {
        self.0.head(key).await.map(|o| o.is_some()).map_err(|e| StoreError(format!("R2 head {key}: {e}")))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> std::result::Result<(), StoreError> {
        self.0.put(key, bytes).execute().await.map(|_| ()).map_err(|e| StoreError(format!("R2 put {key}: {e}")))
    }

    /// The version is R2's etag.
    async fn get_versioned(&self, key: &str) -> std::result::Result<Option<Versioned>, StoreError> {
        let obj = self.0.get(key).execute().await.map_err(|e| StoreError(format!("R2 get {key}: {e}")))?;
        let Some(obj) = obj else { return Ok(None) };
        let version = obj.etag();
        match obj.body() {
            Some(body) => {
                let bytes = body.bytes().await.map_err(|e| StoreError(format!("R2 read {key}: {e}")))?;
                Ok(Some(Versioned { bytes, version }))
            }
            None => Ok(None),
        }
    }

    /// A conditional put: R2 writes only if the etag still matches (`expected` `None`: only if no object is there,
    /// `etagDoesNotMatch: "*"`), atomically, and answers no object when the condition failed.
    async fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&str>) -> std::result::Result<bool, StoreError> {
        let only_if = match expected {
            Some(etag) => Conditional { etag_matches: Some(etag.to_string()), ..Conditional::default() },
            None => Conditional { etag_does_not_match: Some("*".to_string()), ..Conditional::default() },
        };
        let written = self
            .0
            .put(key, bytes)
            .only_if(only_if)
            .execute()
            .await
            .map_err(|e| StoreError(format!("R2 put {key}: {e}")))?;
        Ok(written.is_some())
    }

    async fn list(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> std::result::Result<edge_core::store::Listing, StoreError> {
        let mut q = self.0.list().limit(limit.clamp(1, edge_core::store::MAX_BATCH) as u32);
        if let Some(c) = cursor {
            q = q.cursor(c);
        }
        let page = q.execute().await.map_err(|e| StoreError(format!("R2 list: {e}")))?;
        let keys = page
            .objects()
            .iter()
            .map(|o| edge_core::store::Listed {
                key: o.key(),
                uploaded: Timestamp(o.uploaded().as_millis() as i64 * 1000),
                size: o.size(),
            })
            .collect();
        Ok(edge_core::store::Listing { keys, cursor: if page.truncated() { page.cursor() } else { None } })
    }

    async fn delete(&self, keys: &[String]) -> std::result::Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.0.delete_multiple(keys).await.map_err(|e| StoreError(format!("R2 delete: {e}")))
    }
}
