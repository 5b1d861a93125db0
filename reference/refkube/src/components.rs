//! The components beside the API server: scheduler, controller manager, and a kubelet and
//! a kube-proxy per node, each a task that reaches the cluster only through its own kube
//! client, exactly as separate processes would.
//!
//! Entry point: [`Components::start`] with a [`ComponentsConfig`]; [`Components::stop`]
//! and [`Components::restart`] are the fault injection the embedded target offers
//! (stop a scheduler, lose a node, ...).

use std::collections::BTreeMap;
use std::time::Duration;

use ipnet::IpNet;
use refkube_common::leader_election::LeaderElectionConfig;
use refkube_controllers::ControllerManagerConfig;
use refkube_kubelet::{KubeletConfig, RuntimeKind};
use refkube_proxy::{ProxyConfig, ProxyMode};
use refkube_scheduler::SchedulerConfig;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::network::ClusterNetwork;
/// Re-exported from [`crate::pace`], where the fast timings live.
pub use crate::pace::Pace;

/// The name a component is known by for [`Components::stop`] / [`Components::restart`].
pub const SCHEDULER: &str = "scheduler";
/// See [`SCHEDULER`].
pub const CONTROLLER_MANAGER: &str = "controller-manager";

/// `kubelet/<node>`.
pub fn kubelet_name(node: &str) -> String {
    format!("kubelet/{node}")
}

/// `proxy/<node>`.
pub fn proxy_name(node: &str) -> String {
    format!("proxy/{node}")
}

/// What to run beside the API server.
#[derive(Clone, Debug, Default)]
pub struct ComponentsConfig {
    pub scheduler: Option<SchedulerConfig>,
    pub controller_manager: Option<ControllerManagerConfig>,
    /// Instances of the scheduler and of the controller manager (at least 1 of each that
    /// runs): one leads through its Lease, the others stand by (chapter 11.6).
    pub control_plane_replicas: usize,
    pub kubelets: Vec<KubeletConfig>,
    pub proxies: Vec<ProxyConfig>,
    /// Runs the controller manager with `--use-service-account-credentials`: each
    /// controller with its own client as its service account, holding only its
    /// `system:controller:*` role.
    pub use_service_account_credentials: bool,
}

/// Who a component authenticates as: upstream's user and groups for it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

impl ComponentsConfig {
    /// No components: only the API server runs.
    pub fn none() -> Self {
        Self::default()
    }

    /// A whole control plane: scheduler, controller manager, and `nodes` nodes each with
    /// a kubelet (`node-1` ...) using `runtime`, its pods addressed from `network`, and a
    /// kube-proxy in `proxy_mode` (see [`crate::network::resolve_proxy_mode`]). Fails if
    /// the cluster CIDR is too small.
    pub fn cluster(
        nodes: usize,
        runtime: RuntimeKind,
        pace: Pace,
        network: &ClusterNetwork,
        proxy_mode: ProxyMode,
    ) -> anyhow::Result<Self> {
        let scheduler = pace.scheduler(SchedulerConfig::default());
        let cm = pace.controller_manager(ControllerManagerConfig::default());
        let mut kubelets = Vec::new();
        let mut proxies = Vec::new();
        for n in 1..=nodes {
            let cidr = network.node_pod_cidr(n)?;
            let n = u16::try_from(n).unwrap_or(u16::MAX);
            let k = KubeletConfig::for_node(n)
                .runtime(runtime)
                .pod_cidr(Some(cidr))
                .pod_network(network.mode)
                .timings(pace.kubelet_timings());
            let p = pace.proxy(
                ProxyConfig::new(k.node_name.clone())
                    .node_ip(k.node_ip)
                    .mode(proxy_mode)
                    .cluster_cidr(IpNet::V4(network.cluster_cidr)),
            );
            kubelets.push(k);
            proxies.push(p);
        }
        Ok(ComponentsConfig {
            scheduler: Some(scheduler),
            controller_manager: Some(cm),
            control_plane_replicas: 1,
            kubelets,
            proxies,
            use_service_account_credentials: true,
        })
    }

