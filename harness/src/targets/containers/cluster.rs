//! One running container cluster: starts the plan, waits until it serves, injects
//! faults into its containers, and removes every container and network it made.
//!
//! Entry points: [`ContainerCluster::start`], [`ContainerCluster::shutdown`], and the
//! fault verbs the session calls ([`ContainerCluster::container`] finds the container
//! a fault names).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;
use testcontainers::bollard::Docker;

use super::credentials::Credentials;
use super::docker::{self, DockerError};
use super::topology::{HostDirs, Planned, Role, Topology, address, plan};
use crate::targets::TargetError;

/// How long a cluster may take to serve and to have its nodes Ready.
const READY_WITHIN: Duration = Duration::from_secs(90);

/// A started cluster.
pub struct ContainerCluster {
    docker: Docker,
    /// The cluster's name: the prefix of its containers and the name of its network.
    pub name: String,
    pub subnet: Ipv4Net,
    pub topology: Topology,
    pub containers: Vec<Planned>,
    pub credentials: Credentials,
    pub dirs: HostDirs,
    /// The administrator's kubeconfig (through the load balancer's address).
    pub kubeconfig: String,
    /// The mode every node's kube-proxy runs in (iptables at start).
    proxy_mode: tokio::sync::Mutex<refkube_proxy::ProxyMode>,
    _state: tempfile::TempDir,
}

fn unavailable(what: &str) -> impl FnOnce(DockerError) -> TargetError {
    let what = what.to_string();
    move |e| TargetError::Unavailable(format!("{what}: {e}"))
}

