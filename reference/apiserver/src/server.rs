//! Binding and serving: TCP (optionally TLS) accept loop, hyper connections, graceful
//! shutdown of open watches.
//!
//! Entry points: [`ApiServer::bind`] (port 0 friendly, returns a handle) and [`run`].

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use refkube_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::audit::AuditLog;
use crate::auth::TokenAuth;
use crate::client_cert::{ClientCertAuth, PeerCertificates};
use crate::config::ApiServerConfig;
use crate::ipalloc::Allocators;
use crate::ipalloc::range::RangeError;
use crate::serviceaccount::tokens::ServiceAccountTokens;
use crate::state::AppState;
use crate::watchcache::WatchCaches;

/// How long a graceful shutdown may spend taking itself out of the `kubernetes`
/// Endpoints.
const REMOVE_ENDPOINTS_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the API server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Listening beyond loopback needs `--token-auth-file`.
    #[error("listening on {0} (not loopback) requires authentication: pass a token file")]
    AuthRequired(SocketAddr),
    /// The listen address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The token file is unusable.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// TLS material is unusable.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The `--encryption-provider-config` file is unusable.
    #[error(transparent)]
    Encryption(#[from] crate::encryption::EncryptionError),
    /// The audit log could not be opened.
    #[error("opening audit log: {0}")]
    Audit(std::io::Error),
    /// The store failed while the watch caches were filled.
    #[error("store: {0}")]
    Store(#[from] refkube_store::StoreError),
    /// The start-up repair of the ClusterIP and NodePort ranges failed (store error, or
    /// a stored range object that cannot be read).
    #[error("service ranges: {0}")]
    Ranges(crate::ipalloc::range::RangeError),
    /// The service account keys are unusable.
    #[error("service account keys: {0}")]
    ServiceAccountKeys(#[from] crate::serviceaccount::keys::KeyError),
    /// Creating the start-up namespaces and Service failed.
    #[error("bootstrap: {0}")]
    Bootstrap(crate::status::ApiError),
}

/// The client address of a request's connection.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// A running API server.
pub struct ApiServer {
    addr: SocketAddr,
    ca_pem: Option<String>,
    ca_key_pem: Option<String>,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Stops the periodic repair and endpoint reconciliation, apart from serving, so
    /// that a graceful shutdown can finish them before taking itself out of the
    /// Endpoints.
    stop_background: watch::Sender<bool>,
    background: Vec<tokio::task::JoinHandle<()>>,
    state: Arc<AppState>,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ApiServer {
    /// Starts serving on `config.listen` over `store`; returns once requests are served.
    pub async fn bind(config: ApiServerConfig, store: Arc<dyn Store>) -> Result<Self, ServerError> {
        let loopback = config.listen.ip().is_loopback();
        if !loopback && config.token_auth_file.is_none() {
            return Err(ServerError::AuthRequired(config.listen));
        }
        let auth = match &config.token_auth_file {
            Some(p) => Some(TokenAuth::load(p)?),
            None => None,
        };
        let service_accounts = ServiceAccountTokens::from_config(&config)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let advertise_ip: IpAddr = match config.advertise_address {
            Some(ip) => ip,
            None if addr.ip().is_unspecified() => [127, 0, 0, 1].into(),
            None => addr.ip(),
        };
        let advertise = SocketAddr::new(advertise_ip, addr.port());
        let mut tls = match (&config.tls_cert_file, &config.tls_private_key_file) {
            (Some(c), Some(k)) => Some(crate::tls::from_files(c, k)?),
            _ if config.self_signed_tls || !loopback => Some(crate::tls::self_signed(
                &[advertise_ip, addr.ip()],
                &config.tls_sans,
            )?),
            _ => None,
        };
        let client_certs = client_ca(&config, tls.as_ref())?;
        if let (Some(t), Some(c)) = (tls.as_mut(), &client_certs) {
            t.ask_client_certificates(c)?;
        }
        let audit = match &config.audit_log_path {
            Some(p) => Some(AuditLog::open(p).map_err(ServerError::Audit)?),
            None => None,
        };
        let (store, encryption) = crate::encryption::EncryptedStore::wrap(&config, store)?;
        let caches = WatchCaches::start(store.clone(), config.watch_cache_size).await?;
        let alloc = Allocators::new(
            config.service_cluster_ip_range,
            config.service_node_port_range,
            store.clone(),
        );
        // Before serving: the first pass creates the ranges (from the Services, on a
        // store written before ranges were stored, or for a changed range), and nothing
        // is allocated without them.
        match alloc.repair_once().await {
            Ok(()) => {}
            // Others kept changing the ranges: so they exist, and allocation works.
            Err(RangeError::Contended(what)) => {
                tracing::warn!(
                    what,
                    "start-up repair of the service ranges lost every race"
                );
            }
            Err(e) => return Err(ServerError::Ranges(e)),
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (stop_background, background_rx) = watch::channel(false);
        let bootstrap = config.bootstrap;
        let anonymous_is_admin = config.anonymous_loopback_admin && loopback && tls.is_none();
        let authorizer = crate::authz::Authorizer::new(config.authorization_modes.clone());
        let kubelet_http =
            crate::kubelet_client::client(config.kubelet_certificate_authority.as_deref())?;
        let state = Arc::new(AppState {
            authorizer,
            config,
            store,
            encryption,
            caches,
            kinds: Default::default(),
            alloc,
            auth,
            client_certs,
            service_accounts,
            anonymous_is_admin,
            audit,
            shutdown: shutdown_rx.clone(),
            http: kubelet_http,
            proxy_http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .danger_accept_invalid_certs(true)
                .build()
                .unwrap_or_default(),
            advertise,
            listen: addr,
        });
        if bootstrap {
            crate::bootstrap::ensure(&state)
                .await
                .map_err(ServerError::Bootstrap)?;
        }
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let ca_key_pem = tls.as_ref().and_then(|t| t.ca_key_pem.clone());
        let acceptor = tls.map(|t| t.acceptor);
        let router = crate::router::router(state.clone());
        let compactor = state
            .config
            .compaction_interval
            .map(|every| crate::compactor::spawn(state.store.clone(), every));
        let mut background = vec![
            state
                .alloc
                .spawn_repair(state.config.repair_services_interval, background_rx.clone()),
        ];
        background.push(crate::crd::controller::spawn(
            state.clone(),
            background_rx.clone(),
        ));
        if bootstrap {
            background.push(crate::lease_reconciler::spawn(state.clone(), background_rx));
        }
        let task = tokio::spawn(async move {
            accept_loop(listener, router, acceptor, shutdown_rx).await;
            if let Some(c) = compactor {
                c.abort();
            }
        });
        tracing::info!(%addr, "API server listening");
        Ok(Self {
            addr,
            ca_pem,
            ca_key_pem,
            shutdown,
            task: Some(task),
            stop_background,
            background,
            state,
        })
    }

    /// The bound address (the real port when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://` when serving TLS, else `http://`.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        let ip = self.state.advertise.ip();
        let host = if ip.is_ipv6() {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        format!("{scheme}://{host}:{}", self.addr.port())
    }

    /// PEM of the CA clients should trust, when serving TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The key of the generated CA (`None` with certificate files or plain HTTP).
    pub fn ca_key_pem(&self) -> Option<&str> {
        self.ca_key_pem.as_deref()
    }

    /// Takes this server out of the `kubernetes` Endpoints (upstream's
    /// `RemoveEndpoints`), then stops accepting and ends open watches and connections.
    pub async fn shutdown(mut self) {
        // Bounded throughout: a store that is gone must not hold the shutdown up; the
        // lease then expires on its own.
        let deadline = tokio::time::Instant::now() + REMOVE_ENDPOINTS_TIMEOUT;
        let _ = self.stop_background.send(true);
        for mut task in self.background.drain(..) {
            // Waited for, not aborted, so that no renewal lands after the removal below.
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
        if self.state.config.bootstrap {
            let removed =
                tokio::time::timeout_at(deadline, crate::lease_reconciler::remove(&self.state))
                    .await;
            match removed {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e.message, "leaving the kubernetes endpoints")
                }
                Err(_) => tracing::warn!("leaving the kubernetes endpoints timed out"),
            }
        }
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Dropping the handle stops the server too (without waiting for it), so a harness
/// that forgets `shutdown` does not leave a server behind. It does not leave the
/// `kubernetes` Endpoints: like a crash, its lease expires.
impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.stop_background.send(true);
        let _ = self.shutdown.send(true);
    }
}

/// The client certificate authenticator: `--client-ca-file`, else the generated serving
/// CA when [`ApiServerConfig::client_ca_generated`] asks for it.
fn client_ca(
    config: &ApiServerConfig,
    tls: Option<&crate::tls::Tls>,
) -> Result<Option<ClientCertAuth>, crate::tls::TlsError> {
    if let Some(path) = &config.client_ca_file {
        let pem = std::fs::read(path).map_err(|source| crate::tls::TlsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        if tls.is_none() {
            tracing::warn!("--client-ca-file has no effect without TLS");
        }
        return ClientCertAuth::from_pem(&pem, &path.display().to_string()).map(Some);
    }
    match tls {
        Some(t) if config.client_ca_generated && t.ca_key_pem.is_some() => {
            ClientCertAuth::from_pem(t.ca_pem.as_bytes(), "the generated CA").map(Some)
        }
        _ => Ok(None),
    }
}

/// Runs an API server until `shutdown` resolves.
pub async fn run(
    config: ApiServerConfig,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let server = ApiServer::bind(config, store).await?;
    shutdown.await;
    server.shutdown().await;
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // The peer address (audit sourceIPs) and the client certificates the handshake
        // presented (authentication) ride along in the request extensions.
        let service = {
            let router = router.clone();
            move |certs: Option<PeerCertificates>| {
                TowerToHyperService::new(tower::ServiceExt::map_request(
                    router,
                    move |mut req: http::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(Peer(peer));
                        if let Some(c) = &certs {
                            req.extensions_mut().insert(c.clone());
                        }
                        req
                    },
                ))
            }
        };
        let tls = tls.clone();
        conns.spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => {
                        let certs = (s.get_ref().1.peer_certificates())
                            .filter(|c| !c.is_empty())
                            .map(|c| PeerCertificates(c.to_vec().into()));
                        builder
                            .serve_connection_with_upgrades(TokioIo::new(s), service(certs))
                            .await
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                },
                None => {
                    builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service(None))
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    conns.abort_all();
}
