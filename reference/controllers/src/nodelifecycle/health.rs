//! Node health (`tryUpdateNodeHealth`): when the kubelet stops heartbeating (Ready
//! condition or Lease), mark its conditions Unknown. Entry point: [`check`].

use k8s_openapi::api::core::v1::{Node, NodeCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::util::time::{Timestamp, plus_millis};

/// Conditions the controller turns Unknown (NetworkUnavailable is left alone).
pub const MONITORED: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];
/// Reason for a condition the kubelet stopped posting.
pub const NODE_STATUS_UNKNOWN: &str = "NodeStatusUnknown";
/// Message for it.
pub const STOPPED_POSTING: &str = "Kubelet stopped posting node status.";
/// Reason for a condition the kubelet never posted.
pub const NODE_STATUS_NEVER_UPDATED: &str = "NodeStatusNeverUpdated";
/// Message for it.
pub const NEVER_POSTED: &str = "Kubelet never posted node status.";

/// What the controller remembers of a node between passes (`nodeHealthData`).
#[derive(Clone, Debug, PartialEq)]
pub struct HealthRecord {
    /// When the controller last saw a sign of life.
    pub probe: Timestamp,
    /// The Ready condition's lastHeartbeatTime seen then.
    pub ready_heartbeat: Option<Timestamp>,
    /// The Lease renewTime seen then.
    pub lease_renew: Option<Timestamp>,
}

/// Grace periods (milliseconds, so tests can use short ones).
#[derive(Clone, Copy, Debug)]
pub struct Grace {
    /// `--node-monitor-grace-period`.
    pub monitor_ms: i64,
    /// `--node-startup-grace-period`.
    pub startup_ms: i64,
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct Health {
    /// The record to keep.
    pub record: HealthRecord,
    /// New conditions to write, if the node must be marked Unknown.
    pub conditions: Option<Vec<NodeCondition>>,
}

fn condition<'a>(node: &'a Node, t: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t)
}

/// The node's Ready status (`None` when it never posted one).
pub fn ready_status(node: &Node) -> Option<&str> {
    condition(node, "Ready").map(|c| c.status.as_str())
}

/// Checks one node at `now`.
pub fn check(
    node: &Node,
    saved: Option<&HealthRecord>,
    lease_renew: Option<Timestamp>,
    now: Timestamp,
    grace: Grace,
) -> Health {
    let ready = condition(node, "Ready");
    let heartbeat = ready
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0);
    let created = node
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now, |t| t.0);
    let grace_ms = if ready.is_none() {
        grace.startup_ms
    } else {
        grace.monitor_ms
    };
    let mut record = match saved {
        // First sight: a node that never posted status counts from its creation.
        None => HealthRecord {
            probe: if ready.is_none() { created } else { now },
            ready_heartbeat: heartbeat,
            lease_renew: None,
        },
        Some(s) => s.clone(),
    };
    if saved.is_some() && heartbeat != record.ready_heartbeat {
        record.probe = now;
        record.ready_heartbeat = heartbeat;
    }
    if let Some(renew) = lease_renew
        && record.lease_renew.is_none_or(|old| renew > old)
    {
        record.lease_renew = Some(renew);
        record.probe = now;
    }
    if now <= plus_millis(record.probe, grace_ms) {
        return Health {
            record,
            conditions: None,
        };
    }
    let mut conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut changed = false;
    for t in MONITORED {
        match conditions.iter_mut().find(|c| c.type_ == t) {
            None => {
                conditions.push(NodeCondition {
                    type_: t.into(),
                    status: "Unknown".into(),
                    reason: Some(NODE_STATUS_NEVER_UPDATED.into()),
                    message: Some(NEVER_POSTED.into()),
                    last_heartbeat_time: Some(Time(created)),
                    last_transition_time: Some(Time(now)),
                });
                changed = true;
            }
            Some(c) if c.status != "Unknown" => {
                c.status = "Unknown".into();
                c.reason = Some(NODE_STATUS_UNKNOWN.into());
                c.message = Some(STOPPED_POSTING.into());
                c.last_transition_time = Some(Time(now));
                changed = true;
            }
            Some(_) => {}
        }
    }
    Health {
        record,
        conditions: changed.then_some(conditions),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::time::from_unix;
    use k8s_openapi::api::core::v1::NodeStatus;

    const GRACE: Grace = Grace {
        monitor_ms: 50_000,
        startup_ms: 60_000,
    };

    fn node(ready: Option<(&str, i64)>) -> Node {
        let mut n = Node::default();
        n.metadata.name = Some("n1".into());
        n.metadata.creation_timestamp = Some(Time(from_unix(0)));
        n.status = Some(NodeStatus {
            conditions: ready.map(|(s, hb)| {
                vec![NodeCondition {
                    type_: "Ready".into(),
                    status: s.into(),
                    last_heartbeat_time: Some(Time(from_unix(hb))),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        });
        n
    }

    #[test]
    fn a_node_that_stops_heartbeating_goes_unknown_after_the_grace_period() {
        let n = node(Some(("True", 10)));
        let first = check(&n, None, None, from_unix(10), GRACE);
        assert!(first.conditions.is_none());
        assert!(
            check(&n, Some(&first.record), None, from_unix(60), GRACE)
                .conditions
                .is_none()
        );
        let late = check(&n, Some(&first.record), None, from_unix(61), GRACE);
        let conds = late.conditions.unwrap();
        let ready = conds.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(
            (
                ready.status.as_str(),
                ready.reason.as_deref(),
                ready.message.as_deref()
            ),
            (
                "Unknown",
                Some("NodeStatusUnknown"),
                Some("Kubelet stopped posting node status.")
            )
        );
        let mem = conds.iter().find(|c| c.type_ == "MemoryPressure").unwrap();
        assert_eq!(mem.reason.as_deref(), Some("NodeStatusNeverUpdated"));
        assert_eq!(
            mem.message.as_deref(),
            Some("Kubelet never posted node status.")
        );
        assert!(!conds.iter().any(|c| c.type_ == "NetworkUnavailable"));
    }

    #[test]
    fn a_lease_renewal_counts_as_a_heartbeat() {
        let n = node(Some(("True", 10)));
        let first = check(&n, None, Some(from_unix(10)), from_unix(10), GRACE);
        let renewed = check(
            &n,
            Some(&first.record),
            Some(from_unix(55)),
            from_unix(55),
            GRACE,
        );
        assert!(
            check(
                &n,
                Some(&renewed.record),
                Some(from_unix(55)),
                from_unix(100),
                GRACE
            )
            .conditions
            .is_none()
        );
        assert!(
            check(
                &n,
                Some(&renewed.record),
                Some(from_unix(55)),
                from_unix(106),
                GRACE
            )
            .conditions
            .is_some()
        );
    }

    #[test]
    fn a_node_that_never_posted_status_gets_the_startup_grace_from_creation() {
        let n = node(None);
        let first = check(&n, None, None, from_unix(30), GRACE);
        assert!(first.conditions.is_none());
        let late = check(&n, Some(&first.record), None, from_unix(61), GRACE)
            .conditions
            .unwrap();
        let ready = late.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready.reason.as_deref(), Some("NodeStatusNeverUpdated"));
    }
}
