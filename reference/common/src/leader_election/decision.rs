//! The pure leader-election decision: upstream `tryAcquireOrRenew` without the I/O.
//! Entry point: [`try_acquire_or_renew`].

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;

use super::LeaderElectionConfig;

/// What a candidate last saw of the Lease, and when (on its own monotonic clock).
/// Expiry is judged from `observed_at`, never from the Lease's `renewTime`, so clock skew
/// between machines cannot make a lease look expired early.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The Lease spec as last read (or as last written by us).
    pub record: LeaseSpec,
    /// Local time at which `record` was first seen in this form.
    pub observed_at: Instant,
}

impl Observation {
    /// True while the observed holder's lease has not run out (upstream `isLeaseValid`:
    /// `observedTime + record.leaseDurationSeconds > now`).
    pub fn is_valid_at(&self, now: Instant) -> bool {
        let secs = u64::try_from(self.record.lease_duration_seconds.unwrap_or(0)).unwrap_or(0);
        self.observed_at + Duration::from_secs(secs) > now
    }

    /// The observed holder (empty when released or never held).
    pub fn holder(&self) -> &str {
        self.record.holder_identity.as_deref().unwrap_or("")
    }
}

/// What the driver should do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// No Lease exists: create it with this spec.
    Create(LeaseSpec),
    /// Acquire or renew: update the Lease (at the resourceVersion just read) to this spec.
    Update(LeaseSpec),
    /// Someone else holds an unexpired lease: back off (upstream: "lock is held by %v and
    /// has not yet expired").
    HeldByOther {
        /// The current holder.
        holder: String,
    },
}

/// Decides, from the Lease as just read (`current`, `None` when NotFound) and the previous
/// observation, whether to create, update or wait. Updates `observed` exactly as upstream
/// does: a record that differs from the last one seen is recorded with `observed_at = now`.
///
/// `now` is the local monotonic clock; `wall` the time written to acquire/renewTime.
pub fn try_acquire_or_renew(
    observed: &mut Option<Observation>,
    current: Option<&LeaseSpec>,
    now: Instant,
    wall: Timestamp,
    me: &str,
    config: &LeaderElectionConfig,
) -> Decision {
    let wall = MicroTime(truncate_to_micros(wall));
    let mut desired = LeaseSpec {
        holder_identity: Some(me.to_string()),
        lease_duration_seconds: Some(config.lease_duration_seconds()),
        acquire_time: Some(wall.clone()),
        renew_time: Some(wall),
        lease_transitions: Some(0),
        ..LeaseSpec::default()
    };
    let Some(current) = current else {
        return Decision::Create(desired);
    };

    let changed = observed.as_ref().is_none_or(|o| &o.record != current);
    if changed {
        *observed = Some(Observation {
            record: current.clone(),
            observed_at: now,
        });
    }
    let Some(seen) = observed.as_ref() else {
        return Decision::Create(desired);
    };

    let holder = seen.holder();
    let i_am_leader = holder == me;
    if !holder.is_empty() && seen.is_valid_at(now) && !i_am_leader {
        return Decision::HeldByOther {
            holder: holder.to_string(),
        };
    }

    let old_transitions = current.lease_transitions.unwrap_or(0);
    if i_am_leader {
        desired.acquire_time = current.acquire_time.clone();
        desired.lease_transitions = Some(old_transitions);
    } else {
        desired.lease_transitions = Some(old_transitions.saturating_add(1));
    }
    // Fields this algorithm does not own (coordinated election) are carried over.
    desired.strategy = current.strategy.clone();
    desired.preferred_holder = current.preferred_holder.clone();
    Decision::Update(desired)
}

/// The record written on release (`ReleaseOnCancel`): no holder, a 1 s lease, fresh times,
/// transitions unchanged, so standbys take over on their next attempt.
pub fn release_record(current: &LeaseSpec, wall: Timestamp) -> LeaseSpec {
    let wall = MicroTime(truncate_to_micros(wall));
    LeaseSpec {
        holder_identity: Some(String::new()),
        lease_duration_seconds: Some(1),
        acquire_time: Some(wall.clone()),
        renew_time: Some(wall),
        lease_transitions: current.lease_transitions,
        strategy: current.strategy.clone(),
        preferred_holder: current.preferred_holder.clone(),
    }
}

