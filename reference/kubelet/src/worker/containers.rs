//! The pod worker's sync, the executor of [`compute_pod_actions`]: the active
//! deadline, `SandboxChanged`, kills, a new sandbox, then the starts with their
//! crash-loop back-off (upstream `SyncPod`).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, EphemeralContainer};
use k8s_openapi::jiff::Timestamp;
use tokio::time::Instant;

use super::actions::{ContainerToKill, SandboxState, compute_pod_actions};
use super::record::{CRASH_LOOP_BACK_OFF, terminated};
use super::{Worker, backoff_key, min_wake};
use crate::backoff::go_duration;
use crate::events::reason;
use crate::probe::ProbeKind;
use crate::status::phase::is_terminal;

/// Reason of a pod stopped for running past `activeDeadlineSeconds`.
pub const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
/// Its message (upstream `kubelet_pods.go`).
pub const DEADLINE_MESSAGE: &str = "Pod was active on the node longer than the specified deadline";
/// The message of `SandboxChanged` (upstream `kuberuntime_manager.go`).
pub const SANDBOX_CHANGED_MESSAGE: &str = "Pod sandbox changed, it will be killed and re-created.";

/// An ephemeral container as the container the runtime runs: its probes, ports and
/// resources are forbidden by validation, and `targetContainerName` names whose
/// processes it should see (the reference's containers see every process of the
/// machine, so there is nothing more to share).
pub fn ephemeral_as_container(e: &EphemeralContainer) -> Container {
    Container {
        name: e.name.clone(),
        image: e.image.clone(),
        image_pull_policy: e.image_pull_policy.clone(),
        command: e.command.clone(),
        args: e.args.clone(),
        env: e.env.clone(),
        env_from: e.env_from.clone(),
        working_dir: e.working_dir.clone(),
        stdin: e.stdin,
        stdin_once: e.stdin_once,
        tty: e.tty,
        security_context: e.security_context.clone(),
        volume_mounts: e.volume_mounts.clone(),
        termination_message_path: e.termination_message_path.clone(),
        termination_message_policy: e.termination_message_policy.clone(),
        ..Container::default()
    }
}

impl Worker {
    /// One pass toward the spec: decides with [`compute_pod_actions`], then executes
    /// (upstream SyncPod); returns when to look again, if sooner than the resync.
    pub(super) async fn sync(&mut self) -> Option<Duration> {
        self.refresh().await;
        if self.terminal {
            return None;
        }
        let spec = self.pod.spec.clone().unwrap_or_default();
        // Counted from status.startTime, so a restarted kubelet keeps the deadline.
        let active_for = Duration::try_from(Timestamp::now().duration_since(self.start_time.0))
            .unwrap_or_default();
        let deadline = spec
            .active_deadline_seconds
            .map(|d| Instant::now() + self.deps.timings.spec_seconds(d).saturating_sub(active_for));
        if let Some(deadline) = deadline
            && Instant::now() >= deadline
        {
            self.deadline_exceeded = true;
            self.terminal = true;
            self.event(None, "Warning", DEADLINE_EXCEEDED, DEADLINE_MESSAGE)
                .await;
            self.stop_all().await;
            let status = self.build_status(false);
            self.write_status(status).await;
            return None;
        }

        let probes = self.probes.clone();
        let lookup = |name: &str, kind: ProbeKind| probes.get(name, kind);
        let actions = compute_pod_actions(&self.pod, &self.sandbox_state(), &self.records, &lookup);
        let mut wake = None;
        if actions.create_sandbox && actions.sandbox_id.is_some() {
            self.event(
                None,
                "Normal",
                reason::SANDBOX_CHANGED,
                SANDBOX_CHANGED_MESSAGE,
            )
            .await;
        }
        if actions.kill_pod {
            if actions.create_sandbox {
                self.kill_pod().await;
                self.purge_init_containers();
                self.initialized = false;
            } else {
                // Nothing is to run any more: the pod is done.
                self.terminal = true;
                self.stop_all().await;
                let status = self.build_status(false);
                self.write_status(status).await;
                return None;
            }
        } else {
            for kill in &actions.containers_to_kill {
                self.kill_container(kill).await;
            }
            if !actions.containers_to_kill.is_empty() {
                self.refresh().await;
            }
        }
        if actions.create_sandbox && !self.ensure_sandbox(actions.attempt).await {
            let status = self.build_status(false);
            self.write_status(status).await;
            return Some(self.deps.timings.backoff_base);
        }
        self.initialized |= actions.initialized;

        let ephemerals = spec.ephemeral_containers.clone().unwrap_or_default();
        for i in &actions.ephemeral_containers_to_start {
            if let Some(e) = ephemerals.get(*i) {
                wake = min_wake(wake, self.start(&ephemeral_as_container(e)).await);
            }
        }
        let inits = spec.init_containers.clone().unwrap_or_default();
        let starts = actions
            .init_containers_to_start
            .iter()
            .filter_map(|i| inits.get(*i))
            .chain(
                actions
                    .containers_to_start
                    .iter()
                    .filter_map(|i| spec.containers.get(*i)),
            );
        for c in starts {
            let has_run = self
                .records
                .get(&c.name)
                .is_some_and(|r| r.current.is_some());
            let w = if has_run {
                self.restart(c).await
            } else {
                self.start(c).await
            };
            wake = min_wake(wake, w);
        }

        wake = min_wake(wake, self.refresh_volumes().await);
        if let Some(deadline) = deadline {
            wake = min_wake(
                wake,
                Some(deadline.saturating_duration_since(Instant::now())),
            );
        }
        let status = self.build_status(false);
        if is_terminal(&status.phase.clone().unwrap_or_default()) {
            self.terminal = true;
            self.stop_all().await;
        }
        let status = self.build_status(false);
        self.write_status(status).await;
        wake
    }

