//! The Job driver: watches Jobs and Pods, creates / deletes pods and writes status.
//! Entry point: [`start`].

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Resource as _;
use serde_json::json;

use crate::util::status::update_status;
use tokio::task::JoinHandle;

use super::plan::{Backoff, plan, pod_from_template};
use crate::runtime::context::Ctx;
use crate::runtime::expectations::Expectations;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::owned::{Owned, Preamble, claim_owned_pods};
use crate::runtime::podcontrol::PodControl;
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, enqueue_all, enqueue_owner, spawn_resync, spawn_watch,
};
use crate::util::owner::controller_key;
use crate::util::pods;
use crate::util::time::now_seconds;

/// Upstream `--concurrent-job-syncs` default.
pub const DEFAULT_WORKERS: usize = 5;
const NAME: &str = "job";

struct JobController {
    client: kube::Client,
    jobs: Arc<Informer<Job>>,
    pods: Arc<Informer<Pod>>,
    control: PodControl,
    backoff: Backoff,
}

/// Starts the Job controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let jobs = ctx.informers.get::<Job>();
    let pods = ctx.informers.get::<Pod>();
    let expectations = Arc::new(Expectations::new(ctx.config.expectations_timeout));
    let resync = {
        let (j, q) = (jobs.clone(), queue.clone());
        move || enqueue_all(&j, &q)
    };
    let mut tasks = vec![spawn_watch(
        &jobs,
        enqueue_owner(queue.clone(), expectations.clone()),
        resync.clone(),
    )];
    let (q, e) = (queue.clone(), expectations.clone());
    tasks.push(spawn_watch(
        &pods,
        move |c: &Change<Pod>| {
            let Some(pod) = c.latest() else { return };
            if let Some(key) = controller_key(&pod.metadata, "Job") {
                if c.is_delete() || pod.metadata.deletion_timestamp.is_some() {
                    e.deletion_observed(&key, &pods::key(pod));
                } else if c.is_add() {
                    e.creation_observed(&key);
                }
                q.add(key);
            }
        },
        resync,
    ));
    tasks.push(spawn_resync(
        jobs.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let control = PodControl::new(
        ctx.client.clone(),
        ctx.events("job-controller"),
        expectations,
    );
    let reconciler = Arc::new(JobController {
        client: ctx.client.clone(),
        jobs,
        pods,
        control,
        backoff: Backoff {
            base: ctx.config.job_backoff_base,
            max: ctx.config.job_backoff_max,
        },
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, DEFAULT_WORKERS));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for JobController {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let preamble = Preamble {
            client: &self.client,
            owners: &self.jobs,
            pods: &self.pods,
            expectations: Some(self.control.expectations()),
            selector: |job: &Job| job.spec.as_ref()?.selector.as_ref(),
            skip_deleting_pods: false,
        };
        let Some(Owned {
            object: job,
            live,
            pods: owned,
            ..
        }) = claim_owned_pods(preamble, key).await?
        else {
            return Ok(None);
        };
        if !self.control.expectations().satisfied(key) {
            return Ok(None);
        }
        let p = plan(&job, &owned, now_seconds(), self.backoff);
        let about = job.object_ref(&());
        let mut error = None;
        if !p.delete.is_empty() {
            error = self.control.delete(key, &p.delete, &about).await;
        }
        if p.create > 0 {
            error = error.or(self
                .control
                .create(key, vec![pod_from_template(&job); p.create], &about)
                .await);
        }
        if let Some(status) = &p.status {
            update_status(&live, &job, &json!(status)).await?;
        }
        for e in &p.events {
            self.control.event(&about, e).await;
        }
        match error {
            Some(e) => Err(SyncError::Partial(e)),
            None => Ok(p.requeue),
        }
    }
}
