//! Upstream's last finder (`getScaleController`): a pod whose controller is none of the
//! built-in workload kinds is counted through that controller's `scale` subresource, so
//! custom controllers (CRDs with a scale subresource) are covered by budgets too.
//!
//! Entry point: [`scales_by_subresource`]; the plan then reads its answers as any other
//! finder's.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, GroupVersionKind};
use kube::discovery::pinned_kind;

use super::plan::Scale;
use crate::util::owner::controller_of;

/// The kinds the informer-backed finders answer for, and built-in kinds that have no
/// scale subresource (upstream would ask and get a 404, which means "no controller").
const BUILT_IN: &[&str] = &[
    "ReplicationController",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "Node",
];

/// The scale of every other controller of `pods`, by the controller's uid. A controller
/// whose kind has no scale subresource, or whose scale names another uid (a newer object
/// of the same name), is left out, as upstream does.
pub async fn scales_by_subresource(
    client: &kube::Client,
    pods: &[Arc<Pod>],
) -> HashMap<String, Scale> {
    let mut out = HashMap::new();
    for pod in pods {
        let Some(owner) = controller_of(&pod.metadata) else {
            continue;
        };
        if BUILT_IN.contains(&owner.kind.as_str()) || out.contains_key(&owner.uid) {
            continue;
        }
        let (group, version) = match owner.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", owner.api_version.as_str()),
        };
        let gvk = GroupVersionKind::gvk(group, version, &owner.kind);
        let Ok((resource, _)) = pinned_kind(client, &gvk).await else {
            continue;
        };
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
        let Ok(scale) = api.get_scale(&owner.name).await else {
            continue;
        };
        if scale.metadata.uid.as_deref() == Some(owner.uid.as_str()) {
            let replicas = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
            out.insert(
                owner.uid.clone(),
                Scale {
                    uid: owner.uid.clone(),
                    replicas,
                },
            );
        }
    }
    out
}
