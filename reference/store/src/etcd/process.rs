//! Starts and stops local etcd member processes, for tests and local clusters.
//!
//! Entry point: [`EtcdCluster::start`]. Each member listens on free loopback ports with
//! a data directory under the system temp dir; members are killed and their data
//! removed when the cluster is dropped. Members are named `etcd-0`, `etcd-1`, ... to
//! match the names `kubectl get componentstatuses` shows.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why an etcd cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// No `etcd` binary on PATH or at /usr/bin/etcd.
    #[error("etcd is not installed (apt-get install etcd-server)")]
    NotInstalled,
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// A member did not report healthy in time.
    #[error("etcd member {member} not healthy after {waited:?}; log tail:\n{log}")]
    NotReady {
        member: String,
        waited: Duration,
        log: String,
    },
}

/// How long to wait for a member to become healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Environment variable naming the etcd binary to use instead of searching for one.
pub const ETCD_BIN_ENV: &str = "REFKUBE_ETCD_BIN";

/// The etcd binary: `$REFKUBE_ETCD_BIN` if set (None if it is not a file), else `etcd`
/// on PATH, else `/usr/bin/etcd`.
pub fn find_binary() -> Option<PathBuf> {
    if let Some(chosen) = std::env::var_os(ETCD_BIN_ENV) {
        return Some(PathBuf::from(chosen)).filter(|p| p.is_file());
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("etcd"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| Some(PathBuf::from("/usr/bin/etcd")).filter(|p| p.is_file()))
}

struct Member {
    name: String,
    client_url: String,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

/// A running local etcd cluster.
pub struct EtcdCluster {
    binary: PathBuf,
    root: PathBuf,
    members: Vec<Member>,
}

impl EtcdCluster {
    /// Starts `size` members and waits until every one is healthy.
    pub async fn start(size: usize) -> Result<EtcdCluster, ProcessError> {
        let binary = find_binary().ok_or(ProcessError::NotInstalled)?;
        let unique = format!("refkube-etcd-{}-{}", std::process::id(), uuid_like());
        let root = std::env::temp_dir().join(&unique);
        fs::create_dir_all(&root).map_err(|source| ProcessError::Io {
            what: format!("create {}", root.display()),
            source,
        })?;
        let ports = free_ports(size * 2)?;
        let peers: Vec<String> = (0..size)
            .map(|i| format!("http://127.0.0.1:{}", ports[2 * i + 1]))
            .collect();
        let initial: Vec<String> = peers
            .iter()
            .enumerate()
            .map(|(i, p)| format!("etcd-{i}={p}"))
            .collect();
        let members = (0..size)
            .map(|i| {
                let name = format!("etcd-{i}");
                let client_url = format!("http://127.0.0.1:{}", ports[2 * i]);
                let data = root.join(&name);
                let args = vec![
                    format!("--name={name}"),
                    format!("--data-dir={}", data.display()),
                    format!("--listen-client-urls={client_url}"),
                    format!("--advertise-client-urls={client_url}"),
                    format!("--listen-peer-urls={}", peers[i]),
                    format!("--initial-advertise-peer-urls={}", peers[i]),
                    format!("--initial-cluster={}", initial.join(",")),
                    "--initial-cluster-state=new".to_string(),
                    format!("--initial-cluster-token={unique}"),
                ];
                Member {
                    log: root.join(format!("{name}.log")),
                    name,
                    client_url,
                    args,
                    child: None,
                }
            })
            .collect();
        let mut cluster = EtcdCluster {
            binary,
            root,
            members,
        };
        for i in 0..size {
            cluster.spawn(i)?;
        }
        for i in 0..size {
            cluster.wait_healthy(i).await?;
        }
        Ok(cluster)
    }

    /// The members' client URLs, in member order.
    pub fn client_urls(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// The store spec naming every member: `etcd:URL,URL,...`.
    pub fn spec(&self) -> String {
        format!("etcd:{}", self.client_urls().join(","))
    }

    /// Kills member `i` (SIGKILL), keeping its data for [`EtcdCluster::restart`].
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members.get_mut(i).and_then(|m| m.child.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a killed member again on its old data and waits until it is healthy.
    pub async fn restart(&mut self, i: usize) -> Result<(), ProcessError> {
        self.spawn(i)?;
        self.wait_healthy(i).await
    }

    fn spawn(&mut self, i: usize) -> Result<(), ProcessError> {
        let m = &mut self.members[i];
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&m.log)
            .map_err(|source| ProcessError::Io {
                what: format!("open {}", m.log.display()),
                source,
            })?;
        let log_err = log.try_clone().map_err(|source| ProcessError::Io {
            what: "clone log handle".into(),
            source,
        })?;
        let child = Command::new(&self.binary)
            .args(&m.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|source| ProcessError::Io {
                what: format!("start {}", self.binary.display()),
                source,
            })?;
        m.child = Some(child);
        Ok(())
    }

    async fn wait_healthy(&self, i: usize) -> Result<(), ProcessError> {
        let m = &self.members[i];
        let http = reqwest::Client::new();
        let start = Instant::now();
        while start.elapsed() < READY_TIMEOUT {
            let resp = http
                .get(format!("{}/health", m.client_url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(r) = resp
                && r.text()
                    .await
                    .is_ok_and(|t| t.contains("\"health\":\"true\""))
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(ProcessError::NotReady {
            member: m.name.clone(),
            waited: READY_TIMEOUT,
            log: tail(&m.log),
        })
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Loopback ports free right now (bound and released; etcd binds them next).
fn free_ports(n: usize) -> Result<Vec<u16>, ProcessError> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ProcessError::Io {
            what: "find a free port".into(),
            source,
        })?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|source| ProcessError::Io {
            what: "read a free port".into(),
            source,
        })
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
