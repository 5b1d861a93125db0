//! The RBAC authorizer: which rules a user holds through ClusterRoleBindings and the
//! RoleBindings of a namespace (upstream's `DefaultRuleResolver.VisitRulesFor`), and
//! whether any of them allows a request (`RBACAuthorizer.Authorize`).
//!
//! Entry points: [`Policy`] (the RBAC objects, typed), [`Policy::authorize`],
//! [`Policy::rules_for`]. Pure: the objects come from the caller (the watch caches,
//! see [`super::source`]); a binding to a missing role is reported, not fatal.

use std::collections::HashMap;

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};

use super::attributes::Attributes;
use super::rules::rule_allows;
use super::{Decision, Verdict};
use crate::auth::User;

/// The RBAC objects of the cluster, indexed for rule resolution.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub cluster_roles: HashMap<String, ClusterRole>,
    /// By (namespace, name).
    pub roles: HashMap<(String, String), Role>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    /// By namespace.
    pub role_bindings: HashMap<String, Vec<RoleBinding>>,
}

/// What [`Policy::visit_rules_for`] calls with each rule (and where it came from) or
/// each resolution error; returning false stops the visit.
pub type Visitor<'a> = dyn FnMut(Result<(&Source, &PolicyRule), &str>) -> bool + 'a;

/// Where a rule came from, as upstream describes it in an "allowed by" reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source(String);

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn describe_subject(s: &Subject, binding_namespace: &str) -> String {
    match s.kind.as_str() {
        "ServiceAccount" => {
            let ns = s.namespace.as_deref().filter(|n| !n.is_empty());
            format!(
                "{} {:?}",
                s.kind,
                format!("{}/{}", s.name, ns.unwrap_or(binding_namespace))
            )
        }
        _ => format!("{} {:?}", s.kind, s.name),
    }
}

fn name_of(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    m.name.clone().unwrap_or_default()
}

/// `system:serviceaccount:NS:NAME`.
pub fn service_account_username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// Upstream's `appliesToUser`: a ServiceAccount subject without a namespace means the
/// binding's own namespace (none for a ClusterRoleBinding, so it never applies).
pub fn applies_to_user(user: &User, subject: &Subject, namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => user.groups.contains(&subject.name),
        "ServiceAccount" => {
            let ns = subject
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(namespace);
            !ns.is_empty() && user.name == service_account_username(ns, &subject.name)
        }
        _ => false,
    }
}

/// The index of the first subject that applies, if any.
fn applies_to(user: &User, subjects: &Option<Vec<Subject>>, namespace: &str) -> Option<usize> {
    subjects
        .as_deref()
        .unwrap_or_default()
        .iter()
        .position(|s| applies_to_user(user, s, namespace))
}

impl Policy {
    /// Indexes typed objects; bindings are visited in name order.
    pub fn new(
        cluster_roles: Vec<ClusterRole>,
        roles: Vec<Role>,
        mut cluster_role_bindings: Vec<ClusterRoleBinding>,
        role_bindings: Vec<RoleBinding>,
    ) -> Self {
        cluster_role_bindings.sort_by_key(|b| name_of(&b.metadata));
        let mut by_ns: HashMap<String, Vec<RoleBinding>> = HashMap::new();
        for b in role_bindings {
            let ns = b.metadata.namespace.clone().unwrap_or_default();
            by_ns.entry(ns).or_default().push(b);
        }
        for list in by_ns.values_mut() {
            list.sort_by_key(|b| name_of(&b.metadata));
        }
        Policy {
            cluster_roles: cluster_roles
                .into_iter()
                .map(|r| (name_of(&r.metadata), r))
                .collect(),
            roles: roles
                .into_iter()
                .map(|r| {
                    let ns = r.metadata.namespace.clone().unwrap_or_default();
                    ((ns, name_of(&r.metadata)), r)
                })
                .collect(),
            cluster_role_bindings,
            role_bindings: by_ns,
        }
    }

