//! The CronJob decision (upstream `cronjob_controllerv2.go`: `cleanupFinishedJobs` then
//! `syncCronJob`) as a pure function of the CronJob, its Jobs and the time: which
//! finished Jobs the history limits remove, how the active list and last success
//! change, whether a Job is due now (with its upstream name, annotation and owner),
//! which running Jobs `Replace` removes first, the events, and when to look again.
//!
//! Entry point: [`plan`].

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::tz::TimeZone;
use refkube_resources::cron;

use super::schedule::{Missed, next_schedule_time, requeue_after, schedule_of};
use crate::runtime::events::PlannedEvent;
use crate::util::owner::Owner;
use crate::util::time::Timestamp;

/// The annotation naming the schedule time a Job was created for.
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// A Job the plan deletes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Doomed {
    pub name: String,
    pub uid: String,
}

/// What one sync decided.
#[derive(Debug, Default)]
pub struct Plan {
    /// Finished Jobs past the history limits, oldest first.
    pub cleanup: Vec<Doomed>,
    /// Running Jobs `Replace` deletes before creating the next.
    pub replace: Vec<Doomed>,
    /// The Job to create and the schedule time it is for.
    pub create: Option<(Job, Timestamp)>,
    /// The status after the deletes (the created Job is added by the driver, which
    /// learns its uid).
    pub status: CronJobStatus,
    /// Whether `status` differs from what is stored.
    pub status_changed: bool,
    pub events: Vec<PlannedEvent>,
    /// Look again after this long.
    pub requeue: Option<Duration>,
}

fn finished(job: &Job) -> Option<&str> {
    job.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.type_.as_str())
}

fn uid(job: &Job) -> &str {
    job.metadata.uid.as_deref().unwrap_or_default()
}

fn name(job: &Job) -> &str {
    job.metadata.name.as_deref().unwrap_or_default()
}

/// `getJobName`: the CronJob's name and the schedule time in minutes since the epoch.
pub fn job_name(cj: &CronJob, scheduled: Timestamp) -> String {
    let minutes = scheduled.as_second().div_euclid(60);
    format!(
        "{}-{minutes}",
        cj.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Go's `Format(time.RFC3339)` of `t` in `zone` (`Z` for UTC).
pub fn rfc3339_in(t: Timestamp, zone: &TimeZone) -> String {
    let z = t.to_zoned(zone.clone());
    let offset = z.offset().seconds();
    let base = z.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    if offset == 0 {
        format!("{base}Z")
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let o = offset.abs();
        format!("{base}{sign}{:02}:{:02}", o / 3600, (o % 3600) / 60)
    }
}

/// `getJobFromTemplate2`.
pub fn job_from_template(cj: &CronJob, scheduled: Timestamp, zone: &TimeZone) -> Job {
    let spec = cj.spec.clone().unwrap_or_default();
    let tpl = spec.job_template;
    let tpl_meta = tpl.metadata.unwrap_or_default();
    let mut annotations = tpl_meta.annotations.unwrap_or_default();
    annotations.insert(SCHEDULED_TIMESTAMP.into(), rfc3339_in(scheduled, zone));
    let owner = Owner::new(
        "batch/v1",
        "CronJob",
        cj.metadata.name.as_deref().unwrap_or_default(),
        cj.metadata.uid.as_deref().unwrap_or_default(),
    );
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(cj, scheduled)),
            namespace: cj.metadata.namespace.clone(),
            labels: tpl_meta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![owner.controller_ref()]),
            ..Default::default()
        },
        spec: tpl.spec,
        status: None,
    }
}

