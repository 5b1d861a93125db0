//! userspace mode: a real proxy in the data path. One listener per service port on
//! `ClusterIP:port` (or the configured bind address), spreading connections round-robin
//! over the ready endpoints, with ClientIP affinity. Entry point: [`UserspaceProxier::sync`].
//!
//! Listeners are reconciled against each model: new service ports get a listener, removed
//! ones are closed, and the rest only get their endpoint set swapped (no rebind, so live
//! connections and the port stay up). A service port without endpoints keeps listening and
//! resets every connection at once (upstream's userspace proxier also accepted and closed).
//! Ports nobody declared are not listened on, and ICMP (ping) is never answered.

pub mod balancer;
mod tcp;
mod udp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

use crate::categorize::categorize;
use crate::config::ProxyConfig;
use crate::model::{Protocol, ProxyModel, ServicePortInfo, ServicePortName};
use balancer::Balancer;

/// A service port that could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// Binding the service address failed (in use, not a local address, no privilege...).
    #[error("cannot listen for {service} on {addr}: {source}")]
    Bind {
        /// The service port.
        service: String,
        /// The address tried.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// SCTP has no userspace implementation here.
    #[error("{service}: protocol SCTP is not supported in userspace mode")]
    Unsupported {
        /// The service port.
        service: String,
    },
}

impl ListenError {
    /// The address is already bound: on a host running several nodes' proxies, another
    /// proxy serves this service port, which is expected and not a fault.
    pub fn is_address_in_use(&self) -> bool {
        matches!(self, ListenError::Bind { source, .. }
            if source.kind() == std::io::ErrorKind::AddrInUse)
    }
}

struct Listener {
    addr: SocketAddr,
    balancer: Arc<Mutex<Balancer>>,
    task: JoinHandle<()>,
}

/// The set of listeners of one userspace proxy.
pub struct UserspaceProxier {
    config: ProxyConfig,
    listeners: HashMap<ServicePortName, Listener>,
}

impl std::fmt::Debug for UserspaceProxier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserspaceProxier")
            .field("listeners", &self.listeners.len())
            .finish()
    }
}

/// The endpoints a ClusterIP connection may use: Local ones under
/// `internalTrafficPolicy: Local`, otherwise the cluster-wide ready set.
fn internal_endpoints(svc: &ServicePortInfo) -> Vec<SocketAddr> {
    let cat = categorize(svc);
    let eps = if svc.internal_policy_local {
        cat.local
    } else {
        cat.cluster
    };
    eps.iter().map(|e| e.addr).collect()
}

impl UserspaceProxier {
    /// A proxier with no listeners yet.
    pub fn new(config: ProxyConfig) -> Self {
        Self {
            config,
            listeners: HashMap::new(),
        }
    }

    fn bind_addr(&self, svc: &ServicePortInfo) -> SocketAddr {
        SocketAddr::new(self.config.bind_address.unwrap_or(svc.cluster_ip), svc.port)
    }

    /// The address a service port is served on, if it has a listener.
    pub fn listen_addr(&self, name: &ServicePortName) -> Option<SocketAddr> {
        self.listeners.get(name).map(|l| l.addr)
    }

    /// Number of open listeners.
    pub fn listener_count(&self) -> usize {
        self.listeners.len()
    }

    /// Reconcile listeners with `model`. Returns the service ports that could not be
    /// served; they are retried on the next sync.
    pub async fn sync(&mut self, model: &ProxyModel) -> Vec<ListenError> {
        // Close listeners of services that are gone or moved to another address first,
        // waiting for each task to end so its port is free to bind again.
        let stale: Vec<ServicePortName> = self
            .listeners
            .iter()
            .filter(|(name, l)| {
                model
                    .services
                    .get(*name)
                    .is_none_or(|s| self.bind_addr(s) != l.addr)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(l) = self.listeners.remove(&name) {
                l.task.abort();
                let _ = l.task.await;
                tracing::info!(service = %name, addr = %l.addr, "closed userspace listener");
            }
        }

        let mut errors = Vec::new();
        for (name, svc) in &model.services {
            let endpoints = internal_endpoints(svc);
            if let Some(l) = self.listeners.get(name) {
                let mut b = l.balancer.lock().unwrap_or_else(|p| p.into_inner());
                b.set_affinity(svc.session_affinity);
                b.set_endpoints(endpoints);
                continue;
            }
            match self.open(name, svc, endpoints).await {
                Ok(l) => {
                    tracing::info!(service = %name, addr = %l.addr, "opened userspace listener");
                    self.listeners.insert(name.clone(), l);
                }
                Err(e) => {
                    // The driver reports it, once (see run.rs).
                    tracing::debug!(error = %e, "userspace listener not started");
                    errors.push(e);
                }
            }
        }
        errors
    }

    async fn open(
        &self,
        name: &ServicePortName,
        svc: &ServicePortInfo,
        endpoints: Vec<SocketAddr>,
    ) -> Result<Listener, ListenError> {
        let addr = self.bind_addr(svc);
        let mut b = Balancer::new(svc.session_affinity);
        b.set_endpoints(endpoints);
        let balancer = Arc::new(Mutex::new(b));
        let bind_err = |source| ListenError::Bind {
            service: name.to_string(),
            addr,
            source,
        };
        let task = match name.protocol {
            Protocol::Tcp => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(bind_err)?;
                tokio::spawn(tcp::serve(
                    listener,
                    balancer.clone(),
                    self.config.endpoint_dial_timeout,
                ))
            }
            Protocol::Udp => {
                let socket = tokio::net::UdpSocket::bind(addr).await.map_err(bind_err)?;
                tokio::spawn(udp::serve(
                    socket,
                    balancer.clone(),
                    self.config.udp_idle_timeout,
                ))
            }
            Protocol::Sctp => {
                return Err(ListenError::Unsupported {
                    service: name.to_string(),
                });
            }
        };
        Ok(Listener {
            addr,
            balancer,
            task,
        })
    }

    /// Forget idle affinity records (called on the periodic sync).
    pub fn cleanup_affinity(&self) {
        let now = std::time::Instant::now();
        for l in self.listeners.values() {
            l.balancer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .cleanup(now);
        }
    }

    /// Close every listener.
    pub async fn shutdown(&mut self) {
        for (_, l) in self.listeners.drain() {
            l.task.abort();
            let _ = l.task.await;
        }
    }
}

impl Drop for UserspaceProxier {
    fn drop(&mut self) {
        for l in self.listeners.values() {
            l.task.abort();
        }
    }
}
