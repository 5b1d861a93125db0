//! Tests of rule matching and RBAC resolution, with the cases of upstream's
//! `plugin/pkg/auth/authorizer/rbac/rbac_test.go` and
//! `pkg/registry/rbac/validation/rule_test.go`.

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Verdict;
use super::attributes::Attributes;
use super::rbac::{Policy, applies_to_user};
use super::rules::{named, rule, rule_allows, url_rule};
use crate::auth::User;

/// upstream's `newRule("verbs", "groups", "resources", "urls")`.
fn new_rule(verbs: &str, groups: &str, resources: &str, urls: &str) -> PolicyRule {
    let split = |s: &str| Some(s.split(',').map(str::to_string).collect::<Vec<_>>());
    PolicyRule {
        verbs: verbs.split(',').map(str::to_string).collect(),
        api_groups: split(groups),
        resources: split(resources),
        non_resource_urls: split(urls),
        resource_names: None,
    }
}

fn meta(ns: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: (!ns.is_empty()).then(|| ns.into()),
        ..Default::default()
    }
}

fn subjects(list: &[&str]) -> Option<Vec<Subject>> {
    Some(
        list.iter()
            .map(|s| {
                let (kind, name) = s.split_once(':').unwrap();
                let (name, namespace) = match kind {
                    "ServiceAccount" => match name.split_once(':') {
                        Some((ns, n)) => (n.to_string(), Some(ns.to_string())),
                        None => (name.to_string(), None),
                    },
                    _ => (name.to_string(), None),
                };
                Subject {
                    kind: kind.into(),
                    name,
                    namespace,
                    api_group: (kind != "ServiceAccount")
                        .then(|| "rbac.authorization.k8s.io".into()),
                }
            })
            .collect(),
    )
}

fn cluster_role(name: &str, rules: Vec<PolicyRule>) -> ClusterRole {
    ClusterRole {
        metadata: meta("", name),
        rules: Some(rules),
        aggregation_rule: None,
    }
}

fn role(ns: &str, name: &str, rules: Vec<PolicyRule>) -> Role {
    Role {
        metadata: meta(ns, name),
        rules: Some(rules),
    }
}

fn crb(name: &str, role: &str, who: &[&str]) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: meta("", name),
        role_ref: role_ref("ClusterRole", role),
        subjects: subjects(who),
    }
}

fn rb(ns: &str, name: &str, kind: &str, role: &str, who: &[&str]) -> RoleBinding {
    RoleBinding {
        metadata: meta(ns, name),
        role_ref: role_ref(kind, role),
        subjects: subjects(who),
    }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: "rbac.authorization.k8s.io".into(),
        kind: kind.into(),
        name: name.into(),
    }
}

fn user(name: &str, groups: &str) -> User {
    User {
        name: name.into(),
        groups: groups
            .split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        ..Default::default()
    }
}

/// upstream's `defaultAttributes{user, groups, verb, resource, subresource, namespace, apiGroup}`.
fn res(
    u: &str,
    groups: &str,
    verb: &str,
    resource: &str,
    sub: &str,
    ns: &str,
    group: &str,
) -> Attributes {
    Attributes::resource(&user(u, groups), verb, group, resource)
        .named(ns, "")
        .subresource(sub)
}

fn url(u: User, verb: &str, path: &str) -> Attributes {
    Attributes {
        user: u,
        verb: verb.into(),
        path: path.into(),
        ..Default::default()
    }
}

fn allowed(p: &Policy, a: &Attributes) -> bool {
    p.authorize(a).verdict == Verdict::Allow
}

