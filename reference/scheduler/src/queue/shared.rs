//! [`SharedQueue`]: the scheduling queue behind a mutex, shared by the watch handlers
//! (producers) and the one scheduling loop (consumer), which sleeps until new work arrives
//! or the next backoff / unschedulable timeout is due.

use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{QueueConfig, QueuedPod, SchedulingQueue};

/// The queue shared between the watch handlers (producers) and the scheduling loop.
#[derive(Debug)]
pub struct SharedQueue {
    inner: Mutex<SchedulingQueue>,
    notify: Notify,
}

impl SharedQueue {
    /// Wraps a queue.
    pub fn new(config: QueueConfig) -> Self {
        SharedQueue {
            inner: Mutex::new(SchedulingQueue::new(config)),
            notify: Notify::new(),
        }
    }

    /// Runs `f` on the queue and wakes the consumer.
    pub fn with<R>(&self, f: impl FnOnce(&mut SchedulingQueue) -> R) -> R {
        let r = f(&mut self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
        self.notify.notify_one();
        r
    }

    /// Waits for the next pod (with the cycle number), or None once `cancel` fires.
    pub async fn pop(&self, cancel: &CancellationToken) -> Option<(QueuedPod, u64)> {
        loop {
            let wake = {
                let mut q = self
                    .inner
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(p) = q.pop(Instant::now()) {
                    return Some((p, q.scheduling_cycle()));
                }
                q.next_wakeup()
            };
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return None,
                () = self.notify.notified() => {}
                () = sleep => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;
    use serde_json::json;
    use std::sync::Arc;

    fn name(p: &QueuedPod) -> &str {
        p.pod.metadata.name.as_deref().unwrap()
    }

    #[tokio::test]
    async fn the_shared_queue_wakes_the_consumer_on_new_work_and_stops_on_cancel() {
        let q = Arc::new(SharedQueue::new(QueueConfig::default()));
        let cancel = CancellationToken::new();
        let consumer = {
            let (q, cancel) = (q.clone(), cancel.clone());
            tokio::spawn(async move { q.pop(&cancel).await.map(|(p, _)| name(&p).to_string()) })
        };
        tokio::task::yield_now().await;
        q.with(|q| q.add_or_update(pod("p", json!({})), Instant::now()));
        assert_eq!(consumer.await.unwrap().as_deref(), Some("p"));
        cancel.cancel();
        assert!(q.pop(&cancel).await.is_none());
    }
}
