//! Cases from upstream's `TestControllerV2SyncCronJob` and `TestControllerV2CleanupFinishedJobs`
//! (`pkg/controller/cronjob/cronjob_controllerv2_test.go`), with the same clock points.

use super::*;
use crate::runtime::events::EventType;
use k8s_openapi::api::batch::v1::{CronJobSpec, JobCondition, JobSpec, JobStatus, JobTemplateSpec};

const ON_THE_HOUR: &str = "0 * * * *";
const EVERY_HOUR: &str = "@every 1h";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}
fn just_before_the_hour() -> Timestamp {
    at("2016-05-19T09:59:00Z")
}
fn top_of_the_hour() -> Timestamp {
    at("2016-05-19T10:00:00Z")
}
fn just_after_the_hour() -> Timestamp {
    at("2016-05-19T10:01:00Z")
}
fn just_before_the_prior_hour() -> Timestamp {
    at("2016-05-19T08:59:00Z")
}
fn just_after_the_prior_hour() -> Timestamp {
    at("2016-05-19T09:01:00Z")
}
fn week_after_the_hour() -> Timestamp {
    at("2016-05-26T10:00:00Z")
}

fn cron_job(policy: &str, schedule: &str) -> CronJob {
    let mut cj = CronJob::default();
    cj.metadata.name = Some("mycronjob".into());
    cj.metadata.namespace = Some("snazzycats".into());
    cj.metadata.uid = Some("1a2b3c".into());
    cj.spec = Some(CronJobSpec {
        schedule: schedule.into(),
        concurrency_policy: Some(policy.into()),
        suspend: Some(false),
        job_template: JobTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("a".to_string(), "b".to_string())].into()),
                annotations: Some([("x".to_string(), "y".to_string())].into()),
                ..Default::default()
            }),
            spec: Some(JobSpec::default()),
        },
        ..Default::default()
    });
    cj
}

struct Case {
    policy: &'static str,
    suspend: bool,
    schedule: &'static str,
    deadline: Option<i64>,
    ran_previously: bool,
    still_active: bool,
    now: Timestamp,
}

impl Case {
    fn new(policy: &'static str, ran_previously: bool, still_active: bool, now: Timestamp) -> Self {
        Case {
            policy,
            suspend: false,
            schedule: ON_THE_HOUR,
            deadline: None,
            ran_previously,
            still_active,
            now,
        }
    }

