//! The repair pass: rebuilds each range's bitmap from the Services, as upstream's
//! `ipallocator/controller/repair.go` and `portallocator/controller/repair.go` do.
//!
//! Entry points: [`plan`] (pure: stored bitmap + what the Services hold → the bitmap to
//! store) and [`Repair::run_once`] (read the range, then list the Services, then
//! compare-and-swap the plan into the store).
//!
//! Why a pass cannot free an address another server just allocated: the range is read
//! *before* the Services are listed, and the result is written only if the range is
//! still at the revision read. An allocation made after the read makes the write fail
//! (the pass is retried). An allocation made before the read whose Service is not
//! stored yet looks leaked; it is kept, and freed only when [`LEAK_PASSES`] passes in a
//! row, an interval apart, have seen it leaked: two intervals (6 minutes by default),
//! far longer than writing a Service takes. A pass retried after a lost race counts
//! once, so retries cannot hurry a release along. Both reads go to the store itself,
//! which answers linearizably (etcd's default), never to a watch cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use refkube_store::{ListOptions, Store, StoreError};
use serde_json::Value;

use super::bitmap::{Bitmap, BitmapError};
use super::plan::Ranges;
use super::range::{RangeError, RangeStore};

/// Upstream's `numRepairsBeforeLeakCleanup`.
pub const LEAK_PASSES: u32 = 3;

/// How many times one pass is retried after losing a race with an allocation.
const ATTEMPTS: u32 = 5;

/// One value a Service holds: its offset in the range (None: outside the range).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub offset: Option<usize>,
    /// The value as the log names it (`the cluster IP 10.0.0.7`).
    pub value: String,
    /// `namespace/name` of the Service.
    pub owner: String,
}

/// What a pass found that an operator should hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// A Service holds a value the bitmap did not mark (set now).
    NotAllocated { value: String, owner: String },
    /// Two Services hold the same value.
    Duplicate { value: String, owner: String },
    /// A Service holds a value outside the configured range.
    OutOfRange { value: String, owner: String },
    /// Marked but held by no Service: kept until seen on [`LEAK_PASSES`] passes.
    MayHaveLeaked { offset: usize, seen: u32 },
    /// Marked but held by no Service on [`LEAK_PASSES`] passes in a row: freed.
    Leaked { offset: usize },
}

/// The result of one pass: the bitmap to store and the leak counts to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub bitmap: Bitmap,
    /// Offset → passes in a row it has been seen leaked (only offsets still leaked).
    pub leaks: HashMap<usize, u32>,
    pub findings: Vec<Finding>,
}

/// Rebuilds a range of `size` from what the Services `held`, keeping suspected leaks of
/// `stored` until they were seen on [`LEAK_PASSES`] passes (`leaks`: the counts so far).
pub fn plan(
    size: usize,
    stored: Option<&Bitmap>,
    held: &[Held],
    leaks: &HashMap<usize, u32>,
) -> Plan {
    let mut bitmap = Bitmap::new(size);
    let mut findings = Vec::new();
    for h in held {
        let Some(off) = h.offset.filter(|o| *o < size) else {
            findings.push(Finding::OutOfRange {
                value: h.value.clone(),
                owner: h.owner.clone(),
            });
            continue;
        };
        if !bitmap.set(off) {
            findings.push(Finding::Duplicate {
                value: h.value.clone(),
                owner: h.owner.clone(),
            });
        } else if !stored.is_some_and(|s| s.has(off)) {
            findings.push(Finding::NotAllocated {
                value: h.value.clone(),
                owner: h.owner.clone(),
            });
        }
    }
    let mut next_leaks = HashMap::new();
    for off in stored.into_iter().flat_map(Bitmap::iter) {
        if bitmap.has(off) {
            continue;
        }
        let seen = leaks.get(&off).copied().unwrap_or(0) + 1;
        if seen >= LEAK_PASSES {
            findings.push(Finding::Leaked { offset: off });
        } else {
            bitmap.set(off);
            next_leaks.insert(off, seen);
            findings.push(Finding::MayHaveLeaked { offset: off, seen });
        }
    }
    Plan {
        bitmap,
        leaks: next_leaks,
        findings,
    }
}

