//! The command line: `refkube up` (the whole control plane in one process),
//! `refkube apiserver` (only the API server), and the one-component commands of
//! [`crate::commands`] (`scheduler`, `controller-manager`, `kubelet`, `proxy`, `node`).
//!
//! Entry point: [`run`] with a parsed [`Cli`].

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ipnet::Ipv4Net;
use refkube_apiserver::ApiServerConfig;

use crate::cluster::{Cluster, ClusterConfig};
use crate::network::ClusterNetwork;

#[derive(Debug, Parser)]
#[command(
    name = "refkube",
    version,
    about = "The kubeproof reference Kubernetes control plane"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole control plane in this process and write a kubeconfig for it.
    Up(UpArgs),
    /// Run only the API server.
    Apiserver(ApiserverArgs),
    #[command(flatten)]
    Component(crate::commands::ComponentCommand),
    /// Run an agnhost workload (how the process runtime starts agnhost containers):
    /// `pause`, `netexec`, `serve-hostname`, `liveness`, `logs-generator`.
    Agnhost {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Flags shared by `up` and `apiserver`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on. Beyond loopback, authentication is mandatory.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Store: `memory`, `file:DIR` or `etcd:URL[,URL...]`.
    #[arg(long, default_value = "memory")]
    pub store: String,
    /// Service ClusterIP range (`up` defaults to 127.10.0.0/16, or 10.96.0.0/16 with
    /// `--pod-network netns`; `apiserver` to 10.0.0.0/24).
    #[arg(long)]
    pub service_cluster_ip_range: Option<Ipv4Net>,
    /// The IP clients use to reach this server (default: the listen IP, or
    /// 127.0.0.1 when listening on all addresses).
    #[arg(long)]
    pub advertise_address: Option<std::net::IpAddr>,
    /// Extra DNS names or IPs for the generated TLS certificate (repeatable).
    #[arg(long = "tls-san")]
    pub tls_sans: Vec<String>,
    /// Static token file, upstream CSV: token,user,uid,"group1,group2".
    #[arg(long)]
    pub token_auth_file: Option<PathBuf>,
    /// CA bundle (PEM) client certificates are verified against; a verified one logs in
    /// as its CommonName, in the groups of its Organizations (`up` default: the cluster
    /// CA, which signs approved CertificateSigningRequests).
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,
    /// TLS certificate (PEM).
    #[arg(long, requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,
    /// Authorizers every request passes, in order (upstream's comma list of
    /// AlwaysAllow, AlwaysDeny, Node, RBAC); members of system:masters always pass.
    #[arg(long, default_value = "Node,RBAC", value_parser = parse_modes)]
    pub authorization_mode: AuthorizationModes,
    /// Audit log path (JSON lines).
    #[arg(long)]
    pub audit_log_path: Option<PathBuf>,
    /// Encryption at rest: an upstream `EncryptionConfiguration` file
    /// (apiserver.config.k8s.io/v1; aescbc, aesgcm, secretbox, identity).
    #[arg(long)]
    pub encryption_provider_config: Option<PathBuf>,
    /// The CA kubelets' serving certificates are verified against (none: not verified).
    #[arg(long)]
    pub kubelet_certificate_authority: Option<PathBuf>,
    /// Events kept per resource by the watch cache.
    #[arg(long, default_value_t = 1000)]
    pub watch_cache_size: usize,
    /// How many API servers serve this cluster (upstream's flag): with more than one, a
    /// new CRD stays Installing for 5 s so that every server serves it when it is
    /// Established.
    #[arg(long, default_value_t = 1)]
    pub apiserver_count: usize,
    /// Where to write the kubeconfig.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    #[command(flatten)]
    pub service_accounts: ServiceAccountArgs,
}

