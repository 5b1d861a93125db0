//! Starting one container instance: image pull (with its back-off), environment,
//! create/start through the runtime, the upstream events, probes; and the sandbox.

use std::sync::PoisonError;
use std::time::Duration;

use k8s_openapi::api::core::v1::Container;
use tokio::time::Instant;

use super::env::{container_env, expand};
use super::record::{ERR_IMAGE_PULL, IMAGE_PULL_BACK_OFF, Instance, terminated};
use super::{Sandbox, Worker};
use crate::events::reason;
use crate::probe::{ProbeKind, ProbeSettings};
use crate::prober::{ProbeTarget, ProbeTask, spawn_probe};
use crate::runtime::stdio::StdioConfig;
use crate::runtime::{ContainerConfig, RuntimeError, SandboxConfig};

impl Worker {
    /// Pulls, creates and starts one container instance, posting the upstream events.
    pub(super) async fn start(&mut self, c: &Container) -> Option<Duration> {
        let image = c.image.clone().unwrap_or_default();
        let path = self.field_path(&c.name);
        let pull_key = format!("{}_{}", self.uid(), image);
        let now = Instant::now();
        if let Some(remaining) = self.image_backoff.remaining_since_update(&pull_key, now) {
            let message = format!("Back-off pulling image \"{image}\"");
            let rec = self.records.entry(c.name.clone()).or_default();
            if rec.waiting.as_ref().map(|(r, _)| r.as_str()) != Some(IMAGE_PULL_BACK_OFF) {
                rec.waiting = Some((IMAGE_PULL_BACK_OFF.into(), message.clone()));
                self.event(Some(path), "Normal", reason::BACK_OFF, &message)
                    .await;
            }
            return Some(remaining);
        }
        if let Err(e) = self.deps.runtime.pull_image(&image).await {
            return self.pull_failed(c, &image, e).await;
        }
        self.event(
            Some(path.clone()),
            "Normal",
            reason::PULLED,
            &format!("Container image \"{image}\" already present on machine"),
        )
        .await;

        let sandbox = self.sandbox.as_ref()?;
        let (sandbox_id, pod_ip) = (sandbox.id.clone(), sandbox.ip);
        let env = self
            .service_vars()
            .and_then(|vars| container_env(&self.pod, c, pod_ip, self.deps.node_ip, &vars));
        let env = match env {
            Ok(env) => env,
            Err(e) => {
                let rec = self.records.entry(c.name.clone()).or_default();
                rec.waiting = Some(("CreateContainerConfigError".into(), e.to_string()));
                self.event(
                    Some(path),
                    "Warning",
                    reason::FAILED,
                    &format!("Error: {e}"),
                )
                .await;
                return Some(self.deps.timings.backoff_base);
            }
        };
        let vars = env.iter().cloned().collect();
        let expand_all = |v: &Option<Vec<String>>| {
            v.as_deref()
                .unwrap_or_default()
                .iter()
                .map(|s| expand(s, &vars))
                .collect()
        };
        let log = self
            .deps
            .logs
            .new_instance(self.namespace(), self.name(), self.uid(), &c.name);
        let config = ContainerConfig {
            name: c.name.clone(),
            image: image.clone(),
            command: expand_all(&c.command),
            args: expand_all(&c.args),
            env,
            working_dir: c.working_dir.clone(),
            log,
            on_exit: self.exited.clone(),
            stdio: StdioConfig {
                stdin: c.stdin.unwrap_or(false),
                stdin_once: c.stdin_once.unwrap_or(false),
                tty: c.tty.unwrap_or(false),
            },
        };
        let runtime = self.deps.runtime.clone();
        let id = match runtime.create_container(&sandbox_id, config).await {
            Ok(id) => id,
            Err(e @ RuntimeError::ImagePull(_)) => return self.pull_failed(c, &image, e).await,
            Err(e) => {
                let rec = self.records.entry(c.name.clone()).or_default();
                rec.waiting = Some(("CreateContainerError".into(), e.to_string()));
                self.event(
                    Some(path),
                    "Warning",
                    reason::FAILED,
                    &format!("Error: {e}"),
                )
                .await;
                return Some(self.deps.timings.backoff_base);
            }
        };
        self.event(
            Some(path.clone()),
            "Normal",
            reason::CREATED,
            &format!("Created container: {}", c.name),
        )
        .await;
        if let Err(e) = runtime.start_container(&id).await {
            let rec = self.records.entry(c.name.clone()).or_default();
            rec.waiting = Some(("RunContainerError".into(), e.to_string()));
            self.event(
                Some(path),
                "Warning",
                reason::FAILED,
                &format!("Error: {e}"),
            )
            .await;
            let _ = runtime.remove_container(&id).await;
            return Some(self.deps.timings.backoff_base);
        }
        self.event(
            Some(path.clone()),
            "Normal",
            reason::STARTED,
            &format!("Started container {}", c.name),
        )
        .await;
        let state = runtime
            .container_status(&id)
            .await
            .unwrap_or(crate::runtime::ContainerState::Created);
        let probes = self.spawn_probes(c, &id, pod_ip);
        let runtime_name = runtime.name();
        let rec = self.records.entry(c.name.clone()).or_default();
        if let Some(mut previous) = rec.current.take() {
            previous.stop_probes();
            rec.last_termination = terminated(
                &previous.state,
                &format!("{runtime_name}://{}", previous.id),
            );
            rec.restart_count += 1;
            let _ = runtime.remove_container(&previous.id).await;
        } else if rec.last_termination.is_some() {
            // An init container purged for a new sandbox ran before: this is a restart.
            rec.restart_count += 1;
        }
        rec.waiting = None;
        let exit_seen =
            matches!(state, crate::runtime::ContainerState::Exited { .. }).then(Instant::now);
        rec.current = Some(Instance {
            id,
            state,
            exit_seen,
            probes,
        });
        None
    }

