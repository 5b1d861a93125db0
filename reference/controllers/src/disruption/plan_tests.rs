//! Cases from upstream's `pkg/controller/disruption/disruption_test.go`.

use super::*;
use crate::util::owner::Owner;
use crate::util::pods::fixtures::{pod, ready};
use crate::util::time::from_unix;
use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;

const NOW: i64 = 1_000_000;

fn pdb(min: Option<IntOrString>, max: Option<IntOrString>) -> PodDisruptionBudget {
    let mut p = PodDisruptionBudget::default();
    p.metadata.name = Some("pdb".into());
    p.metadata.namespace = Some("default".into());
    p.metadata.generation = Some(1);
    p.spec = Some(PodDisruptionBudgetSpec {
        min_available: min,
        max_unavailable: max,
        selector: Some(LabelSelector::default()),
        ..Default::default()
    });
    p
}

fn int(n: i32) -> Option<IntOrString> {
    Some(IntOrString::Int(n))
}

fn pct(s: &str) -> Option<IntOrString> {
    Some(IntOrString::String(s.into()))
}

/// `n` pods, the first `ready_count` ready, controlled by `owner` (uid) when given.
fn pods(n: usize, ready_count: usize, owner: Option<(&str, &str)>) -> Vec<Arc<Pod>> {
    (0..n)
        .map(|i| {
            let mut p = pod(&format!("p{i}"));
            if i < ready_count {
                p = ready(p, from_unix(NOW - 60));
            }
            if let Some((kind, uid)) = owner {
                p.metadata.owner_references =
                    Some(vec![Owner::new("apps/v1", kind, "c", uid).controller_ref()]);
            }
            Arc::new(p)
        })
        .collect()
}

/// Finds every controller with the given replicas, keyed by uid.
fn scales(
    known: &'static [(&'static str, i32)],
) -> impl Fn(&OwnerReference, &str) -> Option<Scale> {
    move |o: &OwnerReference, _ns: &str| {
        known
            .iter()
            .find(|(uid, _)| *uid == o.uid)
            .map(|(uid, r)| Scale {
                uid: (*uid).into(),
                replicas: *r,
            })
    }
}

fn none() -> impl Fn(&OwnerReference, &str) -> Option<Scale> {
    scales(&[])
}

/// (disruptionsAllowed, currentHealthy, desiredHealthy, expectedPods).
fn figures(p: &Plan) -> (i32, i32, i32, i32) {
    let s = p.status.as_ref().expect("a status to write");
    (
        s.disruptions_allowed,
        s.current_healthy,
        s.desired_healthy,
        s.expected_pods,
    )
}

fn condition(p: &Plan) -> (String, String) {
    let s = p.status.as_ref().expect("a status to write");
    let c = s
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == CONDITION)
        .unwrap();
    (c.status.clone(), c.reason.clone())
}

#[test]
fn no_pods_allow_nothing_and_say_so() {
    let p = plan(&pdb(int(3), None), &[], &none(), from_unix(NOW));
    assert_eq!(figures(&p), (0, 0, 3, 0));
    assert_eq!(
        p.events,
        [PlannedEvent::normal("NoPods", "No matching pods found")]
    );
    assert_eq!(condition(&p), ("False".into(), INSUFFICIENT_PODS.into()));
}

#[test]
fn an_integer_min_available_counts_selected_pods() {
    // TestUnavailable: four ready pods and minAvailable 3 allow one disruption...
    let p = plan(
        &pdb(int(3), None),
        &pods(4, 4, None),
        &none(),
        from_unix(NOW),
    );
    assert_eq!(figures(&p), (1, 4, 3, 4));
    assert_eq!(condition(&p), ("True".into(), SUFFICIENT_PODS.into()));
    // ...and none once one of them is not ready.
    let p = plan(
        &pdb(int(3), None),
        &pods(4, 3, None),
        &none(),
        from_unix(NOW),
    );
    assert_eq!(figures(&p), (0, 3, 3, 4));
}

#[test]
fn a_percentage_uses_the_controllers_scale() {
    // TestReplicaSet: 20% of a 10-replica set needs 2; one ready pod allows nothing.
    let p = plan(
        &pdb(pct("20%"), None),
        &pods(1, 1, Some(("ReplicaSet", "rs"))),
        &scales(&[("rs", 10)]),
        from_unix(NOW),
    );
    assert_eq!(figures(&p), (0, 1, 2, 10));
    // TestStatefulSetController: 67% of 3 rounds up to 3.
    let p = plan(
        &pdb(pct("67%"), None),
        &pods(3, 3, Some(("StatefulSet", "ss"))),
        &scales(&[("ss", 3)]),
        from_unix(NOW),
    );
    assert_eq!(figures(&p), (0, 3, 3, 3));
}

