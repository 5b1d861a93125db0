//! Pod garbage collection decisions (`pkg/controller/podgc/gc_controller.go`): surplus
//! terminated pods, pods bound to nodes that no longer exist, and unscheduled pods being
//! deleted. Entry point: [`plan`].

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use crate::util::pods::{is_terminal, node_name};

/// DisruptionTarget reason for pods of vanished nodes.
pub const DELETION_BY_POD_GC: &str = "DeletionByPodGC";
/// Its message.
pub const NODE_GONE_MESSAGE: &str = "PodGC: node no longer exists";

/// What to force-delete this pass.
#[derive(Debug, Default, PartialEq)]
pub struct GcPlan {
    /// Oldest terminated pods beyond the threshold.
    pub terminated: Vec<Arc<Pod>>,
    /// Pods bound to nodes missing for longer than the quarantine.
    pub orphaned: Vec<Arc<Pod>>,
    /// Pods being deleted that were never scheduled.
    pub unscheduled_terminating: Vec<Arc<Pod>>,
}

/// Plans a pass. `gone_nodes` are node names absent for at least the quarantine period;
/// `threshold` is `--terminated-pod-gc-threshold` (0 disables that part).
pub fn plan(pods: &[Arc<Pod>], gone_nodes: &HashSet<String>, threshold: usize) -> GcPlan {
    let mut out = GcPlan::default();
    let mut terminated: Vec<Arc<Pod>> = pods.iter().filter(|p| is_terminal(p)).cloned().collect();
    if threshold > 0 && terminated.len() > threshold {
        terminated.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        });
        let surplus = terminated.len() - threshold;
        out.terminated = terminated.into_iter().take(surplus).collect();
    }
    for p in pods {
        let node = node_name(p);
        if !node.is_empty() && gone_nodes.contains(node) {
            out.orphaned.push(p.clone());
        } else if node.is_empty() && p.metadata.deletion_timestamp.is_some() {
            out.unscheduled_terminating.push(p.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::pods::fixtures::{on, phase, pod};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use crate::util::time::from_unix;

    fn created(mut p: Pod, t: i64) -> Pod {
        p.metadata.creation_timestamp = Some(Time(from_unix(t)));
        p
    }

    #[test]
    fn the_oldest_terminated_pods_beyond_the_threshold_go() {
        let pods: Vec<Arc<Pod>> = (0..4)
            .map(|i| Arc::new(created(phase(pod(&format!("p{i}")), "Succeeded"), 10 - i)))
            .collect();
        let p = plan(&pods, &HashSet::new(), 2);
        let names: Vec<_> = p
            .terminated
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, vec!["p3", "p2"]);
        assert!(plan(&pods, &HashSet::new(), 0).terminated.is_empty());
    }

    #[test]
    fn pods_of_vanished_nodes_and_unscheduled_terminating_pods_go() {
        let mut deleting = pod("d");
        deleting.metadata.deletion_timestamp = Some(Time(from_unix(1)));
        let pods = vec![
            Arc::new(on(pod("a"), "gone")),
            Arc::new(on(pod("b"), "here")),
            Arc::new(deleting),
        ];
        let p = plan(&pods, &HashSet::from(["gone".to_string()]), 0);
        assert_eq!(p.orphaned.len(), 1);
        assert_eq!(p.orphaned[0].metadata.name.as_deref(), Some("a"));
        assert_eq!(
            p.unscheduled_terminating[0].metadata.name.as_deref(),
            Some("d")
        );
    }
}
