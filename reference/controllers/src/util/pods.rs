//! Pod predicates used across controllers (`pkg/api/v1/pod/util.go`, `controller_utils.go`).

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use kube::ResourceExt;

use super::time::{Timestamp, plus_secs};

/// `Succeeded` or `Failed`: the pod will never run again.
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// The pod's phase, `""` when unset.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// `IsPodActive`: not terminal and not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    !is_terminal(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// The pod condition of the given type, if any.
pub fn condition<'a>(pod: &'a Pod, type_: &str) -> Option<&'a PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// `IsPodReady`: condition Ready is True.
pub fn is_ready(pod: &Pod) -> bool {
    condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

/// When the pod became Ready (Ready=True's lastTransitionTime), if it is ready.
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    condition(pod, "Ready")
        .filter(|c| c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

/// `IsPodAvailable`: ready, and ready for at least `min_ready_seconds` before `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    if !is_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    match ready_since(pod) {
        Some(since) => plus_secs(since, i64::from(min_ready_seconds)) < now,
        None => false,
    }
}

/// The pod's node name, `""` when unscheduled.
pub fn node_name(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// `namespace/name` key of a pod (the same shape as the controllers' work-queue keys).
pub fn key(pod: &Pod) -> String {
    format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any())
}

/// The pod's UID, `""` when unset.
pub fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

#[cfg(test)]
pub mod fixtures {
    //! Pod builders (and the node taints pods are placed by) for the controllers' unit
    //! tests.
    use k8s_openapi::api::core::v1::{Pod, PodCondition, PodSpec, PodStatus, Taint};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use crate::util::time::Timestamp;

    /// A Running, Ready pod on `node` named `name`.
    pub fn pod(name: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some("default".into());
        p.metadata.uid = Some(format!("uid-{name}"));
        p.spec = Some(PodSpec::default());
        p.status = Some(PodStatus {
            phase: Some("Running".into()),
            ..Default::default()
        });
        p
    }

    /// Marks the pod Ready since `since`.
    pub fn ready(mut p: Pod, since: Timestamp) -> Pod {
        let status = p.status.get_or_insert_with(Default::default);
        status.conditions = Some(vec![PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            last_transition_time: Some(Time(since)),
            ..Default::default()
        }]);
        p
    }

    /// Places the pod on a node.
    pub fn on(mut p: Pod, node: &str) -> Pod {
        p.spec.get_or_insert_with(Default::default).node_name = Some(node.into());
        p
    }

    /// Sets the pod's phase.
    pub fn phase(mut p: Pod, phase: &str) -> Pod {
        p.status.get_or_insert_with(Default::default).phase = Some(phase.into());
        p
    }

    /// Sets labels.
    pub fn labels(mut p: Pod, pairs: &[(&str, &str)]) -> Pod {
        p.metadata.labels = Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        );
        p
    }

    /// Node taints from `(key, effect)` pairs.
    pub fn taints(pairs: &[(&str, &str)]) -> Vec<Taint> {
        pairs
            .iter()
            .map(|(k, e)| Taint {
                key: (*k).into(),
                effect: (*e).into(),
                ..Default::default()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{phase as with_phase, pod, ready};
    use super::*;
    use crate::util::time::from_unix;

    #[test]
    fn a_pod_is_available_only_after_min_ready_seconds_have_passed() {
        let p = ready(pod("a"), from_unix(100));
        assert!(is_available(&p, 0, from_unix(100)));
        assert!(!is_available(&p, 10, from_unix(110)));
        assert!(is_available(&p, 10, from_unix(111)));
    }

    #[test]
    fn terminal_and_deleting_pods_are_not_active() {
        assert!(is_active(&pod("a")));
        assert!(!is_active(&with_phase(pod("a"), "Succeeded")));
        let mut d = pod("b");
        d.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            from_unix(1),
        ));
        assert!(!is_active(&d));
    }
}
