//! `ControllerManagerConfig`: which controllers run and every timing, with upstream
//! (kube-controller-manager flag) defaults and builder methods.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use refkube_common::leader_election::LeaderElectionConfig;

use crate::runtime::queue::RateLimiterConfig;

/// Name of the lease and of the component (`kube-system/kube-controller-manager`).
pub const COMPONENT: &str = "kube-controller-manager";

/// Configuration of the controller manager.
#[derive(Clone, Debug)]
pub struct ControllerManagerConfig {
    /// Controllers to run by name (see `inventory`); `None` runs all (`--controllers=*`).
    pub controllers: Option<BTreeSet<String>>,
    /// Worker counts by controller name, overriding the inventory's upstream defaults
    /// (`--concurrent-replicaset-syncs` ...).
    pub workers: BTreeMap<String, usize>,
    /// How often every primary object is re-queued (`--min-resync-period`, 12 h).
    pub resync_period: Duration,
    /// How often the garbage collector re-runs discovery to watch resources added since
    /// (CRDs) and stop watching removed ones (upstream's GC `Sync` period, 30 s; zero
    /// disables).
    pub discovery_resync_period: Duration,
    /// Per-key retry backoff of the work queues (5 ms doubling to 1000 s).
    pub rate_limiter: RateLimiterConfig,
    /// How long an unmet expectation blocks a controller (5 min).
    pub expectations_timeout: Duration,
    /// Most pods a ReplicaSet creates or deletes in one sync (500).
    pub burst_replicas: usize,
    /// How often node health is checked (`--node-monitor-period`, 5 s).
    pub node_monitor_period: Duration,
    /// How long a node may go without a heartbeat (`--node-monitor-grace-period`, 50 s).
    pub node_monitor_grace_period: Duration,
    /// Grace for a node that never posted status (`--node-startup-grace-period`, 60 s).
    pub node_startup_grace_period: Duration,
    /// Nodes tainted NoExecute per second (`--node-eviction-rate`, 0.1).
    pub node_eviction_rate: f64,
    /// Rate in an unhealthy zone (`--secondary-node-eviction-rate`, 0.01).
    pub secondary_node_eviction_rate: f64,
    /// Fraction of not-ready nodes making a zone unhealthy (0.55).
    pub unhealthy_zone_threshold: f64,
    /// Zones with at most this many nodes stop evicting when unhealthy (50).
    pub large_cluster_size_threshold: usize,
    /// Endpoints per EndpointSlice (`--max-endpoints-per-slice`, 100).
    pub max_endpoints_per_slice: usize,
    /// Delay before a Job re-creates a failed pod (10 s, doubling per failure).
    pub job_backoff_base: Duration,
    /// Cap on that delay (10 min).
    pub job_backoff_max: Duration,
    /// How often the pod GC runs (upstream `gcCheckPeriod`, 20 s).
    pub pod_gc_period: Duration,
    /// How long a node must be gone before its pods are collected (40 s).
    pub pod_gc_quarantine: Duration,
    /// Terminated pods kept before the oldest are deleted
    /// (`--terminated-pod-gc-threshold`, 12500; 0 disables).
    pub terminated_pod_gc_threshold: usize,
    /// How long a pod may keep `DisruptionTarget=True` without being deleted before the
    /// disruption controller sets it back to False (upstream `stalePodDisruptionTimeout`,
    /// 2 min; not a flag upstream, a test knob here).
    pub stale_pod_disruption_timeout: Duration,
    /// How many times faster than the wall clock the CronJob controller's clock runs
    /// (1, upstream). A test knob: at 60 every scheduled minute comes each real second,
    /// so a CronJob's runs can be watched without waiting real minutes; Job names and
    /// schedule times are then in that faster clock.
    pub cronjob_clock_rate: u32,
    /// Leader election; `None` runs without it (`--leader-elect=false`).
    pub leader_election: Option<LeaderElectionConfig>,
    /// The CA bundle (PEM) published in every namespace's `kube-root-ca.crt`
    /// (`--root-ca-file`'s contents); `None` publishes an empty bundle.
    pub root_ca: Option<String>,
    /// `--use-service-account-credentials`: where the API server is (URL, TLS,
    /// User-Agent), from which each controller gets its own client authenticating as its
    /// service account in `kube-system` (see `runtime::credentials`); `None` (upstream's
    /// default) runs every controller with the manager's client.
    pub service_account_credentials: Option<Box<kube::Config>>,
    /// The CA the `csrsigning` controller issues certificates with
    /// (`--cluster-signing-cert-file` / `--cluster-signing-key-file`); `None` leaves
    /// that controller off, as upstream.
    pub cluster_signing: Option<ClusterSigning>,
}

/// The cluster signing CA and the longest lifetime it issues.
#[derive(Clone, Debug)]
pub struct ClusterSigning {
    pub cert_pem: String,
    pub key_pem: String,
    /// `--cluster-signing-duration` (upstream's default: a year).
    pub duration: Duration,
}

impl ClusterSigning {
    /// Upstream's `--cluster-signing-duration` default, 8760h.
    pub const DEFAULT_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);
}

