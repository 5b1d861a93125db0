//! How fast the components' clocks run: upstream's timings, or all of them shortened so
//! tests watch whole lifecycles (failover, node loss, crash loops) in seconds. The one
//! place the fast values live, used by the in-process cluster ([`crate::components`]) and
//! by every `refkube <component> --pace fast` ([`crate::commands`]), so a containerised
//! cluster behaves exactly like the embedded one. Entry point: [`Pace`].
//!
//! Each method takes a component's configuration and returns it shortened under
//! [`Pace::Fast`], unchanged under [`Pace::Upstream`]; flags a user gives explicitly are
//! applied afterwards by the commands, so they win over the pace.

use std::time::Duration;

use refkube_common::leader_election::LeaderElectionConfig;
use refkube_controllers::ControllerManagerConfig;
use refkube_kubelet::Timings;
use refkube_proxy::ProxyConfig;
use refkube_scheduler::SchedulerConfig;

/// How fast the components' clocks run (`--pace`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Pace {
    /// Upstream's defaults (15 s leases, 10 s probes, 40 s node leases, ...).
    #[default]
    Upstream,
    /// Everything shortened (sub-second retries, 2 s leases, spec seconds of 100 ms) so
    /// tests observe whole lifecycles quickly. Ratios between timings are kept.
    Fast,
}

impl Pace {
    fn fast(self) -> bool {
        self == Pace::Fast
    }

    /// Leader election: 2 s leases renewed every 0.25 s, so a standby takes over within
    /// about 2 s of a leader's death (upstream: 15 s / 10 s / 2 s).
    pub fn leader_election(self, config: LeaderElectionConfig) -> LeaderElectionConfig {
        if !self.fast() {
            return config;
        }
        LeaderElectionConfig {
            lease_duration: Duration::from_secs(2),
            renew_deadline: Duration::from_millis(1500),
            retry_period: Duration::from_millis(250),
            ..config
        }
    }

    /// The scheduler's queue back-offs and, when it elects, its election.
    pub fn scheduler(self, mut config: SchedulerConfig) -> SchedulerConfig {
        if !self.fast() {
            return config;
        }
        config.leader_election = config.leader_election.map(|le| self.leader_election(le));
        config.queue.initial_backoff = Duration::from_millis(50);
        config.queue.max_backoff = Duration::from_millis(500);
        config.queue.max_in_unschedulable = Duration::from_secs(5);
        config.secondary_cache_sync_timeout = Duration::from_secs(1);
        config
    }

    /// The controller manager: resyncs, retries, node monitoring (3 s grace instead of
    /// 50 s), eviction, pod GC, Job back-off, stale disruption conditions and a 60x
    /// CronJob clock; and, when it elects, its election.
    pub fn controller_manager(self, config: ControllerManagerConfig) -> ControllerManagerConfig {
        if !self.fast() {
            return config;
        }
        let election = config
            .leader_election
            .clone()
            .map(|le| self.leader_election(le));
        config
            .leader_election(election)
            .resync_period(Duration::from_secs(10))
            // A CRD's objects join the GC's graph within a second of it being established.
            .discovery_resync_period(Duration::from_secs(1))
            .rate_limiter(Duration::from_millis(5), Duration::from_secs(1))
            .expectations_timeout(Duration::from_secs(10))
            .node_monitor_period(Duration::from_millis(250))
            .node_monitor_grace_period(Duration::from_secs(3))
            .node_startup_grace_period(Duration::from_secs(5))
            .eviction_rates(50.0, 5.0)
            .pod_gc(Duration::from_secs(1), Duration::from_secs(1))
            .job_backoff(Duration::from_millis(100), Duration::from_secs(2))
            // A DisruptionTarget nobody acted on is cleared after 2 s, not 2 min.
            .stale_pod_disruption_timeout(Duration::from_secs(2))
            // A scheduled minute each second: CronJob runs are seen in seconds.
            .cronjob_clock_rate(60)
    }

    /// The kubelet's loops: node status every 0.5 s (an unchanged one posted every 15 s),
    /// a 2 s node Lease, spec seconds of 100 ms (probe periods, grace periods) and short
    /// back-offs.
    pub fn kubelet_timings(self) -> Timings {
        if !self.fast() {
            return Timings::default();
        }
        Timings {
            node_status_update: Duration::from_millis(500),
            node_status_report: Duration::from_secs(15),
            node_lease_duration: Duration::from_secs(2),
            node_lease_renew: Duration::from_millis(500),
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(2),
            spec_second: Duration::from_millis(100),
            pod_resync: Duration::from_secs(1),
            static_pod_poll: Duration::from_millis(200),
        }
    }

    /// kube-proxy's sync limits: changes batched over 50 ms instead of 1 s.
    pub fn proxy(self, config: ProxyConfig) -> ProxyConfig {
        if !self.fast() {
            return config;
        }
        config
            .min_sync_period(Duration::from_millis(50))
            .sync_period(Duration::from_secs(5))
    }

    /// How often the node route task re-reads the routing table even when no Node
    /// changed, repairing routes someone removed (kindnetd reconciles every 10 s).
    pub fn route_resync(self) -> Duration {
        if self.fast() {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(10)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_pace_changes_nothing() {
        let p = Pace::Upstream;
        assert_eq!(
            p.scheduler(SchedulerConfig::default()).queue,
            SchedulerConfig::default().queue
        );
        let cm = p.controller_manager(ControllerManagerConfig::default());
        assert_eq!(cm.node_monitor_grace_period, Duration::from_secs(50));
        assert_eq!(p.kubelet_timings(), Timings::default());
        assert_eq!(p.proxy(ProxyConfig::new("n")), ProxyConfig::new("n"));
    }

    #[test]
    fn fast_pace_keeps_the_lease_name_and_stays_a_valid_election() {
        let le = Pace::Fast.leader_election(LeaderElectionConfig::for_component("my-sched"));
        assert_eq!(
            (le.namespace.as_str(), le.name.as_str()),
            ("kube-system", "my-sched")
        );
        assert_eq!(le.lease_duration, Duration::from_secs(2));
        // client-go's rules: lease > renew deadline > 1.2 × retry period.
        assert!(le.lease_duration > le.renew_deadline);
        assert!(le.renew_deadline.as_secs_f64() > 1.2 * le.retry_period.as_secs_f64());
    }

    #[test]
    fn fast_pace_shortens_every_component_and_keeps_the_lease_at_four_renewals() {
        let s = Pace::Fast.scheduler(SchedulerConfig::default());
        assert_eq!(
            s.leader_election.map(|le| le.lease_duration),
            Some(Duration::from_secs(2))
        );
        let cm =
            Pace::Fast.controller_manager(ControllerManagerConfig::default().leader_election(None));
        assert_eq!(cm.node_monitor_grace_period, Duration::from_secs(3));
        assert!(
            cm.leader_election.is_none(),
            "fast pace does not turn election on"
        );
        let t = Pace::Fast.kubelet_timings();
        assert_eq!(t.node_lease_renew * 4, t.node_lease_duration);
        let p = Pace::Fast.proxy(ProxyConfig::new("n"));
        assert!(p.validate().is_ok());
        assert_eq!(p.min_sync_period, Duration::from_millis(50));
    }
}
