//! How pod workers write back to the API: the [`PodApi`] trait, implemented against the
//! API server ([`KubePodApi`]) and in memory ([`MemoryPodApi`], for tests).

use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use tokio::sync::watch;

/// Errors writing pods.
#[derive(Debug, thiserror::Error)]
pub enum PodApiError {
    /// The API server refused or was unreachable.
    #[error("{op} pod {namespace}/{name}: {source}")]
    Kube {
        /// `patching status of` or `deleting`.
        op: &'static str,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Client error.
        #[source]
        source: kube::Error,
    },
}

/// Writes pod status and performs the kubelet's final delete.
#[async_trait::async_trait]
pub trait PodApi: Send + Sync {
    /// Writes `status` through `pods/{name}/status`.
    async fn patch_status(&self, pod: &Pod, status: &PodStatus) -> Result<(), PodApiError>;
    /// Deletes the pod with `gracePeriodSeconds=0` and a UID precondition, once its
    /// containers are stopped.
    async fn delete(&self, pod: &Pod) -> Result<(), PodApiError>;
}

/// [`PodApi`] against an API server.
#[derive(Clone)]
pub struct KubePodApi {
    client: kube::Client,
}

impl std::fmt::Debug for KubePodApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubePodApi").finish_non_exhaustive()
    }
}

impl KubePodApi {
    /// Writes through `client`.
    pub fn new(client: kube::Client) -> Self {
        KubePodApi { client }
    }

    fn api(&self, pod: &Pod) -> Api<Pod> {
        Api::namespaced(
            self.client.clone(),
            pod.metadata.namespace.as_deref().unwrap_or("default"),
        )
    }
}

fn name(pod: &Pod) -> (String, String) {
    (
        pod.metadata.namespace.clone().unwrap_or_default(),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

#[async_trait::async_trait]
impl PodApi for KubePodApi {
    async fn patch_status(&self, pod: &Pod, status: &PodStatus) -> Result<(), PodApiError> {
        let (namespace, pod_name) = name(pod);
        // A merge patch replaces the lists the kubelet owns (conditions are rebuilt with
        // other owners' conditions kept, see status::conditions).
        let patch = serde_json::json!({ "status": status });
        self.api(pod)
            .patch_status(&pod_name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|_| ())
            .map_err(|source| PodApiError::Kube {
                op: "patching status of",
                namespace,
                name: pod_name,
                source,
            })
    }

    async fn delete(&self, pod: &Pod) -> Result<(), PodApiError> {
        let (namespace, pod_name) = name(pod);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match self.api(pod).delete(&pod_name, &params).await {
            Ok(_) => Ok(()),
            // Already gone, or a new pod took the name: nothing of ours to delete.
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(source) => Err(PodApiError::Kube {
                op: "deleting",
                namespace,
                name: pod_name,
                source,
            }),
        }
    }
}

/// [`PodApi`] in memory: keeps every status written and the deleted pods' UIDs.
#[derive(Debug, Clone)]
pub struct MemoryPodApi {
    statuses: Arc<Mutex<Vec<PodStatus>>>,
    by_pod: Arc<Mutex<std::collections::HashMap<String, PodStatus>>>,
    latest: watch::Sender<Option<PodStatus>>,
    deleted: Arc<Mutex<Vec<String>>>,
}

impl Default for MemoryPodApi {
    fn default() -> Self {
        MemoryPodApi {
            statuses: Arc::default(),
            by_pod: Arc::default(),
            latest: watch::channel(None).0,
            deleted: Arc::default(),
        }
    }
}

impl MemoryPodApi {
    /// An empty recorder.
    pub fn new() -> Self {
        MemoryPodApi::default()
    }
    /// Every status written, in order.
    pub fn statuses(&self) -> Vec<PodStatus> {
        self.statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
    /// The latest status written per pod name.
    pub fn latest_by_pod(&self) -> std::collections::HashMap<String, PodStatus> {
        self.by_pod
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
    /// Receives the latest status as it is written.
    pub fn subscribe(&self) -> watch::Receiver<Option<PodStatus>> {
        self.latest.subscribe()
    }
    /// UIDs of pods deleted.
    pub fn deleted(&self) -> Vec<String> {
        self.deleted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait::async_trait]
impl PodApi for MemoryPodApi {
    async fn patch_status(&self, pod: &Pod, status: &PodStatus) -> Result<(), PodApiError> {
        self.by_pod
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                pod.metadata.name.clone().unwrap_or_default(),
                status.clone(),
            );
        self.statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(status.clone());
        self.latest.send_replace(Some(status.clone()));
        Ok(())
    }

    async fn delete(&self, pod: &Pod) -> Result<(), PodApiError> {
        self.deleted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pod.metadata.uid.clone().unwrap_or_default());
        Ok(())
    }
}
