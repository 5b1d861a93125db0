//! The `system:controller:*` roles of upstream's `controller_policy.go`, for the
//! controllers the reference's controller manager runs, each bound to its service
//! account in `kube-system` (what the controller manager uses with
//! `--use-service-account-credentials`).

use serde_json::Value;

use super::{READ, Subject, binding, cluster_role, events_rule, rule};

pub use refkube_helpers::controller_accounts::CONTROLLER_ACCOUNTS;

const CORE: &str = "";
const APPS: &str = "apps";
const EXTENSIONS: &str = "extensions";

fn core(verbs: &[&str], resources: &[&str]) -> Value {
    rule(verbs).groups(&[CORE]).resources(resources).done()
}

fn workload(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    rule(verbs).groups(groups).resources(resources).done()
}

/// The rules of the controller acting as service account `sa`.
fn rules(sa: &str) -> Vec<Value> {
    let apps_ext = &[APPS, EXTENSIONS];
    match sa {
        "clusterrole-aggregation-controller" => vec![
            rule(&["escalate", "get", "list", "watch", "update", "patch"])
                .groups(&["rbac.authorization.k8s.io"])
                .resources(&["clusterroles"])
                .done(),
        ],
        "daemon-set-controller" => vec![
            workload(READ, apps_ext, &["daemonsets"]),
            workload(&["update"], apps_ext, &["daemonsets/status"]),
            workload(&["update"], apps_ext, &["daemonsets/finalizers"]),
            core(&["list", "watch"], &["nodes"]),
            core(&["list", "watch", "create", "delete", "patch"], &["pods"]),
            core(&["create"], &["pods/binding"]),
            workload(
                &[
                    "get", "list", "watch", "create", "delete", "update", "patch",
                ],
                &[APPS],
                &["controllerrevisions"],
            ),
            events_rule(),
        ],
        "deployment-controller" => vec![
            workload(
                &["get", "list", "watch", "update"],
                apps_ext,
                &["deployments"],
            ),
            workload(&["update"], apps_ext, &["deployments/status"]),
            workload(&["update"], apps_ext, &["deployments/finalizers"]),
            workload(
                &[
                    "get", "list", "watch", "create", "update", "patch", "delete",
                ],
                apps_ext,
                &["replicasets"],
            ),
            core(&["get", "list", "watch", "update"], &["pods"]),
            events_rule(),
        ],
        "endpoint-controller" => vec![
            core(READ, &["services", "pods"]),
            core(
                &["get", "list", "create", "update", "delete"],
                &["endpoints"],
            ),
            core(&["create"], &["endpoints/restricted"]),
            events_rule(),
        ],
        "endpointslice-controller" => vec![
            core(READ, &["services", "pods", "nodes"]),
            core(&["update"], &["services/finalizers"]),
            workload(
                &["get", "list", "create", "update", "delete"],
                &["discovery.k8s.io"],
                &["endpointslices"],
            ),
            events_rule(),
        ],
        "generic-garbage-collector" => vec![
            rule(&["get", "list", "watch", "patch", "update", "delete"])
                .groups(&["*"])
                .resources(&["*"])
                .done(),
            events_rule(),
        ],
        "disruption-controller" => vec![
            workload(READ, apps_ext, &["deployments", "replicasets"]),
            core(READ, &["replicationcontrollers"]),
            workload(READ, &["policy"], &["poddisruptionbudgets"]),
            workload(READ, &[APPS], &["statefulsets"]),
            workload(&["update"], &["policy"], &["poddisruptionbudgets/status"]),
            core(&["patch", "update"], &["pods/status"]),
            workload(&["get"], &["*"], &["*/scale"]),
            events_rule(),
        ],
        "certificate-controller" => {
            let csr = |verbs: &[&str], resources: &[&str]| {
                workload(verbs, &["certificates.k8s.io"], resources)
            };
            vec![
                csr(
                    &["delete", "get", "list", "watch"],
                    &["certificatesigningrequests"],
                ),
                csr(
                    &["update"],
                    &[
                        "certificatesigningrequests/approval",
                        "certificatesigningrequests/status",
                    ],
                ),
                rule(&["approve"])
                    .groups(&["certificates.k8s.io"])
                    .resources(&["signers"])
                    .names(&["kubernetes.io/kube-apiserver-client-kubelet"])
                    .done(),
                rule(&["sign"])
                    .groups(&["certificates.k8s.io"])
                    .resources(&["signers"])
                    .names(&[
                        "kubernetes.io/kube-apiserver-client",
                        "kubernetes.io/kube-apiserver-client-kubelet",
                        "kubernetes.io/kubelet-serving",
                        "kubernetes.io/legacy-unknown",
                    ])
                    .done(),
                workload(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["subjectaccessreviews"],
                ),
                events_rule(),
            ]
        }
        "cronjob-controller" => vec![
            workload(
                &["get", "list", "watch", "update"],
                &["batch"],
                &["cronjobs"],
            ),
            workload(
                &[
                    "get", "list", "watch", "create", "update", "delete", "patch",
                ],
                &["batch"],
                &["jobs"],
            ),
            workload(&["update"], &["batch"], &["cronjobs/status"]),
            workload(&["update"], &["batch"], &["cronjobs/finalizers"]),
            core(&["list", "watch", "delete"], &["pods"]),
            events_rule(),
        ],
        "job-controller" => vec![
            workload(
                &["get", "list", "watch", "update", "patch"],
                &["batch"],
                &["jobs"],
            ),
            workload(&["update"], &["batch"], &["jobs/status"]),
            workload(&["update"], &["batch"], &["jobs/finalizers"]),
            core(&["list", "watch", "create", "delete", "patch"], &["pods"]),
            events_rule(),
        ],
        "namespace-controller" => vec![
            core(&["get", "list", "watch", "delete"], &["namespaces"]),
            core(&["update"], &["namespaces/finalize", "namespaces/status"]),
            rule(&["get", "list", "delete", "deletecollection"])
                .groups(&["*"])
                .resources(&["*"])
                .done(),
        ],
        "node-controller" => vec![
            core(
                &["get", "list", "watch", "update", "delete", "patch"],
                &["nodes"],
            ),
            core(&["patch", "update"], &["nodes/status"]),
            core(&["patch", "update"], &["pods/status"]),
            core(&["get", "list", "watch", "delete"], &["pods"]),
            events_rule(),
        ],
        "persistent-volume-binder" => vec![
            core(
                &["get", "list", "watch", "update", "create", "delete"],
                &["persistentvolumes"],
            ),
            core(&["update"], &["persistentvolumes/status"]),
            core(
                &["get", "list", "watch", "update"],
                &["persistentvolumeclaims"],
            ),
            core(&["update"], &["persistentvolumeclaims/status"]),
            core(&["list", "watch", "get", "create", "delete"], &["pods"]),
            workload(READ, &["storage.k8s.io"], &["storageclasses"]),
            core(&["list", "watch"], &["nodes"]),
            events_rule(),
            core(&["watch"], &["events"]),
        ],
        "pod-garbage-collector" => vec![
            core(&["list", "watch", "delete"], &["pods"]),
            core(READ, &["nodes"]),
            core(&["patch"], &["pods/status"]),
        ],
        "replicaset-controller" => vec![
            workload(
                &["get", "list", "watch", "update"],
                apps_ext,
                &["replicasets"],
            ),
            workload(&["update"], apps_ext, &["replicasets/status"]),
            workload(&["update"], apps_ext, &["replicasets/finalizers"]),
            core(&["list", "watch", "patch", "create", "delete"], &["pods"]),
            events_rule(),
        ],
        "replication-controller" => vec![
            core(
                &["get", "list", "watch", "update"],
                &["replicationcontrollers"],
            ),
            core(&["update"], &["replicationcontrollers/status"]),
            core(&["update"], &["replicationcontrollers/finalizers"]),
            core(&["list", "watch", "patch", "create", "delete"], &["pods"]),
            events_rule(),
        ],
        "root-ca-cert-publisher" => {
            vec![core(&["create", "update"], &["configmaps"]), events_rule()]
        }
        "service-account-controller" => {
            vec![core(&["create"], &["serviceaccounts"]), events_rule()]
        }
        "statefulset-controller" => vec![
            core(&["list", "watch"], &["pods"]),
            workload(READ, &[APPS], &["statefulsets"]),
            workload(&["update"], &[APPS], &["statefulsets/status"]),
            workload(&["update"], &[APPS], &["statefulsets/finalizers"]),
            core(&["get", "create", "delete", "update", "patch"], &["pods"]),
            workload(
                &[
                    "get", "create", "delete", "update", "patch", "list", "watch",
                ],
                &[APPS],
                &["controllerrevisions"],
            ),
            core(
                &["get", "create", "list", "watch"],
                &["persistentvolumeclaims"],
            ),
            core(&["update", "delete"], &["persistentvolumeclaims"]),
            core(&["update"], &["pods/finalizers"]),
            events_rule(),
        ],
        "ttl-after-finished-controller" => vec![
            workload(&["get", "list", "watch", "delete"], &["batch"], &["jobs"]),
            events_rule(),
        ],
        _ => vec![],
    }
}

