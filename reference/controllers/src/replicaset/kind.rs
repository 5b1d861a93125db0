//! ReplicaSet and ReplicationController as one [`ReplicaKind`]: how to read each into a
//! [`ReplicaSetView`] and how to write its status back.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::ReplicationController;
use kube::ResourceExt;
use serde_json::{Value, json};

use super::plan::{Condition, ReplicaSetView, ReplicaStatus};
use crate::runtime::informers::Informed;
use crate::util::owner::{Owner, controller_of};
use crate::util::selector::{SelectorError, from_label_selector, from_map};

/// A kind the replica logic can drive.
pub trait ReplicaKind:
    Informed + serde::Serialize + kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
{
    /// Inventory name (`replicaset`, `replicationcontroller`).
    const CONTROLLER: &'static str;
    /// Event source component (`replicaset-controller`, `replication-controller`).
    const COMPONENT: &'static str;
    /// Reads the object; an unparsable selector is an error.
    fn view(&self) -> Result<ReplicaSetView, SelectorError>;
}

fn conditions_from(v: Option<Value>) -> Vec<Condition> {
    let Some(Value::Array(items)) = v else {
        return Vec::new();
    };
    items
        .into_iter()
        .map(|c| Condition {
            type_: c["type"].as_str().unwrap_or_default().into(),
            status: c["status"].as_str().unwrap_or_default().into(),
            reason: c["reason"].as_str().unwrap_or_default().into(),
            message: c["message"].as_str().unwrap_or_default().into(),
            last_transition_time: serde_json::from_value(c["lastTransitionTime"].clone()).ok(),
        })
        .collect()
}

fn owner_of<K: kube::Resource<DynamicType = ()>>(obj: &K) -> Owner {
    Owner::new(
        &K::api_version(&()),
        &K::kind(&()),
        obj.meta().name.as_deref().unwrap_or_default(),
        obj.meta().uid.as_deref().unwrap_or_default(),
    )
}

impl ReplicaKind for ReplicaSet {
    const CONTROLLER: &'static str = "replicaset";
    const COMPONENT: &'static str = "replicaset-controller";

    fn view(&self) -> Result<ReplicaSetView, SelectorError> {
        let spec = self.spec.clone().unwrap_or_default();
        let status = self.status.clone().unwrap_or_default();
        Ok(ReplicaSetView {
            owner: owner_of(self),
            namespace: self.namespace().unwrap_or_default(),
            generation: self.metadata.generation.unwrap_or(0),
            replicas: spec.replicas.unwrap_or(1),
            min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
            selector: from_label_selector(Some(&spec.selector))?,
            template: spec.template,
            deleting: self.metadata.deletion_timestamp.is_some(),
            controller_uid: controller_of(&self.metadata).map(|r| r.uid.clone()),
            status: ReplicaStatus {
                replicas: status.replicas,
                fully_labeled_replicas: status.fully_labeled_replicas.unwrap_or(0),
                ready_replicas: status.ready_replicas.unwrap_or(0),
                available_replicas: status.available_replicas.unwrap_or(0),
                observed_generation: status.observed_generation.unwrap_or(0),
                conditions: conditions_from(serde_json::to_value(&status.conditions).ok()),
            },
        })
    }
}

impl ReplicaKind for ReplicationController {
    const CONTROLLER: &'static str = "replicationcontroller";
    const COMPONENT: &'static str = "replication-controller";

    fn view(&self) -> Result<ReplicaSetView, SelectorError> {
        let spec = self.spec.clone().unwrap_or_default();
        let status = self.status.clone().unwrap_or_default();
        // An RC without a selector selects its template's labels (API defaulting does this;
        // doing it here too keeps a non-defaulting server from orphaning everything).
        let template_labels = spec
            .template
            .as_ref()
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.clone());
        let selector = from_map(
            spec.selector
                .as_ref()
                .filter(|s| !s.is_empty())
                .or(template_labels.as_ref()),
        );
        Ok(ReplicaSetView {
            owner: owner_of(self),
            namespace: self.namespace().unwrap_or_default(),
            generation: self.metadata.generation.unwrap_or(0),
            replicas: spec.replicas.unwrap_or(1),
            min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
            selector,
            template: spec.template,
            deleting: self.metadata.deletion_timestamp.is_some(),
            controller_uid: controller_of(&self.metadata).map(|r| r.uid.clone()),
            status: ReplicaStatus {
                replicas: status.replicas,
                fully_labeled_replicas: status.fully_labeled_replicas.unwrap_or(0),
                ready_replicas: status.ready_replicas.unwrap_or(0),
                available_replicas: status.available_replicas.unwrap_or(0),
                observed_generation: status.observed_generation.unwrap_or(0),
                conditions: conditions_from(serde_json::to_value(&status.conditions).ok()),
            },
        })
    }
}

/// The merge patch writing `status` (same JSON shape for both kinds).
pub fn status_patch(status: &ReplicaStatus) -> Value {
    let conditions: Vec<Value> = status
        .conditions
        .iter()
        .map(|c| json!({"type": c.type_, "status": c.status, "reason": c.reason, "message": c.message, "lastTransitionTime": c.last_transition_time}))
        .collect();
    json!({"status": {
        "replicas": status.replicas,
        "fullyLabeledReplicas": status.fully_labeled_replicas,
        "readyReplicas": status.ready_replicas,
        "availableReplicas": status.available_replicas,
        "observedGeneration": status.observed_generation,
        "conditions": if conditions.is_empty() { Value::Null } else { Value::Array(conditions) },
    }})
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationControllerSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn a_replication_controller_without_selector_selects_its_template_labels() {
        let rc = ReplicationController {
            metadata: ObjectMeta {
                name: Some("rc".into()),
                namespace: Some("ns".into()),
                uid: Some("u".into()),
                ..Default::default()
            },
            spec: Some(ReplicationControllerSpec {
                template: Some(PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some([("a".into(), "b".into())].into()),
                        ..Default::default()
                    }),
                    spec: None,
                }),
                ..Default::default()
            }),
            status: None,
        };
        let v = rc.view().unwrap();
        assert_eq!(
            v.owner,
            Owner::new("v1", "ReplicationController", "rc", "u")
        );
        assert!(crate::util::selector::matches(
            v.selector.as_ref(),
            Some(&[("a".into(), "b".into())].into())
        ));
        assert_eq!(v.replicas, 1);
    }

    #[test]
    fn the_status_patch_drops_conditions_when_there_are_none() {
        let p = status_patch(&ReplicaStatus {
            replicas: 2,
            ..Default::default()
        });
        assert_eq!(p["status"]["replicas"], 2);
        assert!(p["status"]["conditions"].is_null());
    }
}
