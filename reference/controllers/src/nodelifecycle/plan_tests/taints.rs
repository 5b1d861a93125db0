//! NoExecute tainting through the zone queues and zone disruption
//! (`TestApplyNoExecuteTaints`, `TestSwapUnreachableNotReadyTaints`,
//! `TestMonitorNodeHealthEvictPodsWithDisruption`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::Node;

use super::super::plan::{Memory, Observed, Write, plan, plan_tainting};
use super::super::taints::{NOT_READY, UNREACHABLE};
use super::super::zones::zone_key;
use super::{at, config, described, node};

#[test]
fn no_execute_taints_are_queued_swapped_and_removed() {
    struct Case {
        name: &'static str,
        node: Arc<Node>,
        immediate: Vec<&'static str>,
        queued: bool,
    }
    let cases = [
        Case {
            name: "NotReady is queued for the rate-limited not-ready taint",
            node: node("n1", "z", Some(("False", 0)), &[]),
            immediate: vec![],
            queued: true,
        },
        Case {
            name: "not-ready is swapped for unreachable at once",
            node: node(
                "n1",
                "z",
                Some(("Unknown", 0)),
                &[(NOT_READY, "NoExecute"), ("custom", "NoSchedule")],
            ),
            immediate: vec![
                "taints n1 [custom:NoSchedule node.kubernetes.io/unreachable:NoExecute]",
            ],
            queued: false,
        },
        Case {
            name: "unreachable is swapped for not-ready at once",
            node: node("n1", "z", Some(("False", 0)), &[(UNREACHABLE, "NoExecute")]),
            immediate: vec!["taints n1 [node.kubernetes.io/not-ready:NoExecute]"],
            queued: false,
        },
        Case {
            name: "a Ready node loses both NoExecute taints",
            node: node(
                "n1",
                "z",
                Some(("True", 0)),
                &[(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")],
            ),
            immediate: vec!["taints n1 [node.kubernetes.io/unreachable:NoSchedule]"],
            queued: false,
        },
    ];
    for case in cases {
        let base = Instant::now();
        let mut memory = Memory::default();
        // Another healthy zone keeps this one from being "every zone down".
        let nodes = [
            case.node.clone(),
            node("healthy", "other", Some(("True", 0)), &[]),
        ];
        let observed = Observed {
            nodes: &nodes,
            leases: &HashMap::new(),
            pods: &[],
        };
        let writes = plan(observed, &mut memory, &config(), at(0, base));
        assert_eq!(described(&writes), case.immediate, "{}", case.name);
        let lookup = |name: &str| {
            nodes
                .iter()
                .find(|n| n.metadata.name.as_deref() == Some(name))
                .cloned()
        };
        let tainted = described(&plan_tainting(&mut memory.zones, lookup, at(0, base)));
        let expected: Vec<&str> = if case.queued {
            vec!["taints n1 [node.kubernetes.io/not-ready:NoExecute]"]
        } else {
            vec![]
        };
        assert_eq!(tainted, expected, "{}: tainting pass", case.name);
    }
}

#[test]
fn queued_nodes_are_tainted_at_the_zone_rate() {
    let base = Instant::now();
    let nodes: Vec<Arc<Node>> = (1..=4)
        .map(|i| node(&format!("n{i}"), "z", Some(("False", 0)), &[]))
        .chain((5..=9).map(|i| node(&format!("n{i}"), "z", Some(("True", 0)), &[])))
        .collect();
    let mut memory = Memory::default();
    let observed = Observed {
        nodes: &nodes,
        leases: &HashMap::new(),
        pods: &[],
    };
    plan(observed, &mut memory, &config(), at(0, base));
    let lookup = |name: &str| {
        nodes
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(name))
            .cloned()
    };
    let mut tainted = |secs| {
        plan_tainting(&mut memory.zones, lookup, at(secs, base))
            .iter()
            .filter_map(|w| match w {
                Write::NodeTaints { node, .. } => Some(node.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // Upstream's default 0.1 nodes/s with a burst of one: one now, the next 10s later.
    assert_eq!(tainted(0), vec!["n1"]);
    assert!(tainted(5).is_empty());
    assert_eq!(tainted(10), vec!["n2"]);
}

#[test]
fn monitor_node_health_with_disruption() {
    struct Case {
        name: &'static str,
        /// (zone, Ready status) per node; all heard from at T0.
        nodes: Vec<(&'static str, &'static str)>,
        large_cluster: usize,
        /// Expected (zone, rate).
        rates: Vec<(&'static str, f64)>,
    }
    let cases = [
        Case {
            name: "a healthy zone taints at the normal rate",
            nodes: vec![("a", "True"), ("a", "False")],
            large_cluster: 50,
            rates: vec![("a", 0.1)],
        },
        Case {
            name: "one fully disrupted zone among healthy ones keeps the normal rate",
            nodes: vec![("a", "Unknown"), ("b", "True")],
            large_cluster: 50,
            rates: vec![("a", 0.1), ("b", 0.1)],
        },
        Case {
            name: "every zone fully disrupted stops tainting",
            nodes: vec![("a", "Unknown"), ("b", "Unknown")],
            large_cluster: 50,
            rates: vec![("a", 0.0), ("b", 0.0)],
        },
        Case {
            name: "a partially disrupted small zone stops tainting",
            nodes: vec![
                ("a", "True"),
                ("a", "False"),
                ("a", "False"),
                ("a", "Unknown"),
            ],
            large_cluster: 50,
            rates: vec![("a", 0.0)],
        },
        Case {
            name: "a partially disrupted large zone taints at the secondary rate",
            nodes: vec![
                ("a", "True"),
                ("a", "False"),
                ("a", "False"),
                ("a", "Unknown"),
            ],
            large_cluster: 3,
            rates: vec![("a", 0.01)],
        },
    ];
    for case in cases {
        let nodes: Vec<Arc<Node>> = case
            .nodes
            .iter()
            .enumerate()
            .map(|(i, (zone, ready))| node(&format!("n{i}"), zone, Some((ready, 0)), &[]))
            .collect();
        let mut config = config();
        config.large_cluster_size_threshold = case.large_cluster;
        let mut memory = Memory::default();
        let observed = Observed {
            nodes: &nodes,
            leases: &HashMap::new(),
            pods: &[],
        };
        plan(observed, &mut memory, &config, at(0, Instant::now()));
        for (zone, rate) in case.rates {
            let key = zone_key(&node("x", zone, None, &[]));
            let got = memory.zones.get(&key).map(|q| q.rate());
            assert_eq!(got, Some(rate), "{}: zone {zone}", case.name);
        }
    }
}

#[test]
fn every_zone_down_takes_the_no_execute_taints_off_and_empties_the_queues() {
    let nodes = [
        node(
            "n1",
            "a",
            Some(("Unknown", 0)),
            &[(UNREACHABLE, "NoExecute")],
        ),
        node("n2", "b", Some(("False", 0)), &[]),
    ];
    let mut memory = Memory::default();
    let observed = Observed {
        nodes: &nodes,
        leases: &HashMap::new(),
        pods: &[],
    };
    let writes = plan(observed, &mut memory, &config(), at(0, Instant::now()));
    assert_eq!(described(&writes), vec!["taints n1 []"]);
    let queued: usize = ["a", "b"]
        .iter()
        .filter_map(|z| memory.zones.get(&zone_key(&node("x", z, None, &[]))))
        .map(|q| q.queued().count())
        .sum();
    assert_eq!(queued, 0);
}
