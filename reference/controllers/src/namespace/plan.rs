//! The namespace deletion decisions (`pkg/controller/namespace/deletion`): the deletion
//! conditions, the re-check delay, and the finalized spec. Entry points: [`conditions`],
//! [`requeue_after`], [`finalized`].

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::util::pods::is_terminal;
use crate::util::time::Timestamp;

/// The finalizer this controller owns in `spec.finalizers`.
pub const KUBERNETES_FINALIZER: &str = "kubernetes";
/// Seconds to wait for content held by finalizers (`finalizerEstimateSeconds`).
pub const FINALIZER_ESTIMATE_SECONDS: i64 = 15;

/// The five condition types, in upstream's order, with their "ok" reason and message.
const OK: [(&str, &str, &str); 5] = [
    (
        "NamespaceDeletionDiscoveryFailure",
        "ResourcesDiscovered",
        "All resources successfully discovered",
    ),
    (
        "NamespaceDeletionGroupVersionParsingFailure",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    (
        "NamespaceDeletionContentFailure",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    (
        "NamespaceContentRemaining",
        "ContentRemoved",
        "All content successfully removed",
    ),
    (
        "NamespaceFinalizersRemaining",
        "ContentHasNoFinalizers",
        "All content-preserving finalizers finished",
    ),
];

/// What is left of one resource after a deletion pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Remaining {
    /// Plural resource name, e.g. `pods`.
    pub resource: String,
    /// API group (`""` for core).
    pub group: String,
    /// Objects still present.
    pub count: usize,
    /// Finalizer → number of remaining objects carrying it.
    pub finalizers: BTreeMap<String, usize>,
}

/// Failures of the pass (discovery or deletion errors), as upstream reports them.
#[derive(Clone, Debug, Default)]
pub struct Failures {
    /// Discovery failed: message.
    pub discovery: Option<String>,
    /// Some deletions failed: messages.
    pub content: Vec<String>,
}

fn cond(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> NamespaceCondition {
    NamespaceCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_transition_time: Some(Time(now)),
    }
}

/// The namespace's conditions after a deletion pass (`namespaceConditionUpdater`): every
/// type present, True with details where something is wrong, else False with the ok text.
pub fn conditions(
    existing: &[NamespaceCondition],
    remaining: &[Remaining],
    failures: &Failures,
    now: Timestamp,
) -> Vec<NamespaceCondition> {
    let mut bad: Vec<NamespaceCondition> = Vec::new();
    if let Some(msg) = &failures.discovery {
        bad.push(cond(
            "NamespaceDeletionDiscoveryFailure",
            "True",
            "DiscoveryFailed",
            format!("Discovery failed for some groups, 1 failing: {msg}"),
            now,
        ));
    }
    if !failures.content.is_empty() {
        let mut msgs = failures.content.clone();
        msgs.sort();
        bad.push(cond(
            "NamespaceDeletionContentFailure",
            "True",
            "ContentDeletionFailed",
            format!(
                "Failed to delete all resource types, {} remaining: {}",
                msgs.len(),
                msgs.join(", ")
            ),
            now,
        ));
    }
    let mut resources: Vec<String> = remaining
        .iter()
        .filter(|r| r.count > 0)
        .map(|r| {
            format!(
                "{}.{} has {} resource instances",
                r.resource, r.group, r.count
            )
        })
        .collect();
    resources.sort();
    if !resources.is_empty() {
        bad.push(cond(
            "NamespaceContentRemaining",
            "True",
            "SomeResourcesRemain",
            format!("Some resources are remaining: {}", resources.join(", ")),
            now,
        ));
    }
    let mut by_finalizer: BTreeMap<&str, usize> = BTreeMap::new();
    for r in remaining {
        for (f, n) in &r.finalizers {
            *by_finalizer.entry(f).or_default() += n;
        }
    }
    let mut finalizers: Vec<String> = by_finalizer
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(f, n)| format!("{f} in {n} resource instances"))
        .collect();
    finalizers.sort();
    if !finalizers.is_empty() {
        bad.push(cond(
            "NamespaceFinalizersRemaining",
            "True",
            "SomeFinalizersRemain",
            format!(
                "Some content in the namespace has finalizers remaining: {}",
                finalizers.join(", ")
            ),
            now,
        ));
    }
    let mut out: Vec<NamespaceCondition> = existing
        .iter()
        .filter(|c| !OK.iter().any(|(t, _, _)| *t == c.type_))
        .cloned()
        .collect();
    for (type_, reason, message) in OK {
        let mut next = bad
            .iter()
            .find(|c| c.type_ == type_)
            .cloned()
            .unwrap_or_else(|| cond(type_, "False", reason, message.into(), now));
        if let Some(old) = existing.iter().find(|c| c.type_ == type_) {
            if old.status == next.status && old.reason == next.reason && old.message == next.message
            {
                next = old.clone();
            } else if old.status == next.status {
                next.last_transition_time = old.last_transition_time.clone();
            }
        }
        out.push(next);
    }
    out
}