/// Upstream's service account token flags.
#[derive(Debug, Args)]
pub struct ServiceAccountArgs {
    /// PEM private key that signs service account tokens (EC P-256: ES256, RSA: RS256;
    /// PKCS#8, or PKCS#1 for RSA). Default: a key generated at start-up (`up` keeps it
    /// in its state directory), which only this server accepts: API servers that must
    /// accept each other's tokens are given the same file.
    #[arg(long)]
    pub service_account_signing_key_file: Option<PathBuf>,
    /// PEM public or private keys that verify service account tokens, besides the
    /// signing key (repeatable).
    #[arg(long = "service-account-key-file")]
    pub service_account_key_files: Vec<PathBuf>,
    /// Issuer (`iss`) of service account tokens; the first is written, all are
    /// accepted (repeatable) [default: https://kubernetes.default.svc.cluster.local].
    #[arg(long = "service-account-issuer")]
    pub service_account_issuers: Vec<String>,
    /// Audiences the API accepts tokens for, comma-separated [default: the first
    /// issuer].
    #[arg(long, value_delimiter = ',')]
    pub api_audiences: Vec<String>,
    /// Longest service account token issued; longer requests are shortened.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub service_account_max_token_expiration: Option<std::time::Duration>,
    /// Issue the pod-bound 3607 s tokens of projected volumes for a year, warning
    /// after 3607 s (upstream's safe transition to bound tokens).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub service_account_extend_token_expiration: bool,
}

impl ServiceAccountArgs {
    /// Copies the flags into `c`.
    pub fn apply(&self, c: &mut ApiServerConfig) {
        c.service_account_signing_key_file = self.service_account_signing_key_file.clone();
        c.service_account_key_files = self.service_account_key_files.clone();
        c.service_account_issuers = self.service_account_issuers.clone();
        c.api_audiences = self.api_audiences.clone();
        c.service_account_max_token_expiration = self.service_account_max_token_expiration;
        c.service_account_extend_token_expiration = self.service_account_extend_token_expiration;
    }
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Number of nodes (each a kubelet and a kube-proxy) to run.
    #[arg(long, default_value_t = 0)]
    pub nodes: usize,
    /// The kubelets' container runtime: `process` (real processes) or `sim`.
    #[arg(long, default_value = "process")]
    pub runtime: refkube_kubelet::RuntimeKind,
    /// How pods are networked: `loopback` (pod IPs are loopback addresses on this
    /// machine's network stack; no privileges) or `netns` (root: each pod has its own
    /// network namespace and a veth, so its containers share `localhost`).
    #[arg(long, default_value = "loopback")]
    pub pod_network: refkube_kubelet::PodNetwork,
    /// The pod range; node N gets its N-th /24 (default 127.100.0.0/16, or
    /// 10.244.0.0/16 with `--pod-network netns`, widened to hold a /24 per node when
    /// `--nodes` is over 255, e.g. 127.100.0.0/14 for 1000 nodes).
    #[arg(long)]
    pub cluster_cidr: Option<Ipv4Net>,
    /// kube-proxy's mode: `iptables` (rules only) or `userspace` (a real proxy per
    /// Service). Default: iptables with `--pod-network netns` when this process is root
    /// and the iptables tools are installed, userspace otherwise.
    #[arg(long)]
    pub proxy_mode: Option<refkube_proxy::ProxyMode>,
    /// State directory (kubeconfig, audit log); default `$HOME/.refkube`.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApiserverArgs {
    #[command(flatten)]
    pub server: ServerArgs,
}

/// The `--authorization-mode` list.
#[derive(Clone, Debug)]
pub struct AuthorizationModes(pub Vec<refkube_apiserver::authz::Mode>);

/// `--authorization-mode` as upstream reads it.
fn parse_modes(s: &str) -> Result<AuthorizationModes, String> {
    refkube_apiserver::authz::Mode::parse_list(s)
        .map(AuthorizationModes)
        .map_err(|e| e.to_string())
}

