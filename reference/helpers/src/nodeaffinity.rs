//! Node selection as component-helpers' `scheduling/corev1/nodeaffinity` does it: a
//! pod's `nodeSelector` and required node affinity ([`RequiredNodeAffinity`]), node
//! selector terms ([`NodeSelector`]) and preferred terms ([`PreferredSchedulingTerms`]).
//!
//! A term is parsed once; a term that fails to parse (unknown operator, wrong number of
//! values, a non-integer `Gt`/`Lt` bound) matches nothing, and an empty term matches
//! nothing. Terms are ORed, requirements within a term ANDed.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, PreferredSchedulingTerm,
};

/// A requirement that does not parse, printed as upstream's `field.Error`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum FieldError {
    /// `field.Invalid`.
    #[error("{field}: Invalid value: {value}: {detail}")]
    Invalid {
        field: String,
        /// The bad value, Go-quoted.
        value: String,
        detail: String,
    },
    /// `field.NotSupported`.
    #[error("{field}: Unsupported value: {value:?}: supported values: {supported}")]
    Unsupported {
        field: String,
        value: String,
        supported: &'static str,
    },
}

fn invalid(field: String, value: &impl std::fmt::Debug, detail: impl Into<String>) -> FieldError {
    FieldError::Invalid {
        field,
        value: format!("{value:?}"),
        detail: detail.into(),
    }
}

/// One `matchExpressions` requirement, parsed like `labels.NewRequirement`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LabelRequirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
    Gt(String, i64),
    Lt(String, i64),
}

impl LabelRequirement {
    fn parse(r: &NodeSelectorRequirement, path: &str) -> Result<Self, FieldError> {
        let values = r.values.clone().unwrap_or_default();
        let key = r.key.clone();
        if !is_qualified_name(&key) {
            return Err(invalid(format!("{path}.key"), &key, NAME_PART_MSG));
        }
        if let Some(bad) = values.iter().find(|v| !is_label_value(v)) {
            return Err(invalid(
                format!("{path}.values"),
                bad,
                format!("a valid label must be an empty string or {NAME_PART_MSG}"),
            ));
        }
        let bound = |values: &[String]| match values {
            [v] => v
                .parse::<i64>()
                .map_err(|_| invalid(format!("{path}.values[0]"), v, "must be an integer")),
            _ => Err(invalid(
                format!("{path}.values"),
                &values,
                "for 'Gt', 'Lt' operators, exactly one value is required",
            )),
        };
        let need_values = |values: Vec<String>| {
            if values.is_empty() {
                Err(invalid(
                    format!("{path}.values"),
                    &values,
                    "for 'in', 'notin' operators, values set can't be empty",
                ))
            } else {
                Ok(values)
            }
        };
        let no_values = |values: &[String]| {
            if values.is_empty() {
                Ok(())
            } else {
                Err(invalid(
                    format!("{path}.values"),
                    &values,
                    "values set must be empty for exists and does not exist",
                ))
            }
        };
        Ok(match r.operator.as_str() {
            "In" => LabelRequirement::In(key, need_values(values)?),
            "NotIn" => LabelRequirement::NotIn(key, need_values(values)?),
            "Exists" => {
                no_values(&values)?;
                LabelRequirement::Exists(key)
            }
            "DoesNotExist" => {
                no_values(&values)?;
                LabelRequirement::DoesNotExist(key)
            }
            "Gt" => LabelRequirement::Gt(key, bound(&values)?),
            "Lt" => LabelRequirement::Lt(key, bound(&values)?),
            other => {
                return Err(FieldError::Unsupported {
                    field: format!("{path}.operator"),
                    value: other.to_string(),
                    supported: r#""In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt""#,
                });
            }
        })
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            LabelRequirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            LabelRequirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            LabelRequirement::Exists(k) => labels.contains_key(k),
            LabelRequirement::DoesNotExist(k) => !labels.contains_key(k),
            LabelRequirement::Gt(k, bound) => int_label(labels, k).is_some_and(|v| v > *bound),
            LabelRequirement::Lt(k, bound) => int_label(labels, k).is_some_and(|v| v < *bound),
        }
    }
}

const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters, or empty.
fn is_label_value(v: &str) -> bool {
    let b = v.as_bytes();
    v.len() <= 63
        && (b.is_empty()
            || (b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))))
}

