//! The node lifecycle decisions as pure functions over what the informers hold, the
//! controller's memory and the time: a `monitorNodeHealth` pass ([`plan`]) and a
//! `doNoExecuteTaintingPass` ([`plan_tainting`]) each return the writes, in order, for the
//! driver to carry out. Entry points: [`plan`], [`plan_tainting`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, NodeCondition, ObjectReference, Pod, PodCondition, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Resource as _, ResourceExt};

use super::health::{Grace, HealthRecord, check, ready_status};
use super::taints::{NoExecute, no_execute_action, queued_taint, with_no_execute};
use super::zones::{ZoneState, Zones, zone_key, zone_rate, zone_state};
use crate::config::ControllerManagerConfig;
use crate::runtime::events::PlannedEvent;
use crate::util::pods::{is_ready, node_name};
use crate::util::time::Timestamp;

/// The time of a pass: the wall clock for what is written, the monotonic clock for the
/// zone limiters.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// Wall-clock time (second precision, as stored).
    pub wall: Timestamp,
    /// Monotonic time.
    pub instant: Instant,
}

/// What the controller remembers between passes.
#[derive(Debug, Default)]
pub struct Memory {
    /// `nodeHealthMap`.
    pub health: HashMap<String, HealthRecord>,
    /// Each node's Ready status at the end of the last pass, to report a change once.
    pub ready: HashMap<String, Option<String>>,
    /// `zoneNoExecuteTainter`.
    pub zones: Zones,
}

/// What the informers hold at the start of a pass.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    /// Every node.
    pub nodes: &'a [Arc<Node>],
    /// `kube-node-lease` renew times by node name.
    pub leases: &'a HashMap<String, Timestamp>,
    /// Every pod (those bound to a not-Ready node are marked not Ready).
    pub pods: &'a [Arc<Pod>],
}

/// One write, in the order the driver must perform them.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Patch the node's `status.conditions` (Unknown after the grace period).
    NodeConditions {
        /// The node's name.
        node: String,
        /// The whole condition list to write.
        conditions: Vec<NodeCondition>,
    },
    /// Record an event about a node.
    NodeEvent {
        /// The node's name.
        node: String,
        /// The node as the event's involved object.
        object: ObjectReference,
        /// The event.
        event: PlannedEvent,
    },
    /// Patch `spec.taints`, conditional on the node not having changed since.
    NodeTaints {
        /// The node's name.
        node: String,
        /// The resourceVersion the taints were computed from.
        resource_version: Option<String>,
        /// The whole taint list to write.
        taints: Vec<Taint>,
    },
    /// `MarkPodsNotReady` for one pod; the event is recorded only when the patch succeeds.
    PodNotReady {
        /// The pod as an object reference (namespace, name, resourceVersion).
        pod: ObjectReference,
        /// The whole condition list to write.
        conditions: Vec<PodCondition>,
        /// The Warning to record once written.
        event: PlannedEvent,
    },
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn node_taints(node: &Node) -> usize {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map_or(0, Vec::len)
}

fn set_taints(node: &mut Node, taints: Vec<Taint>) {
    node.spec.get_or_insert_with(Default::default).taints = Some(taints);
}

