//! The process runtime: every container is a real child process in its own process
//! group, killed (the whole group) when the runtime drops it. The sandbox is a real
//! `agnhost pause` process holding the pod's identity. With the `loopback` pod network
//! the containers share the machine's network stack and their servers bind the pod IP
//! (see the crate docs); with `netns` the pause process holds the pod's network, UTS,
//! IPC and mount namespaces ([`super::namespaces`]), wired to the machine by a veth pair
//! ([`crate::network::ptp`]) and given the pod's volume mounts ([`super::mounts`]), and
//! every container joins them. Entry point:
//! [`ProcessRuntime::new`].

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::IpAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Command;
use tokio::sync::watch;

use super::images::{self, Workload};
use super::stdio::{self, ContainerIo, Stdin, StdioConfig};
use super::{
    ContainerConfig, ContainerState, ExecResult, ExecTarget, Runtime, RuntimeError, SandboxConfig,
    new_id,
};
use super::{mounts, namespaces};
use crate::agnhost::BIND_IP_ENV;
use crate::config::ImagePolicy;
use crate::logs::ContainerLog;
use crate::network::{PodNetwork, firewall, ptp};

/// How long `unshare` may take to give the pause process its namespaces.
const NAMESPACE_TIMEOUT: Duration = Duration::from_secs(10);

/// Kills a process group when dropped, so nothing outlives the runtime.
#[derive(Debug)]
struct GroupGuard(Pid);