/// A label key: an optional DNS subdomain prefix and `/`, then a non-empty name part.
fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|l| {
                let b = l.as_bytes();
                !b.is_empty()
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            })
    });
    prefix_ok && !name.is_empty() && is_label_value(name)
}

fn int_label(labels: &BTreeMap<String, String>, key: &str) -> Option<i64> {
    labels.get(key)?.parse().ok()
}

/// One `matchFields` requirement: a one-term field selector on the node's fields, of
/// which only `metadata.name` exists.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldRequirement {
    key: String,
    value: String,
    equal: bool,
}

impl FieldRequirement {
    fn parse(r: &NodeSelectorRequirement, path: &str) -> Result<Self, FieldError> {
        let equal = match r.operator.as_str() {
            "In" => true,
            "NotIn" => false,
            other => {
                return Err(FieldError::Unsupported {
                    field: format!("{path}.operator"),
                    value: other.to_string(),
                    supported: r#""In", "NotIn""#,
                });
            }
        };
        match r.values.as_deref().unwrap_or(&[]) {
            [value] => Ok(FieldRequirement {
                key: r.key.clone(),
                value: value.clone(),
                equal,
            }),
            values => Err(invalid(
                format!("{path}.values"),
                &values,
                "must have one element",
            )),
        }
    }

    fn matches(&self, node_name: &str) -> bool {
        // An absent field reads as "", as in a `fields.Set`.
        let actual = if self.key == "metadata.name" {
            node_name
        } else {
            ""
        };
        (actual == self.value) == self.equal
    }
}

/// A parsed node selector term, or why it does not parse.
#[derive(Clone, Debug)]
struct Term(Result<(Vec<LabelRequirement>, Vec<FieldRequirement>), Vec<FieldError>>);

impl Term {
    fn parse(term: &NodeSelectorTerm, path: &str) -> Term {
        let mut errs = Vec::new();
        let labels: Vec<_> = numbered(&term.match_expressions, path, "matchExpressions")
            .filter_map(|(r, p)| {
                LabelRequirement::parse(r, &p)
                    .map_err(|e| errs.push(e))
                    .ok()
            })
            .collect();
        let fields: Vec<_> = numbered(&term.match_fields, path, "matchFields")
            .filter_map(|(r, p)| {
                FieldRequirement::parse(r, &p)
                    .map_err(|e| errs.push(e))
                    .ok()
            })
            .collect();
        Term(if errs.is_empty() {
            Ok((labels, fields))
        } else {
            Err(errs)
        })
    }

    fn matches(&self, node: &Node) -> Result<bool, &[FieldError]> {
        let (labels, fields) = self.0.as_ref().map_err(Vec::as_slice)?;
        let node_labels = node_labels(node);
        let name = node.metadata.name.as_deref().unwrap_or("");
        // A node without a name has no fields, and then matchFields is not consulted.
        Ok(labels.iter().all(|r| r.matches(node_labels))
            && (name.is_empty() || fields.iter().all(|r| r.matches(name))))
    }
}

/// Requirements with their field paths (`<path>.<what>[i]`).
fn numbered<'a>(
    reqs: &'a Option<Vec<NodeSelectorRequirement>>,
    path: &'a str,
    what: &'a str,
) -> impl Iterator<Item = (&'a NodeSelectorRequirement, String)> + 'a {
    reqs.iter()
        .flatten()
        .enumerate()
        .map(move |(i, r)| (r, format!("{path}.{what}[{i}]")))
}

fn is_empty(term: &NodeSelectorTerm) -> bool {
    term.match_expressions.as_ref().is_none_or(Vec::is_empty)
        && term.match_fields.as_ref().is_none_or(Vec::is_empty)
}

fn node_labels(node: &Node) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    node.metadata.labels.as_ref().unwrap_or(&EMPTY)
}

/// `LazyErrorNodeSelector`: terms ORed; parse errors surface only when nothing matched.
#[derive(Clone, Debug)]
pub struct NodeSelector {
    terms: Vec<Term>,
}

