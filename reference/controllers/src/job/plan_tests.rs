//! Tests of the Job plan.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::*;
use crate::util::pods::fixtures::{phase as with_phase, pod};
use crate::util::time::from_unix;

const NOW: i64 = 1000;

fn job(completions: Option<i32>, parallelism: i32, backoff_limit: i32) -> Job {
    Job {
        metadata: ObjectMeta {
            name: Some("pi".into()),
            namespace: Some("default".into()),
            uid: Some("job-uid".into()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            completions,
            parallelism: Some(parallelism),
            backoff_limit: Some(backoff_limit),
            ..Default::default()
        }),
        status: Some(JobStatus {
            start_time: Some(Time(from_unix(0))),
            ..Default::default()
        }),
    }
}

fn pods(running: usize, succeeded: usize, failed: usize) -> Vec<Arc<Pod>> {
    let mut out = Vec::new();
    for i in 0..running {
        out.push(Arc::new(pod(&format!("r{i}"))));
    }
    for i in 0..succeeded {
        out.push(Arc::new(with_phase(pod(&format!("s{i}")), "Succeeded")));
    }
    for i in 0..failed {
        out.push(Arc::new(with_phase(pod(&format!("f{i}")), "Failed")));
    }
    out
}

fn cond<'a>(s: &'a JobStatus, t: &str) -> Option<&'a k8s_openapi::api::batch::v1::JobCondition> {
    s.conditions.iter().flatten().find(|c| c.type_ == t)
}

#[test]
fn a_new_job_starts_parallelism_pods_bounded_by_remaining_completions() {
    assert_eq!(
        plan(&job(Some(5), 2, 6), &[], from_unix(NOW), Backoff::default()).create,
        2
    );
    assert_eq!(
        plan(
            &job(Some(5), 3, 6),
            &pods(0, 4, 0),
            from_unix(NOW),
            Backoff::default()
        )
        .create,
        1
    );
    assert_eq!(
        plan(&job(None, 1, 6), &[], from_unix(NOW), Backoff::default()).create,
        1
    );
}

#[test]
fn reaching_completions_adds_success_criteria_met_and_complete() {
    let p = plan(
        &job(Some(2), 1, 6),
        &pods(0, 2, 0),
        from_unix(NOW),
        Backoff::default(),
    );
    let s = p.status.unwrap();
    for t in ["SuccessCriteriaMet", "Complete"] {
        let c = cond(&s, t).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref(), c.message.as_deref()),
            (
                "True",
                Some("CompletionsReached"),
                Some("Reached expected number of succeeded pods")
            )
        );
    }
    assert_eq!(
        (s.succeeded, s.active, s.failed),
        (Some(2), Some(0), Some(0))
    );
    assert!(s.completion_time.is_some());
    assert_eq!(p.events[0].message, "Job completed");
}

#[test]
fn failures_beyond_the_backoff_limit_fail_the_job_after_its_pods_are_gone() {
    let p = plan(
        &job(Some(3), 1, 1),
        &pods(1, 0, 2),
        from_unix(NOW),
        Backoff::default(),
    );
    let s = p.status.unwrap();
    let target = cond(&s, "FailureTarget").unwrap();
    assert_eq!(
        (target.reason.as_deref(), target.message.as_deref()),
        (
            Some("BackoffLimitExceeded"),
            Some("Job has reached the specified backoff limit")
        )
    );
    assert!(cond(&s, "Failed").is_none(), "the active pod must go first");
    assert_eq!(p.delete.len(), 1);
    let mut j = job(Some(3), 1, 1);
    j.status = Some(s);
    let s = plan(&j, &pods(0, 0, 2), from_unix(NOW), Backoff::default())
        .status
        .unwrap();
    assert_eq!(
        cond(&s, "Failed").unwrap().reason.as_deref(),
        Some("BackoffLimitExceeded")
    );
}

#[test]
fn a_failed_pod_is_replaced_only_after_the_backoff() {
    let mut failed = with_phase(pod("f0"), "Failed");
    failed.status.as_mut().unwrap().conditions =
        Some(vec![k8s_openapi::api::core::v1::PodCondition {
            type_: "Ready".into(),
            status: "False".into(),
            last_transition_time: Some(Time(from_unix(NOW - 4))),
            ..Default::default()
        }]);
    let p = plan(
        &job(Some(1), 1, 6),
        &[Arc::new(failed.clone())],
        from_unix(NOW),
        Backoff::default(),
    );
    assert_eq!(p.create, 0);
    assert_eq!(p.requeue, Some(Duration::from_secs(6)));
    assert_eq!(
        plan(
            &job(Some(1), 1, 6),
            &[Arc::new(failed)],
            from_unix(NOW + 6),
            Backoff::default()
        )
        .create,
        1
    );
}

#[test]
fn an_expired_active_deadline_fails_the_job() {
    let mut j = job(Some(1), 1, 6);
    j.spec.as_mut().unwrap().active_deadline_seconds = Some(30);
    let p = plan(&j, &pods(1, 0, 0), from_unix(NOW), Backoff::default());
    assert_eq!(
        cond(p.status.as_ref().unwrap(), "FailureTarget")
            .unwrap()
            .reason
            .as_deref(),
        Some("DeadlineExceeded")
    );
    assert_eq!(p.delete.len(), 1);
}

#[test]
fn lowering_parallelism_deletes_surplus_pods() {
    assert_eq!(
        plan(
            &job(Some(10), 1, 6),
            &pods(3, 0, 0),
            from_unix(NOW),
            Backoff::default()
        )
        .delete
        .len(),
        2
    );
}

#[test]
fn job_pods_carry_the_job_labels_and_controller_reference() {
    let p = pod_from_template(&job(Some(1), 1, 6));
    let labels = p.metadata.labels.unwrap();
    assert_eq!(labels.get(JOB_NAME).map(String::as_str), Some("pi"));
    assert_eq!(
        labels.get(CONTROLLER_UID).map(String::as_str),
        Some("job-uid")
    );
    assert_eq!(p.metadata.generate_name.as_deref(), Some("pi-"));
    assert_eq!(p.metadata.owner_references.unwrap()[0].kind, "Job");
}

#[test]
fn a_finished_job_is_left_alone() {
    let mut j = job(Some(1), 1, 6);
    let done = plan(&j, &pods(0, 1, 0), from_unix(NOW), Backoff::default())
        .status
        .unwrap();
    j.status = Some(done);
    let p = plan(&j, &pods(0, 1, 0), from_unix(NOW), Backoff::default());
    assert!(p.status.is_none() && p.create == 0 && p.delete.is_empty());
}
