//! Leader election over a `coordination.k8s.io/v1` Lease, as client-go's
//! `tools/leaderelection` does it (k8s-behaviour.md §8). Entry point: [`LeaderElector`].
//!
//! Two layers:
//! - [`try_acquire_or_renew`] (in `decision.rs`) is the pure decision: given the Lease as
//!   read now and what this candidate observed before, create / update / back off.
//! - [`LeaderElector`] (in `elector.rs`) is the thin async driver: the acquire loop
//!   (jittered retry), the renew loop (every RetryPeriod, give up after RenewDeadline),
//!   `LeaderElection` events, and release on shutdown.
//!
//! Usage (the scheduler and the controller manager both do this):
//!
//! ```ignore
//! let config = LeaderElectionConfig::for_component("kube-scheduler"); // kube-system/kube-scheduler
//! let elector = LeaderElector::new(client, config)?;
//! let mut leading = elector.subscribe();            // watch::Receiver<bool>: "am I leader"
//! match elector.run(|token| async move { work(token).await }, shutdown).await {
//!     RunOutcome::Shutdown => {}                     // lease released if release_on_cancel
//!     RunOutcome::LostLeadership => { /* upstream exits the process; callers may re-run */ }
//! }
//! ```
//!
//! `run` waits until the lease is acquired, spawns `on_started_leading(token)` as a task,
//! keeps renewing, and on loss (or shutdown) cancels `token`, waits for the task to finish,
//! then returns. It never holds leadership while the task of a previous term still runs.

mod decision;
mod elector;

use std::time::Duration;

pub use decision::{Decision, Observation, release_record, try_acquire_or_renew};
pub use elector::{LeaderElector, RunOutcome};

/// Upstream `leaderelection.JitterFactor`.
pub const JITTER_FACTOR: f64 = 1.2;

/// Errors from configuring or running an election.
#[derive(Debug, thiserror::Error)]
pub enum LeaderElectionError {
    /// LeaseDuration must be longer than RenewDeadline.
    #[error(
        "leaseDuration ({lease_duration:?}) must be greater than renewDeadline ({renew_deadline:?})"
    )]
    LeaseDurationNotGreaterThanRenewDeadline {
        /// Configured lease duration.
        lease_duration: Duration,
        /// Configured renew deadline.
        renew_deadline: Duration,
    },
    /// RenewDeadline must exceed JitterFactor × RetryPeriod.
    #[error(
        "renewDeadline ({renew_deadline:?}) must be greater than retryPeriod*JitterFactor ({retry_period:?}*1.2)"
    )]
    RenewDeadlineTooShort {
        /// Configured renew deadline.
        renew_deadline: Duration,
        /// Configured retry period.
        retry_period: Duration,
    },
    /// A duration was zero (or under a second where the Lease stores whole seconds).
    #[error("{field} must be positive (lease duration at least 1s)")]
    NonPositive {
        /// Which setting.
        field: &'static str,
    },
    /// The Lease needs a name and a namespace.
    #[error("leader election {field} must not be empty")]
    Empty {
        /// Which setting.
        field: &'static str,
    },
}

/// Where and how to elect. `Default` is upstream's component-base defaults
/// (kube-system, 15 s / 10 s / 2 s, identity `<hostname>_<uuid>` generated per elector)
/// with no lease name;
/// use [`LeaderElectionConfig::for_component`] or [`LeaderElectionConfig::lease`].
#[derive(Clone, Debug, PartialEq)]
pub struct LeaderElectionConfig {
    /// Namespace of the Lease (`kube-system`).
    pub namespace: String,
    /// Name of the Lease (`kube-scheduler`, `kube-controller-manager`).
    pub name: String,
    /// This candidate's identity, written to `holderIdentity`. Empty (the default) means
    /// "generate `<hostname>_<uuid>` when the elector is built", so two electors built from
    /// one cloned config never share an identity (which would let both lead).
    pub identity: String,
    /// How long a non-renewed lease stays valid, judged from when a candidate observed it.
    pub lease_duration: Duration,
    /// How long the leader keeps retrying a failing renewal before it gives up.
    pub renew_deadline: Duration,
    /// Time between attempts (acquire: jittered by [`JITTER_FACTOR`]).
    pub retry_period: Duration,
    /// On shutdown, write `holderIdentity: ""`, `leaseDurationSeconds: 1` so a standby takes
    /// over at once. kube-scheduler and kube-controller-manager set this (`ReleaseOnCancel`).
    pub release_on_cancel: bool,
}

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        LeaderElectionConfig {
            namespace: "kube-system".to_string(),
            name: String::new(),
            identity: String::new(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            release_on_cancel: true,
        }
    }
}

impl LeaderElectionConfig {
    /// The upstream setup of a control-plane component: Lease `kube-system/<component>`.
    pub fn for_component(component: &str) -> Self {
        LeaderElectionConfig::default().lease("kube-system", component)
    }

