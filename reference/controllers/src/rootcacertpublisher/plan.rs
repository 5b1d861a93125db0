//! What the root CA publisher writes in one namespace: the `kube-root-ca.crt` ConfigMap
//! with the CA bundle and upstream's description, created when missing and corrected
//! when its data or description differ; nothing in a namespace that is going away.
//! Entry point: [`plan`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The ConfigMap's name (`RootCACertConfigMapName`).
pub const CONFIG_MAP: &str = "kube-root-ca.crt";
/// Its one key.
pub const KEY: &str = "ca.crt";
/// The annotation saying what it is for, and upstream's text.
pub const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
pub const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// The write a namespace needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The ConfigMap is as it should be, or the namespace is gone or terminating.
    Nothing,
    /// Create it.
    Create(ConfigMap),
    /// Replace the existing one with this (data and description fixed, the rest kept).
    Update(ConfigMap),
}

/// Decides for namespace `ns` (None: gone) holding `existing`, to publish `ca`.
pub fn plan(ns: Option<&Namespace>, existing: Option<&ConfigMap>, ca: &str) -> Action {
    let Some(ns) = ns else {
        return Action::Nothing;
    };
    let active = ns.metadata.deletion_timestamp.is_none()
        && ns.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Terminating");
    if !active {
        return Action::Nothing;
    }
    let data = BTreeMap::from([(KEY.to_string(), ca.to_string())]);
    let Some(cm) = existing else {
        return Action::Create(ConfigMap {
            metadata: ObjectMeta {
                name: Some(CONFIG_MAP.into()),
                namespace: ns.metadata.name.clone(),
                annotations: Some(BTreeMap::from([(
                    DESCRIPTION_ANNOTATION.to_string(),
                    DESCRIPTION.to_string(),
                )])),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..ConfigMap::default()
        });
    };
    let described = cm
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DESCRIPTION_ANNOTATION))
        .is_some_and(|d| !d.is_empty());
    if cm.data.as_ref() == Some(&data) && described {
        return Action::Nothing;
    }
    let mut fixed = cm.clone();
    fixed.data = Some(data);
    fixed.binary_data = None;
    fixed
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(DESCRIPTION_ANNOTATION.into(), DESCRIPTION.into());
    Action::Update(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(name: &str) -> Namespace {
        Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        }
    }

    #[test]
    fn a_namespace_without_the_config_map_gets_it_with_the_description() {
        let Action::Create(cm) = plan(Some(&ns("web")), None, "PEM") else {
            panic!("expected a create");
        };
        assert_eq!(cm.metadata.name.as_deref(), Some("kube-root-ca.crt"));
        assert_eq!(cm.metadata.namespace.as_deref(), Some("web"));
        assert_eq!(cm.data.unwrap()["ca.crt"], "PEM");
        assert_eq!(
            cm.metadata.annotations.unwrap()[DESCRIPTION_ANNOTATION],
            DESCRIPTION
        );
    }

    #[test]
    fn a_changed_bundle_or_a_lost_description_is_put_back_and_the_rest_kept() {
        let Action::Create(good) = plan(Some(&ns("web")), None, "PEM") else {
            panic!("expected a create");
        };
        assert_eq!(plan(Some(&ns("web")), Some(&good), "PEM"), Action::Nothing);
        let mut edited = good.clone();
        edited.data = Some(BTreeMap::from([("ca.crt".into(), "OLD".into())]));
        edited
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert("kept".into(), "yes".into());
        let Action::Update(fixed) = plan(Some(&ns("web")), Some(&edited), "PEM") else {
            panic!("expected an update");
        };
        assert_eq!(fixed.data, good.data);
        assert_eq!(fixed.metadata.labels.unwrap()["kept"], "yes");
        let mut bare = good;
        bare.metadata.annotations = None;
        assert!(matches!(
            plan(Some(&ns("web")), Some(&bare), "PEM"),
            Action::Update(_)
        ));
    }

    #[test]
    fn gone_or_terminating_namespaces_get_nothing() {
        assert_eq!(plan(None, None, "PEM"), Action::Nothing);
        let mut dying = ns("web");
        dying.status = Some(k8s_openapi::api::core::v1::NamespaceStatus {
            phase: Some("Terminating".into()),
            ..Default::default()
        });
        assert_eq!(plan(Some(&dying), None, "PEM"), Action::Nothing);
    }
}
