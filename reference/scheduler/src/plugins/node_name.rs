//! NodeName filter: a pod that names a node (`spec.nodeName`) fits only that node.

use k8s_openapi::api::core::v1::Pod;

use crate::framework::{CycleState, FilterPlugin, NodeInfo, Plugin, Status};

/// Plugin name.
pub const NAME: &str = "NodeName";
/// Reason for every other node.
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

/// The NodeName plugin.
#[derive(Debug, Default)]
pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        match pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            None | Some("") => Status::success(),
            Some(name) if name == node.name() => Status::success(),
            Some(_) => Status::unresolvable(ERR_REASON),
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
    fn a_pod_naming_another_node_does_not_fit() {
        let n = node_info(node("n1", "1", "1Gi", json!({})), &[]);
        let s = NodeName.filter(
            &CycleState::default(),
            &pod("p", json!({"nodeName": "n2"})),
            &n,
        );
        assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(s.reasons, vec![ERR_REASON]);
    }

    #[test]
    fn a_pod_naming_this_node_or_none_fits() {
        let n = node_info(node("n1", "1", "1Gi", json!({})), &[]);
        let st = CycleState::default();
        assert!(
            NodeName
                .filter(&st, &pod("p", json!({"nodeName": "n1"})), &n)
                .is_success()
        );
        assert!(NodeName.filter(&st, &pod("p", json!({})), &n).is_success());
    }
}
