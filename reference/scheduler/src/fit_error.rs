//! The "0/N nodes are available: ..." message (upstream `FitError.Error()`,
//! k8s-behaviour.md §1.8), including the preemption suffix. Entry point: [`FitError`].
//!
//! The reference does not preempt. It appends what upstream's DefaultPreemption prints when
//! it finds nothing to evict: nodes rejected as UnschedulableAndUnresolvable are
//! "Preemption is not helpful for scheduling", nodes rejected as Unschedulable are "No
//! preemption victims found for incoming pod". (Upstream could find victims among
//! lower-priority pods; the reference never does, so it always reports none.)

use std::collections::{BTreeMap, HashMap};

use crate::framework::{Code, Status};

/// Reason for nodes where preemption cannot help.
pub const PREEMPTION_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
/// Reason for nodes where preemption might help but no victims exist.
pub const NO_PREEMPTION_VICTIMS: &str = "No preemption victims found for incoming pod";
/// The scheduler error when the cluster has no nodes at all (not a FitError).
pub const ERR_NO_NODES_AVAILABLE: &str = "no nodes available to schedule pods";

/// Why no node fits: per-node statuses (nodes not listed take `absent_status`).
#[derive(Clone, Debug)]
pub struct FitError {
    /// Number of nodes in the cluster.
    pub num_all_nodes: usize,
    /// Set when a PreFilter rejected the pod: its message.
    pub pre_filter_msg: Option<String>,
    /// node → the status that rejected it.
    pub node_statuses: HashMap<String, Status>,
    /// Status of nodes never evaluated (excluded by a PreFilter's node set).
    pub absent_status: Option<Status>,
    /// The pod has `preemptionPolicy: Never`, so preemption is not even attempted.
    pub preemption_never: bool,
}

/// DefaultPreemption's message for pods with `preemptionPolicy: Never`.
pub const NOT_ELIGIBLE_PREEMPTION_NEVER: &str = "not eligible due to preemptionPolicy=Never.";

