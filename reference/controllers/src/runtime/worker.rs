//! The worker loop shared by all controllers: N workers pull keys from the queue and call
//! the controller's `sync`; failures retry with backoff, successes forget the key; a
//! periodic resync re-queues every primary object. Entry point: [`run_controller`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use super::expectations::Expectations;
use super::informers::{Change, Informed, Informer};
use super::queue::WorkQueue;

/// What a sync can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// An API call failed (retried with backoff).
    #[error("api request failed: {0}")]
    Api(#[from] kube::Error),
    /// The object is malformed in a way the controller cannot act on.
    #[error("invalid object {key}: {message}")]
    Invalid {
        /// The queue key.
        key: String,
        /// Why.
        message: String,
    },
    /// One or more writes of a plan failed (the first error is kept).
    #[error("{0}")]
    Partial(String),
}

/// A controller's sync handler for one key.
#[async_trait::async_trait]
pub trait Reconciler: Send + Sync + 'static {
    /// Reconciles `key`; `Ok(Some(d))` asks to look again after `d`.
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError>;
}

/// Splits a queue key into `(namespace, name)`; cluster-scoped keys have no namespace.
pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, key),
    }
}

/// The queue key of an object: `namespace/name`, or `name` when cluster-scoped.
pub fn key_of<K: kube::Resource>(obj: &K) -> String {
    let meta = obj.meta();
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// Runs `workers` workers over `queue` until the queue shuts down.
pub async fn run_controller<R: Reconciler>(
    name: &'static str,
    queue: Arc<WorkQueue>,
    reconciler: Arc<R>,
    workers: usize,
) {
    let mut tasks = Vec::new();
    for _ in 0..workers.max(1) {
        let queue = queue.clone();
        let reconciler = reconciler.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(key) = queue.get().await {
                match reconciler.sync(&key).await {
                    Ok(requeue) => {
                        queue.forget(&key);
                        if let Some(after) = requeue {
                            queue.add_after(key.clone(), after);
                        }
                    }
                    Err(e) => {
                        let delay = queue.add_rate_limited(key.clone());
                        tracing::info!(controller = name, %key, error = %e, ?delay, "sync failed; retrying");
                    }
                }
                queue.done(&key);
            }
        }));
    }
    futures::future::join_all(tasks).await;
}

/// Feeds an informer's changes to `handler`; if the subscription falls behind, `resync` is
/// called instead so nothing is missed.
pub fn spawn_watch<K: Informed>(
    informer: &Informer<K>,
    handler: impl Fn(&Change<K>) + Send + Sync + 'static,
    resync: impl Fn() + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    let mut rx = informer.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(change) => handler(&change),
                Err(broadcast::error::RecvError::Lagged(_)) => resync(),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

/// A resync that queues the key of every object `informer` holds, for [`spawn_watch`].
pub fn resync_all<K: Informed>(
    informer: &Arc<Informer<K>>,
    queue: &Arc<WorkQueue>,
) -> impl Fn() + Clone + Send + Sync + 'static {
    let (informer, queue) = (informer.clone(), queue.clone());
    move || enqueue_all(&informer, &queue)
}

/// The common wiring of a controller keyed by the objects it watches: every added or
/// changed object's key is queued, and all of them after a missed change.
pub fn spawn_watch_keys<K: Informed>(
    informer: &Arc<Informer<K>>,
    queue: &Arc<WorkQueue>,
) -> tokio::task::JoinHandle<()> {
    let q = queue.clone();
    spawn_watch(
        informer,
        move |c: &Change<K>| c.new.iter().for_each(|o| q.add(key_of(o.as_ref()))),
        resync_all(informer, queue),
    )
}

/// Every `period`, queues the key of every object in `informer` (upstream's resync).
pub fn spawn_resync<K: Informed>(
    informer: Arc<Informer<K>>,
    queue: Arc<WorkQueue>,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if period.is_zero() {
            return;
        }
        let mut tick = tokio::time::interval(period);
        tick.tick().await;
        loop {
            tick.tick().await;
            for obj in informer.list() {
                queue.add(key_of(obj.as_ref()));
            }
        }
    })
}

/// Queues every object of `informer` now.
/// The handler of a pod-owning controller's watch on its own objects: queue the key,
/// and on delete forget the key's expectations so a recreated owner starts afresh.
pub fn enqueue_owner<K: Informed>(
    queue: Arc<WorkQueue>,
    expectations: Arc<Expectations>,
) -> impl Fn(&Change<K>) + Send + Sync + 'static {
    move |c: &Change<K>| {
        if let Some(obj) = c.latest() {
            if c.is_delete() {
                expectations.delete(&key_of(obj.as_ref()));
            }
            queue.add(key_of(obj.as_ref()));
        }
    }
}

pub fn enqueue_all<K: Informed>(informer: &Informer<K>, queue: &WorkQueue) {
    for obj in informer.list() {
        queue.add(key_of(obj.as_ref()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_namespace_and_name() {
        assert_eq!(split_key("ns/web"), (Some("ns"), "web"));
        assert_eq!(split_key("node-1"), (None, "node-1"));
    }
}