/// A unique cluster name for this process.
fn next_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "kubeproof-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl ContainerCluster {
    /// Creates the network and every container of `topology` from `image`, and waits
    /// until the API answers through the load balancer and every node is Ready.
    pub async fn start(
        docker: Docker,
        image: &str,
        topology: Topology,
    ) -> Result<Self, TargetError> {
        let name = next_name();
        let state = tempfile::Builder::new()
            .prefix("kubeproof-containers-")
            .tempdir()
            .map_err(|e| TargetError::Unavailable(format!("creating a state dir: {e}")))?;
        let dirs = HostDirs {
            config: state.path().join("config"),
            audit: state.path().join("audit"),
            manifests: state.path().join("manifests"),
        };
        let subnet = create_network(&docker, &name).await?;
        let credentials = Credentials::generate(&topology, subnet)
            .map_err(|e| TargetError::Unavailable(e.to_string()))?;
        let containers = plan(&topology, &name, subnet, image, &dirs);
        let mut cluster = Self {
            kubeconfig: credentials.admin_kubeconfig(address(subnet, &Role::LoadBalancer)),
            proxy_mode: tokio::sync::Mutex::new(refkube_proxy::ProxyMode::Iptables),
            docker,
            name,
            subnet,
            topology,
            containers,
            credentials,
            dirs,
            _state: state,
        };
        // From here on a failure removes what was made.
        match cluster.bring_up().await {
            Ok(()) => Ok(cluster),
            Err(e) => {
                let e = cluster.explain(e).await;
                cluster.shutdown().await;
                Err(e)
            }
        }
    }

    async fn bring_up(&mut self) -> Result<(), TargetError> {
        let io = |e: std::io::Error| TargetError::Unavailable(format!("state dir: {e}"));
        std::fs::create_dir_all(&self.dirs.config).map_err(io)?;
        for c in &self.containers {
            match c.role {
                Role::ApiServer(_) => {
                    std::fs::create_dir_all(self.dirs.audit.join(&c.spec.hostname)).map_err(io)?
                }
                Role::Node(_) => {
                    std::fs::create_dir_all(self.dirs.manifests.join(&c.spec.hostname))
                        .map_err(io)?
                }
                _ => {}
            }
        }
        self.credentials
            .write(&self.dirs.config)
            .map_err(|e| TargetError::Unavailable(e.to_string()))?;
        for c in &self.containers {
            docker::run(&self.docker, &c.spec, &self.name, &self.name)
                .await
                .map_err(unavailable("starting the cluster"))?;
        }
        let client = self.client().await?;
        wait_until(
            READY_WITHIN,
            "the API server to answer through the load balancer",
            || {
                let client = client.clone();
                async move {
                    let req = http::Request::get("/readyz").body(Vec::new()).ok()?;
                    client.request_text(req).await.ok().map(|_| ())
                }
            },
        )
        .await?;
        let nodes = self.topology.nodes;
        wait_until(READY_WITHIN, &format!("{nodes} Ready nodes"), || {
            let client = client.clone();
            async move { (ready_nodes(&client).await? >= nodes).then_some(()) }
        })
        .await
    }

    /// Adds the last log lines of every container that is not running to a start error.
    async fn explain(&self, e: TargetError) -> TargetError {
        let mut text = e.to_string();
        for c in &self.containers {
            let logs = docker::logs_tail(&self.docker, &c.spec.name, 15).await;
            if !logs.trim().is_empty() {
                text.push_str(&format!(
                    "\n--- {} ---\n{}",
                    c.spec.hostname,
                    logs.trim_end()
                ));
            }
        }
        TargetError::Unavailable(text)
    }

    /// A client for the administrator, through the load balancer.
    pub async fn client(&self) -> Result<kube::Client, TargetError> {
        let kc = kube::config::Kubeconfig::from_yaml(&self.kubeconfig)
            .map_err(|e| TargetError::Kubeconfig(e.to_string()))?;
        let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .map_err(|e| TargetError::Kubeconfig(e.to_string()))?;
        // The scenarios judge the API server's own answers: a 503 while the store has no
        // majority must reach them, not be retried away by the client.
        cfg.default_retry = false;
        kube::Client::try_from(cfg).map_err(|e| TargetError::Kubeconfig(e.to_string()))
    }

    /// The container playing `role`.
    pub fn container(&self, role: &Role) -> Result<&Planned, TargetError> {
        self.containers
            .iter()
            .find(|c| &c.role == role)
            .ok_or_else(|| {
                TargetError::FaultUnsupported(format!(
                    "this cluster has no {} (topology {:?})",
                    role.hostname(),
                    self.topology
                ))
            })
    }

    /// The container whose host name starts a Lease holder identity
    /// (`<hostname>_<uuid>`).
    pub fn holder(&self, identity: &str) -> Result<&Planned, TargetError> {
        let host = identity.split('_').next().unwrap_or_default();
        self.containers
            .iter()
            .find(|c| c.spec.hostname == host)
            .ok_or_else(|| {
                TargetError::FaultUnsupported(format!(
                    "no container of this cluster holds the identity {identity:?}"
                ))
            })
    }

    /// Kills the pause process of the pod with `uid` on the node container `node` (a
    /// Kubernetes node name): the process whose environment carries the kubelet's
    /// sandbox mark. Fails when no such process runs there.
    pub async fn kill_pod_sandbox(&self, node: &str, uid: &str) -> Result<(), TargetError> {
        let role = (1..=self.topology.nodes)
            .map(Role::Node)
            .find(|r| r.hostname() == node)
            .ok_or_else(|| TargetError::Unavailable(format!("no node container for {node:?}")))?;
        let name = &self.container(&role)?.spec.name;
        let mark = format!("{}={uid}", refkube_kubelet::runtime::pause::SANDBOX_OF_ENV);
        // The node's processes are the container's own; busybox's tr and grep read
        // NUL-separated environments.
        let script = r#"found=; for e in /proc/[0-9]*/environ; do
            if tr '\0' '\n' < "$e" 2>/dev/null | grep -qxF "$1"; then
              p=${e#/proc/}; p=${p%/environ}; kill -9 "$p" && found=1
            fi
          done; [ -n "$found" ] || { echo "no process marked $1"; exit 1; }"#;
        let (code, out) = docker::exec(&self.docker, name, &["sh", "-c", script, "sh", &mark])
            .await
            .map_err(|e| TargetError::Unavailable(e.to_string()))?;
        if code != 0 {
            return Err(TargetError::Unavailable(format!(
                "killing the sandbox of pod {uid} on {node}: {}",
                out.trim()
            )));
        }
        Ok(())
    }

    pub async fn kill(&self, c: &Planned) -> Result<(), TargetError> {
        docker::kill(&self.docker, &c.spec.name)
            .await
            .map_err(unavailable("injecting the fault"))
    }

    pub async fn start_again(&self, c: &Planned) -> Result<(), TargetError> {
        docker::start(&self.docker, &c.spec.name)
            .await
            .map_err(unavailable("undoing the fault"))
    }

    pub async fn pause(&self, c: &Planned) -> Result<(), TargetError> {
        docker::pause(&self.docker, &c.spec.name)
            .await
            .map_err(unavailable("injecting the fault"))
    }

    pub async fn unpause(&self, c: &Planned) -> Result<(), TargetError> {
        docker::unpause(&self.docker, &c.spec.name)
            .await
            .map_err(unavailable("undoing the fault"))
    }

    pub async fn disconnect(&self, c: &Planned) -> Result<(), TargetError> {
        docker::disconnect(&self.docker, &self.name, &c.spec.name)
            .await
            .map_err(unavailable("injecting the fault"))
    }

    pub async fn reconnect(&self, c: &Planned) -> Result<(), TargetError> {
        docker::reconnect(
            &self.docker,
            &self.name,
            &c.spec.name,
            c.spec.ip,
            &c.spec.hostname,
        )
        .await
        .map_err(unavailable("undoing the fault"))
    }

    /// Runs every node's kube-proxy in `mode`: each node container is replaced by one
    /// whose kube-proxy starts in that mode (the kubelet in it starts the node's pods
    /// again, as after a reboot). A fresh network namespace also means no rule of the
    /// previous mode is left behind.
    pub async fn set_proxy_mode(&self, mode: refkube_proxy::ProxyMode) -> Result<(), TargetError> {
        let mut current = self.proxy_mode.lock().await;
        if *current == mode {
            return Ok(());
        }
        for c in self
            .containers
            .iter()
            .filter(|c| matches!(c.role, Role::Node(_)))
        {
            let spec = super::topology::with_proxy_mode(&c.spec, mode);
            docker::remove(&self.docker, &spec.name)
                .await
                .map_err(unavailable("replacing a node"))?;
            docker::run(&self.docker, &spec, &self.name, &self.name)
                .await
                .map_err(unavailable("replacing a node"))?;
        }
        *current = mode;
        Ok(())
    }

    /// The etcd members' client URLs as this machine reaches them.
    pub fn etcd_endpoints(&self) -> Vec<String> {
        (0..self.topology.etcd)
            .map(|i| format!("http://{}:2379", address(self.subnet, &Role::Etcd(i))))
            .collect()
    }

    /// Every API server's audit log file on this machine.
    pub fn audit_logs(&self) -> Vec<PathBuf> {
        (0..self.topology.apiservers)
            .map(|i| {
                self.dirs
                    .audit
                    .join(Role::ApiServer(i).hostname())
                    .join("audit.log")
            })
            .collect()
    }

    /// Removes every container and the network.
    pub async fn shutdown(&self) {
        if let Err(e) = docker::sweep(&self.docker, docker::Sweep::Cluster(&self.name)).await {
            eprintln!("kubeproof: removing cluster {}: {e}", self.name);
        }
    }
}

