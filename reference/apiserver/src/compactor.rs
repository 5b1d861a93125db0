//! Periodic store compaction, as kube-apiserver compacts etcd
//! (`--etcd-compaction-interval`, default 5 min): each tick compacts up to the revision
//! seen at the previous tick, so history always covers at least one interval.
//!
//! Entry point: [`spawn`]. Several API servers on one store may each compact; a
//! compaction at or below the current compaction point is simply ignored.

use std::sync::Arc;
use std::time::Duration;

use refkube_store::{Revision, Store};

/// The revision to compact to at this tick: the one seen at the previous tick.
pub fn target(previous_tick: Revision, compacted: Revision) -> Option<Revision> {
    (previous_tick > compacted).then_some(previous_tick)
}

pub fn spawn(store: Arc<dyn Store>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        let mut previous: Revision = 0;
        loop {
            tick.tick().await;
            let compacted = store.compacted_revision().await.unwrap_or(0);
            if let Some(rev) = target(previous, compacted)
                && let Err(e) = store.compact(rev).await
            {
                tracing::debug!(error = %e, rev, "compaction skipped");
            }
            match store.current_revision().await {
                Ok(r) => previous = r,
                Err(e) => tracing::warn!(error = %e, "reading the store revision failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_trails_one_tick_behind() {
        assert_eq!(target(0, 0), None);
        assert_eq!(target(10, 0), Some(10));
        assert_eq!(target(10, 10), None);
        assert_eq!(target(12, 10), Some(12));
    }
}
