//! The pod worker: one task per pod that drives its sandbox and containers through the
//! runtime toward the spec, restarts per `restartPolicy` with crash-loop back-off, acts
//! on probe results, replaces a dead sandbox, terminates gracefully on deletion and
//! writes `pods/status` when it changes (`pkg/kubelet/pod_workers.go`,
//! `kuberuntime_manager.go` SyncPod). What to do is decided by the pure
//! [`actions::compute_pod_actions`]; the worker executes it. Entry point:
//! [`PodWorker::spawn`].

pub mod actions;
mod containers;
pub mod env;
pub mod record;
pub mod service_env;
mod start;
mod status;
mod volumes;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::backoff::Backoff;
use crate::config::Timings;
use crate::events::EventSink;
use crate::ipam::IpAllocator;
use crate::logs::LogStore;
use crate::podapi::PodApi;
use crate::prober::ProbeResults;
use crate::runtime::Runtime;
use crate::services::Services;
use crate::static_pods;
use crate::volumes::VolumeManager;
use record::Record;

/// Everything a pod worker talks to.
pub struct WorkerDeps {
    /// The container runtime.
    pub runtime: Arc<dyn Runtime>,
    /// The node's pod IP allocator (the network plugin).
    pub ipam: Arc<Mutex<IpAllocator>>,
    /// Container logs.
    pub logs: Arc<LogStore>,
    /// Events.
    pub events: Arc<dyn EventSink>,
    /// Status writes and the final delete.
    pub api: Arc<dyn PodApi>,
    /// Timings.
    pub timings: Timings,
    /// The node's IP (`status.hostIP`).
    pub node_ip: IpAddr,
    /// Fills pods' projected volumes; None leaves them empty (the simulator, tests).
    pub volumes: Option<Arc<VolumeManager>>,
    /// The Services, for the service environment variables.
    pub services: Services,
}

/// What the worker is told.
#[derive(Debug, Clone)]
enum Update {
    Pod(Box<Pod>),
    /// As `Pod`, and the status must be written even if unchanged (a new mirror pod).
    Rewrite(Box<Pod>),
    /// The pod is gone from its source (force-deleted, or its static manifest removed).
    Removed,
}

/// Handle to a running pod worker.
#[derive(Debug)]
pub struct PodWorker {
    tx: watch::Sender<Update>,
    task: JoinHandle<()>,
}

impl PodWorker {
    /// Starts a worker for `pod`.
    pub fn spawn(pod: Pod, deps: Arc<WorkerDeps>) -> Self {
        let (tx, rx) = watch::channel(Update::Pod(Box::new(pod.clone())));
        let worker = Worker::new(pod, deps);
        let task = tokio::spawn(worker.run(rx));
        PodWorker { tx, task }
    }

    /// Hands the worker a newer version of its pod.
    pub fn update(&self, pod: Pod) {
        self.tx.send_replace(Update::Pod(Box::new(pod)));
    }

    /// Hands the worker its pod and makes it write the status again even if unchanged
    /// (the object it writes to was recreated, e.g. a static pod's mirror).
    pub fn rewrite_status(&self, pod: Pod) {
        self.tx.send_replace(Update::Rewrite(Box::new(pod)));
    }

    /// Tells the worker its pod is gone: stop everything, write nothing.
    pub fn remove(&self) {
        self.tx.send_replace(Update::Removed);
    }

    /// Whether the worker has finished (its pod terminated and was cleaned up).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the worker to finish.
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

struct Sandbox {
    id: String,
    ip: IpAddr,
    /// 0 for the pod's first sandbox, then 1, 2 ...
    attempt: u32,
    /// False once its pause process exited: the sandbox must be replaced.
    ready: bool,
}

struct Worker {
    pod: Pod,
    deps: Arc<WorkerDeps>,
    sandbox: Option<Sandbox>,
    /// The id and attempt of the latest sandbox, kept after it is removed (a dead one
    /// whose replacement could not be created yet).
    last_sandbox: Option<(String, u32)>,
    /// The pod IP, kept after the sandbox goes (status keeps reporting it).
    pod_ip: Option<IpAddr>,
    records: HashMap<String, Record>,
    backoff: Backoff,
    image_backoff: Backoff,
    initialized: bool,
    exited: Arc<Notify>,
    probes: Arc<ProbeResults>,
    start_time: Time,
    /// The pod ran past `activeDeadlineSeconds` and was stopped.
    deadline_exceeded: bool,
    last_written: Option<PodStatus>,
    /// Phase reached a terminal value: nothing runs any more.
    terminal: bool,
    /// Write the next status even if it equals the last one written.
    force_write: bool,
    /// When the pod's volumes are filled again (a token is due for renewal).
    volumes_due: Option<tokio::time::Instant>,
}

impl Worker {
    fn new(pod: Pod, deps: Arc<WorkerDeps>) -> Self {
        let t = &deps.timings;
        let backoff = Backoff::new(t.backoff_base, t.backoff_max);
        let last_written = pod.status.clone();
        let start_time = pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.clone())
            .unwrap_or_else(|| Time(Timestamp::now()));
        Worker {
            pod,
            image_backoff: backoff.clone(),
            backoff,
            deps,
            sandbox: None,
            last_sandbox: None,
            pod_ip: None,
            records: HashMap::new(),
            initialized: false,
            exited: Arc::new(Notify::new()),
            probes: Arc::new(ProbeResults::default()),
            start_time,
            deadline_exceeded: false,
            last_written,
            terminal: false,
            force_write: false,
            volumes_due: None,
        }
    }

    fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or_default()
    }
    fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or("default")
    }
    fn uid(&self) -> &str {
        self.pod.metadata.uid.as_deref().unwrap_or_default()
    }
    fn is_static(&self) -> bool {
        static_pods::is_static(&self.pod)
    }

    /// The pod's reference, or a container's (`fieldPath: spec.containers{c}`).
    fn object_ref(&self, field_path: Option<String>) -> ObjectReference {
        ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: self.pod.metadata.name.clone(),
            namespace: Some(self.namespace().to_string()),
            uid: self.pod.metadata.uid.clone(),
            resource_version: self.pod.metadata.resource_version.clone(),
            field_path,
        }
    }

    async fn event(&self, field_path: Option<String>, type_: &str, reason: &str, message: &str) {
        let object = self.object_ref(field_path);
        self.deps
            .events
            .record(&object, type_, reason, message)
            .await;
    }

    async fn run(mut self, mut rx: watch::Receiver<Update>) {
        loop {
            let update = rx.borrow_and_update().clone();
            match update {
                Update::Removed => {
                    self.terminate(false).await;
                    return;
                }
                Update::Pod(pod) => {
                    // Someone else changed what the kubelet owns (e.g. the node lifecycle
                    // controller set Ready=False): write ours again, as the status
                    // manager does when the API's status differs from its cache.
                    if overwritten(self.last_written.as_ref(), pod.status.as_ref()) {
                        self.force_write = true;
                    }
                    self.pod = *pod;
                }
                Update::Rewrite(pod) => {
                    self.pod = *pod;
                    self.force_write = true;
                }
            }
            if self.pod.metadata.deletion_timestamp.is_some() {
                self.terminate(true).await;
                return;
            }
            let wake = self.sync().await;
            let resync = self.deps.timings.pod_resync;
            let delay = wake.map_or(resync, |w| w.min(resync));
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        // The kubelet dropped the handle: it is shutting down.
                        self.terminate(false).await;
                        return;
                    }
                }
                _ = self.exited.notified() => {}
                _ = self.probes.changed.notified() => {}
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Stops every container (SIGTERM, SIGKILL after the grace period), removes the
    /// sandbox and, for an API pod being deleted, writes the final status and deletes
    /// the object with `gracePeriodSeconds=0` and a UID precondition.
    async fn terminate(&mut self, via_api: bool) {
        let spec = self.pod.spec.clone().unwrap_or_default();
        let grace_secs = self
            .pod
            .metadata
            .deletion_grace_period_seconds
            .or(spec.termination_grace_period_seconds)
            .unwrap_or(if via_api { 30 } else { 0 });
        let grace = self.deps.timings.spec_seconds(grace_secs);
        let mut running = Vec::new();
        for (name, rec) in &self.records {
            if let Some(inst) = rec.current.as_ref().filter(|i| i.running()) {
                running.push((name.clone(), inst.id.clone()));
            }
        }
        for (name, _) in &running {
            let path = self.field_path(name);
            self.event(
                Some(path),
                "Normal",
                crate::events::reason::KILLING,
                &format!("Stopping container {name}"),
            )
            .await;
        }
        let runtime = self.deps.runtime.clone();
        let stops = running
            .iter()
            .map(|(_, id)| runtime.stop_container(id, grace));
        for result in futures::future::join_all(stops).await {
            if let Err(e) = result {
                tracing::warn!(pod = self.name(), error = %e, "stopping container");
            }
        }
        self.refresh().await;
        for rec in self.records.values_mut() {
            if let Some(inst) = rec.current.as_mut() {
                inst.stop_probes();
            }
            // A container about to restart is not restarted any more.
            rec.waiting = None;
        }
        self.remove_sandbox().await;
        self.tear_down_volumes();
        if !via_api {
            self.deps
                .logs
                .remove_pod(self.namespace(), self.name(), self.uid());
            return;
        }
        let status = self.build_status(true);
        self.write_status(status).await;
        if !self.is_static()
            && let Err(e) = self.deps.api.delete(&self.pod).await
        {
            tracing::warn!(pod = self.name(), error = %e, "final delete failed");
        }
        self.deps
            .logs
            .remove_pod(self.namespace(), self.name(), self.uid());
    }

    async fn remove_sandbox(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            if let Err(e) = self.deps.runtime.remove_pod_sandbox(&sandbox.id).await {
                tracing::warn!(pod = self.name(), error = %e, "removing sandbox");
            }
            self.deps
                .ipam
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .release(sandbox.ip);
        }
    }

    /// Reads the sandbox's readiness and every current instance's state from the
    /// runtime.
    async fn refresh(&mut self) {
        let runtime = self.deps.runtime.clone();
        if let Some(sandbox) = self.sandbox.as_mut().filter(|s| s.ready) {
            match runtime.pod_sandbox_ready(&sandbox.id).await {
                Ok(ready) => sandbox.ready = ready,
                Err(e) => tracing::debug!(error = %e, "sandbox status"),
            }
        }
        for (name, rec) in self.records.iter_mut() {
            let Some(inst) = rec.current.as_mut() else {
                continue;
            };
            let Ok(state) = runtime.container_status(&inst.id).await else {
                continue;
            };
            inst.state = state;
            // The first time an exit is seen (even one that happened before the worker
            // ever saw the container running) starts its back-off clock.
            if inst.exit_code().is_some() && inst.exit_seen.is_none() {
                inst.exit_seen = Some(tokio::time::Instant::now());
                inst.stop_probes();
                self.probes.clear(name);
            }
        }
    }

    fn field_path(&self, container: &str) -> String {
        let spec = self.pod.spec.as_ref();
        let is_init = spec
            .and_then(|s| s.init_containers.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.name == container));
        let is_ephemeral = spec
            .and_then(|s| s.ephemeral_containers.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.name == container));
        if is_init {
            format!("spec.initContainers{{{container}}}")
        } else if is_ephemeral {
            format!("spec.ephemeralContainers{{{container}}}")
        } else {
            format!("spec.containers{{{container}}}")
        }
    }

    async fn write_status(&mut self, status: PodStatus) {
        if !self.force_write && self.last_written.as_ref() == Some(&status) {
            return;
        }
        match self.deps.api.patch_status(&self.pod, &status).await {
            Ok(()) => {
                self.last_written = Some(status);
                self.force_write = false;
            }
            // Retried on the next sync, as the status manager does.
            Err(e) => tracing::debug!(pod = self.name(), error = %e, "status not written"),
        }
    }
}

