//! ControllerRevision history for DaemonSets and StatefulSets (`controller_history.go`):
//! one revision per distinct template, numbered in order of use, so `kubectl rollout
//! history` and `kubectl rollout undo` work. Entry points: [`plan_history`], [`apply`].

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::util::owner::{Owner, controller_of};

/// One history write.
#[derive(Clone, Debug, PartialEq)]
pub enum HistoryStep {
    /// Record a new revision.
    Create(Box<ControllerRevision>),
    /// An old revision is current again (a rollback): give it the next number.
    Bump {
        /// Revision name.
        name: String,
        /// New number.
        revision: i64,
    },
    /// Drop a revision beyond revisionHistoryLimit.
    Delete(String),
}

/// The revision object for `template` (`getPatch`: the template as a replacing patch).
pub fn revision_object(
    owner: &Owner,
    namespace: Option<String>,
    name: &str,
    template: &PodTemplateSpec,
    labels: BTreeMap<String, String>,
) -> ControllerRevision {
    let mut t = serde_json::to_value(template).unwrap_or_default();
    if let Some(map) = t.as_object_mut() {
        map.insert("$patch".into(), json!("replace"));
    }
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace,
            labels: Some(labels),
            owner_references: Some(vec![owner.controller_ref()]),
            ..Default::default()
        },
        data: Some(RawExtension(json!({"spec": {"template": t}}))),
        revision: 0,
    }
}

/// Plans the history: make `wanted` the newest revision and keep at most `limit` others
/// (revisions in `in_use` by live pods are kept).
pub fn plan_history(
    owned: &[Arc<ControllerRevision>],
    wanted: ControllerRevision,
    limit: usize,
    in_use: &HashSet<String>,
) -> Vec<HistoryStep> {
    let wanted_name = wanted.metadata.name.clone().unwrap_or_default();
    let max = owned.iter().map(|r| r.revision).max().unwrap_or(0);
    let mut steps = Vec::new();
    match owned
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(wanted_name.as_str()))
    {
        Some(r) if r.revision < max => steps.push(HistoryStep::Bump {
            name: wanted_name.clone(),
            revision: max + 1,
        }),
        Some(_) => {}
        None => steps.push(HistoryStep::Create(Box::new(ControllerRevision {
            revision: max + 1,
            ..wanted
        }))),
    }
    let mut old: Vec<&Arc<ControllerRevision>> = owned
        .iter()
        .filter(|r| {
            r.metadata.name.as_deref() != Some(wanted_name.as_str())
                && !in_use.contains(&r.name_any())
        })
        .collect();
    old.sort_by_key(|r| r.revision);
    let surplus = old.len().saturating_sub(limit);
    steps.extend(
        old.into_iter()
            .take(surplus)
            .map(|r| HistoryStep::Delete(r.name_any())),
    );
    steps
}

/// Revisions controlled by `owner_uid`.
pub fn owned_by(
    all: &[Arc<ControllerRevision>],
    namespace: &str,
    owner_uid: &str,
) -> Vec<Arc<ControllerRevision>> {
    all.iter()
        .filter(|r| {
            r.metadata.namespace.as_deref() == Some(namespace)
                && controller_of(&r.metadata).is_some_and(|c| c.uid == owner_uid)
        })
        .cloned()
        .collect()
}

/// Carries out the steps.
pub async fn apply(
    client: &kube::Client,
    namespace: &str,
    steps: &[HistoryStep],
) -> Result<(), kube::Error> {
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), namespace);
    for step in steps {
        let result = match step {
            HistoryStep::Create(r) => api.create(&PostParams::default(), r).await.map(|_| ()),
            HistoryStep::Bump { name, revision } => api
                .patch(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({ "revision": revision })),
                )
                .await
                .map(|_| ()),
            HistoryStep::Delete(name) => {
                api.delete(name, &DeleteParams::default()).await.map(|_| ())
            }
        };
        match result {
            Ok(()) => {}
            // Already there (cache lag) or already gone: the next sync sees the truth.
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(name: &str, n: i64) -> Arc<ControllerRevision> {
        Arc::new(ControllerRevision {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            data: None,
            revision: n,
        })
    }

    fn wanted(name: &str) -> ControllerRevision {
        revision_object(
            &Owner::new("apps/v1", "StatefulSet", "web", "u"),
            Some("default".into()),
            name,
            &PodTemplateSpec::default(),
            BTreeMap::new(),
        )
    }

    #[test]
    fn a_new_template_gets_the_next_revision_number_as_a_replacing_patch() {
        let steps = plan_history(
            &[rev("web-a", 1), rev("web-b", 2)],
            wanted("web-c"),
            10,
            &HashSet::new(),
        );
        let HistoryStep::Create(r) = &steps[0] else {
            panic!("{steps:?}")
        };
        assert_eq!(r.revision, 3);
        assert_eq!(
            r.data.as_ref().unwrap().0["spec"]["template"]["$patch"],
            "replace"
        );
    }

    #[test]
    fn returning_to_an_old_template_bumps_its_revision() {
        let steps = plan_history(
            &[rev("web-a", 1), rev("web-b", 2)],
            wanted("web-a"),
            10,
            &HashSet::new(),
        );
        assert_eq!(
            steps,
            vec![HistoryStep::Bump {
                name: "web-a".into(),
                revision: 3
            }]
        );
        assert!(
            plan_history(
                &[rev("web-a", 1), rev("web-b", 2)],
                wanted("web-b"),
                10,
                &HashSet::new()
            )
            .is_empty()
        );
    }

    #[test]
    fn history_beyond_the_limit_is_pruned_oldest_first_keeping_revisions_in_use() {
        let owned = [rev("a", 1), rev("b", 2), rev("c", 3), rev("d", 4)];
        let steps = plan_history(&owned, wanted("d"), 1, &HashSet::from(["a".to_string()]));
        assert_eq!(steps, vec![HistoryStep::Delete("b".into())]);
    }
}
