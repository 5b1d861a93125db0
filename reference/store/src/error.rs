//! The store's error type, shared by every backend.

use crate::Revision;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Create found the key already present.
    #[error("key {0:?} already exists")]
    AlreadyExists(String),
    /// The key is not present.
    #[error("key {0:?} not found")]
    NotFound(String),
    /// A compare-and-swap saw a different mod_revision than expected.
    #[error("key {key:?} is at revision {actual}, not {expected}")]
    Conflict {
        key: String,
        expected: Revision,
        actual: Revision,
    },
    /// The requested revision has been compacted away.
    #[error("revision {requested} has been compacted (compacted up to {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    /// The requested revision is in the future.
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    /// The backend could not be reached or failed. For a write, the outcome is
    /// unknown: it may have been applied.
    #[error("store backend unavailable: {0}")]
    Unavailable(String),
    /// The backend was reached but could not complete the request now: etcd without a
    /// leader (no majority, or an election running) or timing out its proposal. The
    /// message is etcd's (`etcdserver: request timed out`), which upstream shows as
    /// is. For a write, the outcome is unknown: it may still be applied.
    #[error("{0}")]
    Timeout(String),
    /// The backend refused the value as larger than it accepts (etcd's
    /// `--max-request-bytes`, 1.5 MiB by default): the request itself is at fault, so
    /// sending it again cannot help. The message is the backend's.
    #[error("{0}")]
    TooLarge(String),
    /// The backend's data on disk or on the wire is not what it should be.
    #[error("store data corrupt: {0}")]
    Corrupt(String),
    /// The store spec string could not be parsed.
    #[error("invalid store spec {spec:?}: {reason}")]
    InvalidSpec { spec: String, reason: String },
}

impl StoreError {
    /// Whether a failed write may have been applied after all (the backend was
    /// unreachable or did not confirm in time), so what it allocated must be kept.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Timeout(_))
    }
}
