//! The aggregation decision of upstream's `ClusterRoleAggregationController.syncClusterRole`:
//! the rules of every ClusterRole a selector picks (in name order, each rule once,
//! never the role's own), or nothing to do when the role already holds exactly those.

use std::sync::Arc;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use refkube_helpers::labels::{label_selector_matches, labels_of};

/// The rules `role` should hold, or `None` if it is not aggregated or already right.
pub fn aggregate(role: &ClusterRole, all: &[Arc<ClusterRole>]) -> Option<Vec<PolicyRule>> {
    let selectors = role
        .aggregation_rule
        .as_ref()?
        .cluster_role_selectors
        .as_deref()
        .unwrap_or_default();
    let own_name = role.metadata.name.as_deref().unwrap_or_default();
    let mut rules: Vec<PolicyRule> = Vec::new();
    for selector in selectors {
        let mut picked: Vec<&Arc<ClusterRole>> = all
            .iter()
            .filter(|r| label_selector_matches(Some(selector), labels_of(&r.metadata.labels)))
            .collect();
        picked.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        for other in picked {
            if other.metadata.name.as_deref() == Some(own_name) {
                continue;
            }
            for rule in other.rules.iter().flatten() {
                if !rules.contains(rule) {
                    rules.push(rule.clone());
                }
            }
        }
    }
    // Go compares semantically: no rules and an empty list are the same.
    let current = role.rules.as_deref().unwrap_or_default();
    (current != rules.as_slice()).then_some(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(v: serde_json::Value) -> Arc<ClusterRole> {
        Arc::new(serde_json::from_value(v).unwrap())
    }

    fn get(resource: &str) -> serde_json::Value {
        json!({"verbs": ["get"], "apiGroups": [""], "resources": [resource]})
    }

    fn aggregated(rules: serde_json::Value) -> Arc<ClusterRole> {
        role(
            json!({"metadata": {"name": "view", "labels": {"to-edit": "true"}},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-view": "true"}}]},
            "rules": rules}),
        )
    }

    /// What the case is, the role synced, the other roles, the rules expected.
    type Case = (
        &'static str,
        Arc<ClusterRole>,
        Vec<Arc<ClusterRole>>,
        Option<serde_json::Value>,
    );

    #[test]
    fn aggregation_table() {
        let pods = role(
            json!({"metadata": {"name": "b-pods", "labels": {"to-view": "true"}}, "rules": [get("pods")]}),
        );
        let more = role(
            json!({"metadata": {"name": "a-more", "labels": {"to-view": "true"}},
            "rules": [get("secrets"), get("pods")]}),
        );
        let unlabelled = role(json!({"metadata": {"name": "c"}, "rules": [get("nodes")]}));
        let plain = role(json!({"metadata": {"name": "plain"}, "rules": [get("x")]}));
        let cases: Vec<Case> = vec![
            (
                "not aggregated: untouched",
                plain.clone(),
                vec![plain.clone(), pods.clone()],
                None,
            ),
            (
                "name order, each rule once, unlabelled roles ignored",
                aggregated(json!([])),
                vec![pods.clone(), unlabelled.clone(), more.clone()],
                Some(json!([get("secrets"), get("pods")])),
            ),
            (
                "already right: nothing to write",
                aggregated(json!([get("secrets"), get("pods")])),
                vec![pods.clone(), more.clone()],
                None,
            ),
            (
                "a role's own rules are replaced, so removed ones go",
                aggregated(json!([get("secrets"), get("pods"), get("gone")])),
                vec![pods.clone(), more.clone()],
                Some(json!([get("secrets"), get("pods")])),
            ),
            (
                "nothing selected: emptied",
                aggregated(json!([get("old")])),
                vec![unlabelled.clone()],
                Some(json!([])),
            ),
            (
                "nothing selected and empty: nothing to write",
                aggregated(serde_json::Value::Null),
                vec![],
                None,
            ),
        ];
        for (what, target, mut all, want) in cases {
            all.push(target.clone());
            let got = aggregate(&target, &all).map(|r| serde_json::to_value(r).unwrap());
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn a_role_that_selects_itself_does_not_feed_on_its_own_rules() {
        let me = role(
            json!({"metadata": {"name": "self", "labels": {"to-view": "true"}},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-view": "true"}}]},
            "rules": [get("stale")]}),
        );
        let got = aggregate(&me, std::slice::from_ref(&me)).unwrap();
        assert!(got.is_empty());
    }

    #[test]
    fn several_selectors_add_up() {
        let target = role(json!({"metadata": {"name": "t"},
            "aggregationRule": {"clusterRoleSelectors": [
                {"matchLabels": {"a": "1"}},
                {"matchExpressions": [{"key": "b", "operator": "Exists"}]}]}}));
        let a =
            role(json!({"metadata": {"name": "a", "labels": {"a": "1"}}, "rules": [get("pods")]}));
        let b =
            role(json!({"metadata": {"name": "b", "labels": {"b": "x"}}, "rules": [get("nodes")]}));
        let got = aggregate(&target, &[a, b, target.clone()]).unwrap();
        assert_eq!(
            serde_json::to_value(got).unwrap(),
            json!([get("pods"), get("nodes")])
        );
    }
}
