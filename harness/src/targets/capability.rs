//! What a scenario may need from a target, read from its Gherkin tags.
//!
//! Entry points: [`Capability`], [`requirements`]. The mapping from tag to capability is
//! the single table [`TAGS`]; the README lists the same tags for feature writers.

use std::collections::BTreeSet;
use std::fmt;

/// One thing a target may or may not be able to provide to a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// A scheduler runs and binds pods (`@needs-scheduler`).
    Scheduler,
    /// The controller manager runs (`@needs-controllers`).
    Controllers,
    /// Nodes with a kubelet run pods (`@needs-nodes`).
    Nodes,
    /// kube-proxy routes Service IPs (`@needs-proxy`).
    Proxy,
    /// The scenario may change cluster-wide state (nodes, components) (`@disruptive`).
    Disruptive,
    /// The scenario checks a reference-specific detail (`@reference-only`).
    ReferenceOnly,
    /// The scenario needs components running as containers (`@containers`).
    Containers,
    /// The API server's audit log can be read (`@audit-log`).
    AuditLog,
    /// The scenario takes long; runs only when slow scenarios are included (`@slow`).
    Slow,
    /// A control-plane component can be stopped and started (`@fault-stop-component`).
    StopComponent,
    /// A component can be cut off from the API server and healed (`@fault-partition`).
    PartitionComponent,
    /// A node can be lost: its kubelet stops heart-beating (`@fault-lose-node`).
    LoseNode,
    /// A node can be cut off from the network and reconnected (`@fault-partition-node`).
    PartitionNode,
    /// One of several API server replicas can be stopped and started again
    /// (`@fault-apiserver-replica`).
    StopApiServerReplica,
    /// Members of a replicated store can be stopped and started again
    /// (`@fault-store-member`).
    StopStoreMember,
    /// The store can be compacted on demand (`@fault-compact`).
    Compact,
    /// A static pod manifest can be placed on a node (`@static-pods`).
    StaticPods,
    /// kube-proxy can be switched between userspace and iptables modes (`@proxy-modes`).
    ProxyModes,
    /// A pod's pause process (its sandbox) can be killed (`@fault-kill-sandbox`).
    KillSandbox,
    /// The scenario registers fake nodes and needs them to be the only nodes (`@fake-nodes`).
    OnlyFakeNodes,
    /// The containers of a pod share one network namespace, so `localhost` reaches a
    /// sibling container (`@shared-network-namespace`).
    SharedNetns,
    /// `ping` works in a busybox Pod (`@needs-ping`).
    Ping,
    /// A Pod of image `registry.k8s.io/kubectl` runs kubectl with in-cluster
    /// configuration: its service account token, the CA and the `kubernetes` Service
    /// (`@in-cluster-kubectl`).
    InClusterKubectl,
}

/// Tag (without `@`) → capability. Tags not listed here (e.g. `@serial`) need nothing.
pub const TAGS: &[(&str, Capability)] = &[
    ("needs-scheduler", Capability::Scheduler),
    ("needs-controllers", Capability::Controllers),
    ("needs-nodes", Capability::Nodes),
    ("needs-proxy", Capability::Proxy),
    ("disruptive", Capability::Disruptive),
    ("reference-only", Capability::ReferenceOnly),
    ("containers", Capability::Containers),
    ("audit-log", Capability::AuditLog),
    ("slow", Capability::Slow),
    ("fault-stop-component", Capability::StopComponent),
    ("fault-partition", Capability::PartitionComponent),
    ("fault-lose-node", Capability::LoseNode),
    ("fault-partition-node", Capability::PartitionNode),
    ("fault-apiserver-replica", Capability::StopApiServerReplica),
    ("fault-store-member", Capability::StopStoreMember),
    ("fault-compact", Capability::Compact),
    ("static-pods", Capability::StaticPods),
    ("proxy-modes", Capability::ProxyModes),
    ("fault-kill-sandbox", Capability::KillSandbox),
    ("shared-network-namespace", Capability::SharedNetns),
    ("fake-nodes", Capability::OnlyFakeNodes),
    ("needs-ping", Capability::Ping),
    ("in-cluster-kubectl", Capability::InClusterKubectl),
];

impl Capability {
    /// The tag that asks for this capability, without `@`.
    pub fn tag(self) -> &'static str {
        TAGS.iter()
            .find(|(_, c)| *c == self)
            .map(|(t, _)| *t)
            .unwrap_or("unknown")
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.tag())
    }
}

/// The capabilities the given tags (feature, rule and scenario tags together) ask for.
pub fn requirements<I, S>(tags: I) -> BTreeSet<Capability>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    tags.into_iter()
        .filter_map(|t| {
            let t = t.as_ref().trim_start_matches('@');
            TAGS.iter().find(|(name, _)| *name == t).map(|(_, c)| *c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_map_to_capabilities_and_unknown_tags_need_nothing() {
        let caps = requirements(["needs-scheduler", "@disruptive", "serial", "wip"]);
        assert_eq!(
            caps.into_iter().collect::<Vec<_>>(),
            vec![Capability::Scheduler, Capability::Disruptive]
        );
    }

    #[test]
    fn every_capability_has_exactly_one_tag() {
        for (tag, cap) in TAGS {
            assert_eq!(cap.tag(), *tag);
            assert_eq!(TAGS.iter().filter(|(_, c)| c == cap).count(), 1);
        }
    }
}
