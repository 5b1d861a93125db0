//! The kube-proxy driver: track Services and EndpointSlices, and after every change (at
//! most once per `min_sync_period`, and at least once per `sync_period`) hand the new
//! model to the mode's backend. Entry points: [`run`], [`dry_run_render`].

use std::collections::HashSet;
use std::future::Future;
use std::io::Write;
use std::time::Instant;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::ListParams;
use kube::{Api, Client};

use crate::config::{ConfigError, ProxyConfig, ProxyMode};
use crate::iptables::apply::{ApplyError, IptablesApplier};
use crate::iptables::render;
use crate::limiter::{DEFAULT_BURST, SyncLimiter};
use crate::model::{ProxyModel, build_model};
use crate::source::ModelSource;
use crate::tracker::{NotSynced, Tracker};
use crate::userspace::UserspaceProxier;

/// Why the proxy stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The configuration is invalid.
    #[error("invalid proxy configuration: {0}")]
    Config(#[from] ConfigError),
    /// iptables cannot be used at all (missing binary or privileges).
    #[error("iptables mode cannot work here: {0}")]
    Iptables(#[from] ApplyError),
    /// The watches never delivered a first list.
    #[error(transparent)]
    NotSynced(#[from] NotSynced),
    /// Listing a resource failed (dry-run rendering).
    #[error("listing {resource}: {source}")]
    List {
        /// The resource listed.
        resource: &'static str,
        /// The client error.
        source: kube::Error,
    },
}

/// What a sync does in each mode.
enum Backend {
    Iptables {
        applier: IptablesApplier,
        last: Option<String>,
    },
    Userspace {
        proxier: UserspaceProxier,
        /// Failures already logged: a port held by another proxy (several simulated nodes
        /// on one host) would otherwise be reported on every sync.
        reported: HashSet<String>,
    },
}

impl Backend {
    fn new(config: &ProxyConfig) -> Self {
        match config.mode {
            ProxyMode::Iptables => Self::Iptables {
                applier: IptablesApplier::new(config.clone()),
                last: None,
            },
            ProxyMode::Userspace => Self::Userspace {
                proxier: UserspaceProxier::new(config.clone()),
                reported: HashSet::new(),
            },
        }
    }

    async fn sync(&mut self, model: &ProxyModel, config: &ProxyConfig) -> Result<(), ProxyError> {
        match self {
            Self::Iptables { last, .. } if config.dry_run => {
                let text = render(model, config);
                if last.as_deref() != Some(text.as_str()) {
                    // Dry-run prints each new ruleset, so `refkube proxy --dry-run` shows it.
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
                    *last = Some(text);
                }
                Ok(())
            }
            Self::Iptables { applier, last } => match applier.sync(model).await {
                Ok(text) => {
                    tracing::debug!(services = model.services.len(), "iptables rules synced");
                    *last = Some(text);
                    Ok(())
                }
                Err(e) if e.is_fatal() => Err(e.into()),
                Err(e) => {
                    // As upstream: log and retry on the next sync.
                    tracing::error!(error = %e, "failed to sync iptables rules");
                    Ok(())
                }
            },
            Self::Userspace { proxier, reported } => {
                for e in proxier.sync(model).await {
                    if reported.insert(e.to_string()) {
                        if e.is_address_in_use() {
                            tracing::info!(error = %e, "service port served by another proxy on this host");
                        } else {
                            tracing::warn!(error = %e, "service port not proxied");
                        }
                    } else {
                        tracing::debug!(error = %e, "service port still not proxied");
                    }
                }
                proxier.cleanup_affinity();
                Ok(())
            }
        }
    }

    async fn shutdown(&mut self) {
        if let Self::Userspace { proxier, .. } = self {
            proxier.shutdown().await;
        }
    }
}

async fn sync_loop(
    config: &ProxyConfig,
    tracker: &impl ModelSource,
    backend: &mut Backend,
) -> Result<(), ProxyError> {
    tracker.wait_synced().await?;
    tracing::info!(node = %config.node_name, mode = %config.mode, "services and endpointslices synced; proxying");
    let mut limiter = SyncLimiter::new(config.min_sync_period, DEFAULT_BURST, Instant::now());
    loop {
        // An isolated change syncs at once; bursts are spread one per min_sync_period.
        let delay = limiter.delay(Instant::now());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let model = tracker.snapshot(&config.node_name, config.ip_family);
        backend.sync(&model, config).await?;
        tokio::select! {
            _ = tracker.changed() => {}
            _ = tokio::time::sleep(config.sync_period) => {}
        }
    }
}

/// Run kube-proxy until `shutdown` resolves (or a fatal error): watch Services and
/// EndpointSlices through `client` and keep this node's rules or listeners in step.
///
/// At most one iptables-mode proxy (not dry-run) may run per network namespace: it owns
/// the `KUBE-*` chains there and deletes per-service chains it did not write. Several
/// userspace-mode proxies on one host share the service addresses: the first to bind a
/// `ClusterIP:port` serves it, the others report the port as taken once and retry quietly.
pub async fn run(
    config: ProxyConfig,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ProxyError> {
    config.validate()?;
    let tracker = Tracker::start(client);
    run_with_source(config, &tracker, shutdown).await
}

/// [`run`] with models from any [`ModelSource`] (e.g. a [`ModelFeed`](crate::source::ModelFeed)
/// in tests, to exercise the sync timing without an API server).
pub async fn run_with_source(
    config: ProxyConfig,
    source: &impl ModelSource,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ProxyError> {
    config.validate()?;
    let mut backend = Backend::new(&config);
    let result = tokio::select! {
        _ = shutdown => Ok(()),
        r = sync_loop(&config, source, &mut backend) => r,
    };
    backend.shutdown().await;
    result
}

/// List Services and EndpointSlices once and return the iptables ruleset they produce
/// (what `refkube proxy --mode iptables --dry-run` prints), without touching the host.
pub async fn dry_run_render(config: &ProxyConfig, client: Client) -> Result<String, ProxyError> {
    config.validate()?;
    let services = Api::<Service>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|source| ProxyError::List {
            resource: "services",
            source,
        })?;
    let slices = Api::<EndpointSlice>::all(client)
        .list(&ListParams::default())
        .await
        .map_err(|source| ProxyError::List {
            resource: "endpointslices",
            source,
        })?;
    let model = build_model(
        &services.items,
        &slices.items,
        &config.node_name,
        config.ip_family,
    );
    Ok(render(&model, config))
}
