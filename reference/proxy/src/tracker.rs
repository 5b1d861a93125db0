//! Service and EndpointSlice tracking: two informers (`refkube_common::informers`: list +
//! watch, re-listing after errors with backoff) and a change signal. Entry point:
//! [`Tracker::start`]; [`Tracker::snapshot`] turns the caches into a [`ProxyModel`].

use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher;
use kube::{Api, Client};
use refkube_common::informers::{Informed, Informer};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::config::IpFamily;
use crate::model::{ProxyModel, build_model};

/// The caches stopped before they were filled (the watch task ended).
pub use refkube_common::informers::NotSynced;

/// Watches Services and EndpointSlices in every namespace.
pub struct Tracker {
    services: Arc<Informer<Service>>,
    slices: Arc<Informer<EndpointSlice>>,
    changed: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("services", &self.services.list().len())
            .field("slices", &self.slices.list().len())
            .finish()
    }
}

/// Starts an informer over every `K`, and a task that signals `changed` on each change.
fn spawn_informer<K: Informed>(
    client: &Client,
    changed: Arc<Notify>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Arc<Informer<K>> {
    let (informer, task) = Informer::new(Api::<K>::all(client.clone()), watcher::Config::default());
    let mut rx = informer.subscribe();
    tasks.push(tokio::spawn(task));
    tasks.push(tokio::spawn(async move {
        loop {
            match rx.recv().await {
                // Every change may change the model; `notify_one` stores a permit so a
                // change that lands while a sync runs is not lost. Falling behind also
                // means something changed.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => changed.notify_one(),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }));
    informer
}

impl Tracker {
    /// Start watching through `client`.
    pub fn start(client: Client) -> Self {
        let changed = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        let services = spawn_informer(&client, changed.clone(), &mut tasks);
        let slices = spawn_informer(&client, changed.clone(), &mut tasks);
        Self {
            services,
            slices,
            changed,
            tasks,
        }
    }

    /// Wait until both caches hold a complete first list (upstream does not sync rules
    /// before Services and EndpointSlices have been received).
    pub async fn wait_synced(&self) -> Result<(), NotSynced> {
        self.services.wait_synced().await?;
        self.slices.wait_synced().await
    }

    /// Resolves when something changed since the last call.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// The model for `node_name` and `family` from the current caches.
    pub fn snapshot(&self, node_name: &str, family: IpFamily) -> ProxyModel {
        let services: Vec<Service> = self.services.list().iter().map(|s| (**s).clone()).collect();
        let slices: Vec<EndpointSlice> = self.slices.list().iter().map(|s| (**s).clone()).collect();
        build_model(&services, &slices, node_name, family)
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