    /// The identities the components authenticate as (one token each in the cluster's
    /// token file).
    pub fn identities(&self) -> Vec<Identity> {
        let mut ids: Vec<Identity> = self.specs().values().map(identity).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Every component instance by name: `scheduler`, `scheduler-2`, `kubelet/node-1` ...
    fn specs(&self) -> BTreeMap<String, Spec> {
        let mut specs = BTreeMap::new();
        let replicas = self.control_plane_replicas.max(1);
        for i in 1..=replicas {
            let suffix = if i == 1 {
                String::new()
            } else {
                format!("-{i}")
            };
            if let Some(s) = &self.scheduler {
                specs.insert(format!("{SCHEDULER}{suffix}"), Spec::Scheduler(s.clone()));
            }
            if let Some(c) = &self.controller_manager {
                let name = format!("{CONTROLLER_MANAGER}{suffix}");
                specs.insert(name, Spec::ControllerManager(Box::new(c.clone())));
            }
        }
        for k in &self.kubelets {
            specs.insert(
                kubelet_name(&k.node_name),
                Spec::Kubelet(Box::new(k.clone())),
            );
        }
        for p in &self.proxies {
            specs.insert(proxy_name(&p.node_name), Spec::Proxy(p.clone()));
        }
        specs
    }
}

/// Upstream's identities: `system:kube-scheduler`, `system:kube-controller-manager`,
/// `system:node:<node>` in `system:nodes`, `system:kube-proxy`.
fn identity(spec: &Spec) -> Identity {
    let (user, groups) = match spec {
        Spec::Scheduler(_) => ("system:kube-scheduler".to_string(), vec![]),
        Spec::ControllerManager(_) => ("system:kube-controller-manager".to_string(), vec![]),
        Spec::Kubelet(k) => (
            format!("system:node:{}", k.node_name),
            vec!["system:nodes".to_string()],
        ),
        Spec::Proxy(_) => ("system:kube-proxy".to_string(), vec![]),
    };
    let mut groups = groups;
    groups.push("system:authenticated".to_string());
    Identity { user, groups }
}

/// One component's configuration, kept so a stopped component can be restarted.
#[derive(Clone, Debug)]
enum Spec {
    Scheduler(SchedulerConfig),
    ControllerManager(Box<ControllerManagerConfig>),
    Kubelet(Box<KubeletConfig>),
    Proxy(ProxyConfig),
}

impl Spec {
    fn leader_election(&mut self) -> Option<&mut LeaderElectionConfig> {
        match self {
            Spec::Scheduler(c) => c.leader_election.as_mut(),
            Spec::ControllerManager(c) => c.leader_election.as_mut(),
            Spec::Kubelet(_) | Spec::Proxy(_) => None,
        }
    }
}

struct Running {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// Errors from stopping or restarting a component.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// No component has this name.
    #[error("no component named {0:?} (known: {1})")]
    Unknown(String, String),
    /// The component's API client could not be built.
    #[error("building the API client of {0}: {1}")]
    Client(String, String),
}

/// The version components report, upstream-style, in their User-Agent.
pub const VERSION: &str = "v1.33.0-refkube";

/// Upstream-style User-Agent (`kube-scheduler/v1.33.0 ...`), with the node for node
/// agents, so the audit log tells which component made each write.
fn user_agent(spec: &Spec) -> String {
    match spec {
        Spec::Scheduler(_) => format!("kube-scheduler/{VERSION}"),
        Spec::ControllerManager(_) => format!("kube-controller-manager/{VERSION}"),
        Spec::Kubelet(k) => format!("kubelet/{VERSION} ({})", k.node_name),
        Spec::Proxy(p) => format!("kube-proxy/{VERSION} ({})", p.node_name),
    }
}

/// A client for `api` that sends `agent` as its User-Agent.
pub fn client_as(api: &kube::Config, agent: &str) -> Result<kube::Client, kube::Error> {
    kube::Client::try_from(config_as(api, agent)?)
}

/// `api` sending `agent` as its User-Agent.
pub fn config_as(api: &kube::Config, agent: &str) -> Result<kube::Config, kube::Error> {
    let mut config = api.clone();
    let value =
        http::HeaderValue::from_str(agent).map_err(|e| kube::Error::Service(Box::new(e)))?;
    config.headers.push((http::header::USER_AGENT, value));
    Ok(config)
}

/// The running components.
pub struct Components {
    /// Where the API server is; each component builds its own client from it.
    api: kube::Config,
    /// Bearer token per user (see [`ComponentsConfig::identities`]); none: the server
    /// does not authenticate.
    tokens: BTreeMap<String, String>,
    /// Each component's configuration; changed only by [`Components::set_proxy_mode`].
    specs: std::sync::Mutex<BTreeMap<String, Spec>>,
    /// See [`ComponentsConfig::use_service_account_credentials`].
    use_service_account_credentials: bool,
    running: Mutex<BTreeMap<String, Running>>,
    /// Leader-election identity of each running scheduler / controller manager instance
    /// → its component name, so a fault can stop "the current Lease holder".
    holders: std::sync::Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Components {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Components")
            .field("components", &self.names())
            .finish()
    }
}

impl Components {
    /// Starts every configured component, each with its own client for `api`,
    /// authenticating with its identity's token from `tokens` when there is one.
    pub async fn start(
        api: kube::Config,
        cfg: ComponentsConfig,
        tokens: BTreeMap<String, String>,
    ) -> Self {
        let components = Components {
            api,
            tokens,
            specs: std::sync::Mutex::new(cfg.specs()),
            use_service_account_credentials: cfg.use_service_account_credentials,
            running: Mutex::new(BTreeMap::new()),
            holders: std::sync::Mutex::new(BTreeMap::new()),
        };
        let names = components.names();
        for name in names {
            if let Err(e) = components.restart(&name).await {
                tracing::error!(component = %name, error = %e, "not started");
            }
        }
        components
    }

    /// The component whose leader-election identity is `holder` (a Lease's
    /// `holderIdentity`), if it is one of these.
    pub fn component_holding(&self, holder: &str) -> Option<String> {
        self.holders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(holder)
            .cloned()
    }

