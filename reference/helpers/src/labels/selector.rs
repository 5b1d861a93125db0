//! The parsed label selector: upstream's `labels.Selector` with every operator
//! `labels.Parse` accepts, its matching and its `String()` form (the `Display` here).
//!
//! Entry points: [`LabelSelector::parse`] (a `?labelSelector=` string),
//! [`LabelSelector::from_api`] (the one conversion of a `metav1.LabelSelector`,
//! upstream's `LabelSelectorAsSelector`), [`LabelSelector::matches`].

use super::parse::{self, new_requirement};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector as ApiLabelSelector, LabelSelectorRequirement,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

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

impl Requirement {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.op {
            Operator::Equals | Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotEquals | Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), Some(want)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.op == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = self.values.first().map(String::as_str).unwrap_or_default();
        match self.op {
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::Equals => write!(f, "{}={one}", self.key),
            Operator::NotEquals => write!(f, "{}!={one}", self.key),
            Operator::GreaterThan => write!(f, "{}>{one}", self.key),
            Operator::LessThan => write!(f, "{}<{one}", self.key),
            Operator::In | Operator::NotIn => {
                let mut vals = self.values.clone();
                vals.sort();
                let op = if self.op == Operator::In {
                    "in"
                } else {
                    "notin"
                };
                write!(f, "{} {op} ({})", self.key, vals.join(","))
            }
        }
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.requirements.iter().map(ToString::to_string).collect();
        write!(f, "{}", parts.join(","))
    }
}

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h,i>1` as upstream does.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut requirements = parse::parse(s).map_err(SelectorError)?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    /// `LabelSelectorAsSelector` with its error messages: matchLabels as equality
    /// requirements, matchExpressions (In, NotIn, Exists, DoesNotExist) ANDed with them.
    /// An empty selector matches everything.
    pub fn from_api(sel: &ApiLabelSelector) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            requirements.push(
                new_requirement(k.clone(), Operator::Equals, vec![v.clone()])
                    .map_err(SelectorError)?,
            );
        }
        for expr in sel.match_expressions.iter().flatten() {
            let op = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError(format!(
                        "{other:?} is not a valid label selector operator"
                    )));
                }
            };
            let values = expr.values.clone().unwrap_or_default();
            if matches!(op, Operator::Exists | Operator::DoesNotExist) && !values.is_empty() {
                return Err(SelectorError(
                    "values: Invalid value: values set must be empty for exists and does not exist"
                        .into(),
                ));
            }
            requirements
                .push(new_requirement(expr.key.clone(), op, values).map_err(SelectorError)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    /// [`Self::from_api`] on a `metav1.LabelSelector` still in JSON (the API server holds
    /// objects untyped). A null selector is `None` (matches nothing, as upstream); fields
    /// of the wrong type read as empty, so the error is the one the conversion reports.
    pub fn from_object(v: &Value) -> Result<Option<Self>, SelectorError> {
        if v.is_null() {
            return Ok(None);
        }
        let obj = v
            .as_object()
            .ok_or_else(|| SelectorError("label selector must be an object".into()))?;
        let str_of = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let match_labels = obj.get("matchLabels").and_then(Value::as_object).map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), str_of(Some(v))))
                .collect()
        });
        let match_expressions = obj
            .get("matchExpressions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|expr| LabelSelectorRequirement {
                        key: str_of(expr.get("key")),
                        operator: str_of(expr.get("operator")),
                        values: Some(
                            expr.get("values")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect(),
                        ),
                    })
                    .collect()
            });
        let api = ApiLabelSelector {
            match_labels,
            match_expressions,
        };
        Self::from_api(&api).map(Some)
    }

    /// Builds the equality selector of a plain map (`spec.selector` of an RC or a Service).
    pub fn from_map(map: &BTreeMap<String, String>) -> Self {
        let requirements = map
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                op: Operator::Equals,
                values: vec![v.clone()],
            })
            .collect();
        Self { requirements }
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Matches an object's `metadata.labels`.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches(&object_labels(obj))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// An object's `metadata.labels` as a map, from JSON (non-string values are ignored).
pub fn object_labels(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "selector_tests.rs"]
mod tests;
