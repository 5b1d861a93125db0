//! Tests of node sampling in [`Algorithm::schedule_pod`]: upstream's
//! `percentageOfNodesToScore` (TestNumFeasibleNodesToFind's table, through the config
//! file as a user sets it), the rotating start index (TestFairEvaluationForNodes), and
//! the early stop once enough feasible nodes are found.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

use super::*;
use crate::config::SchedulerConfig;
use crate::config_file::{API_VERSION, KIND, KubeSchedulerConfiguration};
use crate::framework::WeightedPlugin;
use crate::registry::{default_framework, default_plugins};
use crate::testing::{node, pod, snapshot};

/// `count` nodes named `n000`, `n001`, ... (the snapshot keeps nodes in name order, so
/// the index in the name is the index in the snapshot). Odd ones are unschedulable when
/// `odd_unschedulable`.
fn nodes(count: usize, odd_unschedulable: bool) -> Vec<Arc<Node>> {
    (0..count)
        .map(|i| {
            let spec = if odd_unschedulable && i % 2 == 1 {
                json!({"spec": {"unschedulable": true}})
            } else {
                json!({})
            };
            node(&format!("n{i:03}"), "4", "32Gi", spec)
        })
        .collect()
}

fn index_of(name: &str) -> usize {
    name[1..].parse().expect("test node names are n<index>")
}

#[test]
fn the_number_of_nodes_to_find_follows_upstreams_table() {
    // (global, profile, nodes, want) from upstream TestNumFeasibleNodesToFind.
    let table: [(u32, Option<u32>, usize, usize); 8] = [
        (0, None, 10, 10),
        (0, Some(40), 10, 10),
        (0, None, 1000, 420),
        (0, Some(40), 1000, 400),
        (100, Some(40), 1000, 400),
        (40, None, 1000, 400),
        (0, None, 6000, 300),
        (0, Some(40), 6000, 2400),
    ];
    for (global, profile, num_all, want) in table {
        let mut file = json!({"apiVersion": API_VERSION, "kind": KIND,
            "percentageOfNodesToScore": global});
        if let Some(p) = profile {
            file["profiles"] = json!([{"percentageOfNodesToScore": p}]);
        }
        let file: KubeSchedulerConfiguration = serde_json::from_value(file).unwrap();
        let config = file.apply(SchedulerConfig::default()).unwrap();
        assert_eq!(
            num_feasible_nodes_to_find(config.percentage_of_nodes_to_score, num_all),
            want,
            "global {global}, profile {profile:?}, {num_all} nodes"
        );
    }
    // The floors: at least 5 %, and never fewer than 100 nodes.
    assert_eq!(num_feasible_nodes_to_find(None, 5000), 500);
    assert_eq!(num_feasible_nodes_to_find(None, 20000), 1000);
    assert_eq!(num_feasible_nodes_to_find(None, 150), 100);
    assert_eq!(num_feasible_nodes_to_find(Some(10), 500), 100);
    assert_eq!(num_feasible_nodes_to_find(Some(100), 2000), 2000);
    assert_eq!(num_feasible_nodes_to_find(Some(40), 99), 99);
}

#[test]
fn successive_pods_start_where_the_last_search_stopped() {
    // Upstream TestFairEvaluationForNodes: 500 nodes at 30 %, 150 per pod, more than
    // twice round the cluster; each pod is placed inside the window it searched.
    let snap = snapshot(&nodes(500, false), &[]);
    let mut algo = Algorithm::new(default_framework(), Some(30));
    let to_find = num_feasible_nodes_to_find(Some(30), 500);
    assert_eq!(to_find, 150);
    let mut rng = StdRng::seed_from_u64(3);
    for i in 0..2 * (500 / to_find + 1) {
        let start = algo.next_start_node_index;
        let r = algo
            .schedule_pod(&pod("p", json!({})), &snap, &mut rng)
            .unwrap();
        assert_eq!((r.evaluated_nodes, r.feasible_nodes), (to_find, to_find));
        assert_eq!(algo.next_start_node_index, (i + 1) * to_find % 500);
        let offset = (index_of(&r.node) + 500 - start) % 500;
        assert!(offset < to_find, "pod {i} went to {} from {start}", r.node);
    }
}

