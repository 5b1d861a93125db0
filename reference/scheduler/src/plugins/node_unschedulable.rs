//! NodeUnschedulable filter: cordoned nodes (`spec.unschedulable`) only take pods that
//! tolerate `node.kubernetes.io/unschedulable:NoSchedule`.

use k8s_openapi::api::core::v1::{Pod, Taint};

use crate::framework::{CycleState, FilterPlugin, NodeInfo, Plugin, Status};
use refkube_helpers::taints::{pod_tolerations, tolerations_tolerate};

/// Plugin name.
pub const NAME: &str = "NodeUnschedulable";
/// Reason when the node is cordoned.
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// Reason when the node object is missing.
pub const ERR_REASON_UNKNOWN_CONDITION: &str = "node(s) had unknown conditions";
/// The taint a cordoned node implicitly carries.
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The NodeUnschedulable plugin.
#[derive(Debug, Default)]
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let unschedulable = node
            .node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false);
        if !unschedulable {
            return Status::success();
        }
        let taint = Taint {
            key: TAINT_NODE_UNSCHEDULABLE.to_string(),
            effect: "NoSchedule".to_string(),
            ..Taint::default()
        };
        if tolerations_tolerate(pod_tolerations(pod), &taint) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_UNSCHEDULABLE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::testing::{node, node_info, pod};
    use serde_json::json;

    #[test]
    fn a_cordoned_node_rejects_pods_without_the_toleration() {
        let n = node_info(
            node("n1", "1", "1Gi", json!({"spec": {"unschedulable": true}})),
            &[],
        );
        let s = NodeUnschedulable.filter(&CycleState::default(), &pod("p", json!({})), &n);
        assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(s.reasons, vec!["node(s) were unschedulable"]);
    }

    #[test]
    fn a_cordoned_node_accepts_pods_tolerating_unschedulable() {
        let n = node_info(
            node("n1", "1", "1Gi", json!({"spec": {"unschedulable": true}})),
            &[],
        );
        let p = pod(
            "p",
            json!({"tolerations": [
            {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}),
        );
        assert!(
            NodeUnschedulable
                .filter(&CycleState::default(), &p, &n)
                .is_success()
        );
    }

    #[test]
    fn a_schedulable_node_accepts_any_pod() {
        let n = node_info(node("n1", "1", "1Gi", json!({})), &[]);
        assert!(
            NodeUnschedulable
                .filter(&CycleState::default(), &pod("p", json!({})), &n)
                .is_success()
        );
    }
}