/// Creates the cluster's network on the first free /24 of 172.30.0.0/15, starting at a
/// place that depends on this process so that concurrent runs rarely try the same one.
async fn create_network(docker: &Docker, name: &str) -> Result<Ipv4Net, TargetError> {
    let base = u32::from(Ipv4Addr::new(172, 30, 0, 0));
    let start = std::process::id() % 512;
    let mut last = String::new();
    for k in 0..512u32 {
        let third = (start + k) % 512;
        let net = Ipv4Net::new(Ipv4Addr::from(base + (third << 8)), 24)
            .map_err(|e| TargetError::Unavailable(e.to_string()))?;
        match docker::create_network(docker, name, net, name).await {
            Ok(()) => return Ok(net),
            // Another network (of Docker's or another run's) has this range.
            Err(e) if e.to_string().contains("overlap") => last = e.to_string(),
            Err(e) => return Err(unavailable("creating the cluster network")(e)),
        }
    }
    Err(TargetError::Unavailable(format!(
        "no free /24 in 172.30.0.0/15 for the cluster network: {last}"
    )))
}

async fn ready_nodes(client: &kube::Client) -> Option<usize> {
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client.clone());
    let list = nodes.list(&Default::default()).await.ok()?;
    Some(
        list.items
            .iter()
            .filter(|n| {
                n.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count(),
    )
}

/// Polls `check` until it gives `Some` or `within` has passed.
async fn wait_until<F, Fut>(within: Duration, what: &str, mut check: F) -> Result<(), TargetError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<()>>,
{
    let start = Instant::now();
    loop {
        if check().await.is_some() {
            return Ok(());
        }
        if start.elapsed() > within {
            return Err(TargetError::Unavailable(format!(
                "waited {within:?} for {what}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
