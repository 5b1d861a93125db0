//! The leader-election driver: acquire and renew loops over `Api<Lease>`, events, release.
//! Entry point: [`LeaderElector::run`]. The decisions come from `decision.rs`.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::{Client, Resource};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::decision::{Decision, Observation, release_record, try_acquire_or_renew};
use super::{JITTER_FACTOR, LeaderElectionConfig, LeaderElectionError, default_identity, hostname};
use crate::events::EventRecorder;

/// Event reason used for every leader-election event.
pub const REASON_LEADER_ELECTION: &str = "LeaderElection";

/// Why [`LeaderElector::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The shutdown future completed (before or during leadership).
    Shutdown,
    /// Renewal failed for RenewDeadline: someone else may lead now.
    LostLeadership,
}

/// One candidate in an election. Cheap to share behind an `Arc`; `run` takes `&self`.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
    recorder: EventRecorder,
    observed: Mutex<Option<Observation>>,
    /// The Lease as last written or read, for the events' involvedObject.
    last_lease: Mutex<Option<Lease>>,
    leading: watch::Sender<bool>,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("config", &self.config)
            .finish()
    }
}

impl LeaderElector {
    /// Validates `config` (upstream's NewLeaderElector checks) and builds a candidate.
    /// Events are recorded with `source.component` = the lease name.
    /// An empty identity is replaced by a fresh `<hostname>_<uuid>`.
    pub fn new(
        client: Client,
        mut config: LeaderElectionConfig,
    ) -> Result<Self, LeaderElectionError> {
        config.validate()?;
        if config.identity.is_empty() {
            config.identity = default_identity();
        }
        let recorder = EventRecorder::new(client.clone(), config.name.clone(), hostname());
        Ok(LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
            recorder,
            observed: Mutex::new(None),
            last_lease: Mutex::new(None),
            leading: watch::channel(false).0,
        })
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    /// The configuration in use.
    pub fn config(&self) -> &LeaderElectionConfig {
        &self.config
    }

    /// "Am I leader", updated as leadership is gained and lost.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// The holder last observed (upstream `GetLeader`); empty if none.
    pub fn observed_leader(&self) -> String {
        lock(&self.observed)
            .as_ref()
            .map(|o| o.holder().to_string())
            .unwrap_or_default()
    }

    /// Campaigns until leader, then runs `on_started_leading(token)` as a task while renewing.
    /// On lost renewal or `shutdown`, cancels the token, waits for the task, records
    /// `<id> stopped leading`, releases the lease if configured, and returns why.
    pub async fn run<F, Fut>(
        &self,
        on_started_leading: F,
        shutdown: impl Future<Output = ()>,
    ) -> RunOutcome
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        tokio::pin!(shutdown);
        loop {
            if self.try_once().await {
                break;
            }
            tokio::select! {
                () = &mut shutdown => return RunOutcome::Shutdown,
                () = tokio::time::sleep(jittered(self.config.retry_period)) => {}
            }
        }
        tracing::info!(identity = %self.config.identity, lease = %self.config.name, "became leader");
        self.event("became leader").await;
        self.leading.send_replace(true);

