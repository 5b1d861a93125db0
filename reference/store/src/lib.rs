//! refkube-store: the revisioned key-value store that holds all cluster state.
//!
//! Entry point: [`Store`], implemented by the `memory`, `file` and `etcd` backends and
//! opened from a spec string with [`open`]. The store's revision is the objects'
//! `resourceVersion`, exactly as kube-apiserver uses etcd's revision: every successful
//! write bumps one global counter, and an object's resourceVersion is the revision of the
//! write that produced it (its `mod_revision`).
//!
//! - [`open`]`("memory" | "file:DIR" | "etcd:URL[,URL...]")` gives an `Arc<dyn Store>`;
//!   [`MemoryStore`], [`FileStore`] and [`EtcdStore`] can also be built directly.
//! - Periodic compaction is the API server's job (`refkube_apiserver::compactor`), as
//!   kube-apiserver compacts etcd; the store only offers [`Store::compact`].
//! - [`conformance::run_all`] checks any backend against the contract below.
//! - [`etcd::process::EtcdCluster`] starts local etcd members (tests, local clusters).

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

pub mod conformance;
mod counting;
mod embedded;
mod engine;
mod error;
pub mod etcd;
pub mod file;
pub mod memory;
mod spec;
mod wal;
mod walfile;

pub use counting::CountingStore;
pub use error::StoreError;
pub use etcd::{EtcdConfig, EtcdStore};
pub use file::{FileConfig, FileStore};
pub use memory::MemoryStore;
pub use spec::{Spec, open};

/// A store revision. Revisions start at 1 after the first write; 0 means "nothing yet".
pub type Revision = i64;

/// One stored key with its value and the revisions etcd would report for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// Revision of the write that created the key (reset by delete + create).
    pub create_revision: Revision,
    /// Revision of the last write to the key: the object's resourceVersion.
    pub mod_revision: Revision,
}

/// A page of a range read at one revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListResult {
    pub items: Vec<KeyValue>,
    /// The revision the list was served at (the store's current one when `at` was None).
    pub revision: Revision,
    /// True when `limit` cut the page and more keys follow the last one returned.
    pub more: bool,
}

/// What a range read asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Return only keys that sort strictly after this one (for paging).
    pub start_after: Option<String>,
    /// At most this many items; 0 means no limit.
    pub limit: usize,
    /// Read at this past revision instead of the current one. Fails with
    /// [`StoreError::Compacted`] when it is below the compaction point (as in etcd, the
    /// state *at* the compaction revision stays readable), and with
    /// [`StoreError::FutureRevision`] when it is above the current revision.
    pub at: Option<Revision>,
}

/// The kind of change a watch event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The key was created (its create_revision equals this event's revision).
    Put,
    /// The key existed and was overwritten.
    Modify,
    /// The key was deleted; `kv` holds the value it had just before.
    Delete,
}

/// One change to one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: EventKind,
    /// For Put/Modify, the new value; for Delete, the last value before the delete,
    /// with `mod_revision` set to the revision of the delete.
    pub kv: KeyValue,
    /// For Modify and Delete, the value before this change.
    pub prev: Option<KeyValue>,
}

impl WatchEvent {
    /// The revision of the write that produced this event.
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// A watch stream yields batches: every event of one revision (one transaction) comes
/// in one batch, in key order, and batches come in strictly increasing revision order.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<Vec<WatchEvent>, StoreError>> + Send>>;

/// A revisioned key-value store with etcd's semantics.
///
/// Guarantees every backend must keep (checked by the conformance suite in
/// [`conformance`]): revisions are strictly increasing and never reused; a watch started
/// from revision `r` delivers every change with revision > `r` under its prefix, exactly
/// once, in order, with no gaps, grouped per revision; a read below the compaction point,
/// or a watch needing a revision below it, fails with [`StoreError::Compacted`]; an
/// acknowledged write survives
/// as far as the backend promises (memory: process lifetime; file and etcd: crashes).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for logs and component status ("memory", "file", "etcd").
    fn backend(&self) -> &'static str;

    /// Reads one key at the current revision.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;

    /// Reads every key under `prefix`, in key order.
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StoreError>;

    /// Creates a key; fails with [`StoreError::AlreadyExists`] if it is present.
    /// Returns the new revision.
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError>;

    /// Overwrites a key if its mod_revision is still `expected`; otherwise fails with
    /// [`StoreError::Conflict`] (or [`StoreError::NotFound`] if it is gone).
    async fn update(
        &self,
        key: &str,
        expected: Revision,
        value: Bytes,
    ) -> Result<Revision, StoreError>;

    /// Deletes a key, if `expected` is given only when its mod_revision still equals it.
    /// Returns the revision of the delete and the value that was deleted.
    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<(Revision, KeyValue), StoreError>;

    /// Watches every key under `prefix` for changes after revision `after`.
    /// `after` = 0 means "from now": only changes after the current revision.
    /// Fails with [`StoreError::FutureRevision`] when `after` is above the current
    /// revision, and with [`StoreError::Compacted`] when the first revision it needs
    /// (`after + 1`) is below the compaction point; a watcher that falls behind a later
    /// compaction gets one `Compacted` item and the stream ends.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError>;

    /// Forgets history below `revision` (etcd semantics: reads at `revision` itself and
    /// watches from it still work; older ones fail with [`StoreError::Compacted`]).
    /// Current values are kept. Compacting at or below the compaction point fails with
    /// `Compacted`; above the current revision with `FutureRevision`.
    async fn compact(&self, revision: Revision) -> Result<(), StoreError>;

    /// The current revision (that of the last write).
    async fn current_revision(&self) -> Result<Revision, StoreError>;

    /// The highest compacted revision (0 if never compacted).
    async fn compacted_revision(&self) -> Result<Revision, StoreError>;

    /// Whether the backend is healthy, with a message for `componentstatuses`, one
    /// entry per member (a single entry for the embedded backends).
    async fn health(&self) -> Vec<MemberHealth>;
}

/// Health of one store member, as `kubectl get componentstatuses` reports `etcd-N`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberHealth {
    pub name: String,
    pub healthy: bool,
    pub message: String,
}
