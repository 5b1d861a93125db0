//! The disruption controller's stale `DisruptionTarget` cleanup (upstream
//! `nonTerminatingPodHasStaleDisruptionCondition` and `syncStalePodDisruption`): a pod
//! marked `DisruptionTarget=True` (by an eviction, say) that is still not being deleted
//! once `stalePodDisruptionTimeout` has passed since the condition was set was not
//! disrupted after all, and gets the condition set to False.
//!
//! Entry points: [`stale_in`] (whether to look again, and when) and [`cleared`] (the
//! status to write). Pure; the driver watches the pods and writes.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};

use crate::util::pods::{self, condition};
use crate::util::time::{Timestamp, duration_until, plus_millis, time};

/// The condition a disruption (eviction, preemption, taint eviction...) sets on a pod.
pub const DISRUPTION_TARGET: &str = "DisruptionTarget";
/// The reason the kubelet gives when it marks a pod it is about to terminate itself
/// (eviction under pressure, node shutdown); upstream never counts that one as stale, since
/// the deletion may come arbitrarily late.
pub const TERMINATION_BY_KUBELET: &str = "TerminationByKubelet";

/// `None` when the pod has no stale-to-be `DisruptionTarget` condition (none, not True,
/// set by the kubelet, the pod terminal or already being deleted); otherwise how long
/// until it is stale: zero once `timeout` has passed since the condition's last
/// transition.
pub fn stale_in(pod: &Pod, timeout: Duration, now: Timestamp) -> Option<Duration> {
    if pod.metadata.deletion_timestamp.is_some() || pods::is_terminal(pod) {
        return None;
    }
    let cond = condition(pod, DISRUPTION_TARGET)?;
    if cond.status != "True" || cond.reason.as_deref() == Some(TERMINATION_BY_KUBELET) {
        return None;
    }
    // A condition without a transition time counts from the epoch, as upstream's zero
    // time does: it is stale at once.
    let since = cond
        .last_transition_time
        .as_ref()
        .map(|t| t.0)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let millis = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
    Some(duration_until(plus_millis(since, millis), now))
}

/// The pod's status with `DisruptionTarget` replaced by a False condition (no reason or
/// message, as upstream writes it; transitioned `now`), or `None` when the pod has no
/// stale condition to clear yet.
pub fn cleared(pod: &Pod, timeout: Duration, now: Timestamp) -> Option<PodStatus> {
    if stale_in(pod, timeout, now)? > Duration::ZERO {
        return None;
    }
    let mut status = pod.status.clone().unwrap_or_default();
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let fresh = PodCondition {
        type_: DISRUPTION_TARGET.into(),
        status: "False".into(),
        last_transition_time: Some(time(now)),
        ..Default::default()
    };
    match conditions.iter_mut().find(|c| c.type_ == DISRUPTION_TARGET) {
        Some(c) => *c = fresh,
        None => conditions.push(fresh),
    }
    Some(status)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;
    use crate::util::pods::fixtures::{phase, pod, ready};
    use crate::util::time::from_unix;

    const NOW: i64 = 1_000_000;
    const TIMEOUT: Duration = Duration::from_secs(120);

    /// A Ready pod marked `DisruptionTarget` with `status`/`reason`, `age` seconds ago.
    fn marked(status: &str, reason: &str, age: i64) -> Pod {
        let mut p = ready(pod("p"), from_unix(NOW - 600));
        if let Some(conds) = p.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            conds.push(PodCondition {
                type_: DISRUPTION_TARGET.into(),
                status: status.into(),
                reason: Some(reason.into()),
                message: Some("Eviction API: evicting".into()),
                last_transition_time: Some(Time(from_unix(NOW - age))),
                ..Default::default()
            });
        }
        p
    }

    fn deleting(mut p: Pod) -> Pod {
        p.metadata.deletion_timestamp = Some(Time(from_unix(NOW - 5)));
        p
    }

    #[test]
    fn which_pods_have_a_condition_that_will_go_stale_and_when() {
        let now = from_unix(NOW);
        let secs = Duration::from_secs;
        let cases: Vec<(&str, Pod, Option<Duration>)> = vec![
            (
                "set 2 min ago",
                marked("True", "EvictionByEvictionAPI", 120),
                Some(secs(0)),
            ),
            (
                "set 10 min ago",
                marked("True", "EvictionByEvictionAPI", 600),
                Some(secs(0)),
            ),
            (
                "set 30 s ago",
                marked("True", "EvictionByEvictionAPI", 30),
                Some(secs(90)),
            ),
            ("no such condition", ready(pod("p"), from_unix(NOW)), None),
            (
                "condition False",
                marked("False", "EvictionByEvictionAPI", 600),
                None,
            ),
            (
                "set by the kubelet",
                marked("True", TERMINATION_BY_KUBELET, 600),
                None,
            ),
            (
                "being deleted",
                deleting(marked("True", "PreemptionByScheduler", 600)),
                None,
            ),
            (
                "Succeeded",
                phase(marked("True", "DeletionByTaintManager", 600), "Succeeded"),
                None,
            ),
            (
                "Failed",
                phase(marked("True", "DeletionByTaintManager", 600), "Failed"),
                None,
            ),
        ];
        for (name, p, want) in cases {
            assert_eq!(stale_in(&p, TIMEOUT, now), want, "{name}");
        }
    }

    #[test]
    fn a_stale_condition_is_replaced_by_a_bare_false_one_and_the_rest_kept() {
        let now = from_unix(NOW);
        let status =
            cleared(&marked("True", "EvictionByEvictionAPI", 121), TIMEOUT, now).expect("stale");
        let conds = status.conditions.expect("conditions");
        assert_eq!(conds.len(), 2, "Ready is kept: {conds:?}");
        assert_eq!(conds[0].type_, "Ready");
        let d = &conds[1];
        assert_eq!(
            (d.type_.as_str(), d.status.as_str()),
            (DISRUPTION_TARGET, "False")
        );
        assert_eq!((d.reason.as_deref(), d.message.as_deref()), (None, None));
        assert_eq!(d.last_transition_time, Some(Time(now)));
        assert_eq!(status.phase.as_deref(), Some("Running"));
    }

    #[test]
    fn nothing_is_written_before_the_timeout_or_for_a_pod_being_deleted() {
        let now = from_unix(NOW);
        assert_eq!(
            cleared(&marked("True", "EvictionByEvictionAPI", 119), TIMEOUT, now),
            None
        );
        let going = deleting(marked("True", "EvictionByEvictionAPI", 600));
        assert_eq!(cleared(&going, TIMEOUT, now), None);
        // A short timeout (tests' pace) makes a fresh condition stale sooner.
        let fresh = marked("True", "EvictionByEvictionAPI", 3);
        assert!(cleared(&fresh, Duration::from_secs(2), now).is_some());
    }
}