    /// The sandbox as [`compute_pod_actions`] sees it.
    fn sandbox_state(&self) -> SandboxState {
        match (&self.sandbox, &self.last_sandbox) {
            (Some(s), _) => SandboxState::Latest {
                id: s.id.clone(),
                attempt: s.attempt,
                ready: s.ready,
            },
            (None, Some((id, attempt))) => SandboxState::Latest {
                id: id.clone(),
                attempt: *attempt,
                ready: false,
            },
            (None, None) => SandboxState::None,
        }
    }

    /// Kills one container (a failed liveness or startup probe) with its event.
    async fn kill_container(&mut self, kill: &ContainerToKill) {
        let path = self.field_path(&kill.name);
        self.event(Some(path), "Normal", reason::KILLING, &kill.message)
            .await;
        let grace = self.deps.timings.spec_seconds(
            self.pod
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
                .unwrap_or(30),
        );
        if let Err(e) = self.deps.runtime.stop_container(&kill.id, grace).await {
            tracing::warn!(container = %kill.name, error = %e, "killing container");
        }
        self.probes.clear(&kill.name);
    }

    /// Stops every running container (with their `Killing` events) and removes the
    /// sandbox, before a new one is made (upstream killPodWithSyncResult).
    async fn kill_pod(&mut self) {
        let running: Vec<(String, String)> = self
            .records
            .iter()
            .filter_map(|(name, r)| {
                r.current
                    .as_ref()
                    .filter(|i| i.running())
                    .map(|i| (name.clone(), i.id.clone()))
            })
            .collect();
        for (name, _) in &running {
            let path = self.field_path(name);
            let message = format!("Stopping container {name}");
            self.event(Some(path), "Normal", reason::KILLING, &message)
                .await;
        }
        self.stop_all().await;
    }

    /// Forgets the init containers' runs so that they all run again in a new sandbox
    /// (upstream purgeInitContainers); their last exit stays in `lastState`.
    fn purge_init_containers(&mut self) {
        let runtime = self.deps.runtime.name();
        let inits = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.init_containers.clone())
            .unwrap_or_default();
        for c in &inits {
            if let Some(rec) = self.records.get_mut(&c.name)
                && let Some(previous) = rec.current.take()
            {
                rec.last_termination =
                    terminated(&previous.state, &format!("{runtime}://{}", previous.id));
                rec.waiting = None;
                self.probes.clear(&c.name);
            }
        }
    }

    /// Restarts an exited container unless it is backing off (then it waits with
    /// `CrashLoopBackOff`); returns when to look again.
    async fn restart(&mut self, c: &Container) -> Option<Duration> {
        let key = backoff_key(&self.pod, &c.name);
        let now = Instant::now();
        let exit_seen = self
            .records
            .get(&c.name)
            .and_then(|r| r.current.as_ref())
            .and_then(|i| i.exit_seen)
            .unwrap_or(now);
        if let Some(remaining) = self.backoff.remaining(&key, exit_seen, now) {
            let current = self.backoff.current(&key).unwrap_or_default();
            let message = format!(
                "back-off {} restarting failed container={} pod={}_{}({})",
                go_duration(current),
                c.name,
                self.name(),
                self.namespace(),
                self.uid()
            );
            let rec = self.records.entry(c.name.clone()).or_default();
            let first = rec.waiting.as_ref().map(|(r, _)| r.as_str()) != Some(CRASH_LOOP_BACK_OFF);
            rec.waiting = Some((CRASH_LOOP_BACK_OFF.into(), message));
            if first {
                let event = format!(
                    "Back-off restarting failed container {} in pod {}_{}({})",
                    c.name,
                    self.name(),
                    self.namespace(),
                    self.uid()
                );
                let path = self.field_path(&c.name);
                self.event(Some(path), "Warning", reason::BACK_OFF, &event)
                    .await;
            }
            return Some(remaining);
        }
        self.backoff.next(&key, now);
        self.start(c).await
    }

    /// Stops every running container (sidecars and ephemeral ones included) and removes
    /// the sandbox: a terminal pod keeps nothing, a changed sandbox is replaced.
    async fn stop_all(&mut self) {
        let grace = self.deps.timings.spec_seconds(
            self.pod
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
                .unwrap_or(30),
        );
        let running: Vec<String> = self
            .records
            .values()
            .filter_map(|r| {
                r.current
                    .as_ref()
                    .filter(|i| i.running())
                    .map(|i| i.id.clone())
            })
            .collect();
        let runtime = Arc::clone(&self.deps.runtime);
        futures::future::join_all(running.iter().map(|id| runtime.stop_container(id, grace))).await;
        self.refresh().await;
        for rec in self.records.values_mut() {
            rec.waiting = None;
        }
        self.remove_sandbox().await;
    }
}

#[cfg(test)]
mod tests {
    use super::ephemeral_as_container;
    use k8s_openapi::api::core::v1::EphemeralContainer;

    #[test]
    fn an_ephemeral_container_runs_as_its_common_fields() {
        let e = EphemeralContainer {
            name: "debugger".into(),
            image: Some("busybox".into()),
            command: Some(vec!["sh".into()]),
            target_container_name: Some("app".into()),
            stdin: Some(true),
            ..EphemeralContainer::default()
        };
        let c = ephemeral_as_container(&e);
        assert_eq!(c.name, "debugger");
        assert_eq!(c.image.as_deref(), Some("busybox"));
        assert_eq!(c.command, Some(vec!["sh".to_string()]));
        assert_eq!(c.stdin, Some(true));
        assert!(c.liveness_probe.is_none() && c.ports.is_none());
    }
}
