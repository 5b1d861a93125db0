//! The Job decision (`job_controller.go` syncJob / manageJob, `batch/v1` reasons): how many
//! pods to create or delete, the counts, and the SuccessCriteriaMet / Complete and
//! FailureTarget / Failed conditions. Entry points: [`plan`], [`pod_from_template`].

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::ResourceExt;

use crate::replicaset::ranking::pods_to_delete;
use crate::runtime::events::PlannedEvent;
use crate::util::json::semantically_equal;
use crate::util::owner::Owner;
use crate::util::pods::{is_ready, is_terminal, phase};
use crate::util::time::{Timestamp, duration_until, plus_millis, plus_secs};

/// Pod label naming its Job.
pub const JOB_NAME: &str = "batch.kubernetes.io/job-name";
/// Pod label with its Job's UID.
pub const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";
/// Most pods created or deleted per sync (`MaxPodCreateDeletePerSync`).
pub const MAX_PER_SYNC: usize = 500;
/// Reason and message when too many pods failed.
pub const BACKOFF_LIMIT_EXCEEDED: (&str, &str) = (
    "BackoffLimitExceeded",
    "Job has reached the specified backoff limit",
);
/// Reason and message when activeDeadlineSeconds passed.
pub const DEADLINE_EXCEEDED: (&str, &str) = (
    "DeadlineExceeded",
    "Job was active longer than specified deadline",
);
/// Reason and message when enough pods succeeded.
pub const COMPLETIONS_REACHED: (&str, &str) = (
    "CompletionsReached",
    "Reached expected number of succeeded pods",
);

/// Backoff before re-creating pods after failures (10 s doubling, capped at 10 min).
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// First delay.
    pub base: Duration,
    /// Cap.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            max: Duration::from_secs(600),
        }
    }
}

/// Writes for one sync.
#[derive(Debug, Default)]
pub struct JobPlan {
    /// Pods to create.
    pub create: usize,
    /// Pods to delete.
    pub delete: Vec<Arc<Pod>>,
    /// The new status (`None`: unchanged or finished).
    pub status: Option<JobStatus>,
    /// Events about the job.
    pub events: Vec<PlannedEvent>,
    /// Look again after this long (backoff or deadline).
    pub requeue: Option<Duration>,
}

fn has_condition(status: &JobStatus, type_: &str) -> bool {
    status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == type_ && c.status == "True")
}

fn set_condition(
    status: &mut JobStatus,
    type_: &str,
    state: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    if let Some(c) = conds.iter_mut().find(|c| c.type_ == type_) {
        if c.status != state {
            *c = JobCondition {
                type_: type_.into(),
                status: state.into(),
                reason: Some(reason.into()),
                message: Some(message.into()),
                last_probe_time: Some(Time(now)),
                last_transition_time: Some(Time(now)),
            };
        }
        return;
    }
    conds.push(JobCondition {
        type_: type_.into(),
        status: state.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    });
}

/// When a failed pod failed: its latest container finish, else its last condition change.
fn failed_at(p: &Pod) -> Option<Timestamp> {
    let status = p.status.as_ref()?;
    let finished = status
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| {
            c.state
                .as_ref()?
                .terminated
                .as_ref()?
                .finished_at
                .as_ref()
                .map(|t| t.0)
        })
        .max();
    finished.or_else(|| {
        status
            .conditions
            .iter()
            .flatten()
            .filter_map(|c| c.last_transition_time.as_ref().map(|t| t.0))
            .max()
    })
}

