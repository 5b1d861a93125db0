//! A client-go style work queue: dedup (a key is queued at most once, and never handed to
//! two workers at the same time), delayed adds, and per-key exponential retry backoff.
//! Entry points: [`WorkQueue::add`], [`WorkQueue::get`], [`WorkQueue::done`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

/// Per-key exponential backoff (`ItemExponentialFailureRateLimiter`): the n-th consecutive
/// failure of a key waits `base * 2^n`, capped at `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimiterConfig {
    /// First retry delay; upstream's default controller rate limiter uses 5 ms.
    pub base: Duration,
    /// Cap on the delay; upstream uses 1000 s.
    pub max: Duration,
}

impl Default for RateLimiterConfig {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(5),
            max: Duration::from_secs(1000),
        }
    }
}

impl RateLimiterConfig {
    /// The delay before retry number `failures` (0-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 2u32.checked_pow(failures.min(31)).unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .map_or(self.max, |d| d.min(self.max))
    }
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<String>,
    dirty: HashSet<String>,
    processing: HashSet<String>,
    failures: HashMap<String, u32>,
    shutting_down: bool,
}

/// A deduplicating, rate-limited queue of object keys.
pub struct WorkQueue {
    inner: Mutex<Inner>,
    notify: Notify,
    limiter: RateLimiterConfig,
}

impl std::fmt::Debug for WorkQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkQueue")
            .field("len", &self.len())
            .finish()
    }
}

impl WorkQueue {
    /// A new empty queue.
    pub fn new(limiter: RateLimiterConfig) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            notify: Notify::new(),
            limiter,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a worker panicked mid-update; the sets stay usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `key` unless it is already waiting; a key being processed is re-queued when
    /// its worker calls [`done`](Self::done).
    pub fn add(&self, key: impl Into<String>) {
        let key = key.into();
        let mut inner = self.lock();
        if inner.shutting_down || !inner.dirty.insert(key.clone()) {
            return;
        }
        if inner.processing.contains(&key) {
            return;
        }
        inner.queue.push_back(key);
        drop(inner);
        self.notify.notify_one();
    }

    /// Queues `key` after `delay`.
    pub fn add_after(self: &Arc<Self>, key: impl Into<String>, delay: Duration) {
        let key = key.into();
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let queue = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(queue) = queue.upgrade() {
                queue.add(key);
            }
        });
    }

    /// Queues `key` after its next backoff delay, and counts the failure.
    pub fn add_rate_limited(self: &Arc<Self>, key: impl Into<String>) -> Duration {
        let key = key.into();
        let delay = {
            let mut inner = self.lock();
            let failures = inner.failures.entry(key.clone()).or_insert(0);
            let delay = self.limiter.delay(*failures);
            *failures = failures.saturating_add(1);
            delay
        };
        self.add_after(key, delay);
        delay
    }

    /// Forgets the failure history of `key` (after a successful sync).
    pub fn forget(&self, key: &str) {
        self.lock().failures.remove(key);
    }

    /// How many times `key` has failed in a row.
    pub fn num_requeues(&self, key: &str) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// Waits for the next key; `None` once the queue is shut down.
    pub async fn get(&self) -> Option<String> {
        loop {
            let notified = self.notify.notified();
            {
                let mut inner = self.lock();
                if let Some(key) = inner.queue.pop_front() {
                    inner.dirty.remove(&key);
                    inner.processing.insert(key.clone());
                    if !inner.queue.is_empty() {
                        // Wake another worker: notify_one only stores one permit.
                        self.notify.notify_one();
                    }
                    return Some(key);
                }
                if inner.shutting_down {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Marks `key` as processed; re-queues it if it was added meanwhile.
    pub fn done(&self, key: &str) {
        let mut inner = self.lock();
        inner.processing.remove(key);
        if inner.dirty.contains(key) {
            inner.queue.push_back(key.to_string());
            drop(inner);
            self.notify.notify_one();
        }
    }

    /// Number of keys waiting.
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// True when no key is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops handing out keys; waiting workers get `None`.
    pub fn shutdown(&self) {
        self.lock().shutting_down = true;
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_milliseconds_up_to_a_thousand_seconds() {
        let l = RateLimiterConfig::default();
        assert_eq!(l.delay(0), Duration::from_millis(5));
        assert_eq!(l.delay(1), Duration::from_millis(10));
        assert_eq!(l.delay(10), Duration::from_millis(5120));
        assert_eq!(l.delay(40), Duration::from_secs(1000));
    }

    #[tokio::test]
    async fn a_key_added_twice_is_queued_once() {
        let q = WorkQueue::new(RateLimiterConfig::default());
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.len(), 2);
        assert_eq!(q.get().await.as_deref(), Some("a"));
        assert_eq!(q.get().await.as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn a_key_added_while_processing_is_requeued_on_done_not_handed_out_twice() {
        let q = WorkQueue::new(RateLimiterConfig::default());
        q.add("a");
        let key = q.get().await.unwrap();
        q.add("a");
        assert!(
            q.is_empty(),
            "must not be handed to a second worker while in flight"
        );
        q.done(&key);
        assert_eq!(q.get().await.as_deref(), Some("a"));
    }

    #[tokio::test]
    async fn rate_limited_adds_back_off_and_forget_resets() {
        let q = WorkQueue::new(RateLimiterConfig {
            base: Duration::from_millis(1),
            max: Duration::from_millis(8),
        });
        assert_eq!(q.add_rate_limited("a"), Duration::from_millis(1));
        assert_eq!(q.add_rate_limited("a"), Duration::from_millis(2));
        assert_eq!(q.num_requeues("a"), 2);
        q.forget("a");
        assert_eq!(q.num_requeues("a"), 0);
        let got = tokio::time::timeout(Duration::from_secs(5), q.get())
            .await
            .unwrap();
        assert_eq!(got.as_deref(), Some("a"));
    }

    #[tokio::test]
    async fn shutdown_releases_waiting_workers() {
        let q = WorkQueue::new(RateLimiterConfig::default());
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.get().await });
        tokio::task::yield_now().await;
        q.shutdown();
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .unwrap()
                .unwrap(),
            None
        );
    }
}
