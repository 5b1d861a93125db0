//! The StatefulSet decision (`stateful_set_control.go` updateStatefulSet,
//! `stateful_set_utils.go`): stable names `<set>-<ordinal>`, OrderedReady or Parallel
//! creation and reverse-ordinal deletion, per-pod claims, rolling update by revision.
//! Entry points: [`plan`], [`new_pod`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use crate::util::owner::Owner;
use crate::util::pods::{is_available, is_ready, phase};
use crate::util::time::Timestamp;

/// Pod label with the pod's own name.
pub const POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
/// Pod label with its ordinal.
pub const POD_INDEX: &str = "apps.kubernetes.io/pod-index";
/// Pod label with its revision.
pub const REVISION: &str = "controller-revision-hash";

/// Writes for one sync, in order: claims, then pods, then deletions.
#[derive(Debug, Default)]
pub struct StsPlan {
    /// Claims to create.
    pub claims: Vec<PersistentVolumeClaim>,
    /// Pods to create.
    pub create: Vec<Pod>,
    /// Pods to delete.
    pub delete: Vec<Arc<Pod>>,
    /// The status.
    pub status: StatefulSetStatus,
}

/// The ordinal of a pod named `<set>-<n>`.
pub fn ordinal(set: &str, pod: &str) -> Option<i32> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

fn claim_name(template: &str, set: &str, ord: i32) -> String {
    format!("{template}-{set}-{ord}")
}

/// The claims pod `ord` needs (`getPersistentVolumeClaims`).
pub fn claims_for(set: &StatefulSet, ord: i32) -> Vec<PersistentVolumeClaim> {
    let spec = set.spec.clone().unwrap_or_default();
    let selector_labels = spec.selector.match_labels.clone().unwrap_or_default();
    spec.volume_claim_templates
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            let name = claim_name(
                t.metadata.name.as_deref().unwrap_or_default(),
                &set.name_any(),
                ord,
            );
            let mut labels = t.metadata.labels.clone().unwrap_or_default();
            labels.extend(selector_labels.clone());
            PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: set.metadata.namespace.clone(),
                    labels: Some(labels),
                    annotations: t.metadata.annotations.clone(),
                    ..Default::default()
                },
                spec: t.spec,
                status: None,
            }
        })
        .collect()
}

/// `newVersionedStatefulSetPod`: name, identity labels, hostname/subdomain, claim volumes.
pub fn new_pod(set: &StatefulSet, ord: i32, revision: &str) -> Pod {
    let spec = set.spec.clone().unwrap_or_default();
    let set_name = set.name_any();
    let name = format!("{set_name}-{ord}");
    let meta = spec.template.metadata.clone().unwrap_or_default();
    let mut labels: BTreeMap<String, String> = meta.labels.unwrap_or_default();
    labels.insert(POD_NAME.into(), name.clone());
    labels.insert(POD_INDEX.into(), ord.to_string());
    labels.insert(REVISION.into(), revision.into());
    let mut pod_spec = spec.template.spec.clone().unwrap_or_default();
    pod_spec.hostname = Some(name.clone());
    pod_spec.subdomain = spec.service_name.clone().filter(|s| !s.is_empty());
    for claim in spec.volume_claim_templates.iter().flatten() {
        let vol_name = claim.metadata.name.clone().unwrap_or_default();
        let volume = Volume {
            name: vol_name.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim_name(&vol_name, &set_name, ord),
                read_only: None,
            }),
            ..Default::default()
        };
        let volumes = pod_spec.volumes.get_or_insert_with(Vec::new);
        volumes.retain(|v| v.name != vol_name);
        volumes.push(volume);
    }
    let owner = Owner::new(
        "apps/v1",
        "StatefulSet",
        &set_name,
        set.metadata.uid.as_deref().unwrap_or_default(),
    );
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![owner.controller_ref()]),
            ..Default::default()
        },
        spec: Some(pod_spec),
        status: None,
    }
}

fn revision_of(p: &Pod) -> Option<&str> {
    p.metadata
        .labels
        .as_ref()?
        .get(REVISION)
        .map(String::as_str)
}

fn healthy(p: &Pod, min_ready: i32, now: Timestamp) -> bool {
    phase(p) == "Running"
        && is_ready(p)
        && is_available(p, min_ready, now)
        && p.metadata.deletion_timestamp.is_none()
}

