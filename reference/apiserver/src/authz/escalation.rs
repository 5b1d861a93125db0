//! The RBAC escalation check of upstream's role and binding storage: a user may write
//! a Role or ClusterRole only with rules they already hold (`ConfirmNoEscalation`)
//! unless they may `escalate` it, and bind a role only when they hold its rules or may
//! `bind` it (`BindingAuthorized`). Members of `system:masters` skip both.
//!
//! Entry points: [`covers`] (pure), [`check`] (a write, by the request's user).

use std::collections::BTreeSet;

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef};
use serde_json::Value;

use super::attributes::Attributes;
use super::rbac::{Policy, aggregate};
use super::rules::{ALL, rule, url_rule};
use super::{Authorizer, PRIVILEGED_GROUP, forbidden};
use crate::auth::User;
use crate::status::ApiError;
use crate::watchcache::WatchCaches;

const GROUP: &str = "rbac.authorization.k8s.io";

fn list(v: &Option<Vec<String>>) -> &[String] {
    v.as_deref().unwrap_or_default()
}

fn has(set: &[String], v: &str) -> bool {
    set.iter().any(|s| s == v)
}

fn has_all(set: &[String], values: &[String]) -> bool {
    values.iter().all(|v| has(set, v))
}

/// Upstream's `BreakdownRule`: one rule per group × resource × verb (× name), and per
/// URL × verb.
fn breakdown(r: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for g in list(&r.api_groups) {
        for res in list(&r.resources) {
            for v in &r.verbs {
                let base = rule(&[v], &[g], &[res]);
                if list(&r.resource_names).is_empty() {
                    out.push(base);
                } else {
                    for n in list(&r.resource_names) {
                        let mut one = base.clone();
                        one.resource_names = Some(vec![n.clone()]);
                        out.push(one);
                    }
                }
            }
        }
    }
    for u in list(&r.non_resource_urls) {
        for v in &r.verbs {
            out.push(url_rule(&[v], &[u]));
        }
    }
    out
}

fn resource_covers_all(owner: &[String], servant: &[String]) -> bool {
    if has(owner, ALL) || has_all(owner, servant) {
        return true;
    }
    servant.iter().all(|s| match s.split_once('/') {
        Some((_, sub)) => has(owner, &format!("*/{sub}")),
        None => false,
    })
}

fn url_covers(owner: &str, sub: &str) -> bool {
    owner == sub || (owner.ends_with('*') && sub.starts_with(owner.trim_end_matches('*')))
}

/// Upstream's `ruleCovers` for one broken-down rule.
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, ALL) || has_all(&owner.verbs, &sub.verbs);
    let groups = has(list(&owner.api_groups), ALL)
        || has_all(list(&owner.api_groups), list(&sub.api_groups));
    let resources = resource_covers_all(list(&owner.resources), list(&sub.resources));
    let urls = list(&sub.non_resource_urls).iter().all(|u| {
        list(&owner.non_resource_urls)
            .iter()
            .any(|o| url_covers(o, u))
    });
    let names = if list(&sub.resource_names).is_empty() {
        list(&owner.resource_names).is_empty()
    } else {
        list(&owner.resource_names).is_empty()
            || has_all(list(&owner.resource_names), list(&sub.resource_names))
    };
    verbs && groups && resources && names && urls
}

/// Upstream's `Covers`: whether `owner` rules hold every part of `servant`, and the
/// parts they do not.
pub fn covers(owner: &[PolicyRule], servant: &[PolicyRule]) -> (bool, Vec<PolicyRule>) {
    let missing: Vec<PolicyRule> = servant
        .iter()
        .flat_map(breakdown)
        .filter(|sub| !owner.iter().any(|o| rule_covers(o, sub)))
        .collect();
    (missing.is_empty(), missing)
}