/// Whether `api` (the status the API holds) contradicts what the kubelet last wrote in a
/// field it owns: the phase or the status of one of its conditions. Timestamps are not
/// compared (their precision changes on the way through the API).
fn overwritten(written: Option<&PodStatus>, api: Option<&PodStatus>) -> bool {
    let (Some(written), Some(api)) = (written, api) else {
        return false;
    };
    let owned = |s: &PodStatus| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = s
            .conditions
            .iter()
            .flatten()
            .filter(|c| crate::status::conditions::KUBELET_CONDITIONS.contains(&c.type_.as_str()))
            .map(|c| (c.type_.clone(), c.status.clone()))
            .collect();
        v.sort();
        v
    };
    written.phase != api.phase || owned(written) != owned(api)
}

/// The key of a container's crash-loop back-off.
fn backoff_key(pod: &Pod, container: &str) -> String {
    format!(
        "{}_{}_{}_{container}",
        pod.metadata.name.as_deref().unwrap_or_default(),
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.uid.as_deref().unwrap_or_default()
    )
}

/// Shortens a duration for the `wake` computation.
fn min_wake(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::overwritten;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};

    fn status(phase: &str, ready: &str) -> PodStatus {
        PodStatus {
            phase: Some(phase.into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: ready.into(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        }
    }

    #[test]
    fn a_condition_flipped_by_another_component_is_noticed() {
        let ours = status("Running", "True");
        assert!(overwritten(Some(&ours), Some(&status("Running", "False"))));
        assert!(!overwritten(Some(&ours), Some(&status("Running", "True"))));
        assert!(!overwritten(None, Some(&status("Running", "False"))));
    }
}