/// Plans one sync of `set` given the pods it owns and the names of existing claims.
pub fn plan(
    set: &StatefulSet,
    pods: &[Arc<Pod>],
    claims: &HashSet<String>,
    update_revision: &str,
    now: Timestamp,
) -> StsPlan {
    let spec = set.spec.clone().unwrap_or_default();
    let name = set.name_any();
    let replicas = spec.replicas.unwrap_or(1).max(0);
    let start = spec.ordinals.as_ref().and_then(|o| o.start).unwrap_or(0);
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let monotonic = spec
        .pod_management_policy
        .as_deref()
        .unwrap_or("OrderedReady")
        != "Parallel";
    let prev = set.status.clone().unwrap_or_default();
    let current_revision = prev
        .current_revision
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| update_revision.to_string());
    let mut by_ord: HashMap<i32, Arc<Pod>> = HashMap::new();
    let mut condemned: Vec<(i32, Arc<Pod>)> = Vec::new();
    for p in pods {
        let Some(ord) = ordinal(&name, &p.name_any()) else {
            continue;
        };
        if ord >= start && ord < start + replicas {
            by_ord.insert(ord, p.clone());
        } else {
            condemned.push((ord, p.clone()));
        }
    }
    condemned.sort_by_key(|(o, _)| std::cmp::Reverse(*o));
    let mut out = StsPlan::default();
    let mut blocked = false;
    for ord in start..start + replicas {
        match by_ord.get(&ord) {
            None => {
                out.claims.extend(
                    claims_for(set, ord).into_iter().filter(|c| {
                        !claims.contains(c.metadata.name.as_deref().unwrap_or_default())
                    }),
                );
                // New pods come up at the update revision.
                out.create.push(new_pod(set, ord, update_revision));
                if monotonic {
                    blocked = true;
                    break;
                }
            }
            Some(p) if phase(p) == "Failed" || phase(p) == "Succeeded" => {
                // A finished stateful pod is replaced under the same name.
                out.delete.push(p.clone());
                if monotonic {
                    blocked = true;
                    break;
                }
            }
            Some(p) if monotonic && !healthy(p, min_ready, now) => {
                blocked = true;
                break;
            }
            Some(_) => {}
        }
    }
    if !blocked {
        for (_, p) in &condemned {
            if p.metadata.deletion_timestamp.is_some() {
                if monotonic {
                    blocked = true;
                    break;
                }
                continue;
            }
            out.delete.push(p.clone());
            if monotonic {
                blocked = true;
                break;
            }
        }
    }
    let rolling = spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.type_.as_deref())
        .unwrap_or("RollingUpdate")
        == "RollingUpdate";
    if !blocked && rolling {
        let partition = spec
            .update_strategy
            .as_ref()
            .and_then(|u| u.rolling_update.as_ref())
            .and_then(|r| r.partition)
            .unwrap_or(0);
        // Highest ordinal first; one pod at a time, waiting for it to be healthy again.
        for ord in (start.max(start + partition)..start + replicas).rev() {
            let Some(p) = by_ord.get(&ord) else { break };
            if revision_of(p) != Some(update_revision) && p.metadata.deletion_timestamp.is_none() {
                out.delete.push(p.clone());
                break;
            }
            if !healthy(p, min_ready, now) {
                break;
            }
        }
    }
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(pods.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let mut status = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        replicas: count(&|_| true),
        ready_replicas: Some(count(&|p: &Pod| is_ready(p))),
        available_replicas: Some(count(&|p: &Pod| {
            is_ready(p) && is_available(p, min_ready, now)
        })),
        current_replicas: Some(count(&|p: &Pod| {
            revision_of(p) == Some(current_revision.as_str())
        })),
        updated_replicas: Some(count(&|p: &Pod| revision_of(p) == Some(update_revision))),
        current_revision: Some(current_revision),
        update_revision: Some(update_revision.into()),
        collision_count: prev.collision_count,
        conditions: prev.conditions,
    };
    if rolling
        && status.updated_replicas == Some(status.replicas)
        && status.ready_replicas == Some(status.replicas)
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
    out.status = status;
    out
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
