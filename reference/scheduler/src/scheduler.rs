//! The scheduler driver. Entry point: [`run`]`(config, client, shutdown)`.
//!
//! Watches run in every replica (a standby keeps its cache and queue warm); only the
//! elected leader pops pods, decides (`schedule_one.rs`), assumes them in the cache and
//! binds them through `pods/binding`. Failures write `PodScheduled=False` and a
//! `FailedScheduling` event, and the pod waits in the queue for a cluster event or backoff.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use rand::SeedableRng;
use rand::rngs::StdRng;
use refkube_common::events::EventRecorder;
use refkube_common::leader_election::{LeaderElectionError, LeaderElector, RunOutcome, hostname};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::binding::{
    BindOutcome, REASON_SCHEDULER_ERROR, REASON_UNSCHEDULABLE, bind, record_failure,
};
use crate::cache::{Cache, is_terminal, pod_key};
use crate::config::{ConfigError, SchedulerConfig};
use crate::informers::{Stores, spawn_informers};
use crate::queue::{QueuedPod, SharedQueue};
use crate::registry::framework_without;
use crate::schedule_one::{Algorithm, ScheduleError};

/// Errors that stop the scheduler.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The configuration is invalid.
    #[error("invalid scheduler configuration: {0}")]
    Config(#[from] ConfigError),
    /// The leader election configuration is invalid.
    #[error("invalid leader election configuration: {0}")]
    LeaderElection(#[from] LeaderElectionError),
}

/// State shared by the watch handlers, the scheduling loop and binding tasks.
pub struct Shared {
    config: SchedulerConfig,
    client: Client,
    recorder: EventRecorder,
    cache: Mutex<Cache>,
    /// Pending pods we are responsible for: key → uid. A failed pod is requeued only if it
    /// is still here (not deleted or bound meanwhile).
    pending: Mutex<HashMap<String, String>>,
    pub(crate) queue: SharedQueue,
    synced: watch::Sender<(bool, bool)>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn cache(&self) -> MutexGuard<'_, Cache> {
        lock(&self.cache)
    }

    /// Ours: unbound, `spec.schedulerName` is our name, not finished, not being deleted.
    pub(crate) fn is_responsible_for(&self, pod: &Pod) -> bool {
        let name = pod
            .spec
            .as_ref()
            .and_then(|s| s.scheduler_name.as_deref())
            .unwrap_or(crate::config::DEFAULT_SCHEDULER_NAME);
        name == self.config.scheduler_name
            && pod.metadata.deletion_timestamp.is_none()
            && !is_terminal(pod)
    }

    pub(crate) fn remember_pending(&self, (key, uid): (String, String)) {
        lock(&self.pending).insert(key, uid);
    }

    pub(crate) fn forget_pending(&self, key: &str) {
        lock(&self.pending).remove(key);
    }

    pub(crate) fn replace_pending(&self, pods: HashMap<String, String>) {
        *lock(&self.pending) = pods;
    }

    fn still_pending(&self, pod: &Pod) -> bool {
        lock(&self.pending).get(&pod_key(pod)) == pod.metadata.uid.as_ref()
    }

    pub(crate) fn mark_nodes_synced(&self) {
        self.synced.send_modify(|s| s.0 = true);
    }

    pub(crate) fn mark_pods_synced(&self) {
        self.synced.send_modify(|s| s.1 = true);
    }
}

