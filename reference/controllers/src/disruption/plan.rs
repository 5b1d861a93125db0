//! The disruption controller's decision (upstream `trySync`, `failSafe`): from a budget,
//! the pods its selector picks and the scale of their controllers, the status to write
//! (expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed, disruptedPods,
//! observedGeneration, the DisruptionAllowed condition) and the events to record.
//!
//! Entry point: [`plan`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    Condition, LabelSelector, OwnerReference, Time,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::runtime::events::PlannedEvent;
use crate::util::owner::controller_of;
use crate::util::pods;
use crate::util::time::{Timestamp, duration_until, plus_secs};

/// How long an eviction's entry in `disruptedPods` waits for the pod to go (2 min).
pub const DELETION_TIMEOUT_SECS: i64 = 120;

pub const CONDITION: &str = "DisruptionAllowed";
pub const SUFFICIENT_PODS: &str = "SufficientPods";
pub const INSUFFICIENT_PODS: &str = "InsufficientPods";
pub const SYNC_FAILED: &str = "SyncFailed";

/// A controller found for a pod: its uid and desired replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scale {
    pub uid: String,
    pub replicas: i32,
}

/// What one sync decided.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// The status to write, `None` when the stored one is current.
    pub status: Option<PodDisruptionBudgetStatus>,
    /// Events about the budget.
    pub events: Vec<PlannedEvent>,
    /// Events about pods, by pod name (`NotDeleted`).
    pub pod_events: Vec<(String, PlannedEvent)>,
    /// Look again when the first recorded eviction times out.
    pub recheck: Option<Duration>,
}

/// Why the expected pod count cannot be worked out (upstream's messages).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    /// minAvailable/maxUnavailable is a string but not a percentage.
    #[error("invalid value for IntOrString: invalid value {0:?}")]
    InvalidValue(String),
    /// A selected pod's controller is not found.
    #[error("found no controllers for pod {0:?}")]
    NoController(String),
}

/// `intstr.GetScaledValueFromIntOrPercent`, rounding up.
pub fn scaled_value(v: &IntOrString, total: i32) -> Result<i32, CountError> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let p: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| CountError::InvalidValue(s.clone()))?;
            let scaled = (p * i64::from(total) + 99).div_euclid(100);
            Ok(i32::try_from(scaled).unwrap_or(i32::MAX))
        }
    }
}

/// `getExpectedScale`: the summed scale of the pods' controllers, and the pods that
/// have none.
pub fn expected_scale(
    pods: &[Arc<Pod>],
    find: &dyn Fn(&OwnerReference, &str) -> Option<Scale>,
) -> Result<(i32, Vec<String>), CountError> {
    let mut scales: BTreeMap<String, i32> = BTreeMap::new();
    let mut unmanaged = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(owner) = controller_of(&pod.metadata) else {
            unmanaged.push(name);
            continue;
        };
        if scales.contains_key(&owner.uid) {
            continue;
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        match find(owner, ns) {
            Some(s) => {
                scales.insert(s.uid, s.replicas);
            }
            None => return Err(CountError::NoController(name)),
        }
    }
    Ok((scales.values().sum(), unmanaged))
}

/// `getExpectedPodCount`: (expectedPods, desiredHealthy, unmanaged pods).
pub fn expected_counts(
    pdb: &PodDisruptionBudget,
    pods: &[Arc<Pod>],
    find: &dyn Fn(&OwnerReference, &str) -> Option<Scale>,
) -> Result<(i32, i32, Vec<String>), CountError> {
    let spec = pdb.spec.clone().unwrap_or_default();
    if let Some(max) = &spec.max_unavailable {
        let (expected, unmanaged) = expected_scale(pods, find)?;
        let max = scaled_value(max, expected)?;
        return Ok((expected, (expected - max).max(0), unmanaged));
    }
    match &spec.min_available {
        Some(IntOrString::Int(n)) => Ok((len(pods), *n, Vec::new())),
        Some(min @ IntOrString::String(_)) => {
            let (expected, unmanaged) = expected_scale(pods, find)?;
            Ok((expected, scaled_value(min, expected)?, unmanaged))
        }
        None => Ok((0, 0, Vec::new())),
    }
}

