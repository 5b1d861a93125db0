//! Service and EndpointSlice tracking: two kube-rs reflectors (list + watch, re-listing
//! after errors with backoff) feeding local caches, and a change signal. Entry point:
//! [`Tracker::start`]; [`Tracker::snapshot`] turns the caches into a [`ProxyModel`].

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::config::IpFamily;
use crate::model::{ProxyModel, build_model};

/// The caches stopped before they were filled (the reflector task ended).
#[derive(Debug, thiserror::Error)]
#[error("the {0} watch ended before its first list completed")]
pub struct NotSynced(pub &'static str);

/// Watches Services and EndpointSlices in every namespace.
pub struct Tracker {
    services: Store<Service>,
    slices: Store<EndpointSlice>,
    changed: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("services", &self.services.len())
            .field("slices", &self.slices.len())
            .finish()
    }
}

fn spawn_reflector<K>(
    api: Api<K>,
    what: &'static str,
    changed: Arc<Notify>,
) -> (Store<K>, JoinHandle<()>)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream =
        reflector::reflector(writer, watcher(api, watcher::Config::default())).default_backoff();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                // Every event may change the model; `notify_one` stores a permit so a change
                // that lands while a sync runs is not lost.
                Ok(_) => changed.notify_one(),
                Err(e) => {
                    tracing::warn!(resource = what, error = %e, "watch failed; re-listing after backoff")
                }
            }
        }
    });
    (reader, task)
}

impl Tracker {
    /// Start watching through `client`.
    pub fn start(client: Client) -> Self {
        let changed = Arc::new(Notify::new());
        let (services, t1) = spawn_reflector(
            Api::<Service>::all(client.clone()),
            "services",
            changed.clone(),
        );
        let (slices, t2) = spawn_reflector(
            Api::<EndpointSlice>::all(client),
            "endpointslices",
            changed.clone(),
        );
        Self {
            services,
            slices,
            changed,
            tasks: vec![t1, t2],
        }
    }

    /// Wait until both caches hold a complete first list (upstream does not sync rules
    /// before Services and EndpointSlices have been received).
    pub async fn wait_synced(&self) -> Result<(), NotSynced> {
        self.services
            .wait_until_ready()
            .await
            .map_err(|_| NotSynced("services"))?;
        self.slices
            .wait_until_ready()
            .await
            .map_err(|_| NotSynced("endpointslices"))?;
        Ok(())
    }

    /// Resolves when something changed since the last call.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// The model for `node_name` and `family` from the current caches.
    pub fn snapshot(&self, node_name: &str, family: IpFamily) -> ProxyModel {
        let services: Vec<Service> = self
            .services
            .state()
            .iter()
            .map(|s| (**s).clone())
            .collect();
        let slices: Vec<EndpointSlice> =
            self.slices.state().iter().map(|s| (**s).clone()).collect();
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