/// MicroTime carries microseconds on the wire; keeping our copy at that precision makes
/// "what I wrote" compare equal to "what I read back".
fn truncate_to_micros(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LeaderElectionConfig {
        LeaderElectionConfig::for_component("kube-scheduler")
    }

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn held_by(holder: &str, transitions: i32, acquired: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(ts(acquired))),
            renew_time: Some(MicroTime(ts(acquired))),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_missing_lease_is_created_with_me_as_holder() {
        let mut obs = None;
        let d = try_acquire_or_renew(&mut obs, None, Instant::now(), ts(0), "a", &config());
        let Decision::Create(spec) = d else {
            panic!("{d:?}")
        };
        assert_eq!(spec.holder_identity.as_deref(), Some("a"));
        assert_eq!(spec.lease_duration_seconds, Some(15));
        assert_eq!(spec.lease_transitions, Some(0));
        assert_eq!(spec.acquire_time, spec.renew_time);
    }

    #[test]
    fn another_holders_lease_is_not_taken_before_it_expires_as_observed_locally() {
        let start = Instant::now();
        let lease = held_by("b", 3, -3600); // renewTime an hour ago: irrelevant
        let mut obs = None;
        let d = try_acquire_or_renew(&mut obs, Some(&lease), start, ts(0), "a", &config());
        assert_eq!(d, Decision::HeldByOther { holder: "b".into() });
        let later = start + Duration::from_secs(14);
        let d = try_acquire_or_renew(&mut obs, Some(&lease), later, ts(14), "a", &config());
        assert_eq!(d, Decision::HeldByOther { holder: "b".into() });
    }

    #[test]
    fn an_unchanged_lease_is_taken_over_after_the_lease_duration_and_transitions_count() {
        let start = Instant::now();
        let lease = held_by("b", 3, 0);
        let mut obs = None;
        try_acquire_or_renew(&mut obs, Some(&lease), start, ts(0), "a", &config());
        let later = start + Duration::from_secs(15);
        let d = try_acquire_or_renew(&mut obs, Some(&lease), later, ts(15), "a", &config());
        let Decision::Update(spec) = d else {
            panic!("{d:?}")
        };
        assert_eq!(spec.holder_identity.as_deref(), Some("a"));
        assert_eq!(spec.lease_transitions, Some(4));
        assert_eq!(spec.acquire_time, Some(MicroTime(ts(15))));
    }

    #[test]
    fn a_renewed_lease_resets_the_observation_clock() {
        let start = Instant::now();
        let mut obs = None;
        try_acquire_or_renew(
            &mut obs,
            Some(&held_by("b", 0, 0)),
            start,
            ts(0),
            "a",
            &config(),
        );
        let renewed = LeaseSpec {
            renew_time: Some(MicroTime(ts(10))),
            ..held_by("b", 0, 0)
        };
        let t10 = start + Duration::from_secs(10);
        try_acquire_or_renew(&mut obs, Some(&renewed), t10, ts(10), "a", &config());
        let t20 = start + Duration::from_secs(20);
        let d = try_acquire_or_renew(&mut obs, Some(&renewed), t20, ts(20), "a", &config());
        assert_eq!(d, Decision::HeldByOther { holder: "b".into() });
    }

    #[test]
    fn renewing_keeps_acquire_time_and_transitions() {
        let mut obs = None;
        let mine = held_by("a", 7, -5);
        let d = try_acquire_or_renew(&mut obs, Some(&mine), Instant::now(), ts(0), "a", &config());
        let Decision::Update(spec) = d else {
            panic!("{d:?}")
        };
        assert_eq!(spec.acquire_time, Some(MicroTime(ts(-5))));
        assert_eq!(spec.renew_time, Some(MicroTime(ts(0))));
        assert_eq!(spec.lease_transitions, Some(7));
    }

    #[test]
    fn a_released_lease_is_taken_at_once() {
        let mut obs = None;
        let released = release_record(&held_by("b", 2, 0), ts(1));
        assert_eq!(released.holder_identity.as_deref(), Some(""));
        assert_eq!(released.lease_duration_seconds, Some(1));
        assert_eq!(released.lease_transitions, Some(2));
        let d = try_acquire_or_renew(
            &mut obs,
            Some(&released),
            Instant::now(),
            ts(2),
            "a",
            &config(),
        );
        let Decision::Update(spec) = d else {
            panic!("{d:?}")
        };
        assert_eq!(spec.lease_transitions, Some(3));
    }

    #[test]
    fn expiry_uses_the_records_lease_duration() {
        let start = Instant::now();
        let short = LeaseSpec {
            lease_duration_seconds: Some(2),
            ..held_by("b", 0, 0)
        };
        let mut obs = None;
        try_acquire_or_renew(&mut obs, Some(&short), start, ts(0), "a", &config());
        let t2 = start + Duration::from_secs(2);
        let d = try_acquire_or_renew(&mut obs, Some(&short), t2, ts(2), "a", &config());
        assert!(matches!(d, Decision::Update(_)));
    }
}
