//! The CronJob driver: watches CronJobs and Jobs, confirms vanished active Jobs with
//! the API server, then carries out the plan: history and `Replace` deletes
//! (background), the Job creation (adopting one it made before a crash), the status
//! write, and a wake-up at the next schedule time. Entry point: [`start`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::tz::TimeZone;
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::{Resource as _, ResourceExt};
use tokio::task::JoinHandle;

use super::clock::Clock;
use super::plan::{controlled_jobs, job_ref, plan};
use crate::runtime::context::Ctx;
use crate::runtime::events::{EventSink, PlannedEvent};
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, enqueue_all, key_of, spawn_resync, spawn_watch, split_key,
};
use crate::util::owner::{controller_key, controller_of};

const NAME: &str = "cronjob";
/// Upstream `--concurrent-cron-job-syncs` default.
const WORKERS: usize = 5;

struct CronJobController {
    client: kube::Client,
    cronjobs: Arc<Informer<CronJob>>,
    jobs: Arc<Informer<Job>>,
    events: EventSink,
    clock: Clock,
    local: TimeZone,
}

/// Starts the CronJob controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let cronjobs = ctx.informers.get::<CronJob>();
    let jobs = ctx.informers.get::<Job>();
    let resync = {
        let (c, q) = (cronjobs.clone(), queue.clone());
        move || enqueue_all(&c, &q)
    };
    let q = queue.clone();
    let mut tasks = vec![spawn_watch(
        &cronjobs,
        move |c: &Change<CronJob>| {
            if let Some(cj) = c.latest() {
                q.add(key_of(cj.as_ref()));
            }
        },
        resync.clone(),
    )];
    let q = queue.clone();
    tasks.push(spawn_watch(
        &jobs,
        move |c: &Change<Job>| {
            for j in c.old.iter().chain(c.new.iter()) {
                if let Some(key) = controller_key(&j.metadata, "CronJob") {
                    q.add(key);
                }
            }
        },
        resync,
    ));
    tasks.push(spawn_resync(
        cronjobs.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let reconciler = Arc::new(CronJobController {
        client: ctx.client.clone(),
        cronjobs,
        jobs,
        events: ctx.events("cronjob-controller"),
        clock: Clock::new(ctx.config.cronjob_clock_rate),
        local: refkube_resources::cron::local_zone(),
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, WORKERS));
    tasks
}

impl CronJobController {
    /// The uids of active Jobs neither the cache nor the API server has.
    async fn confirmed_gone(
        &self,
        cj: &CronJob,
        listed: &HashSet<String>,
    ) -> Result<HashSet<String>, SyncError> {
        let mut gone = HashSet::new();
        for r in cj.status.iter().flat_map(|s| s.active.iter().flatten()) {
            let uid = r.uid.clone().unwrap_or_default();
            if listed.contains(&uid) {
                continue;
            }
            let ns = r.namespace.as_deref().unwrap_or_default();
            let api: Api<Job> = Api::namespaced(self.client.clone(), ns);
            if api
                .get_opt(r.name.as_deref().unwrap_or_default())
                .await?
                .is_none()
            {
                gone.insert(uid);
            }
        }
        Ok(gone)
    }

    /// Deletes a Job in the background; false (with upstream's FailedDelete event) if
    /// the API server refused.
    async fn delete_job(
        &self,
        api: &Api<Job>,
        name: &str,
        about: &k8s_openapi::api::core::v1::ObjectReference,
    ) -> bool {
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        match api.delete(name, &dp).await {
            Ok(_) => true,
            Err(kube::Error::Api(s)) if s.code == 404 => true,
            Err(e) => {
                let ev = PlannedEvent::warning("FailedDelete", format!("Deleted job: {e}"));
                self.events.emit(about, &ev).await;
                false
            }
        }
    }
}

#[async_trait::async_trait]
impl Reconciler for CronJobController {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (ns, name) = split_key(key);
        if self.cronjobs.get(ns, name).is_none() {
            return Ok(None);
        }
        // Read fresh: a cached CronJob whose status does not yet list the Job the last
        // sync created would let Forbid start a second one (upstream re-reads it only on
        // an unexpected Job; with the suite's faster clock the next run is due within a
        // second, sooner than a loaded cache may catch up).
        let Some(cj) = Api::<CronJob>::namespaced(self.client.clone(), ns.unwrap_or_default())
            .get_opt(name)
            .await?
            .map(Arc::new)
        else {
            return Ok(None);
        };
        let ns = cj.namespace().unwrap_or_default();
        let all = self.jobs.list();
        let jobs: Vec<Job> = controlled_jobs(&cj, all.iter().map(Arc::as_ref))
            .into_values()
            .collect();
        let listed: HashSet<String> = jobs.iter().filter_map(|j| j.metadata.uid.clone()).collect();
        let gone = self.confirmed_gone(&cj, &listed).await?;
        let now = self.clock.now();
        let mut p = plan(&cj, &jobs, &gone, now, &self.local);
        let about = cj.object_ref(&());
        let jobs_api: Api<Job> = Api::namespaced(self.client.clone(), &ns);
        // Deletes first, with their events only once they happened.
        let mut deleted_events = p.events.iter().filter(|e| e.reason == "SuccessfulDelete");
        let mut other_events: Vec<PlannedEvent> = p
            .events
            .iter()
            .filter(|e| e.reason != "SuccessfulDelete")
            .cloned()
            .collect();
        for d in p.cleanup.iter() {
            let ev = deleted_events.next();
            // A Job that could not be deleted is tried again on the next sync.
            if self.delete_job(&jobs_api, &d.name, &about).await
                && let Some(ev) = ev
            {
                self.events.emit(&about, ev).await;
            }
        }
        for d in p.replace.iter() {
            let ev = deleted_events.next();
            if !self.delete_job(&jobs_api, &d.name, &about).await {
                return Err(SyncError::Partial(format!(
                    "could not replace job {ns}/{}",
                    d.name
                )));
            }
            if let Some(ev) = ev {
                self.events.emit(&about, ev).await;
            }
        }
        if let Some((job, scheduled)) = p.create.take() {
            let job_name = job.metadata.name.clone().unwrap_or_default();
            let created = match jobs_api.create(&PostParams::default(), &job).await {
                Ok(j) => {
                    other_events.push(PlannedEvent::normal(
                        "SuccessfulCreate",
                        format!("Created job {job_name}"),
                    ));
                    Some(j)
                }
                Err(kube::Error::Api(s)) if s.code == 409 && s.reason == "AlreadyExists" => {
                    // Made before a crash, or by someone else: adopt only our own.
                    let existing = jobs_api.get(&job_name).await?;
                    let ours = controller_of(&existing.metadata)
                        .is_some_and(|o| Some(&o.uid) == cj.metadata.uid.as_ref());
                    let known = p
                        .status
                        .active
                        .iter()
                        .flatten()
                        .any(|r| r.uid == existing.metadata.uid);
                    (ours && !known).then_some(existing)
                }
                Err(e) => {
                    let ev =
                        PlannedEvent::warning("FailedCreate", format!("Error creating job: {e}"));
                    self.events.emit(&about, &ev).await;
                    return Err(e.into());
                }
            };
            if let Some(j) = created {
                p.status
                    .active
                    .get_or_insert_with(Vec::new)
                    .push(job_ref(&j));
                p.status.last_schedule_time = Some(Time(scheduled));
            }
        }
        self.events.emit_all(&about, &other_events).await;
        if p.status_changed {
            let mut updated = (*cj).clone();
            updated.status = Some(p.status);
            let api: Api<CronJob> = Api::namespaced(self.client.clone(), &ns);
            api.replace_status(name, &PostParams::default(), &updated)
                .await?;
        }
        Ok(p.requeue.map(|d| self.clock.real(d)))
    }
}
