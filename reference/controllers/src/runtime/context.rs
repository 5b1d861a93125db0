//! What every controller driver gets: the client, the shared informers, the config.

use std::sync::Arc;

use kube::Client;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::events::EventSink;
use super::informers::SharedInformers;
use super::queue::WorkQueue;
use super::worker::{Reconciler, run_controller};
use crate::config::ControllerManagerConfig;

/// Shared state handed to each controller's `start` function.
#[derive(Clone)]
pub struct Ctx {
    /// The API client.
    pub client: Client,
    /// One informer per resource type, shared by all controllers.
    pub informers: Arc<SharedInformers>,
    /// The manager's configuration.
    pub config: Arc<ControllerManagerConfig>,
    /// This instance's host name (events' `source.host`).
    pub host: String,
    /// Becomes true once every informer has listed: workers never act on a partial cache.
    pub synced: watch::Receiver<bool>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// An event sink reporting as `component` (e.g. `replicaset-controller`).
    pub fn events(&self, component: &str) -> EventSink {
        EventSink::new(self.client.clone(), component, &self.host)
    }

    /// The configured worker count for `controller`, else `default`.
    pub fn workers(&self, controller: &str, default: usize) -> usize {
        self.config
            .workers
            .get(controller)
            .copied()
            .unwrap_or(default)
    }

    /// Spawns the controller's workers; they start pulling keys once caches are synced.
    pub fn spawn_workers<R: Reconciler>(
        &self,
        name: &'static str,
        queue: Arc<WorkQueue>,
        reconciler: Arc<R>,
        default_workers: usize,
    ) -> JoinHandle<()> {
        let workers = self.workers(name, default_workers);
        let mut synced = self.synced.clone();
        tokio::spawn(async move {
            if synced.wait_for(|s| *s).await.is_err() {
                return;
            }
            tracing::info!(
                controller = name,
                workers,
                "caches synced; starting workers"
            );
            run_controller(name, queue, reconciler, workers).await;
        })
    }
}