/// Builds `0/N nodes are available: <sorted "count reason" list>.` (or the PreFilter
/// message), without any suffix.
fn histogram_message(
    num_all_nodes: usize,
    pre_filter_msg: Option<&str>,
    statuses: &HashMap<String, Status>,
    absent: Option<&Status>,
) -> String {
    let mut msg = format!("0/{num_all_nodes} nodes are available:");
    if let Some(pf) = pre_filter_msg {
        msg.push_str(&format!(" {pf}."));
        return msg;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for status in statuses.values() {
        for reason in &status.reasons {
            *counts.entry(reason.as_str()).or_insert(0) += 1;
        }
    }
    if statuses.len() < num_all_nodes
        && let Some(absent) = absent
    {
        for reason in &absent.reasons {
            *counts.entry(reason.as_str()).or_insert(0) += num_all_nodes - statuses.len();
        }
    }
    // Go's sort.Strings: plain byte order over "count reason", so "10 x" < "2 y".
    let mut parts: Vec<String> = counts.iter().map(|(r, c)| format!("{c} {r}")).collect();
    parts.sort();
    if !parts.is_empty() {
        msg.push_str(&format!(" {}.", parts.join(", ")));
    }
    msg
}

impl FitError {
    /// What DefaultPreemption reports (the PostFilter message): every node classified by
    /// whether evicting pods could help, or that the pod may not preempt at all.
    pub fn preemption_message(&self) -> String {
        if self.preemption_never {
            return format!("preemption: {NOT_ELIGIBLE_PREEMPTION_NEVER}");
        }
        let classify = |s: &Status| {
            let reason =
                if s.code == Code::UnschedulableAndUnresolvable || self.pre_filter_msg.is_some() {
                    PREEMPTION_NOT_HELPFUL
                } else {
                    NO_PREEMPTION_VICTIMS
                };
            Status::new(s.code, vec![reason.to_string()])
        };
        let statuses: HashMap<String, Status> = self
            .node_statuses
            .iter()
            .map(|(n, s)| (n.clone(), classify(s)))
            .collect();
        let absent = Status::unresolvable(PREEMPTION_NOT_HELPFUL);
        let inner = histogram_message(self.num_all_nodes, None, &statuses, Some(&absent));
        format!("preemption: {inner}")
    }

    /// The full message written to the PodScheduled condition and the event.
    pub fn message(&self) -> String {
        let mut msg = histogram_message(
            self.num_all_nodes,
            self.pre_filter_msg.as_deref(),
            &self.node_statuses,
            self.absent_status.as_ref(),
        );
        msg.push(' ');
        msg.push_str(&self.preemption_message());
        msg
    }
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses<N: AsRef<str>>(list: &[(N, Status)]) -> HashMap<String, Status> {
        list.iter()
            .map(|(n, s)| (n.as_ref().to_string(), s.clone()))
            .collect()
    }

    #[test]
    fn the_message_counts_reasons_and_sorts_them_as_strings() {
        let mut list = vec![("a".to_string(), Status::unschedulable("Insufficient cpu"))];
        for i in 0..10 {
            list.push((
                format!("x{i}"),
                Status::unresolvable("node(s) were unschedulable"),
            ));
        }
        let e = FitError {
            num_all_nodes: 11,
            pre_filter_msg: None,
            node_statuses: statuses(&list),
            absent_status: None,
            preemption_never: false,
        };
        assert_eq!(
            e.message(),
            "0/11 nodes are available: 1 Insufficient cpu, 10 node(s) were unschedulable. \
             preemption: 0/11 nodes are available: 1 No preemption victims found for incoming pod, \
             10 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn lexicographic_order_puts_10_before_2() {
        let mut list: Vec<(String, Status)> = (0..10)
            .map(|i| (format!("a{i}"), Status::unresolvable("z")))
            .collect();
        list.push(("b0".into(), Status::unresolvable("y")));
        list.push(("b1".into(), Status::unresolvable("y")));
        let msg = histogram_message(12, None, &statuses(&list), None);
        assert_eq!(msg, "0/12 nodes are available: 10 z, 2 y.");
    }

    #[test]
    fn a_node_with_two_reasons_counts_for_both() {
        let e = FitError {
            num_all_nodes: 3,
            pre_filter_msg: None,
            node_statuses: statuses(&[
                (
                    "n1",
                    Status::new(
                        Code::Unschedulable,
                        vec!["Insufficient cpu".into(), "Insufficient memory".into()],
                    ),
                ),
                (
                    "n2",
                    Status::unresolvable("node(s) didn't match Pod's node affinity/selector"),
                ),
                (
                    "n3",
                    Status::unresolvable("node(s) didn't match Pod's node affinity/selector"),
                ),
            ]),
            absent_status: None,
            preemption_never: false,
        };
        assert_eq!(
            e.message(),
            "0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, \
             2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: \
             1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn the_single_node_example_from_public_logs_is_reproduced() {
        let e = FitError {
            num_all_nodes: 1,
            pre_filter_msg: None,
            node_statuses: statuses(&[("n1", Status::unschedulable("Insufficient cpu"))]),
            absent_status: None,
            preemption_never: false,
        };
        assert_eq!(
            e.message(),
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: \
             1 No preemption victims found for incoming pod."
        );
    }

    #[test]
    fn a_pre_filter_rejection_prints_only_its_message() {
        let e = FitError {
            num_all_nodes: 2,
            pre_filter_msg: Some("pod affinity terms conflict".into()),
            node_statuses: statuses(&[
                ("n1", Status::unresolvable("pod affinity terms conflict")),
                ("n2", Status::unresolvable("pod affinity terms conflict")),
            ]),
            absent_status: None,
            preemption_never: false,
        };
        assert_eq!(
            e.message(),
            "0/2 nodes are available: pod affinity terms conflict. preemption: 0/2 nodes are available: \
             2 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn absent_nodes_take_the_absent_status_reasons() {
        let e = FitError {
            num_all_nodes: 3,
            pre_filter_msg: None,
            node_statuses: statuses(&[("n1", Status::unschedulable("Insufficient cpu"))]),
            absent_status: Some(Status::unresolvable(
                "node(s) didn't satisfy plugin(s) [NodeAffinity]",
            )),
            preemption_never: false,
        };
        assert_eq!(
            e.message(),
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. \
             preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, \
             2 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn a_pod_that_may_not_preempt_says_so() {
        let e = FitError {
            num_all_nodes: 1,
            pre_filter_msg: None,
            node_statuses: statuses(&[("n1", Status::unschedulable("Insufficient cpu"))]),
            absent_status: None,
            preemption_never: true,
        };
        assert_eq!(
            e.message(),
            "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
        );
    }
}
