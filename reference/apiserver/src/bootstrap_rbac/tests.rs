//! The bootstrap policy against upstream's `bootstrappolicy/testdata` (role names, the
//! exact rules of a few roles, the bindings), and reconciliation tables.

use serde_json::{Value, json};

use super::reconcile::{BindingChange, covers, reconcile_binding, reconcile_role};
use super::*;

fn named<'a>(items: &'a [Value], name: &str) -> &'a Value {
    items
        .iter()
        .find(|r| r["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} is missing"))
}

#[test]
fn the_role_names_upstream_bootstraps_are_all_there() {
    let roles = cluster_roles();
    let names: Vec<&str> = roles
        .iter()
        .map(|r| r["metadata"]["name"].as_str().unwrap())
        .collect();
    // From upstream's testdata/cluster-roles.yaml and controller-roles.yaml (the
    // roles of controllers and add-ons the reference runs).
    for want in [
        "admin",
        "cluster-admin",
        "edit",
        "system:aggregate-to-admin",
        "system:aggregate-to-edit",
        "system:aggregate-to-view",
        "system:auth-delegator",
        "system:basic-user",
        "system:discovery",
        "system:kube-controller-manager",
        "system:kube-dns",
        "system:kube-scheduler",
        "system:monitoring",
        "system:node",
        "system:node-proxier",
        "system:public-info-viewer",
        "system:service-account-issuer-discovery",
        "system:volume-scheduler",
        "view",
        "system:controller:clusterrole-aggregation-controller",
        "system:controller:daemon-set-controller",
        "system:controller:deployment-controller",
        "system:controller:endpoint-controller",
        "system:controller:endpointslice-controller",
        "system:controller:generic-garbage-collector",
        "system:controller:job-controller",
        "system:controller:namespace-controller",
        "system:controller:node-controller",
        "system:controller:persistent-volume-binder",
        "system:controller:pod-garbage-collector",
        "system:controller:replicaset-controller",
        "system:controller:replication-controller",
        "system:controller:root-ca-cert-publisher",
        "system:controller:service-account-controller",
        "system:controller:statefulset-controller",
        "system:controller:ttl-after-finished-controller",
    ] {
        assert!(names.contains(&want), "{want} is missing");
    }
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "a role is listed twice");
}

#[test]
fn every_object_carries_the_bootstrap_label_and_autoupdate() {
    for obj in cluster_roles().iter().chain(&cluster_role_bindings()) {
        assert_eq!(
            obj["metadata"]["labels"]["kubernetes.io/bootstrapping"], "rbac-defaults",
            "{}",
            obj["metadata"]["name"]
        );
        assert_eq!(
            obj["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"],
            "true"
        );
    }
}

