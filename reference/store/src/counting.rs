//! A [`Store`] decorator that counts the watches opened on it ([`CountingStore`]), so
//! the API server's tests and benchmarks can prove its watch cache shares one store
//! watch per resource however many clients watch.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{
    KeyValue, ListOptions, ListResult, MemberHealth, Revision, Store, StoreError, WatchStream,
};
use async_trait::async_trait;
use bytes::Bytes;

/// Delegates every call to `inner`, counting `watch` calls.
pub struct CountingStore {
    inner: Arc<dyn Store>,
    watches: AtomicUsize,
}

impl std::fmt::Debug for CountingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingStore")
            .field("watches", &self.watches())
            .finish()
    }
}

impl CountingStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            watches: AtomicUsize::new(0),
        }
    }

    /// Store watches opened so far.
    pub fn watches(&self) -> usize {
        self.watches.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Store for CountingStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StoreError> {
        self.inner.list(prefix, opts).await
    }
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        self.inner.create(key, value).await
    }
    async fn update(
        &self,
        key: &str,
        expected: Revision,
        value: Bytes,
    ) -> Result<Revision, StoreError> {
        self.inner.update(key, expected, value).await
    }
    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<(Revision, KeyValue), StoreError> {
        self.inner.delete(key, expected).await
    }
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        self.watches.fetch_add(1, Ordering::SeqCst);
        self.inner.watch(prefix, after).await
    }
    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.inner.compact(revision).await
    }
    async fn current_revision(&self) -> Result<Revision, StoreError> {
        self.inner.current_revision().await
    }
    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        self.inner.compacted_revision().await
    }
    async fn health(&self) -> Vec<MemberHealth> {
        self.inner.health().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[tokio::test]
    async fn watches_are_counted_and_calls_reach_the_inner_store() {
        let store = CountingStore::new(Arc::new(MemoryStore::new()));
        let _w = store.watch("/a/", 0).await.unwrap();
        let _v = store.watch("/b/", 0).await.unwrap();
        store
            .create("/a/x", Bytes::from_static(b"1"))
            .await
            .unwrap();
        assert_eq!(store.watches(), 2);
        assert!(store.get("/a/x").await.unwrap().is_some());
    }
}
