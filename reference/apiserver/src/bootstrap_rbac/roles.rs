//! The bootstrap roles of people and components (upstream's `ClusterRoles()` and
//! `ClusterRoleBindings()` in `policy.go`): cluster-admin, the admin/edit/view
//! aggregation family, discovery, and the scheduler, controller manager, kubelet and
//! proxy identities.

use serde_json::Value;

use super::{
    READ, READ_UPDATE, READ_WRITE, Subject, aggregated_role, binding, cluster_role, events_rule,
    labelled_role, rule,
};

const CORE: &str = "";
const APPS: &str = "apps";
const AUTHN: &str = "authentication.k8s.io";
const AUTHZ: &str = "authorization.k8s.io";
const CERTIFICATES: &str = "certificates.k8s.io";
const COORDINATION: &str = "coordination.k8s.io";
const DISCOVERY: &str = "discovery.k8s.io";
const EXTENSIONS: &str = "extensions";
const NODE: &str = "node.k8s.io";
const POLICY: &str = "policy";
const RBAC: &str = "rbac.authorization.k8s.io";
const STORAGE: &str = "storage.k8s.io";

const TO_ADMIN: &str = "rbac.authorization.k8s.io/aggregate-to-admin";
const TO_EDIT: &str = "rbac.authorization.k8s.io/aggregate-to-edit";
const TO_VIEW: &str = "rbac.authorization.k8s.io/aggregate-to-view";

/// What a kubelet may do before the Node authorizer narrows it to its own objects.
pub fn node_rules() -> Vec<Value> {
    vec![
        rule(&["create"])
            .groups(&[AUTHN])
            .resources(&["tokenreviews"])
            .done(),
        rule(&["create"])
            .groups(&[AUTHZ])
            .resources(&["subjectaccessreviews", "localsubjectaccessreviews"])
            .done(),
        rule(READ).groups(&[CORE]).resources(&["services"]).done(),
        rule(&["create", "get", "list", "watch"])
            .groups(&[CORE])
            .resources(&["nodes"])
            .done(),
        rule(&["update", "patch"])
            .groups(&[CORE])
            .resources(&["nodes/status"])
            .done(),
        rule(&["update", "patch"])
            .groups(&[CORE])
            .resources(&["nodes"])
            .done(),
        // Kubelets write events through the core API only.
        rule(&["create", "update", "patch"])
            .groups(&[CORE])
            .resources(&["events"])
            .done(),
        rule(READ).groups(&[CORE]).resources(&["pods"]).done(),
        rule(&["create", "delete"])
            .groups(&[CORE])
            .resources(&["pods"])
            .done(),
        rule(&["update", "patch"])
            .groups(&[CORE])
            .resources(&["pods/status"])
            .done(),
        rule(&["create"])
            .groups(&[CORE])
            .resources(&["pods/eviction"])
            .done(),
        rule(READ)
            .groups(&[CORE])
            .resources(&["secrets", "configmaps"])
            .done(),
        rule(&["get"])
            .groups(&[CORE])
            .resources(&["persistentvolumeclaims", "persistentvolumes"])
            .done(),
        rule(&["get"])
            .groups(&[CORE])
            .resources(&["endpoints"])
            .done(),
        rule(&["create", "get", "list", "watch"])
            .groups(&[CERTIFICATES])
            .resources(&["certificatesigningrequests"])
            .done(),
        rule(&["get", "create", "update", "patch", "delete"])
            .groups(&[COORDINATION])
            .resources(&["leases"])
            .done(),
        rule(&["get"])
            .groups(&[STORAGE])
            .resources(&["volumeattachments"])
            .done(),
        rule(&["create"])
            .groups(&[CORE])
            .resources(&["serviceaccounts/token"])
            .done(),
        rule(&["get", "update", "patch"])
            .groups(&[CORE])
            .resources(&["persistentvolumeclaims/status"])
            .done(),
        rule(&["get", "watch", "list"])
            .groups(&[STORAGE])
            .resources(&["csidrivers"])
            .done(),
        rule(&["get", "create", "update", "patch", "delete"])
            .groups(&[STORAGE])
            .resources(&["csinodes"])
            .done(),
        rule(READ)
            .groups(&[NODE])
            .resources(&["runtimeclasses"])
            .done(),
    ]
}

