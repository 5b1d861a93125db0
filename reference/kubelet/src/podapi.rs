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

/// The status write as upstream's status manager sends it: a strategic merge patch, so
/// `conditions` merge by `type` and a condition another component added after the
/// kubelet last saw the pod (the disruption controller's `DisruptionTarget`, say)
/// survives; `$setElementOrder` keeps the kubelet's order, and the pod's UID guards
/// against writing to a pod of the same name created since. A static pod's UID is not
/// its mirror's (the API object written to), so its writes carry no UID: upstream
/// translates to the mirror's UID read back from the API, which the worker does not hold.
pub fn status_patch(pod: &Pod, status: &PodStatus) -> serde_json::Value {
    let mut body = serde_json::to_value(status).unwrap_or_default();
    if let Some(conditions) = &status.conditions {
        let order: Vec<_> = conditions
            .iter()
            .map(|c| serde_json::json!({ "type": c.type_ }))
            .collect();
        body["$setElementOrder/conditions"] = serde_json::Value::Array(order);
    }
    if crate::static_pods::is_static(pod) {
        return serde_json::json!({ "status": body });
    }
    serde_json::json!({
        "metadata": { "uid": pod.metadata.uid },
        "status": body,
    })
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
        let patch = status_patch(pod, status);
        self.api(pod)
            .patch_status(
                &pod_name,
                &PatchParams::default(),
                &Patch::Strategic(&patch),
            )
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_condition_added_since_the_kubelet_last_looked_survives_its_status_write() {
        let meta = json!({"name": "p", "namespace": "d", "uid": "u1"});
        let stored = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "status": {
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI"},
        ]}});
        let pod: Pod = serde_json::from_value(json!({"metadata": meta})).unwrap();
        let status: PodStatus = serde_json::from_value(json!({"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "PodScheduled", "status": "True"},
        ]}))
        .unwrap();
        let pods = refkube_resources::registry::lookup("", "v1", "pods").unwrap();
        let merged =
            refkube_resources::patch::strategic_merge(pods, &stored, &status_patch(&pod, &status))
                .unwrap();
        let types: Vec<_> = merged["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["Ready", "PodScheduled", "DisruptionTarget"]);
        assert_eq!(merged["status"]["phase"], "Running");
        assert_eq!(merged["metadata"]["uid"], "u1");
    }

    #[test]
    fn a_static_pods_status_write_carries_no_uid_for_its_mirror_to_refuse() {
        let status = PodStatus::default();
        let api_pod: Pod =
            serde_json::from_value(json!({"metadata": {"name": "p", "uid": "u1"}})).unwrap();
        assert_eq!(status_patch(&api_pod, &status)["metadata"]["uid"], "u1");
        let static_pod: Pod = serde_json::from_value(json!({"metadata": {
            "name": "p", "uid": "hash",
            "annotations": {"kubernetes.io/config.source": "file"},
        }}))
        .unwrap();
        assert!(status_patch(&static_pod, &status).get("metadata").is_none());
    }
}
