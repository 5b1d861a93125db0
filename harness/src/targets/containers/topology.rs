//! What a container cluster is made of, as a pure plan: sizes, names, addresses and the
//! command line of every container.
//!
//! Entry points: [`Topology`] (parsed from `--containers-topology`), [`plan`]. Nothing
//! here talks to Docker; `cluster.rs` carries the plan out.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;

use super::docker::ContainerSpec;
use super::image::REFKUBE;

/// The pod range; node `n` gets `10.244.n.0/24`.
pub const CLUSTER_CIDR: &str = "10.244.0.0/16";
/// The Service range; the `kubernetes` Service has its first address.
pub const SERVICE_RANGE: &str = "10.96.0.0/16";
/// The API servers' and the load balancer's port.
pub const API_PORT: u16 = 6443;
/// The load balancer's host name: the address every component and pod uses.
pub const LB_HOST: &str = "apiserver-lb";
/// Where the shared configuration (certificates, kubeconfigs, tokens) is mounted.
pub const CONFIG_DIR: &str = "/etc/kubeproof";
/// Where an API server writes its audit log (a directory of the host per server).
pub const AUDIT_DIR: &str = "/var/log/kubeproof";
/// The kubelet's static pod directory (a directory of the host per node).
pub const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";

/// How many of each component run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Topology {
    pub etcd: usize,
    pub apiservers: usize,
    pub schedulers: usize,
    pub controller_managers: usize,
    pub nodes: usize,
}

impl Default for Topology {
    /// Chapter 11.6's highly available control plane: three etcd members, two API
    /// servers behind one address, two schedulers and two controller managers (one
    /// leading each), and three nodes.
    fn default() -> Self {
        Self {
            etcd: 3,
            apiservers: 2,
            schedulers: 2,
            controller_managers: 2,
            nodes: 3,
        }
    }
}

impl Topology {
    /// One of each and no nodes: for scenarios that register fake nodes of their own.
    pub fn without_nodes() -> Self {
        Self {
            etcd: 1,
            apiservers: 1,
            schedulers: 1,
            controller_managers: 1,
            nodes: 0,
        }
    }

    /// How many containers the plan has.
    pub fn containers(&self) -> usize {
        1 + self.etcd + self.apiservers + self.schedulers + self.controller_managers + self.nodes
    }
}

/// Why a topology string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopologyError {
    #[error(
        "{0:?} is not NAME=COUNT; NAME is one of etcd, apiservers, schedulers, controller-managers, nodes"
    )]
    Syntax(String),
    #[error("{0} must be at least 1")]
    AtLeastOne(&'static str),
    #[error("{name} = {count} is more than the plan's {max} addresses for it")]
    TooMany {
        name: &'static str,
        count: usize,
        max: usize,
    },
}

impl FromStr for Topology {
    type Err = TopologyError;

    /// `etcd=1,apiservers=1,nodes=1`: the named sizes, the others as [`Default`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut t = Topology::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, count) = part
                .split_once('=')
                .ok_or_else(|| TopologyError::Syntax(part.into()))?;
            let count: usize = count
                .trim()
                .parse()
                .map_err(|_| TopologyError::Syntax(part.into()))?;
            let slot = match name.trim() {
                "etcd" => &mut t.etcd,
                "apiservers" => &mut t.apiservers,
                "schedulers" => &mut t.schedulers,
                "controller-managers" => &mut t.controller_managers,
                "nodes" => &mut t.nodes,
                _ => return Err(TopologyError::Syntax(part.into())),
            };
            *slot = count;
        }
        t.validate()?;
        Ok(t)
    }
}

impl Topology {
    /// Every control-plane part at least once; each within its block of addresses.
    pub fn validate(&self) -> Result<(), TopologyError> {
        for (name, count) in [
            ("etcd", self.etcd),
            ("apiservers", self.apiservers),
            ("schedulers", self.schedulers),
            ("controller-managers", self.controller_managers),
        ] {
            if count == 0 {
                return Err(TopologyError::AtLeastOne(name));
            }
            if count > BLOCK {
                return Err(TopologyError::TooMany {
                    name,
                    count,
                    max: BLOCK,
                });
            }
        }
        if self.nodes > MAX_NODES {
            return Err(TopologyError::TooMany {
                name: "nodes",
                count: self.nodes,
                max: MAX_NODES,
            });
        }
        Ok(())
    }
}