/// Which of a Service's values a range holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ClusterIps,
    NodePorts,
}

impl Kind {
    /// The values `svc` holds in this range, with their offsets (None: out of range).
    fn holds(self, r: &Ranges, svc: &Value) -> Vec<(Option<usize>, String)> {
        match self {
            Kind::ClusterIps => super::cluster_ips(svc)
                .into_iter()
                .map(|ip| (r.ip_offset(ip), format!("the cluster IP {ip}")))
                .collect(),
            Kind::NodePorts => super::node_ports(svc)
                .into_iter()
                .map(|p| (r.port_offset(p), format!("the node port {p}")))
                .collect(),
        }
    }

    fn label(self, r: &Ranges, offset: usize) -> String {
        match self {
            Kind::ClusterIps => format!("the cluster IP {}", r.ip_at(offset)),
            Kind::NodePorts => format!("the node port {}", r.port_at(offset)),
        }
    }
}

/// The repair of one range: its store, how to read a Service's holdings, and the leak
/// counts carried from pass to pass.
pub struct Repair {
    store: Arc<dyn Store>,
    range: Arc<RangeStore>,
    ranges: Ranges,
    kind: Kind,
    services_prefix: String,
    leaks: Mutex<HashMap<usize, u32>>,
}

impl std::fmt::Debug for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repair")
            .field("range", &self.range)
            .finish()
    }
}

impl Repair {
    pub fn new(
        store: Arc<dyn Store>,
        range: Arc<RangeStore>,
        ranges: Ranges,
        kind: Kind,
        services_prefix: String,
    ) -> Self {
        Self {
            store,
            range,
            ranges,
            kind,
            services_prefix,
            leaks: Mutex::new(HashMap::new()),
        }
    }

    /// One pass; retried a few times when an allocation races it.
    pub async fn run_once(&self) -> Result<(), RangeError> {
        let leaks = self.leaks.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for _ in 0..ATTEMPTS {
            // The range first, the Services second: see the module docs.
            let (rev, stored) = match self.range.read_raw().await? {
                None => (None, None),
                Some((rev, Ok(b))) => (Some(rev), Some(b)),
                // The range was reconfigured: rebuilt from the Services, as upstream's
                // repair does (values outside the new range are reported below).
                Some((rev, Err(e @ BitmapError::RangeMismatch { .. }))) => {
                    tracing::warn!(range = self.range.key(), error = %e, "repair: replacing the stored range");
                    (Some(rev), None)
                }
                Some((_, Err(e))) => return Err(e.into()),
            };
            let held = self.held().await?;
            let p = plan(self.range.size(), stored.as_ref(), &held, &leaks);
            let unchanged = stored.as_ref() == Some(&p.bitmap);
            if unchanged || self.range.replace(rev, &p.bitmap).await? {
                self.report(&p.findings);
                *self.leaks.lock().unwrap_or_else(|e| e.into_inner()) = p.leaks;
                return Ok(());
            }
        }
        Err(RangeError::Contended("repair"))
    }

    /// What every stored Service holds in this range, read from the store itself (a
    /// watch cache could lag behind the range just read).
    async fn held(&self) -> Result<Vec<Held>, StoreError> {
        let list = self
            .store
            .list(&self.services_prefix, ListOptions::default())
            .await?;
        let mut out = Vec::new();
        for kv in list.items {
            let Ok(svc) = serde_json::from_slice::<Value>(&kv.value) else {
                tracing::warn!(key = %kv.key, "repair: skipping an unreadable Service");
                continue;
            };
            let meta = &svc["metadata"];
            let owner = format!(
                "{}/{}",
                meta["namespace"].as_str().unwrap_or_default(),
                meta["name"].as_str().unwrap_or_default()
            );
            for (offset, value) in self.kind.holds(&self.ranges, &svc) {
                out.push(Held {
                    offset,
                    value,
                    owner: owner.clone(),
                });
            }
        }
        Ok(out)
    }

