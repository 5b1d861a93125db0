//! NodePorts filter: the pod's host ports must be free on the node (k8s-behaviour.md §1.2).

use k8s_openapi::api::core::v1::{ContainerPort, Pod};

use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, NodeNames, Plugin, PreFilterPlugin, Snapshot, Status,
};

/// Plugin name.
pub const NAME: &str = "NodePorts";
/// Reason when a wanted host port is taken.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";
const STATE_KEY: &str = "PreFilterNodePorts";

/// The NodePorts plugin.
#[derive(Debug, Default)]
pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

/// The pod's container ports (regular containers, as upstream `getContainerPorts`).
pub fn container_ports(pod: &Pod) -> Vec<ContainerPort> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .cloned()
        .collect()
}

impl PreFilterPlugin for NodePorts {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        _s: &Snapshot,
    ) -> (Option<NodeNames>, Status) {
        let ports = container_ports(pod);
        if ports.is_empty() {
            return (None, Status::skip());
        }
        state.write(STATE_KEY, ports);
        (None, Status::success())
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let computed;
        let ports = match state.read::<Vec<ContainerPort>>(STATE_KEY) {
            Some(p) => p,
            None => {
                computed = container_ports(pod);
                &computed
            }
        };
        let conflict = ports.iter().any(|p| {
            node.used_ports.check_conflict(
                p.host_ip.as_deref().unwrap_or(""),
                p.protocol.as_deref().unwrap_or(""),
                p.host_port.unwrap_or(0),
            )
        });
        if conflict {
            Status::unschedulable(ERR_REASON)
        } else {
            Status::success()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::testing::{node, node_info, pod};
    use serde_json::json;

    fn port_pod(name: &str, ip: &str, port: i32) -> std::sync::Arc<Pod> {
        pod(
            name,
            json!({"containers": [{"name": "c", "ports": [
            {"containerPort": 80, "hostPort": port, "hostIP": ip, "protocol": "TCP"}]}]}),
        )
    }

    #[test]
    fn a_taken_host_port_rejects_the_node() {
        let n = node_info(
            node("n1", "1", "1Gi", json!({})),
            &[port_pod("e", "", 8080)],
        );
        let s = NodePorts.filter(&CycleState::default(), &port_pod("p", "10.0.0.1", 8080), &n);
        assert_eq!(s.code, Code::Unschedulable);
        assert_eq!(s.reasons, vec![ERR_REASON]);
    }

    #[test]
    fn different_specific_ips_do_not_conflict() {
        let n = node_info(
            node("n1", "1", "1Gi", json!({})),
            &[port_pod("e", "10.0.0.2", 8080)],
        );
        assert!(
            NodePorts
                .filter(&CycleState::default(), &port_pod("p", "10.0.0.1", 8080), &n)
                .is_success()
        );
    }

    #[test]
    fn a_pod_without_ports_skips_the_filter() {
        let (_, s) = NodePorts.pre_filter(
            &mut CycleState::default(),
            &pod("p", json!({})),
            &Snapshot::default(),
        );
        assert!(s.is_skip());
    }
}