fn role_name(sa: &str) -> String {
    format!("system:controller:{sa}")
}

/// Each service account once: several controllers may share one, as upstream's taint
/// eviction controller shares the node controller's.
fn accounts() -> Vec<&'static str> {
    let mut out: Vec<&str> = Vec::new();
    for (_, sa) in CONTROLLER_ACCOUNTS {
        if !out.contains(sa) {
            out.push(sa);
        }
    }
    out
}

pub fn roles() -> Vec<Value> {
    accounts()
        .into_iter()
        .map(|sa| cluster_role(&role_name(sa), rules(sa)))
        .collect()
}

/// The controller manager's user.
pub const CONTROLLER_MANAGER: &str = "system:kube-controller-manager";

/// Upstream's bindings of each role to its controller's service account, and refkube's
/// own of each role to [`CONTROLLER_MANAGER`]: refkube's controller manager runs every
/// controller under its own identity (upstream's set-up without
/// `--use-service-account-credentials`, for which upstream documents granting the
/// controller roles to that user), so every cluster shape — embedded, containers, a
/// standalone `refkube controller-manager` — starts with the grants it needs.
pub fn bindings() -> Vec<Value> {
    accounts()
        .into_iter()
        .flat_map(|sa| {
            let role = role_name(sa);
            let mut own = binding(&role, &[Subject::User(CONTROLLER_MANAGER)]);
            own["metadata"]["name"] = format!("refkube:controller-manager:{sa}").into();
            [
                binding(&role, &[Subject::ServiceAccount("kube-system", sa)]),
                own,
            ]
        })
        .collect()
}