    /// Sets the Lease's namespace and name.
    pub fn lease(mut self, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self.name = name.into();
        self
    }

    /// Sets this candidate's identity.
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    /// Sets LeaseDuration.
    pub fn lease_duration(mut self, d: Duration) -> Self {
        self.lease_duration = d;
        self
    }

    /// Sets RenewDeadline.
    pub fn renew_deadline(mut self, d: Duration) -> Self {
        self.renew_deadline = d;
        self
    }

    /// Sets RetryPeriod.
    pub fn retry_period(mut self, d: Duration) -> Self {
        self.retry_period = d;
        self
    }

    /// Sets ReleaseOnCancel.
    pub fn release_on_cancel(mut self, release: bool) -> Self {
        self.release_on_cancel = release;
        self
    }

    /// Upstream's `NewLeaderElector` checks: `LD > RD > JitterFactor*RP`, all positive.
    pub fn validate(&self) -> Result<(), LeaderElectionError> {
        if self.name.is_empty() {
            return Err(LeaderElectionError::Empty {
                field: "lease name",
            });
        }
        if self.namespace.is_empty() {
            return Err(LeaderElectionError::Empty {
                field: "lease namespace",
            });
        }
        if self.lease_duration <= self.renew_deadline {
            return Err(
                LeaderElectionError::LeaseDurationNotGreaterThanRenewDeadline {
                    lease_duration: self.lease_duration,
                    renew_deadline: self.renew_deadline,
                },
            );
        }
        if self.renew_deadline.as_secs_f64() <= JITTER_FACTOR * self.retry_period.as_secs_f64() {
            return Err(LeaderElectionError::RenewDeadlineTooShort {
                renew_deadline: self.renew_deadline,
                retry_period: self.retry_period,
            });
        }
        if self.lease_duration < Duration::from_secs(1) {
            return Err(LeaderElectionError::NonPositive {
                field: "leaseDuration",
            });
        }
        if self.renew_deadline.is_zero() {
            return Err(LeaderElectionError::NonPositive {
                field: "renewDeadline",
            });
        }
        if self.retry_period.is_zero() {
            return Err(LeaderElectionError::NonPositive {
                field: "retryPeriod",
            });
        }
        Ok(())
    }

    /// `leaseDurationSeconds` as written to the Lease (whole seconds, at least 1).
    pub fn lease_duration_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX)
    }
}

/// Upstream identity: `<hostname>_<uuid>`, unique per process even on one host.
pub fn default_identity() -> String {
    format!("{}_{}", hostname(), uuid::Uuid::new_v4())
}

/// The machine's hostname (`/proc/sys/kernel/hostname`, then `$HOSTNAME`, then `localhost`).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_upstreams_and_valid() {
        let c = LeaderElectionConfig::for_component("kube-scheduler");
        assert_eq!(c.namespace, "kube-system");
        assert_eq!(c.name, "kube-scheduler");
        assert_eq!(c.lease_duration, Duration::from_secs(15));
        assert_eq!(c.renew_deadline, Duration::from_secs(10));
        assert_eq!(c.retry_period, Duration::from_secs(2));
        assert_eq!(c.lease_duration_seconds(), 15);
        c.validate().unwrap();
    }

    #[test]
    fn identity_is_hostname_underscore_uuid() {
        let id = default_identity();
        let (host, uuid) = id.rsplit_once('_').unwrap();
        assert_eq!(host, hostname());
        assert!(uuid::Uuid::parse_str(uuid).is_ok());
        assert_ne!(default_identity(), id);
    }

    #[test]
    fn lease_duration_must_exceed_renew_deadline() {
        let c = LeaderElectionConfig::for_component("x").lease_duration(Duration::from_secs(10));
        let err = c.validate().unwrap_err();
        assert!(matches!(
            err,
            LeaderElectionError::LeaseDurationNotGreaterThanRenewDeadline { .. }
        ));
        assert!(
            err.to_string()
                .contains("must be greater than renewDeadline")
        );
    }

    #[test]
    fn renew_deadline_must_exceed_jittered_retry_period() {
        let c = LeaderElectionConfig::for_component("x")
            .renew_deadline(Duration::from_millis(2400))
            .retry_period(Duration::from_secs(2));
        assert!(matches!(
            c.validate(),
            Err(LeaderElectionError::RenewDeadlineTooShort { .. })
        ));
        let ok = c.renew_deadline(Duration::from_millis(2401));
        ok.validate().unwrap();
    }

    #[test]
    fn a_lease_needs_a_name() {
        let err = LeaderElectionConfig::default().validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "leader election lease name must not be empty"
        );
    }

    #[test]
    fn sub_second_lease_durations_are_rejected() {
        let c = LeaderElectionConfig::for_component("x")
            .lease_duration(Duration::from_millis(900))
            .renew_deadline(Duration::from_millis(600))
            .retry_period(Duration::from_millis(100));
        assert!(matches!(
            c.validate(),
            Err(LeaderElectionError::NonPositive { .. })
        ));
    }
}
