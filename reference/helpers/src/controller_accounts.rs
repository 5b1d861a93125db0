//! Which service account each controller of the controller manager acts as (upstream's
//! `ClientOrDie` names in `NewControllerDescriptors`): the controller manager requests
//! their tokens with `--use-service-account-credentials`, and the API server's bootstrap
//! policy binds each `system:controller:*` role to them. One table, so the two cannot
//! disagree.

/// `(controller name as --controllers spells it, service account in kube-system)`.
pub const CONTROLLER_ACCOUNTS: &[(&str, &str)] = &[
    ("replicaset", "replicaset-controller"),
    ("replicationcontroller", "replication-controller"),
    ("deployment", "deployment-controller"),
    ("daemonset", "daemon-set-controller"),
    ("job", "job-controller"),
    ("cronjob", "cronjob-controller"),
    ("disruption", "disruption-controller"),
    ("statefulset", "statefulset-controller"),
    ("endpoints", "endpoint-controller"),
    ("endpointslice", "endpointslice-controller"),
    ("garbagecollector", "generic-garbage-collector"),
    ("namespace", "namespace-controller"),
    ("nodelifecycle", "node-controller"),
    // Upstream starts the taint eviction controller with the node controller's client.
    ("taint-eviction-controller", "node-controller"),
    ("serviceaccount", "service-account-controller"),
    (
        "root-ca-certificate-publisher-controller",
        "root-ca-cert-publisher",
    ),
    (
        "ttl-after-finished-controller",
        "ttl-after-finished-controller",
    ),
    ("podgc", "pod-garbage-collector"),
    ("persistentvolume-binder", "persistent-volume-binder"),
    (
        "clusterrole-aggregation",
        "clusterrole-aggregation-controller",
    ),
    ("csrsigning", "certificate-controller"),
    // Upstream starts the approver with the certificate controller's client too.
    ("csrapproving", "certificate-controller"),
];

/// The service account controller `name` runs as, if it has one.
pub fn service_account(name: &str) -> Option<&'static str> {
    CONTROLLER_ACCOUNTS
        .iter()
        .find(|(c, _)| *c == name)
        .map(|(_, sa)| *sa)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controllers_find_their_upstream_accounts() {
        assert_eq!(service_account("replicaset"), Some("replicaset-controller"));
        assert_eq!(
            service_account("taint-eviction-controller"),
            Some("node-controller")
        );
        assert_eq!(service_account("no-such-controller"), None);
    }
}
