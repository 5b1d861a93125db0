//! Matching rules shared by several plugins: label selectors, node selector terms (the
//! `component-helpers` nodeaffinity rules), and taint tolerations.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

/// Labels of an object (empty map if none).
pub fn labels_of(labels: &Option<BTreeMap<String, String>>) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    labels.as_ref().unwrap_or(&EMPTY)
}

/// A metav1 LabelSelector converted for matching: `None` selects nothing (a nil selector
/// in an affinity term or spread constraint), `Some(empty)` selects everything.
/// An invalid operator makes the selector select nothing, as a failed conversion does.
pub fn label_selector_matches(
    selector: Option<&LabelSelector>,
    labels: &BTreeMap<String, String>,
) -> bool {
    let Some(selector) = selector else {
        return false;
    };
    let labels_ok = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    labels_ok
        && selector
            .match_expressions
            .iter()
            .flatten()
            .all(|r| requirement_matches(r, labels))
}

fn requirement_matches(r: &LabelSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    let value = labels.get(&r.key);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}

/// A plain equality map selector (Service / RC `spec.selector`): an empty map selects
/// nothing here, matching upstream's treatment of selector-less services.
pub fn map_selector_matches(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// One node selector requirement against a label map (`In`, `NotIn`, `Exists`,
/// `DoesNotExist`, `Gt`, `Lt`).
pub fn node_requirement_matches(
    r: &NodeSelectorRequirement,
    labels: &BTreeMap<String, String>,
) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    let value = labels.get(&r.key);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let [want] = values else { return false };
            let (Some(have), Ok(want)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                want.parse::<i64>(),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                have > want
            } else {
                have < want
            }
        }
        _ => false,
    }
}

/// matchFields: only `metadata.name` with `In`/`NotIn` and exactly one value is valid;
/// anything else fails to parse, and a term that fails to parse matches nothing.
fn field_requirement_matches(r: &NodeSelectorRequirement, node_name: &str) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    if r.key != "metadata.name" || values.len() != 1 {
        return false;
    }
    match r.operator.as_str() {
        "In" => values[0] == node_name,
        "NotIn" => values[0] != node_name,
        _ => false,
    }
}

/// A term with neither expressions nor fields matches nothing; otherwise all of them.
pub fn node_selector_term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let labels = labels_of(&node.metadata.labels);
    let name = node.metadata.name.as_deref().unwrap_or("");
    exprs.iter().all(|r| node_requirement_matches(r, labels))
        && fields.iter().all(|r| field_requirement_matches(r, name))
}

/// Terms are ORed.
pub fn node_selector_terms_match(terms: &[NodeSelectorTerm], node: &Node) -> bool {
    terms.iter().any(|t| node_selector_term_matches(t, node))
}

/// The pod's `nodeSelector` AND required node affinity (upstream `RequiredNodeAffinity`).
pub fn pod_matches_node_selector_and_affinity(pod: &Pod, node: &Node) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return true;
    };
    let labels = labels_of(&node.metadata.labels);
    let selector_ok = spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    if !selector_ok {
        return false;
    }
    match required_node_affinity_terms(pod) {
        Some(terms) => node_selector_terms_match(terms, node),
        None => true,
    }
}

/// `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`.
pub fn required_node_affinity_terms(pod: &Pod) -> Option<&[NodeSelectorTerm]> {
    pod.spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .map(|s| s.node_selector_terms.as_slice())
}

/// Upstream `Toleration.ToleratesTaint`.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    let tol_value = toleration.value.as_deref().unwrap_or("");
    let taint_value = taint.value.as_deref().unwrap_or("");
    match toleration.operator.as_deref().unwrap_or("") {
        "" | "Equal" => tol_value == taint_value,
        "Exists" => true,
        "Lt" | "Gt" => {
            let (Ok(t), Ok(v)) = (taint_value.parse::<i64>(), tol_value.parse::<i64>()) else {
                return false;
            };
            if toleration.operator.as_deref() == Some("Lt") {
                t < v
            } else {
                t > v
            }
        }
        _ => false,
    }
}

/// True if any toleration tolerates the taint.
pub fn tolerations_tolerate(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// The pod's tolerations (empty if none).
pub fn pod_tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or(&[])
}

