//! Running probes: one task per container and probe kind that probes every period,
//! feeds [`ProbeTracker`] and reports flips to the pod worker, posting `Unhealthy`
//! events for failures (`pkg/kubelet/prober/worker.go`, `prober.go`). Entry points:
//! [`spawn_probe`], [`probe_once`], [`ProbeResults`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ObjectReference, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::events::{EventSink, reason};
use crate::probe::{ProbeKind, ProbeResult, ProbeSettings, ProbeTracker};
use crate::runtime::Runtime;

/// Current probe results of a pod, by container name and kind; the worker waits on
/// `changed`.
#[derive(Debug, Default)]
pub struct ProbeResults {
    results: Mutex<HashMap<(String, ProbeKind), ProbeResult>>,
    /// Notified when a result flips.
    pub changed: Notify,
}

impl ProbeResults {
    /// The result for a container's probe (`None`: the container has no such probe).
    pub fn get(&self, container: &str, kind: ProbeKind) -> Option<ProbeResult> {
        self.lock().get(&(container.to_string(), kind)).copied()
    }

    fn set(&self, container: &str, kind: ProbeKind, result: ProbeResult) {
        self.lock().insert((container.to_string(), kind), result);
        self.changed.notify_one();
    }

    /// Drops a container's results (its instance is gone).
    pub fn clear(&self, container: &str) {
        self.lock().retain(|(c, _), _| c != container);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, ProbeKind), ProbeResult>> {
        self.results.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a probe runs against.
#[derive(Clone)]
pub struct ProbeTarget {
    /// The runtime (exec probes, and whether there is a network at all).
    pub runtime: Arc<dyn Runtime>,
    /// Runtime container id.
    pub container_id: String,
    /// The container's spec (named ports).
    pub container: Container,
    /// The pod IP.
    pub pod_ip: IpAddr,
}

fn port(container: &Container, port: &IntOrString) -> Result<u16, String> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).map_err(|_| format!("invalid port number: {p}")),
        IntOrString::String(name) => container
            .ports
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .ok_or_else(|| format!("couldn't find port: {name} in {}", container.name)),
    }
}

fn http_client() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .user_agent("kube-probe/1.33")
                .build()
                .ok()
        })
        .as_ref()
}

fn dial_error(addr: SocketAddr, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            format!("dial tcp {addr}: connect: connection refused")
        }
        _ => format!("dial tcp {addr}: {e}"),
    }
}

/// Runs `probe` once against `target`: `(success, output)`.
pub async fn probe_once(probe: &Probe, target: &ProbeTarget, timeout: Duration) -> (bool, String) {
    let network = target.runtime.has_network();
    if let Some(http) = &probe.http_get {
        if !network {
            return (true, String::new());
        }
        let port = match port(&target.container, &http.port) {
            Ok(p) => p,
            Err(e) => return (false, e),
        };
        let host = http
            .host
            .clone()
            .unwrap_or_else(|| target.pod_ip.to_string());
        let scheme = http.scheme.as_deref().unwrap_or("HTTP").to_lowercase();
        let path = http.path.as_deref().unwrap_or("/");
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let url = format!(
            "{scheme}://{}{path}",
            SocketAddr::new(host.parse().unwrap_or(target.pod_ip), port)
        );
        let Some(client) = http_client() else {
            return (false, "no HTTP client".into());
        };
        let mut req = client.get(&url).timeout(timeout);
        for h in http.http_headers.as_deref().unwrap_or_default() {
            req = req.header(&h.name, &h.value);
        }
        return match req.send().await {
            Ok(resp) if resp.status().as_u16() < 400 => (true, String::new()),
            Ok(resp) => (
                false,
                format!(
                    "HTTP probe failed with statuscode: {}",
                    resp.status().as_u16()
                ),
            ),
            Err(e) if e.is_timeout() => (
                false,
                format!(
                    "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                ),
            ),
            Err(e) if e.is_connect() => {
                let addr = SocketAddr::new(target.pod_ip, port);
                let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
                (
                    false,
                    format!("Get \"{url}\": {}", dial_error(addr, &refused)),
                )
            }
            Err(e) => (false, format!("Get \"{url}\": {e}")),
        };
    }
    if let Some(tcp) = &probe.tcp_socket {
        if !network {
            return (true, String::new());
        }
        let port = match port(&target.container, &tcp.port) {
            Ok(p) => p,
            Err(e) => return (false, e),
        };
        let ip = tcp
            .host
            .as_deref()
            .and_then(|h| h.parse().ok())
            .unwrap_or(target.pod_ip);
        let addr = SocketAddr::new(ip, port);
        return match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => (true, String::new()),
            Ok(Err(e)) => (false, dial_error(addr, &e)),
            Err(_) => (false, format!("dial tcp {addr}: i/o timeout")),
        };
    }
    if let Some(exec) = &probe.exec {
        let cmd = exec.command.clone().unwrap_or_default();
        return match target
            .runtime
            .exec_sync(&target.container_id, &cmd, timeout)
            .await
        {
            Ok(r) if r.exit_code == 0 => (true, r.output),
            Ok(r) if r.output.trim().is_empty() => (
                false,
                format!("command {cmd:?} exited with {}", r.exit_code),
            ),
            Ok(r) => (false, r.output),
            Err(e) => (false, e.to_string()),
        };
    }
    if probe.grpc.is_some() {
        return (
            false,
            "gRPC probes are not supported by the refkube kubelet".into(),
        );
    }
    (false, "probe has no handler".into())
}

/// Everything one probe task needs.
pub struct ProbeTask {
    /// Which probe.
    pub kind: ProbeKind,
    /// The probe spec.
    pub probe: Probe,
    /// Settings with defaults applied.
    pub settings: ProbeSettings,
    /// The target.
    pub target: ProbeTarget,
    /// Where results go.
    pub results: Arc<ProbeResults>,
    /// Where `Unhealthy` events go.
    pub events: Arc<dyn EventSink>,
    /// The container's object reference (`fieldPath: spec.containers{c}`).
    pub object: ObjectReference,
}

/// Starts probing; the task ends when a liveness/startup probe fails (the container
/// will be restarted and gets new probe tasks) or a startup probe succeeds.
pub fn spawn_probe(task: ProbeTask) -> JoinHandle<()> {
    let name = task.target.container.name.clone();
    task.results
        .set(&name, task.kind, task.kind.initial_result());
    tokio::spawn(async move {
        let ProbeTask {
            kind,
            probe,
            settings,
            target,
            results,
            events,
            object,
        } = task;
        let mut tracker = ProbeTracker::new(kind, &settings);
        tokio::time::sleep(settings.initial_delay).await;
        loop {
            let startup_pending = kind != ProbeKind::Startup
                && results
                    .get(&name, ProbeKind::Startup)
                    .is_some_and(|r| r != ProbeResult::Success);
            if !startup_pending {
                let (ok, output) = probe_once(&probe, &target, settings.timeout).await;
                if !ok {
                    let message = format!("{} probe failed: {}", kind.title(), output.trim_end());
                    events
                        .record(&object, "Warning", reason::UNHEALTHY, &message)
                        .await;
                }
                if let Some(result) = tracker.observe(ok) {
                    results.set(&name, kind, result);
                    let done = match kind {
                        ProbeKind::Liveness => result == ProbeResult::Failure,
                        ProbeKind::Startup => true,
                        ProbeKind::Readiness => false,
                    };
                    if done {
                        return;
                    }
                }
            }
            tokio::time::sleep(settings.period).await;
        }
    })
}
