//! Tables for [`super::plan`] in the shape of upstream's `node_lifecycle_controller_test.go`
//! (`TestMonitorNodeHealthUpdateStatus`, `…MarkPodsNotReady`, `TestApplyNoExecuteTaints`,
//! `TestSwapUnreachableNotReadyTaints`, `TestMonitorNodeHealthEvictPodsWithDisruption`):
//! nodes as the informer holds them, time passing, and the writes expected. NoExecute
//! queues and zone disruption are in `taints`.

mod taints;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{
    Node, NodeCondition, NodeSpec, NodeStatus, Pod, PodCondition, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::plan::{Memory, Now, Observed, Write, plan};
use super::taints::{NOT_READY, UNREACHABLE};
use crate::config::ControllerManagerConfig;
use crate::util::pods::fixtures::taints as taints_of;
use crate::util::time::{Timestamp, from_unix};

/// Upstream's fixtures start at 2015-01-01; any fixed point does.
const T0: i64 = 1_420_070_400;

fn at(secs: i64, base: Instant) -> Now {
    Now {
        wall: from_unix(T0 + secs),
        instant: base + Duration::from_secs(u64::try_from(secs).unwrap_or(0)),
    }
}

/// A node created at T0 with, if given, a Ready condition of `ready` last heard at
/// T0 + `heartbeat`, in `zone`, carrying `taints` (key, effect).
fn node(name: &str, zone: &str, ready: Option<(&str, i64)>, taints: &[(&str, &str)]) -> Arc<Node> {
    Arc::new(Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            resource_version: Some("7".into()),
            creation_timestamp: Some(Time(from_unix(T0))),
            labels: Some(BTreeMap::from([(
                "topology.kubernetes.io/zone".to_string(),
                zone.to_string(),
            )])),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            taints: Some(taints_of(taints)),
            ..Default::default()
        }),
        status: Some(NodeStatus {
            conditions: ready.map(|(status, heartbeat)| {
                vec![NodeCondition {
                    type_: "Ready".into(),
                    status: status.into(),
                    last_heartbeat_time: Some(Time(from_unix(T0 + heartbeat))),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        }),
    })
}

fn pod(name: &str, node: &str, ready: &str) -> Arc<Pod> {
    Arc::new(Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some(node.into()),
            ..Default::default()
        }),
        status: Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: ready.into(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    })
}

fn config() -> ControllerManagerConfig {
    ControllerManagerConfig::default()
}

/// Runs a pass over `nodes` at T0 and one at T0 + `later` (seeing `leases`), returning
/// the second's writes. A node "ok" in another zone renews its lease just then, so the
/// cluster is never "every zone down".
fn two_passes(
    nodes: &[Arc<Node>],
    leases: &HashMap<String, Timestamp>,
    pods: &[Arc<Pod>],
    later: i64,
) -> Vec<Write> {
    let base = Instant::now();
    let mut memory = Memory::default();
    let mut nodes = nodes.to_vec();
    nodes.push(node("ok", "other", Some(("True", 0)), &[]));
    let mut leases = leases.clone();
    leases.insert("ok".into(), from_unix(T0 + later));
    let first = Observed {
        nodes: &nodes,
        leases: &HashMap::new(),
        pods,
    };
    plan(first, &mut memory, &config(), at(0, base));
    let second = Observed {
        leases: &leases,
        ..first
    };
    plan(second, &mut memory, &config(), at(later, base))
}

/// A short, comparable description of a write.
fn describe(w: &Write) -> String {
    match w {
        Write::NodeConditions { node, conditions } => {
            let ready = conditions.iter().find(|c| c.type_ == "Ready");
            format!(
                "conditions {node} Ready={} {} {:?}",
                ready.map_or("-", |c| c.status.as_str()),
                ready.and_then(|c| c.reason.as_deref()).unwrap_or("-"),
                ready.and_then(|c| c.message.as_deref()).unwrap_or("-"),
            )
        }
        Write::NodeEvent { node, event, .. } => {
            format!("event {node} {} {:?}", event.reason, event.message)
        }
        Write::NodeTaints { node, taints, .. } => {
            let mut keys: Vec<String> = taints
                .iter()
                .map(|t| format!("{}:{}", t.key, t.effect))
                .collect();
            keys.sort();
            format!("taints {node} [{}]", keys.join(" "))
        }
        Write::PodNotReady {
            pod,
            conditions,
            event,
        } => format!(
            "pod {} Ready={} {} {:?}",
            pod.name.as_deref().unwrap_or("-"),
            conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .map_or("-", |c| c.status.as_str()),
            event.reason,
            event.message
        ),
    }
}

