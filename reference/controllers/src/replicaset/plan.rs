//! The ReplicaSet decision (`replica_set.go` syncReplicaSet / manageReplicas /
//! calculateStatus), shared with the ReplicationController. Pure: given the controller as a
//! [`ReplicaSetView`], the namespace's pods and `now`, say what to do.
//! Entry points: [`claim_pods`], [`manage`], [`calculate_status`], [`pod_from_template`].

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::core::Selector;

use super::ranking::pods_to_delete;
pub use crate::runtime::podcontrol::{
    create_failed_event, created_event, delete_failed_event, deleted_event, slow_start_batches,
};
use crate::util::owner::{Claim, ClaimInput, Owner, claim, controller_of};
use crate::util::pods::{is_available, is_ready};
use crate::util::selector::matches;
use crate::util::time::Timestamp;

/// `ReplicaFailure` condition type.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";
/// Reason when creating pods failed.
pub const FAILED_CREATE: &str = "FailedCreate";
/// Reason when deleting pods failed.
pub const FAILED_DELETE: &str = "FailedDelete";

/// A replica-controlling object (ReplicaSet or ReplicationController) seen uniformly.
#[derive(Clone, Debug)]
pub struct ReplicaSetView {
    /// Identity for owner references (`apps/v1 ReplicaSet` or `v1 ReplicationController`).
    pub owner: Owner,
    /// Namespace.
    pub namespace: String,
    /// metadata.generation.
    pub generation: i64,
    /// spec.replicas (defaulted to 1).
    pub replicas: i32,
    /// spec.minReadySeconds.
    pub min_ready_seconds: i32,
    /// The pod selector (`None` selects nothing).
    pub selector: Option<Selector>,
    /// The pod template.
    pub template: Option<PodTemplateSpec>,
    /// Has a deletionTimestamp.
    pub deleting: bool,
    /// UID of this object's own controller (a Deployment), if any.
    pub controller_uid: Option<String>,
    /// The current status.
    pub status: ReplicaStatus,
}

/// One status condition (ReplicaSetCondition / ReplicationControllerCondition).
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// Type, e.g. `ReplicaFailure`.
    pub type_: String,
    /// `True`, `False`, `Unknown`.
    pub status: String,
    /// CamelCase reason.
    pub reason: String,
    /// Human message.
    pub message: String,
    /// When the status last changed.
    pub last_transition_time: Option<Time>,
}

/// The status fields the controller owns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplicaStatus {
    /// Active pods owned.
    pub replicas: i32,
    /// Owned pods carrying all the template's labels.
    pub fully_labeled_replicas: i32,
    /// Owned Ready pods.
    pub ready_replicas: i32,
    /// Owned pods ready for at least minReadySeconds.
    pub available_replicas: i32,
    /// The generation this status describes.
    pub observed_generation: i64,
    /// Conditions.
    pub conditions: Vec<Condition>,
}

/// The result of claiming: what we own now, and what to adopt or release.
#[derive(Debug, Default)]
pub struct Claimed {
    /// Pods already ours that still match.
    pub kept: Vec<Arc<Pod>>,
    /// Matching orphans to adopt (count as ours once adopted).
    pub adopt: Vec<Arc<Pod>>,
    /// Ours but no longer matching: drop the owner reference.
    pub release: Vec<Arc<Pod>>,
}

/// `ClaimPods` over the namespace's active pods.
pub fn claim_pods(rs: &ReplicaSetView, pods: &[Arc<Pod>]) -> Claimed {
    let mut out = Claimed::default();
    for pod in pods {
        let decision = claim(ClaimInput {
            owner_uid: &rs.owner.uid,
            owner_deleting: rs.deleting,
            matches: matches(rs.selector.as_ref(), pod.metadata.labels.as_ref()),
            controller_uid: controller_of(&pod.metadata).map(|r| r.uid.as_str()),
            object_deleting: pod.metadata.deletion_timestamp.is_some(),
        });
        match decision {
            Claim::Keep => out.kept.push(pod.clone()),
            Claim::Adopt => out.adopt.push(pod.clone()),
            Claim::Release => out.release.push(pod.clone()),
            Claim::Ignore => {}
        }
    }
    out
}