    /// The rules a role reference grants (upstream's `GetRoleReferenceRules`), or the
    /// lister's NotFound message.
    pub fn role_reference_rules(
        &self,
        role_ref: &RoleRef,
        namespace: &str,
    ) -> Result<Vec<PolicyRule>, String> {
        match role_ref.kind.as_str() {
            "Role" => self
                .roles
                .get(&(namespace.to_string(), role_ref.name.clone()))
                .map(|r| r.rules.clone().unwrap_or_default())
                .ok_or_else(|| {
                    format!(
                        "role.rbac.authorization.k8s.io {:?} not found",
                        role_ref.name
                    )
                }),
            "ClusterRole" => self
                .cluster_roles
                .get(&role_ref.name)
                .map(|r| r.rules.clone().unwrap_or_default())
                .ok_or_else(|| {
                    format!(
                        "clusterrole.rbac.authorization.k8s.io {:?} not found",
                        role_ref.name
                    )
                }),
            other => Err(format!("unsupported role reference kind: {other:?}")),
        }
    }

    /// Calls `visit` with each rule `user` holds in `namespace` (cluster-wide rules
    /// first) or with an error; stops when `visit` returns false.
    pub fn visit_rules_for(&self, user: &User, namespace: &str, visit: &mut Visitor<'_>) {
        for b in &self.cluster_role_bindings {
            let Some(i) = applies_to(user, &b.subjects, "") else {
                continue;
            };
            match self.role_reference_rules(&b.role_ref, "") {
                Err(e) => {
                    if !visit(Err(&e)) {
                        return;
                    }
                }
                Ok(rules) => {
                    let subject = &b.subjects.as_deref().unwrap_or_default()[i];
                    let source = Source(format!(
                        "ClusterRoleBinding {:?} of {} {:?} to {}",
                        name_of(&b.metadata),
                        b.role_ref.kind,
                        b.role_ref.name,
                        describe_subject(subject, "")
                    ));
                    for r in &rules {
                        if !visit(Ok((&source, r))) {
                            return;
                        }
                    }
                }
            }
        }
        if namespace.is_empty() {
            return;
        }
        for b in self.role_bindings.get(namespace).into_iter().flatten() {
            let Some(i) = applies_to(user, &b.subjects, namespace) else {
                continue;
            };
            match self.role_reference_rules(&b.role_ref, namespace) {
                Err(e) => {
                    if !visit(Err(&e)) {
                        return;
                    }
                }
                Ok(rules) => {
                    let subject = &b.subjects.as_deref().unwrap_or_default()[i];
                    let source = Source(format!(
                        "RoleBinding {:?} of {} {:?} to {}",
                        format!("{}/{namespace}", name_of(&b.metadata)),
                        b.role_ref.kind,
                        b.role_ref.name,
                        describe_subject(subject, namespace)
                    ));
                    for r in &rules {
                        if !visit(Ok((&source, r))) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Every rule `user` holds in `namespace`, and the resolution errors met.
    pub fn rules_for(&self, user: &User, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        self.visit_rules_for(user, namespace, &mut |r| {
            match r {
                Ok((_, rule)) => rules.push(rule.clone()),
                Err(e) => errors.push(e.to_string()),
            }
            true
        });
        (rules, errors)
    }

    /// Upstream's `RBACAuthorizer.Authorize`: allowed by the first matching rule, else
    /// no opinion (with the resolution errors as the reason).
    pub fn authorize(&self, a: &Attributes) -> Decision {
        let mut allowed_by = None;
        let mut errors = Vec::new();
        self.visit_rules_for(&a.user, &a.namespace, &mut |r| match r {
            Ok((source, rule)) if rule_allows(a, rule) => {
                allowed_by = Some(source.clone());
                false
            }
            Ok(_) => true,
            Err(e) => {
                errors.push(e.to_string());
                true
            }
        });
        if let Some(source) = allowed_by {
            return Decision::new(Verdict::Allow, format!("RBAC: allowed by {source}"));
        }
        let reason = if errors.is_empty() {
            String::new()
        } else {
            format!("RBAC: {}", aggregate(&errors))
        };
        Decision::new(Verdict::NoOpinion, reason)
    }
}

/// Go's `utilerrors.NewAggregate(...).Error()`: one message alone, several in brackets.
pub fn aggregate(errors: &[String]) -> String {
    match errors {
        [] => String::new(),
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}
