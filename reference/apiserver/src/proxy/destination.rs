//! Where `pods/proxy` and `services/proxy` may connect: the port part of a
//! `[scheme:]name[:port]` id, and the destination address.
//!
//! Entry points: [`parse_port`] and [`allowed`], pure functions. The API server relays
//! requests on the caller's behalf from inside the cluster, so a destination the caller
//! controls (a pod IP written to `status.podIP`, an Endpoints address, the port part of
//! the URL) must not let it reach what only the API server can reach: its own listener,
//! etcd and other control-plane ports on loopback, link-local metadata services.

use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

/// The port part of a proxy id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortRef<'a> {
    /// None given: the pod's first declared container port, else the scheme's default.
    Default,
    /// A port number, 1-65535.
    Number(u16),
    /// A named port (an IANA service name, as container and service ports are named).
    Name(&'a str),
}

/// Parses the port part: empty, a number in 1-65535, or a valid port name. Anything else
/// (`18081@127.0.0.3`, `80/x`, `0`) is `None`: it is never pasted into a URL.
pub fn parse_port(port: &str) -> Option<PortRef<'_>> {
    if port.is_empty() {
        return Some(PortRef::Default);
    }
    if port.bytes().all(|b| b.is_ascii_digit()) {
        return port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .map(PortRef::Number);
    }
    is_port_name(port).then_some(PortRef::Name(port))
}

/// Upstream's `IsValidPortName` (IANA_SVC_NAME): at most 15 lowercase letters, digits
/// and single inner dashes, with at least one letter.
pub fn is_port_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 15
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.iter().any(u8::is_ascii_lowercase)
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !s.contains("--")
}

/// What the decision needs to know about this API server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Honour loopback pod networks (refkube's `loopback`, pod CIDRs in 127/8); off, no
    /// loopback destination is ever allowed, as upstream allows global unicast only.
    pub loopback_pod_network: bool,
    /// Where this API server listens and is advertised: never a destination.
    pub own: Vec<SocketAddr>,
}

impl Policy {
    fn is_own(&self, ip: IpAddr, port: u16) -> bool {
        self.own.iter().any(|o| {
            o.port() == port && (o.ip() == ip || (o.ip().is_unspecified() && ip.is_loopback()))
        })
    }
}

/// Whether the proxy may connect to `ip:port` for a pod on `node` (its Node object, if
/// it is bound to one). Never: this API server, unspecified, multicast, broadcast and
/// link-local addresses. Loopback only when the pod network really is loopback: the
/// address lies in a loopback pod CIDR of the pod's Node, or is one of that Node's own
/// loopback addresses (a host-network pod). Other addresses, as upstream.
pub fn allowed(ip: IpAddr, port: u16, node: Option<&Value>, policy: &Policy) -> bool {
    // `::ffff:127.0.0.1` is 127.0.0.1: judge the address the socket will really use.
    let ip = ip.to_canonical();
    if policy.is_own(ip, port) {
        return false;
    }
    let never = match ip {
        IpAddr::V4(v4) => v4.is_link_local() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    };
    if never || ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    if ip.is_loopback() {
        return policy.loopback_pod_network && node.is_some_and(|n| node_owns_loopback(n, ip));
    }
    true
}

/// Whether `ip` (loopback) is in one of the Node's loopback pod CIDRs or is one of its
/// addresses.
fn node_owns_loopback(node: &Value, ip: IpAddr) -> bool {
    let cidrs = node["spec"]["podCIDRs"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(&node["spec"]["podCIDR"]))
        .filter_map(Value::as_str)
        .filter_map(|c| c.parse::<ipnet::IpNet>().ok());
    let in_cidr = cidrs
        .filter(|net| net.network().is_loopback())
        .any(|net| net.contains(&ip));
    let is_address = node["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["address"].as_str())
        .any(|a| a.parse::<IpAddr>().is_ok_and(|a| a.to_canonical() == ip));
    in_cidr || is_address
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ports_are_numbers_or_names_and_nothing_else() {
        assert_eq!(parse_port(""), Some(PortRef::Default));
        assert_eq!(parse_port("8080"), Some(PortRef::Number(8080)));
        assert_eq!(parse_port("http-alt"), Some(PortRef::Name("http-alt")));
        for bad in [
            "18081@127.0.0.3",
            "0",
            "65536",
            "80/x",
            "-http",
            "http-",
            "a--b",
            "HTTP",
            "sixteen-letters1",
            "1234x@",
            "[::1]",
        ] {
            assert_eq!(parse_port(bad), None, "{bad:?}");
        }
    }

    fn loopback_node() -> Value {
        json!({"spec": {"podCIDR": "127.100.1.0/24", "podCIDRs": ["127.100.1.0/24"]},
               "status": {"addresses": [{"type": "InternalIP", "address": "127.0.1.1"}]}})
    }

    fn policy(loopback: bool) -> Policy {
        Policy {
            loopback_pod_network: loopback,
            own: vec!["127.0.0.1:6443".parse().unwrap()],
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_is_allowed_only_inside_a_loopback_nodes_pod_cidr_or_addresses() {
        let node = loopback_node();
        let on = Some(&node);
        assert!(allowed(ip("127.100.1.7"), 80, on, &policy(true)));
        assert!(allowed(ip("127.0.1.1"), 10250, on, &policy(true)));
        assert!(!allowed(ip("127.100.1.7"), 80, on, &policy(false)));
        assert!(!allowed(ip("127.100.2.7"), 80, on, &policy(true)));
        assert!(!allowed(ip("127.0.0.1"), 2379, on, &policy(true)), "etcd");
        assert!(!allowed(ip("127.100.1.7"), 80, None, &policy(true)));
        assert!(!allowed(ip("::ffff:127.0.0.1"), 2379, on, &policy(true)));
        let netns = json!({"spec": {"podCIDR": "10.244.1.0/24"}});
        assert!(!allowed(ip("127.0.0.5"), 80, Some(&netns), &policy(true)));
        assert!(allowed(ip("10.244.1.5"), 80, Some(&netns), &policy(true)));
    }

    #[test]
    fn the_api_server_itself_and_special_addresses_are_never_allowed() {
        let wide = json!({"spec": {"podCIDR": "127.0.0.0/8"}});
        assert!(!allowed(ip("127.0.0.1"), 6443, Some(&wide), &policy(true)));
        assert!(allowed(ip("127.0.0.1"), 8080, Some(&wide), &policy(true)));
        let any = Policy {
            loopback_pod_network: true,
            own: vec!["0.0.0.0:6443".parse().unwrap()],
        };
        assert!(!allowed(ip("127.0.0.9"), 6443, Some(&wide), &any));
        for special in [
            "169.254.169.254",
            "fe80::1",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "::ffff:169.254.169.254",
        ] {
            assert!(!allowed(ip(special), 80, None, &policy(true)), "{special}");
        }
        assert!(allowed(ip("10.0.0.5"), 80, None, &policy(false)));
        assert!(allowed(ip("fd00::1"), 80, None, &policy(false)));
    }
}
