//! The in-process cluster: a store, an API server, and beside it the scheduler,
//! controller manager and per-node kubelet and kube-proxy (see [`crate::components`]),
//! which reach it only through their own kube clients; plus a kubeconfig and a client.
//!
//! Entry point: [`Cluster::start`] with a [`ClusterConfig`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use refkube_apiserver::{ApiServer, ApiServerConfig};
use refkube_kubelet::{PodNetwork, RuntimeKind};
use refkube_proxy::ProxyMode;
use refkube_store::Store;

use crate::components::{Components, ComponentsConfig, Pace};
use crate::network::{ClusterNetwork, ServiceRoute, resolve_proxy_mode};

/// A last say over the components' configuration (disable a scheduler plugin, taint a
/// node, ...), applied after the defaults are built.
#[derive(Clone)]
pub struct Customize(pub Arc<dyn Fn(&mut ComponentsConfig) + Send + Sync>);

impl std::fmt::Debug for Customize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Customize(..)")
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// API server listen address (port 0 = any free port).
    pub listen: SocketAddr,
    /// Store spec: `memory`, `file:DIR` or `etcd:URL[,URL...]`.
    pub store: String,
    /// Number of nodes, each a kubelet and a kube-proxy (`node-1` ...).
    pub nodes: usize,
    /// The kubelets' container runtime.
    pub runtime: RuntimeKind,
    /// Upstream timings, or all of them shortened for tests.
    pub pace: Pace,
    /// Run the scheduler and the controller manager (off: an API server alone, plus
    /// any nodes).
    pub control_plane: bool,
    /// Instances of the scheduler and of the controller manager: one leads, the others
    /// stand by.
    pub control_plane_replicas: usize,
    /// How kubelets run agnhost containers (None: the kubelet's own lookup).
    pub agnhost_command: Option<Vec<PathBuf>>,
    /// Applied to the components' configuration before they start.
    pub customize: Option<Customize>,
    /// Where state (audit log, generated token file) goes; None keeps nothing on disk.
    pub state_dir: Option<PathBuf>,
    /// How pods are networked and the pod and Service ranges (by default loopback
    /// ranges, so that nothing needs privileges).
    pub network: ClusterNetwork,
    /// The kube-proxies' mode; None: iptables where it can run, else userspace (see
    /// [`crate::network::resolve_proxy_mode`]).
    pub proxy_mode: Option<ProxyMode>,
    /// Write an audit log to `state_dir/audit.log` (needs `state_dir`).
    pub audit: bool,
    /// Every other API server setting (listen and service range are taken from above).
    pub apiserver: ApiServerConfig,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            store: "memory".into(),
            nodes: 0,
            runtime: RuntimeKind::Process,
            pace: Pace::Upstream,
            control_plane: true,
            control_plane_replicas: 1,
            agnhost_command: None,
            customize: None,
            state_dir: None,
            network: ClusterNetwork::for_mode(PodNetwork::Loopback),
            proxy_mode: None,
            audit: false,
            apiserver: ApiServerConfig::default(),
        }
    }
}