/// The node's taints (empty if none).
pub fn node_taints(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(labels: serde_json::Value) -> Node {
        serde_json::from_value(json!({"metadata": {"name": "n1", "labels": labels}})).unwrap()
    }

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn not_in_matches_a_node_without_the_key() {
        let labels = BTreeMap::new();
        assert!(node_requirement_matches(
            &req("zone", "NotIn", &["a"]),
            &labels
        ));
        assert!(!node_requirement_matches(
            &req("zone", "In", &["a"]),
            &labels
        ));
    }

    #[test]
    fn gt_and_lt_compare_as_integers_and_unparsable_values_never_match() {
        let labels: BTreeMap<String, String> = [("cores".to_string(), "8".to_string())].into();
        assert!(node_requirement_matches(
            &req("cores", "Gt", &["4"]),
            &labels
        ));
        assert!(!node_requirement_matches(
            &req("cores", "Gt", &["8"]),
            &labels
        ));
        assert!(node_requirement_matches(
            &req("cores", "Lt", &["10"]),
            &labels
        ));
        assert!(!node_requirement_matches(
            &req("cores", "Lt", &["x"]),
            &labels
        ));
        let bad: BTreeMap<String, String> = [("cores".to_string(), "eight".to_string())].into();
        assert!(!node_requirement_matches(&req("cores", "Gt", &["4"]), &bad));
        assert!(!node_requirement_matches(
            &req("cores", "Gt", &["4", "5"]),
            &labels
        ));
    }

    #[test]
    fn an_empty_term_matches_nothing_and_fields_match_the_node_name() {
        let n = node(json!({}));
        assert!(!node_selector_term_matches(
            &NodeSelectorTerm::default(),
            &n
        ));
        let by_name = NodeSelectorTerm {
            match_fields: Some(vec![req("metadata.name", "In", &["n1"])]),
            ..NodeSelectorTerm::default()
        };
        assert!(node_selector_term_matches(&by_name, &n));
        let two_values = NodeSelectorTerm {
            match_fields: Some(vec![req("metadata.name", "In", &["n1", "n2"])]),
            ..NodeSelectorTerm::default()
        };
        assert!(!node_selector_term_matches(&two_values, &n));
    }

    #[test]
    fn tolerations_follow_upstream_matching() {
        let taint = Taint {
            key: "k".into(),
            value: Some("v".into()),
            effect: "NoSchedule".into(),
            ..Taint::default()
        };
        let tol = |key: &str, op: &str, value: &str, effect: &str| Toleration {
            key: Some(key.into()),
            operator: Some(op.into()),
            value: Some(value.into()),
            effect: Some(effect.into()),
            ..Toleration::default()
        };
        assert!(tolerates(&tol("k", "Equal", "v", "NoSchedule"), &taint));
        assert!(tolerates(&tol("k", "", "v", ""), &taint));
        assert!(!tolerates(&tol("k", "Equal", "w", ""), &taint));
        assert!(tolerates(&tol("", "Exists", "", ""), &taint));
        assert!(!tolerates(&tol("k", "Exists", "", "NoExecute"), &taint));
        assert!(!tolerates(&tol("k", "Weird", "v", ""), &taint));
    }

    #[test]
    fn a_nil_label_selector_selects_nothing_and_an_empty_one_everything() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
        assert!(!label_selector_matches(None, &labels));
        assert!(label_selector_matches(
            Some(&LabelSelector::default()),
            &labels
        ));
    }

    #[test]
    fn every_node_selector_operator_follows_the_labels_package() {
        let labels: BTreeMap<String, String> = [
            ("zone".to_string(), "a".to_string()),
            ("n".to_string(), "5".to_string()),
        ]
        .into();
        let cases = [
            (req("zone", "In", &["a", "b"]), true),
            (req("zone", "In", &["b"]), false),
            (req("zone", "NotIn", &["b"]), true),
            (req("zone", "NotIn", &["a"]), false),
            (req("zone", "Exists", &[]), true),
            (req("rack", "Exists", &[]), false),
            (req("rack", "DoesNotExist", &[]), true),
            (req("zone", "DoesNotExist", &[]), false),
            (req("n", "Gt", &["4"]), true),
            (req("n", "Lt", &["5"]), false),
            (req("rack", "Gt", &["1"]), false),
            (req("zone", "Bogus", &["a"]), false),
        ];
        for (r, want) in cases {
            assert_eq!(
                node_requirement_matches(&r, &labels),
                want,
                "{} {} {:?}",
                r.key,
                r.operator,
                r.values
            );
        }
    }

    #[test]
    fn integer_toleration_operators_compare_taint_and_toleration_values() {
        let taint = Taint {
            key: "level".into(),
            value: Some("5".into()),
            effect: "NoSchedule".into(),
            ..Taint::default()
        };
        let tol = |op: &str, v: &str| Toleration {
            key: Some("level".into()),
            operator: Some(op.into()),
            value: Some(v.into()),
            ..Toleration::default()
        };
        assert!(tolerates(&tol("Lt", "6"), &taint));
        assert!(!tolerates(&tol("Lt", "5"), &taint));
        assert!(tolerates(&tol("Gt", "4"), &taint));
        assert!(!tolerates(&tol("Gt", "x"), &taint));
    }

    #[test]
    fn label_selector_expressions_are_anded_with_match_labels() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
        let sel: LabelSelector = serde_json::from_value(json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}))
        .unwrap();
        assert!(label_selector_matches(Some(&sel), &labels));
        let sel: LabelSelector = serde_json::from_value(json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}))
        .unwrap();
        assert!(!label_selector_matches(Some(&sel), &labels));
    }
}
