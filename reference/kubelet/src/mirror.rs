//! Keeps one current mirror pod in the API per static pod (`pkg/kubelet/pod/mirror_client.go`
//! and the kubelet's `syncPod` mirror handling). Entry point: [`plan`] (pure) and
//! [`apply`] (I/O).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

use crate::static_pods::{mirror_is_current, mirror_pod};

/// A pod's namespace and name.
pub type PodKey = (String, String);

/// The key of `pod`.
pub fn key(pod: &Pod) -> PodKey {
    (
        pod.metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

/// One change to make.
#[derive(Debug, Clone, PartialEq)]
pub enum MirrorAction {
    /// Publish a mirror for this static pod.
    Create(Box<Pod>),
    /// Delete this mirror pod (outdated, being deleted, or orphaned).
    Delete(Box<Pod>),
}

/// What to do so that every static pod has exactly one current mirror. An outdated or
/// deleting mirror is deleted first; its recreation follows on the next pass.
pub fn plan(static_pods: &[&Pod], mirrors: &HashMap<PodKey, Pod>) -> Vec<MirrorAction> {
    let mut actions = Vec::new();
    for pod in static_pods {
        match mirrors.get(&key(pod)) {
            None => actions.push(MirrorAction::Create(Box::new((*pod).clone()))),
            Some(m) if !mirror_is_current(m, pod) => {
                actions.push(MirrorAction::Delete(Box::new(m.clone())))
            }
            Some(_) => {}
        }
    }
    for (k, m) in mirrors {
        if !static_pods.iter().any(|p| key(p) == *k) {
            actions.push(MirrorAction::Delete(Box::new(m.clone())));
        }
    }
    actions
}

/// Carries out `actions`; errors are logged and retried on the next pass.
pub async fn apply(
    client: &kube::Client,
    node_name: &str,
    node_uid: &str,
    actions: Vec<MirrorAction>,
) {
    for action in actions {
        match action {
            MirrorAction::Create(pod) => {
                let mirror = mirror_pod(&pod, node_name, node_uid);
                let (ns, name) = key(&mirror);
                let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
                match api.create(&PostParams::default(), &mirror).await {
                    Ok(_) => tracing::info!(pod = %name, "created mirror pod"),
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => tracing::warn!(pod = %name, error = %e, "creating mirror pod"),
                }
            }
            MirrorAction::Delete(mirror) => {
                let (ns, name) = key(&mirror);
                let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
                let params = DeleteParams {
                    grace_period_seconds: Some(0),
                    preconditions: Some(Preconditions {
                        uid: mirror.metadata.uid.clone(),
                        resource_version: None,
                    }),
                    ..DeleteParams::default()
                };
                match api.delete(&name, &params).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                    Err(e) => tracing::warn!(pod = %name, error = %e, "deleting mirror pod"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::static_pods::{CONFIG_MIRROR, static_pod};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn static_web() -> Pod {
        let manifest: Pod = serde_yaml::from_str(
            "metadata: {name: web}\nspec: {containers: [{name: c, image: busybox}]}",
        )
        .unwrap();
        static_pod(manifest, "n1", "t")
    }

    #[test]
    fn a_static_pod_without_a_mirror_gets_one() {
        let pod = static_web();
        assert_eq!(
            plan(&[&pod], &HashMap::new()),
            vec![MirrorAction::Create(Box::new(pod.clone()))]
        );
    }

    #[test]
    fn a_deleting_or_outdated_mirror_is_deleted_and_a_current_one_is_left_alone() {
        let pod = static_web();
        let mut mirror = mirror_pod(&pod, "n1", "u");
        let mirrors = HashMap::from([(key(&mirror), mirror.clone())]);
        assert!(plan(&[&pod], &mirrors).is_empty());
        mirror.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::now()));
        let mirrors = HashMap::from([(key(&mirror), mirror.clone())]);
        assert_eq!(
            plan(&[&pod], &mirrors),
            vec![MirrorAction::Delete(Box::new(mirror.clone()))]
        );
        mirror.metadata.deletion_timestamp = None;
        mirror
            .metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert(CONFIG_MIRROR.into(), "old".into());
        let mirrors = HashMap::from([(key(&mirror), mirror.clone())]);
        assert!(matches!(
            plan(&[&pod], &mirrors)[..],
            [MirrorAction::Delete(_)]
        ));
    }

    #[test]
    fn a_mirror_without_its_static_pod_is_deleted() {
        let mirror = mirror_pod(&static_web(), "n1", "u");
        let mirrors = HashMap::from([(key(&mirror), mirror.clone())]);
        assert_eq!(
            plan(&[], &mirrors),
            vec![MirrorAction::Delete(Box::new(mirror))]
        );
    }
}
