//! Per-key exponential back-off, as client-go's `flowcontrol.Backoff` used by the kubelet
//! for crash loops and image pulls. Entry point: [`Backoff`].
//!
//! Upstream (`kuberuntime_manager.go` doBackOff): when a container that must restart has
//! exited, the kubelet asks `IsInBackOffSince(key, finishedAt)`; if not in back-off it
//! calls `Next(key, now)` and restarts at once. `Next` starts at the base and doubles up to
//! the max; an entry untouched for more than `2*max` is forgotten (the reset after ten
//! minutes of stability). The waits are thus 0, 10, 20, 40, 80, 160, 300, 300 ... seconds.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
struct Entry {
    backoff: Duration,
    last_update: Instant,
}

/// Back-off state for many keys.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    entries: HashMap<String, Entry>,
}

impl Backoff {
    /// A back-off starting at `base` and capped at `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max,
            entries: HashMap::new(),
        }
    }

    fn expired(&self, entry: &Entry, event_time: Instant) -> bool {
        event_time.saturating_duration_since(entry.last_update) > self.max * 2
    }

    /// The delay still to wait before restarting, if `key` is in back-off for an exit
    /// observed at `event_time` (`IsInBackOffSince`). `None`: restart now (and call
    /// [`Backoff::next`]).
    pub fn remaining(&self, key: &str, event_time: Instant, now: Instant) -> Option<Duration> {
        let entry = self.entries.get(key)?;
        if self.expired(entry, event_time) {
            return None;
        }
        let until = event_time + entry.backoff;
        (now < until).then(|| until - now)
    }

    /// The delay still to wait since the last [`Backoff::next`] of `key`
    /// (`IsInBackOffSinceUpdate`, used for image pulls).
    pub fn remaining_since_update(&self, key: &str, now: Instant) -> Option<Duration> {
        let entry = self.entries.get(key)?;
        self.remaining(key, entry.last_update, now)
    }

    /// The current back-off of `key` (what the waiting message reports).
    pub fn current(&self, key: &str) -> Option<Duration> {
        self.entries.get(key).map(|e| e.backoff)
    }

    /// Records a restart of `key` at `now` and grows its back-off (`Next`).
    pub fn next(&mut self, key: &str, now: Instant) {
        let backoff = match self.entries.get(key) {
            Some(entry) if !self.expired(entry, now) => (entry.backoff * 2).min(self.max),
            _ => self.base.min(self.max),
        };
        self.entries.insert(
            key.to_string(),
            Entry {
                backoff,
                last_update: now,
            },
        );
    }

    /// Forgets `key` (its pod is gone).
    pub fn forget_prefix(&mut self, prefix: &str) {
        self.entries.retain(|k, _| !k.starts_with(prefix));
    }
}

/// Formats a duration the way Go's `time.Duration.String()` does (`10s`, `1m20s`,
/// `5m0s`, `500ms`), because the kubelet's waiting message embeds it.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        return if nanos < 1_000 {
            format!("{nanos}ns")
        } else if nanos < 1_000_000 {
            format!("{}µs", trim_fraction(nanos as f64 / 1e3))
        } else {
            format!("{}ms", trim_fraction(nanos as f64 / 1e6))
        };
    }
    let total_secs = d.as_secs();
    let (h, m) = (total_secs / 3600, (total_secs / 60) % 60);
    let secs = (total_secs % 60) as f64 + f64::from(d.subsec_nanos()) / 1e9;
    let s = format!("{}s", trim_fraction(secs));
    match (h, m) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

fn trim_fraction(v: f64) -> String {
    let s = format!("{v:.9}");
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simulates a container that exits immediately after every restart and returns the
    /// waits the kubelet imposes before each restart.
    fn waits(restarts: usize) -> Vec<u64> {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let mut now = Instant::now();
        let mut out = Vec::new();
        for _ in 0..restarts {
            let exited = now;
            let wait = b.remaining("c", exited, now).unwrap_or_default();
            out.push(wait.as_secs());
            now += wait;
            b.next("c", now);
        }
        out
    }

    #[test]
    fn crash_loop_waits_double_from_ten_seconds_up_to_five_minutes() {
        assert_eq!(waits(9), vec![0, 10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn back_off_resets_after_twice_the_maximum_of_stability() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let t0 = Instant::now();
        b.next("c", t0);
        b.next("c", t0 + Duration::from_secs(1));
        assert_eq!(b.current("c"), Some(Duration::from_secs(20)));
        let later = t0 + Duration::from_secs(602);
        assert_eq!(b.remaining("c", later, later), None);
        b.next("c", later);
        assert_eq!(b.current("c"), Some(Duration::from_secs(10)));
    }

    #[test]
    fn a_container_that_ran_longer_than_its_back_off_restarts_at_once() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let t0 = Instant::now();
        b.next("c", t0);
        let exited = t0 + Duration::from_secs(30);
        assert_eq!(
            b.remaining("c", exited, exited + Duration::from_secs(10)),
            None
        );
        assert_eq!(
            b.remaining("c", exited, exited + Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
    }

    #[test]
    fn pull_back_off_counts_from_the_last_failure() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let t0 = Instant::now();
        assert_eq!(b.remaining_since_update("img", t0), None);
        b.next("img", t0);
        assert_eq!(
            b.remaining_since_update("img", t0 + Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(
            b.remaining_since_update("img", t0 + Duration::from_secs(10)),
            None
        );
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(3700)), "1h1m40s");
    }
}
