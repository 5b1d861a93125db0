//! The simulated runtime: no processes, only state, so one process can host thousands
//! of pods on hundreds of nodes. Entry point: [`SimRuntime::new`].
//!
//! A container goes Created → Running when started. Pod annotations steer it:
//! - `refkube.io/sim-exit-after`: a Go duration (`500ms`, `10s`, `1m`); each container
//!   instance exits that long after it started (wall clock, not spec seconds).
//! - `refkube.io/sim-exit-code`: the exit code it exits with (default 0).
//! - `refkube.io/sim-image-pull-error`: `"true"` makes every image pull fail.
//!
//! Without `sim-exit-after` containers run until stopped. Stopping exits with 143 (the
//! code of a SIGTERM'd process) at once. HTTP and TCP probes pass (there is no network);
//! exec probes run nothing and exit 0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use tokio::task::JoinHandle;

use super::{
    ContainerConfig, ContainerState, ExecResult, Runtime, RuntimeError, SandboxConfig, new_id,
};
use crate::agnhost::parse_go_duration;

/// Annotation: how long each container instance runs before exiting.
pub const EXIT_AFTER: &str = "refkube.io/sim-exit-after";
/// Annotation: the exit code of a container that exits by itself.
pub const EXIT_CODE: &str = "refkube.io/sim-exit-code";
/// Annotation: image pulls fail.
pub const IMAGE_PULL_ERROR: &str = "refkube.io/sim-image-pull-error";

/// Exit code of a stopped container (128 + SIGTERM).
const STOPPED_EXIT_CODE: i32 = 143;

struct Container {
    sandbox_id: String,
    config: ContainerConfig,
    state: ContainerState,
    timer: Option<JoinHandle<()>>,
}

impl Drop for Container {
    fn drop(&mut self) {
        if let Some(t) = self.timer.take() {
            t.abort();
        }
    }
}

#[derive(Default)]
struct State {
    sandboxes: HashMap<String, SandboxConfig>,
    containers: HashMap<String, Container>,
}

/// A runtime without processes.
#[derive(Clone, Default)]
pub struct SimRuntime {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for SimRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimRuntime").finish_non_exhaustive()
    }
}

fn not_found(kind: &'static str, id: &str) -> RuntimeError {
    RuntimeError::NotFound {
        kind,
        id: id.to_string(),
    }
}

impl SimRuntime {
    /// An empty simulator.
    pub fn new() -> Self {
        SimRuntime::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn exit(&self, container_id: &str, exit_code: i32) {
        let mut state = self.lock();
        if let Some(c) = state.containers.get_mut(container_id)
            && let ContainerState::Running { started_at } = c.state
        {
            c.state = ContainerState::Exited {
                started_at,
                finished_at: Timestamp::now(),
                exit_code,
            };
            c.config.log.close();
            c.config.on_exit.notify_one();
        }
    }
}

#[async_trait::async_trait]
impl Runtime for SimRuntime {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn has_network(&self) -> bool {
        false
    }

    async fn pull_image(&self, _image: &str) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError> {
        let id = new_id();
        self.lock().sandboxes.insert(id.clone(), config.clone());
        Ok(id)
    }

    async fn remove_pod_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        state.containers.retain(|_, c| c.sandbox_id != sandbox_id);
        state.sandboxes.remove(sandbox_id);
        Ok(())
    }

    async fn pod_sandbox_ready(&self, sandbox_id: &str) -> Result<bool, RuntimeError> {
        // A simulated sandbox has no process to lose.
        Ok(self.lock().sandboxes.contains_key(sandbox_id))
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: ContainerConfig,
    ) -> Result<String, RuntimeError> {
        let mut state = self.lock();
        let sandbox = state
            .sandboxes
            .get(sandbox_id)
            .ok_or_else(|| not_found("sandbox", sandbox_id))?;
        if sandbox
            .annotations
            .get(IMAGE_PULL_ERROR)
            .map(String::as_str)
            == Some("true")
        {
            return Err(RuntimeError::ImagePull(format!(
                "failed to pull and unpack image \"{}\": {IMAGE_PULL_ERROR} is set",
                config.image
            )));
        }
        let id = new_id();
        state.containers.insert(
            id.clone(),
            Container {
                sandbox_id: sandbox_id.to_string(),
                config,
                state: ContainerState::Created,
                timer: None,
            },
        );
        Ok(id)
    }

    async fn start_container(&self, container_id: &str) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        let annotations = {
            let c = state
                .containers
                .get(container_id)
                .ok_or_else(|| not_found("container", container_id))?;
            state
                .sandboxes
                .get(&c.sandbox_id)
                .map(|s| s.annotations.clone())
                .unwrap_or_default()
        };
        let exit_after = annotations
            .get(EXIT_AFTER)
            .and_then(|v| parse_go_duration(v).ok());
        let exit_code: i32 = annotations
            .get(EXIT_CODE)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let timer = exit_after.map(|after| {
            let this = self.clone();
            let id = container_id.to_string();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                this.exit(&id, exit_code);
            })
        });
        if let Some(c) = state.containers.get_mut(container_id) {
            c.state = ContainerState::Running {
                started_at: Timestamp::now(),
            };
            c.timer = timer;
        }
        Ok(())
    }

    async fn stop_container(
        &self,
        container_id: &str,
        _grace: Duration,
    ) -> Result<(), RuntimeError> {
        if !self.lock().containers.contains_key(container_id) {
            return Err(not_found("container", container_id));
        }
        self.exit(container_id, STOPPED_EXIT_CODE);
        Ok(())
    }

    async fn remove_container(&self, container_id: &str) -> Result<(), RuntimeError> {
        self.lock().containers.remove(container_id);
        Ok(())
    }

    async fn container_status(&self, container_id: &str) -> Result<ContainerState, RuntimeError> {
        self.lock()
            .containers
            .get(container_id)
            .map(|c| c.state.clone())
            .ok_or_else(|| not_found("container", container_id))
    }

    async fn exec_sync(
        &self,
        container_id: &str,
        _cmd: &[String],
        _timeout: Duration,
    ) -> Result<ExecResult, RuntimeError> {
        if !self.lock().containers.contains_key(container_id) {
            return Err(not_found("container", container_id));
        }
        Ok(ExecResult {
            exit_code: 0,
            output: String::new(),
        })
    }
}