impl ClusterConfig {
    pub fn listen(mut self, a: SocketAddr) -> Self {
        self.listen = a;
        self
    }
    pub fn store(mut self, spec: impl Into<String>) -> Self {
        self.store = spec.into();
        self
    }
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n;
        self
    }
    pub fn runtime(mut self, r: RuntimeKind) -> Self {
        self.runtime = r;
        self
    }
    pub fn pace(mut self, p: Pace) -> Self {
        self.pace = p;
        self
    }
    pub fn control_plane(mut self, on: bool) -> Self {
        self.control_plane = on;
        self
    }
    pub fn agnhost_command(mut self, command: Option<Vec<PathBuf>>) -> Self {
        self.agnhost_command = command;
        self
    }
    pub fn control_plane_replicas(mut self, n: usize) -> Self {
        self.control_plane_replicas = n;
        self
    }
    /// Networks pods the `mode` way, with that mode's default ranges.
    pub fn pod_network(mut self, mode: PodNetwork) -> Self {
        self.network = ClusterNetwork::for_mode(mode);
        self
    }
    /// Sets the pod network and both ranges.
    pub fn network(mut self, network: ClusterNetwork) -> Self {
        self.network = network;
        self
    }
    /// Runs the kube-proxies in `mode` (an error at start if it cannot run here).
    pub fn proxy_mode(mut self, mode: ProxyMode) -> Self {
        self.proxy_mode = Some(mode);
        self
    }
    pub fn customize(mut self, f: impl Fn(&mut ComponentsConfig) + Send + Sync + 'static) -> Self {
        self.customize = Some(Customize(Arc::new(f)));
        self
    }

    /// The components this configuration runs beside the API server.
    pub fn components_config(&self) -> anyhow::Result<ComponentsConfig> {
        let proxy_mode = resolve_proxy_mode(self.proxy_mode, self.network.mode)?;
        let mut c = ComponentsConfig::cluster(
            self.nodes,
            self.runtime,
            self.pace,
            &self.network,
            proxy_mode,
        )?;
        c.control_plane_replicas = self.control_plane_replicas;
        if let Some(cmd) = &self.agnhost_command {
            for k in &mut c.kubelets {
                k.agnhost_command = cmd.clone();
            }
        }
        if !self.control_plane {
            c.scheduler = None;
            c.controller_manager = None;
        }
        if let Some(Customize(f)) = &self.customize {
            f(&mut c);
        }
        Ok(c)
    }

    pub fn state_dir(mut self, d: PathBuf) -> Self {
        self.state_dir = Some(d);
        self
    }
    pub fn audit(mut self, on: bool) -> Self {
        self.audit = on;
        self
    }
    pub fn apiserver(mut self, c: ApiServerConfig) -> Self {
        self.apiserver = c;
        self
    }
}

/// A running cluster.
pub struct Cluster {
    store: Arc<dyn Store>,
    server: ApiServer,
    token: Option<String>,
    components: Components,
    /// The pod network and ranges the cluster runs with.
    network: ClusterNetwork,
    /// The Service range's `local` route, present while userspace proxies serve a
    /// `netns` cluster (see [`crate::network`]); removed at shutdown.
    service_route: tokio::sync::Mutex<Option<ServiceRoute>>,
    /// Whether kube-proxies have run in iptables mode in this `netns` cluster, so their
    /// rules are to be removed at shutdown (and when they switch to userspace mode).
    iptables_used: std::sync::atomic::AtomicBool,
    /// `route_localnet`'s value before iptables mode set it, restored at shutdown.
    route_localnet_before: std::sync::Mutex<Option<String>>,
    /// Holds the token file for the server's lifetime (a temp dir is removed on drop).
    _token_dir: TokenDir,
}

/// Where the generated token file lives.
enum TokenDir {
    State(PathBuf),
    Temp(tempfile::TempDir),
}

impl TokenDir {
    fn path(&self) -> &std::path::Path {
        match self {
            TokenDir::State(p) => p,
            TokenDir::Temp(t) => t.path(),
        }
    }
}

/// The generated bearer tokens: the admin's and one per component identity.
struct Tokens {
    admin: String,
    by_user: std::collections::BTreeMap<String, String>,
    groups: std::collections::BTreeMap<String, Vec<String>>,
}

impl Tokens {
    fn generate(components: &ComponentsConfig) -> Self {
        let mut by_user = std::collections::BTreeMap::new();
        let mut groups = std::collections::BTreeMap::new();
        for id in components.identities() {
            by_user.insert(id.user.clone(), generate_token());
            groups.insert(id.user, id.groups);
        }
        Tokens {
            admin: generate_token(),
            by_user,
            groups,
        }
    }

    /// Upstream's token file format: `token,user,uid,"group1,group2"`.
    fn csv(&self) -> String {
        let mut out = format!("{},admin,admin,\"system:masters\"\n", self.admin);
        for (user, token) in &self.by_user {
            let groups = self
                .groups
                .get(user)
                .map(|g| g.join(","))
                .unwrap_or_default();
            out.push_str(&format!("{token},{user},{user},\"{groups}\"\n"));
        }
        out
    }
}

/// Writes a file only its owner can read (it holds credentials).
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    Ok(())
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("api", &self.server.url())
            .finish()
    }
}

/// Opens a store spec (the file backend blocks while it replays its log).
pub async fn open_store(spec: &str) -> anyhow::Result<Arc<dyn Store>> {
    let spec = spec.to_string();
    tokio::task::spawn_blocking(move || refkube_store::open(&spec))
        .await
        .context("store open task")?
        .context("opening the store")
}

