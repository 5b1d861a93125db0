//! The driver of the stale `DisruptionTarget` cleanup ([`super::stale`]): upstream's
//! second queue in the disruption controller. Every pod change whose `DisruptionTarget`
//! will go stale queues the pod for when it does; the sync re-reads the pod from the
//! informer and writes its status with the condition False, with the pod's
//! resourceVersion, so a racing write (the deletion that makes it not stale) wins and the
//! sync looks again. Entry point: [`start`].

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use tokio::task::JoinHandle;

use super::stale::{cleared, stale_in};
use crate::runtime::context::Ctx;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, key_of, spawn_watch, split_key};
use crate::util::time::now_seconds;

/// The queue's name (upstream `stale_pod_disruption`); `workers` overrides use it too.
const NAME: &str = "disruption-stale-pods";
/// Upstream runs one worker for this queue.
const WORKERS: usize = 1;

struct StalePods {
    client: kube::Client,
    pods: Arc<Informer<Pod>>,
    timeout: Duration,
}

/// Queues `pod` for when its `DisruptionTarget` goes stale, if it will.
fn enqueue(queue: &Arc<WorkQueue>, pod: &Pod, timeout: Duration) {
    if let Some(after) = stale_in(pod, timeout, now_seconds()) {
        queue.add_after(key_of(pod), after);
    }
}

/// Shuts its queue down when dropped: the manager stops a controller by aborting its
/// tasks and shutting down the one queue it handed out, and this queue is the driver's
/// own, so the task holding the guard stands in for that.
struct ShutdownOnDrop(Arc<WorkQueue>);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

/// Starts the cleanup: a pod watch feeding its own queue, and its worker.
pub fn start(ctx: &Ctx) -> Vec<JoinHandle<()>> {
    let pods = ctx.informers.get::<Pod>();
    let timeout = ctx.config.stale_pod_disruption_timeout;
    let queue = WorkQueue::new(ctx.config.rate_limiter);
    let resync = {
        let (p, q) = (pods.clone(), queue.clone());
        move || p.list().iter().for_each(|pod| enqueue(&q, pod, timeout))
    };
    let q = queue.clone();
    let watch = spawn_watch(
        &pods,
        move |c: &Change<Pod>| {
            if let Some(pod) = c.latest() {
                enqueue(&q, pod, timeout);
            }
        },
        resync,
    );
    let reconciler = Arc::new(StalePods {
        client: ctx.client.clone(),
        pods,
        timeout,
    });
    let guard = ShutdownOnDrop(queue.clone());
    let holder = tokio::spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    vec![
        watch,
        ctx.spawn_workers(NAME, queue, reconciler, WORKERS),
        holder,
    ]
}

#[async_trait::async_trait]
impl Reconciler for StalePods {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (ns, name) = split_key(key);
        let Some(pod) = self.pods.get(ns, name) else {
            return Ok(None);
        };
        let now = now_seconds();
        match stale_in(&pod, self.timeout, now) {
            None => return Ok(None),
            Some(after) if after > Duration::ZERO => return Ok(Some(after)),
            Some(_) => {}
        }
        let Some(status) = cleared(&pod, self.timeout, now) else {
            return Ok(None);
        };
        let mut updated = (*pod).clone();
        updated.status = Some(status);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns.unwrap_or_default());
        api.replace_status(name, &PostParams::default(), &updated)
            .await?;
        tracing::info!(pod = %key, "reset stale DisruptionTarget condition to False");
        Ok(None)
    }
}