        let token = CancellationToken::new();
        let task = tokio::spawn(on_started_leading(token.clone()));
        let outcome = loop {
            // Shutdown also interrupts a renewal in progress (dropping its request).
            let renew = async {
                tokio::time::sleep(self.config.retry_period).await;
                self.renew_within_deadline().await
            };
            tokio::select! {
                () = &mut shutdown => break RunOutcome::Shutdown,
                renewed = renew => if !renewed {
                    break RunOutcome::LostLeadership;
                },
            }
        };
        self.leading.send_replace(false);
        token.cancel();
        if let Err(err) = task.await {
            tracing::error!(%err, "leader task panicked");
        }
        tracing::info!(identity = %self.config.identity, ?outcome, "stopped leading");
        self.event("stopped leading").await;
        if self.config.release_on_cancel {
            self.release().await;
        }
        outcome
    }

    /// Upstream renew: poll `tryAcquireOrRenew` every RetryPeriod until RenewDeadline.
    async fn renew_within_deadline(&self) -> bool {
        let deadline = tokio::time::Instant::now() + self.config.renew_deadline;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return false;
            }
            match tokio::time::timeout(remaining, self.try_once()).await {
                Ok(true) => return true,
                Ok(false) => {}
                Err(_elapsed) => return false,
            }
            let next = tokio::time::Instant::now() + self.config.retry_period;
            if next >= deadline {
                return false;
            }
            tokio::time::sleep_until(next).await;
        }
    }

    /// One `tryAcquireOrRenew` round trip. Any failure (API error, conflict) is `false`.
    async fn try_once(&self) -> bool {
        let current = match self.api.get_opt(&self.config.name).await {
            Ok(lease) => lease,
            Err(err) => {
                tracing::warn!(%err, lease = %self.config.name, "error retrieving lease");
                return false;
            }
        };
        // A Lease without a spec reads as an empty record (no holder): it can be taken.
        let current_spec = current.as_ref().map(|l| l.spec.clone().unwrap_or_default());
        let decision = {
            let mut observed = lock(&self.observed);
            try_acquire_or_renew(
                &mut observed,
                current_spec.as_ref(),
                Instant::now(),
                Timestamp::now(),
                &self.config.identity,
                &self.config,
            )
        };
        let written = match decision {
            Decision::HeldByOther { holder } => {
                tracing::debug!(%holder, "lock is held by {holder} and has not yet expired");
                return false;
            }
            Decision::Create(spec) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(spec),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Decision::Update(spec) => {
                let Some(mut lease) = current else {
                    return false;
                };
                // resourceVersion stays as read: a concurrent writer makes this a 409.
                lease.spec = Some(spec);
                self.api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await
            }
        };
        match written {
            Ok(lease) => {
                *lock(&self.observed) = lease.spec.clone().map(|record| Observation {
                    record,
                    observed_at: Instant::now(),
                });
                *lock(&self.last_lease) = Some(lease);
                true
            }
            Err(err) => {
                if is_conflict(&err) {
                    tracing::debug!("lease write lost a race (conflict)");
                } else {
                    tracing::warn!(%err, "failed to write lease");
                }
                false
            }
        }
    }

    /// Upstream release: only if we still hold it, at the resourceVersion we read.
    async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_ref() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        lease.spec = Some(release_record(spec, Timestamp::now()));
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(lease) => {
                *lock(&self.observed) = lease.spec.map(|record| Observation {
                    record,
                    observed_at: Instant::now(),
                });
            }
            Err(err) => tracing::warn!(%err, "failed to release lease"),
        }
    }

    /// Records `<identity> <what>` on the Lease (upstream LeaseLock.RecordEvent).
    async fn event(&self, what: &str) {
        let reference = self.lease_reference();
        let message = format!("{} {what}", self.config.identity);
        if let Err(err) = self
            .recorder
            .normal(&reference, REASON_LEADER_ELECTION, &message)
            .await
        {
            tracing::warn!(%err, "could not record leader election event");
        }
    }

    fn lease_reference(&self) -> ObjectReference {
        match lock(&self.last_lease).as_ref() {
            Some(lease) => lease.object_ref(&()),
            None => ObjectReference {
                api_version: Some("coordination.k8s.io/v1".into()),
                kind: Some("Lease".into()),
                namespace: Some(self.config.namespace.clone()),
                name: Some(self.config.name.clone()),
                ..ObjectReference::default()
            },
        }
    }
}

/// A write rejected because the Lease changed since we read it (or was created meanwhile).
pub fn is_conflict(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 409)
}

/// Upstream `wait.Jitter(period, JitterFactor)`: period + rand[0,1) * 1.2 * period.
pub fn jittered(period: Duration) -> Duration {
    period + period.mul_f64(rand::random::<f64>() * JITTER_FACTOR)
}

/// Mutex poisoning only follows a panic elsewhere; the data (an observation) stays usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_one_to_two_point_two_periods() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(2));
            assert!(
                d >= Duration::from_secs(2) && d < Duration::from_millis(4400),
                "{d:?}"
            );
        }
    }

    #[test]
    fn a_409_is_a_conflict_and_other_errors_are_not() {
        let status = |code| {
            kube::Error::Api(
                kube::core::Status::failure("x", "Conflict")
                    .with_code(code)
                    .boxed(),
            )
        };
        assert!(is_conflict(&status(409)));
        assert!(!is_conflict(&status(500)));
    }

    #[tokio::test]
    async fn electors_built_from_one_config_get_distinct_identities() {
        let url = "http://127.0.0.1:9".parse().unwrap();
        let client = Client::try_from(kube::Config::new(url)).unwrap();
        let config = LeaderElectionConfig::for_component("kube-scheduler");
        let a = LeaderElector::new(client.clone(), config.clone()).unwrap();
        let b = LeaderElector::new(client.clone(), config).unwrap();
        assert_ne!(a.identity(), b.identity());
        assert!(a.identity().starts_with(&format!("{}_", hostname())));
        let fixed = LeaderElector::new(
            client,
            LeaderElectionConfig::for_component("x").identity("me"),
        )
        .unwrap();
        assert_eq!(fixed.identity(), "me");
    }

    #[tokio::test]
    async fn an_invalid_config_is_refused_before_any_request() {
        let client =
            Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap();
        let bad = LeaderElectionConfig::for_component("x").retry_period(Duration::from_secs(9));
        assert!(matches!(
            LeaderElector::new(client, bad),
            Err(LeaderElectionError::RenewDeadlineTooShort { .. })
        ));
    }
}
