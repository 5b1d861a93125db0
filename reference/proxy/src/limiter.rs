//! Sync rate limiting as upstream's `BoundedFrequencyRunner`: a token bucket refilled at
//! one token per `min_sync_period`, holding up to `burst` (upstream: 2) tokens, so an
//! isolated change is applied at once while a storm of changes is batched. The bucket is
//! the shared `refkube_helpers::ratelimit::TokenBucket`; time is passed in.
//! Entry point: [`SyncLimiter::delay`].

use std::time::{Duration, Instant};

use refkube_helpers::ratelimit::TokenBucket;

/// Upstream's `burstSyncs`.
pub const DEFAULT_BURST: u32 = 2;

/// A token bucket for syncs.
#[derive(Debug, Clone)]
pub struct SyncLimiter(TokenBucket);

impl SyncLimiter {
    /// A full bucket at `now`.
    pub fn new(min_sync_period: Duration, burst: u32, now: Instant) -> Self {
        Self(TokenBucket::every(min_sync_period, burst, now))
    }

    /// How long to wait before the next sync may run; the sync's token is taken now.
    pub fn delay(&mut self, now: Instant) -> Duration {
        self.0.reserve(now)
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