/// `byJobStartTime`: by start time, unstarted last, ties by name.
fn oldest_first(jobs: &mut [&Job]) {
    let start = |j: &Job| {
        j.status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .map(|t| t.0)
    };
    jobs.sort_by(|a, b| match (start(a), start(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        _ => name(a).cmp(name(b)),
    });
}

/// `cleanupFinishedJobs`: the oldest finished Jobs beyond each history limit.
fn cleanup(cj: &CronJob, jobs: &[Job]) -> Vec<Doomed> {
    let spec = cj.spec.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (kind, limit) in [
        ("Complete", spec.successful_jobs_history_limit),
        ("Failed", spec.failed_jobs_history_limit),
    ] {
        let Some(limit) = limit else { continue };
        let mut these: Vec<&Job> = jobs.iter().filter(|j| finished(j) == Some(kind)).collect();
        let excess = these
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        oldest_first(&mut these);
        out.extend(these.into_iter().take(excess).map(|j| Doomed {
            name: name(j).into(),
            uid: uid(j).into(),
        }));
    }
    out
}

fn remove_active(status: &mut CronJobStatus, uid: &str) {
    if let Some(a) = status.active.as_mut() {
        a.retain(|r| r.uid.as_deref() != Some(uid));
    }
}

/// One sync. `gone` holds the uids of active Jobs the API server confirmed missing;
/// `local` is the zone of a schedule that names none.
pub fn plan(
    cj: &CronJob,
    jobs: &[Job],
    gone: &HashSet<String>,
    now: Timestamp,
    local: &TimeZone,
) -> Plan {
    let mut p = Plan {
        status: cj.status.clone().unwrap_or_default(),
        ..Default::default()
    };
    let deleted = |p: &mut Plan, d: &Doomed| {
        remove_active(&mut p.status, &d.uid);
        p.events.push(PlannedEvent::normal(
            "SuccessfulDelete",
            format!("Deleted job {}", d.name),
        ));
    };
    p.cleanup = cleanup(cj, jobs);
    for d in p.cleanup.clone() {
        deleted(&mut p, &d);
    }
    let in_active = |s: &CronJobStatus, uid: &str| {
        s.active
            .iter()
            .flatten()
            .any(|r| r.uid.as_deref() == Some(uid))
    };
    for j in jobs {
        let found = in_active(&p.status, uid(j));
        match finished(j) {
            None if !found => p.events.push(PlannedEvent::warning(
                "UnexpectedJob",
                format!(
                    "Saw a job that the controller did not create or forgot: {}",
                    name(j)
                ),
            )),
            Some(cond) if found => {
                remove_active(&mut p.status, uid(j));
                p.events.push(PlannedEvent::normal(
                    "SawCompletedJob",
                    format!("Saw completed job: {}, condition: {cond}", name(j)),
                ));
            }
            Some("Complete") => {
                let done = j.status.as_ref().and_then(|s| s.completion_time.clone());
                let last = p.status.last_successful_time.as_ref().map(|t| t.0);
                if let Some(d) = done
                    && last.is_none_or(|l| d.0 > l)
                {
                    p.status.last_successful_time = Some(d);
                }
            }
            _ => {}
        }
    }
    let listed: HashSet<&str> = jobs.iter().map(uid).collect();
    for r in p.status.active.clone().unwrap_or_default() {
        let u = r.uid.clone().unwrap_or_default();
        if !listed.contains(u.as_str()) && gone.contains(&u) {
            p.events.push(PlannedEvent::normal(
                "MissingJob",
                format!(
                    "Active job went missing: {}",
                    r.name.as_deref().unwrap_or_default()
                ),
            ));
            remove_active(&mut p.status, &u);
        }
    }
    schedule(cj, &mut p, now, local);
    let before = cj.status.clone().unwrap_or_default();
    let norm = |s: &CronJobStatus| {
        (
            s.active.clone().unwrap_or_default(),
            s.last_schedule_time.clone(),
            s.last_successful_time.clone(),
        )
    };
    p.status_changed = norm(&p.status) != norm(&before) || p.create.is_some();
    p
}

/// The scheduling half of `syncCronJob`.
fn schedule(cj: &CronJob, p: &mut Plan, now: Timestamp, local: &TimeZone) {
    if cj.metadata.deletion_timestamp.is_some() {
        return;
    }
    let spec = cj.spec.clone().unwrap_or_default();
    let zone = match &spec.time_zone {
        Some(z) => match cron::load_zone(z) {
            Ok(zone) => zone,
            Err(e) => {
                p.events.push(PlannedEvent::warning(
                    "UnknownTimeZone",
                    format!("invalid timeZone: {z:?}: {e}"),
                ));
                return;
            }
        },
        None => local.clone(),
    };
    if spec.suspend == Some(true) {
        return;
    }
    let (parsed, tz_in_schedule) = schedule_of(cj);
    if tz_in_schedule {
        p.events.push(PlannedEvent::warning(
            "UnsupportedSchedule",
            format!(
                "CRON_TZ or TZ used in schedule {:?} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
                spec.schedule
            ),
        ));
    }
    let sched = match parsed {
        Ok(s) => s,
        Err(e) => {
            p.events.push(PlannedEvent::warning(
                "UnparseableSchedule",
                format!("unparseable schedule: {:?} : {e}", spec.schedule),
            ));
            return;
        }
    };
    let scheduled = match next_schedule_time(cj, now, &sched, &zone) {
        Ok((t, missed)) => {
            if missed == Missed::Many {
                p.events.push(PlannedEvent::warning(
                    "TooManyMissedTimes",
                    "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
                ));
            }
            t
        }
        Err(e) => {
            p.events.push(PlannedEvent::warning(
                "InvalidSchedule",
                format!("invalid schedule: {} : {e}", spec.schedule),
            ));
            return;
        }
    };
    let requeue = |cj: &CronJob| Some(requeue_after(cj, now, &sched, &zone));
    let Some(t) = scheduled else {
        p.requeue = requeue(cj);
        return;
    };
    if let Some(d) = spec.starting_deadline_seconds
        && crate::util::time::plus_secs(t, d) < now
    {
        p.events.push(PlannedEvent::warning(
            "MissSchedule",
            format!(
                "Missed scheduled time to start a job: {}",
                t.to_zoned(TimeZone::UTC)
                    .strftime("%a, %d %b %Y %H:%M:%S %z")
            ),
        ));
        p.requeue = requeue(cj);
        return;
    }
    let name = job_name(cj, t);
    let already = p
        .status
        .active
        .iter()
        .flatten()
        .any(|r| r.name.as_deref() == Some(name.as_str()));
    if already || p.status.last_schedule_time.as_ref().map(|x| x.0) == Some(t) {
        p.requeue = requeue(cj);
        return;
    }
    let active = p.status.active.as_ref().map_or(0, Vec::len);
    match spec.concurrency_policy.as_deref() {
        Some("Forbid") if active > 0 => {
            p.events.push(PlannedEvent::normal(
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            ));
            p.requeue = requeue(cj);
            return;
        }
        Some("Replace") => {
            for r in p.status.active.clone().unwrap_or_default() {
                let d = Doomed {
                    name: r.name.clone().unwrap_or_default(),
                    uid: r.uid.clone().unwrap_or_default(),
                };
                remove_active(&mut p.status, &d.uid);
                p.events.push(PlannedEvent::normal(
                    "SuccessfulDelete",
                    format!("Deleted job {}", d.name),
                ));
                p.replace.push(d);
            }
        }
        _ => {}
    }
    p.create = Some((job_from_template(cj, t, &zone), t));
    // The driver adds the Job and lastScheduleTime; the next wake-up counts from `t`.
    let mut after = cj.clone();
    after
        .status
        .get_or_insert_with(Default::default)
        .last_schedule_time = Some(Time(t));
    p.requeue = requeue(&after);
}

/// `getRef` of a created Job, as the active list holds it.
pub fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        ..Default::default()
    }
}

/// The Jobs a CronJob controls, by name (upstream matches the controller's name).
pub fn controlled_jobs<'a>(
    cj: &CronJob,
    jobs: impl Iterator<Item = &'a Job>,
) -> BTreeMap<String, Job> {
    jobs.filter(|j| j.metadata.namespace == cj.metadata.namespace)
        .filter(|j| {
            crate::util::owner::controller_of(&j.metadata)
                .is_some_and(|o| o.kind == "CronJob" && Some(&o.name) == cj.metadata.name.as_ref())
        })
        .map(|j| (name(j).to_string(), j.clone()))
        .collect()
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