/// Plans one sync of `job` given all pods it owns.
pub fn plan(job: &Job, pods: &[Arc<Pod>], now: Timestamp, backoff: Backoff) -> JobPlan {
    let prev = job.status.clone().unwrap_or_default();
    if has_condition(&prev, "Complete") || has_condition(&prev, "Failed") {
        return JobPlan::default();
    }
    let spec = job.spec.clone().unwrap_or_default();
    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    let backoff_limit = spec.backoff_limit.unwrap_or(6);
    let active: Vec<Arc<Pod>> = pods
        .iter()
        .filter(|p| !is_terminal(p) && p.metadata.deletion_timestamp.is_none())
        .cloned()
        .collect();
    let terminating = pods
        .iter()
        .filter(|p| !is_terminal(p) && p.metadata.deletion_timestamp.is_some())
        .count();
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count();
    let failed_pods: Vec<&Arc<Pod>> = pods.iter().filter(|p| phase(p) == "Failed").collect();
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let mut out = JobPlan::default();
    let mut status = prev.clone();
    let suspended = spec.suspend.unwrap_or(false);
    if suspended {
        out.delete = active.clone();
        if !has_condition(&prev, "Suspended") {
            set_condition(
                &mut status,
                "Suspended",
                "True",
                "JobSuspended",
                "Job suspended",
                now,
            );
            out.events
                .push(PlannedEvent::normal("Suspended", "Job suspended"));
        }
    } else {
        if has_condition(&prev, "Suspended") {
            set_condition(
                &mut status,
                "Suspended",
                "False",
                "JobResumed",
                "Job resumed",
                now,
            );
            out.events
                .push(PlannedEvent::normal("Resumed", "Job resumed"));
        }
        if status.start_time.is_none() {
            status.start_time = Some(Time(now));
        }
    }
    let started = status.start_time.as_ref().map(|t| t.0);
    let failure = if has_condition(&prev, "FailureTarget") {
        prev.conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "FailureTarget")
            .map(|c| {
                (
                    c.reason.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default(),
                )
            })
    } else if count(failed_pods.len()) > backoff_limit {
        Some((
            BACKOFF_LIMIT_EXCEEDED.0.into(),
            BACKOFF_LIMIT_EXCEEDED.1.into(),
        ))
    } else if let (Some(deadline), Some(start), false) =
        (spec.active_deadline_seconds, started, suspended)
    {
        (plus_secs(start, deadline) <= now)
            .then(|| (DEADLINE_EXCEEDED.0.into(), DEADLINE_EXCEEDED.1.into()))
    } else {
        None
    };
    let complete = match spec.completions {
        Some(c) => count(succeeded) >= c,
        None => succeeded >= 1 && active.is_empty(),
    };
    if let Some((reason, message)) = failure {
        if !has_condition(&prev, "FailureTarget") {
            set_condition(&mut status, "FailureTarget", "True", &reason, &message, now);
        }
        out.delete = active.clone();
        if active.is_empty() && terminating == 0 {
            set_condition(&mut status, "Failed", "True", &reason, &message, now);
            out.events.push(PlannedEvent::warning(&reason, message));
        }
    } else if complete {
        set_condition(
            &mut status,
            "SuccessCriteriaMet",
            "True",
            COMPLETIONS_REACHED.0,
            COMPLETIONS_REACHED.1,
            now,
        );
        out.delete = active.clone();
        if active.is_empty() && terminating == 0 {
            set_condition(
                &mut status,
                "Complete",
                "True",
                COMPLETIONS_REACHED.0,
                COMPLETIONS_REACHED.1,
                now,
            );
            status.completion_time = Some(Time(now));
            out.events
                .push(PlannedEvent::normal("Completed", "Job completed"));
        }
    } else if !suspended {
        let want = match spec.completions {
            Some(c) => parallelism.min(c - count(succeeded)).max(0),
            None if succeeded > 0 => 0,
            None => parallelism,
        };
        let want = usize::try_from(want).unwrap_or(0);
        if want > active.len() {
            // After failures, wait out the backoff before replacing pods.
            let last_failure = failed_pods.iter().filter_map(|p| failed_at(p)).max();
            let exponent = u32::try_from(failed_pods.len().saturating_sub(1))
                .unwrap_or(u32::MAX)
                .min(31);
            let delay = backoff
                .base
                .checked_mul(2u32.saturating_pow(exponent))
                .unwrap_or(backoff.max)
                .min(backoff.max);
            let ready_at = last_failure
                .map(|t| plus_millis(t, i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)));
            match ready_at.filter(|r| *r > now) {
                Some(r) => out.requeue = Some(duration_until(r, now)),
                None => out.create = (want - active.len()).min(MAX_PER_SYNC),
            }
        } else if want < active.len() {
            out.delete = pods_to_delete(&active, &[], (active.len() - want).min(MAX_PER_SYNC), now);
        }
        if let (Some(deadline), Some(start)) = (spec.active_deadline_seconds, started) {
            let due = duration_until(plus_secs(start, deadline), now);
            out.requeue = Some(out.requeue.map_or(due, |r| r.min(due)));
        }
    }
    status.active = Some(count(active.len()));
    status.ready = Some(count(active.iter().filter(|p| is_ready(p)).count()));
    status.succeeded = Some(count(succeeded));
    status.failed = Some(count(failed_pods.len()));
    status.terminating = Some(count(terminating));
    if !semantically_equal(&status, &prev) {
        out.status = Some(status);
    }
    out
}

/// A pod for the job: the template with the job labels, `generateName: <job>-` and a
/// controller reference.
pub fn pod_from_template(job: &Job) -> Pod {
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let name = job.name_any();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let mut labels = meta.labels.unwrap_or_default();
    for (k, v) in [
        (JOB_NAME, &name),
        ("job-name", &name),
        (CONTROLLER_UID, &uid),
        ("controller-uid", &uid),
    ] {
        labels.entry(k.to_string()).or_insert_with(|| v.clone());
    }
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: job.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![
                Owner::new("batch/v1", "Job", &name, &uid).controller_ref(),
            ]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