#[test]
fn max_unavailable_subtracts_from_the_scale() {
    // TestIntegerMaxUnavailable / TestReplicationController-style: 3 replicas, 1 may go.
    let p = plan(
        &pdb(None, int(1)),
        &pods(3, 3, Some(("ReplicaSet", "rs"))),
        &scales(&[("rs", 3)]),
        from_unix(NOW),
    );
    assert_eq!(figures(&p), (1, 3, 2, 3));
    let p = plan(
        &pdb(None, pct("50%")),
        &pods(4, 4, Some(("ReplicaSet", "rs"))),
        &scales(&[("rs", 4)]),
        from_unix(NOW),
    );
    assert_eq!(figures(&p), (2, 4, 2, 4));
}

#[test]
fn two_controllers_add_their_scales() {
    // TestTwoControllers: pods of two controllers share one budget.
    let mut all = pods(2, 2, Some(("ReplicaSet", "a")));
    for (i, p) in pods(3, 3, Some(("ReplicationController", "b")))
        .into_iter()
        .enumerate()
    {
        let mut p = (*p).clone();
        p.metadata.name = Some(format!("q{i}"));
        all.push(Arc::new(p));
    }
    let p = plan(
        &pdb(pct("60%"), None),
        &all,
        &scales(&[("a", 2), ("b", 3)]),
        from_unix(NOW),
    );
    assert_eq!(figures(&p), (2, 5, 3, 5));
}

#[test]
fn a_pod_without_a_findable_controller_fails_safe() {
    let p = plan(
        &pdb(pct("50%"), None),
        &pods(2, 2, Some(("ReplicaSet", "gone"))),
        &none(),
        from_unix(NOW),
    );
    let s = p.status.as_ref().unwrap();
    assert_eq!(s.disruptions_allowed, 0);
    assert_eq!(condition(&p), ("False".into(), SYNC_FAILED.into()));
    assert_eq!(p.events[0].reason, "CalculateExpectedPodCountFailed");
    assert!(
        p.events[0]
            .message
            .ends_with("found no controllers for pod \"p0\"")
    );
}

#[test]
fn naked_pods_under_a_percentage_are_unmanaged() {
    // TestNakedPod / TestStatusForUnmanagedPod.
    let p = plan(
        &pdb(pct("28%"), None),
        &pods(1, 1, None),
        &none(),
        from_unix(NOW),
    );
    assert_eq!(figures(&p), (0, 1, 0, 0));
    assert_eq!(p.events[0].reason, "UnmanagedPods");
    assert!(
        p.events[0]
            .message
            .contains("(selector: &LabelSelector{MatchLabels:map[string]string{},")
    );
}

#[test]
fn recent_evictions_are_not_healthy_and_stale_ones_are_dropped() {
    // TestUpdateDisruptedPods.
    let mut budget = pdb(int(1), None);
    let recent = Time(from_unix(NOW - 10));
    budget.status = Some(PodDisruptionBudgetStatus {
        disrupted_pods: Some(BTreeMap::from([
            ("p0".to_string(), recent.clone()),
            ("p1".to_string(), Time(from_unix(NOW - 3 * 60))),
            ("gone".to_string(), recent.clone()),
        ])),
        ..Default::default()
    });
    let p = plan(&budget, &pods(3, 3, None), &none(), from_unix(NOW));
    let s = p.status.as_ref().unwrap();
    assert_eq!(
        s.disrupted_pods.as_ref().unwrap(),
        &BTreeMap::from([("p0".to_string(), recent)])
    );
    assert_eq!(figures(&p), (1, 2, 1, 3));
    assert_eq!(p.pod_events.len(), 1);
    assert_eq!(p.pod_events[0].0, "p1");
    assert_eq!(p.pod_events[0].1.reason, "NotDeleted");
    assert_eq!(p.recheck, Some(Duration::from_secs(110)));
}

#[test]
fn a_current_status_is_not_rewritten() {
    let budget = pdb(int(3), None);
    let first = plan(&budget, &pods(4, 4, None), &none(), from_unix(NOW));
    let mut written = budget.clone();
    written.status = first.status;
    let again = plan(&written, &pods(4, 4, None), &none(), from_unix(NOW + 5));
    assert_eq!(again.status, None);
    // A new generation is observed even when the counts stand still.
    written.metadata.generation = Some(2);
    let bumped = plan(&written, &pods(4, 4, None), &none(), from_unix(NOW + 5));
    assert_eq!(bumped.status.unwrap().observed_generation, Some(2));
}

#[test]
fn percentages_round_up() {
    assert_eq!(scaled_value(&IntOrString::String("50%".into()), 3), Ok(2));
    assert_eq!(scaled_value(&IntOrString::Int(4), 3), Ok(4));
    assert_eq!(
        scaled_value(&IntOrString::String("half".into()), 3).map_err(|e| e.to_string()),
        Err("invalid value for IntOrString: invalid value \"half\"".to_string())
    );
}