#[test]
fn a_cluster_role_bound_in_a_namespace_allows_only_there() {
    let p = Policy::new(
        vec![cluster_role("admin", vec![new_rule("*", "*", "*", "*")])],
        vec![],
        vec![],
        vec![rb(
            "ns1",
            "b",
            "ClusterRole",
            "admin",
            &["User:admin", "Group:admins"],
        )],
    );
    for a in [
        res("admin", "", "get", "Pods", "", "ns1", ""),
        res("admin", "", "watch", "Pods", "", "ns1", ""),
        res("admin", "group1", "watch", "Foobar", "", "ns1", ""),
        res("joe", "admins", "watch", "Foobar", "", "ns1", ""),
        res("joe", "group1,admins", "watch", "Foobar", "", "ns1", ""),
    ] {
        assert!(allowed(&p, &a), "{a:?}");
    }
    for a in [
        res("admin", "", "GET", "Pods", "", "ns2", ""),
        res("admin", "", "GET", "Nodes", "", "", ""),
        res("admin", "admins", "GET", "Pods", "", "ns2", ""),
        res("admin", "admins", "GET", "Nodes", "", "", ""),
    ] {
        assert!(!allowed(&p, &a), "{a:?}");
    }
}

#[test]
fn non_resource_urls_match_exactly_or_by_trailing_star() {
    let p = Policy::new(
        vec![
            cluster_role(
                "non-resource-url-getter",
                vec![new_rule("get", "", "", "/apis")],
            ),
            cluster_role("non-resource-url", vec![new_rule("*", "", "", "/apis")]),
            cluster_role(
                "non-resource-url-prefix",
                vec![new_rule("get", "", "", "/apis/*")],
            ),
        ],
        vec![],
        vec![
            crb("a", "non-resource-url-getter", &["User:foo", "Group:bar"]),
            crb("b", "non-resource-url", &["User:admin", "Group:admin"]),
            crb(
                "c",
                "non-resource-url-prefix",
                &["User:prefixed", "Group:prefixed"],
            ),
        ],
        vec![],
    );
    let pass = [
        (user("foo", ""), "get", "/apis"),
        (user("", "bar"), "get", "/apis"),
        (user("admin", ""), "get", "/apis"),
        (user("", "admin"), "get", "/apis"),
        (user("admin", ""), "watch", "/apis"),
        (user("", "admin"), "watch", "/apis"),
        (user("prefixed", ""), "get", "/apis/v1"),
        (user("", "prefixed"), "get", "/apis/v1"),
        (user("prefixed", ""), "get", "/apis/v1/foobar"),
        (user("", "prefixed"), "get", "/apis/v1/foorbar"),
    ];
    for (u, verb, path) in pass {
        assert!(allowed(&p, &url(u, verb, path)), "{verb} {path}");
    }
    let fail = [
        (user("foo", ""), "watch", "/apis"),
        (user("", "bar"), "watch", "/apis"),
        (user("foo", ""), "get", "/api/v1"),
        (user("", "bar"), "get", "/api/v1"),
        (user("admin", ""), "get", "/api/v1"),
        (user("", "admin"), "get", "/api/v1"),
        (user("prefixed", ""), "get", "/api/v1"),
        (user("", "prefixed"), "get", "/api/v1"),
    ];
    for (u, verb, path) in fail {
        assert!(!allowed(&p, &url(u, verb, path)), "{verb} {path}");
    }
}

#[test]
fn a_resource_rule_does_not_cover_its_subresources_nor_the_reverse() {
    let bind = vec![rb(
        "ns1",
        "b",
        "ClusterRole",
        "admin",
        &["User:admin", "Group:admins"],
    )];
    let p = Policy::new(
        vec![cluster_role("admin", vec![new_rule("*", "*", "pods", "*")])],
        vec![],
        vec![],
        bind.clone(),
    );
    assert!(allowed(&p, &res("admin", "", "get", "pods", "", "ns1", "")));
    assert!(!allowed(
        &p,
        &res("admin", "", "get", "pods", "status", "ns1", "")
    ));
    let p = Policy::new(
        vec![cluster_role(
            "admin",
            vec![new_rule("*", "*", "pods/status", "*")],
        )],
        vec![],
        vec![],
        bind,
    );
    assert!(allowed(
        &p,
        &res("admin", "", "get", "pods", "status", "ns1", "")
    ));
    assert!(!allowed(
        &p,
        &res("admin", "", "get", "pods", "", "ns1", "")
    ));
}