    /// Every component's name, e.g. `scheduler`, `kubelet/node-1`.
    pub fn names(&self) -> Vec<String> {
        self.lock_specs().keys().cloned().collect()
    }

    /// Whether the component is running (started and not stopped or crashed).
    pub async fn is_running(&self, name: &str) -> bool {
        self.running
            .lock()
            .await
            .get(name)
            .is_some_and(|r| !r.task.is_finished())
    }

    /// Stops a component, as if its process were killed; it stays stopped until
    /// [`Components::restart`]. Stopping a stopped component does nothing.
    pub async fn stop(&self, name: &str) -> Result<(), ComponentError> {
        self.spec(name)?;
        let running = self.running.lock().await.remove(name);
        if let Some(r) = running {
            r.cancel.cancel();
            let _ = r.task.await;
        }
        Ok(())
    }

    /// Starts a component again with its original configuration (a fresh process: a
    /// new leader-election identity, empty caches). A running one is stopped first.
    pub async fn restart(&self, name: &str) -> Result<(), ComponentError> {
        let mut spec = self.spec(name)?;
        self.stop(name).await?;
        if let Some(le) = spec.leader_election() {
            // A fresh identity per start, as a new process would have (upstream:
            // `<hostname>_<uuid>`; the instance name stands in for the hostname).
            le.identity = format!("{}_{}", name.replace('/', "-"), uuid::Uuid::new_v4());
            self.holders
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(le.identity.clone(), name.to_string());
        }
        let mut api = self.api.clone();
        if let Some(token) = self.tokens.get(&identity(&spec).user) {
            api.auth_info.token = Some(token.clone().into());
        }
        let agent = user_agent(&spec);
        let client = client_as(&api, &agent)
            .map_err(|e| ComponentError::Client(name.to_string(), e.to_string()))?;
        if let Spec::ControllerManager(c) = &mut spec
            && self.use_service_account_credentials
        {
            c.service_account_credentials =
                Some(Box::new(config_as(&api, &agent).map_err(|e| {
                    ComponentError::Client(name.to_string(), e.to_string())
                })?));
        }
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run_spec(name.to_string(), spec, client, cancel.clone()));
        self.running
            .lock()
            .await
            .insert(name.to_string(), Running { cancel, task });
        Ok(())
    }

    /// Stops everything: proxies and kubelets first (their pods' processes end), then
    /// the controller manager and scheduler.
    pub async fn shutdown(&self) {
        let mut names = self.names();
        names.sort_by_key(|n| !(n.starts_with("proxy/") || n.starts_with("kubelet/")));
        for name in names {
            let _ = self.stop(&name).await;
        }
    }

    /// Switches every kube-proxy to `mode`, restarting those that run (upstream:
    /// changing `--proxy-mode` and restarting the DaemonSet's pods).
    pub async fn set_proxy_mode(&self, mode: ProxyMode) -> Result<(), ComponentError> {
        let proxies: Vec<String> = {
            let mut specs = self.lock_specs();
            specs
                .iter_mut()
                .filter_map(|(name, spec)| match spec {
                    Spec::Proxy(p) => {
                        p.mode = mode;
                        Some(name.clone())
                    }
                    _ => None,
                })
                .collect()
        };
        for name in proxies {
            if self.running.lock().await.contains_key(&name) {
                self.restart(&name).await?;
            }
        }
        Ok(())
    }

    fn lock_specs(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Spec>> {
        self.specs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spec(&self, name: &str) -> Result<Spec, ComponentError> {
        // Released before the error lists the names, which takes the lock again.
        let spec = self.lock_specs().get(name).cloned();
        spec.ok_or_else(|| ComponentError::Unknown(name.to_string(), self.names().join(", ")))
    }
}

/// Runs a component the way a process supervisor would: if it exits on its own (an
/// error, or a controller manager that lost its lease, which upstream handles by exiting
/// so a fresh process campaigns again), it is started again after a short pause.
async fn run_spec(name: String, spec: Spec, client: kube::Client, cancel: CancellationToken) {
    let mut pause = Duration::from_millis(100);
    loop {
        let result = run_once(spec.clone(), client.clone(), cancel.clone()).await;
        if cancel.is_cancelled() {
            tracing::info!(component = %name, "stopped");
            return;
        }
        match result {
            Ok(()) => tracing::warn!(component = %name, "exited; restarting"),
            Err(e) => tracing::warn!(component = %name, error = %e, "exited; restarting"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

async fn run_once(
    spec: Spec,
    client: kube::Client,
    cancel: CancellationToken,
) -> Result<(), String> {
    let stop = cancel.cancelled_owned();
    match spec {
        Spec::Scheduler(c) => refkube_scheduler::run(c, client, stop)
            .await
            .map_err(|e| e.to_string()),
        Spec::ControllerManager(c) => refkube_controllers::run(*c, client, stop)
            .await
            .map_err(|e| e.to_string()),
        Spec::Kubelet(c) => refkube_kubelet::run(*c, client, stop)
            .await
            .map_err(|e| e.to_string()),
        Spec::Proxy(c) => refkube_proxy::run(c, client, stop)
            .await
            .map_err(|e| e.to_string()),
    }
}
