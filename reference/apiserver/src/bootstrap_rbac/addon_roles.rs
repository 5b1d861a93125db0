//! The bootstrap ClusterRoles upstream creates for add-ons and certificate signing
//! (heapster, the aggregator, kubelet API access, node bootstrap, volume provisioners,
//! the CSR signers' approvers). Nothing in refkube binds them; they exist so that a
//! cluster offers the same roles to bind as upstream's.

use serde_json::Value;

use super::{READ, cluster_role, events_rule, rule};

const CERTIFICATES: &str = "certificates.k8s.io";

/// A role allowing `approve` on one signer, as upstream's approver roles do.
fn approver(role: &str, signer: &str) -> Value {
    cluster_role(
        role,
        vec![
            rule(&["approve"])
                .groups(&[CERTIFICATES])
                .resources(&["signers"])
                .names(&[signer])
                .done(),
        ],
    )
}

fn csr_create(role: &str, subresource: &str) -> Value {
    cluster_role(
        role,
        vec![
            rule(&["create"])
                .groups(&[CERTIFICATES])
                .resources(&[subresource])
                .done(),
        ],
    )
}

pub fn cluster_roles() -> Vec<Value> {
    let prefix = "system:certificates.k8s.io:";
    vec![
        csr_create(
            &format!("{prefix}certificatesigningrequests:nodeclient"),
            "certificatesigningrequests/nodeclient",
        ),
        csr_create(
            &format!("{prefix}certificatesigningrequests:selfnodeclient"),
            "certificatesigningrequests/selfnodeclient",
        ),
        approver(
            &format!("{prefix}kube-apiserver-client-approver"),
            "kubernetes.io/kube-apiserver-client",
        ),
        approver(
            &format!("{prefix}kube-apiserver-client-kubelet-approver"),
            "kubernetes.io/kube-apiserver-client-kubelet",
        ),
        approver(
            &format!("{prefix}kubelet-serving-approver"),
            "kubernetes.io/kubelet-serving",
        ),
        approver(
            &format!("{prefix}legacy-unknown-approver"),
            "kubernetes.io/legacy-unknown",
        ),
        cluster_role(
            "system:heapster",
            vec![
                rule(READ)
                    .groups(&[""])
                    .resources(&["events", "pods", "nodes", "namespaces"])
                    .done(),
                rule(READ)
                    .groups(&["extensions"])
                    .resources(&["deployments"])
                    .done(),
            ],
        ),
        cluster_role(
            "system:kube-aggregator",
            vec![
                rule(READ)
                    .groups(&[""])
                    .resources(&["services", "endpoints"])
                    .done(),
            ],
        ),
        cluster_role(
            "system:kubelet-api-admin",
            vec![
                rule(READ).groups(&[""]).resources(&["nodes"]).done(),
                rule(&["proxy"]).groups(&[""]).resources(&["nodes"]).done(),
                rule(&["*"])
                    .groups(&[""])
                    .resources(&["nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"])
                    .done(),
            ],
        ),
        cluster_role(
            "system:node-bootstrapper",
            vec![
                rule(&["create", "get", "list", "watch"])
                    .groups(&[CERTIFICATES])
                    .resources(&["certificatesigningrequests"])
                    .done(),
            ],
        ),
        cluster_role(
            "system:persistent-volume-provisioner",
            vec![
                rule(&["get", "list", "watch", "create", "delete"])
                    .groups(&[""])
                    .resources(&["persistentvolumes"])
                    .done(),
                rule(&["get", "list", "watch", "update"])
                    .groups(&[""])
                    .resources(&["persistentvolumeclaims"])
                    .done(),
                rule(READ)
                    .groups(&["storage.k8s.io"])
                    .resources(&["storageclasses"])
                    .done(),
                rule(&["watch"]).groups(&[""]).resources(&["events"]).done(),
                events_rule(),
            ],
        ),
    ]
}
