//! Which routes a node needs to reach the pods of other nodes, as kind's kindnetd
//! decides them: for every other Node with a pod CIDR and an InternalIP, the route
//! `<podCIDR> via <InternalIP>`. Pure functions; the driver is [`super::route_sync`].
//! Entry points: [`desired`] (Nodes → routes), [`parse`] (`ip -json route` → routes),
//! [`plan`] (the difference) and [`script`] (the `ip -batch` input that applies it).
//!
//! The routes carry their own routing protocol number ([`PROTOCOL`]), so that
//! `ip route show proto <n>` lists exactly the routes this task owns, including those a
//! previous run left behind, and nothing else in the table is ever touched. IPv4 only,
//! as the reference's clusters are.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};
use k8s_openapi::api::core::v1::Node;

/// The routing protocol number the routes are tagged with: one that iproute2's
/// `rt_protos` gives to no routing daemon.
pub const PROTOCOL: u8 = 107;

/// Routes by destination: pod CIDR → the node address it is reached through.
pub type Routes = BTreeMap<Ipv4Net, Ipv4Addr>;

/// One change to the routing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add the route, or point an existing one at a new gateway.
    Replace {
        /// A pod CIDR.
        dst: Ipv4Net,
        /// The node holding it.
        via: Ipv4Addr,
    },
    /// Remove a route whose node is gone or changed its pod CIDR.
    Delete {
        /// A pod CIDR.
        dst: Ipv4Net,
        /// The gateway the route has now.
        via: Ipv4Addr,
    },
}

fn name(node: &Node) -> Option<&str> {
    node.metadata.name.as_deref()
}

/// The node's first IPv4 `InternalIP`.
fn internal_ip(node: &Node) -> Option<Ipv4Addr> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .filter(|a| a.type_ == "InternalIP")
        .find_map(|a| a.address.parse().ok())
}

/// The node's IPv4 pod CIDRs: `spec.podCIDRs`, or `spec.podCIDR` when that is absent
/// (both are set by the kubelet or the node IPAM controller; the list wins upstream).
fn pod_cidrs(node: &Node) -> Vec<Ipv4Net> {
    let Some(spec) = node.spec.as_ref() else {
        return Vec::new();
    };
    let listed = spec.pod_cidrs.clone().filter(|l| !l.is_empty());
    let cidrs = listed.or_else(|| spec.pod_cidr.clone().map(|c| vec![c]));
    cidrs
        .unwrap_or_default()
        .iter()
        .filter_map(|c| match c.parse::<IpNet>() {
            Ok(IpNet::V4(net)) => Some(net.trunc()),
            _ => None,
        })
        .collect()
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The routes node `own` needs, given every Node. Skipped, each for a reason:
/// - nodes without a pod CIDR or an IPv4 InternalIP (not ready to route to yet);
/// - nodes whose InternalIP is a loopback address or this node's own: they run on this
///   machine (the in-process cluster's nodes), where each pod already has a host route;
/// - CIDRs overlapping this node's own pod CIDR, which would send its own pods away;
/// - CIDRs overlapping one already routed: two nodes claiming one range is a
///   misconfiguration, and the first node by name keeps it so the choice is stable.
pub fn desired<'a>(nodes: impl IntoIterator<Item = &'a Node>, own: &str) -> Routes {
    let mut nodes: Vec<&Node> = nodes.into_iter().collect();
    nodes.sort_by(|a, b| name(a).cmp(&name(b)));
    let mine = nodes.iter().find(|n| name(n) == Some(own));
    let own_ip = mine.and_then(|n| internal_ip(n));
    let own_cidrs = mine.map(|n| pod_cidrs(n)).unwrap_or_default();
    let mut routes = Routes::new();
    for node in nodes.iter().filter(|n| name(n) != Some(own)) {
        let Some(via) = internal_ip(node) else {
            continue;
        };
        if via.is_loopback() || via.is_unspecified() || Some(via) == own_ip {
            continue;
        }
        for dst in pod_cidrs(node) {
            let taken = own_cidrs
                .iter()
                .chain(routes.keys())
                .any(|c| overlaps(c, &dst));
            if !taken {
                routes.insert(dst, via);
            }
        }
    }
    routes
}

/// One route as `ip -json route show` prints it.
#[derive(Debug, serde::Deserialize)]
struct Listed {
    dst: String,
    gateway: Option<String>,
}

/// The gateway routes in `ip -json -4 route show proto <PROTOCOL>` output. Entries
/// without a gateway or with a destination that is not an address are left out: this
/// task never creates such routes, so they are not its to change.
pub fn parse(json: &str) -> Result<Routes, serde_json::Error> {
    let listed: Vec<Listed> = if json.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(json)?
    };
    Ok(listed
        .into_iter()
        .filter_map(|r| {
            // `ip` prints a /32 destination as a bare address.
            let dst = r
                .dst
                .parse::<Ipv4Net>()
                .ok()
                .or_else(|| r.dst.parse::<Ipv4Addr>().ok().map(Ipv4Net::from))?;
            let via = r.gateway?.parse().ok()?;
            Some((dst, via))
        })
        .collect())
}

/// What turns `current` into `desired`: deletions first, so a range that moved between
/// nodes is never routed twice.
pub fn plan(desired: &Routes, current: &Routes) -> Vec<Change> {
    let deletes = current
        .iter()
        .filter(|(dst, _)| !desired.contains_key(dst))
        .map(|(&dst, &via)| Change::Delete { dst, via });
    let replaces = desired
        .iter()
        .filter(|(dst, via)| current.get(dst) != Some(via))
        .map(|(&dst, &via)| Change::Replace { dst, via });
    deletes.chain(replaces).collect()
}