fn len(pods: &[Arc<Pod>]) -> i32 {
    i32::try_from(pods.len()).unwrap_or(i32::MAX)
}

/// `buildDisruptedPodMap`'s answer.
#[derive(Default)]
struct Disrupted {
    /// The evictions still expected to finish.
    kept: BTreeMap<String, Time>,
    /// When the first of them times out.
    recheck: Option<Timestamp>,
    /// `NotDeleted` events for the pods that outlived theirs.
    events: Vec<(String, PlannedEvent)>,
}

/// `buildDisruptedPodMap`.
fn disrupted_pod_map(pods: &[Arc<Pod>], pdb: &PodDisruptionBudget, now: Timestamp) -> Disrupted {
    let mut out = BTreeMap::new();
    let mut recheck: Option<Timestamp> = None;
    let mut events = Vec::new();
    let Some(recorded) = pdb.status.as_ref().and_then(|s| s.disrupted_pods.as_ref()) else {
        return Disrupted::default();
    };
    for pod in pods {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(at) = recorded.get(&name) else {
            continue;
        };
        let expected = plus_secs(at.0, DELETION_TIMEOUT_SECS);
        if expected < now {
            let ns = pdb.metadata.namespace.as_deref().unwrap_or_default();
            let pdb_name = pdb.metadata.name.as_deref().unwrap_or_default();
            events.push((
                name,
                PlannedEvent::warning(
                    "NotDeleted",
                    format!("Pod was expected by PDB {ns}/{pdb_name} to be deleted but it wasn't"),
                ),
            ));
        } else {
            recheck = Some(recheck.map_or(expected, |r| r.min(expected)));
            out.insert(name, at.clone());
        }
    }
    Disrupted {
        kept: out,
        recheck,
        events,
    }
}

/// `countHealthyPods`: ready pods that are neither being deleted nor just evicted.
fn count_healthy(pods: &[Arc<Pod>], disrupted: &BTreeMap<String, Time>, now: Timestamp) -> i32 {
    let healthy = pods.iter().filter(|p| {
        let name = p.metadata.name.as_deref().unwrap_or_default();
        let evicted = disrupted
            .get(name)
            .is_some_and(|t| plus_secs(t.0, DELETION_TIMEOUT_SECS) > now);
        p.metadata.deletion_timestamp.is_none() && !evicted && pods::is_ready(p)
    });
    i32::try_from(healthy.count()).unwrap_or(i32::MAX)
}

/// `apimeta.SetStatusCondition`: the transition time moves only when the status does.
pub fn set_condition(
    conds: &mut Vec<Condition>,
    status: &str,
    reason: &str,
    message: &str,
    generation: i64,
    now: Timestamp,
) {
    match conds.iter_mut().find(|c| c.type_ == CONDITION) {
        Some(c) => {
            if c.status != status {
                c.status = status.into();
                c.last_transition_time = Time(now);
            }
            c.reason = reason.into();
            c.message = message.into();
            c.observed_generation = Some(generation);
        }
        None => conds.push(Condition {
            type_: CONDITION.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: Some(generation),
            last_transition_time: Time(now),
        }),
    }
}

/// `UpdateDisruptionAllowedCondition`.
fn update_condition(status: &mut PodDisruptionBudgetStatus, now: Timestamp) {
    let generation = status.observed_generation.unwrap_or(0);
    let conds = status.conditions.get_or_insert_with(Vec::new);
    if status.disruptions_allowed > 0 {
        set_condition(conds, "True", SUFFICIENT_PODS, "", generation, now);
    } else {
        set_condition(conds, "False", INSUFFICIENT_PODS, "", generation, now);
    }
}

/// `ConditionsAreUpToDate`.
fn conditions_up_to_date(pdb: &PodDisruptionBudget) -> bool {
    let Some(status) = &pdb.status else {
        return false;
    };
    let Some(c) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == CONDITION)
    else {
        return false;
    };
    if status.observed_generation != pdb.metadata.generation {
        return false;
    }
    if status.disruptions_allowed > 0 {
        c.status == "True" && c.reason == SUFFICIENT_PODS
    } else {
        c.status == "False" && c.reason == INSUFFICIENT_PODS
    }
}