    /// Logs what a pass found, in upstream's words.
    fn report(&self, findings: &[Finding]) {
        let key = self.range.key();
        for f in findings {
            match f {
                Finding::NotAllocated { value, owner } => tracing::warn!(
                    range = key,
                    "{value} for Service {owner} is not allocated; repairing"
                ),
                Finding::Duplicate { value, owner } => tracing::warn!(
                    range = key,
                    "{value} for Service {owner} was assigned to multiple services; please recreate"
                ),
                Finding::OutOfRange { value, owner } => tracing::warn!(
                    range = key,
                    "{value} for Service {owner} is not within the configured range; please recreate"
                ),
                Finding::MayHaveLeaked { offset, seen } => tracing::info!(
                    range = key,
                    "{} may have leaked (seen on {seen} of {LEAK_PASSES} passes): flagging for later clean up",
                    self.kind.label(&self.ranges, *offset)
                ),
                Finding::Leaked { offset } => tracing::warn!(
                    range = key,
                    "{} appears to have leaked: cleaning up",
                    self.kind.label(&self.ranges, *offset)
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(offset: usize, owner: &str) -> Held {
        Held {
            offset: Some(offset),
            value: offset.to_string(),
            owner: owner.into(),
        }
    }

    fn bitmap(size: usize, set: &[usize]) -> Bitmap {
        let mut b = Bitmap::new(size);
        for i in set {
            b.set(*i);
        }
        b
    }

    #[test]
    fn a_missing_range_is_built_from_the_services() {
        let p = plan(8, None, &[held(2, "a/x"), held(5, "a/y")], &HashMap::new());
        assert_eq!(p.bitmap, bitmap(8, &[2, 5]));
        assert_eq!(p.findings.len(), 2);
        assert!(p.leaks.is_empty());
    }

    #[test]
    fn a_leak_is_freed_only_on_the_third_pass_in_a_row() {
        let stored = bitmap(8, &[1, 3]);
        let services = [held(1, "a/x")];
        let mut leaks = HashMap::new();
        for pass in 1..LEAK_PASSES {
            let p = plan(8, Some(&stored), &services, &leaks);
            assert_eq!(p.bitmap, stored, "pass {pass} keeps the suspected leak");
            leaks = p.leaks;
            assert_eq!(leaks.get(&3), Some(&pass));
        }
        let p = plan(8, Some(&stored), &services, &leaks);
        assert_eq!(p.bitmap, bitmap(8, &[1]));
        assert!(p.findings.contains(&Finding::Leaked { offset: 3 }));
        assert!(p.leaks.is_empty());
    }

    #[test]
    fn a_suspected_leak_whose_service_appears_is_forgiven() {
        let stored = bitmap(8, &[3]);
        let first = plan(8, Some(&stored), &[], &HashMap::new());
        assert_eq!(first.leaks.get(&3), Some(&1));
        let second = plan(8, Some(&stored), &[held(3, "a/late")], &first.leaks);
        assert!(second.leaks.is_empty());
        assert!(second.findings.is_empty());
        // Released and leaked again later, it starts counting from the beginning.
        let third = plan(8, Some(&stored), &[], &second.leaks);
        assert_eq!(third.leaks.get(&3), Some(&1));
    }

    #[test]
    fn duplicates_and_out_of_range_values_are_reported() {
        let out = Held {
            offset: None,
            value: "192.168.0.1".into(),
            owner: "a/z".into(),
        };
        let p = plan(
            8,
            Some(&bitmap(8, &[2])),
            &[held(2, "a/x"), held(2, "a/y"), out],
            &HashMap::new(),
        );
        assert_eq!(p.bitmap, bitmap(8, &[2]));
        assert_eq!(
            p.findings,
            [
                Finding::Duplicate {
                    value: "2".into(),
                    owner: "a/y".into()
                },
                Finding::OutOfRange {
                    value: "192.168.0.1".into(),
                    owner: "a/z".into()
                },
            ]
        );
    }
}