#[test]
fn a_few_rule_sets_are_exactly_upstreams() {
    let roles = cluster_roles();
    assert_eq!(
        named(&roles, "cluster-admin")["rules"],
        json!([
            {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
            {"verbs": ["*"], "nonResourceURLs": ["*"]}
        ])
    );
    assert_eq!(
        named(&roles, "system:discovery")["rules"],
        json!([{"verbs": ["get"], "nonResourceURLs": [
            "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
            "/openapi/*", "/readyz", "/version", "/version/"]}])
    );
    assert_eq!(
        named(&roles, "system:public-info-viewer")["rules"],
        json!([{"verbs": ["get"], "nonResourceURLs": [
            "/healthz", "/livez", "/readyz", "/version", "/version/"]}])
    );
    assert_eq!(
        named(&roles, "system:node-proxier")["rules"],
        json!([
            {"verbs": ["list", "watch"], "apiGroups": [""], "resources": ["endpoints", "services"]},
            {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["nodes"]},
            {"verbs": ["create", "patch", "update"], "apiGroups": ["", "events.k8s.io"], "resources": ["events"]},
            {"verbs": ["list", "watch"], "apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"]}
        ])
    );
    assert_eq!(
        named(&roles, "system:controller:pod-garbage-collector")["rules"],
        json!([
            {"verbs": ["delete", "list", "watch"], "apiGroups": [""], "resources": ["pods"]},
            {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["nodes"]},
            {"verbs": ["patch"], "apiGroups": [""], "resources": ["pods/status"]}
        ])
    );
    let view = named(&roles, "view");
    assert_eq!(view["rules"], json!([]));
    assert_eq!(
        view["aggregationRule"],
        json!({"clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]})
    );
    assert_eq!(
        view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"],
        "true"
    );
}

#[test]
fn the_bindings_are_upstreams() {
    let bindings = cluster_role_bindings();
    let subjects = |name: &str| named(&bindings, name).get("subjects").cloned();
    let group = |n: &str| json!({"kind": "Group", "apiGroup": GROUP, "name": n});
    let user = |n: &str| json!({"kind": "User", "apiGroup": GROUP, "name": n});
    assert_eq!(
        subjects("cluster-admin"),
        Some(json!([group("system:masters")]))
    );
    assert_eq!(
        subjects("system:public-info-viewer"),
        Some(json!([
            group("system:authenticated"),
            group("system:unauthenticated")
        ]))
    );
    assert_eq!(
        subjects("system:node-proxier"),
        Some(json!([user("system:kube-proxy")]))
    );
    assert_eq!(subjects("system:node"), None);
    assert_eq!(
        subjects("system:controller:replicaset-controller"),
        Some(
            json!([{"kind": "ServiceAccount", "name": "replicaset-controller", "namespace": "kube-system"}])
        )
    );
    // refkube's own grant of each controller role to the controller manager's user.
    let own = |b: &&Value| {
        b["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("refkube:controller-manager:"))
    };
    for b in bindings.iter().filter(own) {
        assert_eq!(
            b["subjects"],
            json!([user("system:kube-controller-manager")]),
            "{b}"
        );
    }
    assert_eq!(bindings.iter().filter(own).count(), {
        let mut accounts: Vec<&str> = CONTROLLER_ACCOUNTS.iter().map(|(_, sa)| *sa).collect();
        accounts.sort_unstable();
        accounts.dedup();
        accounts.len()
    });
    for b in bindings.iter().filter(|b| !own(b)) {
        assert_eq!(b["roleRef"]["name"], b["metadata"]["name"]);
        assert!(
            cluster_roles()
                .iter()
                .any(|r| r["metadata"]["name"] == b["roleRef"]["name"]),
            "{} binds a role that is not bootstrapped",
            b["metadata"]["name"]
        );
    }
}

#[test]
fn every_controller_the_manager_runs_has_an_account_and_rules() {
    for (controller, sa) in CONTROLLER_ACCOUNTS {
        let role = named(&cluster_roles(), &format!("system:controller:{sa}")).clone();
        assert!(
            !role["rules"].as_array().unwrap().is_empty(),
            "{controller} has no rules"
        );
    }
}

#[test]
fn coverage_follows_wildcards_names_and_url_prefixes() {
    let owner = [
        json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "secrets"]}),
        json!({"verbs": ["update"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]}),
        json!({"verbs": ["*"], "apiGroups": ["apps"], "resources": ["*"]}),
        json!({"verbs": ["get"], "nonResourceURLs": ["/healthz/*", "/api"]}),
    ];
    let cases = [
        (
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods", "secrets"]}),
            true,
        ),
        (
            json!({"verbs": ["watch"], "apiGroups": [""], "resources": ["pods"]}),
            false,
        ),
        (
            json!({"verbs": ["update"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]}),
            true,
        ),
        (
            json!({"verbs": ["update"], "apiGroups": [""], "resources": ["configmaps"]}),
            false,
        ),
        (
            json!({"verbs": ["delete"], "apiGroups": ["apps"], "resources": ["deployments"]}),
            true,
        ),
        (
            json!({"verbs": ["get"], "nonResourceURLs": ["/healthz/etcd", "/api"]}),
            true,
        ),
        (
            json!({"verbs": ["get"], "nonResourceURLs": ["/apis"]}),
            false,
        ),
    ];
    for (rule, want) in cases {
        assert_eq!(covers(&owner, &rule), want, "{rule}");
    }
}

fn stored(mut obj: Value) -> Value {
    obj["metadata"]["resourceVersion"] = json!("7");
    obj
}

#[test]
fn reconciling_a_role_adds_what_is_missing_and_keeps_what_a_user_added() {
    let expected = named(&cluster_roles(), "system:node-proxier").clone();
    assert_eq!(reconcile_role(&stored(expected.clone()), &expected), None);

    let mut edited = stored(expected.clone());
    let user_rule = json!({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]});
    edited["rules"] = json!([expected["rules"][0].clone(), user_rule.clone()]);
    edited["metadata"]["labels"] = json!({"team": "net"});
    let out = reconcile_role(&edited, &expected).expect("missing rules are added");
    let rules = out["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 5, "the user's rule stays and three come back");
    assert!(rules.contains(&user_rule));
    assert_eq!(out["metadata"]["labels"]["team"], "net");
    assert_eq!(
        out["metadata"]["labels"]["kubernetes.io/bootstrapping"],
        "rbac-defaults"
    );

    let mut frozen = edited.clone();
    frozen["metadata"]["annotations"] = json!({AUTOUPDATE: "false"});
    assert_eq!(reconcile_role(&frozen, &expected), None);
}

#[test]
fn reconciling_leaves_aggregated_rules_to_the_controller() {
    let expected = named(&cluster_roles(), "view").clone();
    let mut current = stored(expected.clone());
    current["rules"] = json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]);
    assert_eq!(reconcile_role(&current, &expected), None);
    current["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]});
    let out = reconcile_role(&current, &expected).unwrap();
    assert_eq!(
        out["aggregationRule"]["clusterRoleSelectors"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn reconciling_a_binding_adds_subjects_and_recreates_on_a_new_role_ref() {
    let expected = named(&cluster_role_bindings(), "system:public-info-viewer").clone();
    assert_eq!(
        reconcile_binding(&stored(expected.clone()), &expected),
        BindingChange::None
    );
    let mut current = stored(expected.clone());
    let extra = json!({"kind": "User", "apiGroup": GROUP, "name": "jane"});
    current["subjects"] = json!([extra.clone()]);
    let BindingChange::Update(out) = reconcile_binding(&current, &expected) else {
        panic!("subjects are missing");
    };
    assert_eq!(out["subjects"].as_array().unwrap().len(), 3);
    assert_eq!(out["subjects"][0], extra);

    current["roleRef"]["name"] = json!("view");
    let BindingChange::Recreate(out) = reconcile_binding(&current, &expected) else {
        panic!("a different roleRef needs a new binding");
    };
    assert_eq!(out["roleRef"]["name"], "system:public-info-viewer");
}
