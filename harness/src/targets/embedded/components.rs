//! What the embedded reference runs: the switches of [`Components`], and their text form
//! (`"control-plane,nodes=2,proxy,faults"`, as `KUBEPROOF_EMBEDDED` and `--embedded` take).
//!
//! Entry point: [`Components`] (`Default`, `str::parse`).

/// Which components the embedded cluster runs (the cluster is started accordingly): a
/// scenario needing a component that is off is skipped with the reason "the embedded
/// cluster does not run ... yet". Parse one from text with `str::parse`, e.g.
/// `"control-plane,nodes=2,proxy,faults"` (the conformance test reads `KUBEPROOF_EMBEDDED`).
#[derive(Clone, Debug)]
pub struct Components {
    /// A scheduler runs in the cluster.
    pub scheduler: bool,
    /// The controller manager runs in the cluster.
    pub controllers: bool,
    /// Number of nodes (kubelets) the cluster starts; 0 means none.
    pub nodes: usize,
    /// kube-proxy runs on the nodes.
    pub proxy: bool,
    /// The API server keeps an audit log the cluster exposes.
    pub audit_log: bool,
    /// Faults are allowed: stopping and restarting components, losing nodes.
    pub faults: bool,
    /// The harness can compact the cluster's store on demand.
    pub compact: bool,
}

impl Default for Components {
    /// The whole reference: scheduler and controller manager (with a standby each, as
    /// faults are on), two nodes with kubelets and kube-proxies, the audit log, and
    /// store compaction.
    fn default() -> Self {
        Self {
            scheduler: true,
            controllers: true,
            nodes: 2,
            proxy: true,
            audit_log: true,
            faults: true,
            compact: true,
        }
    }
}

impl Components {
    /// The API server and its store only.
    pub fn apiserver_only() -> Self {
        Self {
            scheduler: false,
            controllers: false,
            nodes: 0,
            proxy: false,
            audit_log: true,
            faults: false,
            compact: true,
        }
    }
}

/// A `KUBEPROOF_EMBEDDED`-style component list could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid embedded component {0:?}: expected a comma-separated list of control-plane, scheduler, controllers, nodes=N, proxy, faults, no-audit-log, no-compact"
)]
pub struct BadComponent(pub String);

impl std::str::FromStr for Components {
    type Err = BadComponent;

    /// Starts from [`Components::apiserver_only`] and switches on (or off) what is listed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut c = Components::apiserver_only();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item {
                "control-plane" => {
                    c.scheduler = true;
                    c.controllers = true;
                }
                "scheduler" => c.scheduler = true,
                "controllers" => c.controllers = true,
                "proxy" => c.proxy = true,
                "faults" => c.faults = true,
                "no-audit-log" => c.audit_log = false,
                "no-compact" => c.compact = false,
                other => match other.strip_prefix("nodes=").map(str::parse::<usize>) {
                    Some(Ok(n)) => c.nodes = n,
                    _ => return Err(BadComponent(other.to_string())),
                },
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_list_switches_components_on_and_bad_items_are_named() {
        let c: Components = "control-plane, nodes=2,faults".parse().unwrap();
        assert!(c.scheduler && c.controllers && c.faults && !c.proxy);
        assert_eq!(c.nodes, 2);
        let err = "nodes=two".parse::<Components>().unwrap_err().to_string();
        assert!(err.contains("\"nodes=two\""), "{err}");
        assert!("".parse::<Components>().is_ok());
    }
}
