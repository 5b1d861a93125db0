//! The registry table of controllers: name (as in `--controllers`) and start function.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use tokio::task::JoinHandle;

use crate::runtime::context::Ctx;
use crate::runtime::queue::WorkQueue;

/// Starts a controller's watches and workers on the shared context and its own queue.
pub type StartFn = fn(&Ctx, Arc<WorkQueue>) -> Vec<JoinHandle<()>>;

/// One controller in the manager.
#[derive(Clone, Copy, Debug)]
pub struct ControllerEntry {
    /// Name used by `--controllers` (upstream's short names).
    pub name: &'static str,
    /// Starts it.
    pub start: StartFn,
}

/// Every controller the manager can run.
pub const CONTROLLERS: &[ControllerEntry] = &[
    ControllerEntry {
        name: "replicaset",
        start: crate::replicaset::driver::start::<ReplicaSet>,
    },
    ControllerEntry {
        name: "replicationcontroller",
        start: crate::replication::start,
    },
    ControllerEntry {
        name: "deployment",
        start: crate::deployment::driver::start,
    },
    ControllerEntry {
        name: "daemonset",
        start: crate::daemonset::driver::start,
    },
    ControllerEntry {
        name: "job",
        start: crate::job::driver::start,
    },
    ControllerEntry {
        name: "cronjob",
        start: crate::cronjob::driver::start,
    },
    ControllerEntry {
        name: "disruption",
        start: crate::disruption::driver::start,
    },
    ControllerEntry {
        name: "statefulset",
        start: crate::statefulset::driver::start,
    },
    ControllerEntry {
        name: "endpoints",
        start: crate::endpoints::driver::start,
    },
    ControllerEntry {
        name: "endpointslice",
        start: crate::endpointslice::driver::start,
    },
    ControllerEntry {
        name: "garbagecollector",
        start: crate::garbagecollector::driver::start,
    },
    ControllerEntry {
        name: "namespace",
        start: crate::namespace::driver::start,
    },
    ControllerEntry {
        name: "nodelifecycle",
        start: crate::nodelifecycle::driver::start,
    },
    ControllerEntry {
        name: "taint-eviction-controller",
        start: crate::tainteviction::driver::start,
    },
    ControllerEntry {
        name: "serviceaccount",
        start: crate::serviceaccount::start,
    },
    ControllerEntry {
        name: "root-ca-certificate-publisher-controller",
        start: crate::rootcacertpublisher::start,
    },
    ControllerEntry {
        name: "ttl-after-finished-controller",
        start: crate::ttlafterfinished::start,
    },
    ControllerEntry {
        name: "csrsigning",
        start: crate::csrsigning::start,
    },
    ControllerEntry {
        name: "csrapproving",
        start: crate::csrapproving::start,
    },
    ControllerEntry {
        name: "podgc",
        start: crate::podgc::driver::start,
    },
    ControllerEntry {
        name: "persistentvolume-binder",
        start: crate::volume::driver::start,
    },
    ControllerEntry {
        name: "clusterrole-aggregation",
        start: crate::clusterroleaggregation::start,
    },
];

/// Looks a controller up by name.
pub fn find(name: &str) -> Option<&'static ControllerEntry> {
    CONTROLLERS.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_names_are_unique() {
        let mut names: Vec<_> = CONTROLLERS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CONTROLLERS.len());
        assert!(find("replicaset").is_some());
    }

    #[test]
    fn every_controller_the_chapter_names_is_registered() {
        for name in [
            "replicaset",
            "replicationcontroller",
            "deployment",
            "daemonset",
            "job",
            "statefulset",
            "endpoints",
            "endpointslice",
            "garbagecollector",
            "namespace",
            "nodelifecycle",
            "taint-eviction-controller",
            "persistentvolume-binder",
            "podgc",
            "serviceaccount",
            "ttl-after-finished-controller",
            "root-ca-certificate-publisher-controller",
        ] {
            assert!(find(name).is_some(), "{name} is not in the inventory");
        }
    }
}
