//! Label selector matching, on `kube-core`'s `Selector` (the well-kept implementation of
//! apimachinery's `labels.Selector` for `metav1.LabelSelector`).
//!
//! Two rules decide what "no selector" means, as upstream's callers do: a nil
//! `metav1.LabelSelector` selects nothing (`LabelSelectorAsSelector(nil)`), and an empty
//! map selector (a Service's or ReplicationController's `spec.selector`) selects nothing.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
pub use kube_core::{Selector, SelectorExt};

/// Errors turning an API label selector into a matcher.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectorError {
    /// A matchExpressions entry had an unknown operator or missing values.
    #[error("invalid label selector: {0}")]
    Invalid(String),
}

/// An object's labels (an empty map if it has none).
pub fn labels_of(labels: &Option<BTreeMap<String, String>>) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    labels.as_ref().unwrap_or(&EMPTY)
}

/// `LabelSelectorAsSelector`: `None` (selects nothing) for a nil selector.
pub fn from_label_selector(sel: Option<&LabelSelector>) -> Result<Option<Selector>, SelectorError> {
    match sel {
        None => Ok(None),
        Some(s) => Selector::try_from(s.clone())
            .map(Some)
            .map_err(|e| SelectorError::Invalid(e.to_string())),
    }
}

/// A map selector; an empty or missing map selects nothing.
pub fn from_map(map: Option<&BTreeMap<String, String>>) -> Option<Selector> {
    let map = map.filter(|m| !m.is_empty())?;
    Some(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// Does `sel` select these labels? `None` selects nothing.
pub fn matches(sel: Option<&Selector>, labels: Option<&BTreeMap<String, String>>) -> bool {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    sel.is_some_and(|s| s.matches(labels.unwrap_or(&EMPTY)))
}

/// A `metav1.LabelSelector` against labels in one step: nil or unconvertible selectors
/// select nothing, an empty one everything.
pub fn label_selector_matches(
    sel: Option<&LabelSelector>,
    labels: &BTreeMap<String, String>,
) -> bool {
    from_label_selector(sel)
        .ok()
        .flatten()
        .is_some_and(|s| s.matches(labels))
}

/// A map selector against labels in one step (empty selects nothing).
pub fn map_selector_matches(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    matches(from_map(Some(selector)).as_ref(), Some(labels))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn selector(v: serde_json::Value) -> LabelSelector {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_nil_selector_selects_nothing_and_an_empty_one_everything() {
        let l = labels(&[("app", "web")]);
        assert!(!label_selector_matches(None, &l));
        assert!(label_selector_matches(Some(&LabelSelector::default()), &l));
        assert!(!matches(
            from_label_selector(None).unwrap().as_ref(),
            Some(&l)
        ));
    }

    #[test]
    fn an_empty_map_selector_selects_nothing() {
        let l = labels(&[("app", "web")]);
        assert!(from_map(Some(&BTreeMap::new())).is_none());
        assert!(!map_selector_matches(&BTreeMap::new(), &l));
        assert!(map_selector_matches(&labels(&[("app", "web")]), &l));
        assert!(!map_selector_matches(&labels(&[("app", "db")]), &l));
    }

    /// The operators of `metav1.LabelSelectorRequirement`, as apimachinery's
    /// `TestLabelSelectorAsSelector` / `labels.Requirement.Matches` define them.
    #[test]
    fn expressions_are_anded_with_match_labels() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        let cases = [
            (json!({"matchLabels": {"app": "web"}}), true),
            (json!({"matchLabels": {"app": "db"}}), false),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}),
                false,
            ),
            (
                json!({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}),
                false,
            ),
            (
                json!({"matchLabels": {"app": "web"},
                    "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}),
                false,
            ),
            (
                json!({"matchExpressions": [{"key": "app", "operator": "Bogus", "values": ["web"]}]}),
                false,
            ),
        ];
        for (sel, want) in cases {
            assert_eq!(
                label_selector_matches(Some(&selector(sel.clone())), &l),
                want,
                "{sel}"
            );
        }
        let bogus = selector(json!({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}));
        assert!(from_label_selector(Some(&bogus)).is_err());
    }
}
