//! The DaemonSet decision (`daemon_controller.go` manage / rollingUpdate / status,
//! `util/daemonset_util.go`): which nodes need a daemon pod, which pods go, and the status.
//! Entry points: [`should_run`], [`plan`], [`pod_for_node`].

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use refkube_helpers::nodeaffinity::RequiredNodeAffinity;
use refkube_helpers::taints::{find_untolerated, node_taints};

use crate::deployment::util::scaled_value;
use crate::util::owner::Owner;
use crate::util::pods::{is_available, is_ready, phase};
use crate::util::time::Timestamp;

/// Label carrying the template revision of a daemon pod.
pub const REVISION_HASH: &str = "controller-revision-hash";
/// Deprecated label carrying the template generation.
pub const TEMPLATE_GENERATION: &str = "pod-template-generation";

/// `AddOrUpdateDaemonPodTolerations`: daemons ride out node trouble.
pub fn with_default_tolerations(spec: &PodSpec) -> Vec<Toleration> {
    let mut tolerations = spec.tolerations.clone().unwrap_or_default();
    let mut defaults = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        defaults.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    for (key, effect) in defaults {
        let t = Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some(effect.into()),
            ..Default::default()
        };
        if !tolerations
            .iter()
            .any(|x| x.key == t.key && x.effect == t.effect)
        {
            tolerations.push(t);
        }
    }
    tolerations
}

/// `NodeShouldRunDaemonPod`: (should run, should keep running if already there).
pub fn should_run(ds: &DaemonSet, node: &Node) -> (bool, bool) {
    let spec = ds
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.clone())
        .unwrap_or_default();
    if spec
        .node_name
        .as_deref()
        .is_some_and(|n| !n.is_empty() && Some(n) != node.metadata.name.as_deref())
    {
        return (false, false);
    }
    let pinned = Pod {
        spec: Some(spec.clone()),
        ..Pod::default()
    };
    if !RequiredNodeAffinity::from_pod(&pinned).matches(node) {
        return (false, false);
    }
    let tolerations = with_default_tolerations(&spec);
    let untolerated = |effects: &[&str]| {
        find_untolerated(node_taints(node), &tolerations, |t| {
            effects.contains(&t.effect.as_str())
        })
        .is_some()
    };
    if untolerated(&["NoSchedule", "NoExecute"]) {
        return (false, !untolerated(&["NoExecute"]));
    }
    (true, true)
}