/// The `ip -batch` input for `changes`, every route tagged with [`PROTOCOL`].
pub fn script(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| match c {
            Change::Replace { dst, via } => {
                format!("route replace {dst} via {via} proto {PROTOCOL}\n")
            }
            Change::Delete { dst, via } => {
                format!("route del {dst} via {via} proto {PROTOCOL}\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, cidr: Option<&str>, ip: Option<&str>) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"podCIDR": cidr},
            "status": {"addresses": ip.map(|ip| vec![
                serde_json::json!({"type": "Hostname", "address": name}),
                serde_json::json!({"type": "InternalIP", "address": ip}),
            ])},
        }))
        .unwrap()
    }

    fn routes(pairs: &[(&str, &str)]) -> Routes {
        pairs
            .iter()
            .map(|(d, v)| (d.parse().unwrap(), v.parse().unwrap()))
            .collect()
    }

    fn three_nodes() -> Vec<Node> {
        vec![
            node("node-1", Some("10.244.1.0/24"), Some("172.18.0.5")),
            node("node-2", Some("10.244.2.0/24"), Some("172.18.0.6")),
            node("node-3", Some("10.244.3.0/24"), Some("172.18.0.7")),
        ]
    }

    #[test]
    fn every_other_node_is_routed_through_its_internal_ip() {
        assert_eq!(
            desired(&three_nodes(), "node-1"),
            routes(&[
                ("10.244.2.0/24", "172.18.0.6"),
                ("10.244.3.0/24", "172.18.0.7")
            ])
        );
    }

    #[test]
    fn nodes_without_a_pod_cidr_or_an_internal_ip_are_not_routed_yet() {
        let nodes = [
            node("node-1", Some("10.244.1.0/24"), Some("172.18.0.5")),
            node("node-2", None, Some("172.18.0.6")),
            node("node-3", Some("10.244.3.0/24"), None),
            node("node-4", Some("not-a-cidr"), Some("172.18.0.8")),
        ];
        assert_eq!(desired(&nodes, "node-1"), Routes::new());
    }

    #[test]
    fn pod_cidrs_win_over_pod_cidr_and_are_truncated() {
        let mut n = node("node-2", Some("10.9.9.0/24"), Some("172.18.0.6"));
        if let Some(spec) = n.spec.as_mut() {
            spec.pod_cidrs = Some(vec!["10.244.2.7/24".into(), "fd00::/64".into()]);
        }
        assert_eq!(
            desired([&n], "node-1"),
            routes(&[("10.244.2.0/24", "172.18.0.6")])
        );
    }

    #[test]
    fn nodes_on_this_machine_are_not_routed() {
        let nodes = [
            node("node-1", Some("10.244.1.0/24"), Some("172.18.0.5")),
            node("node-2", Some("10.244.2.0/24"), Some("127.0.1.2")),
            node("node-3", Some("10.244.3.0/24"), Some("172.18.0.5")),
        ];
        assert_eq!(desired(&nodes, "node-1"), Routes::new());
    }

    #[test]
    fn a_range_overlapping_this_nodes_own_or_one_already_routed_is_skipped() {
        let nodes = [
            node("node-1", Some("10.244.1.0/24"), Some("172.18.0.5")),
            node("node-2", Some("10.244.0.0/16"), Some("172.18.0.6")),
            node("node-3", Some("10.245.3.0/24"), Some("172.18.0.7")),
            node("node-4", Some("10.245.3.0/24"), Some("172.18.0.8")),
        ];
        assert_eq!(
            desired(nodes.iter().rev(), "node-1"),
            routes(&[("10.245.3.0/24", "172.18.0.7")])
        );
    }

    #[test]
    fn ip_json_output_parses_and_bare_addresses_are_host_routes() {
        let json = r#"[
            {"dst":"10.244.2.0/24","gateway":"172.18.0.6","dev":"eth0","flags":[]},
            {"dst":"10.244.9.9","gateway":"172.18.0.9","dev":"eth0","flags":[]},
            {"dst":"default","gateway":"172.18.0.1","dev":"eth0","flags":[]},
            {"dst":"10.244.4.0/24","dev":"eth0","flags":[]}
        ]"#;
        assert_eq!(
            parse(json).unwrap(),
            routes(&[
                ("10.244.2.0/24", "172.18.0.6"),
                ("10.244.9.9/32", "172.18.0.9")
            ])
        );
        assert_eq!(parse("").unwrap(), Routes::new());
        assert!(parse("not json").is_err());
    }

    #[test]
    fn the_plan_deletes_routes_of_vanished_nodes_and_replaces_changed_ones() {
        let current = routes(&[
            ("10.244.2.0/24", "172.18.0.6"),
            ("10.244.3.0/24", "172.18.0.7"),
            ("10.244.4.0/24", "172.18.0.8"),
        ]);
        let desired = routes(&[
            ("10.244.2.0/24", "172.18.0.6"),
            ("10.244.3.0/24", "172.18.0.17"),
            ("10.244.5.0/24", "172.18.0.9"),
        ]);
        let changes = plan(&desired, &current);
        assert_eq!(
            script(&changes),
            "route del 10.244.4.0/24 via 172.18.0.8 proto 107\n\
             route replace 10.244.3.0/24 via 172.18.0.17 proto 107\n\
             route replace 10.244.5.0/24 via 172.18.0.9 proto 107\n"
        );
        assert!(plan(&desired, &desired).is_empty());
    }
}
