//! The TTL-after-finished controller (`pkg/controller/ttlafterfinished`): deletes a
//! finished Job (with its pods, foreground) `ttlSecondsAfterFinished` after it finished.
//! Entry point: [`start`].

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};
use tokio::task::JoinHandle;

use crate::runtime::context::Ctx;
use crate::runtime::informers::Informer;
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, spawn_resync, spawn_watch_keys, split_key};
use crate::util::time::{Timestamp, duration_until, now, plus_secs};

const NAME: &str = "ttl-after-finished-controller";

/// When the job finished (its Complete or Failed condition's transition), if it did.
pub fn finished_at(job: &Job) -> Option<Timestamp> {
    job.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")?
        .last_transition_time
        .as_ref()
        .map(|t| t.0)
}

/// `None`: nothing to do; `Some(ZERO)`: delete now; `Some(d)`: look again after `d`.
pub fn time_left(job: &Job, now: Timestamp) -> Option<Duration> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    let done = finished_at(job)?;
    Some(duration_until(plus_secs(done, i64::from(ttl)), now))
}

struct Ttl {
    client: kube::Client,
    jobs: Arc<Informer<Job>>,
}

/// Starts the controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let jobs = ctx.informers.get::<Job>();
    let mut tasks = vec![spawn_watch_keys(&jobs, &queue)];
    tasks.push(spawn_resync(
        jobs.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    tasks.push(ctx.spawn_workers(
        NAME,
        queue,
        Arc::new(Ttl {
            client: ctx.client.clone(),
            jobs,
        }),
        5,
    ));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for Ttl {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (ns, name) = split_key(key);
        let Some(job) = self.jobs.get(ns, name) else {
            return Ok(None);
        };
        if job.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        match time_left(&job, now()) {
            None => Ok(None),
            Some(left) if !left.is_zero() => Ok(Some(left)),
            Some(_) => {
                let api: Api<Job> = Api::namespaced(self.client.clone(), ns.unwrap_or_default());
                let dp = DeleteParams {
                    propagation_policy: Some(PropagationPolicy::Foreground),
                    preconditions: Some(Preconditions {
                        uid: job.metadata.uid.clone(),
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                match api.delete(name, &dp).await {
                    Ok(_) => Ok(None),
                    Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::time::from_unix;
    use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn job(ttl: Option<i32>, finished: Option<i64>) -> Job {
        Job {
            spec: Some(JobSpec {
                ttl_seconds_after_finished: ttl,
                ..Default::default()
            }),
            status: Some(JobStatus {
                conditions: finished.map(|t| {
                    vec![JobCondition {
                        type_: "Complete".into(),
                        status: "True".into(),
                        last_transition_time: Some(Time(from_unix(t))),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_finished_job_is_deleted_once_its_ttl_has_passed() {
        assert_eq!(
            time_left(&job(Some(10), Some(100)), from_unix(105)),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            time_left(&job(Some(10), Some(100)), from_unix(111)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn jobs_without_ttl_or_still_running_are_left_alone() {
        assert_eq!(time_left(&job(None, Some(100)), from_unix(500)), None);
        assert_eq!(time_left(&job(Some(10), None), from_unix(500)), None);
    }
}
