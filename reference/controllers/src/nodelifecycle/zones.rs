//! Zones (`GetZoneKey`), their disruption states (`ComputeZoneState`, `setLimiterInZone`)
//! and their NoExecute tainting queues (upstream's `zoneNoExecuteTainter`: a
//! `RateLimitedTimedQueue` over `flowcontrol.NewTokenBucketRateLimiter(qps, 1)`), with the
//! time passed in. Entry points: [`zone_state`], [`zone_rate`], [`Zones`].

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use k8s_openapi::api::core::v1::Node;
use refkube_helpers::ratelimit::TokenBucket;

/// A zone's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneState {
    /// Evict at the normal rate.
    Normal,
    /// Many nodes down: the secondary rate (or none in small clusters).
    PartialDisruption,
    /// Every node down.
    FullDisruption,
}

/// `ComputeZoneState` over the zone's Ready statuses.
pub fn zone_state(ready: &[Option<&str>], unhealthy_threshold: f64) -> ZoneState {
    let ready_nodes = ready.iter().filter(|r| **r == Some("True")).count();
    let not_ready = ready.len() - ready_nodes;
    #[allow(clippy::cast_precision_loss)]
    let fraction = not_ready as f64 / ready.len().max(1) as f64;
    if ready_nodes == 0 && not_ready > 0 {
        ZoneState::FullDisruption
    } else if not_ready > 2 && fraction >= unhealthy_threshold {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    }
}

/// The tainting rate of a zone (`setLimiterInZone`), given whether every zone is fully
/// disrupted (then nothing is tainted: the fault is probably on the control plane side).
pub fn zone_rate(
    state: ZoneState,
    zone_size: usize,
    all_disrupted: bool,
    rates: (f64, f64),
    large_cluster: usize,
) -> f64 {
    if all_disrupted {
        return 0.0;
    }
    match state {
        ZoneState::Normal | ZoneState::FullDisruption => rates.0,
        ZoneState::PartialDisruption if zone_size > large_cluster => rates.1,
        ZoneState::PartialDisruption => 0.0,
    }
}

/// The zone key of a node (`GetZoneKey`: region and zone labels).
pub fn zone_key(node: &Node) -> String {
    let labels = node.metadata.labels.as_ref();
    let get = |k: &str| labels.and_then(|l| l.get(k)).cloned().unwrap_or_default();
    format!(
        "{}:\u{0}:{}",
        get("topology.kubernetes.io/region"),
        get("topology.kubernetes.io/zone")
    )
}

/// One zone's queue of nodes waiting for their NoExecute taint, and its limiter.
#[derive(Clone, Debug)]
pub struct ZoneQueue {
    nodes: VecDeque<String>,
    limiter: TokenBucket,
    /// The rate `handleDisruption` chose; the limiter takes it on the next tainting pass,
    /// so tokens earned until then accrue at the old rate.
    rate: f64,
}

impl ZoneQueue {
    /// An empty queue whose limiter (burst 1, full) lets nothing through until a rate is set.
    pub fn new(now: Instant) -> Self {
        Self {
            nodes: VecDeque::new(),
            limiter: TokenBucket::new(0.0, 1, now),
            rate: 0.0,
        }
    }

    /// The rate chosen for this zone, in nodes per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The queued node names, oldest first.
    pub fn queued(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(String::as_str)
    }
}

/// Every zone's queue, by zone key.
#[derive(Clone, Debug, Default)]
pub struct Zones(BTreeMap<String, ZoneQueue>);

impl Zones {
    /// The queue of `zone`, made on first use.
    fn zone(&mut self, zone: &str, now: Instant) -> &mut ZoneQueue {
        self.0
            .entry(zone.to_string())
            .or_insert_with(|| ZoneQueue::new(now))
    }

    /// One zone's queue, if it exists.
    pub fn get(&self, zone: &str) -> Option<&ZoneQueue> {
        self.0.get(zone)
    }

    /// Queues `node` in `zone` unless it is already waiting there.
    pub fn enqueue(&mut self, zone: &str, node: &str, now: Instant) {
        let q = self.zone(zone, now);
        if !q.nodes.iter().any(|n| n == node) {
            q.nodes.push_back(node.to_string());
        }
    }

    /// Takes `node` out of every queue.
    pub fn dequeue(&mut self, node: &str) {
        for q in self.0.values_mut() {
            q.nodes.retain(|n| n != node);
        }
    }

    /// Sets a zone's rate (making its queue if new), emptying the queue when `clear`.
    pub fn set_rate(&mut self, zone: &str, rate: f64, clear: bool, now: Instant) {
        let q = self.zone(zone, now);
        q.rate = rate;
        if clear {
            q.nodes.clear();
        }
    }

    /// `doNoExecuteTaintingPass`'s pop: the nodes each zone's limiter lets through at `now`.
    pub fn take_due(&mut self, now: Instant) -> Vec<String> {
        let mut due = Vec::new();
        for q in self.0.values_mut() {
            q.limiter.set_rate(q.rate, now);
            while !q.nodes.is_empty() && q.limiter.try_accept(now) {
                due.extend(q.nodes.pop_front());
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_zone_with_no_ready_node_is_fully_disrupted_and_many_down_is_partial() {
        assert_eq!(
            zone_state(&[Some("Unknown")], 0.55),
            ZoneState::FullDisruption
        );
        assert_eq!(
            zone_state(&[Some("True"), Some("Unknown")], 0.55),
            ZoneState::Normal
        );
        assert_eq!(
            zone_state(&[Some("True"), Some("False"), None, Some("Unknown")], 0.55),
            ZoneState::PartialDisruption
        );
    }

    #[test]
    fn evictions_stop_when_every_zone_is_down_and_slow_in_small_partially_disrupted_zones() {
        assert_eq!(
            zone_rate(ZoneState::FullDisruption, 1, true, (0.1, 0.01), 50),
            0.0
        );
        assert_eq!(
            zone_rate(ZoneState::FullDisruption, 1, false, (0.1, 0.01), 50),
            0.1
        );
        assert_eq!(
            zone_rate(ZoneState::PartialDisruption, 10, false, (0.1, 0.01), 50),
            0.0
        );
        assert_eq!(
            zone_rate(ZoneState::PartialDisruption, 60, false, (0.1, 0.01), 50),
            0.01
        );
    }

    #[test]
    fn a_zone_queue_lets_one_node_through_then_one_per_period_at_its_rate() {
        let t0 = Instant::now();
        let mut zones = Zones::default();
        for n in ["a", "b", "a", "c"] {
            zones.enqueue("z", n, t0);
        }
        assert_eq!(zones.take_due(t0), Vec::<String>::new(), "no rate set yet");
        zones.set_rate("z", 0.1, false, t0);
        assert_eq!(zones.take_due(t0), vec!["a"], "the burst of one");
        assert!(zones.take_due(t0 + Duration::from_secs(9)).is_empty());
        assert_eq!(zones.take_due(t0 + Duration::from_secs(10)), vec!["b"]);
        zones.dequeue("c");
        assert!(zones.take_due(t0 + Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn a_zero_rate_holds_the_queue_and_clearing_empties_it() {
        let t0 = Instant::now();
        let mut zones = Zones::default();
        zones.enqueue("z", "a", t0);
        zones.set_rate("z", 0.0, false, t0);
        assert!(zones.take_due(t0 + Duration::from_secs(100)).is_empty());
        assert_eq!(zones.get("z").map(|q| q.queued().count()), Some(1));
        zones.set_rate("z", 0.1, true, t0);
        assert_eq!(zones.get("z").map(|q| q.queued().count()), Some(0));
    }
}