impl NodeSelector {
    /// Parses the terms of a `v1.NodeSelector` (empty terms are dropped: they match nothing).
    pub fn new(terms: &[NodeSelectorTerm]) -> NodeSelector {
        NodeSelector {
            terms: terms
                .iter()
                .enumerate()
                .filter(|(_, t)| !is_empty(t))
                .map(|(i, t)| Term::parse(t, &format!("nodeSelectorTerms[{i}]")))
                .collect(),
        }
    }

    /// `NewNodeSelector`: every parse error at once, or a selector.
    pub fn strict(terms: &[NodeSelectorTerm]) -> Result<NodeSelector, Vec<String>> {
        let selector = NodeSelector::new(terms);
        let errs: Vec<String> = selector
            .terms
            .iter()
            .filter_map(|t| t.0.as_ref().err())
            .flatten()
            .map(ToString::to_string)
            .collect();
        if errs.is_empty() {
            Ok(selector)
        } else {
            Err(errs)
        }
    }

    /// Does some term match? `Err` carries the parse errors when none did.
    pub fn match_node(&self, node: &Node) -> Result<bool, Vec<String>> {
        let mut errs = Vec::new();
        for term in &self.terms {
            match term.matches(node) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(e) => errs.extend(e.iter().map(ToString::to_string)),
            }
        }
        if errs.is_empty() {
            Ok(false)
        } else {
            Err(errs)
        }
    }

    /// Does some term match? Unparsable terms simply do not.
    pub fn matches(&self, node: &Node) -> bool {
        self.match_node(node).unwrap_or(false)
    }
}

/// `PreferredSchedulingTerms`: weighted terms; a zero weight or empty term is skipped.
#[derive(Clone, Debug)]
pub struct PreferredSchedulingTerms {
    terms: Vec<(i64, Term)>,
}

impl PreferredSchedulingTerms {
    /// Parses the terms, failing with every parse error found.
    pub fn new(terms: &[PreferredSchedulingTerm]) -> Result<Self, Vec<String>> {
        let mut errs = Vec::new();
        let mut parsed = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            if t.weight == 0 || is_empty(&t.preference) {
                continue;
            }
            let term = Term::parse(&t.preference, &format!("[{i}]"));
            match &term.0 {
                Err(e) => errs.extend(e.iter().map(ToString::to_string)),
                Ok(_) => parsed.push((i64::from(t.weight), term)),
            }
        }
        if errs.is_empty() {
            Ok(PreferredSchedulingTerms { terms: parsed })
        } else {
            Err(errs)
        }
    }

    /// The sum of the weights of the terms the node matches.
    pub fn score(&self, node: &Node) -> i64 {
        self.terms
            .iter()
            .filter(|(_, t)| t.matches(node).unwrap_or(false))
            .map(|(w, _)| w)
            .sum()
    }
}

/// `RequiredNodeAffinity`: the pod's `nodeSelector` AND its required node affinity.
#[derive(Clone, Debug)]
pub struct RequiredNodeAffinity {
    node_selector: Option<BTreeMap<String, String>>,
    affinity: Option<NodeSelector>,
}

impl RequiredNodeAffinity {
    /// `GetRequiredNodeAffinity`.
    pub fn from_pod(pod: &Pod) -> RequiredNodeAffinity {
        let spec = pod.spec.as_ref();
        RequiredNodeAffinity {
            node_selector: spec
                .and_then(|s| s.node_selector.clone())
                .filter(|m| !m.is_empty()),
            affinity: required_terms(pod).map(NodeSelector::new),
        }
    }

    /// Does the node satisfy both? `Err` carries affinity parse errors when no term matched.
    pub fn match_node(&self, node: &Node) -> Result<bool, Vec<String>> {
        if let Some(selector) = &self.node_selector {
            let labels = node_labels(node);
            if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                return Ok(false);
            }
        }
        match &self.affinity {
            Some(affinity) => affinity.match_node(node),
            None => Ok(true),
        }
    }

    /// Does the node satisfy both? Parse errors count as no match.
    pub fn matches(&self, node: &Node) -> bool {
        self.match_node(node).unwrap_or(false)
    }
}

/// `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`.
pub fn required_terms(pod: &Pod) -> Option<&[NodeSelectorTerm]> {
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

/// `affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution`.
pub fn preferred_terms(pod: &Pod) -> &[PreferredSchedulingTerm] {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.preferred_during_scheduling_ignored_during_execution
                .as_deref()
        })
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests;
