//! The incremental snapshot must equal one built from scratch after any sequence of
//! cache changes, and must share (not copy) the node infos that did not change.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::testing::{bound, node, pod, pod_with};

fn with_images(name: &str, images: &[&str]) -> Arc<Node> {
    let images: Vec<_> = images
        .iter()
        .map(|i| json!({"names": [i], "sizeBytes": 1000}))
        .collect();
    node(name, "4", "8Gi", json!({"status": {"images": images}}))
}

fn anti(name: &str) -> Arc<Pod> {
    pod_with(
        name,
        json!({"labels": {"app": "x"}}),
        json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}]}},
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]}),
    )
}

fn plain(name: &str) -> Arc<Pod> {
    pod(
        name,
        json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "200m"}}}]}),
    )
}

/// What plugins can see of a node info, comparable between two snapshots.
fn view(s: &Snapshot) -> Vec<String> {
    s.nodes
        .iter()
        .map(|n| {
            let mut pods: Vec<String> = n.pods.iter().map(|p| pod_key(&p.pod)).collect();
            pods.sort();
            let mut images: Vec<String> = n
                .image_states
                .iter()
                .map(|(k, v)| format!("{k}={}x{}", v.size, v.num_nodes))
                .collect();
            images.sort();
            format!(
                "{} pods={pods:?} cpu={} images={images:?} aff={} anti={}",
                n.name(),
                n.requested.milli_cpu,
                n.pods_with_affinity,
                n.pods_with_required_anti_affinity
            )
        })
        .collect()
}

/// The snapshot a fresh cache would build from the same nodes and pods.
fn rebuilt(c: &Cache) -> Snapshot {
    let nodes: Vec<Arc<Node>> = c.nodes.values().cloned().collect();
    let pods: Vec<Arc<Pod>> = c.pods.values().map(|p| p.info.pod.clone()).collect();
    Snapshot::build(&nodes, &pods, ClusterObjects::default())
}

fn check(c: &mut Cache) -> Arc<Snapshot> {
    let s = c.snapshot(ClusterObjects::default());
    let fresh = rebuilt(c);
    assert_eq!(view(&s), view(&fresh));
    assert_eq!(s.have_pods_with_affinity, fresh.have_pods_with_affinity);
    assert_eq!(
        s.have_pods_with_required_anti_affinity,
        fresh.have_pods_with_required_anti_affinity
    );
    s
}

#[test]
fn the_incremental_snapshot_matches_a_fresh_one_after_every_kind_of_change() {
    let mut c = Cache::new();
    c.upsert_node(with_images("n1", &["a:1"]));
    c.upsert_node(with_images("n2", &["a:1", "b:1"]));
    c.upsert_node(with_images("n3", &[]));
    check(&mut c);
    c.assume_pod(bound(anti("p1"), "n1")).unwrap();
    c.assume_pod(bound(plain("p2"), "n2")).unwrap();
    check(&mut c);
    c.upsert_bound_pod(bound(anti("p1"), "n1"));
    c.forget_pod("default/p2");
    check(&mut c);
    // A pod seen on another node than assumed moves there.
    c.assume_pod(bound(plain("p3"), "n1")).unwrap();
    c.upsert_bound_pod(bound(plain("p3"), "n3"));
    check(&mut c);
    // A pod on a node not yet known shows up once the node does.
    c.upsert_bound_pod(bound(anti("p4"), "n4"));
    check(&mut c);
    c.upsert_node(with_images("n4", &["b:1"]));
    check(&mut c);
    // Images change: every node's spread is recounted.
    c.upsert_node(with_images("n3", &["a:1"]));
    check(&mut c);
    c.remove_node("n2");
    c.remove_pod("default/p1");
    check(&mut c);
    c.replace_bound_pods(vec![bound(plain("p5"), "n1")]);
    c.replace_nodes(vec![with_images("n1", &[]), with_images("n5", &["c:1"])]);
    let s = check(&mut c);
    assert_eq!(s.nodes.len(), 2);
}

#[test]
fn only_the_changed_node_infos_are_replaced_between_snapshots() {
    let mut c = Cache::new();
    for i in 0..4 {
        c.upsert_node(with_images(&format!("n{i}"), &[]));
    }
    let before = c.snapshot(ClusterObjects::default());
    c.assume_pod(bound(plain("p"), "n2")).unwrap();
    let after = c.snapshot(ClusterObjects::default());
    for i in [0, 1, 3] {
        assert!(Arc::ptr_eq(&before.nodes[i], &after.nodes[i]), "n{i}");
    }
    assert!(!Arc::ptr_eq(&before.nodes[2], &after.nodes[2]));
    assert_eq!(
        before.nodes[2].pods.len(),
        0,
        "the old snapshot is unchanged"
    );
    assert_eq!(after.nodes[2].pods.len(), 1);
}

#[test]
fn a_dropped_snapshot_is_updated_in_place_and_a_held_one_is_left_alone() {
    let mut c = Cache::new();
    for i in 0..4 {
        c.upsert_node(with_images(&format!("n{i}"), &[]));
    }
    let first = c.snapshot(ClusterObjects::default());
    let address = Arc::as_ptr(&first);
    drop(first);
    c.assume_pod(bound(anti("p"), "n1")).unwrap();
    let second = check(&mut c);
    assert_eq!(Arc::as_ptr(&second), address, "no cycle held it: reused");
    assert_eq!(second.have_pods_with_required_anti_affinity, vec![1]);
    c.assume_pod(bound(anti("q"), "n3")).unwrap();
    let third = check(&mut c);
    assert_ne!(
        Arc::as_ptr(&third),
        address,
        "the second is still held: copied"
    );
    assert_eq!(second.have_pods_with_required_anti_affinity, vec![1]);
    assert_eq!(third.have_pods_with_required_anti_affinity, vec![1, 3]);
    drop((second, third));
    c.forget_pod("default/p");
    assert!(check(&mut c).have_pods_with_affinity == vec![3]);
}