/// Addresses per control-plane role: `.10+i` etcd, `.20+i` API servers, `.30+i`
/// schedulers, `.40+i` controller managers; nodes from `.51`.
const BLOCK: usize = 10;
const MAX_NODES: usize = 200;

/// What a container is in the cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    LoadBalancer,
    Etcd(usize),
    ApiServer(usize),
    Scheduler(usize),
    ControllerManager(usize),
    /// Node `n` (1-based, `node-n`).
    Node(usize),
}

impl Role {
    /// The container's host name (its DNS name on the cluster network). A leader
    /// election identity is `<hostname>_<uuid>`, so this also names a Lease holder.
    pub fn hostname(&self) -> String {
        match self {
            Role::LoadBalancer => LB_HOST.into(),
            Role::Etcd(i) => format!("etcd-{i}"),
            Role::ApiServer(i) => format!("apiserver-{i}"),
            Role::Scheduler(i) => format!("scheduler-{i}"),
            Role::ControllerManager(i) => format!("controller-manager-{i}"),
            Role::Node(n) => format!("node-{n}"),
        }
    }

    fn host_octet(&self) -> usize {
        match self {
            Role::LoadBalancer => 2,
            Role::Etcd(i) => 10 + i,
            Role::ApiServer(i) => 20 + i,
            Role::Scheduler(i) => 30 + i,
            Role::ControllerManager(i) => 40 + i,
            Role::Node(n) => 50 + n,
        }
    }
}

/// One planned container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub role: Role,
    pub spec: ContainerSpec,
}

/// Where the plan's host-side files are: `config` is mounted read-only in every
/// container; `audit/<apiserver>` and `manifests/<node>` are per container.
#[derive(Clone, Debug)]
pub struct HostDirs {
    pub config: std::path::PathBuf,
    pub audit: std::path::PathBuf,
    pub manifests: std::path::PathBuf,
}

/// The address a role has on the cluster network `subnet` (a /24 or larger).
pub fn address(subnet: Ipv4Net, role: &Role) -> Ipv4Addr {
    let octet = u32::try_from(role.host_octet()).unwrap_or(u32::MAX);
    Ipv4Addr::from(u32::from(subnet.network()) + octet)
}

/// The containers of a cluster named `cluster`, in the order they start: store, API
/// servers, the load balancer in front of them, then the components that need it.
pub fn plan(
    t: &Topology,
    cluster: &str,
    subnet: Ipv4Net,
    image: &str,
    dirs: &HostDirs,
) -> Vec<Planned> {
    let mut roles: Vec<Role> = Vec::new();
    roles.extend((0..t.etcd).map(Role::Etcd));
    roles.extend((0..t.apiservers).map(Role::ApiServer));
    roles.push(Role::LoadBalancer);
    roles.extend((0..t.schedulers).map(Role::Scheduler));
    roles.extend((0..t.controller_managers).map(Role::ControllerManager));
    roles.extend((1..=t.nodes).map(Role::Node));
    let config_bind = format!("{}:{CONFIG_DIR}:ro", dirs.config.display());
    roles
        .into_iter()
        .map(|role| {
            let hostname = role.hostname();
            let mut spec = ContainerSpec {
                name: format!("{cluster}-{hostname}"),
                hostname: hostname.clone(),
                image: image.to_string(),
                cmd: command(t, &role, subnet),
                ip: address(subnet, &role),
                binds: vec![config_bind.clone()],
                cap_add: Vec::new(),
                sysctls: BTreeMap::new(),
            };
            match &role {
                Role::ApiServer(_) => {
                    spec.binds.push(format!(
                        "{}:{AUDIT_DIR}",
                        dirs.audit.join(&hostname).display()
                    ));
                    // Its routes to the pod network.
                    spec.cap_add = vec!["NET_ADMIN".into()];
                }
                Role::Node(_) => {
                    spec.binds.push(format!(
                        "{}:{MANIFESTS_DIR}",
                        dirs.manifests.join(&hostname).display()
                    ));
                    // unshare/nsenter for pod namespaces, veths, routes and iptables.
                    spec.cap_add = vec!["NET_ADMIN".into(), "SYS_ADMIN".into()];
                    spec.sysctls
                        .insert("net.ipv4.ip_forward".into(), "1".into());
                }
                _ => {}
            }
            Planned { role, spec }
        })
        .collect()
}