    async fn pull_failed(
        &mut self,
        c: &Container,
        image: &str,
        e: RuntimeError,
    ) -> Option<Duration> {
        let path = self.field_path(&c.name);
        let message = e.to_string();
        let rec = self.records.entry(c.name.clone()).or_default();
        rec.waiting = Some((ERR_IMAGE_PULL.into(), message.clone()));
        self.event(
            Some(path.clone()),
            "Warning",
            reason::FAILED,
            &format!("Failed to pull image \"{image}\": {message}"),
        )
        .await;
        self.event(
            Some(path),
            "Warning",
            reason::FAILED,
            &format!("Error: {ERR_IMAGE_PULL}"),
        )
        .await;
        let key = format!("{}_{}", self.uid(), image);
        let now = Instant::now();
        self.image_backoff.next(&key, now);
        // Sync again at once: that pass finds the pull backing off and reports
        // ImagePullBackOff, as upstream's requeued pod worker does.
        Some(Duration::ZERO)
    }

    fn spawn_probes(
        &self,
        c: &Container,
        id: &str,
        pod_ip: std::net::IpAddr,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let probes = [
            (ProbeKind::Startup, &c.startup_probe),
            (ProbeKind::Liveness, &c.liveness_probe),
            (ProbeKind::Readiness, &c.readiness_probe),
        ];
        probes
            .into_iter()
            .filter_map(|(kind, probe)| probe.clone().map(|p| (kind, p)))
            .map(|(kind, probe)| {
                spawn_probe(ProbeTask {
                    kind,
                    settings: ProbeSettings::from_spec(kind, &probe, &self.deps.timings),
                    probe,
                    target: ProbeTarget {
                        runtime: self.deps.runtime.clone(),
                        container_id: id.to_string(),
                        container: c.clone(),
                        pod_ip,
                    },
                    results: self.probes.clone(),
                    events: self.deps.events.clone(),
                    object: self.object_ref(Some(self.field_path(&c.name))),
                })
            })
            .collect()
    }

    /// Allocates the pod IP (a `hostNetwork` pod uses the node's) and starts the
    /// sandbox, the pod's `attempt`-th; false (with an event) on failure.
    pub(super) async fn ensure_sandbox(&mut self, attempt: u32) -> bool {
        // Volumes first, as upstream waits for them before it creates the sandbox.
        let Some((mounts, masked)) = self.set_up_volumes().await else {
            return false;
        };
        let host_network = self.pod.spec.as_ref().and_then(|s| s.host_network) == Some(true);
        let (allocated, gateway) = {
            let mut ipam = self
                .deps
                .ipam
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let ip = if host_network {
                Ok(self.deps.node_ip)
            } else {
                ipam.allocate()
            };
            (ip, ipam.gateway())
        };
        let ip = match allocated {
            Ok(ip) => ip,
            Err(e) => {
                let message = format!("Failed to create pod sandbox: {e}");
                self.event(None, "Warning", reason::FAILED_CREATE_POD_SANDBOX, &message)
                    .await;
                return false;
            }
        };
        let hostname = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.hostname.clone())
            .unwrap_or_else(|| self.name().to_string());
        let config = SandboxConfig {
            uid: self.uid().to_string(),
            name: self.name().to_string(),
            namespace: self.namespace().to_string(),
            hostname,
            ip,
            gateway,
            host_network,
            annotations: self.pod.metadata.annotations.clone().unwrap_or_default(),
            mounts,
            masked,
        };
        match self.deps.runtime.run_pod_sandbox(&config).await {
            Ok(id) => {
                self.last_sandbox = Some((id.clone(), attempt));
                self.sandbox = Some(Sandbox {
                    id,
                    ip,
                    attempt,
                    ready: true,
                });
                self.pod_ip = Some(ip);
                true
            }
            Err(e) => {
                self.deps
                    .ipam
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .release(ip);
                let message = format!("Failed to create pod sandbox: {e}");
                self.event(None, "Warning", reason::FAILED_CREATE_POD_SANDBOX, &message)
                    .await;
                false
            }
        }
    }
}
