//! The container runtime interface the kubelet drives, shaped after CRI
//! (`RunPodSandbox`, `CreateContainer`, `StartContainer`, `StopContainer`,
//! `RemovePodSandbox`, `ContainerStatus`, `ExecSync`), and its two implementations:
//! [`process::ProcessRuntime`] (real child processes) and [`sim::SimRuntime`] (no
//! processes, for thousands of pods). Entry point: the [`Runtime`] trait.

pub mod images;
pub mod mounts;
pub mod namespaces;
pub mod pause;
pub mod process;
pub mod sim;
pub mod stdio;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use tokio::sync::Notify;

use crate::logs::ContainerLog;

/// Errors from the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The image cannot be pulled (becomes `ErrImagePull`).
    #[error("{0}")]
    ImagePull(String),
    /// No sandbox or container with this id.
    #[error("no such {kind} {id:?}")]
    NotFound {
        /// `sandbox` or `container`.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The container could not be started (becomes `StartError` / `RunContainerError`).
    #[error("failed to start container {name:?}: {message}")]
    Start {
        /// Container name.
        name: String,
        /// Why.
        message: String,
    },
    /// Running an exec command failed.
    #[error("exec failed: {0}")]
    Exec(String),
}

/// What a pod sandbox needs: the pod's identity and its network address.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Pod UID.
    pub uid: String,
    /// Pod name.
    pub name: String,
    /// Pod namespace.
    pub namespace: String,
    /// The pod's hostname (`spec.hostname`, else its name).
    pub hostname: String,
    /// The pod IP (allocated by the kubelet's network plugin, [`crate::ipam`]); the
    /// node's IP for a `hostNetwork` pod.
    pub ip: IpAddr,
    /// The node's gateway address for pods (the first address of its pod CIDR).
    pub gateway: Option<IpAddr>,
    /// `spec.hostNetwork`: the pod shares the machine's network stack.
    pub host_network: bool,
    /// Pod annotations (the sim runtime reads its knobs here).
    pub annotations: BTreeMap<String, String>,
    /// Directories of this machine the pod's containers see at other paths (its
    /// volumes). Only a runtime with a mount namespace per pod can honour them (the
    /// process runtime with the `netns` pod network); others ignore them.
    pub mounts: Vec<Mount>,
    /// Directories hidden from the pod under an empty read-only tmpfs (the kubelet's
    /// pod directories, which hold every pod's tokens), where mounts are honoured.
    pub masked: Vec<std::path::PathBuf>,
}

/// A bind mount into a pod (CRI's `Mount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The directory (or file) on this machine.
    pub host_path: std::path::PathBuf,
    /// Where the pod's containers see it.
    pub container_path: std::path::PathBuf,
    pub read_only: bool,
}

/// What creating a container needs.
#[derive(Debug, Clone)]
pub struct ContainerConfig {
    /// Container name.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Entrypoint override (`command`), already `$(VAR)`-expanded.
    pub command: Vec<String>,
    /// Arguments (`args`), already expanded.
    pub args: Vec<String>,
    /// Environment, in order.
    pub env: Vec<(String, String)>,
    /// Working directory, if the spec sets one.
    pub working_dir: Option<String>,
    /// Where stdout/stderr go.
    pub log: Arc<ContainerLog>,
    /// Notified when the container exits (so the pod worker wakes at once).
    pub on_exit: Arc<Notify>,
    /// Its standard streams: `stdin`, `stdinOnce`, `tty`.
    pub stdio: stdio::StdioConfig,
}

/// A container's state as the runtime reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerState {
    /// Created, not started.
    Created,
    /// Running since `started_at`.
    Running {
        /// Start time.
        started_at: Timestamp,
    },
    /// Exited.
    Exited {
        /// Start time.
        started_at: Timestamp,
        /// Exit time.
        finished_at: Timestamp,
        /// Exit code (128+signal when killed by a signal).
        exit_code: i32,
    },
}

/// Output of an exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    /// Exit code.
    pub exit_code: i32,
    /// Combined stdout and stderr.
    pub output: String,
}

/// Where a streamed command (`exec`) runs in a running container, and where the pod's
/// ports are (`portforward`): what CRI's `Exec` and `PortForward` need.
#[derive(Debug, Clone)]
pub struct ExecTarget {
    /// The argv prefix that enters the container's namespaces (empty when it shares
    /// the machine's).
    pub prefix: Vec<std::ffi::OsString>,
    /// The container's environment.
    pub env: Vec<(String, String)>,
    /// Its working directory.
    pub dir: std::path::PathBuf,
    /// The pod's IP, where its servers listen.
    pub pod_ip: IpAddr,
    /// The pod's UID.
    pub pod_uid: String,
}

/// A CRI-like container runtime.
#[async_trait::async_trait]
pub trait Runtime: Send + Sync {
    /// Short name used in container IDs (`<name>://<id>`) and nodeInfo.
    fn name(&self) -> &'static str;
    /// Whether pod IPs are real listening addresses (false for the simulator, whose
    /// HTTP and TCP probes therefore pass without a connection).
    fn has_network(&self) -> bool;
    /// Makes `image` available (`PullImage`); the error message becomes `ErrImagePull`.
    async fn pull_image(&self, image: &str) -> Result<(), RuntimeError>;
    /// Creates the pod sandbox (the pause container) and returns its id.
    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError>;
    /// Stops and removes the sandbox and whatever still runs in it.
    async fn remove_pod_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError>;
    /// Whether the sandbox is ready (`PodSandboxStatus`'s `SANDBOX_READY`): false once
    /// its pause process exited, when the kubelet replaces it.
    async fn pod_sandbox_ready(&self, sandbox_id: &str) -> Result<bool, RuntimeError>;
    /// Creates a container in a sandbox and returns its id.
    async fn create_container(
        &self,
        sandbox_id: &str,
        config: ContainerConfig,
    ) -> Result<String, RuntimeError>;
    /// Starts a created container.
    async fn start_container(&self, container_id: &str) -> Result<(), RuntimeError>;
    /// Stops a container: SIGTERM, then SIGKILL after `grace`. Returns once it exited.
    async fn stop_container(&self, container_id: &str, grace: Duration)
    -> Result<(), RuntimeError>;
    /// Forgets an exited container.
    async fn remove_container(&self, container_id: &str) -> Result<(), RuntimeError>;
    /// The container's state.
    async fn container_status(&self, container_id: &str) -> Result<ContainerState, RuntimeError>;
    /// Runs `cmd` in the container's context (exec probes) with a timeout.
    async fn exec_sync(
        &self,
        container_id: &str,
        cmd: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, RuntimeError>;
    /// Where commands run in the running container `container` of pod
    /// `namespace/pod`, or (no container) where the pod's ports are.
    async fn exec_target(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
    ) -> Result<ExecTarget, RuntimeError> {
        let _ = (namespace, pod, container);
        Err(RuntimeError::Exec(format!(
            "the {} runtime runs no processes to stream",
            self.name()
        )))
    }
    /// The streams of the running container `container` of pod `namespace/pod`, for
    /// `attach`.
    async fn attach_target(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<Arc<stdio::ContainerIo>, RuntimeError> {
        let _ = (namespace, pod, container);
        Err(RuntimeError::Exec(format!(
            "the {} runtime runs no processes to attach to",
            self.name()
        )))
    }
}

/// A fresh, unique id for a sandbox or container.
pub fn new_id() -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = format!(
        "{n}-{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    );
    let digest = Sha256::digest(seed.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
