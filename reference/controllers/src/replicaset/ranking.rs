//! `ActivePodsWithRanks` (`controller_utils.go`): the order in which a ReplicaSet picks
//! pods to delete, earliest first. Entry point: [`pods_to_delete`].

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use crate::util::pods::{is_active, is_ready, node_name, phase, ready_since, uid};
use crate::util::time::{Timestamp, nanos_between};

/// Annotation holding an int32 "cost" of deleting a pod (lower goes first; default 0).
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// A pod with its rank: how many active related pods share its node.
#[derive(Clone, Debug)]
pub struct RankedPod {
    /// The pod.
    pub pod: Arc<Pod>,
    /// Co-located related active pods (including itself when it is related).
    pub rank: usize,
}

/// Feature switches that change the order, both on by default upstream.
#[derive(Clone, Copy, Debug)]
pub struct RankingGates {
    /// `PodDeletionCost` (rule 4).
    pub pod_deletion_cost: bool,
    /// `LogarithmicScaleDown` (rules 6 and 8 compare log2 age buckets).
    pub logarithmic_scale_down: bool,
}

impl Default for RankingGates {
    fn default() -> Self {
        Self {
            pod_deletion_cost: true,
            logarithmic_scale_down: true,
        }
    }
}

fn phase_ordinal(pod: &Pod) -> u8 {
    // Upstream's map only has these three; any other phase reads as 0.
    match phase(pod) {
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    }
}

/// The deletion cost; an unparsable value counts as 0, as a validated pod cannot have one.
pub fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(POD_DELETION_COST))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Max restarts of (regular containers, restartable init containers).
fn max_restarts(pod: &Pod) -> (i32, i32) {
    let Some(status) = pod.status.as_ref() else {
        return (0, 0);
    };
    let regular = status
        .container_statuses
        .iter()
        .flatten()
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0);
    let sidecar_names: Vec<&str> = pod
        .spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten())
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    let sidecar = status
        .init_container_statuses
        .iter()
        .flatten()
        .filter(|c| sidecar_names.contains(&c.name.as_str()))
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0);
    (regular, sidecar)
}

/// floor(log2(now - t in ns)), or -1 when `t` is not in the past.
fn log_bucket(t: Timestamp, now: Timestamp) -> i64 {
    let d = nanos_between(now, t);
    if d > 0 {
        // f64 precision is what upstream's math.Log2(float64(d)) uses too.
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let bucket = (d as f64).log2() as i64;
        bucket
    } else {
        -1
    }
}

/// `afterOrZero`: a zero time sorts first, then the later time.
fn after_or_zero(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    match (a, b) {
        (None, _) => true,
        (_, None) => false,
        (Some(a), Some(b)) => a > b,
    }
}

/// Rules 6 and 8: compare two times, newest (or zero) first, in log buckets when gated.
fn time_less(
    a: Option<Timestamp>,
    b: Option<Timestamp>,
    pa: &Pod,
    pb: &Pod,
    now: Option<Timestamp>,
    gates: RankingGates,
) -> Option<bool> {
    if a == b {
        return None;
    }
    let (Some(ta), Some(tb), Some(now)) = (a, b, now) else {
        return Some(after_or_zero(a, b));
    };
    if !gates.logarithmic_scale_down {
        return Some(after_or_zero(a, b));
    }
    let diff = log_bucket(ta, now) - log_bucket(tb, now);
    if diff == 0 {
        return Some(uid(pa) < uid(pb));
    }
    Some(diff < 0)
}

/// `ActivePodsWithRanks.Less`: is `a` to be deleted before `b`?
pub fn less(a: &RankedPod, b: &RankedPod, now: Option<Timestamp>, gates: RankingGates) -> bool {
    let (pa, pb) = (a.pod.as_ref(), b.pod.as_ref());
    // 1. Unassigned before assigned.
    let (na, nb) = (node_name(pa), node_name(pb));
    if na != nb && (na.is_empty() || nb.is_empty()) {
        return na.is_empty();
    }
    // 2. Pending < Unknown < Running.
    if phase_ordinal(pa) != phase_ordinal(pb) {
        return phase_ordinal(pa) < phase_ordinal(pb);
    }
    // 3. Not ready before ready.
    if is_ready(pa) != is_ready(pb) {
        return !is_ready(pa);
    }
    // 4. Lower deletion cost first.
    if gates.pod_deletion_cost && deletion_cost(pa) != deletion_cost(pb) {
        return deletion_cost(pa) < deletion_cost(pb);
    }
    // 5. Doubled up (higher rank) first.
    if a.rank != b.rank {
        return a.rank > b.rank;
    }
    // 6. Both ready: ready for less time first.
    if is_ready(pa)
        && is_ready(pb)
        && let Some(r) = time_less(ready_since(pa), ready_since(pb), pa, pb, now, gates)
    {
        return r;
    }
    // 7. More restarts first (sidecars, then regular containers).
    let (ra, rb) = (max_restarts(pa), max_restarts(pb));
    if ra.1 != rb.1 {
        return ra.1 > rb.1;
    }
    if ra.0 != rb.0 {
        return ra.0 > rb.0;
    }
    // 8. Newer (or unset) creation time first.
    let (ca, cb) = (
        pa.metadata.creation_timestamp.as_ref().map(|t| t.0),
        pb.metadata.creation_timestamp.as_ref().map(|t| t.0),
    );
    time_less(ca, cb, pa, pb, now, gates).unwrap_or(false)
}

/// Ranks `pods` by how many active `related` pods share their node.
pub fn rank(pods: &[Arc<Pod>], related: &[Arc<Pod>]) -> Vec<RankedPod> {
    let mut on_node: HashMap<&str, usize> = HashMap::new();
    for p in related.iter().filter(|p| is_active(p)) {
        *on_node.entry(node_name(p)).or_default() += 1;
    }
    pods.iter()
        .map(|p| RankedPod {
            pod: p.clone(),
            rank: on_node.get(node_name(p)).copied().unwrap_or(0),
        })
        .collect()
}

/// `getPodsToDelete`: the first `diff` pods in deletion order (no sort when all go).
pub fn pods_to_delete(
    pods: &[Arc<Pod>],
    related: &[Arc<Pod>],
    diff: usize,
    now: Timestamp,
) -> Vec<Arc<Pod>> {
    if diff >= pods.len() {
        return pods.to_vec();
    }
    let mut ranked = rank(pods, related);
    let gates = RankingGates::default();
    ranked.sort_by(|a, b| {
        if less(a, b, Some(now), gates) {
            Ordering::Less
        } else if less(b, a, Some(now), gates) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    });
    ranked.into_iter().take(diff).map(|r| r.pod).collect()
}

#[cfg(test)]
#[path = "ranking_tests.rs"]
mod tests;