fn req(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Attributes {
    Attributes::resource(&User::default(), verb, group, resource)
        .named("", name)
        .subresource(sub)
}

// upstream's TestRuleMatches.
#[test]
fn rules_match_as_upstreams_rule_allows() {
    let star_verb = rule(&["*"], &["group1"], &["resource1"]);
    assert!(rule_allows(
        &req("verb1", "group1", "resource1", "", ""),
        &star_verb
    ));
    assert!(rule_allows(
        &req("verb2", "group1", "resource1", "", ""),
        &star_verb
    ));
    assert!(!rule_allows(
        &req("verb1", "group2", "resource1", "", ""),
        &star_verb
    ));
    assert!(!rule_allows(
        &req("verb1", "group1", "resource2", "", ""),
        &star_verb
    ));
    let star_group = rule(&["verb1"], &["*"], &["resource1"]);
    assert!(rule_allows(
        &req("verb1", "group2", "resource1", "", ""),
        &star_group
    ));
    assert!(!rule_allows(
        &req("verb2", "group1", "resource1", "", ""),
        &star_group
    ));
    assert!(!rule_allows(
        &req("verb1", "group1", "resource2", "", ""),
        &star_group
    ));
    let star_resource = rule(&["verb1"], &["group1"], &["*"]);
    assert!(rule_allows(
        &req("verb1", "group1", "resource2", "", ""),
        &star_resource
    ));
    assert!(!rule_allows(
        &req("verb1", "group2", "resource2", "", ""),
        &star_resource
    ));
    let tuple = rule(
        &["verb1", "verb2"],
        &["group1", "group2"],
        &["resource1", "resource2"],
    );
    for v in ["verb1", "verb2"] {
        for g in ["group1", "group2"] {
            for r in ["resource1", "resource2"] {
                assert!(rule_allows(&req(v, g, r, "", ""), &tuple));
            }
        }
    }
    let sub = rule(&["*"], &["*"], &["resource1/subresource1"]);
    assert!(rule_allows(
        &req("verb1", "group1", "resource1", "subresource1", ""),
        &sub
    ));
    assert!(!rule_allows(
        &req("verb1", "group2", "resource1", "subresource2", ""),
        &sub
    ));
    assert!(!rule_allows(
        &req("verb1", "group1", "resource2", "subresource1", ""),
        &sub
    ));
    let star_sub = rule(&["*"], &["*"], &["*/subresource1"]);
    assert!(rule_allows(
        &req("verb1", "group1", "resource1", "subresource1", ""),
        &star_sub
    ));
    assert!(rule_allows(
        &req("verb1", "group1", "resource2", "subresource1", ""),
        &star_sub
    ));
    assert!(!rule_allows(
        &req("verb1", "group1", "resource1", "subresource2", ""),
        &star_sub
    ));
    assert!(!rule_allows(
        &req("verb1", "group1", "resource1", "", ""),
        &star_sub
    ));
    let names = named(
        rule(&["verb1"], &["group1"], &["resource1"]),
        &["foo", "bar"],
    );
    assert!(rule_allows(
        &req("verb1", "group1", "resource1", "", "foo"),
        &names
    ));
    assert!(rule_allows(
        &req("verb1", "group1", "resource1", "", "bar"),
        &names
    ));
    assert!(!rule_allows(
        &req("verb1", "group1", "resource1", "", "baz"),
        &names
    ));
    assert!(!rule_allows(
        &req("verb1", "group1", "resource1", "", ""),
        &names
    ));
    let star_url = url_rule(&["verb1"], &["*"]);
    for path in ["/foo", "/foo/bar", "/foo/baz/one"] {
        assert!(rule_allows(&url(User::default(), "verb1", path), &star_url));
        assert!(!rule_allows(
            &url(User::default(), "verb2", path),
            &star_url
        ));
    }
    let sub_url = url_rule(&["verb1"], &["/foo/*"]);
    assert!(!rule_allows(
        &url(User::default(), "verb1", "/foo"),
        &sub_url
    ));
    assert!(rule_allows(
        &url(User::default(), "verb1", "/foo/bar"),
        &sub_url
    ));
    assert!(rule_allows(
        &url(User::default(), "verb1", "/foo/bar/one"),
        &sub_url
    ));
    assert!(!rule_allows(
        &url(User::default(), "verb1", "/bar"),
        &sub_url
    ));
    let exact_url = url_rule(&["verb1"], &["/foo"]);
    assert!(rule_allows(
        &url(User::default(), "verb1", "/foo"),
        &exact_url
    ));
    assert!(!rule_allows(
        &url(User::default(), "verb1", "/foo/bar"),
        &exact_url
    ));
}

// upstream's TestAppliesTo.
#[test]
fn subjects_apply_as_upstreams_applies_to() {
    let sa = |ns: Option<&str>, name: &str| Subject {
        kind: "ServiceAccount".into(),
        name: name.into(),
        namespace: ns.map(str::to_string),
        api_group: None,
    };
    let s = |kind: &str, name: &str| Subject {
        kind: kind.into(),
        name: name.into(),
        namespace: None,
        api_group: Some("rbac.authorization.k8s.io".into()),
    };
    assert!(applies_to_user(
        &user("foobar", ""),
        &s("User", "foobar"),
        ""
    ));
    assert!(!applies_to_user(
        &user("foobar", ""),
        &s("User", "kube-system"),
        ""
    ));
    assert!(applies_to_user(
        &user("foobar", "foo"),
        &s("Group", "foo"),
        ""
    ));
    assert!(!applies_to_user(&user("foo", ""), &s("Group", "foo"), ""));
    let sa_user = user(
        "system:serviceaccount:kube-system:default",
        "system:serviceaccounts",
    );
    assert!(applies_to_user(
        &sa_user,
        &sa(Some("kube-system"), "default"),
        ""
    ));
    assert!(applies_to_user(
        &sa_user,
        &sa(None, "default"),
        "kube-system"
    ));
    assert!(!applies_to_user(&sa_user, &sa(None, "default"), ""));
    assert!(!applies_to_user(
        &sa_user,
        &sa(Some("default"), "default"),
        "kube-system"
    ));
    assert!(!applies_to_user(
        &sa_user,
        &s("User", "default"),
        "kube-system"
    ));
    assert!(applies_to_user(
        &sa_user,
        &s("Group", "system:serviceaccounts"),
        ""
    ));
    assert!(!applies_to_user(
        &user("system:authenticated", ""),
        &s("Group", "system:authenticated"),
        ""
    ));
}

#[test]
fn the_allowing_binding_is_named_in_the_reason() {
    let p = Policy::new(
        vec![cluster_role(
            "view",
            vec![rule(&["get", "list"], &[""], &["pods"])],
        )],
        vec![role(
            "web",
            "reader",
            vec![rule(&["get"], &[""], &["secrets"])],
        )],
        vec![crb("viewers", "view", &["Group:viewers"])],
        vec![rb("web", "read", "Role", "reader", &["ServiceAccount:ci"])],
    );
    let d = p.authorize(&res("u", "viewers", "list", "pods", "", "", ""));
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by ClusterRoleBinding "viewers" of ClusterRole "view" to Group "viewers""#
    );
    let sa = user("system:serviceaccount:web:ci", "system:serviceaccounts");
    let d = p.authorize(&Attributes::resource(&sa, "get", "", "secrets").named("web", "x"));
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by RoleBinding "read/web" of Role "reader" to ServiceAccount "ci/web""#
    );
}

#[test]
fn a_binding_to_a_missing_role_is_the_reason_of_a_denial() {
    let p = Policy::new(
        vec![],
        vec![],
        vec![crb("b", "gone", &["User:jane"])],
        vec![],
    );
    let d = p.authorize(&res("jane", "", "get", "pods", "", "default", ""));
    assert_eq!(d.verdict, Verdict::NoOpinion);
    assert_eq!(
        d.reason,
        r#"RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found"#
    );
}
