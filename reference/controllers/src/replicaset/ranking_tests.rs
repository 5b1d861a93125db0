//! Tests of the deletion order: one test per `ActivePodsWithRanks` rule.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::util::pods::fixtures::{on, phase, pod, ready};
use crate::util::time::from_unix;

const NOW: i64 = 1_000_000;

fn first_of(a: Pod, b: Pod) -> String {
    let pods = vec![Arc::new(b), Arc::new(a)];
    let chosen = pods_to_delete(&pods, &[], 1, from_unix(NOW));
    chosen[0].metadata.name.clone().unwrap()
}

fn created(mut p: Pod, secs: i64) -> Pod {
    p.metadata.creation_timestamp = Some(Time(from_unix(secs)));
    p
}

fn cost(mut p: Pod, c: &str) -> Pod {
    p.metadata.annotations = Some([(POD_DELETION_COST.to_string(), c.to_string())].into());
    p
}

fn restarts(mut p: Pod, n: i32) -> Pod {
    p.status
        .get_or_insert_with(Default::default)
        .container_statuses = Some(vec![ContainerStatus {
        name: "c".into(),
        restart_count: n,
        ..Default::default()
    }]);
    p
}

#[test]
fn rule1_unassigned_pods_go_before_assigned_ones() {
    assert_eq!(
        first_of(on(pod("assigned"), "n1"), pod("unassigned")),
        "unassigned"
    );
}

#[test]
fn rule2_pending_goes_before_unknown_before_running() {
    assert_eq!(
        first_of(
            on(pod("running"), "n"),
            on(phase(pod("pending"), "Pending"), "n")
        ),
        "pending"
    );
    assert_eq!(
        first_of(
            on(pod("running"), "n"),
            on(phase(pod("unknown"), "Unknown"), "n")
        ),
        "unknown"
    );
    assert_eq!(
        first_of(
            on(phase(pod("unknown"), "Unknown"), "n"),
            on(phase(pod("pending"), "Pending"), "n")
        ),
        "pending"
    );
}

#[test]
fn rule3_not_ready_goes_before_ready() {
    assert_eq!(
        first_of(
            on(ready(pod("ready"), from_unix(1)), "n"),
            on(pod("notready"), "n")
        ),
        "notready"
    );
}

#[test]
fn rule4_lower_deletion_cost_goes_first() {
    assert_eq!(
        first_of(
            on(cost(pod("expensive"), "10"), "n"),
            on(cost(pod("cheap"), "-5"), "n")
        ),
        "cheap"
    );
    assert_eq!(
        first_of(on(pod("zero"), "n"), on(cost(pod("neg"), "-1"), "n")),
        "neg"
    );
}

#[test]
fn rule5_pods_doubled_up_on_a_node_go_first() {
    let crowded = Arc::new(on(pod("crowded"), "n1"));
    let alone = Arc::new(on(pod("alone"), "n2"));
    let neighbour = Arc::new(on(pod("neighbour"), "n1"));
    let related = vec![crowded.clone(), alone.clone(), neighbour];
    let chosen = pods_to_delete(&[alone, crowded], &related, 1, from_unix(NOW));
    assert_eq!(chosen[0].metadata.name.as_deref(), Some("crowded"));
}

#[test]
fn rule6_the_more_recently_ready_pod_goes_first_across_log_buckets() {
    // Ready 10 s ago vs 1000 s ago: different log2 buckets.
    let recent = on(ready(pod("recent"), from_unix(NOW - 10)), "n");
    let old = on(ready(pod("old"), from_unix(NOW - 1000)), "n");
    assert_eq!(first_of(old, recent), "recent");
}

#[test]
fn rule6_ready_times_in_the_same_log_bucket_fall_back_to_uid_order() {
    // 1000 s and 1001 s ago share floor(log2(ns)); the lower UID goes first.
    let a = on(ready(pod("a"), from_unix(NOW - 1000)), "n");
    let b = on(ready(pod("b"), from_unix(NOW - 1001)), "n");
    assert_eq!(first_of(b, a), "a");
}

#[test]
fn rule7_more_restarts_go_first() {
    assert_eq!(
        first_of(
            on(restarts(pod("calm"), 0), "n"),
            on(restarts(pod("crashy"), 3), "n")
        ),
        "crashy"
    );
}

#[test]
fn rule8_newer_pods_go_first_and_unset_creation_counts_as_newest() {
    assert_eq!(
        first_of(
            on(created(pod("old"), NOW - 5000), "n"),
            on(created(pod("new"), NOW - 5), "n")
        ),
        "new"
    );
    assert_eq!(
        first_of(
            on(created(pod("dated"), NOW - 5), "n"),
            on(pod("undated"), "n")
        ),
        "undated"
    );
}

#[test]
fn earlier_rules_win_over_later_ones() {
    // An unassigned old pod still goes before an assigned not-ready new one.
    let unassigned_old = created(pod("unassigned-old"), NOW - 9000);
    let assigned_new = on(phase(created(pod("assigned-new"), NOW - 1), "Pending"), "n");
    assert_eq!(first_of(assigned_new, unassigned_old), "unassigned-old");
}

#[test]
fn all_pods_are_returned_unsorted_when_all_must_go() {
    let pods = vec![Arc::new(pod("x")), Arc::new(pod("y"))];
    assert_eq!(pods_to_delete(&pods, &[], 5, from_unix(NOW)).len(), 2);
}
