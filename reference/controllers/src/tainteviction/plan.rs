//! Taint eviction decisions: when to evict (`getMatchingTolerations`,
//! `getMinTolerationTime`), with toleration matching from `refkube_helpers::taints`.
//! Entry point: [`decide`].

use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodCondition, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use refkube_helpers::taints::tolerates;

use crate::util::time::Timestamp;

/// Pod condition set before deleting.
pub const DISRUPTION_TARGET: &str = "DisruptionTarget";
/// Its reason.
pub const DELETION_BY_TAINT_MANAGER: &str = "DeletionByTaintManager";
/// Its message.
pub const TAINT_MANAGER_MESSAGE: &str = "Taint manager: deleting due to NoExecute taint";
/// Event reason when an eviction fires or is cancelled.
pub const TAINT_MANAGER_EVICTION: &str = "TaintManagerEviction";

/// When to evict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// Tolerated forever (or no NoExecute taint): cancel any scheduled eviction.
    Never,
    /// A taint is not tolerated: evict now.
    Now,
    /// All tolerated for a while: evict this long after first noticing.
    After(Duration),
}

/// The decision for a pod on a node with `taints`.
pub fn decide(pod: &Pod, taints: &[Taint]) -> Eviction {
    let no_execute: Vec<&Taint> = taints.iter().filter(|t| t.effect == "NoExecute").collect();
    if no_execute.is_empty() {
        return Eviction::Never;
    }
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let mut used: Vec<&Toleration> = Vec::new();
    for taint in &no_execute {
        let matching: Vec<&Toleration> =
            tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Eviction::Now;
        }
        used.extend(matching);
    }
    let mut min: Option<i64> = None;
    for t in used {
        if let Some(s) = t.toleration_seconds {
            if s <= 0 {
                return Eviction::Now;
            }
            min = Some(min.map_or(s, |m: i64| m.min(s)));
        }
    }
    match min {
        None => Eviction::Never,
        Some(s) => Eviction::After(Duration::from_secs(u64::try_from(s).unwrap_or(0))),
    }
}

/// The pod's conditions with `DisruptionTarget=True` (DeletionByTaintManager) set.
pub fn with_disruption_target(pod: &Pod, now: Timestamp) -> Vec<PodCondition> {
    let mut conds: Vec<PodCondition> = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    conds.retain(|c| c.type_ != DISRUPTION_TARGET);
    conds.push(PodCondition {
        type_: DISRUPTION_TARGET.into(),
        status: "True".into(),
        reason: Some(DELETION_BY_TAINT_MANAGER.into()),
        message: Some(TAINT_MANAGER_MESSAGE.into()),
        last_transition_time: Some(Time(now)),
        ..Default::default()
    });
    conds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::pods::fixtures::pod;

    fn taint(key: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: "NoExecute".into(),
            ..Default::default()
        }
    }

    fn tol(key: &str, secs: Option<i64>) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            toleration_seconds: secs,
            value: None,
        }
    }

    fn with_tolerations(t: Vec<Toleration>) -> Pod {
        let mut p = pod("a");
        p.spec.as_mut().unwrap().tolerations = Some(t);
        p
    }

    #[test]
    fn an_untolerated_no_execute_taint_evicts_at_once() {
        assert_eq!(
            decide(&pod("a"), &[taint("node.kubernetes.io/unreachable")]),
            Eviction::Now
        );
    }

    #[test]
    fn toleration_seconds_delay_eviction_by_the_shortest_matching_value() {
        let p = with_tolerations(vec![
            tol("node.kubernetes.io/unreachable", Some(300)),
            tol("node.kubernetes.io/not-ready", Some(60)),
            tol("other", Some(5)),
        ]);
        assert_eq!(
            decide(&p, &[taint("node.kubernetes.io/unreachable")]),
            Eviction::After(Duration::from_secs(300))
        );
        assert_eq!(
            decide(
                &p,
                &[
                    taint("node.kubernetes.io/unreachable"),
                    taint("node.kubernetes.io/not-ready")
                ]
            ),
            Eviction::After(Duration::from_secs(60))
        );
    }

    #[test]
    fn a_toleration_without_seconds_tolerates_forever_and_no_schedule_taints_are_ignored() {
        let p = with_tolerations(vec![tol("node.kubernetes.io/unreachable", None)]);
        assert_eq!(
            decide(&p, &[taint("node.kubernetes.io/unreachable")]),
            Eviction::Never
        );
        let ns = Taint {
            key: "x".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        assert_eq!(decide(&pod("a"), &[ns]), Eviction::Never);
    }

    #[test]
    fn an_empty_key_with_exists_tolerates_everything() {
        let all = Toleration {
            operator: Some("Exists".into()),
            ..Default::default()
        };
        assert!(tolerates(&all, &taint("anything")));
        let eq = Toleration {
            key: Some("k".into()),
            value: Some("v".into()),
            ..Default::default()
        };
        assert!(tolerates(
            &eq,
            &Taint {
                key: "k".into(),
                value: Some("v".into()),
                effect: "NoExecute".into(),
                ..Default::default()
            }
        ));
        assert!(!tolerates(
            &eq,
            &Taint {
                key: "k".into(),
                value: Some("w".into()),
                effect: "NoExecute".into(),
                ..Default::default()
            }
        ));
    }

    #[test]
    fn integer_tolerations_and_keyless_equal_tolerations_match_as_the_scheduler_sees_them() {
        let sla = Taint {
            key: "sla".into(),
            value: Some("950".into()),
            effect: "NoExecute".into(),
            ..Default::default()
        };
        let gt = |v: &str| Toleration {
            key: Some("sla".into()),
            operator: Some("Gt".into()),
            value: Some(v.into()),
            effect: Some("NoExecute".into()),
            toleration_seconds: None,
        };
        assert_eq!(
            decide(
                &with_tolerations(vec![gt("900")]),
                std::slice::from_ref(&sla)
            ),
            Eviction::Never
        );
        assert_eq!(
            decide(
                &with_tolerations(vec![gt("990")]),
                std::slice::from_ref(&sla)
            ),
            Eviction::Now
        );
        let keyless = Toleration {
            operator: Some("Equal".into()),
            value: Some("950".into()),
            ..Default::default()
        };
        assert_eq!(
            decide(&with_tolerations(vec![keyless]), &[sla]),
            Eviction::Never
        );
    }

    #[test]
    fn the_disruption_target_condition_uses_upstream_reason_and_message() {
        let c = with_disruption_target(&pod("a"), crate::util::time::from_unix(1));
        let d = c.iter().find(|c| c.type_ == "DisruptionTarget").unwrap();
        assert_eq!(
            (d.status.as_str(), d.reason.as_deref(), d.message.as_deref()),
            (
                "True",
                Some("DeletionByTaintManager"),
                Some("Taint manager: deleting due to NoExecute taint")
            )
        );
    }
}