/// `failSafe`: no disruptions while the budget cannot be computed.
pub fn fail_safe(
    pdb: &PodDisruptionBudget,
    err: &str,
    now: Timestamp,
) -> PodDisruptionBudgetStatus {
    let mut status = pdb.status.clone().unwrap_or_default();
    status.disruptions_allowed = 0;
    let generation = status.observed_generation.unwrap_or(0);
    let conds = status.conditions.get_or_insert_with(Vec::new);
    set_condition(conds, "False", SYNC_FAILED, err, generation, now);
    status
}

/// Go's `%v` of a `*metav1.LabelSelector` (its generated `String()`), for the
/// UnmanagedPods message.
fn selector_string(sel: Option<&LabelSelector>) -> String {
    let Some(sel) = sel else {
        return "nil".into();
    };
    let labels: String = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {v},"))
        .collect();
    let exprs: String = sel
        .match_expressions
        .iter()
        .flatten()
        .map(|e| {
            let values = e.values.clone().unwrap_or_default().join(",");
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{values}],}},",
                e.key, e.operator
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}"
    )
}

/// One sync of a budget over the pods its selector picks.
pub fn plan(
    pdb: &PodDisruptionBudget,
    pods: &[Arc<Pod>],
    find: &dyn Fn(&OwnerReference, &str) -> Option<Scale>,
    now: Timestamp,
) -> Plan {
    let mut plan = Plan::default();
    if pods.is_empty() {
        plan.events
            .push(PlannedEvent::normal("NoPods", "No matching pods found"));
    }
    let (expected, desired, unmanaged) = match expected_counts(pdb, pods, find) {
        Ok(c) => c,
        Err(e) => {
            plan.events.push(PlannedEvent::warning(
                "CalculateExpectedPodCountFailed",
                format!("Failed to calculate the number of expected pods: {e}"),
            ));
            plan.status = Some(fail_safe(pdb, &e.to_string(), now));
            return plan;
        }
    };
    if !unmanaged.is_empty() {
        let sel = selector_string(pdb.spec.as_ref().and_then(|s| s.selector.as_ref()));
        plan.events.push(PlannedEvent::warning(
            "UnmanagedPods",
            format!(
                "Pods selected by this PodDisruptionBudget (selector: {sel}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value."
            ),
        ));
    }
    let Disrupted {
        kept: disrupted,
        recheck,
        events: pod_events,
    } = disrupted_pod_map(pods, pdb, now);
    plan.pod_events = pod_events;
    plan.recheck = recheck.map(|t| duration_until(t, now));
    let healthy = count_healthy(pods, &disrupted, now);
    let allowed = if expected <= 0 {
        0
    } else {
        (healthy - desired).max(0)
    };
    let old = pdb.status.clone().unwrap_or_default();
    let old_disrupted: BTreeMap<String, Time> = old.disrupted_pods.clone().unwrap_or_default();
    let same_disrupted = old_disrupted.keys().collect::<BTreeSet<_>>()
        == disrupted.keys().collect::<BTreeSet<_>>()
        && old_disrupted
            .iter()
            .all(|(k, v)| disrupted.get(k) == Some(v));
    if old.current_healthy == healthy
        && old.desired_healthy == desired
        && old.expected_pods == expected
        && old.disruptions_allowed == allowed
        && same_disrupted
        && old.observed_generation == pdb.metadata.generation
        && conditions_up_to_date(pdb)
    {
        return plan;
    }
    let mut status = PodDisruptionBudgetStatus {
        current_healthy: healthy,
        desired_healthy: desired,
        expected_pods: expected,
        disruptions_allowed: allowed,
        disrupted_pods: (!disrupted.is_empty()).then_some(disrupted),
        observed_generation: pdb.metadata.generation,
        conditions: old.conditions,
    };
    update_condition(&mut status, now);
    plan.status = Some(status);
    plan
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
