//! The Endpoints controller (§6): one Endpoints object per selector service, listing its
//! pods' addresses and resolved ports. `plan` decides, `driver` writes.
//! Entry point: [`driver::start`].

pub mod driver;
pub mod plan;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Service};
use tokio::task::JoinHandle;

use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{key_of, spawn_watch};
use crate::util::selector::matches;
use crate::util::service::service_selector;

/// Keys of the services in the pod's namespace whose selector matches the pod.
pub fn services_for_pod(services: &Informer<Service>, pod: &Pod) -> Vec<String> {
    services
        .list()
        .into_iter()
        .filter(|s| s.metadata.namespace == pod.metadata.namespace)
        .filter(|s| {
            service_selector(s).is_some_and(|sel| matches(Some(&sel), pod.metadata.labels.as_ref()))
        })
        .map(|s| key_of(s.as_ref()))
        .collect()
}

/// The watches both endpoint controllers (Endpoints and EndpointSlice) start with: a
/// Service queues itself, and a Pod (before and after a change) queues every Service
/// that selects it. Both watches re-list with `resync`.
pub fn watch_services_and_pods(
    services: &Arc<Informer<Service>>,
    pods: &Arc<Informer<Pod>>,
    queue: &Arc<WorkQueue>,
    resync: impl Fn() + Clone + Send + Sync + 'static,
) -> Vec<JoinHandle<()>> {
    let q = queue.clone();
    let by_service = spawn_watch(
        services,
        move |c: &Change<Service>| {
            c.latest()
                .into_iter()
                .for_each(|s| q.add(key_of(s.as_ref())))
        },
        resync.clone(),
    );
    let (q, s) = (queue.clone(), services.clone());
    let by_pod = spawn_watch(
        pods,
        move |c: &Change<Pod>| {
            for pod in c.old.iter().chain(c.new.iter()) {
                services_for_pod(&s, pod).into_iter().for_each(|k| q.add(k));
            }
        },
        resync,
    );
    vec![by_service, by_pod]
}