impl GroupGuard {
    fn signal(&self, signal: Signal) {
        // ESRCH (group already gone) is the normal case after an exit.
        let _ = killpg(self.0, signal);
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

struct Container {
    sandbox_id: String,
    config: ContainerConfig,
    state: watch::Sender<ContainerState>,
    group: Option<GroupGuard>,
    /// Its streams, for attach, once started.
    io: Option<Arc<ContainerIo>>,
}

struct Sandbox {
    pause: Option<GroupGuard>,
    /// The pause process holding the pod's namespaces (`netns` pod network), which
    /// containers join.
    namespaces: Option<u32>,
    /// The address servers bind when the pod shares the machine's network stack.
    bind_ip: Option<IpAddr>,
    /// Cleared when the pause process exits: its pid (and so `/proc/<pid>/ns`) may then
    /// belong to another process.
    alive: Arc<AtomicBool>,
    /// The pod's namespace, name, UID and IP, so that exec and port-forward find it.
    namespace: String,
    pod: String,
    uid: String,
    ip: IpAddr,
    /// The pod's rules in the machine's `FORWARD` chain (`netns` pod network); removed
    /// when dropped.
    firewall: Option<firewall::Allowed>,
}

impl Sandbox {
    /// The argv prefix that puts a process into this sandbox's namespaces, working in
    /// `wd`; an error once the process holding them is gone.
    fn join_prefix(&self, wd: &Path) -> Result<Vec<OsString>, String> {
        match self.namespaces {
            None => Ok(Vec::new()),
            Some(_) if !self.alive.load(Ordering::SeqCst) => {
                Err("the pod sandbox's pause process has exited, and its namespaces with it".into())
            }
            Some(pid) => Ok(namespaces::join_prefix(pid, wd)),
        }
    }
}

#[derive(Default)]
struct State {
    sandboxes: HashMap<String, Sandbox>,
    containers: HashMap<String, Container>,
}

/// Runs containers as processes on this machine.
#[derive(Clone)]
pub struct ProcessRuntime {
    agnhost: Vec<PathBuf>,
    policy: ImagePolicy,
    network: PodNetwork,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for ProcessRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessRuntime")
            .field("agnhost", &self.agnhost)
            .field("network", &self.network)
            .finish()
    }
}

/// Where a container's process starts: its `workingDir` when that exists here, else
/// the temporary directory.
fn work_dir(working_dir: Option<&str>) -> PathBuf {
    working_dir
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// The exit code a shell would report: the code, or 128+signal.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// The program a container runs with its streams, and the tasks reading its output.
struct Spawned {
    child: tokio::process::Child,
    group: GroupGuard,
    io: Arc<ContainerIo>,
    pumps: Vec<tokio::task::JoinHandle<()>>,
}

/// How long the output of an exited container may take to drain (a process it left
/// behind may hold its stdout open for ever).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

impl ProcessRuntime {
    /// A runtime that runs agnhost as `agnhost[0] agnhost[1..] <args>`, failing pulls of
    /// images it has no workload for.
    pub fn new(agnhost: Vec<PathBuf>) -> Self {
        ProcessRuntime::with_policy(agnhost, ImagePolicy::Strict)
    }

    /// As [`ProcessRuntime::new`] with an explicit image policy.
    pub fn with_policy(agnhost: Vec<PathBuf>, policy: ImagePolicy) -> Self {
        ProcessRuntime {
            agnhost,
            policy,
            network: PodNetwork::Loopback,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Uses the given pod network (the kubelet checks `netns` with
    /// [`crate::network::preflight`] first).
    pub fn with_network(mut self, network: PodNetwork) -> Self {
        self.network = network;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn argv(&self, workload: &Workload) -> Result<Vec<OsString>, String> {
        match workload {
            Workload::Agnhost(args) => {
                if self.agnhost.is_empty() {
                    return Err("no agnhost command configured".to_string());
                }
                let mut argv: Vec<OsString> =
                    self.agnhost.iter().map(|p| p.as_os_str().into()).collect();
                argv.extend(args.iter().map(OsString::from));
                Ok(argv)
            }
            // Through `agnhost exec`, which ties the program's life to this process
            // before becoming it (see agnhost::tie_to_parent).
            Workload::Host { program, args } => {
                let mut argv = vec!["exec".to_string(), "--".to_string(), program.clone()];
                argv.extend(args.iter().cloned());
                self.argv(&Workload::Agnhost(argv))
            }
        }
    }

    /// Spawns `workload` behind `prefix` (a namespace tool, or nothing) in a new process
    /// group with `env`, its streams as `stdio` says, logging to `log`.
    fn spawn(
        &self,
        prefix: Vec<OsString>,
        workload: &Workload,
        env: &[(String, String)],
        dir: &Path,
        log: Arc<ContainerLog>,
        stdio: StdioConfig,
    ) -> Result<Spawned, String> {
        let mut argv = prefix;
        argv.extend(self.argv(workload)?);
        let mut env_all = vec![(
            "PATH".to_string(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        )];
        env_all.extend(env.iter().cloned());
        env_all.push((
            crate::agnhost::KUBELET_PID_ENV.to_string(),
            std::process::id().to_string(),
        ));
        let (child, io, pumps) = if stdio.tty {
            // A session leader on its terminal, so also its own process group.
            let (child, output, stdin) = stdio::spawn_on_terminal(&argv, &env_all, dir)?;
            let io = ContainerIo::new(stdio, Some(stdin));
            let pump = tokio::spawn(stdio::pump(output, stdio::STDOUT, log, io.clone()));
            (child, io, vec![pump])
        } else {
            let (program, args) = argv
                .split_first()
                .ok_or_else(|| "empty command".to_string())?;
            let mut cmd = Command::new(program);
            cmd.args(args)
                .env_clear()
                .envs(env_all.iter().map(|(k, v)| (k, v)))
                .stdin(if stdio.stdin {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0)
                .kill_on_drop(true);
            cmd.current_dir(dir);
            let mut child = cmd.spawn().map_err(|e| e.to_string())?;
            let stdin = child.stdin.take().map(|w| Stdin::Pipe(Box::pin(w)));
            let io = ContainerIo::new(stdio, stdin);
            let mut pumps = Vec::new();
            if let Some(out) = child.stdout.take() {
                let pump = stdio::pump(out, stdio::STDOUT, log.clone(), io.clone());
                pumps.push(tokio::spawn(pump));
            }
            if let Some(err) = child.stderr.take() {
                pumps.push(tokio::spawn(stdio::pump(
                    err,
                    stdio::STDERR,
                    log,
                    io.clone(),
                )));
            }
            (child, io, pumps)
        };
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| "process exited before it could be tracked".to_string())?;
        Ok(Spawned {
            child,
            group: GroupGuard(Pid::from_raw(pid)),
            io,
            pumps,
        })
    }

    async fn wait_exited(&self, container_id: &str) -> Result<(), RuntimeError> {
        let mut rx = self
            .lock()
            .containers
            .get(container_id)
            .map(|c| c.state.subscribe())
            .ok_or_else(|| not_found("container", container_id))?;
        rx.wait_for(|s| !matches!(s, ContainerState::Running { .. }))
            .await
            .map(|_| ())
            .map_err(|_| not_found("container", container_id))
    }
}

/// Gives the pause process `pid` its pod network: waits for its namespaces, names the
/// pod in its UTS namespace, wires its network namespace to the machine, and lets the
/// machine forward the pod's traffic.
async fn wire(
    sandbox_id: &str,
    pid: u32,
    config: &SandboxConfig,
    log: &ContainerLog,
) -> Result<firewall::Allowed, String> {
    namespaces::wait_created(pid, NAMESPACE_TIMEOUT)
        .await
        .map_err(|e| {
            let said: Vec<String> = log.read_from(0).lines.into_iter().map(|l| l.text).collect();
            if said.is_empty() {
                e
            } else {
                format!("{e}: {}", said.join("; "))
            }
        })?;
    namespaces::set_hostname(pid, &config.hostname)
        .await
        .map_err(|e| e.to_string())?;
    let gateway = config
        .gateway
        .ok_or("the pod network has no gateway address for this pod")?;
    ptp::attach(pid, &ptp::plan(sandbox_id, pid, config.ip, gateway))
        .await
        .map_err(|e| e.to_string())?;
    firewall::allow(config.ip).await.map_err(|e| e.to_string())
}

fn not_found(kind: &'static str, id: &str) -> RuntimeError {
    RuntimeError::NotFound {
        kind,
        id: id.to_string(),
    }
}

#[async_trait::async_trait]
impl Runtime for ProcessRuntime {
    fn name(&self) -> &'static str {
        "process"
    }

    fn has_network(&self) -> bool {
        true
    }

    async fn pull_image(&self, image: &str) -> Result<(), RuntimeError> {
        if images::is_available(image) || self.policy == ImagePolicy::PauseUnknown {
            Ok(())
        } else {
            Err(RuntimeError::ImagePull(images::pull_error(image)))
        }
    }

    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError> {
        let id = new_id();
        let own_netns = self.network == PodNetwork::Netns && !config.host_network;
        let env = vec![
            ("POD_IP".to_string(), config.ip.to_string()),
            ("HOSTNAME".to_string(), config.hostname.clone()),
            (super::pause::SANDBOX_OF_ENV.to_string(), config.uid.clone()),
        ];
        let sandbox_err = |message: String| RuntimeError::Start {
            name: "POD".into(),
            message,
        };
        let prefix = if own_netns {
            namespaces::create_prefix()
        } else {
            Vec::new()
        };
        let log = Arc::new(ContainerLog::new(16));
        let pause = Workload::Agnhost(vec!["pause".into()]);
        let Spawned {
            child,
            group: guard,
            ..
        } = self
            .spawn(
                prefix,
                &pause,
                &env,
                &work_dir(None),
                log.clone(),
                StdioConfig::default(),
            )
            .map_err(sandbox_err)?;
        let pid = child.id();
        let alive = Arc::new(AtomicBool::new(true));
        // The pause process is reaped by a task; the guard kills it on removal. Its
        // death wakes the pod's worker (through its containers' exit signal), which
        // then replaces the sandbox.
        tokio::spawn({
            let alive = alive.clone();
            let state = self.state.clone();
            let id = id.clone();
            async move {
                let mut child = child;
                let _ = child.wait().await;
                alive.store(false, Ordering::SeqCst);
                let state = state.lock().unwrap_or_else(PoisonError::into_inner);
                let woken = state.containers.values().find(|c| c.sandbox_id == id);
                if let Some(c) = woken {
                    c.config.on_exit.notify_one();
                }
            }
        });
        let (namespaces, firewall) = if own_netns {
            let pid = pid.ok_or_else(|| sandbox_err("the pause process exited at once".into()))?;
            // On failure the guard kills the pause process, and its namespaces and veth
            // go with it (and dropping `allowed`, its firewall rules).
            let allowed = wire(&id, pid, config, &log).await.map_err(sandbox_err)?;
            mounts::apply(pid, &config.mounts, &config.masked)
                .await
                .map_err(|e| sandbox_err(e.to_string()))?;
            (Some(pid), Some(allowed))
        } else {
            (None, None)
        };
        self.lock().sandboxes.insert(
            id.clone(),
            Sandbox {
                pause: Some(guard),
                namespaces,
                bind_ip: (!own_netns).then_some(config.ip),
                alive,
                namespace: config.namespace.clone(),
                pod: config.name.clone(),
                uid: config.uid.clone(),
                ip: config.ip,
                firewall,
            },
        );
        Ok(id)
    }

    async fn remove_pod_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        let firewall = {
            let mut state = self.lock();
            // Dropping the guards kills every process group of the pod.
            state.containers.retain(|_, c| c.sandbox_id != sandbox_id);
            let mut sandbox = state.sandboxes.remove(sandbox_id);
            if let Some(s) = sandbox.as_mut() {
                s.pause.take();
            }
            sandbox.and_then(|mut s| s.firewall.take())
        };
        // Removing the rules runs iptables: not under the lock, nor on the async workers.
        if let Some(allowed) = firewall {
            let _ = tokio::task::spawn_blocking(move || drop(allowed)).await;
        }
        Ok(())
    }

    async fn pod_sandbox_ready(&self, sandbox_id: &str) -> Result<bool, RuntimeError> {
        Ok(self
            .lock()
            .sandboxes
            .get(sandbox_id)
            .is_some_and(|s| s.alive.load(Ordering::SeqCst)))
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: ContainerConfig,
    ) -> Result<String, RuntimeError> {
        let mut state = self.lock();
        if !state.sandboxes.contains_key(sandbox_id) {
            return Err(not_found("sandbox", sandbox_id));
        }
        let id = new_id();
        state.containers.insert(
            id.clone(),
            Container {
                sandbox_id: sandbox_id.to_string(),
                config,
                state: watch::channel(ContainerState::Created).0,
                group: None,
                io: None,
            },
        );
        Ok(id)
    }

    async fn start_container(&self, container_id: &str) -> Result<(), RuntimeError> {
        let (config, state_tx, prefix, bind_ip, dir) = {
            let state = self.lock();
            let c = state
                .containers
                .get(container_id)
                .ok_or_else(|| not_found("container", container_id))?;
            let sandbox = state
                .sandboxes
                .get(&c.sandbox_id)
                .ok_or_else(|| not_found("sandbox", &c.sandbox_id))?;
            let dir = work_dir(c.config.working_dir.as_deref());
            (
                c.config.clone(),
                c.state.clone(),
                sandbox.join_prefix(&dir),
                sandbox.bind_ip,
                dir,
            )
        };
        let start_err = |message: String| RuntimeError::Start {
            name: config.name.clone(),
            message,
        };
        let prefix = prefix.map_err(start_err)?;
        let workload = match images::resolve(&config.image, &config.command, &config.args) {
            Ok(w) => w,
            Err(_) if self.policy == ImagePolicy::PauseUnknown => {
                Workload::Agnhost(vec!["pause".into()])
            }
            Err(e) => return Err(start_err(e)),
        };
        let mut env = config.env.clone();
        if let Some(ip) = bind_ip {
            env.push((BIND_IP_ENV.to_string(), ip.to_string()));
        }
        let Spawned {
            mut child,
            group,
            io,
            pumps,
        } = self
            .spawn(
                prefix,
                &workload,
                &env,
                &dir,
                config.log.clone(),
                config.stdio,
            )
            .map_err(|e| start_err(format!("exec: {e}")))?;
        let started_at = Timestamp::now();
        state_tx.send_replace(ContainerState::Running { started_at });
        if let Some(c) = self.lock().containers.get_mut(container_id) {
            c.group = Some(group);
            c.io = Some(io.clone());
        }
        let log = config.log.clone();
        let on_exit = config.on_exit.clone();
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(status) => exit_code(status),
                Err(_) => -1,
            };
            let finished_at = Timestamp::now();
            // Its last words go to the log and the attached sessions before it counts
            // as exited.
            let drained = futures::future::join_all(pumps);
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained).await;
            state_tx.send_replace(ContainerState::Exited {
                started_at,
                finished_at,
                exit_code: code,
            });
            log.close();
            io.end();
            on_exit.notify_one();
        });
        Ok(())
    }

    async fn stop_container(
        &self,
        container_id: &str,
        grace: Duration,
    ) -> Result<(), RuntimeError> {
        let running = {
            let state = self.lock();
            let c = state
                .containers
                .get(container_id)
                .ok_or_else(|| not_found("container", container_id))?;
            let running = matches!(*c.state.borrow(), ContainerState::Running { .. });
            if running && let Some(g) = &c.group {
                g.signal(Signal::SIGTERM);
            }
            running
        };
        if !running {
            return Ok(());
        }
        if tokio::time::timeout(grace, self.wait_exited(container_id))
            .await
            .is_err()
        {
            if let Some(g) = self
                .lock()
                .containers
                .get(container_id)
                .and_then(|c| c.group.as_ref())
            {
                g.signal(Signal::SIGKILL);
            }
            self.wait_exited(container_id).await?;
        }
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
            .map(|c| c.state.borrow().clone())
            .ok_or_else(|| not_found("container", container_id))
    }

    async fn exec_sync(
        &self,
        container_id: &str,
        cmd: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, RuntimeError> {
        let (config, mut argv, dir) = {
            let state = self.lock();
            let c = state
                .containers
                .get(container_id)
                .ok_or_else(|| not_found("container", container_id))?;
            let dir = work_dir(c.config.working_dir.as_deref());
            let prefix = state
                .sandboxes
                .get(&c.sandbox_id)
                .map(|s| s.join_prefix(&dir))
                .transpose()
                .map_err(RuntimeError::Exec)?
                .unwrap_or_default();
            (c.config.clone(), prefix, dir)
        };
        if cmd.is_empty() {
            return Err(RuntimeError::Exec("empty command".into()));
        }
        argv.extend(cmd.iter().map(OsString::from));
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| RuntimeError::Exec("empty command".into()))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .envs(config.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(timeout, command.output())
            .await
            .map_err(|_| RuntimeError::Exec(format!("command {cmd:?} timed out")))?
            .map_err(|e| RuntimeError::Exec(e.to_string()))?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok(ExecResult {
            exit_code: exit_code(output.status),
            output: text,
        })
    }

    async fn exec_target(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
    ) -> Result<ExecTarget, RuntimeError> {
        let state = self.lock();
        let (sandbox_id, sandbox) = state
            .sandboxes
            .iter()
            .find(|(_, s)| {
                s.namespace == namespace && s.pod == pod && s.alive.load(Ordering::SeqCst)
            })
            .ok_or_else(|| {
                RuntimeError::Exec(format!(
                    "pod \"{namespace}/{pod}\" is not running on this node"
                ))
            })?;
        let Some(name) = container else {
            return Ok(ExecTarget {
                prefix: Vec::new(),
                env: Vec::new(),
                dir: work_dir(None),
                pod_ip: sandbox.ip,
                pod_uid: sandbox.uid.clone(),
            });
        };
        let c = state
            .containers
            .values()
            .find(|c| {
                &c.sandbox_id == sandbox_id
                    && c.config.name == name
                    && matches!(*c.state.borrow(), ContainerState::Running { .. })
            })
            .ok_or_else(|| RuntimeError::Exec(format!("container not found ({name:?})")))?;
        let dir = work_dir(c.config.working_dir.as_deref());
        let mut env = c.config.env.clone();
        if let Some(ip) = sandbox.bind_ip {
            env.push((BIND_IP_ENV.to_string(), ip.to_string()));
        }
        Ok(ExecTarget {
            prefix: sandbox.join_prefix(&dir).map_err(RuntimeError::Exec)?,
            env,
            dir,
            pod_ip: sandbox.ip,
            pod_uid: sandbox.uid.clone(),
        })
    }

    async fn attach_target(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<Arc<ContainerIo>, RuntimeError> {
        let state = self.lock();
        let sandbox_id = state
            .sandboxes
            .iter()
            .find(|(_, s)| {
                s.namespace == namespace && s.pod == pod && s.alive.load(Ordering::SeqCst)
            })
            .map(|(id, _)| id)
            .ok_or_else(|| {
                RuntimeError::Exec(format!(
                    "pod \"{namespace}/{pod}\" is not running on this node"
                ))
            })?;
        state
            .containers
            .values()
            .find(|c| {
                &c.sandbox_id == sandbox_id
                    && c.config.name == container
                    && matches!(*c.state.borrow(), ContainerState::Running { .. })
            })
            .and_then(|c| c.io.clone())
            .ok_or_else(|| RuntimeError::Exec(format!("container not found ({container:?})")))
    }
}
