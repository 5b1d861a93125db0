//! Label selector matching on top of `kube::core::Selector`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::core::{Selector, SelectorExt};

/// Errors turning an API label selector into a matcher.
#[derive(Debug, thiserror::Error)]
pub enum SelectorError {
    /// A matchExpressions entry had an unknown operator or missing values.
    #[error("invalid label selector: {0}")]
    Invalid(String),
}

/// Converts an API selector; `None` selects nothing, as `LabelSelectorAsSelector(nil)` does.
pub fn from_label_selector(sel: Option<&LabelSelector>) -> Result<Option<Selector>, SelectorError> {
    match sel {
        None => Ok(None),
        Some(s) => Selector::try_from(s.clone())
            .map(Some)
            .map_err(|e| SelectorError::Invalid(e.to_string())),
    }
}

/// Converts a map selector (ReplicationController, Service); an empty map selects nothing
/// here, because for those kinds an empty selector means "not managed".
pub fn from_map(map: Option<&BTreeMap<String, String>>) -> Option<Selector> {
    let map = map.filter(|m| !m.is_empty())?;
    Some(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// Does `sel` select these labels? `None` selects nothing.
pub fn matches(sel: Option<&Selector>, labels: Option<&BTreeMap<String, String>>) -> bool {
    let empty = BTreeMap::new();
    sel.is_some_and(|s| s.matches(labels.unwrap_or(&empty)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nil_selector_selects_nothing_and_an_empty_one_everything() {
        let labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
        assert!(!matches(
            from_label_selector(None).unwrap().as_ref(),
            Some(&labels)
        ));
        let all = from_label_selector(Some(&LabelSelector::default())).unwrap();
        assert!(matches(all.as_ref(), Some(&labels)));
    }

    #[test]
    fn an_empty_map_selector_selects_nothing() {
        assert!(from_map(Some(&BTreeMap::new())).is_none());
        let sel = from_map(Some(&BTreeMap::from([("app".into(), "web".into())])));
        assert!(matches(
            sel.as_ref(),
            Some(&BTreeMap::from([("app".into(), "web".into())]))
        ));
    }
}