    /// Builds the fixture as upstream's test does and runs the plan.
    fn run(&self) -> Plan {
        let mut cj = cron_job(self.policy, self.schedule);
        let spec = cj.spec.as_mut().unwrap();
        spec.suspend = Some(self.suspend);
        spec.starting_deadline_seconds = self.deadline;
        let mut jobs = Vec::new();
        if self.ran_previously {
            cj.metadata.creation_timestamp = Some(Time(just_before_the_prior_hour()));
            cj.status = Some(CronJobStatus {
                last_schedule_time: Some(Time(just_after_the_prior_hour())),
                ..Default::default()
            });
            let mut job = job_from_template(&cj, just_after_the_prior_hour(), &TimeZone::UTC);
            job.metadata.uid = Some("1234".into());
            if self.still_active {
                cj.status.as_mut().unwrap().active = Some(vec![job_ref(&job)]);
            } else {
                job.status = Some(JobStatus {
                    completion_time: Some(Time(crate::util::time::plus_secs(
                        just_after_the_prior_hour(),
                        10,
                    ))),
                    conditions: Some(vec![JobCondition {
                        type_: "Complete".into(),
                        status: "True".into(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                });
            }
            jobs.push(job);
        } else {
            cj.metadata.creation_timestamp = Some(Time(just_before_the_hour()));
        }
        plan(&cj, &jobs, &HashSet::new(), self.now, &TimeZone::UTC)
    }
}

fn warnings(p: &Plan) -> Vec<&str> {
    p.events
        .iter()
        .filter(|e| e.type_ == EventType::Warning)
        .map(|e| e.reason.as_str())
        .collect()
}

fn active(p: &Plan) -> usize {
    p.status.active.as_ref().map_or(0, Vec::len) + usize::from(p.create.is_some())
}

#[test]
fn never_ran_waits_for_the_first_time() {
    let p = Case::new("Allow", false, false, just_before_the_hour()).run();
    assert!(p.create.is_none());
    assert_eq!(active(&p), 0);
    assert_eq!(p.requeue, Some(Duration::from_millis(60_100)));
    assert!(warnings(&p).is_empty());
}

#[test]
fn never_ran_is_time_creates_under_every_policy() {
    for policy in ["Allow", "Forbid", "Replace"] {
        let p = Case::new(policy, false, false, just_after_the_hour()).run();
        let (job, t) = p.create.as_ref().expect("a job");
        assert_eq!(*t, top_of_the_hour());
        assert_eq!(job.metadata.name.as_deref(), Some("mycronjob-24394200"));
        let ann = job.metadata.annotations.as_ref().unwrap();
        assert_eq!(ann[SCHEDULED_TIMESTAMP], "2016-05-19T10:00:00Z");
        assert_eq!(ann["x"], "y");
        let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.controller),
            ("CronJob", Some(true))
        );
        assert!(p.status_changed);
        // The next run is at 11:00: 59 minutes and the 100 ms delta away.
        assert_eq!(p.requeue, Some(Duration::from_millis(59 * 60_000 + 100)));
    }
}

#[test]
fn suspended_and_unparseable_cronjobs_do_not_run() {
    let mut c = Case::new("Allow", false, false, just_after_the_hour());
    c.suspend = true;
    assert!(c.run().create.is_none());
    let mut c = Case::new("Allow", false, false, just_after_the_hour());
    c.schedule = "obvious error schedule";
    let p = c.run();
    assert!(p.create.is_none());
    assert_eq!(warnings(&p), ["UnparseableSchedule"]);
}

#[test]
fn starting_deadlines_decide_whether_a_late_start_is_made() {
    // 10 s: 10:00 is already out of reach at 10:01, so nothing is due.
    let mut c = Case::new("Allow", false, false, just_after_the_hour());
    c.deadline = Some(10);
    let p = c.run();
    assert!(p.create.is_none());
    assert!(warnings(&p).is_empty());
    // 100 s: still in time.
    c.deadline = Some(100);
    assert!(c.run().create.is_some());
}

#[test]
fn a_previous_run_that_finished_is_forgotten() {
    let p = Case::new("Allow", true, false, just_before_the_hour()).run();
    assert!(p.create.is_none());
    assert_eq!(
        p.status.last_successful_time.as_ref().map(|t| t.0),
        Some(at("2016-05-19T09:01:10Z"))
    );
    let p = Case::new("Allow", true, false, just_after_the_hour()).run();
    assert!(p.create.is_some());
    assert_eq!(active(&p), 1);
}

#[test]
fn concurrency_policies_treat_a_running_job_as_upstream() {
    let p = Case::new("Allow", true, true, just_before_the_hour()).run();
    assert!(p.create.is_none());
    assert_eq!(active(&p), 1);
    let p = Case::new("Allow", true, true, just_after_the_hour()).run();
    assert_eq!(active(&p), 2);
    let p = Case::new("Forbid", true, true, just_after_the_hour()).run();
    assert!(p.create.is_none());
    assert_eq!(active(&p), 1);
    assert_eq!(p.events[0].reason, "JobAlreadyActive");
    let p = Case::new("Replace", true, true, just_after_the_hour()).run();
    assert_eq!(p.replace.len(), 1);
    assert_eq!(p.replace[0].uid, "1234");
    assert_eq!(active(&p), 1);
}

#[test]
fn long_overdue_runs_warn_unless_a_deadline_bounds_them() {
    let p = Case::new("Allow", true, false, week_after_the_hour()).run();
    assert_eq!(warnings(&p), ["TooManyMissedTimes"]);
    assert_eq!(p.create.as_ref().unwrap().1, week_after_the_hour());
    let mut c = Case::new("Allow", true, false, week_after_the_hour());
    c.deadline = Some(3600);
    let p = c.run();
    assert!(warnings(&p).is_empty());
    assert!(p.create.is_some());
    // @every counts from the last schedule time, not the clock.
    let mut c = Case::new("Allow", true, false, at("2016-05-19T10:01:00Z"));
    c.schedule = EVERY_HOUR;
    assert_eq!(c.run().create.unwrap().1, at("2016-05-19T10:01:00Z"));
}

#[test]
fn a_starting_deadline_moves_the_window_with_the_clock() {
    // Last run 09:01; with 400 s of grace, 10:00 can still start at 10:03...
    let mut cj = cron_job("Allow", ON_THE_HOUR);
    cj.metadata.creation_timestamp = Some(Time(just_before_the_prior_hour()));
    cj.spec.as_mut().unwrap().starting_deadline_seconds = Some(400);
    cj.status = Some(CronJobStatus {
        last_schedule_time: Some(Time(just_after_the_prior_hour())),
        ..Default::default()
    });
    let p = plan(
        &cj,
        &[],
        &HashSet::new(),
        at("2016-05-19T10:03:00Z"),
        &TimeZone::UTC,
    );
    assert_eq!(p.create.unwrap().1, top_of_the_hour());
    // ...but not at 10:07:30, when the window no longer reaches it.
    let p = plan(
        &cj,
        &[],
        &HashSet::new(),
        at("2016-05-19T10:07:30Z"),
        &TimeZone::UTC,
    );
    assert!(p.create.is_none());
    assert!(p.events.is_empty());
}

fn finished_job(name: &str, kind: &str, start: i64) -> Job {
    let mut j = Job::default();
    j.metadata.name = Some(name.into());
    j.metadata.namespace = Some("snazzycats".into());
    j.metadata.uid = Some(format!("uid-{name}"));
    j.status = Some(JobStatus {
        start_time: Some(Time(crate::util::time::from_unix(start))),
        conditions: Some(vec![JobCondition {
            type_: kind.into(),
            status: "True".into(),
            ..Default::default()
        }]),
        ..Default::default()
    });
    j
}

#[test]
fn history_limits_delete_the_oldest_finished_jobs() {
    let mut cj = cron_job("Allow", ON_THE_HOUR);
    cj.metadata.creation_timestamp = Some(Time(just_before_the_hour()));
    let spec = cj.spec.as_mut().unwrap();
    spec.successful_jobs_history_limit = Some(1);
    spec.failed_jobs_history_limit = Some(1);
    let jobs = vec![
        finished_job("ok-new", "Complete", 300),
        finished_job("ok-old", "Complete", 100),
        finished_job("ok-mid", "Complete", 200),
        finished_job("bad-a", "Failed", 100),
        finished_job("bad-b", "Failed", 100),
    ];
    let p = plan(
        &cj,
        &jobs,
        &HashSet::new(),
        just_before_the_hour(),
        &TimeZone::UTC,
    );
    let names: Vec<&str> = p.cleanup.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["ok-old", "ok-mid", "bad-a"]);
    assert!(p.events.iter().any(|e| e.message == "Deleted job ok-old"));
    // Zero keeps nothing; no limit keeps everything.
    cj.spec.as_mut().unwrap().successful_jobs_history_limit = Some(0);
    cj.spec.as_mut().unwrap().failed_jobs_history_limit = None;
    let p = plan(
        &cj,
        &jobs,
        &HashSet::new(),
        just_before_the_hour(),
        &TimeZone::UTC,
    );
    assert_eq!(p.cleanup.len(), 3);
}

#[test]
fn active_jobs_that_vanished_or_finished_leave_the_list() {
    let mut cj = cron_job("Allow", ON_THE_HOUR);
    cj.metadata.creation_timestamp = Some(Time(just_before_the_hour()));
    let done = finished_job("done", "Complete", 100);
    let mut gone = done.clone();
    gone.metadata.uid = Some("uid-gone".into());
    gone.metadata.name = Some("gone".into());
    cj.status = Some(CronJobStatus {
        active: Some(vec![job_ref(&done), job_ref(&gone)]),
        ..Default::default()
    });
    let confirmed: HashSet<String> = ["uid-gone".to_string()].into();
    let p = plan(
        &cj,
        &[done],
        &confirmed,
        just_before_the_hour(),
        &TimeZone::UTC,
    );
    assert_eq!(p.status.active.as_deref(), Some(&[][..]));
    let reasons: Vec<&str> = p.events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["SawCompletedJob", "MissingJob"]);
    assert_eq!(
        p.events[0].message,
        "Saw completed job: done, condition: Complete"
    );
    assert!(p.status_changed);
}

#[test]
fn job_names_and_annotations_follow_the_zone() {
    let mut cj = cron_job("Allow", ON_THE_HOUR);
    assert_eq!(job_name(&cj, top_of_the_hour()), "mycronjob-24394200");
    if let Ok(ny) = refkube_resources::cron::load_zone("America/New_York") {
        cj.spec.as_mut().unwrap().time_zone = Some("America/New_York".into());
        let job = job_from_template(&cj, top_of_the_hour(), &ny);
        let ann = job.metadata.annotations.unwrap();
        assert_eq!(ann[SCHEDULED_TIMESTAMP], "2016-05-19T06:00:00-04:00");
    }
}