/// Upstream's `CompactRules`: simple rules (one group, one resource, at most one name)
/// with the same target become one rule with all their verbs.
fn compact(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    for r in rules {
        let is_simple = list(&r.api_groups).len() == 1
            && list(&r.resources).len() == 1
            && list(&r.resource_names).len() <= 1
            && list(&r.non_resource_urls).is_empty();
        if !is_simple {
            out.push(r);
            continue;
        }
        let same = simple.iter_mut().find(|s| {
            s.api_groups == r.api_groups
                && s.resources == r.resources
                && list(&s.resource_names) == list(&r.resource_names)
        });
        match same {
            Some(s) => s.verbs.extend(r.verbs),
            None => simple.push(r),
        }
    }
    out.extend(simple);
    out
}

/// Go's `%q` of a string slice: `["a" "b"]`.
fn go_quoted(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(" "))
}

/// Upstream's `CompactString`.
fn compact_string(r: &PolicyRule) -> String {
    let mut parts = Vec::new();
    for (label, v) in [
        ("APIGroups", list(&r.api_groups)),
        ("Resources", list(&r.resources)),
        ("NonResourceURLs", list(&r.non_resource_urls)),
        ("ResourceNames", list(&r.resource_names)),
        ("Verbs", r.verbs.as_slice()),
    ] {
        if !v.is_empty() {
            parts.push(format!("{label}:{}", go_quoted(v)));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

/// Upstream's `ConfirmNoEscalation`: the message of the rules `user` would grant
/// without holding them, if any.
pub fn confirm_no_escalation(
    policy: &Policy,
    user: &User,
    namespace: &str,
    rules: &[PolicyRule],
) -> Result<(), String> {
    let (owned, errors) = policy.rules_for(user, namespace);
    let (ok, missing) = covers(&owned, rules);
    if ok {
        return Ok(());
    }
    let described: BTreeSet<String> = compact(missing).iter().map(compact_string).collect();
    let mut msg = format!(
        "user {:?} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        user.name,
        go_quoted(&user.groups),
        described.into_iter().collect::<Vec<_>>().join("\n")
    );
    if !errors.is_empty() {
        msg.push_str(&format!("; resolution errors: [{}]", aggregate(&errors)));
    }
    Err(msg)
}

fn full_authority() -> Vec<PolicyRule> {
    vec![rule(&[ALL], &[ALL], &[ALL]), url_rule(&[ALL], &[ALL])]
}

/// Checks a create or update of an RBAC object by the request's user (`old` is the
/// stored object of an update). Other kinds, and the server's own writes, pass.
pub fn check(
    authorizer: &Authorizer,
    caches: &WatchCaches,
    user: &User,
    resource: &str,
    namespace: &str,
    obj: &Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    if user.groups.iter().any(|g| g == PRIVILEGED_GROUP) {
        return Ok(());
    }
    if let Some(old) = old
        && only_gc_fields_change(obj, old)
    {
        return Ok(());
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let deny = |why: String| forbidden::status(GROUP, resource, name, &why);
    let allowed = |a: Attributes| authorizer.authorize(caches, &a).allowed();
    let policy = authorizer.policy(caches);
    match resource {
        "roles" | "clusterroles" => {
            let escalate =
                Attributes::resource(user, "escalate", GROUP, resource).named(namespace, name);
            if allowed(escalate) {
                return Ok(());
            }
            if resource == "clusterroles" && !obj["aggregationRule"].is_null() {
                return confirm_no_escalation(&policy, user, namespace, &full_authority()).map_err(
                    |_| {
                        deny("must have cluster-admin privileges to use the aggregationRule".into())
                    },
                );
            }
            let rules: Vec<PolicyRule> =
                serde_json::from_value(obj["rules"].clone()).unwrap_or_default();
            confirm_no_escalation(&policy, user, namespace, &rules).map_err(deny)
        }
        "rolebindings" | "clusterrolebindings" => {
            let Ok(role_ref) = serde_json::from_value::<RoleRef>(obj["roleRef"].clone()) else {
                return Ok(());
            };
            let plural = match role_ref.kind.as_str() {
                "ClusterRole" => "clusterroles",
                "Role" => "roles",
                _ => "",
            };
            let bind = Attributes::resource(user, "bind", &role_ref.api_group, plural)
                .named(namespace, &role_ref.name);
            if !plural.is_empty() && allowed(bind) {
                return Ok(());
            }
            let rules = policy
                .role_reference_rules(&role_ref, namespace)
                .map_err(|e| deny(aggregate(&[e])))?;
            confirm_no_escalation(&policy, user, namespace, &rules).map_err(deny)
        }
        _ => Ok(()),
    }
}

/// Upstream's `IsOnlyMutatingGCFields`: only owner references or finalizers differ.
fn only_gc_fields_change(obj: &Value, old: &Value) -> bool {
    let mut copy = old.clone();
    for f in ["ownerReferences", "finalizers"] {
        match obj["metadata"].get(f) {
            Some(v) => copy["metadata"][f] = v.clone(),
            None => {
                if let Some(m) = copy["metadata"].as_object_mut() {
                    m.remove(f);
                }
            }
        }
    }
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v["metadata"].as_object_mut() {
            for f in ["resourceVersion", "managedFields", "generation"] {
                m.remove(f);
            }
        }
        v
    };
    strip(&copy) == strip(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::rules::named;

    // Cases from upstream's policy_comparator_test.go.
    #[test]
    fn coverage_is_judged_rule_by_rule_as_upstream() {
        let pods = rule(&["get", "list"], &[""], &["pods"]);
        assert!(covers(&[rule(&["*"], &["*"], &["*"])], std::slice::from_ref(&pods)).0);
        assert!(
            covers(
                &[rule(
                    &["get", "list", "watch"],
                    &[""],
                    &["pods", "services"]
                )],
                std::slice::from_ref(&pods)
            )
            .0
        );
        let (ok, missing) = covers(
            &[rule(&["get"], &[""], &["pods"])],
            std::slice::from_ref(&pods),
        );
        assert!(!ok);
        assert_eq!(missing, vec![rule(&["list"], &[""], &["pods"])]);
        // A */sub rule covers that subresource of any resource, not the resource.
        let owner = [rule(&["get"], &[""], &["*/scale"])];
        assert!(covers(&owner, &[rule(&["get"], &[""], &["deployments/scale"])]).0);
        assert!(!covers(&owner, &[rule(&["get"], &[""], &["deployments"])]).0);
        // Named rules are covered by unnamed ones, not the reverse.
        let named_pod = named(rule(&["get"], &[""], &["pods"]), &["a"]);
        assert!(
            covers(
                &[rule(&["get"], &[""], &["pods"])],
                std::slice::from_ref(&named_pod)
            )
            .0
        );
        assert!(!covers(&[named_pod], &[rule(&["get"], &[""], &["pods"])]).0);
        // URLs: exact or under a trailing star.
        assert!(
            covers(
                &[url_rule(&["get"], &["/api/*"])],
                &[url_rule(&["get"], &["/api/v1"])]
            )
            .0
        );
        assert!(
            !covers(
                &[url_rule(&["get"], &["/api"])],
                &[url_rule(&["get"], &["/api/v1"])]
            )
            .0
        );
    }

    #[test]
    fn the_message_lists_the_missing_rules_compacted() {
        let user = User {
            name: "jane".into(),
            groups: vec!["devs".into(), "system:authenticated".into()],
            ..Default::default()
        };
        let policy = Policy::default();
        let err = confirm_no_escalation(
            &policy,
            &user,
            "web",
            &[
                rule(&["get", "list"], &[""], &["secrets"]),
                url_rule(&["get"], &["/healthz"]),
            ],
        )
        .unwrap_err();
        assert_eq!(
            err,
            "user \"jane\" (groups=[\"devs\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n\
             {APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"list\"]}\n{NonResourceURLs:[\"/healthz\"], Verbs:[\"get\"]}"
        );
    }
}
