//! Scheduler configuration with upstream defaults and builders. Entry point:
//! [`SchedulerConfig`].

use std::time::Duration;

use refkube_common::leader_election::LeaderElectionConfig;

use crate::queue::QueueConfig;

/// Upstream's default scheduler name (`spec.schedulerName` default).
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// Errors in a configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// percentageOfNodesToScore must be within 0..=100 (0 = adaptive).
    #[error("percentageOfNodesToScore must be between 0 and 100, got {0}")]
    Percentage(u32),
    /// Backoffs must be positive and initial <= max.
    #[error(
        "podInitialBackoff ({initial:?}) must be positive and not greater than podMaxBackoff ({max:?})"
    )]
    Backoff {
        /// Initial backoff.
        initial: Duration,
        /// Max backoff.
        max: Duration,
    },
    /// The scheduler needs a name.
    #[error("schedulerName must not be empty")]
    EmptyName,
    /// A disabled plugin is not one of the default plugins.
    #[error("cannot disable plugin {0:?}: not a default plugin (known: {1})")]
    UnknownPlugin(String, String),
}

/// How the scheduler runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    /// Pods with this `spec.schedulerName` are ours (`default-scheduler`).
    pub scheduler_name: String,
    /// Leader election (Lease `kube-system/kube-scheduler`); None runs unconditionally.
    pub leader_election: Option<LeaderElectionConfig>,
    /// Queue timings (backoff 1 s → 10 s, unschedulable flush after 5 min).
    pub queue: QueueConfig,
    /// `percentageOfNodesToScore`; None (or 0) is adaptive.
    pub percentage_of_nodes_to_score: Option<u32>,
    /// Seed for tie-breaking; None seeds from the OS. Tests set it for determinism.
    pub rng_seed: Option<u64>,
    /// Default plugins switched off, by name (upstream's profile
    /// `plugins.multiPoint.disabled`), e.g. `TaintToleration`.
    pub disabled_plugins: Vec<String>,
    /// How long to wait for the secondary caches (PVCs, services, controllers) before
    /// scheduling anyway; nodes and pods are always waited for.
    pub secondary_cache_sync_timeout: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            scheduler_name: DEFAULT_SCHEDULER_NAME.to_string(),
            leader_election: Some(LeaderElectionConfig::for_component("kube-scheduler")),
            queue: QueueConfig::default(),
            percentage_of_nodes_to_score: None,
            rng_seed: None,
            disabled_plugins: Vec::new(),
            secondary_cache_sync_timeout: Duration::from_secs(10),
        }
    }
}

impl SchedulerConfig {
    /// Sets the scheduler name.
    pub fn scheduler_name(mut self, name: impl Into<String>) -> Self {
        self.scheduler_name = name.into();
        self
    }

    /// Sets the leader election configuration.
    pub fn leader_election(mut self, config: LeaderElectionConfig) -> Self {
        self.leader_election = Some(config);
        self
    }

    /// Runs without leader election (`--leader-elect=false`).
    pub fn without_leader_election(mut self) -> Self {
        self.leader_election = None;
        self
    }

    /// Sets `podInitialBackoffSeconds` / `podMaxBackoffSeconds`.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.queue.initial_backoff = initial;
        self.queue.max_backoff = max;
        self
    }

    /// Sets how long a pod may stay unschedulable before it is retried anyway.
    pub fn max_in_unschedulable(mut self, d: Duration) -> Self {
        self.queue.max_in_unschedulable = d;
        self
    }

    /// Sets `percentageOfNodesToScore` (0 = adaptive).
    pub fn percentage_of_nodes_to_score(mut self, pct: u32) -> Self {
        self.percentage_of_nodes_to_score = Some(pct);
        self
    }

    /// Seeds tie-breaking.
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.rng_seed = Some(seed);
        self
    }

    /// Sets the secondary cache sync timeout.
    pub fn secondary_cache_sync_timeout(mut self, d: Duration) -> Self {
        self.secondary_cache_sync_timeout = d;
        self
    }

    /// Checks the values (leader election is validated by its elector).
    /// Switches a default plugin off (upstream: a profile's `multiPoint.disabled`).
    pub fn disable_plugin(mut self, name: impl Into<String>) -> Self {
        self.disabled_plugins.push(name.into());
        self
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.scheduler_name.is_empty() {
            return Err(ConfigError::EmptyName);
        }
        let known: Vec<&str> = crate::registry::default_plugins()
            .iter()
            .map(|(p, _)| p.name())
            .collect();
        if let Some(bad) = self
            .disabled_plugins
            .iter()
            .find(|d| !known.contains(&d.as_str()))
        {
            return Err(ConfigError::UnknownPlugin(bad.clone(), known.join(", ")));
        }
        if let Some(p) = self.percentage_of_nodes_to_score
            && p > 100
        {
            return Err(ConfigError::Percentage(p));
        }
        let (initial, max) = (self.queue.initial_backoff, self.queue.max_backoff);
        if initial.is_zero() || initial > max {
            return Err(ConfigError::Backoff { initial, max });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_upstreams() {
        let c = SchedulerConfig::default();
        assert_eq!(c.scheduler_name, "default-scheduler");
        let le = c.leader_election.clone().unwrap();
        assert_eq!(
            (le.namespace.as_str(), le.name.as_str()),
            ("kube-system", "kube-scheduler")
        );
        assert_eq!(c.queue.initial_backoff, Duration::from_secs(1));
        assert_eq!(c.queue.max_backoff, Duration::from_secs(10));
        assert_eq!(c.queue.max_in_unschedulable, Duration::from_secs(300));
        c.validate().unwrap();
    }

    #[test]
    fn bad_values_are_rejected_with_clear_errors() {
        let e = SchedulerConfig::default()
            .percentage_of_nodes_to_score(101)
            .validate()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "percentageOfNodesToScore must be between 0 and 100, got 101"
        );
        let e = SchedulerConfig::default()
            .backoff(Duration::from_secs(5), Duration::from_secs(1))
            .validate()
            .unwrap_err();
        assert!(matches!(e, ConfigError::Backoff { .. }));
        assert_eq!(
            SchedulerConfig::default().scheduler_name("").validate(),
            Err(ConfigError::EmptyName)
        );
    }
}
