//! Whether one RBAC rule allows a request: upstream's `rbac.RuleAllows` and the
//! `rbacv1helpers` matchers (wildcards, `*/scale`, resourceNames, trailing-`*` URLs).
//!
//! Entry points: [`rule_allows`], [`rules_allow`]. Pure functions over
//! `k8s_openapi::api::rbac::v1::PolicyRule`.

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::attributes::Attributes;

/// The wildcard that matches every verb, group, resource or URL.
pub const ALL: &str = "*";

fn list(v: &Option<Vec<String>>) -> &[String] {
    v.as_deref().unwrap_or_default()
}

pub fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == ALL || v == verb)
}

pub fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    list(&rule.api_groups)
        .iter()
        .any(|g| g == ALL || g == group)
}

/// `combined` is `resource/subresource` (or the resource alone); a rule's `*/sub`
/// matches that subresource of every resource.
pub fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    list(&rule.resources).iter().any(|r| {
        r == ALL
            || r == combined
            || (!subresource.is_empty()
                && r.len() == subresource.len() + 2
                && r.starts_with("*/")
                && r.ends_with(subresource))
    })
}

pub fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    let names = list(&rule.resource_names);
    names.is_empty() || names.iter().any(|n| n == name)
}

pub fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    list(&rule.non_resource_urls).iter().any(|u| {
        u == ALL || u == path || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*')))
    })
}

/// Upstream's `RuleAllows`.
pub fn rule_allows(a: &Attributes, rule: &PolicyRule) -> bool {
    if !a.resource_request {
        return verb_matches(rule, &a.verb) && non_resource_url_matches(rule, &a.path);
    }
    let combined = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    verb_matches(rule, &a.verb)
        && api_group_matches(rule, &a.api_group)
        && resource_matches(rule, &combined, &a.subresource)
        && resource_name_matches(rule, &a.name)
}

/// Upstream's `RulesAllow`: any of `rules`.
pub fn rules_allow(a: &Attributes, rules: &[PolicyRule]) -> bool {
    rules.iter().any(|r| rule_allows(a, r))
}

/// A rule from string slices, for tables of static rules and for tests.
pub fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
    let own = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    PolicyRule {
        verbs: own(verbs),
        api_groups: Some(own(groups)),
        resources: Some(own(resources)),
        ..Default::default()
    }
}

/// A non-resource rule from string slices.
pub fn url_rule(verbs: &[&str], urls: &[&str]) -> PolicyRule {
    let own = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    PolicyRule {
        verbs: own(verbs),
        non_resource_urls: Some(own(urls)),
        ..Default::default()
    }
}

/// Adds resource names to a rule.
pub fn named(mut r: PolicyRule, names: &[&str]) -> PolicyRule {
    r.resource_names = Some(names.iter().map(|x| x.to_string()).collect());
    r
}
