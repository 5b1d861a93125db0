//! Tests of the StatefulSet plan.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::*;
use crate::util::pods::fixtures::{pod, ready};
use crate::util::time::from_unix;

fn sts(replicas: i32, policy: &str) -> StatefulSet {
    StatefulSet {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("sts-uid".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some("nginx".into()),
            pod_management_policy: Some(policy.into()),
            selector: LabelSelector {
                match_labels: Some([("app".into(), "web".into())].into()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some([("app".into(), "web".into())].into()),
                    ..Default::default()
                }),
                spec: Some(PodSpec::default()),
            },
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some("www".into()),
                    ..Default::default()
                },
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

fn member(ord: i32, rev: &str, healthy: bool) -> Arc<Pod> {
    let mut p = pod(&format!("web-{ord}"));
    if healthy {
        p = ready(p, from_unix(0));
    }
    p.metadata.labels = Some([(REVISION.into(), rev.into())].into());
    Arc::new(p)
}

fn names_created(p: &StsPlan) -> Vec<String> {
    p.create
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect()
}

#[test]
fn ordered_ready_creates_one_pod_at_a_time_in_ordinal_order() {
    let p = plan(
        &sts(3, "OrderedReady"),
        &[],
        &HashSet::new(),
        "web-r1",
        from_unix(100),
    );
    assert_eq!(names_created(&p), vec!["web-0"]);
    assert_eq!(p.claims[0].metadata.name.as_deref(), Some("www-web-0"));
    let waiting = plan(
        &sts(3, "OrderedReady"),
        &[member(0, "web-r1", false)],
        &HashSet::new(),
        "web-r1",
        from_unix(100),
    );
    assert!(
        waiting.create.is_empty(),
        "web-1 waits until web-0 is Running and Ready"
    );
    let next = plan(
        &sts(3, "OrderedReady"),
        &[member(0, "web-r1", true)],
        &HashSet::from(["www-web-0".to_string()]),
        "web-r1",
        from_unix(100),
    );
    assert_eq!(names_created(&next), vec!["web-1"]);
}

#[test]
fn parallel_creates_every_missing_pod_at_once() {
    let p = plan(
        &sts(3, "Parallel"),
        &[],
        &HashSet::new(),
        "web-r1",
        from_unix(100),
    );
    assert_eq!(names_created(&p), vec!["web-0", "web-1", "web-2"]);
}

#[test]
fn scale_down_deletes_the_highest_ordinal_first_one_at_a_time() {
    let pods = vec![
        member(0, "r", true),
        member(1, "r", true),
        member(2, "r", true),
        member(3, "r", true),
    ];
    let p = plan(
        &sts(2, "OrderedReady"),
        &pods,
        &HashSet::new(),
        "r",
        from_unix(100),
    );
    assert_eq!(
        p.delete.iter().map(|p| p.name_any()).collect::<Vec<_>>(),
        vec!["web-3"]
    );
    let par = plan(
        &sts(2, "Parallel"),
        &pods,
        &HashSet::new(),
        "r",
        from_unix(100),
    );
    assert_eq!(
        par.delete.iter().map(|p| p.name_any()).collect::<Vec<_>>(),
        vec!["web-3", "web-2"]
    );
}

#[test]
fn a_rolling_update_replaces_the_highest_ordinal_old_pod_first() {
    let pods = vec![
        member(0, "old", true),
        member(1, "old", true),
        member(2, "new", true),
    ];
    let p = plan(
        &sts(3, "OrderedReady"),
        &pods,
        &HashSet::new(),
        "new",
        from_unix(100),
    );
    assert_eq!(
        p.delete.iter().map(|p| p.name_any()).collect::<Vec<_>>(),
        vec!["web-1"]
    );
    assert_eq!(p.status.updated_replicas, Some(1));
}

#[test]
fn pods_get_stable_identity_labels_hostname_and_claim_volumes() {
    let p = new_pod(&sts(1, "OrderedReady"), 4, "web-abc");
    let labels = p.metadata.labels.unwrap();
    assert_eq!(labels.get(POD_NAME).map(String::as_str), Some("web-4"));
    assert_eq!(labels.get(REVISION).map(String::as_str), Some("web-abc"));
    assert_eq!(labels.get(POD_INDEX).map(String::as_str), Some("4"));
    let spec = p.spec.unwrap();
    assert_eq!(
        (spec.hostname.as_deref(), spec.subdomain.as_deref()),
        (Some("web-4"), Some("nginx"))
    );
    assert_eq!(
        spec.volumes.unwrap()[0]
            .persistent_volume_claim
            .as_ref()
            .unwrap()
            .claim_name,
        "www-web-4"
    );
    assert_eq!(p.metadata.name.as_deref(), Some("web-4"));
}

#[test]
fn ordinals_are_parsed_from_names() {
    assert_eq!(ordinal("web", "web-12"), Some(12));
    assert_eq!(ordinal("web", "webby-1"), None);
}
