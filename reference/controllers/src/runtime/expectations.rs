//! `UIDTrackingControllerExpectations`: what a controller is still waiting to see in its
//! informer after creating or deleting, so a lagging watch never causes a second round of
//! creations. Entry points: [`Expectations::satisfied`], `expect_*`, `*_observed`.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upstream's `ExpectationsTimeout`: an expectation older than this is considered stale.
pub const DEFAULT_EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Record {
    adds: i64,
    deletes: HashSet<String>,
    at: Instant,
}

/// Pending creations (counted) and deletions (by pod key) per controller key.
#[derive(Debug)]
pub struct Expectations {
    records: Mutex<HashMap<String, Record>>,
    timeout: Duration,
}

impl Default for Expectations {
    fn default() -> Self {
        Self::new(DEFAULT_EXPECTATIONS_TIMEOUT)
    }
}

impl Expectations {
    /// Expectations that expire after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            records: Mutex::new(HashMap::new()),
            timeout,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Record>) -> R) -> R {
        let mut guard = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// True when nothing is pending, the record expired, or there is no record: the
    /// controller may act on its cache.
    pub fn satisfied(&self, key: &str) -> bool {
        self.with(|m| match m.get(key) {
            None => true,
            Some(r) => (r.adds <= 0 && r.deletes.is_empty()) || r.at.elapsed() > self.timeout,
        })
    }

    /// Records that `n` creations are about to be issued (replacing any old record).
    pub fn expect_creations(&self, key: &str, n: usize) {
        let adds = i64::try_from(n).unwrap_or(i64::MAX);
        self.with(|m| {
            m.insert(
                key.into(),
                Record {
                    adds,
                    deletes: HashSet::new(),
                    at: Instant::now(),
                },
            )
        });
    }

    /// Records that these pods are about to be deleted (replacing any old record).
    pub fn expect_deletions(&self, key: &str, pod_keys: impl IntoIterator<Item = String>) {
        let deletes = pod_keys.into_iter().collect();
        self.with(|m| {
            m.insert(
                key.into(),
                Record {
                    adds: 0,
                    deletes,
                    at: Instant::now(),
                },
            )
        });
    }

    /// A creation was seen in the informer (or will never happen: a failed or skipped create).
    pub fn creation_observed(&self, key: &str) {
        self.lower_creations(key, 1);
    }

    /// Lowers the pending creations by `n`.
    pub fn lower_creations(&self, key: &str, n: usize) {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.with(|m| {
            if let Some(r) = m.get_mut(key) {
                r.adds -= n;
            }
        });
    }

    /// A deletion of `pod_key` was seen (or failed).
    pub fn deletion_observed(&self, key: &str, pod_key: &str) {
        self.with(|m| {
            if let Some(r) = m.get_mut(key) {
                r.deletes.remove(pod_key);
            }
        });
    }

    /// Forgets the record of a deleted controller.
    pub fn delete(&self, key: &str) {
        self.with(|m| m.remove(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_are_pending_until_each_one_is_observed() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs"));
        e.expect_creations("ns/rs", 2);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn deletions_are_tracked_by_pod_key_so_duplicates_do_not_count_twice() {
        let e = Expectations::default();
        e.expect_deletions("ns/rs", ["ns/a".to_string(), "ns/b".to_string()]);
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/a");
        assert!(!e.satisfied("ns/rs"));
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn stale_expectations_expire() {
        let e = Expectations::new(Duration::ZERO);
        e.expect_creations("ns/rs", 1);
        std::thread::sleep(Duration::from_millis(2));
        assert!(e.satisfied("ns/rs"));
    }
}
