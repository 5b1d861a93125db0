//! The `memory` backend: the MVCC engine in process memory, lost when the process ends.
//!
//! Entry point: [`MemoryStore::new`] (or `open("memory")`).

use async_trait::async_trait;
use bytes::Bytes;

use crate::embedded::Embedded;
use crate::engine::Engine;
use crate::{
    KeyValue, ListOptions, ListResult, MemberHealth, Revision, Store, StoreError, WatchStream,
};

/// A store held entirely in memory.
#[derive(Clone)]
pub struct MemoryStore {
    shared: Embedded,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store at revision 0.
    pub fn new() -> Self {
        MemoryStore {
            shared: Embedded::new(Engine::default()),
        }
    }
}

/// Writes that need no logging.
fn no_log(_: &crate::engine::Op) -> Result<(), StoreError> {
    Ok(())
}

#[async_trait]
impl Store for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        Ok(self.shared.get(key))
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StoreError> {
        self.shared.list(prefix, &opts)
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        let (rev, ()) = self
            .shared
            .write(|e| Ok((e.plan_create(key, value)?, ())), no_log)?;
        Ok(rev)
    }

    async fn update(
        &self,
        key: &str,
        expected: Revision,
        value: Bytes,
    ) -> Result<Revision, StoreError> {
        let (rev, ()) = self
            .shared
            .write(|e| Ok((e.plan_update(key, expected, value)?, ())), no_log)?;
        Ok(rev)
    }

    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<(Revision, KeyValue), StoreError> {
        self.shared.write(|e| e.plan_delete(key, expected), no_log)
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        self.shared.watch(prefix, after)
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.shared.lock().compact(revision)
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.shared.revision())
    }

    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.shared.compacted())
    }

    async fn health(&self) -> Vec<MemberHealth> {
        vec![MemberHealth {
            name: "memory".into(),
            healthy: true,
            message: "ok".into(),
        }]
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_watcher_that_reads_late_still_gets_every_event_in_order() {
        let store = MemoryStore::new();
        let mut watch = store.watch("/r/", 0).await.unwrap();
        for i in 0..1000 {
            store
                .create(&format!("/r/{i:04}"), Bytes::from("v"))
                .await
                .unwrap();
        }
        store.create("/other", Bytes::from("v")).await.unwrap();
        for want in 1..=1000 {
            let batch = watch.next().await.unwrap().unwrap();
            assert_eq!(batch.len(), 1);
            assert_eq!(batch[0].revision(), want);
        }
    }

    #[tokio::test]
    async fn a_watch_from_a_compacted_revision_fails() {
        let store = MemoryStore::new();
        for i in 0..5 {
            store
                .create(&format!("/k{i}"), Bytes::from("v"))
                .await
                .unwrap();
        }
        store.compact(4).await.unwrap();
        assert!(matches!(
            store.watch("/", 2).await,
            Err(StoreError::Compacted { .. })
        ));
        let mut from3 = store.watch("/", 3).await.unwrap();
        assert_eq!(from3.next().await.unwrap().unwrap()[0].revision(), 4);
    }
}
