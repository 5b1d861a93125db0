//! The pod worker's sync: sandbox, init containers in order, regular containers with
//! restarts, back-off and probe-driven kills (upstream `computePodActions` + `SyncPod`).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Container;
use k8s_openapi::jiff::Timestamp;
use tokio::time::Instant;

use super::record::{CRASH_LOOP_BACK_OFF, Instance};
use super::{Worker, backoff_key, min_wake};
use crate::backoff::go_duration;
use crate::events::reason;
use crate::probe::{ProbeKind, ProbeResult};
use crate::status::is_sidecar;
use crate::status::phase::is_terminal;

/// Reason of a pod stopped for running past `activeDeadlineSeconds`.
pub const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
/// Its message (upstream `kubelet_pods.go`).
pub const DEADLINE_MESSAGE: &str = "Pod was active on the node longer than the specified deadline";

/// Whether a container that exited with `code` restarts under `policy`.
pub fn should_restart(policy: &str, code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => code != 0,
        _ => true,
    }
}

/// What a container needs next.
enum Step {
    /// Nothing (running, or finished for good).
    Nothing,
    /// Start it (first run, or restart).
    Start,
}

impl Worker {
    /// One pass toward the spec; returns when to look again, if sooner than the resync.
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
            self.stop_all_for_terminal().await;
            let status = self.build_status(false);
            self.write_status(status).await;
            return None;
        }
        let policy = spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into());
        let mut wake = None;
        if self.sandbox.is_none() && !self.ensure_sandbox().await {
            let status = self.build_status(false);
            self.write_status(status).await;
            return Some(self.deps.timings.backoff_base);
        }

        // Init containers run one at a time, in order, each to success.
        let mut init_failed = false;
        if !self.initialized {
            let mut done = true;
            for c in spec.init_containers.as_deref().unwrap_or_default() {
                let rec = self.records.entry(c.name.clone()).or_default();
                let sidecar = is_sidecar(c);
                let code = rec.current.as_ref().and_then(Instance::exit_code);
                let running = rec.current.as_ref().is_some_and(Instance::running);
                if sidecar && running {
                    let started = self
                        .probes
                        .get(&c.name, ProbeKind::Startup)
                        .is_none_or(|r| r == ProbeResult::Success);
                    if started {
                        continue;
                    }
                    done = false;
                    break;
                }
                if !sidecar && code == Some(0) {
                    continue;
                }
                done = false;
                if running {
                    break;
                }
                match code {
                    Some(code) if !sidecar && !should_restart(&policy, code) => init_failed = true,
                    Some(_) => wake = min_wake(wake, self.restart(c).await),
                    None => wake = min_wake(wake, self.start(c).await),
                }
                break;
            }
            self.initialized = done;
        }

        if self.initialized {
            let sidecars = spec
                .init_containers
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter(|c| is_sidecar(c));
            let containers: Vec<(Container, &str)> = sidecars
                .map(|c| (c.clone(), "Always"))
                .chain(spec.containers.iter().map(|c| (c.clone(), policy.as_str())))
                .collect();
            for (c, container_policy) in containers {
                let step = self.check_container(&c, container_policy, &spec).await;
                if let Step::Start = step {
                    let has_run = self
                        .records
                        .get(&c.name)
                        .is_some_and(|r| r.current.is_some());
                    let w = if has_run {
                        self.restart(&c).await
                    } else {
                        self.start(&c).await
                    };
                    wake = min_wake(wake, w);
                }
            }
        }

        wake = min_wake(wake, self.refresh_volumes().await);
        if let Some(deadline) = deadline {
            wake = min_wake(
                wake,
                Some(deadline.saturating_duration_since(Instant::now())),
            );
        }
        let status = self.build_status(false);
        if init_failed || is_terminal(&status.phase.clone().unwrap_or_default()) {
            self.terminal = true;
            self.stop_all_for_terminal().await;
        }
        let status = self.build_status(false);
        self.write_status(status).await;
        wake
    }

    /// Decides a regular container's next step, killing it first if its liveness or
    /// startup probe failed.
    async fn check_container(
        &mut self,
        c: &Container,
        policy: &str,
        spec: &k8s_openapi::api::core::v1::PodSpec,
    ) -> Step {
        let rec = self.records.entry(c.name.clone()).or_default();
        let Some(inst) = rec.current.as_ref() else {
            return Step::Start;
        };
        if inst.running() {
            let failed = [ProbeKind::Liveness, ProbeKind::Startup]
                .into_iter()
                .find(|k| self.probes.get(&c.name, *k) == Some(ProbeResult::Failure));
            let Some(kind) = failed else {
                return Step::Nothing;
            };
            let id = inst.id.clone();
            let path = self.field_path(&c.name);
            let message = format!(
                "Container {} failed {} probe, will be restarted",
                c.name,
                kind.title().to_lowercase()
            );
            self.event(Some(path), "Normal", reason::KILLING, &message)
                .await;
            let grace = self
                .deps
                .timings
                .spec_seconds(spec.termination_grace_period_seconds.unwrap_or(30));
            if let Err(e) = self.deps.runtime.stop_container(&id, grace).await {
                tracing::warn!(container = %c.name, error = %e, "killing unhealthy container");
            }
            self.probes.clear(&c.name);
            self.refresh().await;
        }
        let rec = self.records.entry(c.name.clone()).or_default();
        match rec.current.as_ref().and_then(Instance::exit_code) {
            Some(code) if should_restart(policy, code) => Step::Start,
            _ => Step::Nothing,
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

    /// A terminal pod keeps nothing running (sidecars included) and no sandbox.
    async fn stop_all_for_terminal(&mut self) {
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
    use super::should_restart;

    #[test]
    fn restart_policy_decides_which_exits_restart() {
        assert!(should_restart("Always", 0) && should_restart("Always", 1));
        assert!(!should_restart("OnFailure", 0) && should_restart("OnFailure", 2));
        assert!(!should_restart("Never", 1));
    }
}
