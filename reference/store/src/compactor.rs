//! Periodic compaction, as kube-apiserver runs it against etcd.
//!
//! Entry point: [`spawn_compactor`]. Every `interval` it compacts the store to the
//! revision it saw at the *previous* tick, so at least one interval of history is
//! always kept for watchers to resume from (kube-apiserver's `--etcd-compaction-interval`,
//! default 5 minutes). Without it, every backend keeps all history forever.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::{Revision, Store, StoreError};

/// How often to compact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactorConfig {
    /// Time between compactions (upstream default 5 minutes).
    pub interval: Duration,
}

impl Default for CompactorConfig {
    fn default() -> Self {
        CompactorConfig {
            interval: Duration::from_secs(5 * 60),
        }
    }
}

impl CompactorConfig {
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
}

/// The revision to compact to at a tick: the one seen at the previous tick, if it is
/// past what is already compacted.
pub fn compaction_target(previous_tick: Option<Revision>, compacted: Revision) -> Option<Revision> {
    previous_tick.filter(|rev| *rev > compacted && *rev > 0)
}

/// Starts the compaction loop on the current tokio runtime; abort the handle to stop it.
pub fn spawn_compactor(store: Arc<dyn Store>, config: CompactorConfig) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut previous: Option<Revision> = None;
        let mut ticker = tokio::time::interval(config.interval);
        ticker.tick().await; // the first tick fires at once; the loop waits a full interval
        loop {
            ticker.tick().await;
            match tick(&*store, previous).await {
                Ok(seen) => previous = Some(seen),
                Err(e) => {
                    tracing::warn!(error = %e, backend = store.backend(), "store compaction failed")
                }
            }
        }
    })
}

/// One tick: compact to the previous tick's revision, return the current one.
async fn tick(store: &dyn Store, previous: Option<Revision>) -> Result<Revision, StoreError> {
    let current = store.current_revision().await?;
    let compacted = store.compacted_revision().await?;
    if let Some(target) = compaction_target(previous, compacted) {
        match store.compact(target).await {
            // Another API server compacted past it first: that is fine.
            Ok(()) | Err(StoreError::Compacted { .. }) => {
                tracing::debug!(revision = target, "compacted store");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::MemoryStore;

    #[test]
    fn the_target_is_the_previous_ticks_revision_when_past_the_compaction_point() {
        assert_eq!(compaction_target(None, 0), None);
        assert_eq!(compaction_target(Some(0), 0), None);
        assert_eq!(compaction_target(Some(7), 3), Some(7));
        assert_eq!(compaction_target(Some(3), 3), None);
    }

    #[tokio::test]
    async fn a_tick_compacts_to_the_revision_of_the_tick_before() {
        let store = MemoryStore::new();
        store.create("/a", Bytes::from("1")).await.unwrap();
        let seen = tick(&store, None).await.unwrap();
        assert_eq!((seen, store.compacted_revision().await.unwrap()), (1, 0));
        store.create("/b", Bytes::from("1")).await.unwrap();
        let seen = tick(&store, Some(seen)).await.unwrap();
        assert_eq!((seen, store.compacted_revision().await.unwrap()), (2, 1));
    }

    #[tokio::test]
    async fn the_spawned_loop_compacts_on_its_own() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        store.create("/a", Bytes::from("1")).await.unwrap();
        let handle = spawn_compactor(
            store.clone(),
            CompactorConfig::default().with_interval(Duration::from_millis(10)),
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while store.compacted_revision().await.unwrap() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "compactor never compacted"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        handle.abort();
    }
}