#[test]
fn filtering_stops_once_enough_feasible_nodes_are_found() {
    // 200 nodes, every other unschedulable: the 100th feasible node is n198, so 199
    // nodes are run through the filters and n199 is never looked at.
    let snap = snapshot(&nodes(200, true), &[]);
    let mut algo = Algorithm::new(default_framework(), None);
    let r = algo
        .schedule_pod(&pod("p", json!({})), &snap, &mut StdRng::seed_from_u64(1))
        .unwrap();
    assert_eq!((r.evaluated_nodes, r.feasible_nodes), (199, 100));
    assert_eq!(algo.next_start_node_index, 199);
    assert_eq!(index_of(&r.node) % 2, 0);
}

#[test]
fn under_a_hundred_nodes_every_node_is_searched_every_time() {
    let snap = snapshot(&nodes(99, false), &[]);
    let mut algo = Algorithm::new(default_framework(), Some(10));
    for seed in 0..3 {
        let r = algo
            .schedule_pod(
                &pod("p", json!({})),
                &snap,
                &mut StdRng::seed_from_u64(seed),
            )
            .unwrap();
        assert_eq!((r.evaluated_nodes, r.feasible_nodes), (99, 99));
        assert_eq!(algo.next_start_node_index, 0);
    }
}

#[test]
fn the_start_index_advances_modulo_all_nodes_when_a_pre_filter_narrows_them() {
    // NodeAffinity's PreFilter leaves 150 of 300 nodes; 100 of them are searched per
    // pod. Upstream keeps the index modulo all 300 nodes (100, then 200), and walks the
    // candidates from it modulo 150: the second pod searches candidates 100..149, 0..49.
    let all = nodes(300, false);
    // One term per node: a node field selector takes exactly one value (upstream).
    let terms: Vec<_> = (0..150)
        .map(|i| {
            json!({"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [format!("n{i:03}")]}]})
        })
        .collect();
    let p = pod(
        "p",
        json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": terms}}}}),
    );
    let snap = snapshot(&all, &[]);
    let mut algo = Algorithm::new(default_framework(), None);
    let mut rng = StdRng::seed_from_u64(5);
    let first = algo.schedule_pod(&p, &snap, &mut rng).unwrap();
    assert_eq!(first.evaluated_nodes, 100);
    assert!(index_of(&first.node) < 100, "{}", first.node);
    assert_eq!(algo.next_start_node_index, 100);
    let second = algo.schedule_pod(&p, &snap, &mut rng).unwrap();
    assert_eq!(second.evaluated_nodes, 100);
    let i = index_of(&second.node);
    assert!((100..150).contains(&i) || i < 50, "{}", second.node);
    assert_eq!(algo.next_start_node_index, 200);
}

#[test]
fn a_profile_without_score_plugins_takes_the_first_node_that_fits() {
    // Upstream findNodesThatPassFilters: nothing to score, so one feasible node is
    // enough, and the next pod starts at the node after it.
    let plugins = default_plugins()
        .into_iter()
        .filter(|(p, _)| p.as_score().is_none())
        .map(|(plugin, weight)| WeightedPlugin { plugin, weight })
        .collect();
    let framework = Framework::new(plugins);
    assert!(!framework.has_score_plugins());
    assert!(default_framework().has_score_plugins());
    let snap = snapshot(&nodes(300, true), &[]);
    let mut algo = Algorithm::new(framework, None);
    let mut rng = StdRng::seed_from_u64(1);
    let placed: Vec<(String, usize)> = (0..3)
        .map(|_| {
            let r = algo
                .schedule_pod(&pod("p", json!({})), &snap, &mut rng)
                .unwrap();
            (r.node, r.evaluated_nodes)
        })
        .collect();
    // n000 fits; then n001 is unschedulable so n002 is taken after two nodes, and so on.
    assert_eq!(
        placed,
        vec![
            ("n000".to_string(), 1),
            ("n002".to_string(), 2),
            ("n004".to_string(), 2)
        ]
    );
}
