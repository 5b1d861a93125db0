//! One pod's link to the machine, as the CNI `ptp` plugin builds it: a veth pair whose
//! pod end is `eth0` in the sandbox's network namespace. Entry points: [`plan`] (pure:
//! the `ip -batch` scripts for both ends) and [`attach`] (runs them).
//!
//! The machine's end holds the node's gateway address (the first address of the pod
//! CIDR; the same address on every veth of the node, which Linux allows) and a host
//! route for the pod IP; the pod's end holds the pod IP as a single address with a
//! default route via the gateway. All traffic from a pod is therefore routed by the
//! machine, even to a pod on the same node, so nothing depends on bridging. The pair
//! disappears with the namespace when the sandbox's pause process exits.

use std::net::IpAddr;

use super::{NetworkError, run};

/// The `ip -batch` input for both ends of a pod's veth pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The machine's end of the pair (`veth` + 8 hex digits, within IFNAMSIZ).
    pub host_interface: String,
    /// Commands run in the machine's network namespace.
    pub host: String,
    /// Commands run in the pod's network namespace.
    pub pod: String,
}

/// The machine-side interface name for a sandbox: unique per sandbox id, 12 characters.
pub fn host_interface(sandbox_id: &str) -> String {
    let tag: String = sandbox_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    format!("veth{tag}")
}

fn host_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

/// The set-up of the sandbox `sandbox_id`, whose namespaces are held by process `pid`.
pub fn plan(sandbox_id: &str, pid: u32, ip: IpAddr, gateway: IpAddr) -> Plan {
    let veth = host_interface(sandbox_id);
    let (ip_len, gw_len) = (host_prefix(ip), host_prefix(gateway));
    let default = if ip.is_ipv4() { "default" } else { "::/0" };
    let host = format!(
        "link add {veth} type veth peer name eth0 netns {pid}\n\
         link set {veth} up\n\
         addr add {gateway}/{gw_len} dev {veth}\n\
         route add {ip}/{ip_len} dev {veth} scope link\n"
    );
    let pod = format!(
        "link set lo up\n\
         link set eth0 up\n\
         addr add {ip}/{ip_len} dev eth0\n\
         route add {gateway} dev eth0 scope link\n\
         route add {default} via {gateway} dev eth0\n"
    );
    Plan {
        host_interface: veth,
        host,
        pod,
    }
}

/// Builds the pair described by `plan` for the namespaces of process `pid`.
pub async fn attach(pid: u32, plan: &Plan) -> Result<(), NetworkError> {
    run(
        format!(
            "creating {} for the pod's network namespace",
            plan.host_interface
        ),
        "ip",
        &["-batch", "-"],
        Some(&plan.host),
    )
    .await?;
    let netns = format!("--net=/proc/{pid}/ns/net");
    run(
        "configuring eth0 in the pod's network namespace",
        "nsenter",
        &[&netns, "--", "ip", "-batch", "-"],
        Some(&plan.pod),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_end_is_named_after_the_sandbox_within_ifnamsiz() {
        let name = host_interface("0a1b2c3d4e5f60718293a4b5c6d7e8f9");
        assert_eq!(name, "veth0a1b2c3d");
        assert!(
            name.len() < 16,
            "Linux interface names have 15 characters at most"
        );
    }

    #[test]
    fn the_plan_routes_the_pod_ip_to_its_veth_and_the_pod_through_the_gateway() {
        let p = plan(
            "0a1b2c3d4e5f",
            4242,
            "10.244.1.7".parse().unwrap(),
            "10.244.1.1".parse().unwrap(),
        );
        assert_eq!(
            p.host,
            "link add veth0a1b2c3d type veth peer name eth0 netns 4242\n\
             link set veth0a1b2c3d up\n\
             addr add 10.244.1.1/32 dev veth0a1b2c3d\n\
             route add 10.244.1.7/32 dev veth0a1b2c3d scope link\n"
        );
        assert_eq!(
            p.pod,
            "link set lo up\n\
             link set eth0 up\n\
             addr add 10.244.1.7/32 dev eth0\n\
             route add 10.244.1.1 dev eth0 scope link\n\
             route add default via 10.244.1.1 dev eth0\n"
        );
    }

    #[test]
    fn ipv6_pods_get_host_routes_and_an_ipv6_default_route() {
        let p = plan(
            "ff",
            1,
            "fd00::7".parse().unwrap(),
            "fd00::1".parse().unwrap(),
        );
        assert!(p.host.contains("route add fd00::7/128 dev vethff"));
        assert!(p.pod.contains("route add ::/0 via fd00::1 dev eth0"));
    }
}