fn kube_scheduler() -> Vec<Value> {
    vec![
        events_rule(),
        rule(&["create"])
            .groups(&[COORDINATION])
            .resources(&["leases"])
            .done(),
        rule(&["get", "update"])
            .groups(&[COORDINATION])
            .resources(&["leases"])
            .names(&["kube-scheduler"])
            .done(),
        rule(READ).groups(&[CORE]).resources(&["nodes"]).done(),
        rule(&["get", "list", "watch", "delete"])
            .groups(&[CORE])
            .resources(&["pods"])
            .done(),
        rule(&["create"])
            .groups(&[CORE])
            .resources(&["pods/binding", "bindings"])
            .done(),
        rule(&["patch", "update"])
            .groups(&[CORE])
            .resources(&["pods/status"])
            .done(),
        rule(READ)
            .groups(&[CORE])
            .resources(&["services", "replicationcontrollers"])
            .done(),
        rule(READ)
            .groups(&[APPS, EXTENSIONS])
            .resources(&["replicasets"])
            .done(),
        rule(READ)
            .groups(&[APPS])
            .resources(&["statefulsets"])
            .done(),
        rule(READ)
            .groups(&[POLICY])
            .resources(&["poddisruptionbudgets"])
            .done(),
        rule(READ)
            .groups(&[CORE])
            .resources(&["persistentvolumeclaims", "persistentvolumes"])
            .done(),
        rule(&["create"])
            .groups(&[AUTHN])
            .resources(&["tokenreviews"])
            .done(),
        rule(&["create"])
            .groups(&[AUTHZ])
            .resources(&["subjectaccessreviews"])
            .done(),
        rule(READ)
            .groups(&[STORAGE])
            .resources(&["csinodes"])
            .done(),
        rule(READ).groups(&[CORE]).resources(&["namespaces"]).done(),
        rule(READ)
            .groups(&[STORAGE])
            .resources(&["csidrivers"])
            .done(),
        rule(READ)
            .groups(&[STORAGE])
            .resources(&["csistoragecapacities"])
            .done(),
    ]
}

fn kube_controller_manager() -> Vec<Value> {
    vec![
        events_rule(),
        rule(&["create"])
            .groups(&[COORDINATION])
            .resources(&["leases"])
            .done(),
        rule(&["get", "update"])
            .groups(&[COORDINATION])
            .resources(&["leases"])
            .names(&["kube-controller-manager"])
            .done(),
        rule(&["create"])
            .groups(&[CORE])
            .resources(&["secrets", "serviceaccounts"])
            .done(),
        rule(&["delete"])
            .groups(&[CORE])
            .resources(&["secrets"])
            .done(),
        rule(&["get"])
            .groups(&[CORE])
            .resources(&["namespaces", "secrets", "serviceaccounts", "configmaps"])
            .done(),
        rule(&["update"])
            .groups(&[CORE])
            .resources(&["secrets", "serviceaccounts"])
            .done(),
        rule(&["create"])
            .groups(&[AUTHN])
            .resources(&["tokenreviews"])
            .done(),
        rule(&["create"])
            .groups(&[AUTHZ])
            .resources(&["subjectaccessreviews"])
            .done(),
        // Every shared informer of every controller.
        rule(&["list", "watch"])
            .groups(&["*"])
            .resources(&["*"])
            .done(),
        rule(&["create"])
            .groups(&[CORE])
            .resources(&["serviceaccounts/token"])
            .done(),
    ]
}