/// Runs the scheduler until `shutdown` completes: watches always, scheduling only while
/// leader (or always, without leader election).
pub async fn run(
    config: SchedulerConfig,
    client: Client,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SchedulerError> {
    config.validate()?;
    let elector = match &config.leader_election {
        Some(le) => Some(LeaderElector::new(client.clone(), le.clone())?),
        None => None,
    };
    let shared = Arc::new(Shared {
        recorder: EventRecorder::new(client.clone(), config.scheduler_name.clone(), hostname()),
        queue: SharedQueue::new(config.queue.clone()),
        cache: Mutex::new(Cache::new()),
        pending: Mutex::new(HashMap::new()),
        synced: watch::channel((false, false)).0,
        client: client.clone(),
        config,
    });
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let stores = spawn_informers(&client, shared.clone(), &stop, &mut tasks);

    let shutting_down = CancellationToken::new();
    let main = async {
        match &elector {
            None => scheduling_loop(shared.clone(), stores.clone(), shutting_down.clone()).await,
            Some(elector) => loop {
                let (shared, stores) = (shared.clone(), stores.clone());
                let outcome = elector
                    .run(
                        move |token| scheduling_loop(shared, stores, token),
                        shutting_down.cancelled(),
                    )
                    .await;
                match outcome {
                    RunOutcome::Shutdown => break,
                    // Upstream exits the process here; in-process we campaign again.
                    RunOutcome::LostLeadership => {
                        tracing::warn!("leader election lost; campaigning again")
                    }
                }
            },
        }
    };
    tokio::pin!(main);
    tokio::select! {
        () = shutdown => {
            shutting_down.cancel();
            (&mut main).await;
        }
        () = &mut main => {}
    }
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Pops and schedules pods until `token` is cancelled; waits for in-flight bindings.
async fn scheduling_loop(shared: Arc<Shared>, stores: Stores, token: CancellationToken) {
    let mut synced = shared.synced.subscribe();
    tokio::select! {
        () = token.cancelled() => return,
        r = synced.wait_for(|(nodes, pods)| *nodes && *pods) => if r.is_err() { return },
    }
    tokio::select! {
        () = token.cancelled() => return,
        () = stores.wait_ready(shared.config.secondary_cache_sync_timeout) => {}
    }
    tracing::info!(scheduler = %shared.config.scheduler_name, "caches synced; scheduling");
    let mut algorithm = Algorithm::new(
        framework_without(&shared.config.disabled_plugins),
        shared.config.percentage_of_nodes_to_score,
    );
    let mut rng = match shared.config.rng_seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    };
    let mut bindings = JoinSet::new();
    while let Some((queued, cycle)) = shared.queue.pop(&token).await {
        schedule_one(
            &shared,
            &stores,
            &mut algorithm,
            &mut rng,
            queued,
            cycle,
            &mut bindings,
        )
        .await;
        while bindings.try_join_next().is_some() {}
    }
    while bindings.join_next().await.is_some() {}
}

async fn schedule_one(
    shared: &Arc<Shared>,
    stores: &Stores,
    algorithm: &mut Algorithm,
    rng: &mut StdRng,
    queued: QueuedPod,
    cycle: u64,
    bindings: &mut JoinSet<()>,
) {
    let pod = queued.pod.clone();
    let key = pod_key(&pod);
    // Never bind twice: skip pods already placed (bound, or assumed and binding).
    if crate::cache::node_name_of(&pod).is_some()
        || shared.cache().contains_pod(&key)
        || !shared.still_pending(&pod)
    {
        return;
    }
    let snapshot = shared.cache().snapshot(stores.objects());
    match algorithm.schedule_pod(&pod, &snapshot, rng) {
        Ok(result) => {
            let mut assumed = (*pod).clone();
            if let Some(spec) = assumed.spec.as_mut() {
                spec.node_name = Some(result.node.clone());
            }
            if let Err(err) = shared.cache().assume_pod(Arc::new(assumed)) {
                tracing::warn!(%err, "assume failed; skipping");
                return;
            }
            let shared = shared.clone();
            bindings.spawn(async move {
                match bind(&shared.client, &shared.recorder, &pod, &result.node).await {
                    BindOutcome::Bound => {}
                    BindOutcome::Moot(err) => {
                        tracing::info!(%err, pod = %key, "binding moot (pod gone or already bound)");
                        shared.cache().forget_pod(&key);
                    }
                    BindOutcome::Failed(err) => {
                        shared.cache().forget_pod(&key);
                        let message = format!("Binding rejected: {err}");
                        fail(&shared, queued, cycle, REASON_SCHEDULER_ERROR, &message, false).await;
                    }
                }
            });
        }
        Err(err) => {
            let (reason, unschedulable) = match &err {
                ScheduleError::Fit(_) => (REASON_UNSCHEDULABLE, true),
                _ => (REASON_SCHEDULER_ERROR, false),
            };
            tracing::info!(pod = %key, message = %err.message(), "unable to schedule pod");
            fail(shared, queued, cycle, reason, &err.message(), unschedulable).await;
        }
    }
}

/// Upstream handleSchedulingFailure: requeue (if the pod still waits), condition, event.
async fn fail(
    shared: &Shared,
    queued: QueuedPod,
    cycle: u64,
    reason: &str,
    message: &str,
    unschedulable: bool,
) {
    let pod = queued.pod.clone();
    if !shared.still_pending(&pod) {
        return;
    }
    let now = Instant::now();
    shared.queue.with(|q| {
        if unschedulable {
            q.add_unschedulable(queued, cycle, now);
        } else {
            q.add_backoff(queued, now);
        }
    });
    record_failure(&shared.client, &shared.recorder, &pod, reason, message).await;
}
