//! Tests of the ReplicaSet plan: claiming, diffing, slow start, status.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::util::owner::Owner;
use crate::util::pods::fixtures::{labels, pod, ready};
use crate::util::selector::from_map;
use crate::util::time::from_unix;

fn rs(replicas: i32) -> ReplicaSetView {
    ReplicaSetView {
        owner: Owner::new("apps/v1", "ReplicaSet", "web", "rs-uid"),
        namespace: "default".into(),
        generation: 3,
        replicas,
        min_ready_seconds: 0,
        selector: from_map(Some(&[("app".to_string(), "web".to_string())].into())),
        template: Some(PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".into(), "web".into()), ("tier".into(), "fe".into())].into()),
                ..Default::default()
            }),
            spec: None,
        }),
        deleting: false,
        controller_uid: None,
        status: ReplicaStatus::default(),
    }
}

fn owned(name: &str) -> Arc<Pod> {
    let mut p = labels(pod(name), &[("app", "web"), ("tier", "fe")]);
    p.metadata.owner_references = Some(vec![
        Owner::new("apps/v1", "ReplicaSet", "web", "rs-uid").controller_ref(),
    ]);
    Arc::new(p)
}

#[test]
fn missing_replicas_are_created_up_to_burst_replicas() {
    assert_eq!(
        manage(&rs(3), &[owned("a")], &[], 500, from_unix(0)),
        ReplicaAction::Create(2)
    );
    assert_eq!(
        manage(&rs(800), &[], &[], 500, from_unix(0)),
        ReplicaAction::Create(500)
    );
}

#[test]
fn surplus_replicas_are_deleted_and_matching_counts_do_nothing() {
    let pods = vec![owned("a"), owned("b"), owned("c")];
    match manage(&rs(1), &pods, &pods, 500, from_unix(0)) {
        ReplicaAction::Delete(victims) => assert_eq!(victims.len(), 2),
        other => panic!("expected deletions, got {other:?}"),
    }
    assert_eq!(
        manage(&rs(3), &pods, &pods, 500, from_unix(0)),
        ReplicaAction::Nothing
    );
}

#[test]
fn orphans_matching_the_selector_are_adopted_and_strays_released() {
    let orphan = Arc::new(labels(pod("orphan"), &[("app", "web")]));
    let stray = {
        let mut p = (*owned("stray")).clone();
        p.metadata.labels = Some([("app".into(), "other".into())].into());
        Arc::new(p)
    };
    let foreign = {
        let mut p = labels(pod("foreign"), &[("app", "web")]);
        p.metadata.owner_references = Some(vec![
            Owner::new("apps/v1", "ReplicaSet", "x", "other-uid").controller_ref(),
        ]);
        Arc::new(p)
    };
    let c = claim_pods(&rs(1), &[owned("mine"), orphan, stray, foreign]);
    let names = |v: &Vec<Arc<Pod>>| {
        v.iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&c.kept), vec!["mine"]);
    assert_eq!(names(&c.adopt), vec!["orphan"]);
    assert_eq!(names(&c.release), vec!["stray"]);
}

#[test]
fn status_counts_fully_labeled_ready_and_available_pods() {
    let mut view = rs(3);
    view.min_ready_seconds = 10;
    let partly_labeled = Arc::new(labels((*owned("p")).clone(), &[("app", "web")]));
    let long_ready = Arc::new(ready((*owned("r1")).clone(), from_unix(0)));
    let just_ready = Arc::new(ready((*owned("r2")).clone(), from_unix(95)));
    let s = calculate_status(
        &view,
        &[partly_labeled, long_ready, just_ready],
        None,
        from_unix(100),
    );
    assert_eq!(
        (
            s.replicas,
            s.fully_labeled_replicas,
            s.ready_replicas,
            s.available_replicas
        ),
        (3, 2, 2, 1)
    );
    assert_eq!(s.observed_generation, 3);
}

#[test]
fn a_create_failure_sets_replica_failure_and_success_clears_it() {
    let err = ManageError {
        creating: true,
        message: "pods \"web-x\" is forbidden: exceeded quota".into(),
    };
    let s = calculate_status(&rs(2), &[], Some(&err), from_unix(5));
    let c = &s.conditions[0];
    assert_eq!(
        (c.type_.as_str(), c.status.as_str(), c.reason.as_str()),
        ("ReplicaFailure", "True", "FailedCreate")
    );
    assert_eq!(c.message, err.message);
    let mut view = rs(2);
    view.status = s;
    assert!(
        calculate_status(&view, &[], None, from_unix(6))
            .conditions
            .is_empty()
    );
    let del = ManageError {
        creating: false,
        message: "boom".into(),
    };
    assert_eq!(
        calculate_status(&rs(0), &[], Some(&del), from_unix(5)).conditions[0].reason,
        "FailedDelete"
    );
}

#[test]
fn pods_are_stamped_from_the_template_with_generate_name_and_a_controller_ref() {
    let p = pod_from_template(&rs(1));
    assert_eq!(p.metadata.generate_name.as_deref(), Some("web-"));
    let r = &p.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (
            r.kind.as_str(),
            r.name.as_str(),
            r.controller,
            r.block_owner_deletion
        ),
        ("ReplicaSet", "web", Some(true), Some(true))
    );
    assert_eq!(
        p.metadata.labels.unwrap().get("tier").map(String::as_str),
        Some("fe")
    );
}

#[test]
fn a_requeue_is_asked_while_ready_pods_wait_out_min_ready_seconds() {
    let mut view = rs(2);
    view.min_ready_seconds = 30;
    let status = ReplicaStatus {
        ready_replicas: 2,
        available_replicas: 1,
        ..Default::default()
    };
    assert_eq!(
        requeue_after(&view, &status),
        Some(std::time::Duration::from_secs(30))
    );
    assert_eq!(
        requeue_after(
            &view,
            &ReplicaStatus {
                ready_replicas: 2,
                available_replicas: 2,
                ..Default::default()
            }
        ),
        None
    );
}