fn described(writes: &[Write]) -> Vec<String> {
    writes.iter().map(describe).collect()
}

const UNKNOWN_READY: &str =
    "conditions n1 Ready=Unknown NodeStatusUnknown \"Kubelet stopped posting node status.\"";

#[test]
fn monitor_node_health_update_status() {
    struct Case {
        name: &'static str,
        node: Arc<Node>,
        lease_renewed: Option<i64>,
        time_to_pass: i64,
        expected: Vec<&'static str>,
    }
    let cases = [
        Case {
            name: "a node heard from within the grace period is left alone",
            node: node("n1", "z", Some(("True", 0)), &[]),
            lease_renewed: None,
            time_to_pass: 50,
            expected: vec![],
        },
        Case {
            name: "a node silent past the 50s grace period goes Unknown",
            node: node("n1", "z", Some(("True", 0)), &[]),
            lease_renewed: None,
            time_to_pass: 51,
            expected: vec![
                UNKNOWN_READY,
                "event n1 NodeNotReady \"Node n1 status is now: NodeNotReady\"",
            ],
        },
        Case {
            name: "a renewed lease is a heartbeat",
            node: node("n1", "z", Some(("True", 0)), &[]),
            lease_renewed: Some(40),
            time_to_pass: 60,
            expected: vec![],
        },
        Case {
            name: "a node that never posted status gets the startup grace from its creation",
            node: node("n1", "z", None, &[]),
            lease_renewed: None,
            time_to_pass: 61,
            expected: vec![
                "conditions n1 Ready=Unknown NodeStatusNeverUpdated \"Kubelet never posted node status.\"",
            ],
        },
        Case {
            // Only the pressure conditions it never posted change: no event, no taint.
            name: "an Unknown node already tainted unreachable is not tainted or reported again",
            node: node(
                "n1",
                "z",
                Some(("Unknown", 0)),
                &[(UNREACHABLE, "NoExecute")],
            ),
            lease_renewed: None,
            time_to_pass: 120,
            expected: vec!["conditions n1 Ready=Unknown - \"-\""],
        },
    ];
    for case in cases {
        let leases: HashMap<String, Timestamp> = case
            .lease_renewed
            .map(|s| ("n1".to_string(), from_unix(T0 + s)))
            .into_iter()
            .collect();
        let writes = two_passes(&[case.node], &leases, &[], case.time_to_pass);
        assert_eq!(described(&writes), case.expected, "{}", case.name);
    }
}

#[test]
fn monitor_node_health_marks_pods_not_ready() {
    let nodes = [
        node("n1", "z", Some(("True", 0)), &[]),
        node("n2", "z", Some(("True", 0)), &[]),
    ];
    let pods = [
        pod("on-n1", "n1", "True"),
        pod("already-not-ready", "n1", "False"),
        pod("on-n2", "n2", "True"),
    ];
    let leases = HashMap::from([("n2".to_string(), from_unix(T0 + 51))]);
    let writes = two_passes(&nodes, &leases, &pods, 51);
    assert_eq!(
        described(&writes),
        vec![
            UNKNOWN_READY,
            "event n1 NodeNotReady \"Node n1 status is now: NodeNotReady\"",
            "pod on-n1 Ready=False NodeNotReady \"Node is not ready\"",
        ]
    );
}

#[test]
fn a_taint_after_a_condition_write_is_computed_from_the_new_conditions() {
    // Silent past the grace period while tainted not-ready: marked Unknown, then swapped.
    let nodes = [node(
        "n1",
        "z",
        Some(("False", 0)),
        &[(NOT_READY, "NoExecute")],
    )];
    let writes = two_passes(&nodes, &HashMap::new(), &[], 51);
    assert_eq!(
        described(&writes),
        vec![
            UNKNOWN_READY,
            "taints n1 [node.kubernetes.io/unreachable:NoExecute]"
        ]
    );
}
