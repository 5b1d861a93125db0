//! Tests of the deployment plan: rolling-update arithmetic, scale-down victim order,
//! Recreate, pause, rollback, proportional scaling, conditions.

use std::collections::HashMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentSpec, DeploymentStatus, DeploymentStrategy,
    ReplicaSet, ReplicaSetSpec, ReplicaSetStatus, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::util::owner::Owner;
use crate::util::time::from_unix;

const NOW: i64 = 10_000;

fn template(version: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some([("app".into(), "web".into()), ("v".into(), version.into())].into()),
            ..Default::default()
        }),
        spec: None,
    }
}

fn deployment(
    replicas: i32,
    surge: IntOrString,
    unavailable: IntOrString,
    version: &str,
) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("d-uid".into()),
            generation: Some(2),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some([("app".into(), "web".into())].into()),
                ..Default::default()
            },
            template: template(version),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(surge),
                    max_unavailable: Some(unavailable),
                }),
            }),
            progress_deadline_seconds: Some(600),
            revision_history_limit: Some(10),
            ..Default::default()
        }),
        status: Some(DeploymentStatus {
            observed_generation: Some(1),
            ..Default::default()
        }),
    }
}

fn rs(
    name: &str,
    version: &str,
    revision: i64,
    replicas: i32,
    available: i32,
    created: i64,
) -> ReplicaSet {
    let mut t = template(version);
    t.metadata
        .as_mut()
        .unwrap()
        .labels
        .as_mut()
        .unwrap()
        .insert(POD_TEMPLATE_HASH.into(), name.into());
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            creation_timestamp: Some(Time(from_unix(created))),
            annotations: Some([(REVISION.into(), revision.to_string())].into()),
            owner_references: Some(vec![
                Owner::new("apps/v1", "Deployment", "web", "d-uid").controller_ref(),
            ]),
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            template: Some(t),
            ..Default::default()
        }),
        status: Some(ReplicaSetStatus {
            replicas,
            available_replicas: Some(available),
            ready_replicas: Some(available),
            ..Default::default()
        }),
    }
}

/// A status as a settled deployment of `n` replicas would have it.
fn steady(mut d: Deployment, n: i32) -> Deployment {
    let s = d.status.get_or_insert_with(Default::default);
    s.replicas = Some(n);
    s.updated_replicas = Some(n);
    s.ready_replicas = Some(n);
    s.available_replicas = Some(n);
    d
}

fn run(d: &Deployment, rss: Vec<ReplicaSet>) -> Plan {
    plan(Input {
        d,
        rss,
        pods_by_rs: &HashMap::new(),
        now: from_unix(NOW),
    })
    .unwrap()
}

fn int(i: i32) -> IntOrString {
    IntOrString::Int(i)
}

fn pct(s: &str) -> IntOrString {
    IntOrString::String(s.into())
}

fn scaled(p: &Plan) -> Vec<(String, i32)> {
    p.steps
        .iter()
        .filter_map(|s| match s {
            Step::UpdateRs { rs, .. } | Step::CreateRs { rs, .. } => {
                Some((rs.metadata.name.clone().unwrap(), rs_replicas(rs)))
            }
            _ => None,
        })
        .collect()
}

fn messages(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .filter_map(|s| match s {
            Step::UpdateRs { event: Some(e), .. }
            | Step::CreateRs { event: Some(e), .. }
            | Step::Event(e) => Some(e.message.clone()),
            _ => None,
        })
        .collect()
}

/// Applies a plan as the API server and ReplicaSet controller would, making every pod
/// available at once; returns the ReplicaSets and the updated deployment.
fn apply(d: &mut Deployment, rss: &mut Vec<ReplicaSet>, p: &Plan, min_available: i32) {
    for step in &p.steps {
        match step {
            Step::CreateRs { rs, .. } => {
                let mut rs = (**rs).clone();
                rs.metadata.uid = rs.metadata.name.clone();
                rss.push(rs);
            }
            Step::UpdateRs { rs, .. } => {
                let slot = rss
                    .iter_mut()
                    .find(|r| r.metadata.name == rs.metadata.name)
                    .unwrap();
                slot.spec = rs.spec.clone();
                slot.metadata.annotations = rs.metadata.annotations.clone();
            }
            Step::DeleteRs { name } => rss.retain(|r| r.metadata.name.as_ref() != Some(name)),
            Step::SetRevision(r) => {
                d.metadata
                    .annotations
                    .get_or_insert_with(Default::default)
                    .insert(REVISION.into(), r.clone());
            }
            Step::Event(_) => {}
        }
        // Scaling down removes available pods at once: availability must hold after each write.
        let available: i32 = rss
            .iter()
            .map(|r| rs_replicas(r).min(rs_available(r)))
            .sum();
        assert!(
            available >= min_available,
            "availability {available} fell below {min_available} after {step:?}"
        );
    }
    if let Some(s) = &p.status {
        d.status = Some(s.clone());
    }
    for r in rss.iter_mut() {
        let n = rs_replicas(r);
        r.status = Some(ReplicaSetStatus {
            replicas: n,
            available_replicas: Some(n),
            ready_replicas: Some(n),
            ..Default::default()
        });
    }
}

