//! Tests of the DaemonSet plan.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{Node, NodeSpec, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::*;
use crate::util::owner::Owner;
use crate::util::pods::fixtures::{on, phase as with_phase, pod, ready, taints as taints_of};
use crate::util::time::from_unix;

fn ds(node_selector: Option<(&str, &str)>) -> DaemonSet {
    DaemonSet {
        metadata: ObjectMeta {
            name: Some("agent".into()),
            namespace: Some("kube-system".into()),
            uid: Some("ds-uid".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some([("app".into(), "agent".into())].into()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some([("app".into(), "agent".into())].into()),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    node_selector: node_selector
                        .map(|(k, v)| [(k.to_string(), v.to_string())].into()),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

fn node(name: &str, labels: &[(&str, &str)], taints: &[(&str, &str)]) -> Arc<Node> {
    let mut n = Node::default();
    n.metadata.name = Some(name.into());
    n.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
    );
    n.spec = Some(NodeSpec {
        taints: Some(taints_of(taints)),
        ..Default::default()
    });
    Arc::new(n)
}

fn daemon(name: &str, node: &str, hash: &str) -> Arc<Pod> {
    let mut p = ready(on(pod(name), node), from_unix(0));
    p.metadata.labels = Some([(REVISION_HASH.into(), hash.into())].into());
    p.metadata.owner_references = Some(vec![
        Owner::new("apps/v1", "DaemonSet", "agent", "ds-uid").controller_ref(),
    ]);
    Arc::new(p)
}

fn names(pods: &[Arc<Pod>]) -> Vec<String> {
    pods.iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect()
}

#[test]
fn every_eligible_node_without_a_daemon_pod_gets_one() {
    let nodes = vec![
        node("n1", &[], &[]),
        node("n2", &[], &[]),
        node("n3", &[], &[]),
    ];
    let p = plan(
        &ds(None),
        &nodes,
        &[daemon("agent-a", "n1", "h")],
        "h",
        from_unix(100),
    );
    assert_eq!(p.create_on, vec!["n2", "n3"]);
    assert_eq!(
        (
            p.status.desired_number_scheduled,
            p.status.current_number_scheduled,
            p.status.number_ready
        ),
        (3, 1, 1)
    );
    assert_eq!(p.status.number_unavailable, Some(2));
}

#[test]
fn the_node_selector_limits_eligible_nodes_and_misscheduled_pods_are_removed() {
    let nodes = vec![
        node("ssd", &[("disk", "ssd")], &[]),
        node("hdd", &[("disk", "hdd")], &[]),
    ];
    let p = plan(
        &ds(Some(("disk", "ssd"))),
        &nodes,
        &[daemon("agent-x", "hdd", "h")],
        "h",
        from_unix(100),
    );
    assert_eq!(p.create_on, vec!["ssd"]);
    assert_eq!(names(&p.delete), vec!["agent-x"]);
    assert_eq!(p.status.number_misscheduled, 1);
}

#[test]
fn default_tolerations_let_daemons_onto_not_ready_and_unschedulable_nodes_but_not_custom_taints() {
    let nodes = vec![
        node(
            "unready",
            &[],
            &[
                ("node.kubernetes.io/not-ready", "NoExecute"),
                ("node.kubernetes.io/unschedulable", "NoSchedule"),
            ],
        ),
        node("dedicated", &[], &[("dedicated", "NoSchedule")]),
    ];
    let p = plan(
        &ds(None),
        &nodes,
        &[daemon("agent-d", "dedicated", "h")],
        "h",
        from_unix(100),
    );
    assert_eq!(p.create_on, vec!["unready"]);
    assert!(
        p.delete.is_empty(),
        "a NoSchedule taint does not evict a running daemon"
    );
    let evicting = vec![node("dedicated", &[], &[("dedicated", "NoExecute")])];
    assert_eq!(
        names(
            &plan(
                &ds(None),
                &evicting,
                &[daemon("agent-d", "dedicated", "h")],
                "h",
                from_unix(100)
            )
            .delete
        ),
        vec!["agent-d"]
    );
}

#[test]
fn duplicates_failed_pods_and_pods_on_vanished_nodes_are_deleted() {
    let nodes = vec![node("n1", &[], &[]), node("n2", &[], &[])];
    let mut older = (*daemon("agent-old", "n1", "h")).clone();
    older.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        from_unix(1),
    ));
    let mut newer = (*daemon("agent-new", "n1", "h")).clone();
    newer.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        from_unix(2),
    ));
    let failed = Arc::new(with_phase(
        (*daemon("agent-failed", "n2", "h")).clone(),
        "Failed",
    ));
    let p = plan(
        &ds(None),
        &nodes,
        &[
            Arc::new(newer),
            Arc::new(older),
            failed,
            daemon("agent-gone", "n9", "h"),
        ],
        "h",
        from_unix(100),
    );
    let mut deleted = names(&p.delete);
    deleted.sort();
    assert_eq!(deleted, vec!["agent-failed", "agent-gone", "agent-new"]);
    assert!(
        p.create_on.is_empty(),
        "the failed pod's node is refilled after its deletion"
    );
}

#[test]
fn a_rolling_update_replaces_one_available_old_pod_at_a_time() {
    let nodes = vec![node("n1", &[], &[]), node("n2", &[], &[])];
    let p = plan(
        &ds(None),
        &nodes,
        &[daemon("a1", "n1", "old"), daemon("a2", "n2", "old")],
        "new",
        from_unix(100),
    );
    assert_eq!(p.delete.len(), 1);
    assert_eq!(p.status.updated_number_scheduled, Some(0));
}

#[test]
fn the_daemon_pod_is_pinned_to_its_node_with_the_default_tolerations() {
    let pod = pod_for_node(&ds(None), "n7", "h1");
    let spec = pod.spec.unwrap();
    let term = &spec
        .affinity
        .unwrap()
        .node_affinity
        .unwrap()
        .required_during_scheduling_ignored_during_execution
        .unwrap()
        .node_selector_terms[0];
    let field = &term.match_fields.as_ref().unwrap()[0];
    assert_eq!(
        (
            field.key.as_str(),
            field.operator.as_str(),
            field.values.clone()
        ),
        ("metadata.name", "In", Some(vec!["n7".to_string()]))
    );
    assert!(spec.tolerations.unwrap().iter().any(|t| t.key.as_deref()
        == Some("node.kubernetes.io/unreachable")
        && t.effect.as_deref() == Some("NoExecute")));
    assert_eq!(pod.metadata.generate_name.as_deref(), Some("agent-"));
    assert_eq!(
        pod.metadata
            .labels
            .unwrap()
            .get(REVISION_HASH)
            .map(String::as_str),
        Some("h1")
    );
}

#[test]
fn an_unscheduled_daemon_pod_counts_for_the_node_its_affinity_pins_it_to() {
    let nodes = vec![node("n1", &[], &[]), node("n2", &[], &[])];
    let pending = Arc::new(pod_for_node(&ds(None), "n1", "h"));
    assert_eq!(target_node(&pending), "n1");
    let p = plan(&ds(None), &nodes, &[pending], "h", from_unix(100));
    assert_eq!(p.create_on, vec!["n2"]);
    assert!(p.delete.is_empty());
    assert_eq!(p.status.current_number_scheduled, 1);
}
