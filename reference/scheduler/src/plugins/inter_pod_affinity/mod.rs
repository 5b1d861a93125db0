//! InterPodAffinity: required pod affinity / anti-affinity (including existing pods'
//! anti-affinity against the incoming pod) as a filter, preferred terms as a score.
//! Filtering is in `filtering.rs`, scoring in `scoring.rs`; the term model is here.

mod filtering;
mod scoring;

use std::collections::{BTreeMap, BTreeSet};

use crate::framework::types::ClusterObjects;
use crate::framework::{FilterPlugin, Plugin, PreFilterPlugin, PreScorePlugin, ScorePlugin};
use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm, WeightedPodAffinityTerm};
use refkube_helpers::labels::{Selector, SelectorExt, from_label_selector, labels_of};

pub use filtering::{
    ERR_REASON_AFFINITY_RULES_NOT_MATCH, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
};

/// Plugin name.
pub const NAME: &str = "InterPodAffinity";
/// Label the API server puts on every namespace (used when the Namespace is not cached).
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The InterPodAffinity plugin.
#[derive(Debug, Clone)]
pub struct InterPodAffinity {
    /// Score added for each existing pod whose *required* affinity the incoming pod matches
    /// (`hardPodAffinityWeight`, default 1).
    pub hard_pod_affinity_weight: i64,
}

impl Default for InterPodAffinity {
    fn default() -> Self {
        InterPodAffinity {
            hard_pod_affinity_weight: 1,
        }
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

/// A parsed affinity term (upstream `framework.AffinityTerm`).
#[derive(Clone, Debug)]
pub struct AffinityTerm {
    namespaces: BTreeSet<String>,
    /// Both selectors are converted once, when the pod's terms are parsed: converting
    /// on every match dominated a cycle (each pod with terms is matched against the
    /// incoming pod). A nil or unconvertible selector is `None` and selects nothing.
    namespace_selector: Option<Selector>,
    selector: Option<Selector>,
    /// The topology key.
    pub topology_key: String,
    /// Weight (1 for required terms).
    pub weight: i64,
}

impl AffinityTerm {
    /// Parses a term of `owner`: with neither namespaces nor namespaceSelector, the term
    /// applies to the owner's own namespace.
    fn new(term: &PodAffinityTerm, owner: &Pod, weight: i64) -> AffinityTerm {
        let mut namespaces: BTreeSet<String> = term.namespaces.iter().flatten().cloned().collect();
        if namespaces.is_empty() && term.namespace_selector.is_none() {
            namespaces.insert(owner.metadata.namespace.clone().unwrap_or_default());
        }
        AffinityTerm {
            namespaces,
            namespace_selector: compiled(term.namespace_selector.as_ref()),
            selector: compiled(term.label_selector.as_ref()),
            topology_key: term.topology_key.clone(),
            weight,
        }
    }

    /// Upstream `AffinityTerm.Matches`: namespace (listed or selected) and labels.
    pub fn matches(&self, pod: &Pod, objects: &ClusterObjects) -> bool {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let ns_ok = self.namespaces.contains(ns)
            || self
                .namespace_selector
                .as_ref()
                .is_some_and(|sel| sel.matches(&namespace_labels(ns, objects)));
        ns_ok
            && self
                .selector
                .as_ref()
                .is_some_and(|sel| sel.matches(labels_of(&pod.metadata.labels)))
    }
}

fn compiled(
    sel: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
) -> Option<Selector> {
    from_label_selector(sel).ok().flatten()
}

fn namespace_labels(ns: &str, objects: &ClusterObjects) -> BTreeMap<String, String> {
    let mut labels = objects
        .namespaces
        .get(ns)
        .and_then(|n| n.metadata.labels.clone())
        .unwrap_or_default();
    labels
        .entry(NAMESPACE_NAME_LABEL.to_string())
        .or_insert_with(|| ns.to_string());
    labels
}

/// A pod's terms, by kind.
#[derive(Clone, Debug, Default)]
pub struct PodTerms {
    /// Required affinity.
    pub required_affinity: Vec<AffinityTerm>,
    /// Required anti-affinity.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Preferred affinity (with weights).
    pub preferred_affinity: Vec<AffinityTerm>,
    /// Preferred anti-affinity (with weights).
    pub preferred_anti_affinity: Vec<AffinityTerm>,
}

impl PodTerms {
    /// True when the pod has no term at all.
    pub fn is_empty(&self) -> bool {
        self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty()
    }

    /// Parses every term of `pod`.
    pub fn of(pod: &Pod) -> PodTerms {
        let affinity = pod.spec.as_ref().and_then(|s| s.affinity.as_ref());
        let pa = affinity.and_then(|a| a.pod_affinity.as_ref());
        let paa = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let required = |terms: Option<&Vec<PodAffinityTerm>>| -> Vec<AffinityTerm> {
            terms
                .into_iter()
                .flatten()
                .map(|t| AffinityTerm::new(t, pod, 1))
                .collect()
        };
        let preferred = |terms: Option<&Vec<WeightedPodAffinityTerm>>| -> Vec<AffinityTerm> {
            terms
                .into_iter()
                .flatten()
                .filter(|t| t.weight != 0)
                .map(|t| AffinityTerm::new(&t.pod_affinity_term, pod, i64::from(t.weight)))
                .collect()
        };
        PodTerms {
            required_affinity: required(pa.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            required_anti_affinity: required(paa.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_affinity: preferred(pa.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_anti_affinity: preferred(paa.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
        }
    }
}
