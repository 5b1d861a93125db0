//! The default profile: one table of plugins in upstream's MultiPoint order with their
//! score weights (`pkg/scheduler/apis/config/v1/default_plugins.go`, k8s-behaviour.md §2).
//! Entry point: [`default_framework`].
//!
//! Plugins of the upstream default profile that the reference does not carry:
//! SchedulingGates and PrioritySort live in the queue (`queue.rs`); the volume-limit,
//! VolumeBinding and VolumeZone plugins need CSI/PV topology the reference does not model;
//! DefaultPreemption is not implemented (see `fit_error.rs` for the message it would add);
//! DefaultBinder is the driver's `pods/binding` POST.

use std::sync::Arc;

use crate::framework::{Framework, Plugin, WeightedPlugin};
use crate::plugins::{
    balanced_allocation::BalancedAllocation, image_locality::ImageLocality,
    inter_pod_affinity::InterPodAffinity, node_affinity::NodeAffinity, node_name::NodeName,
    node_ports::NodePorts, node_resources_fit::NodeResourcesFit,
    node_unschedulable::NodeUnschedulable, pod_topology_spread::PodTopologySpread,
    taint_toleration::TaintToleration, volume_restrictions::VolumeRestrictions,
};

/// (plugin, weight) in upstream order. Weight matters only for scoring plugins.
pub fn default_plugins() -> Vec<(Arc<dyn Plugin>, i64)> {
    vec![
        (Arc::new(NodeUnschedulable), 0),
        (Arc::new(NodeName), 0),
        (Arc::new(TaintToleration), 3),
        (Arc::new(NodeAffinity), 2),
        (Arc::new(NodePorts), 0),
        (Arc::new(NodeResourcesFit::default()), 1),
        (Arc::new(VolumeRestrictions), 0),
        (Arc::new(PodTopologySpread::default()), 2),
        (Arc::new(InterPodAffinity::default()), 2),
        (Arc::new(BalancedAllocation::default()), 1),
        (Arc::new(ImageLocality), 1),
    ]
}

/// The default profile as a runnable framework.
pub fn default_framework() -> Framework {
    framework_without(&[])
}

/// The default framework less the plugins named in `disabled`.
pub fn framework_without(disabled: &[String]) -> Framework {
    Framework::new(
        default_plugins()
            .into_iter()
            .filter(|(plugin, _)| !disabled.iter().any(|d| d == plugin.name()))
            .map(|(plugin, weight)| WeightedPlugin { plugin, weight })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_plugin_is_left_out_of_the_framework() {
        let fw = framework_without(&["TaintToleration".to_string()]);
        assert!(
            fw.plugins()
                .iter()
                .all(|p| p.plugin.name() != "TaintToleration")
        );
        assert_eq!(fw.plugins().len() + 1, default_framework().plugins().len());
    }

    #[test]
    fn the_default_weights_are_upstreams() {
        let fw = default_framework();
        let weights: Vec<(&str, i64)> = fw
            .plugins()
            .iter()
            .filter(|p| p.plugin.as_score().is_some())
            .map(|p| (p.plugin.name(), p.weight))
            .collect();
        assert_eq!(
            weights,
            vec![
                ("TaintToleration", 3),
                ("NodeAffinity", 2),
                ("NodeResourcesFit", 1),
                ("PodTopologySpread", 2),
                ("InterPodAffinity", 2),
                ("NodeResourcesBalancedAllocation", 1),
                ("ImageLocality", 1),
            ]
        );
    }

    #[test]
    fn every_filter_of_the_default_profile_is_registered_once() {
        let fw = default_framework();
        let mut filters: Vec<&str> = fw
            .plugins()
            .iter()
            .filter(|p| p.plugin.as_filter().is_some())
            .map(|p| p.plugin.name())
            .collect();
        let n = filters.len();
        filters.dedup();
        assert_eq!(filters.len(), n);
        assert_eq!(n, 9);
    }
}
