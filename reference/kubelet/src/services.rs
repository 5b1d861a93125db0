//! The kubelet's view of the cluster's Services, for the service environment variables
//! ([`crate::worker::service_env`]): an informer over every Service, or nothing (a
//! kubelet without an API server, the pod worker's tests). Entry point: [`Services`].

use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use refkube_common::informers::Informer;

/// What a container's service variables are built from.
#[derive(Clone, Default)]
pub struct Services {
    informer: Option<Arc<Informer<Service>>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("watched", &self.informer.is_some())
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
        Services { informer: None }
    }

    /// The Services `informer` keeps.
    pub fn watched(informer: Arc<Informer<Service>>) -> Self {
        Services {
            informer: Some(informer),
        }
    }

    /// Every Service; an error for an API pod while the first list has not arrived (a
    /// static pod gets none then, as upstream).
    pub fn list(&self, static_pod: bool) -> Result<Vec<Arc<Service>>, &'static str> {
        let Some(informer) = &self.informer else {
            return Ok(Vec::new());
        };
        if informer.has_synced() {
            Ok(informer.list())
        } else if static_pod {
            Ok(Vec::new())
        } else {
            Err(NOT_SYNCED)
        }
    }
}
