//! Upstream's bootstrap Roles and RoleBindings (`NamespaceRoles()` and
//! `NamespaceRoleBindings()` in `namespace_policy.go`): leader election of the
//! scheduler and controller manager, the extension API server authentication reader,
//! and the bootstrap token controllers, in `kube-system` and `kube-public`.

use serde_json::{Value, json};

use super::{GROUP, READ, Subject, events_rule, metadata, rule};

const SYSTEM: &str = "kube-system";
const PUBLIC: &str = "kube-public";
const KCM: &str = "system:kube-controller-manager";
const SCHEDULER: &str = "system:kube-scheduler";

fn role(ns: &str, name: &str, rules: Vec<Value>) -> Value {
    let mut meta = metadata(name, &[]);
    meta["namespace"] = json!(ns);
    json!({"apiVersion": format!("{GROUP}/v1"), "kind": "Role", "metadata": meta,
        "rules": rules})
}

fn binding(ns: &str, name: &str, role: &str, subjects: &[Subject]) -> Value {
    let mut meta = metadata(name, &[]);
    meta["namespace"] = json!(ns);
    json!({"apiVersion": format!("{GROUP}/v1"), "kind": "RoleBinding", "metadata": meta,
        "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": role},
        "subjects": subjects.iter().map(Subject::json).collect::<Vec<_>>()})
}

/// What a component needs for leader election: its lease, and (for coordinated
/// leader election) its lease candidate.
fn leader_locking(name: &str) -> Value {
    let verbs = &["watch", "get", "list", "create", "update"];
    role(
        SYSTEM,
        name,
        vec![
            rule(verbs)
                .groups(&["coordination.k8s.io"])
                .resources(&["leases"])
                .done(),
            rule(verbs)
                .groups(&["coordination.k8s.io"])
                .resources(&["leasecandidates"])
                .done(),
        ],
    )
}

pub fn roles() -> Vec<Value> {
    vec![
        role(
            PUBLIC,
            "system:controller:bootstrap-signer",
            vec![
                rule(READ).groups(&[""]).resources(&["configmaps"]).done(),
                rule(&["update"])
                    .groups(&[""])
                    .resources(&["configmaps"])
                    .names(&["cluster-info"])
                    .done(),
                events_rule(),
            ],
        ),
        role(
            SYSTEM,
            "extension-apiserver-authentication-reader",
            vec![
                rule(READ)
                    .groups(&[""])
                    .resources(&["configmaps"])
                    .names(&["extension-apiserver-authentication"])
                    .done(),
            ],
        ),
        leader_locking("system::leader-locking-kube-controller-manager"),
        leader_locking("system::leader-locking-kube-scheduler"),
        role(
            SYSTEM,
            "system:controller:bootstrap-signer",
            vec![rule(READ).groups(&[""]).resources(&["secrets"]).done()],
        ),
        role(
            SYSTEM,
            "system:controller:cloud-provider",
            vec![
                rule(&["create", "get", "list", "watch"])
                    .groups(&[""])
                    .resources(&["configmaps"])
                    .done(),
            ],
        ),
        role(
            SYSTEM,
            "system:controller:token-cleaner",
            vec![
                rule(&["delete", "get", "list", "watch"])
                    .groups(&[""])
                    .resources(&["secrets"])
                    .done(),
                events_rule(),
            ],
        ),
    ]
}

pub fn bindings() -> Vec<Value> {
    use Subject::{ServiceAccount, User};
    let own = |ns: &str, name: &str, sa: &'static str| {
        binding(ns, name, name, &[ServiceAccount(SYSTEM, sa)])
    };
    vec![
        own(
            PUBLIC,
            "system:controller:bootstrap-signer",
            "bootstrap-signer",
        ),
        binding(
            SYSTEM,
            "system::extension-apiserver-authentication-reader",
            "extension-apiserver-authentication-reader",
            &[User(KCM), User(SCHEDULER)],
        ),
        binding(
            SYSTEM,
            "system::leader-locking-kube-controller-manager",
            "system::leader-locking-kube-controller-manager",
            &[
                User(KCM),
                ServiceAccount(SYSTEM, "kube-controller-manager"),
                ServiceAccount(SYSTEM, "leader-election-controller"),
            ],
        ),
        binding(
            SYSTEM,
            "system::leader-locking-kube-scheduler",
            "system::leader-locking-kube-scheduler",
            &[User(SCHEDULER), ServiceAccount(SYSTEM, "kube-scheduler")],
        ),
        own(
            SYSTEM,
            "system:controller:bootstrap-signer",
            "bootstrap-signer",
        ),
        own(SYSTEM, "system:controller:cloud-provider", "cloud-provider"),
        own(SYSTEM, "system:controller:token-cleaner", "token-cleaner"),
    ]
}