/// Rolls `d` from an RS of v1 to v2; returns (new, old) sizes after each round.
fn roll(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Vec<(i32, i32)> {
    let mut d = steady(deployment(replicas, surge, unavailable, "v2"), replicas);
    let (max_surge, max_unavail) = (max_surge(&d), max_unavailable(&d));
    let mut rss = vec![rs("web-old", "v1", 1, replicas, replicas, 1)];
    let mut rounds = Vec::new();
    for _ in 0..50 {
        let p = run(&d, rss.clone());
        apply(&mut d, &mut rss, &p, replicas - max_unavail);
        let total: i32 = rss.iter().map(rs_replicas).sum();
        assert!(
            total <= replicas + max_surge,
            "total {total} exceeds replicas + surge"
        );
        let new = rss
            .iter()
            .find(|r| r.metadata.name.as_deref() != Some("web-old"))
            .map_or(0, rs_replicas);
        let old = rss
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some("web-old"))
            .map_or(0, rs_replicas);
        if rounds.last() == Some(&(new, old)) {
            break;
        }
        rounds.push((new, old));
    }
    rounds
}

#[test]
fn ten_replicas_with_default_fenceposts_surge_three_and_drop_two_per_step() {
    let rounds = roll(10, pct("25%"), pct("25%"));
    assert_eq!(
        rounds[0],
        (3, 8),
        "first sync creates the new RS at 3 and scales the old one to 8"
    );
    assert_eq!(rounds.last(), Some(&(10, 0)));
}

#[test]
fn four_replicas_roll_one_up_one_down() {
    let rounds = roll(4, pct("25%"), pct("25%"));
    assert_eq!(rounds[0], (1, 3));
    assert_eq!(rounds.last(), Some(&(4, 0)));
}

#[test]
fn one_replica_surges_first_and_never_goes_unavailable() {
    let rounds = roll(1, pct("25%"), pct("25%"));
    assert_eq!(rounds[0], (1, 1), "surge 1 / unavailable 0: new pod first");
    assert_eq!(rounds.last(), Some(&(1, 0)));
}

#[test]
fn zero_surge_replaces_pods_one_at_a_time() {
    let rounds = roll(2, int(0), pct("25%"));
    assert_eq!(
        rounds[0],
        (0, 1),
        "surge 0 / unavailable 1: old pod goes first"
    );
    assert_eq!(rounds[1], (1, 1));
    assert_eq!(rounds.last(), Some(&(2, 0)));
}

