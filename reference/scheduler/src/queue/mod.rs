//! The scheduling queue (upstream `PriorityQueue`): activeQ ordered by priority then
//! arrival, backoffQ (per-pod exponential backoff, 1 s → 10 s by default), and the
//! unschedulable set, left until a cluster event may help or the periodic flush (5 min).
//! Pods with scheduling gates wait in `gated` until an update removes the gates.
//!
//! [`SchedulingQueue`] is pure (every method takes `now`); [`SharedQueue`] (`shared.rs`)
//! wraps it for the driver, waking the single consumer on new work or at the next backoff
//! expiry — never a polling loop.

mod shared;

pub use shared::SharedQueue;

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

use crate::cache::pod_key;

/// Queue timings; defaults are upstream's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// `podInitialBackoffSeconds` (1 s).
    pub initial_backoff: Duration,
    /// `podMaxBackoffSeconds` (10 s).
    pub max_backoff: Duration,
    /// `podMaxInUnschedulablePodsDuration` (5 min): longer than this, a pod is retried anyway.
    pub max_in_unschedulable: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_in_unschedulable: Duration::from_secs(300),
        }
    }
}

/// A pod waiting to be scheduled, with its history.
#[derive(Clone, Debug)]
pub struct QueuedPod {
    /// The latest version of the pod.
    pub pod: Arc<Pod>,
    /// When the pod first entered the queue (the PrioritySort tie-breaker).
    pub timestamp: Instant,
    /// Scheduling attempts so far.
    pub attempts: u32,
    /// When the last attempt failed (backoff is counted from here).
    pub last_failure: Option<Instant>,
    /// When it was put into the unschedulable set.
    pub unschedulable_since: Option<Instant>,
    seq: u64,
}

impl QueuedPod {
    fn priority(&self) -> i32 {
        self.pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
    }

    fn order_key(&self) -> OrderKey {
        (Reverse(self.priority()), self.timestamp, self.seq)
    }
}

/// PrioritySort order: higher priority first, then earlier arrival, then insertion order.
type OrderKey = (Reverse<i32>, Instant, u64);

fn is_gated(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.scheduling_gates.as_ref())
        .is_some_and(|g| !g.is_empty())
}

/// The three queues plus gated pods.
#[derive(Debug, Default)]
pub struct SchedulingQueue {
    config: QueueConfig,
    pods: HashMap<String, (QueuedPod, Where)>,
    active: BTreeSet<(OrderKey, String)>,
    /// Keys of the pods in backoff or unschedulable: what `flush`, the moves and
    /// `next_wakeup` look at, without visiting the (many) active pods on every pop
    /// and every bound pod.
    waiting: HashSet<String>,
    scheduling_cycle: u64,
    move_request_cycle: Option<u64>,
    next_seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    Active,
    Backoff,
    Unschedulable,
    Gated,
}

impl SchedulingQueue {
    /// An empty queue.
    pub fn new(config: QueueConfig) -> Self {
        SchedulingQueue {
            config,
            ..SchedulingQueue::default()
        }
    }

    /// Upstream `calculateBackoffDuration`: initial × 2^(attempts-1), capped.
    pub fn backoff_duration(&self, attempts: u32) -> Duration {
        let mut d = self.config.initial_backoff;
        for _ in 1..attempts {
            d = d.saturating_mul(2);
            if d > self.config.max_backoff {
                return self.config.max_backoff;
            }
        }
        d.min(self.config.max_backoff)
    }

    fn backoff_expiry(&self, p: &QueuedPod) -> Option<Instant> {
        p.last_failure
            .map(|t| t + self.backoff_duration(p.attempts))
    }

    fn place(&mut self, key: String, mut p: QueuedPod, now: Instant) {
        self.remove(&key);
        let place = if is_gated(&p.pod) {
            Where::Gated
        } else if self.backoff_expiry(&p).is_some_and(|e| e > now) {
            Where::Backoff
        } else {
            Where::Active
        };
        if place == Where::Active {
            self.active.insert((p.order_key(), key.clone()));
        }
        if place != Where::Unschedulable {
            p.unschedulable_since = None;
        }
        self.put(key, p, place);
    }