/// Upstream's `ClusterRoles()`; those for add-ons and certificate signers are in
/// `addon_roles.rs`.
pub fn cluster_roles() -> Vec<Value> {
    let get = |urls: &[&str]| vec![rule(&["get"]).urls(urls).done()];
    let mut roles = vec![
        cluster_role(
            "cluster-admin",
            vec![
                rule(&["*"]).groups(&["*"]).resources(&["*"]).done(),
                rule(&["*"]).urls(&["*"]).done(),
            ],
        ),
        cluster_role(
            "system:discovery",
            get(&[
                "/livez",
                "/readyz",
                "/healthz",
                "/version",
                "/version/",
                "/openapi",
                "/openapi/*",
                "/api",
                "/api/*",
                "/apis",
                "/apis/*",
            ]),
        ),
        cluster_role(
            "system:monitoring",
            get(&[
                "/metrics",
                "/metrics/slis",
                "/livez",
                "/readyz",
                "/healthz",
                "/livez/*",
                "/readyz/*",
                "/healthz/*",
            ]),
        ),
        cluster_role(
            "system:basic-user",
            vec![
                rule(&["create"])
                    .groups(&[AUTHZ])
                    .resources(&["selfsubjectaccessreviews", "selfsubjectrulesreviews"])
                    .done(),
                rule(&["create"])
                    .groups(&[AUTHN])
                    .resources(&["selfsubjectreviews"])
                    .done(),
            ],
        ),
        cluster_role(
            "system:public-info-viewer",
            get(&["/livez", "/readyz", "/healthz", "/version", "/version/"]),
        ),
        aggregated_role("admin", &[], TO_ADMIN),
        aggregated_role("edit", &[(TO_ADMIN, "true")], TO_EDIT),
        aggregated_role("view", &[(TO_EDIT, "true")], TO_VIEW),
        labelled_role(
            "system:aggregate-to-admin",
            &[(TO_ADMIN, "true")],
            vec![
                rule(&["create"])
                    .groups(&[AUTHZ])
                    .resources(&["localsubjectaccessreviews"])
                    .done(),
                rule(READ_WRITE)
                    .groups(&[RBAC])
                    .resources(&["roles", "rolebindings"])
                    .done(),
            ],
        ),
        labelled_role(
            "system:aggregate-to-edit",
            &[(TO_EDIT, "true")],
            super::aggregated::to_edit(),
        ),
        labelled_role(
            "system:aggregate-to-view",
            &[(TO_VIEW, "true")],
            super::aggregated::to_view(),
        ),
        cluster_role("system:node", node_rules()),
        cluster_role(
            "system:node-proxier",
            vec![
                rule(&["list", "watch"])
                    .groups(&[CORE])
                    .resources(&["services", "endpoints"])
                    .done(),
                rule(READ).groups(&[CORE]).resources(&["nodes"]).done(),
                events_rule(),
                rule(&["list", "watch"])
                    .groups(&[DISCOVERY])
                    .resources(&["endpointslices"])
                    .done(),
            ],
        ),
        cluster_role(
            "system:node-problem-detector",
            vec![
                rule(&["get"]).groups(&[CORE]).resources(&["nodes"]).done(),
                rule(&["patch"])
                    .groups(&[CORE])
                    .resources(&["nodes/status"])
                    .done(),
                events_rule(),
            ],
        ),
        cluster_role("system:kube-scheduler", kube_scheduler()),
        cluster_role(
            "system:volume-scheduler",
            vec![
                rule(READ_UPDATE)
                    .groups(&[CORE])
                    .resources(&["persistentvolumes"])
                    .done(),
                rule(READ)
                    .groups(&[STORAGE])
                    .resources(&["storageclasses"])
                    .done(),
                rule(READ_UPDATE)
                    .groups(&[CORE])
                    .resources(&["persistentvolumeclaims"])
                    .done(),
            ],
        ),
        cluster_role("system:kube-controller-manager", kube_controller_manager()),
        cluster_role(
            "system:kube-dns",
            vec![
                rule(&["list", "watch"])
                    .groups(&[CORE])
                    .resources(&["endpoints", "services"])
                    .done(),
            ],
        ),
        cluster_role(
            "system:auth-delegator",
            vec![
                rule(&["create"])
                    .groups(&[AUTHN])
                    .resources(&["tokenreviews"])
                    .done(),
                rule(&["create"])
                    .groups(&[AUTHZ])
                    .resources(&["subjectaccessreviews"])
                    .done(),
            ],
        ),
        cluster_role(
            "system:service-account-issuer-discovery",
            get(&[
                "/.well-known/openid-configuration",
                "/.well-known/openid-configuration/",
                "/openid/v1/jwks",
                "/openid/v1/jwks/",
            ]),
        ),
    ];
    roles.extend(super::addon_roles::cluster_roles());
    roles
}

/// Upstream's `ClusterRoleBindings()`. `system:node` is bound to nobody: the Node
/// authorizer grants kubelets their access.
pub fn cluster_role_bindings() -> Vec<Value> {
    use Subject::{Group, ServiceAccount, User};
    vec![
        binding("cluster-admin", &[Group("system:masters")]),
        binding("system:monitoring", &[Group("system:monitoring")]),
        binding("system:discovery", &[Group("system:authenticated")]),
        binding("system:basic-user", &[Group("system:authenticated")]),
        binding(
            "system:public-info-viewer",
            &[
                Group("system:authenticated"),
                Group("system:unauthenticated"),
            ],
        ),
        binding("system:node-proxier", &[User("system:kube-proxy")]),
        binding(
            "system:kube-controller-manager",
            &[User("system:kube-controller-manager")],
        ),
        binding(
            "system:kube-dns",
            &[ServiceAccount("kube-system", "kube-dns")],
        ),
        binding("system:kube-scheduler", &[User("system:kube-scheduler")]),
        binding("system:volume-scheduler", &[User("system:kube-scheduler")]),
        binding("system:node", &[]),
        binding(
            "system:service-account-issuer-discovery",
            &[Group("system:serviceaccounts")],
        ),
    ]
}
