//! What the scheduler writes through the API: the `pods/binding` POST (upstream
//! DefaultBinder), the `PodScheduled=False` condition on failure, and the `Scheduled` /
//! `FailedScheduling` events. Entry points: [`bind`], [`record_failure`].

use k8s_openapi::api::core::v1::{Binding, ObjectReference, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use refkube_common::events::EventRecorder;

/// Condition reason when no node fits.
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";
/// Condition reason for any other failure (no nodes, internal errors, binding errors).
pub const REASON_SCHEDULER_ERROR: &str = "SchedulerError";
/// Event reason on success.
pub const EVENT_SCHEDULED: &str = "Scheduled";
/// Event reason on failure.
pub const EVENT_FAILED_SCHEDULING: &str = "FailedScheduling";

/// The Binding object for `pod` → `node` (with the pod's UID as a precondition).
pub fn binding_for(pod: &Pod, node: &str) -> Binding {
    Binding {
        metadata: ObjectMeta {
            name: pod.metadata.name.clone(),
            namespace: pod.metadata.namespace.clone(),
            uid: pod.metadata.uid.clone(),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.to_string()),
            ..ObjectReference::default()
        },
    }
}

/// `Successfully assigned <ns>/<pod> to <node>`.
pub fn scheduled_message(pod: &Pod, node: &str) -> String {
    format!(
        "Successfully assigned {}/{} to {node}",
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.name.as_deref().unwrap_or("")
    )
}

/// How a bind attempt ended.
#[derive(Debug)]
pub enum BindOutcome {
    /// Bound.
    Bound,
    /// The pod is gone or already bound (404 / 409): nothing to retry.
    Moot(kube::Error),
    /// Anything else: forget the assumption and retry with backoff.
    Failed(kube::Error),
}

/// POSTs the binding and, on success, records the `Scheduled` event.
pub async fn bind(client: &Client, recorder: &EventRecorder, pod: &Pod, node: &str) -> BindOutcome {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let result = api
        .create_subresource::<Binding, serde_json::Value>(
            "binding",
            name,
            &PostParams::default(),
            &binding_for(pod, node),
        )
        .await;
    match result {
        Ok(_) => {
            let message = scheduled_message(pod, node);
            if let Err(err) = recorder
                .normal(&pod.object_ref(&()), EVENT_SCHEDULED, &message)
                .await
            {
                tracing::warn!(%err, "could not record Scheduled event");
            }
            tracing::info!(pod = %format!("{ns}/{name}"), %node, "bound");
            BindOutcome::Bound
        }
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {
            BindOutcome::Moot(kube::Error::Api(status))
        }
        Err(err) => BindOutcome::Failed(err),
    }
}

/// The pod's conditions with PodScheduled set to False/`reason`/`message`; None when the
/// condition already says exactly that (upstream skips the write). The transition time
/// only moves when the status changes.
pub fn failed_conditions(
    pod: &Pod,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> Option<Vec<PodCondition>> {
    let mut conditions = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let existing = conditions.iter().position(|c| c.type_ == "PodScheduled");
    let mut new = PodCondition {
        type_: "PodScheduled".into(),
        status: "False".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time: Some(Time(now)),
        ..PodCondition::default()
    };
    match existing {
        Some(i) => {
            let old = &conditions[i];
            if old.status == new.status && old.reason == new.reason && old.message == new.message {
                return None;
            }
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time.clone();
            }
            conditions[i] = new;
        }
        None => conditions.push(new),
    }
    Some(conditions)
}

/// Writes the PodScheduled=False condition and a Warning `FailedScheduling` event.
pub async fn record_failure(
    client: &Client,
    recorder: &EventRecorder,
    pod: &Pod,
    reason: &str,
    message: &str,
) {
    if let Err(err) = recorder
        .warning(&pod.object_ref(&()), EVENT_FAILED_SCHEDULING, message)
        .await
    {
        tracing::warn!(%err, "could not record FailedScheduling event");
    }
    let Some(conditions) = failed_conditions(pod, reason, message, Timestamp::now()) else {
        return;
    };
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    // A merge patch replaces the conditions list; we send the whole list, so it is exact
    // for an unscheduled pod (no other writer owns its conditions yet).
    let patch = serde_json::json!({"status": {"conditions": conditions}});
    match api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(err) => {
            tracing::warn!(%err, pod = %format!("{ns}/{name}"), "could not update PodScheduled condition")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;
    use serde_json::json;

    #[test]
    fn the_binding_targets_the_node_and_carries_the_pod_uid() {
        let p = pod("web", json!({}));
        let b = binding_for(&p, "n1");
        assert_eq!(b.metadata.name.as_deref(), Some("web"));
        assert_eq!(b.metadata.uid.as_deref(), Some("uid-web"));
        assert_eq!(b.target.kind.as_deref(), Some("Node"));
        assert_eq!(b.target.name.as_deref(), Some("n1"));
        assert_eq!(
            scheduled_message(&p, "n1"),
            "Successfully assigned default/web to n1"
        );
    }

    #[test]
    fn the_failure_condition_is_added_once_and_keeps_its_transition_time() {
        let t0 = Timestamp::from_second(1_700_000_000).unwrap();
        let p = pod("web", json!({}));
        let conds = failed_conditions(&p, "Unschedulable", "m1", t0).unwrap();
        assert_eq!(conds.len(), 1);
        assert_eq!(conds[0].status, "False");
        let mut p2 = (*p).clone();
        p2.status = Some(k8s_openapi::api::core::v1::PodStatus {
            conditions: Some(conds),
            ..Default::default()
        });
        assert!(failed_conditions(&p2, "Unschedulable", "m1", t0).is_none());
        let t1 = Timestamp::from_second(1_700_000_100).unwrap();
        let changed = failed_conditions(&p2, "Unschedulable", "m2", t1).unwrap();
        assert_eq!(changed[0].message.as_deref(), Some("m2"));
        assert_eq!(changed[0].last_transition_time, Some(Time(t0)));
    }
}