/// A random bearer token for the token file `Cluster::start` generates.
fn generate_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect()
}

impl Cluster {
    pub async fn start(cfg: ClusterConfig) -> anyhow::Result<Cluster> {
        cfg.network.validate()?;
        let store = open_store(&cfg.store).await?;
        let mut api = cfg.apiserver.clone();
        api.listen = cfg.listen;
        api.service_cluster_ip_range = cfg.network.service_range;
        // In-cluster clients dial the `kubernetes` Service's IP and check the server's
        // certificate against it, as upstream's self-signed certificate allows.
        if let Some(ip) = cfg.network.service_range.hosts().next() {
            api.tls_sans.push(ip.to_string());
        }
        api.tls_sans
            .push("kubernetes.default.svc.cluster.local".into());
        if let Some(dir) = &cfg.state_dir {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            if cfg.audit && api.audit_log_path.is_none() {
                api.audit_log_path = Some(dir.join("audit.log"));
            }
        }
        // Every request is authenticated, so the audit log says who made it: the admin
        // (the kubeconfig's token) and each component as its upstream identity.
        let mut components_config = cfg.components_config()?;
        let netns = cfg.network.mode == PodNetwork::Netns;
        if netns {
            refkube_kubelet::network::preflight()?;
        }
        let tokens = Tokens::generate(&components_config);
        let token_dir = match &cfg.state_dir {
            Some(dir) => TokenDir::State(dir.clone()),
            None => TokenDir::Temp(tempfile::tempdir().context("creating a token directory")?),
        };
        let path = token_dir.path().join("tokens.csv");
        // kubectl sends no token over plain HTTP, so on plain loopback a tokenless
        // request is the admin, unless the user brought a token file of their own.
        api.anonymous_loopback_admin = api.token_auth_file.is_none();
        let user_lines = match &api.token_auth_file {
            Some(f) => std::fs::read_to_string(f)
                .with_context(|| format!("reading the token file {}", f.display()))?,
            None => String::new(),
        };
        write_private(&path, &(user_lines + &tokens.csv()))?;
        api.token_auth_file = Some(path);
        // A key file rather than the server's own generated key, so that a restarted
        // (or second) API server of this cluster accepts the tokens pods already hold.
        if api.service_account_signing_key_file.is_none() {
            let key = token_dir.path().join("sa.key");
            if !key.is_file() {
                let (_, pem) = refkube_apiserver::serviceaccount::keys::SigningKey::generate()?;
                write_private(&key, &pem)?;
            }
            api.service_account_key_files.push(key.clone());
            api.service_account_signing_key_file = Some(key);
        }
        // Certificates the cluster CA issues (approved CSRs) log in, as kubeadm passes
        // its ca.crt as --client-ca-file (over TLS; plain HTTP has no client certificates).
        api.client_ca_generated = true;
        let token = Some(tokens.admin.clone());
        let server = ApiServer::bind(api, store.clone())
            .await
            .context("starting the API server")?;
        let api_config = kube_config(&crate::kubeconfig::render(
            &server.url(),
            server.ca_pem(),
            token.as_deref(),
        ))
        .await?;
        let userspace = components_config
            .proxies
            .iter()
            .any(|p| p.mode == ProxyMode::Userspace);
        let iptables_used = netns
            && components_config
                .proxies
                .iter()
                .any(|p| p.mode == ProxyMode::Iptables && !p.dry_run);
        let service_route = if netns && userspace {
            Some(ServiceRoute::add(cfg.network.service_range).await?)
        } else {
            None
        };
        // Pods verify the API server with the CA it serves; the CSR signer issues from
        // the same CA, as upstream clusters pass the cluster CA as `--root-ca-file` and
        // `--cluster-signing-*-file`. Over plain HTTP there is no serving CA, so the
        // cluster gets one of its own for signing, published the same way.
        if let Some(cm) = components_config.controller_manager.as_mut() {
            let generated = match server.ca_pem() {
                None => Some(refkube_apiserver::tls::cluster_ca()?),
                Some(_) => None,
            };
            let cert = (server.ca_pem().map(str::to_string))
                .or_else(|| generated.as_ref().map(|(c, _)| c.clone()));
            let key = (server.ca_key_pem().map(str::to_string)).or(generated.map(|(_, k)| k));
            if cm.root_ca.is_none() {
                cm.root_ca = cert.clone();
            }
            if cm.cluster_signing.is_none()
                && let (Some(cert_pem), Some(key_pem)) = (cert, key)
            {
                cm.cluster_signing = Some(refkube_controllers::config::ClusterSigning {
                    cert_pem,
                    key_pem,
                    duration: refkube_controllers::config::ClusterSigning::DEFAULT_DURATION,
                });
            }
        }
        let components = Components::start(api_config, components_config, tokens.by_user).await;
        Ok(Cluster {
            store,
            server,
            token,
            components,
            network: cfg.network,
            service_route: tokio::sync::Mutex::new(service_route),
            iptables_used: std::sync::atomic::AtomicBool::new(iptables_used),
            route_localnet_before: std::sync::Mutex::new(
                iptables_used
                    .then(crate::network::enable_route_localnet)
                    .flatten(),
            ),
            _token_dir: token_dir,
        })
    }