/// `command` after routes to every node's pod CIDR: the API server reaches pods itself
/// (the pods proxy, `kubectl port-forward`), as a control-plane host on the pod network
/// does upstream. The routes are static because node addresses and CIDRs are.
fn with_pod_routes(t: &Topology, subnet: Ipv4Net, command: Vec<String>) -> Vec<String> {
    if t.nodes == 0 {
        return command;
    }
    let mut script: Vec<String> = (1..=t.nodes)
        .map(|n| {
            let via = address(subnet, &Role::Node(n));
            format!("ip route replace 10.244.{n}.0/24 via {via}")
        })
        .collect();
    script.push(format!("exec {}", command.join(" ")));
    vec!["/bin/sh".into(), "-c".into(), script.join(" && ")]
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The command line of one container.
fn command(t: &Topology, role: &Role, subnet: Ipv4Net) -> Vec<String> {
    let kubeconfig = |name: &str| format!("{CONFIG_DIR}/{name}.kubeconfig");
    match role {
        Role::LoadBalancer => {
            strings(&["haproxy", "-f", &format!("{CONFIG_DIR}/haproxy.cfg"), "-db"])
        }
        Role::Etcd(_) => {
            let name = role.hostname();
            let peers: Vec<String> = (0..t.etcd)
                .map(|j| format!("etcd-{j}=http://etcd-{j}:2380"))
                .collect();
            strings(&[
                "etcd",
                "--name",
                &name,
                "--data-dir",
                "/var/lib/etcd",
                "--listen-client-urls",
                "http://0.0.0.0:2379",
                "--advertise-client-urls",
                &format!("http://{name}:2379"),
                "--listen-peer-urls",
                "http://0.0.0.0:2380",
                "--initial-advertise-peer-urls",
                &format!("http://{name}:2380"),
                "--initial-cluster",
                &peers.join(","),
                "--initial-cluster-state",
                "new",
            ])
        }
        Role::ApiServer(_) => {
            let endpoints: Vec<String> = (0..t.etcd)
                .map(|j| format!("http://etcd-{j}:2379"))
                .collect();
            let server = strings(&[
                REFKUBE,
                "apiserver",
                "--listen",
                &format!("0.0.0.0:{API_PORT}"),
                "--advertise-address",
                &address(subnet, role).to_string(),
                "--store",
                &format!("etcd:{}", endpoints.join(",")),
                "--service-cluster-ip-range",
                SERVICE_RANGE,
                "--tls-cert-file",
                &format!("{CONFIG_DIR}/apiserver.crt"),
                "--tls-private-key-file",
                &format!("{CONFIG_DIR}/apiserver.key"),
                "--token-auth-file",
                &format!("{CONFIG_DIR}/tokens.csv"),
                "--audit-log-path",
                &format!("{AUDIT_DIR}/audit.log"),
                // Upstream's --default-watch-cache-size: a watch from further back is
                // answered 410 Expired, which a scenario drives the history past.
                "--watch-cache-size",
                "100",
                "--apiserver-count",
                &t.apiservers.to_string(),
                // One key for every server, so a token one issued is good at the others.
                "--service-account-signing-key-file",
                &format!("{CONFIG_DIR}/sa.key"),
                "--service-account-key-file",
                &format!("{CONFIG_DIR}/sa.key"),
            ]);
            with_pod_routes(t, subnet, server)
        }
        Role::Scheduler(_) => strings(&[
            REFKUBE,
            "scheduler",
            "--kubeconfig",
            &kubeconfig("scheduler"),
            "--pace",
            "fast",
        ]),
        Role::ControllerManager(_) => strings(&[
            REFKUBE,
            "controller-manager",
            "--kubeconfig",
            &kubeconfig("controller-manager"),
            "--root-ca-file",
            &format!("{CONFIG_DIR}/ca.crt"),
            // The CSR signer issues from the cluster CA, as upstream's kubeadm passes it.
            "--cluster-signing-cert-file",
            &format!("{CONFIG_DIR}/ca.crt"),
            "--cluster-signing-key-file",
            &format!("{CONFIG_DIR}/ca.key"),
            "--use-service-account-credentials",
            "--pace",
            "fast",
        ]),
        Role::Node(n) => {
            let name = role.hostname();
            strings(&[
                REFKUBE,
                "node",
                "--kubeconfig",
                &kubeconfig(&name),
                "--proxy-kubeconfig",
                &kubeconfig("kube-proxy"),
                "--node-name",
                &name,
                "--node-ip",
                &address(subnet, role).to_string(),
                "--pod-cidr",
                &format!("10.244.{n}.0/24"),
                "--cluster-cidr",
                CLUSTER_CIDR,
                "--pod-network",
                "netns",
                "--node-routes",
                "--pod-manifest-path",
                MANIFESTS_DIR,
                "--proxy-mode",
                "iptables",
                "--pace",
                "fast",
            ])
        }
    }
}

/// A node container's spec with its kube-proxy in `mode`: userspace mode also routes the
/// Service range to the node, so its listeners can bind ClusterIPs.
pub fn with_proxy_mode(spec: &ContainerSpec, mode: refkube_proxy::ProxyMode) -> ContainerSpec {
    let mut cmd: Vec<String> = Vec::with_capacity(spec.cmd.len() + 2);
    let mut args = spec.cmd.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // Dropped with their values; put back below as `mode` wants them.
            "--proxy-mode" | "--service-cluster-ip-range" => {
                args.next();
            }
            _ => cmd.push(arg.clone()),
        }
    }
    cmd.extend(["--proxy-mode".to_string(), mode.to_string()]);
    if mode == refkube_proxy::ProxyMode::Userspace {
        cmd.extend([
            "--service-cluster-ip-range".to_string(),
            SERVICE_RANGE.to_string(),
        ]);
    }
    ContainerSpec {
        cmd,
        ..spec.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> HostDirs {
        HostDirs {
            config: "/run/kp/config".into(),
            audit: "/run/kp/audit".into(),
            manifests: "/run/kp/manifests".into(),
        }
    }

    fn subnet() -> Ipv4Net {
        "172.30.7.0/24".parse().unwrap()
    }

    #[test]
    fn sizes_parse_from_name_count_pairs_and_default_the_rest() {
        let t: Topology = "etcd=1, apiservers=1,nodes=1".parse().unwrap();
        assert_eq!(
            t,
            Topology {
                etcd: 1,
                apiservers: 1,
                nodes: 1,
                ..Topology::default()
            }
        );
        assert_eq!("".parse::<Topology>().unwrap(), Topology::default());
        assert!(matches!(
            "etcd".parse::<Topology>(),
            Err(TopologyError::Syntax(_))
        ));
        assert!(matches!(
            "brokers=2".parse::<Topology>(),
            Err(TopologyError::Syntax(_))
        ));
        assert_eq!(
            "apiservers=0".parse::<Topology>(),
            Err(TopologyError::AtLeastOne("apiservers"))
        );
        assert!(matches!(
            "etcd=11".parse::<Topology>(),
            Err(TopologyError::TooMany { .. })
        ));
        assert!("nodes=0".parse::<Topology>().is_ok());
    }

    #[test]
    fn the_default_plan_is_the_ha_control_plane_in_start_order() {
        let p = plan(&Topology::default(), "kp-1", subnet(), "img", &dirs());
        let names: Vec<String> = p.iter().map(|c| c.spec.hostname.clone()).collect();
        assert_eq!(
            names,
            [
                "etcd-0",
                "etcd-1",
                "etcd-2",
                "apiserver-0",
                "apiserver-1",
                "apiserver-lb",
                "scheduler-0",
                "scheduler-1",
                "controller-manager-0",
                "controller-manager-1",
                "node-1",
                "node-2",
                "node-3"
            ]
        );
        assert_eq!(p.len(), Topology::default().containers());
        let ips: std::collections::BTreeSet<_> = p.iter().map(|c| c.spec.ip).collect();
        assert_eq!(ips.len(), p.len(), "every container has its own address");
        assert!(p.iter().all(|c| c.spec.name.starts_with("kp-1-")));
    }

    #[test]
    fn api_servers_share_the_etcd_cluster_and_advertise_their_own_address() {
        let p = plan(&Topology::default(), "kp", subnet(), "img", &dirs());
        let api = p.iter().find(|c| c.role == Role::ApiServer(1)).unwrap();
        let cmd = api.spec.cmd.join(" ");
        assert!(
            cmd.contains("--store etcd:http://etcd-0:2379,http://etcd-1:2379,http://etcd-2:2379"),
            "{cmd}"
        );
        assert!(cmd.contains("--advertise-address 172.30.7.21"), "{cmd}");
        assert!(
            cmd.contains("ip route replace 10.244.3.0/24 via 172.30.7.53 && exec /usr/local/bin/refkube apiserver"),
            "the API server reaches every node's pods: {cmd}"
        );
        assert!(
            api.spec
                .binds
                .contains(&format!("/run/kp/audit/apiserver-1:{AUDIT_DIR}"))
        );
        let etcd = p.iter().find(|c| c.role == Role::Etcd(2)).unwrap();
        assert!(etcd.spec.cmd.join(" ").contains(
            "--initial-cluster etcd-0=http://etcd-0:2380,etcd-1=http://etcd-1:2380,etcd-2=http://etcd-2:2380"
        ));
    }

    #[test]
    fn switching_a_nodes_proxy_mode_rewrites_only_its_proxy_flags() {
        let p = plan(&Topology::default(), "kp", subnet(), "img", &dirs());
        let node = &p.iter().find(|c| c.role == Role::Node(1)).unwrap().spec;
        let user = with_proxy_mode(node, refkube_proxy::ProxyMode::Userspace);
        let text = user.cmd.join(" ");
        assert!(
            text.ends_with("--proxy-mode userspace --service-cluster-ip-range 10.96.0.0/16"),
            "{text}"
        );
        assert_eq!(text.matches("--proxy-mode").count(), 1);
        let back = with_proxy_mode(&user, refkube_proxy::ProxyMode::Iptables);
        let text = back.cmd.join(" ");
        assert!(!text.contains("--service-cluster-ip-range"), "{text}");
        assert!(text.contains("--proxy-mode iptables"), "{text}");
        assert_eq!(back.cmd.len(), node.cmd.len());
        assert_eq!((back.ip, &back.name), (node.ip, &node.name));
    }

    #[test]
    fn nodes_get_their_pod_cidr_capabilities_and_forwarding() {
        let p = plan(&Topology::default(), "kp", subnet(), "img", &dirs());
        let node = p.iter().find(|c| c.role == Role::Node(2)).unwrap();
        let cmd = node.spec.cmd.join(" ");
        assert!(cmd.contains("--pod-cidr 10.244.2.0/24"), "{cmd}");
        assert!(cmd.contains("--node-ip 172.30.7.52"), "{cmd}");
        assert!(cmd.contains("--pod-network netns --node-routes"), "{cmd}");
        assert_eq!(node.spec.cap_add, ["NET_ADMIN", "SYS_ADMIN"]);
        assert_eq!(node.spec.sysctls["net.ipv4.ip_forward"], "1");
    }
}