#[test]
fn the_first_sync_creates_the_new_replica_set_with_upstream_names_events_and_conditions() {
    let d = steady(deployment(10, pct("25%"), pct("25%"), "v2"), 10);
    let p = run(&d, vec![rs("web-old", "v1", 1, 10, 10, 1)]);
    let Step::CreateRs { rs: new, .. } = &p.steps[0] else {
        panic!("expected a create first: {:?}", p.steps)
    };
    let hash = new
        .metadata
        .labels
        .as_ref()
        .unwrap()
        .get(POD_TEMPLATE_HASH)
        .unwrap()
        .clone();
    assert_eq!(
        new.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    assert_eq!(
        new.spec
            .as_ref()
            .unwrap()
            .selector
            .match_labels
            .as_ref()
            .unwrap()
            .get(POD_TEMPLATE_HASH),
        Some(&hash)
    );
    let ann = new.metadata.annotations.as_ref().unwrap();
    assert_eq!(
        (
            ann[REVISION].as_str(),
            ann[DESIRED_REPLICAS].as_str(),
            ann[MAX_REPLICAS].as_str()
        ),
        ("2", "10", "13")
    );
    assert_eq!(
        messages(&p),
        vec![
            format!("Scaled up replica set web-{hash} from 0 to 3"),
            "Scaled down replica set web-old from 10 to 8".to_string()
        ]
    );
    assert!(p.steps.contains(&Step::SetRevision("2".into())));
    let status = p.status.unwrap();
    let prog = get_condition(&status, "Progressing").unwrap();
    assert_eq!(
        (prog.status.as_str(), prog.reason.as_deref()),
        ("True", Some("NewReplicaSetCreated"))
    );
    assert_eq!(
        prog.message.as_deref(),
        Some(format!("Created new replica set \"web-{hash}\"").as_str())
    );
}

#[test]
fn unhealthy_replicas_of_the_oldest_replica_set_are_scaled_down_first() {
    let d = deployment(6, int(1), int(1), "v2");
    let rss = vec![
        rs("web-a", "v0", 1, 3, 1, 1),
        rs("web-b", "v1", 2, 3, 3, 2),
        rs("web-new", "v2", 3, 1, 0, 3),
    ];
    assert_eq!(scaled(&run(&d, rss)), vec![("web-a".to_string(), 2)]);
}

#[test]
fn healthy_old_replica_sets_are_scaled_down_oldest_first_by_availability() {
    let d = deployment(4, int(1), int(1), "v2");
    let rss = vec![
        rs("web-b", "v1", 2, 2, 2, 2),
        rs("web-a", "v0", 1, 2, 2, 1),
        rs("web-new", "v2", 3, 1, 1, 3),
    ];
    assert_eq!(scaled(&run(&d, rss)), vec![("web-a".to_string(), 0)]);
}

#[test]
fn recreate_scales_old_to_zero_then_waits_then_creates_the_new_replica_set() {
    let mut d = deployment(3, int(0), int(1), "v2");
    d.spec.as_mut().unwrap().strategy = Some(DeploymentStrategy {
        type_: Some("Recreate".into()),
        rolling_update: None,
    });
    let p = run(&d, vec![rs("web-old", "v1", 1, 3, 3, 1)]);
    assert_eq!(scaled(&p), vec![("web-old".to_string(), 0)]);
    // Old RS scaled but its pods still reported: nothing more yet.
    let mut draining = rs("web-old", "v1", 1, 0, 0, 1);
    draining.status.as_mut().unwrap().replicas = 2;
    assert!(scaled(&run(&d, vec![draining])).is_empty());
    let p = run(&d, vec![rs("web-old", "v1", 1, 0, 0, 1)]);
    let created = scaled(&p);
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].1, 3);
    assert!(messages(&p)[0].ends_with("from 0 to 3"));
}

#[test]
fn a_paused_deployment_creates_nothing_and_reports_paused() {
    let mut d = deployment(3, pct("25%"), pct("25%"), "v2");
    d.spec.as_mut().unwrap().paused = Some(true);
    let p = run(&d, vec![rs("web-old", "v1", 1, 3, 3, 1)]);
    assert!(!p.steps.iter().any(|s| matches!(s, Step::CreateRs { .. })));
    let prog = get_condition(p.status.as_ref().unwrap(), "Progressing")
        .unwrap()
        .clone();
    assert_eq!(
        (
            prog.status.as_str(),
            prog.reason.as_deref(),
            prog.message.as_deref()
        ),
        (
            "Unknown",
            Some("DeploymentPaused"),
            Some("Deployment is paused")
        )
    );
    let mut resumed = d.clone();
    resumed.spec.as_mut().unwrap().paused = Some(false);
    resumed.status = p.status.clone();
    let p = run(&resumed, vec![rs("web-old", "v1", 1, 3, 3, 1)]);
    assert!(p.steps.iter().any(|s| matches!(s, Step::CreateRs { .. })));
}

#[test]
fn undo_to_an_old_template_reuses_that_replica_set_and_bumps_its_revision() {
    let d = deployment(3, pct("25%"), pct("25%"), "v1");
    let p = run(
        &d,
        vec![
            rs("web-v1", "v1", 1, 0, 0, 1),
            rs("web-v2", "v2", 2, 3, 3, 2),
        ],
    );
    assert!(!p.steps.iter().any(|s| matches!(s, Step::CreateRs { .. })));
    let Step::UpdateRs { rs: updated, .. } = &p.steps[0] else {
        panic!("{:?}", p.steps)
    };
    let ann = updated.metadata.annotations.as_ref().unwrap();
    assert_eq!(updated.metadata.name.as_deref(), Some("web-v1"));
    assert_eq!(
        (ann[REVISION].as_str(), ann[REVISION_HISTORY].as_str()),
        ("3", "1")
    );
}

#[test]
fn scaling_mid_rollout_is_proportional_across_active_replica_sets() {
    let d = deployment(20, pct("25%"), pct("25%"), "v2");
    let mut old = rs("web-old", "v1", 1, 8, 8, 1);
    let mut new = rs("web-new", "v2", 2, 5, 5, 2);
    for r in [&mut old, &mut new] {
        set_replicas_annotations(r, 10, 13);
    }
    let mut d2 = d.clone();
    d2.status.as_mut().unwrap().replicas = Some(13);
    let p = run(&d2, vec![old, new]);
    let mut sizes = scaled(&p);
    sizes.sort();
    assert_eq!(
        sizes,
        vec![("web-new".to_string(), 10), ("web-old".to_string(), 15)]
    );
}