fn apiserver_config(a: &ServerArgs, default_range: Ipv4Net) -> ApiServerConfig {
    let mut c = ApiServerConfig::default()
        .watch_cache_size(a.watch_cache_size)
        .service_cluster_ip_range(a.service_cluster_ip_range.unwrap_or(default_range));
    c.token_auth_file = a.token_auth_file.clone();
    c.client_ca_file = a.client_ca_file.clone();
    c.apiserver_count = a.apiserver_count;
    c.advertise_address = a.advertise_address;
    c.tls_sans = a.tls_sans.clone();
    c.tls_cert_file = a.tls_cert_file.clone();
    c.tls_private_key_file = a.tls_private_key_file.clone();
    c.audit_log_path = a.audit_log_path.clone();
    c.authorization_modes = a.authorization_mode.0.clone();
    c.encryption_provider_config = a.encryption_provider_config.clone();
    c.kubelet_certificate_authority = a.kubelet_certificate_authority.clone();
    a.service_accounts.apply(&mut c);
    c
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    match cli.command {
        Command::Up(a) => up(a).await,
        Command::Apiserver(a) => apiserver(a).await,
        Command::Component(c) => crate::commands::run(c).await,
        // main() hands `agnhost` to crate::agnhost::dispatch before parsing; this arm
        // only exists so `refkube --help` lists the command.
        Command::Agnhost { .. } => anyhow::bail!("refkube agnhost must be the first argument"),
    }
}

/// Writes `yaml` to `path` (creating its directory).
fn write_kubeconfig(path: &PathBuf, yaml: &str) -> anyhow::Result<()> {
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    std::fs::write(path, yaml).with_context(|| format!("writing {}", path.display()))?;
    // It may hold a bearer token: readable by its owner only, as kubectl's own files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    Ok(())
}

async fn up(a: UpArgs) -> anyhow::Result<()> {
    let state_dir = match a.state_dir {
        Some(d) => d,
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .context("no --state-dir and no $HOME")?
            .join(".refkube"),
    };
    let defaults = ClusterConfig::default();
    let mut network = ClusterNetwork::for_nodes(a.pod_network, a.nodes);
    network.cluster_cidr = a.cluster_cidr.unwrap_or(network.cluster_cidr);
    network.check_fits(a.nodes)?;
    network.service_range = a
        .server
        .service_cluster_ip_range
        .unwrap_or(network.service_range);
    let mut cfg = ClusterConfig {
        listen: a
            .server
            .listen
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 6443))),
        store: a.server.store.clone(),
        nodes: a.nodes,
        runtime: a.runtime,
        state_dir: Some(state_dir.clone()),
        network,
        proxy_mode: a.proxy_mode,
        audit: true,
        apiserver: apiserver_config(&a.server, network.service_range),
        ..defaults
    };
    cfg.apiserver.audit_log_path = a.server.audit_log_path.clone();
    let cluster = Cluster::start(cfg).await?;
    let kubeconfig = a
        .server
        .kubeconfig
        .unwrap_or_else(|| state_dir.join("kubeconfig"));
    write_kubeconfig(&kubeconfig, &cluster.kubeconfig_yaml())?;
    println!(
        "refkube is ready: kubectl --kubeconfig {} get componentstatuses",
        kubeconfig.display()
    );
    crate::commands::shutdown_signal().await;
    cluster.shutdown().await;
    Ok(())
}

async fn apiserver(a: ApiserverArgs) -> anyhow::Result<()> {
    let listen = a
        .server
        .listen
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 6443)));
    let default_range = ApiServerConfig::default().service_cluster_ip_range;
    let config = apiserver_config(&a.server, default_range).listen(listen);
    let store = crate::cluster::open_store(&a.server.store).await?;
    let server = refkube_apiserver::ApiServer::bind(config, store).await?;
    println!("refkube apiserver is serving at {}", server.url());
    if let Some(path) = &a.server.kubeconfig {
        write_kubeconfig(
            path,
            &crate::kubeconfig::render(&server.url(), server.ca_pem(), None),
        )?;
    }
    crate::commands::shutdown_signal().await;
    server.shutdown().await;
    Ok(())
}