/// One `monitorNodeHealth` pass: health checks, NodeNotReady, pods marked not Ready,
/// NoExecute taints queued, swapped or removed, then `handleDisruption`.
pub fn plan(
    observed: Observed<'_>,
    memory: &mut Memory,
    config: &ControllerManagerConfig,
    now: Now,
) -> Vec<Write> {
    let grace = Grace {
        monitor_ms: millis(config.node_monitor_grace_period),
        startup_ms: millis(config.node_startup_grace_period),
    };
    let mut writes = Vec::new();
    let mut zones: HashMap<String, Vec<Option<String>>> = HashMap::new();
    let mut current_nodes = Vec::with_capacity(observed.nodes.len());
    memory
        .health
        .retain(|name, _| observed.nodes.iter().any(|n| &n.name_any() == name));
    for node in observed.nodes {
        let name = node.name_any();
        let lease = observed.leases.get(&name).copied();
        let health = check(node, memory.health.get(&name), lease, now.wall, grace);
        memory.health.insert(name.clone(), health.record);
        let mut current = (**node).clone();
        if let Some(conditions) = health.conditions {
            current
                .status
                .get_or_insert_with(Default::default)
                .conditions = Some(conditions.clone());
            writes.push(Write::NodeConditions {
                node: name.clone(),
                conditions,
            });
        }
        let ready = ready_status(&current).map(str::to_string);
        let was = memory.ready.insert(name.clone(), ready.clone()).flatten();
        if ready.as_deref() != Some("True") {
            if was.as_deref() == Some("True") {
                writes.push(Write::NodeEvent {
                    node: name.clone(),
                    object: current.object_ref(&()),
                    event: PlannedEvent::normal(
                        "NodeNotReady",
                        format!("Node {name} status is now: NodeNotReady"),
                    ),
                });
            }
            writes.extend(pods_not_ready(observed.pods, &name, now.wall));
        }
        let zone = zone_key(&current);
        let key = match no_execute_action(&current) {
            NoExecute::None => None,
            NoExecute::Enqueue(_) => {
                memory.zones.enqueue(&zone, &name, now.instant);
                None
            }
            NoExecute::Swap(key) => Some(Some(key)),
            NoExecute::Remove => {
                memory.zones.dequeue(&name);
                Some(None)
            }
        };
        if let Some(key) = key {
            let taints = with_no_execute(&current, key, now.wall);
            writes.push(taints_write(&current, taints.clone()));
            set_taints(&mut current, taints);
        }
        zones.entry(zone).or_default().push(ready);
        current_nodes.push(current);
    }
    writes.extend(handle_disruption(
        &zones,
        &current_nodes,
        memory,
        config,
        now,
    ));
    writes
}

fn taints_write(node: &Node, taints: Vec<Taint>) -> Write {
    Write::NodeTaints {
        node: node.name_any(),
        resource_version: node.metadata.resource_version.clone(),
        taints,
    }
}

/// `MarkPodsNotReady`: Ready=False on every still-Ready pod bound to `node`.
fn pods_not_ready<'a>(
    pods: &'a [Arc<Pod>],
    node: &'a str,
    now: Timestamp,
) -> impl Iterator<Item = Write> + 'a {
    pods.iter()
        .filter(move |p| node_name(p) == node && is_ready(p))
        .map(move |pod| {
            let mut conditions = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.clone())
                .unwrap_or_default();
            for c in conditions.iter_mut().filter(|c| c.type_ == "Ready") {
                c.status = "False".into();
                c.last_transition_time = Some(Time(now));
            }
            Write::PodNotReady {
                pod: pod.object_ref(&()),
                conditions,
                event: PlannedEvent::warning("NodeNotReady", "Node is not ready"),
            }
        })
}

/// `handleDisruption`: per-zone rates; with every zone fully disrupted, stop tainting
/// and take the NoExecute taints off every node (the fault is probably on our side).
fn handle_disruption(
    zones: &HashMap<String, Vec<Option<String>>>,
    nodes: &[Node],
    memory: &mut Memory,
    config: &ControllerManagerConfig,
    now: Now,
) -> Vec<Write> {
    let states: HashMap<&String, ZoneState> = zones
        .iter()
        .map(|(zone, ready)| {
            let ready: Vec<Option<&str>> = ready.iter().map(Option::as_deref).collect();
            (zone, zone_state(&ready, config.unhealthy_zone_threshold))
        })
        .collect();
    let all_down = !states.is_empty() && states.values().all(|s| *s == ZoneState::FullDisruption);
    for (zone, state) in &states {
        let rate = zone_rate(
            *state,
            zones[*zone].len(),
            all_down,
            (
                config.node_eviction_rate,
                config.secondary_node_eviction_rate,
            ),
            config.large_cluster_size_threshold,
        );
        memory.zones.set_rate(zone, rate, all_down, now.instant);
    }
    if !all_down {
        return Vec::new();
    }
    nodes
        .iter()
        .filter_map(|node| {
            let untainted = with_no_execute(node, None, now.wall);
            (untainted.len() != node_taints(node)).then(|| taints_write(node, untainted))
        })
        .collect()
}

/// One `doNoExecuteTaintingPass`: the queued nodes each zone's limiter lets through get
/// their NoExecute taint (unless they are Ready again or gone).
pub fn plan_tainting(
    zones: &mut Zones,
    node: impl Fn(&str) -> Option<Arc<Node>>,
    now: Now,
) -> Vec<Write> {
    zones
        .take_due(now.instant)
        .into_iter()
        .filter_map(|name| {
            let node = node(&name)?;
            let key = queued_taint(&node)?;
            Some(taints_write(
                &node,
                with_no_execute(&node, Some(key), now.wall),
            ))
        })
        .collect()
}