impl Default for ControllerManagerConfig {
    fn default() -> Self {
        Self {
            controllers: None,
            workers: BTreeMap::new(),
            resync_period: Duration::from_secs(12 * 60 * 60),
            discovery_resync_period: Duration::from_secs(30),
            rate_limiter: RateLimiterConfig::default(),
            expectations_timeout: Duration::from_secs(5 * 60),
            burst_replicas: 500,
            node_monitor_period: Duration::from_secs(5),
            node_monitor_grace_period: Duration::from_secs(50),
            node_startup_grace_period: Duration::from_secs(60),
            node_eviction_rate: 0.1,
            secondary_node_eviction_rate: 0.01,
            unhealthy_zone_threshold: 0.55,
            large_cluster_size_threshold: 50,
            max_endpoints_per_slice: 100,
            job_backoff_base: Duration::from_secs(10),
            job_backoff_max: Duration::from_secs(600),
            pod_gc_period: Duration::from_secs(20),
            pod_gc_quarantine: Duration::from_secs(40),
            terminated_pod_gc_threshold: 12500,
            stale_pod_disruption_timeout: Duration::from_secs(2 * 60),
            cronjob_clock_rate: 1,
            leader_election: Some(LeaderElectionConfig::for_component(COMPONENT)),
            root_ca: None,
            service_account_credentials: None,
            cluster_signing: None,
        }
    }
}

impl ControllerManagerConfig {
    /// Runs only these controllers.
    pub fn controllers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.controllers = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the worker count of one controller.
    pub fn workers(mut self, controller: &str, n: usize) -> Self {
        self.workers.insert(controller.into(), n.max(1));
        self
    }

    /// Sets the resync period (zero disables resync).
    pub fn resync_period(mut self, d: Duration) -> Self {
        self.resync_period = d;
        self
    }

    /// Sets the garbage collector's discovery resync period (zero disables it).
    pub fn discovery_resync_period(mut self, d: Duration) -> Self {
        self.discovery_resync_period = d;
        self
    }

    /// Sets the retry backoff.
    pub fn rate_limiter(mut self, base: Duration, max: Duration) -> Self {
        self.rate_limiter = RateLimiterConfig { base, max };
        self
    }

    /// Sets the expectations timeout.
    pub fn expectations_timeout(mut self, d: Duration) -> Self {
        self.expectations_timeout = d;
        self
    }

    /// Sets burstReplicas.
    pub fn burst_replicas(mut self, n: usize) -> Self {
        self.burst_replicas = n.max(1);
        self
    }

    /// Sets the node monitor period.
    pub fn node_monitor_period(mut self, d: Duration) -> Self {
        self.node_monitor_period = d;
        self
    }

    /// Sets the node monitor grace period.
    pub fn node_monitor_grace_period(mut self, d: Duration) -> Self {
        self.node_monitor_grace_period = d;
        self
    }

    /// Sets the node startup grace period.
    pub fn node_startup_grace_period(mut self, d: Duration) -> Self {
        self.node_startup_grace_period = d;
        self
    }

    /// Sets the primary and secondary eviction rates (nodes per second).
    pub fn eviction_rates(mut self, primary: f64, secondary: f64) -> Self {
        self.node_eviction_rate = primary;
        self.secondary_node_eviction_rate = secondary;
        self
    }

    /// Sets the endpoints-per-slice limit.
    pub fn max_endpoints_per_slice(mut self, n: usize) -> Self {
        self.max_endpoints_per_slice = n.max(1);
        self
    }

    /// Sets the Job pod-failure backoff.
    pub fn job_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.job_backoff_base = base;
        self.job_backoff_max = max;
        self
    }

    /// Runs the CronJob controller's clock `rate` times faster than the wall clock.
    pub fn cronjob_clock_rate(mut self, rate: u32) -> Self {
        self.cronjob_clock_rate = rate.max(1);
        self
    }

    /// Sets how long a stale `DisruptionTarget=True` condition is left alone.
    pub fn stale_pod_disruption_timeout(mut self, d: Duration) -> Self {
        self.stale_pod_disruption_timeout = d;
        self
    }

    /// Sets the pod GC period and the quarantine before a vanished node's pods go.
    pub fn pod_gc(mut self, period: Duration, quarantine: Duration) -> Self {
        self.pod_gc_period = period;
        self.pod_gc_quarantine = quarantine;
        self
    }

    /// Sets (or with `None` disables) leader election.
    pub fn leader_election(mut self, config: Option<LeaderElectionConfig>) -> Self {
        self.leader_election = config;
        self
    }

    /// Sets the CA bundle published to every namespace.
    pub fn root_ca(mut self, pem: Option<String>) -> Self {
        self.root_ca = pem;
        self
    }

    /// Sets (or with `None` removes) the CA the `csrsigning` controller signs with.
    pub fn cluster_signing(mut self, signing: Option<ClusterSigning>) -> Self {
        self.cluster_signing = signing;
        self
    }

    /// Gives each controller its own client as its service account, built from `api`
    /// (whose credentials are ignored); `None` shares the manager's client.
    pub fn service_account_credentials(mut self, api: Option<kube::Config>) -> Self {
        self.service_account_credentials = api.map(Box::new);
        self
    }

    /// Is `name` enabled?
    pub fn is_enabled(&self, name: &str) -> bool {
        self.controllers
            .as_ref()
            .is_none_or(|set| set.contains(name) || set.contains("*"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_upstreams_flags() {
        let c = ControllerManagerConfig::default();
        assert_eq!(c.node_monitor_grace_period, Duration::from_secs(50));
        assert_eq!(c.node_startup_grace_period, Duration::from_secs(60));
        assert_eq!(c.node_monitor_period, Duration::from_secs(5));
        assert_eq!(c.burst_replicas, 500);
        assert_eq!(c.max_endpoints_per_slice, 100);
        assert_eq!(c.discovery_resync_period, Duration::from_secs(30));
        let le = c.leader_election.unwrap();
        assert_eq!(
            (le.namespace.as_str(), le.name.as_str()),
            ("kube-system", COMPONENT)
        );
    }

    #[test]
    fn a_controller_list_restricts_what_runs() {
        let c = ControllerManagerConfig::default().controllers(["replicaset"]);
        assert!(c.is_enabled("replicaset"));
        assert!(!c.is_enabled("deployment"));
        assert!(ControllerManagerConfig::default().is_enabled("deployment"));
    }
}
