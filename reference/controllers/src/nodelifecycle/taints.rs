//! Node taints from conditions (`doNoScheduleTaintingPass`, `processTaintBaseEviction`).
//! Entry points: [`no_schedule_taints`], [`no_execute_action`].

use k8s_openapi::api::core::v1::{Node, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::util::time::Timestamp;

/// Ready=False.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Ready=Unknown.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// spec.unschedulable.
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// Condition-driven NoSchedule taint keys, in upstream's table order.
const CONDITION_TAINTS: [(&str, &str, &str); 6] = [
    ("Ready", "False", NOT_READY),
    ("Ready", "Unknown", UNREACHABLE),
    (
        "MemoryPressure",
        "True",
        "node.kubernetes.io/memory-pressure",
    ),
    ("DiskPressure", "True", "node.kubernetes.io/disk-pressure"),
    (
        "NetworkUnavailable",
        "True",
        "node.kubernetes.io/network-unavailable",
    ),
    ("PIDPressure", "True", "node.kubernetes.io/pid-pressure"),
];

fn status_of<'a>(node: &'a Node, t: &str) -> Option<&'a str> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t)
        .map(|c| c.status.as_str())
}

fn taints(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[])
}

fn is_ours_no_schedule(t: &Taint) -> bool {
    t.effect == "NoSchedule"
        && (t.key == UNSCHEDULABLE || CONDITION_TAINTS.iter().any(|(_, _, k)| *k == t.key))
}

/// The node's taints with the controller's NoSchedule taints brought in line with its
/// conditions; `None` when nothing changes.
pub fn no_schedule_taints(node: &Node) -> Option<Vec<Taint>> {
    let mut wanted: Vec<&str> = CONDITION_TAINTS
        .iter()
        .filter(|(c, s, _)| status_of(node, c) == Some(*s))
        .map(|(_, _, k)| *k)
        .collect();
    if node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
    {
        wanted.push(UNSCHEDULABLE);
    }
    let current = taints(node);
    let have: Vec<&str> = current
        .iter()
        .filter(|t| is_ours_no_schedule(t))
        .map(|t| t.key.as_str())
        .collect();
    if wanted.iter().all(|k| have.contains(k)) && have.iter().all(|k| wanted.contains(k)) {
        return None;
    }
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| !is_ours_no_schedule(t))
        .cloned()
        .collect();
    out.extend(wanted.into_iter().map(|k| Taint {
        key: k.into(),
        effect: "NoSchedule".into(),
        value: None,
        time_added: None,
    }));
    Some(out)
}

/// What the NoExecute handling does for a node this pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoExecute {
    /// Nothing.
    None,
    /// Queue the node for rate-limited tainting with this key.
    Enqueue(&'static str),
    /// Replace the opposite taint with this one right away.
    Swap(&'static str),
    /// Ready again: remove both NoExecute taints (and dequeue).
    Remove,
}

fn has_no_execute(node: &Node, key: &str) -> bool {
    taints(node)
        .iter()
        .any(|t| t.key == key && t.effect == "NoExecute")
}

/// `processTaintBaseEviction`.
pub fn no_execute_action(node: &Node) -> NoExecute {
    match status_of(node, "Ready") {
        Some("False") if has_no_execute(node, NOT_READY) => NoExecute::None,
        Some("False") if has_no_execute(node, UNREACHABLE) => NoExecute::Swap(NOT_READY),
        Some("False") => NoExecute::Enqueue(NOT_READY),
        Some("Unknown") if has_no_execute(node, UNREACHABLE) => NoExecute::None,
        Some("Unknown") if has_no_execute(node, NOT_READY) => NoExecute::Swap(UNREACHABLE),
        Some("Unknown") => NoExecute::Enqueue(UNREACHABLE),
        Some("True") if has_no_execute(node, NOT_READY) || has_no_execute(node, UNREACHABLE) => {
            NoExecute::Remove
        }
        _ => NoExecute::None,
    }
}

/// The taint to add when the zone queue lets a node through (None if Ready again).
pub fn queued_taint(node: &Node) -> Option<&'static str> {
    match status_of(node, "Ready") {
        Some("False") => Some(NOT_READY),
        Some("Unknown") => Some(UNREACHABLE),
        _ => None,
    }
}

/// The node's taints with `key:NoExecute` (timeAdded now) in place of the other one.
pub fn with_no_execute(node: &Node, key: Option<&str>, now: Timestamp) -> Vec<Taint> {
    let mut out: Vec<Taint> = taints(node)
        .iter()
        .filter(|t| !(t.effect == "NoExecute" && (t.key == NOT_READY || t.key == UNREACHABLE)))
        .cloned()
        .collect();
    if let Some(k) = key {
        out.push(Taint {
            key: k.into(),
            effect: "NoExecute".into(),
            value: None,
            time_added: Some(Time(now)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::pods::fixtures::taints as taints_of;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeSpec, NodeStatus};

    fn node(conds: &[(&str, &str)], taints: &[(&str, &str)]) -> Node {
        Node {
            metadata: Default::default(),
            spec: Some(NodeSpec {
                taints: Some(taints_of(taints)),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                conditions: Some(
                    conds
                        .iter()
                        .map(|(t, s)| NodeCondition {
                            type_: (*t).into(),
                            status: (*s).into(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn conditions_map_to_no_schedule_taints() {
        let n = node(
            &[
                ("Ready", "False"),
                ("MemoryPressure", "True"),
                ("NetworkUnavailable", "True"),
            ],
            &[("custom", "NoSchedule")],
        );
        let keys: Vec<String> = no_schedule_taints(&n)
            .unwrap()
            .into_iter()
            .map(|t| t.key)
            .collect();
        assert_eq!(
            keys,
            vec![
                "custom",
                NOT_READY,
                "node.kubernetes.io/memory-pressure",
                "node.kubernetes.io/network-unavailable"
            ]
        );
        let unknown = node(&[("Ready", "Unknown")], &[]);
        assert_eq!(no_schedule_taints(&unknown).unwrap()[0].key, UNREACHABLE);
        let healthy = node(&[("Ready", "True")], &[(NOT_READY, "NoSchedule")]);
        assert_eq!(no_schedule_taints(&healthy), Some(vec![]));
        assert_eq!(no_schedule_taints(&node(&[("Ready", "True")], &[])), None);
    }

    #[test]
    fn no_execute_taints_are_queued_swapped_at_once_and_removed_when_ready() {
        assert_eq!(
            no_execute_action(&node(&[("Ready", "False")], &[])),
            NoExecute::Enqueue(NOT_READY)
        );
        assert_eq!(
            no_execute_action(&node(&[("Ready", "Unknown")], &[(NOT_READY, "NoExecute")])),
            NoExecute::Swap(UNREACHABLE)
        );
        assert_eq!(
            no_execute_action(&node(&[("Ready", "True")], &[(UNREACHABLE, "NoExecute")])),
            NoExecute::Remove
        );
        assert_eq!(
            no_execute_action(&node(
                &[("Ready", "Unknown")],
                &[(UNREACHABLE, "NoExecute")]
            )),
            NoExecute::None
        );
    }
}