    /// Records where a pod is (the caller keeps `active` right).
    fn put(&mut self, key: String, p: QueuedPod, place: Where) {
        if matches!(place, Where::Backoff | Where::Unschedulable) {
            self.waiting.insert(key.clone());
        } else {
            self.waiting.remove(&key);
        }
        self.pods.insert(key, (p, place));
    }

    fn remove(&mut self, key: &str) -> Option<QueuedPod> {
        let (p, place) = self.pods.remove(key)?;
        match place {
            Where::Active => {
                self.active.remove(&(p.order_key(), key.to_string()));
            }
            Where::Backoff | Where::Unschedulable => {
                self.waiting.remove(key);
            }
            Where::Gated => {}
        }
        Some(p)
    }

    /// The waiting pods (backoff or unschedulable) that `select` picks.
    fn waiting_where(&self, select: impl Fn(&QueuedPod, Where) -> bool) -> Vec<String> {
        self.waiting
            .iter()
            .filter(|k| self.pods.get(*k).is_some_and(|(p, w)| select(p, *w)))
            .cloned()
            .collect()
    }

    /// A new or updated pending pod. A pod already queued keeps its history; an
    /// unschedulable pod whose spec changed is retried (after any remaining backoff).
    pub fn add_or_update(&mut self, pod: Arc<Pod>, now: Instant) {
        let key = pod_key(&pod);
        match self.pods.get(&key) {
            Some((existing, place)) => {
                let mut p = existing.clone();
                let spec_changed = existing.pod.spec != pod.spec
                    || existing.pod.metadata.labels != pod.metadata.labels;
                p.pod = pod;
                match place {
                    Where::Unschedulable if !spec_changed => {
                        self.put(key, p, Where::Unschedulable);
                    }
                    Where::Active => {
                        self.remove(&key);
                        self.active.insert((p.order_key(), key.clone()));
                        self.put(key, p, Where::Active);
                    }
                    _ => self.place(key, p, now),
                }
            }
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                let p = QueuedPod {
                    pod,
                    timestamp: now,
                    attempts: 0,
                    last_failure: None,
                    unschedulable_since: None,
                    seq,
                };
                self.place(key, p, now);
            }
        }
    }

    /// The pod was deleted or bound elsewhere.
    pub fn delete(&mut self, key: &str) {
        self.remove(key);
    }

    /// Takes the highest-priority, oldest active pod, counting an attempt.
    pub fn pop(&mut self, now: Instant) -> Option<QueuedPod> {
        self.flush(now);
        let (_, key) = self.active.pop_first()?;
        let (mut p, _) = self.pods.remove(&key)?;
        p.attempts += 1;
        self.scheduling_cycle += 1;
        Some(p)
    }

    /// The current scheduling cycle (read right after `pop`).
    pub fn scheduling_cycle(&self) -> u64 {
        self.scheduling_cycle
    }

    /// Puts back a pod that did not fit. If a cluster event arrived while it was being
    /// scheduled (`cycle` ≤ the last move request), it goes to backoff instead of waiting
    /// for another event — otherwise that event would be lost for it.
    pub fn add_unschedulable(&mut self, mut p: QueuedPod, cycle: u64, now: Instant) {
        let key = pod_key(&p.pod);
        if self.pods.contains_key(&key) {
            return; // a newer version arrived meanwhile and is queued already
        }
        p.last_failure = Some(now);
        if self.move_request_cycle.is_some_and(|m| m >= cycle) {
            self.place(key, p, now);
        } else {
            p.unschedulable_since = Some(now);
            self.put(key, p, Where::Unschedulable);
        }
    }

    /// Puts back a pod whose attempt failed with an error: retried after backoff.
    pub fn add_backoff(&mut self, mut p: QueuedPod, now: Instant) {
        let key = pod_key(&p.pod);
        if self.pods.contains_key(&key) {
            return;
        }
        p.last_failure = Some(now);
        self.place(key, p, now);
    }

    /// A cluster event that may make unschedulable pods fit: move them all to active (or
    /// backoff while their backoff lasts).
    pub fn move_all_to_active_or_backoff(&mut self, now: Instant) {
        self.move_to_active_or_backoff_if(now, |_| true);
    }

    /// Like [`Self::move_all_to_active_or_backoff`], for the unschedulable pods `may_help`
    /// selects (a coarse queueing hint: only pods the event could possibly help).
    pub fn move_to_active_or_backoff_if(&mut self, now: Instant, may_help: impl Fn(&Pod) -> bool) {
        let keys = self.waiting_where(|p, w| w == Where::Unschedulable && may_help(&p.pod));
        for key in keys {
            if let Some(p) = self.remove(&key) {
                self.place(key, p, now);
            }
        }
        self.move_request_cycle = Some(self.scheduling_cycle);
    }

    /// Moves finished backoffs to active, and pods unschedulable for longer than
    /// `max_in_unschedulable` back to active/backoff.
    pub fn flush(&mut self, now: Instant) {
        let due = self.waiting_where(|p, w| match w {
            Where::Backoff => self.backoff_expiry(p).is_none_or(|e| e <= now),
            Where::Unschedulable => p
                .unschedulable_since
                .is_some_and(|t| now.duration_since(t) >= self.config.max_in_unschedulable),
            _ => false,
        });
        for key in due {
            if let Some(p) = self.remove(&key) {
                self.place(key, p, now);
            }
        }
    }

    /// When `flush` next has something to do (earliest backoff expiry or unschedulable
    /// timeout); None when nothing waits on time.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.waiting
            .iter()
            .filter_map(|k| self.pods.get(k))
            .filter_map(|(p, w)| match w {
                Where::Backoff => self.backoff_expiry(p),
                Where::Unschedulable => p
                    .unschedulable_since
                    .map(|t| t + self.config.max_in_unschedulable),
                _ => None,
            })
            .min()
    }

    /// Sizes (active, backoff, unschedulable, gated), for logs and tests.
    pub fn lens(&self) -> (usize, usize, usize, usize) {
        let count = |w| self.pods.values().filter(|(_, x)| *x == w).count();
        (
            count(Where::Active),
            count(Where::Backoff),
            count(Where::Unschedulable),
            count(Where::Gated),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;
    use serde_json::json;

    fn q() -> SchedulingQueue {
        SchedulingQueue::new(QueueConfig::default())
    }

    fn name(p: &QueuedPod) -> &str {
        p.pod.metadata.name.as_deref().unwrap()
    }

    #[test]
    fn higher_priority_pops_first_then_older_pods() {
        let mut q = q();
        let t0 = Instant::now();
        q.add_or_update(pod("low", json!({"priority": 0})), t0);
        q.add_or_update(
            pod("high", json!({"priority": 100})),
            t0 + Duration::from_millis(5),
        );
        q.add_or_update(
            pod("low2", json!({"priority": 0})),
            t0 + Duration::from_millis(10),
        );
        let order: Vec<String> = std::iter::from_fn(|| q.pop(t0 + Duration::from_secs(1)))
            .map(|p| name(&p).to_string())
            .collect();
        assert_eq!(order, vec!["high", "low", "low2"]);
    }

    #[test]
    fn backoff_doubles_from_one_second_up_to_ten() {
        let q = q();
        let secs: Vec<u64> = (1..=6).map(|a| q.backoff_duration(a).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn an_unschedulable_pod_waits_for_an_event_then_backs_off() {
        let mut q = q();
        let t0 = Instant::now();
        q.add_or_update(pod("p", json!({})), t0);
        let p = q.pop(t0).unwrap();
        let cycle = q.scheduling_cycle();
        q.add_unschedulable(p, cycle, t0);
        assert!(q.pop(t0 + Duration::from_secs(60)).is_none());
        // An event 0.5 s after the failure: still backing off (1 s), then active.
        q.move_all_to_active_or_backoff(t0 + Duration::from_millis(500));
        assert_eq!(q.lens(), (0, 1, 0, 0));
        assert!(q.pop(t0 + Duration::from_millis(900)).is_none());
        assert_eq!(q.next_wakeup(), Some(t0 + Duration::from_secs(1)));
        assert!(q.pop(t0 + Duration::from_secs(1)).is_some());
    }

    #[test]
    fn an_event_during_the_attempt_sends_the_failed_pod_to_backoff_not_unschedulable() {
        let mut q = q();
        let t0 = Instant::now();
        q.add_or_update(pod("p", json!({})), t0);
        let p = q.pop(t0).unwrap();
        let cycle = q.scheduling_cycle();
        q.move_all_to_active_or_backoff(t0);
        q.add_unschedulable(p, cycle, t0);
        assert_eq!(q.lens(), (0, 1, 0, 0));
    }

    #[test]
    fn unschedulable_pods_are_flushed_after_the_maximum_wait() {
        let mut q = q();
        let t0 = Instant::now();
        q.add_or_update(pod("p", json!({})), t0);
        let p = q.pop(t0).unwrap();
        q.add_unschedulable(p, 1, t0);
        assert_eq!(q.next_wakeup(), Some(t0 + Duration::from_secs(300)));
        assert!(q.pop(t0 + Duration::from_secs(299)).is_none());
        let p = q.pop(t0 + Duration::from_secs(300)).unwrap();
        assert_eq!(p.attempts, 2);
    }

    #[test]
    fn gated_pods_wait_until_their_gates_are_removed() {
        let mut q = q();
        let t0 = Instant::now();
        q.add_or_update(pod("p", json!({"schedulingGates": [{"name": "g"}]})), t0);
        assert!(q.pop(t0).is_none());
        q.move_all_to_active_or_backoff(t0);
        assert!(q.pop(t0).is_none());
        q.add_or_update(pod("p", json!({"schedulingGates": []})), t0);
        assert!(q.pop(t0).is_some());
    }

    #[test]
    fn updating_an_unschedulable_pods_spec_retries_it() {
        let mut q = q();
        let t0 = Instant::now();
        q.add_or_update(pod("p", json!({})), t0);
        let p = q.pop(t0).unwrap();
        q.add_unschedulable(p, 1, t0);
        q.add_or_update(
            pod("p", json!({"nodeSelector": {"a": "b"}})),
            t0 + Duration::from_secs(2),
        );
        assert!(q.pop(t0 + Duration::from_secs(2)).is_some());
    }

    #[test]
    fn deleted_pods_leave_the_queue() {
        let mut q = q();
        let t0 = Instant::now();
        q.add_or_update(pod("p", json!({})), t0);
        q.delete("default/p");
        assert!(q.pop(t0).is_none());
        assert_eq!(q.lens(), (0, 0, 0, 0));
    }

    #[test]
    fn a_hinted_move_only_releases_the_pods_it_may_help() {
        let mut q = q();
        let t0 = Instant::now();
        for name in ["a", "b"] {
            q.add_or_update(pod(name, json!({})), t0);
            let p = q.pop(t0).unwrap();
            q.add_unschedulable(p, 0, t0);
        }
        let later = t0 + Duration::from_secs(5);
        q.move_to_active_or_backoff_if(later, |p| p.metadata.name.as_deref() == Some("b"));
        assert_eq!(q.lens(), (1, 0, 1, 0));
        assert_eq!(name(&q.pop(later).unwrap()), "b");
    }

    /// `waiting` holds exactly the keys in backoff or unschedulable.
    fn waiting_is_exact(q: &SchedulingQueue) {
        let expected: HashSet<String> = q
            .pods
            .iter()
            .filter(|(_, (_, w))| matches!(w, Where::Backoff | Where::Unschedulable))
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(q.waiting, expected);
    }

    #[test]
    fn the_waiting_index_follows_every_move() {
        let mut q = q();
        let t0 = Instant::now();
        for name in ["a", "b", "c", "d"] {
            q.add_or_update(pod(name, json!({})), t0);
        }
        q.add_or_update(pod("g", json!({"schedulingGates": [{"name": "g"}]})), t0);
        waiting_is_exact(&q);
        let a = q.pop(t0).unwrap();
        q.add_unschedulable(a, 0, t0);
        let b = q.pop(t0).unwrap();
        q.add_backoff(b, t0);
        waiting_is_exact(&q);
        assert_eq!(q.waiting.len(), 2);
        q.add_or_update(pod("a", json!({})), t0);
        waiting_is_exact(&q);
        q.move_all_to_active_or_backoff(t0 + Duration::from_millis(10));
        waiting_is_exact(&q);
        q.delete("default/b");
        waiting_is_exact(&q);
        let later = t0 + Duration::from_secs(5);
        let popped: Vec<String> = std::iter::from_fn(|| q.pop(later))
            .map(|p| name(&p).to_string())
            .collect();
        assert_eq!(popped, vec!["a", "c", "d"]);
        waiting_is_exact(&q);
        assert!(q.waiting.is_empty());
        assert_eq!(q.lens(), (0, 0, 0, 1));
    }
}