#[test]
fn a_complete_rollout_reports_success_and_minimum_availability() {
    let mut d = deployment(3, pct("25%"), pct("25%"), "v2");
    d.metadata.generation = Some(1);
    let p = run(&d, vec![rs("web-new", "v2", 1, 3, 3, 1)]);
    let s = p.status.unwrap();
    let prog = get_condition(&s, "Progressing").unwrap();
    assert_eq!(
        (prog.reason.as_deref(), prog.message.as_deref()),
        (
            Some("NewReplicaSetAvailable"),
            Some("ReplicaSet \"web-new\" has successfully progressed.")
        )
    );
    let avail = get_condition(&s, "Available").unwrap();
    assert_eq!(
        (
            avail.status.as_str(),
            avail.reason.as_deref(),
            avail.message.as_deref()
        ),
        (
            "True",
            Some("MinimumReplicasAvailable"),
            Some("Deployment has minimum availability.")
        )
    );
    assert_eq!(
        (
            s.replicas,
            s.updated_replicas,
            s.available_replicas,
            s.unavailable_replicas
        ),
        (Some(3), Some(3), Some(3), Some(0))
    );
}

#[test]
fn no_progress_past_the_deadline_marks_the_rollout_timed_out() {
    let mut d = deployment(3, pct("25%"), pct("25%"), "v2");
    let stale = DeploymentCondition {
        type_: "Progressing".into(),
        status: "True".into(),
        reason: Some("ReplicaSetUpdated".into()),
        message: Some("ReplicaSet \"web-new\" is progressing.".into()),
        last_update_time: Some(Time(from_unix(NOW - 601))),
        last_transition_time: Some(Time(from_unix(NOW - 601))),
    };
    let stuck = rs("web-new", "v2", 1, 3, 0, 1);
    let status = DeploymentStatus {
        replicas: Some(3),
        updated_replicas: Some(3),
        conditions: Some(vec![stale]),
        observed_generation: Some(2),
        ..Default::default()
    };
    d.status = Some(status);
    let s = run(&d, vec![stuck]).status.unwrap();
    let prog = get_condition(&s, "Progressing").unwrap();
    assert_eq!(
        (prog.status.as_str(), prog.reason.as_deref()),
        ("False", Some("ProgressDeadlineExceeded"))
    );
    assert_eq!(
        prog.message.as_deref(),
        Some("ReplicaSet \"web-new\" has timed out progressing.")
    );
    let avail = get_condition(&s, "Available").unwrap();
    assert_eq!(
        (avail.status.as_str(), avail.reason.as_deref()),
        ("False", Some("MinimumReplicasUnavailable"))
    );
    assert_eq!(
        avail.message.as_deref(),
        Some("Deployment does not have minimum availability.")
    );
}

#[test]
fn old_empty_replica_sets_beyond_the_history_limit_are_deleted_lowest_revision_first() {
    let mut d = steady(deployment(1, pct("25%"), pct("25%"), "v9"), 1);
    d.spec.as_mut().unwrap().revision_history_limit = Some(1);
    d.metadata.generation = Some(1);
    let p = run(
        &d,
        vec![
            rs("web-1", "v1", 1, 0, 0, 1),
            rs("web-2", "v2", 2, 0, 0, 2),
            rs("web-3", "v3", 3, 0, 0, 3),
            rs("web-9", "v9", 4, 1, 1, 4),
        ],
    );
    let deleted: Vec<_> = p
        .steps
        .iter()
        .filter_map(|s| {
            if let Step::DeleteRs { name } = s {
                Some(name.clone())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(deleted, vec!["web-1", "web-2"]);
}

#[test]
fn an_empty_selector_is_refused_with_a_selecting_all_warning() {
    let mut d = deployment(1, pct("25%"), pct("25%"), "v1");
    d.spec.as_mut().unwrap().selector = LabelSelector::default();
    let p = run(&d, vec![]);
    assert_eq!(
        messages(&p),
        vec![
            "This deployment is selecting all pods. A non-empty selector is required.".to_string()
        ]
    );
    assert_eq!(p.status.unwrap().observed_generation, Some(2));
}

#[test]
fn a_failed_replica_set_create_is_reported_as_progressing_false() {
    let d = deployment(1, pct("25%"), pct("25%"), "v1");
    let (status, event) = create_error(&d, "web-abc", "quota exceeded", from_unix(NOW));
    let prog = get_condition(status.as_ref().unwrap(), "Progressing")
        .unwrap()
        .clone();
    assert_eq!(
        (prog.status.as_str(), prog.reason.as_deref()),
        ("False", Some("ReplicaSetCreateError"))
    );
    assert_eq!(
        event.message,
        "Failed to create new replica set \"web-abc\": quota exceeded"
    );
}
