//! The iptables ruleset for a [`ProxyModel`]: a pure port of upstream's `syncProxyRules`
//! (`pkg/proxy/iptables/proxier.go`). Entry points: [`render`] (the `iptables-restore`
//! text) and [`build_ruleset`] (the structured form).
//!
//! Not ported: nfacct counters, `--nodeport-addresses` (NodePorts match every local
//! address), topology hints, and partial syncs (every render is a full one).

use crate::config::{IpFamily, ProxyConfig};
use crate::iptables::ruleset::Ruleset;
use crate::iptables::service_rules;
use crate::model::{ProxyModel, ServicePortInfo};

/// nat/filter `KUBE-SERVICES`.
pub const KUBE_SERVICES: &str = "KUBE-SERVICES";
/// filter `KUBE-EXTERNAL-SERVICES`.
pub const KUBE_EXTERNAL_SERVICES: &str = "KUBE-EXTERNAL-SERVICES";
/// nat/filter `KUBE-NODEPORTS`.
pub const KUBE_NODEPORTS: &str = "KUBE-NODEPORTS";
/// nat `KUBE-POSTROUTING`.
pub const KUBE_POSTROUTING: &str = "KUBE-POSTROUTING";
/// nat `KUBE-MARK-MASQ`.
pub const KUBE_MARK_MASQ: &str = "KUBE-MARK-MASQ";
/// filter `KUBE-FORWARD`.
pub const KUBE_FORWARD: &str = "KUBE-FORWARD";
/// filter `KUBE-PROXY-FIREWALL`.
pub const KUBE_PROXY_FIREWALL: &str = "KUBE-PROXY-FIREWALL";
/// filter `KUBE-FIREWALL` (kubelet's anti-martian chain, duplicated by kube-proxy).
pub const KUBE_FIREWALL: &str = "KUBE-FIREWALL";
/// Above this many endpoints, per-endpoint comments are dropped ("large cluster mode").
pub const LARGE_CLUSTER_ENDPOINTS_THRESHOLD: usize = 1000;

/// `fmt.Sprintf("%0.10f", 1.0/n)`.
pub fn probability(n: usize) -> String {
    format!("{:.10}", 1.0 / n as f64)
}

/// The `iptables-restore` input for `model` under `config`.
pub fn render(model: &ProxyModel, config: &ProxyConfig) -> String {
    build_ruleset(model, config).to_restore_input()
}

/// What every service's rules depend on besides the service itself.
pub(super) struct Ctx<'a> {
    pub(super) config: &'a ProxyConfig,
    pub(super) large_cluster: bool,
}

impl Ctx<'_> {
    /// `appendServiceCommentLocked`: comments vanish in large-cluster mode.
    pub(super) fn comment(&self, args: &mut Vec<String>, text: String) {
        if !self.large_cluster {
            args.extend(a!["-m", "comment", "--comment", text]);
        }
    }
    pub(super) fn if_not_local(&self) -> Option<Vec<String>> {
        self.config.cluster_cidr.map(|c| a!["!", "-s", c])
    }
    pub(super) fn if_local(&self) -> Option<Vec<String>> {
        self.config.cluster_cidr.map(|c| a!["-s", c])
    }
}

/// The structured ruleset for `model` under `config`.
pub fn build_ruleset(model: &ProxyModel, config: &ProxyConfig) -> Ruleset {
    let mark = config.masquerade_mark();
    let mut rs = Ruleset::default();
    for c in [
        KUBE_SERVICES,
        KUBE_EXTERNAL_SERVICES,
        KUBE_FORWARD,
        KUBE_NODEPORTS,
        KUBE_PROXY_FIREWALL,
    ] {
        rs.filter.chain(c);
    }
    for c in [
        KUBE_SERVICES,
        KUBE_NODEPORTS,
        KUBE_POSTROUTING,
        KUBE_MARK_MASQ,
    ] {
        rs.nat.chain(c);
    }
    let both = format!("{mark}/{mark}");
    rs.nat.rule(
        KUBE_POSTROUTING,
        &arr!["-m", "mark", "!", "--mark", both, "-j", "RETURN"],
    );
    // Clear the mark so a packet that re-traverses the stack is not masqueraded twice.
    rs.nat
        .rule(KUBE_POSTROUTING, &arr!["-j", "MARK", "--xor-mark", mark]);
    let mut masq = a![
        "-m",
        "comment",
        "--comment",
        "\"kubernetes service traffic requiring SNAT\"",
        "-j",
        "MASQUERADE"
    ];
    if config.masquerade_random_fully {
        masq.push("--random-fully".into());
    }
    rs.nat.rule(KUBE_POSTROUTING, &masq);
    rs.nat
        .rule(KUBE_MARK_MASQ, &arr!["-j", "MARK", "--or-mark", mark]);

    let ipv6 = config.ip_family == IpFamily::V6;
    if !ipv6 && config.localhost_node_ports {
        // route_localnet opens a hole (kubernetes#90259) that this rule closes.
        rs.filter.chain(KUBE_FIREWALL);
        rs.filter.rule(
            KUBE_FIREWALL,
            &arr![
                "-m",
                "comment",
                "--comment",
                "\"block incoming localnet connections\"",
                "-d",
                "127.0.0.0/8",
                "!",
                "-s",
                "127.0.0.0/8",
                "-m",
                "conntrack",
                "!",
                "--ctstate",
                "RELATED,ESTABLISHED,DNAT",
                "-j",
                "DROP"
            ],
        );
    }

    let ctx = Ctx {
        config,
        large_cluster: model.total_endpoints() > LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
    };
    // Upstream's test helper orders KUBE-SERVICES/KUBE-NODEPORTS rules by the "ns/name"
    // at the start of their comment; walking services in that order reproduces it.
    let mut services: Vec<&ServicePortInfo> = model.services.values().collect();
    services.sort_by_cached_key(|s| {
        (
            format!("{}/{}", s.name.namespace, s.name.name),
            s.name.port.clone(),
            s.name.protocol,
        )
    });
    for svc in services {
        service_rules::render_service(&ctx, svc, &mut rs);
    }

    // The tail call to KUBE-NODEPORTS must stay the last rule of nat KUBE-SERVICES.
    let mut dest = a!["-m", "addrtype", "--dst-type", "LOCAL"];
    if ipv6 {
        dest.extend(a!["!", "-d", "::1/128"]);
    } else if !config.localhost_node_ports {
        dest.extend(a!["!", "-d", "127.0.0.0/8"]);
    }
    let mut tail = a![
        "-m",
        "comment",
        "--comment",
        "\"kubernetes service nodeports; NOTE: this must be the last rule in this chain\""
    ];
    tail.extend(dest);
    tail.extend(a!["-j", KUBE_NODEPORTS]);
    rs.nat.rule(KUBE_SERVICES, &tail);

    if !config.conntrack_tcp_be_liberal {
        // INVALID packets would otherwise reset connections (kubernetes#74839).
        rs.filter.rule(
            KUBE_FORWARD,
            &arr!["-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"],
        );
    }
    rs.filter.rule(
        KUBE_FORWARD,
        &arr![
            "-m",
            "comment",
            "--comment",
            "\"kubernetes forwarding rules\"",
            "-m",
            "mark",
            "--mark",
            both,
            "-j",
            "ACCEPT"
        ],
    );
    rs.filter.rule(
        KUBE_FORWARD,
        &arr![
            "-m",
            "comment",
            "--comment",
            "\"kubernetes forwarding conntrack rule\"",
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            "-j",
            "ACCEPT"
        ],
    );
    rs
}