/// `estimateGracefulTerminationForPods`: the longest grace period of non-terminal pods.
pub fn pods_estimate(pods: &[Pod]) -> i64 {
    pods.iter()
        .filter(|p| !is_terminal(p))
        .map(|p| {
            p.metadata
                .deletion_grace_period_seconds
                .or_else(|| {
                    p.spec
                        .as_ref()
                        .and_then(|s| s.termination_grace_period_seconds)
                })
                .unwrap_or(30)
        })
        .max()
        .unwrap_or(0)
}

/// Upstream requeues a namespace with content left after `estimate / 2 + 1` seconds.
pub fn requeue_after(estimate_seconds: i64) -> Duration {
    Duration::from_secs(u64::try_from(estimate_seconds.max(0) / 2 + 1).unwrap_or(1))
}

/// Is our finalizer still in `spec.finalizers`?
pub fn needs_finalize(ns: &Namespace) -> bool {
    ns.spec
        .as_ref()
        .and_then(|s| s.finalizers.as_ref())
        .is_some_and(|f| f.iter().any(|x| x == KUBERNETES_FINALIZER))
}

/// The namespace with our finalizer removed from `spec.finalizers` (`finalizeNamespace`).
pub fn finalized(ns: &Namespace) -> Namespace {
    let mut out = ns.clone();
    if let Some(f) = out.spec.as_mut().and_then(|s| s.finalizers.as_mut()) {
        f.retain(|x| x != KUBERNETES_FINALIZER);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::time::from_unix;
    use k8s_openapi::api::core::v1::NamespaceSpec;

    #[test]
    fn remaining_content_and_finalizers_are_reported_with_upstream_messages() {
        let remaining = vec![
            Remaining {
                resource: "pods".into(),
                group: String::new(),
                count: 2,
                finalizers: BTreeMap::new(),
            },
            Remaining {
                resource: "configmaps".into(),
                group: String::new(),
                count: 1,
                finalizers: BTreeMap::from([("example.com/hold".to_string(), 1)]),
            },
        ];
        let c = conditions(&[], &remaining, &Failures::default(), from_unix(1));
        assert_eq!(c.len(), 5);
        let content = c
            .iter()
            .find(|c| c.type_ == "NamespaceContentRemaining")
            .unwrap();
        assert_eq!(content.status, "True");
        assert_eq!(content.reason.as_deref(), Some("SomeResourcesRemain"));
        assert_eq!(
            content.message.as_deref(),
            Some(
                "Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances"
            )
        );
        let fin = c
            .iter()
            .find(|c| c.type_ == "NamespaceFinalizersRemaining")
            .unwrap();
        assert_eq!(
            fin.message.as_deref(),
            Some(
                "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
            )
        );
        let ok = c
            .iter()
            .find(|c| c.type_ == "NamespaceDeletionDiscoveryFailure")
            .unwrap();
        assert_eq!(
            (
                ok.status.as_str(),
                ok.reason.as_deref(),
                ok.message.as_deref()
            ),
            (
                "False",
                Some("ResourcesDiscovered"),
                Some("All resources successfully discovered")
            )
        );
    }

    #[test]
    fn unchanged_conditions_keep_their_transition_time() {
        let first = conditions(&[], &[], &Failures::default(), from_unix(1));
        let second = conditions(&first, &[], &Failures::default(), from_unix(99));
        assert_eq!(first, second);
    }

    #[test]
    fn the_requeue_waits_half_the_longest_grace_period_plus_one_second() {
        let mut p = crate::util::pods::fixtures::pod("a");
        p.metadata.deletion_grace_period_seconds = Some(30);
        assert_eq!(pods_estimate(&[p]), 30);
        assert_eq!(requeue_after(30), Duration::from_secs(16));
        assert_eq!(requeue_after(0), Duration::from_secs(1));
    }

    #[test]
    fn finalizing_removes_only_the_kubernetes_finalizer() {
        let ns = Namespace {
            spec: Some(NamespaceSpec {
                finalizers: Some(vec!["kubernetes".into(), "other".into()]),
            }),
            ..Default::default()
        };
        assert!(needs_finalize(&ns));
        let f = finalized(&ns);
        assert_eq!(f.spec.unwrap().finalizers, Some(vec!["other".to_string()]));
    }
}