/// The daemon pod for `node`: the template pinned to the node by required node affinity
/// (`ReplaceDaemonSetPodNodeNameNodeAffinity`), with the default tolerations.
pub fn pod_for_node(ds: &DaemonSet, node: &str, hash: &str) -> Pod {
    let template = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    spec.tolerations = Some(with_default_tolerations(&spec));
    let pin = NodeSelector {
        node_selector_terms: vec![NodeSelectorTerm {
            match_fields: Some(vec![NodeSelectorRequirement {
                key: "metadata.name".into(),
                operator: "In".into(),
                values: Some(vec![node.into()]),
            }]),
            match_expressions: None,
        }],
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default)
        .required_during_scheduling_ignored_during_execution = Some(pin);
    let mut labels = meta.labels.unwrap_or_default();
    labels.insert(REVISION_HASH.into(), hash.into());
    labels.insert(
        TEMPLATE_GENERATION.into(),
        ds.metadata.generation.unwrap_or(0).to_string(),
    );
    let owner = Owner::new(
        "apps/v1",
        "DaemonSet",
        &ds.name_any(),
        ds.metadata.uid.as_deref().unwrap_or_default(),
    );
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", ds.name_any())),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![owner.controller_ref()]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// `GetTargetNodeName`: the pod's node, or before scheduling the node its required
/// affinity pins it to.
pub fn target_node(p: &Pod) -> String {
    let bound = crate::util::pods::node_name(p);
    if !bound.is_empty() {
        return bound.to_string();
    }
    p.spec
        .as_ref()
        .and_then(|s| {
            s.affinity
                .as_ref()?
                .node_affinity
                .as_ref()?
                .required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .and_then(|r| {
            r.node_selector_terms
                .iter()
                .flat_map(|t| t.match_fields.iter().flatten())
                .find(|f| f.key == "metadata.name" && f.operator == "In")
        })
        .and_then(|f| f.values.as_ref()?.first().cloned())
        .unwrap_or_default()
}

/// Writes for one sync.
#[derive(Debug, Default)]
pub struct DsPlan {
    /// Nodes that need a daemon pod.
    pub create_on: Vec<String>,
    /// Pods to delete.
    pub delete: Vec<Arc<Pod>>,
    /// The status.
    pub status: DaemonSetStatus,
}

fn revision(p: &Pod) -> Option<&str> {
    p.metadata
        .labels
        .as_ref()?
        .get(REVISION_HASH)
        .map(String::as_str)
}

/// Plans a sync: `pods` are the DaemonSet's active pods (not being deleted).
pub fn plan(
    ds: &DaemonSet,
    nodes: &[Arc<Node>],
    pods: &[Arc<Pod>],
    hash: &str,
    now: Timestamp,
) -> DsPlan {
    let spec = ds.spec.clone().unwrap_or_default();
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let mut by_node: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
    for p in pods {
        by_node.entry(target_node(p)).or_default().push(p.clone());
    }
    let mut out = DsPlan::default();
    let mut s = DaemonSetStatus {
        observed_generation: ds.metadata.generation,
        ..Default::default()
    };
    let mut running_new: Vec<Arc<Pod>> = Vec::new();
    let mut unavailable = 0;
    let mut old_available: Vec<Arc<Pod>> = Vec::new();
    let mut old_unavailable: Vec<Arc<Pod>> = Vec::new();
    for node in nodes {
        let name = node.name_any();
        let (run, keep) = should_run(ds, node);
        let mut here = by_node.remove(&name).unwrap_or_default();
        here.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        });
        if run {
            s.desired_number_scheduled += 1;
            let (failed, alive): (Vec<_>, Vec<_>) =
                here.into_iter().partition(|p| phase(p) == "Failed");
            // A failed daemon pod is replaced (delete now, recreate next sync).
            out.delete.extend(failed.iter().cloned());
            match alive.split_first() {
                None => {
                    if failed.is_empty() {
                        out.create_on.push(name.clone());
                    }
                    unavailable += 1;
                }
                Some((first, extra)) => {
                    s.current_number_scheduled += 1;
                    out.delete.extend(extra.iter().cloned());
                    if is_ready(first) {
                        s.number_ready += 1;
                    }
                    let available = is_available(first, min_ready, now);
                    if available {
                        s.number_available = Some(s.number_available.unwrap_or(0) + 1);
                    } else {
                        unavailable += 1;
                    }
                    if revision(first) == Some(hash) {
                        s.updated_number_scheduled =
                            Some(s.updated_number_scheduled.unwrap_or(0) + 1);
                        running_new.push(first.clone());
                    } else if available {
                        old_available.push(first.clone());
                    } else {
                        old_unavailable.push(first.clone());
                    }
                }
            }
        } else {
            if !here.is_empty() {
                s.number_misscheduled += 1;
            }
            if !keep {
                out.delete.extend(here);
            }
        }
    }
    // Pods on nodes that no longer exist.
    out.delete.extend(by_node.into_values().flatten());
    let rolling = spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.type_.as_deref())
        .unwrap_or("RollingUpdate")
        == "RollingUpdate";
    if rolling {
        let max_unavailable = spec
            .update_strategy
            .as_ref()
            .and_then(|u| u.rolling_update.as_ref())
            .and_then(|r| r.max_unavailable.as_ref())
            .and_then(|v| scaled_value(v, s.desired_number_scheduled, true).ok())
            .unwrap_or(1);
        // Old pods that are not available anyway are replaced first: it costs nothing.
        out.delete.extend(old_unavailable);
        let budget = usize::try_from(max_unavailable - unavailable).unwrap_or(0);
        old_available.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        });
        out.delete.extend(old_available.into_iter().take(budget));
    }
    // Every count is written, zeros included, so a merge patch never leaves a stale value.
    s.number_available = Some(s.number_available.unwrap_or(0));
    s.updated_number_scheduled = Some(s.updated_number_scheduled.unwrap_or(0));
    s.number_unavailable =
        Some((s.desired_number_scheduled - s.number_available.unwrap_or(0)).max(0));
    s.collision_count = ds.status.as_ref().and_then(|st| st.collision_count);
    out.status = s;
    out
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