/// What `manageReplicas` decides.
#[derive(Debug, PartialEq)]
pub enum ReplicaAction {
    /// Replicas match.
    Nothing,
    /// Create this many pods (already capped at burstReplicas).
    Create(usize),
    /// Delete these pods, in this order.
    Delete(Vec<Arc<Pod>>),
}

/// `manageReplicas`: compare owned active pods to spec.replicas, capped at `burst`.
pub fn manage(
    rs: &ReplicaSetView,
    owned: &[Arc<Pod>],
    related: &[Arc<Pod>],
    burst: usize,
    now: Timestamp,
) -> ReplicaAction {
    let have = i64::try_from(owned.len()).unwrap_or(i64::MAX);
    let diff = have - i64::from(rs.replicas.max(0));
    let burst = i64::try_from(burst).unwrap_or(i64::MAX);
    let capped = usize::try_from(diff.abs().min(burst)).unwrap_or(0);
    match diff.cmp(&0) {
        std::cmp::Ordering::Less => ReplicaAction::Create(capped),
        std::cmp::Ordering::Greater => {
            ReplicaAction::Delete(pods_to_delete(owned, related, capped, now))
        }
        std::cmp::Ordering::Equal => ReplicaAction::Nothing,
    }
}

/// A manageReplicas failure to reflect in status: which direction and the error text.
#[derive(Clone, Debug)]
pub struct ManageError {
    /// True when creating (diff < 0), false when deleting.
    pub creating: bool,
    /// The first error's text.
    pub message: String,
}

/// `calculateStatus`.
pub fn calculate_status(
    rs: &ReplicaSetView,
    owned: &[Arc<Pod>],
    error: Option<&ManageError>,
    now: Timestamp,
) -> ReplicaStatus {
    let template_labels = rs
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(owned.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let fully_labeled = count(&|p: &Pod| {
        let labels = p.metadata.labels.clone().unwrap_or_default();
        template_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
    });
    let mut status = ReplicaStatus {
        replicas: count(&|_| true),
        fully_labeled_replicas: fully_labeled,
        ready_replicas: count(&|p: &Pod| is_ready(p)),
        available_replicas: count(&|p: &Pod| is_available(p, rs.min_ready_seconds, now)),
        observed_generation: rs.generation,
        conditions: rs.status.conditions.clone(),
    };
    let has_failure = status.conditions.iter().any(|c| c.type_ == REPLICA_FAILURE);
    match error {
        Some(e) if !has_failure => status.conditions.push(Condition {
            type_: REPLICA_FAILURE.into(),
            status: "True".into(),
            reason: if e.creating {
                FAILED_CREATE
            } else {
                FAILED_DELETE
            }
            .into(),
            message: e.message.clone(),
            last_transition_time: Some(Time(now)),
        }),
        None if has_failure => status.conditions.retain(|c| c.type_ != REPLICA_FAILURE),
        _ => {}
    }
    status
}

/// When to look again: once ready pods may have become available (`minReadySeconds`).
pub fn requeue_after(rs: &ReplicaSetView, status: &ReplicaStatus) -> Option<std::time::Duration> {
    (rs.min_ready_seconds > 0
        && status.ready_replicas == rs.replicas
        && status.available_replicas != rs.replicas)
        .then(|| std::time::Duration::from_secs(u64::try_from(rs.min_ready_seconds).unwrap_or(0)))
}

/// `GetPodFromTemplate`: labels, annotations, finalizers and spec from the template,
/// `generateName: <name>-`, and a controller owner reference.
pub fn pod_from_template(rs: &ReplicaSetView) -> Pod {
    let template = rs.template.clone().unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", rs.owner.name)),
            namespace: Some(rs.namespace.clone()),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![rs.owner.controller_ref()]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
