//! Sync rate limiting as upstream's `BoundedFrequencyRunner`: a token bucket refilled at
//! one token per `min_sync_period`, holding up to `burst` (upstream: 2) tokens, so an
//! isolated change is applied at once while a storm of changes is batched. Pure: time is
//! passed in. Entry point: [`SyncLimiter::delay`].

use std::time::{Duration, Instant};

/// Upstream's `burstSyncs`.
pub const DEFAULT_BURST: u32 = 2;

/// A token bucket for syncs.
#[derive(Debug, Clone)]
pub struct SyncLimiter {
    period: Duration,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl SyncLimiter {
    /// A full bucket at `now`.
    pub fn new(min_sync_period: Duration, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            period: min_sync_period,
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        if self.period.is_zero() {
            self.tokens = self.burst;
        } else {
            let gained =
                now.saturating_duration_since(self.last).as_secs_f64() / self.period.as_secs_f64();
            self.tokens = (self.tokens + gained).min(self.burst);
        }
        self.last = now;
    }

    /// How long to wait before the next sync may run; the sync's token is taken now.
    pub fn delay(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            self.period.mul_f64(-self.tokens)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn an_isolated_change_syncs_at_once() {
        let t0 = Instant::now();
        let mut l = SyncLimiter::new(SEC, DEFAULT_BURST, t0);
        assert_eq!(l.delay(t0), Duration::ZERO);
        assert_eq!(l.delay(t0 + 10 * SEC), Duration::ZERO);
    }

    #[test]
    fn a_burst_of_changes_is_spread_one_per_min_sync_period() {
        let t0 = Instant::now();
        let mut l = SyncLimiter::new(SEC, DEFAULT_BURST, t0);
        assert_eq!(l.delay(t0), Duration::ZERO);
        assert_eq!(l.delay(t0), Duration::ZERO, "burst of two");
        assert_eq!(l.delay(t0), SEC);
    }

    #[test]
    fn tokens_refill_over_time() {
        let t0 = Instant::now();
        let mut l = SyncLimiter::new(SEC, 1, t0);
        assert_eq!(l.delay(t0), Duration::ZERO);
        let half = l.delay(t0 + SEC / 2);
        assert_eq!(half, SEC / 2);
    }

    #[test]
    fn a_zero_period_never_waits() {
        let t0 = Instant::now();
        let mut l = SyncLimiter::new(Duration::ZERO, 1, t0);
        for _ in 0..5 {
            assert_eq!(l.delay(t0), Duration::ZERO);
        }
    }
}
