//! The `file` backend: the memory engine made durable by a write-ahead log in one
//! directory, so an acknowledged write survives `kill -9` and power loss.
//!
//! Entry point: [`FileStore::open`] (or `open("file:DIR")`). Every write is planned under
//! the engine lock, appended to the log and synced (`fdatasync`) before it is applied
//! and acknowledged. Compaction rewrites the log as a snapshot of what is retained.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;

use crate::embedded::Embedded;
use crate::engine::{Engine, Op};
use crate::walfile::WalFile;
use crate::{
    KeyValue, ListOptions, ListResult, MemberHealth, Revision, Store, StoreError, WatchStream,
};

/// Where and how a file store keeps its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileConfig {
    /// The directory holding `LOCK` and `wal`; created if missing.
    pub dir: PathBuf,
    /// Sync each write to disk before acknowledging it (default true). Turning it off
    /// loses the durability promise; it exists to measure what syncing costs.
    pub fsync: bool,
}

impl FileConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileConfig {
            dir: dir.into(),
            fsync: true,
        }
    }

    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }
}

/// A store kept durably in one directory. Only one may have a directory open at a time.
#[derive(Clone)]
pub struct FileStore {
    shared: Embedded,
    wal: Arc<Mutex<WalFile>>,
    dir: PathBuf,
}

impl FileStore {
    /// Locks the directory and replays its log. Blocking: call it at startup or in
    /// `spawn_blocking`. Fails `Unavailable` if the directory is in use or unreadable,
    /// `Corrupt` if the log is damaged anywhere but its final record.
    pub fn open(config: FileConfig) -> Result<FileStore, StoreError> {
        let (wal, engine) = WalFile::open(&config.dir, config.fsync)?;
        tracing::info!(dir = %config.dir.display(), revision = engine.revision(), "opened file store");
        Ok(FileStore {
            shared: Embedded::new(engine),
            wal: Arc::new(Mutex::new(wal)),
            dir: config.dir,
        })
    }

    /// Plans, logs and applies one write on a blocking thread (the log syncs to disk).
    async fn write<T: Send + 'static>(
        &self,
        plan: impl FnOnce(&Engine) -> Result<(Op, T), StoreError> + Send + 'static,
    ) -> Result<(Revision, T), StoreError> {
        let (shared, wal) = (self.shared.clone(), self.wal.clone());
        let task = tokio::task::spawn_blocking(move || {
            shared.write(plan, |op| {
                let mut wal = wal.lock().unwrap_or_else(PoisonError::into_inner);
                Ok(wal.append(op)?)
            })
        });
        task.await
            .map_err(|e| StoreError::Unavailable(format!("file store write task failed: {e}")))?
    }
}

#[async_trait]
impl Store for FileStore {
    fn backend(&self) -> &'static str {
        "file"
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        Ok(self.shared.get(key))
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StoreError> {
        self.shared.list(prefix, &opts)
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        let key = key.to_string();
        Ok(self
            .write(move |e| Ok((e.plan_create(&key, value)?, ())))
            .await?
            .0)
    }

    async fn update(
        &self,
        key: &str,
        expected: Revision,
        value: Bytes,
    ) -> Result<Revision, StoreError> {
        let key = key.to_string();
        Ok(self
            .write(move |e| Ok((e.plan_update(&key, expected, value)?, ())))
            .await?
            .0)
    }

    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<(Revision, KeyValue), StoreError> {
        let key = key.to_string();
        self.write(move |e| e.plan_delete(&key, expected)).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        self.shared.watch(prefix, after)
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        let (shared, wal) = (self.shared.clone(), self.wal.clone());
        let task = tokio::task::spawn_blocking(move || {
            // Exclude writers through the rewrite so no write lands in the old log after
            // the snapshot was taken; readers only wait for the in-memory compaction.
            let _writer = shared.writer();
            let snap = {
                let mut engine = shared.lock();
                engine.compact(revision)?;
                engine.snapshot()
            };
            let mut wal = wal.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(wal.rewrite(&snap)?)
        });
        task.await.map_err(|e| {
            StoreError::Unavailable(format!("file store compaction task failed: {e}"))
        })?
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.shared.revision())
    }

    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.shared.compacted())
    }

    async fn health(&self) -> Vec<MemberHealth> {
        let wal = self.wal.lock().unwrap_or_else(PoisonError::into_inner);
        let (healthy, message) = match wal.check() {
            Ok(()) => (true, "ok".to_string()),
            Err(e) => (false, e.to_string()),
        };
        vec![MemberHealth {
            name: format!("file:{}", self.dir.display()),
            healthy,
            message,
        }]
    }
}
