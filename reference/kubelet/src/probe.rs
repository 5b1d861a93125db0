//! Probe semantics without I/O: upstream defaults (`pkg/apis/core/v1/defaults.go`), the
//! initial results and the threshold state machine of `pkg/kubelet/prober/worker.go`.
//! Entry points: [`ProbeSettings::from_spec`], [`ProbeTracker::observe`].

use std::time::Duration;

use k8s_openapi::api::core::v1::Probe;

use crate::config::Timings;

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// `livenessProbe`: failure restarts the container.
    Liveness,
    /// `readinessProbe`: gates the container's `ready`.
    Readiness,
    /// `startupProbe`: holds the other probes until it succeeds.
    Startup,
}

impl ProbeKind {
    /// The word used in events, e.g. `Liveness probe failed: ...`.
    pub fn title(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        }
    }

    /// The result before the first probe runs (`prober/worker.go` newWorker).
    pub fn initial_result(self) -> ProbeResult {
        match self {
            ProbeKind::Liveness => ProbeResult::Success,
            ProbeKind::Readiness => ProbeResult::Failure,
            ProbeKind::Startup => ProbeResult::Unknown,
        }
    }
}

/// A probe's current result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeResult {
    /// Passing.
    Success,
    /// Failing.
    Failure,
    /// Not known yet.
    Unknown,
}

/// A probe's timing and thresholds with upstream defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSettings {
    /// Wait before the first probe (`initialDelaySeconds`, default 0).
    pub initial_delay: Duration,
    /// Time allowed for one probe (`timeoutSeconds`, default 1).
    pub timeout: Duration,
    /// Between probes (`periodSeconds`, default 10).
    pub period: Duration,
    /// Consecutive successes to flip to Success (default 1; always 1 for liveness/startup).
    pub success_threshold: u32,
    /// Consecutive failures to flip to Failure (default 3).
    pub failure_threshold: u32,
}

fn threshold(v: Option<i32>, default: u32) -> u32 {
    v.and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

impl ProbeSettings {
    /// Applies upstream defaults to `probe`, scaling spec seconds by `timings`.
    pub fn from_spec(kind: ProbeKind, probe: &Probe, timings: &Timings) -> Self {
        let secs = |v: Option<i32>, default: i64| {
            timings.spec_seconds(v.map(i64::from).filter(|v| *v > 0).unwrap_or(default))
        };
        let success_threshold = match kind {
            ProbeKind::Readiness => threshold(probe.success_threshold, 1),
            ProbeKind::Liveness | ProbeKind::Startup => 1,
        };
        ProbeSettings {
            initial_delay: timings
                .spec_seconds(i64::from(probe.initial_delay_seconds.unwrap_or(0).max(0))),
            timeout: secs(probe.timeout_seconds, 1),
            period: secs(probe.period_seconds, 10),
            success_threshold,
            failure_threshold: threshold(probe.failure_threshold, 3),
        }
    }
}

/// Tracks one probe's result across runs.
#[derive(Debug, Clone)]
pub struct ProbeTracker {
    result: ProbeResult,
    last_outcome: Option<bool>,
    run: u32,
    success_threshold: u32,
    failure_threshold: u32,
}

impl ProbeTracker {
    /// A tracker in the probe's initial state.
    pub fn new(kind: ProbeKind, settings: &ProbeSettings) -> Self {
        ProbeTracker {
            result: kind.initial_result(),
            last_outcome: None,
            run: 0,
            success_threshold: settings.success_threshold,
            failure_threshold: settings.failure_threshold,
        }
    }

    /// The current result.
    pub fn result(&self) -> ProbeResult {
        self.result
    }

    /// Records one probe outcome; returns the new result if it changed. The result flips
    /// only after `failureThreshold` consecutive failures or `successThreshold`
    /// consecutive successes.
    pub fn observe(&mut self, success: bool) -> Option<ProbeResult> {
        if self.last_outcome == Some(success) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last_outcome = Some(success);
            self.run = 1;
        }
        let (needed, target) = if success {
            (self.success_threshold, ProbeResult::Success)
        } else {
            (self.failure_threshold, ProbeResult::Failure)
        };
        if self.run >= needed && self.result != target {
            self.result = target;
            return Some(target);
        }
        None
    }

    /// After a liveness/startup failure restarts the container, the counters start over
    /// (upstream resets the worker's result to its initial value on container restart).
    pub fn reset(&mut self, kind: ProbeKind) {
        self.result = kind.initial_result();
        self.last_outcome = None;
        self.run = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(kind: ProbeKind, probe: Probe) -> ProbeTracker {
        ProbeTracker::new(
            kind,
            &ProbeSettings::from_spec(kind, &probe, &Timings::default()),
        )
    }

    #[test]
    fn defaults_are_upstreams() {
        let s =
            ProbeSettings::from_spec(ProbeKind::Readiness, &Probe::default(), &Timings::default());
        assert_eq!(s.initial_delay, Duration::ZERO);
        assert_eq!(s.timeout, Duration::from_secs(1));
        assert_eq!(s.period, Duration::from_secs(10));
        assert_eq!((s.success_threshold, s.failure_threshold), (1, 3));
    }

    #[test]
    fn liveness_success_threshold_is_always_one() {
        let probe = Probe {
            success_threshold: Some(5),
            ..Probe::default()
        };
        let s = ProbeSettings::from_spec(ProbeKind::Liveness, &probe, &Timings::default());
        assert_eq!(s.success_threshold, 1);
    }

    #[test]
    fn initial_results_are_readiness_failure_liveness_success_startup_unknown() {
        assert_eq!(
            tracker(ProbeKind::Readiness, Probe::default()).result(),
            ProbeResult::Failure
        );
        assert_eq!(
            tracker(ProbeKind::Liveness, Probe::default()).result(),
            ProbeResult::Success
        );
        assert_eq!(
            tracker(ProbeKind::Startup, Probe::default()).result(),
            ProbeResult::Unknown
        );
    }

    #[test]
    fn liveness_fails_only_after_failure_threshold_consecutive_failures() {
        let mut t = tracker(ProbeKind::Liveness, Probe::default());
        assert_eq!(t.observe(false), None);
        assert_eq!(t.observe(false), None);
        assert_eq!(t.observe(true), None);
        assert_eq!(t.observe(false), None);
        assert_eq!(t.observe(false), None);
        assert_eq!(t.observe(false), Some(ProbeResult::Failure));
        assert_eq!(t.observe(false), None);
    }

    #[test]
    fn readiness_needs_success_threshold_consecutive_successes() {
        let probe = Probe {
            success_threshold: Some(2),
            ..Probe::default()
        };
        let mut t = tracker(ProbeKind::Readiness, probe);
        assert_eq!(t.observe(true), None);
        assert_eq!(t.observe(true), Some(ProbeResult::Success));
        assert_eq!(t.observe(false), None);
    }

    #[test]
    fn startup_turns_success_on_the_first_success() {
        let mut t = tracker(ProbeKind::Startup, Probe::default());
        assert_eq!(t.observe(true), Some(ProbeResult::Success));
    }
}
