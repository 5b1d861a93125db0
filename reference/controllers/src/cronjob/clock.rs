//! The CronJob controller's clock: the wall clock, or (the `cronjob_clock_rate` test
//! knob) one that runs a whole number of times faster from the controller's start, so
//! scenarios see minutely schedules fire every second. Upstream's controller takes its
//! clock the same way, injected, for its own tests.

use std::time::{Duration, Instant};

use crate::util::time::{Timestamp, now, plus_millis};

#[derive(Clone, Debug)]
pub struct Clock {
    rate: u32,
    start: Timestamp,
    started: Instant,
}

impl Clock {
    pub fn new(rate: u32) -> Self {
        Self {
            rate: rate.max(1),
            start: now(),
            started: Instant::now(),
        }
    }

    /// The controller's time.
    pub fn now(&self) -> Timestamp {
        if self.rate == 1 {
            return now();
        }
        let elapsed = self.started.elapsed().saturating_mul(self.rate);
        plus_millis(
            self.start,
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
        )
    }

    /// A wait in the controller's time, in real time.
    pub fn real(&self, d: Duration) -> Duration {
        d / self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_runs_ahead_and_shortens_waits() {
        let c = Clock::new(60);
        std::thread::sleep(Duration::from_millis(50));
        let ahead = crate::util::time::nanos_between(c.now(), now());
        assert!(ahead >= 2_000_000_000, "only {ahead} ns ahead");
        assert_eq!(c.real(Duration::from_secs(60)), Duration::from_secs(1));
        let wall = Clock::new(1);
        assert_eq!(wall.real(Duration::from_secs(60)), Duration::from_secs(60));
    }
}