    /// The scheduler, controller manager, kubelets and proxies, to stop and restart.
    pub fn components(&self) -> &Components {
        &self.components
    }

    /// Switches every kube-proxy to `mode`. In a `netns` cluster the Service range is
    /// routed to this machine only while proxies run in userspace mode: in iptables mode
    /// a ClusterIP is nobody's address, so only its DNAT rules answer, as upstream.
    pub async fn set_proxy_mode(&self, mode: ProxyMode) -> anyhow::Result<()> {
        if self.network.mode == PodNetwork::Netns {
            let mut route = self.service_route.lock().await;
            match (mode, route.take()) {
                (ProxyMode::Userspace, None) => {
                    *route = Some(ServiceRoute::add(self.network.service_range).await?);
                }
                (ProxyMode::Iptables, Some(r)) => r.remove().await,
                (_, kept) => *route = kept,
            }
        }
        self.components.set_proxy_mode(mode).await?;
        if self.network.mode == PodNetwork::Netns {
            use std::sync::atomic::Ordering::SeqCst;
            match mode {
                ProxyMode::Iptables => {
                    self.iptables_used.store(true, SeqCst);
                    let mut before = self
                        .route_localnet_before
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    if before.is_none() {
                        *before = crate::network::enable_route_localnet();
                    }
                }
                // As upstream's kube-proxy started in another mode: remove iptables
                // mode's leftovers, or their DNAT rules would still catch the traffic.
                ProxyMode::Userspace => {
                    if self.iptables_used.swap(false, SeqCst) {
                        crate::network::remove_proxy_rules().await;
                    }
                }
            }
        }
        Ok(())
    }

    /// The API server URL, e.g. `http://127.0.0.1:41234`.
    pub fn api_url(&self) -> String {
        self.server.url()
    }

    /// The store all state lives in.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// A kubeconfig with cluster, context and user all named `refkube`.
    pub fn kubeconfig_yaml(&self) -> String {
        crate::kubeconfig::render(&self.api_url(), self.server.ca_pem(), self.token.as_deref())
    }

    /// A kube client for this cluster, without kube-rs's retries of 429 and 503: its
    /// user (the harness) judges the API server's own answers, as on every target.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        let mut config = kube_config(&self.kubeconfig_yaml()).await?;
        config.default_retry = false;
        Ok(kube::Client::try_from(config)?)
    }

    /// Stops everything: the components first, so their last writes reach the server;
    /// then, in a `netns` cluster, what they left in the machine's network (the
    /// Service range's route, kube-proxy's rules, the pod network's firewall chains).
    pub async fn shutdown(self) {
        self.components.shutdown().await;
        self.server.shutdown().await;
        if let Some(route) = self.service_route.into_inner() {
            route.remove().await;
        }
        if self.network.mode == PodNetwork::Netns {
            if self.iptables_used.into_inner() {
                crate::network::remove_proxy_rules().await;
            }
            let before = self
                .route_localnet_before
                .into_inner()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(before) = before {
                crate::network::restore_route_localnet(&before);
            }
            refkube_kubelet::network::firewall::remove_chains(
                std::net::Ipv4Addr::UNSPECIFIED.into(),
            )
            .await;
        }
    }
}

/// A client configuration from kubeconfig YAML.
async fn kube_config(yaml: &str) -> anyhow::Result<kube::Config> {
    let kc = kube::config::Kubeconfig::from_yaml(yaml)?;
    Ok(
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await?,
    )
}
