//! The kubelet's view of the cluster's Services, for the service environment variables
//! ([`crate::worker::service_env`]): a reflector over every Service, or nothing (a
//! kubelet without an API server, the pod worker's tests). Entry point: [`Services`].

use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use kube::runtime::reflector::Store;

/// What a container's service variables are built from.
#[derive(Clone, Default)]
pub struct Services {
    store: Option<Store<Service>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("watched", &self.store.is_some())
            .finish()
    }
}

/// Upstream's error while the Services have not been listed once (the container waits
/// with `CreateContainerConfigError` and is tried again).
pub const NOT_SYNCED: &str =
    "services have not yet been read at least once, cannot construct envvars";

impl Services {
    /// No Services at all.
    pub fn none() -> Self {
        Services { store: None }
    }

    /// The Services a reflector keeps in `store`.
    pub fn watched(store: Store<Service>) -> Self {
        Services { store: Some(store) }
    }

    /// Every Service; an error for an API pod while the first list has not arrived (a
    /// static pod gets none then, as upstream).
    pub fn list(&self, static_pod: bool) -> Result<Vec<Arc<Service>>, &'static str> {
        let Some(store) = &self.store else {
            return Ok(Vec::new());
        };
        // Ready once the first list was applied; this never waits.
        let ready = futures::FutureExt::now_or_never(store.wait_until_ready());
        if matches!(ready, Some(Ok(()))) {
            Ok(store.state())
        } else if static_pod {
            Ok(Vec::new())
        } else {
            Err(NOT_SYNCED)
        }
    }
}
