//! Label selectors, the only copy: the `?labelSelector=` parser ([`LabelSelector::parse`]), the parsed
//! selector with its matching and printing ([`LabelSelector`]), and the helpers the
//! components match with, on `kube-core`'s `Selector` (the well-kept `SelectorExt`).
//!
//! A `metav1.LabelSelector` becomes a matcher in one place, [`LabelSelector::from_api`]
//! (upstream's `LabelSelectorAsSelector`); [`from_label_selector`] hands its result to
//! the components as a `kube-core` `Selector`.
//!
//! Two rules decide what "no selector" means, as upstream's callers do: a nil
//! `metav1.LabelSelector` selects nothing (`LabelSelectorAsSelector(nil)`), and an empty
//! map selector (a Service's or ReplicationController's `spec.selector`) selects nothing.

mod parse;
mod selector;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as ApiLabelSelector;
use kube_core::Expression;
pub use kube_core::{Selector, SelectorExt};
pub use selector::{LabelSelector, Operator, Requirement, SelectorError, object_labels};

/// An object's labels (an empty map if it has none).
pub fn labels_of(labels: &Option<BTreeMap<String, String>>) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    labels.as_ref().unwrap_or(&EMPTY)
}

/// `LabelSelectorAsSelector`: `None` (selects nothing) for a nil selector.
pub fn from_label_selector(
    sel: Option<&ApiLabelSelector>,
) -> Result<Option<Selector>, SelectorError> {
    sel.map(|s| LabelSelector::from_api(s).and_then(|p| to_kube(&p)))
        .transpose()
        .map_err(|e| SelectorError(format!("invalid label selector: {}", e.0)))
}

/// The same requirements as `kube-core` expressions. `metav1.LabelSelector` has no
/// `Gt`/`Lt`, so those only reach here from a parsed string and are refused.
fn to_kube(sel: &LabelSelector) -> Result<Selector, SelectorError> {
    sel.requirements
        .iter()
        .map(|r| {
            let key = r.key.clone();
            let one = || r.values.first().cloned().unwrap_or_default();
            let set = || r.values.iter().cloned().collect();
            Ok(match r.op {
                Operator::Equals => Expression::Equal(key, one()),
                Operator::NotEquals => Expression::NotEqual(key, one()),
                Operator::In => Expression::In(key, set()),
                Operator::NotIn => Expression::NotIn(key, set()),
                Operator::Exists => Expression::Exists(key),
                Operator::DoesNotExist => Expression::DoesNotExist(key),
                Operator::GreaterThan | Operator::LessThan => {
                    return Err(SelectorError(format!("{r}: kube-core has no Gt/Lt")));
                }
            })
        })
        .collect()
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
    sel: Option<&ApiLabelSelector>,
    labels: &BTreeMap<String, String>,
) -> bool {
    sel.and_then(|s| LabelSelector::from_api(s).ok())
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

    fn selector(v: serde_json::Value) -> ApiLabelSelector {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_nil_selector_selects_nothing_and_an_empty_one_everything() {
        let l = labels(&[("app", "web")]);
        assert!(!label_selector_matches(None, &l));
        assert!(label_selector_matches(
            Some(&ApiLabelSelector::default()),
            &l
        ));
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

    /// The components' `kube-core` selector comes from the same conversion the API server
    /// uses, so both refuse what `LabelSelectorAsSelector` refuses, with its words.
    #[test]
    fn components_and_the_api_server_convert_alike() {
        let cases = [
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}),
                "\"Bogus\" is not a valid label selector operator",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": []}]}),
                "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
                "values: Invalid value: values set must be empty for exists and does not exist",
            ),
        ];
        for (sel, want) in cases {
            let api = LabelSelector::from_object(&sel).unwrap_err();
            assert_eq!(api.0, want);
            let component = from_label_selector(Some(&selector(sel))).unwrap_err();
            assert_eq!(component.0, format!("invalid label selector: {want}"));
        }
        let sel = json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]});
        let ours = LabelSelector::from_object(&sel).unwrap().unwrap();
        let kube = from_label_selector(Some(&selector(sel))).unwrap().unwrap();
        assert_eq!(kube.to_string(), ours.to_string());
        for l in [
            labels(&[("app", "web")]),
            labels(&[("app", "web"), ("tier", "db")]),
            labels(&[("tier", "fe")]),
        ] {
            assert_eq!(kube.matches(&l), ours.matches(&l), "{l:?}");
        }
    }
}
