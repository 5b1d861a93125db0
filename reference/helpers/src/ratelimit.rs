//! The token bucket behind client-go's `flowcontrol.NewTokenBucketRateLimiter` and the
//! proxy's `BoundedFrequencyRunner`: `rate` tokens a second, at most `burst` held. Pure:
//! the caller passes the time in.

use std::time::{Duration, Instant};

/// A token bucket, full when created.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Tokens per second; zero never refills, infinite is always full.
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: f64, burst: u32, now: Instant) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            rate: rate.max(0.0),
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// A bucket refilled by one token every `period` (zero: no limit).
    pub fn every(period: Duration, burst: u32, now: Instant) -> TokenBucket {
        let rate = if period.is_zero() {
            f64::INFINITY
        } else {
            1.0 / period.as_secs_f64()
        };
        TokenBucket::new(rate, burst, now)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        if self.rate.is_infinite() {
            self.tokens = self.burst;
        } else {
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        }
        self.last = self.last.max(now);
    }

    /// Changes the rate from `now` on; tokens earned so far stay.
    pub fn set_rate(&mut self, rate: f64, now: Instant) {
        self.refill(now);
        self.rate = rate.max(0.0);
    }

    /// The current rate in tokens per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// `TryAccept`: takes a token if one is there.
    pub fn try_accept(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.rate > 0.0 && self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// `Reserve`: takes a token now, possibly going into debt, and says how long to wait
    /// until it is really there. A zero rate waits forever (`Duration::MAX`).
    pub fn reserve(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else if self.rate == 0.0 {
            Duration::MAX
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn a_full_bucket_allows_a_burst_then_refills_at_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2.0, 2, t0);
        assert!(b.try_accept(t0));
        assert!(b.try_accept(t0));
        assert!(!b.try_accept(t0));
        assert!(!b.try_accept(t0 + SEC / 4));
        assert!(b.try_accept(t0 + SEC / 2));
        // Never more than the burst, however long it rests.
        let later = t0 + 100 * SEC;
        assert!(b.try_accept(later) && b.try_accept(later) && !b.try_accept(later));
    }

    #[test]
    fn a_zero_rate_accepts_nothing_and_rate_changes_keep_earned_tokens() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0.0, 1, t0);
        assert!(!b.try_accept(t0), "a zero rate never accepts");
        b.set_rate(1.0, t0);
        assert!(b.try_accept(t0), "the initial token was kept");
        b.set_rate(10.0, t0 + SEC / 10);
        assert!(b.try_accept(t0 + SEC / 5));
    }

    #[test]
    fn reserve_goes_into_debt_and_reports_the_wait() {
        let t0 = Instant::now();
        let mut b = TokenBucket::every(SEC, 2, t0);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        assert_eq!(b.reserve(t0), SEC);
        assert_eq!(b.reserve(t0), 2 * SEC);
        let mut free = TokenBucket::every(Duration::ZERO, 1, t0);
        assert_eq!(free.reserve(t0), Duration::ZERO);
        assert_eq!(free.reserve(t0), Duration::ZERO);
    }
}
