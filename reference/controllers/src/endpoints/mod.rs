//! The Endpoints controller (§6): one Endpoints object per selector service, listing its
//! pods' addresses and resolved ports. `plan` decides, `driver` writes.
//! Entry point: [`driver::start`].

pub mod driver;
pub mod plan;

use k8s_openapi::api::core::v1::{Pod, Service};

use crate::runtime::informers::Informer;
use crate::runtime::worker::key_of;
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
