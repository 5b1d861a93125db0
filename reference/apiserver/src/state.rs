//! The state shared by every request: configuration, store, watch caches, allocators,
//! authentication and audit.
//!
//! Entry point: [`AppState`], built once by `server::ApiServer::bind`.

use std::sync::Arc;

use refkube_store::Store;
use tokio::sync::watch;

use crate::audit::AuditLog;
use crate::auth::TokenAuth;
use crate::config::ApiServerConfig;
use crate::ipalloc::Allocators;
use crate::serviceaccount::tokens::ServiceAccountTokens;
use crate::watchcache::WatchCaches;

pub struct AppState {
    pub config: ApiServerConfig,
    pub store: Arc<dyn Store>,
    /// The same store as `store` when `--encryption-provider-config` is set, for
    /// [`crate::encryption::rewrite_due`].
    pub encryption: Option<Arc<crate::encryption::EncryptedStore>>,
    pub caches: WatchCaches,
    /// The kinds Established CRDs define (kept by [`crate::crd::controller`]).
    pub kinds: crate::crd::CustomKinds,
    pub alloc: Allocators,
    pub auth: Option<TokenAuth>,
    /// `--client-ca-file`: verifies the client certificates requests arrive with.
    pub client_certs: Option<crate::client_cert::ClientCertAuth>,
    /// The `--authorization-mode` chain every request passes.
    pub authorizer: crate::authz::Authorizer,
    /// Signs and verifies service account tokens.
    pub service_accounts: ServiceAccountTokens,
    /// A request without a token acts as `system:admin` (see
    /// [`ApiServerConfig::anonymous_loopback_admin`]; only ever true on plain loopback).
    pub anonymous_is_admin: bool,
    pub audit: Option<AuditLog>,
    /// Becomes true when the server shuts down; open watches end then.
    pub shutdown: watch::Receiver<bool>,
    /// Client for kubelets (pods/log, exec, attach, portforward, nodes/proxy): HTTPS,
    /// see [`crate::kubelet_client`].
    pub http: reqwest::Client,
    /// Client for pods/proxy and services/proxy: redirects are handed back to the
    /// caller, and pods' certificates are not verified (upstream's proxy transport
    /// skips verification too: pods have no certificate the API server could trust).
    pub proxy_http: reqwest::Client,
    /// The address clients reach this server at (for `/api` serverAddressByClientCIDRs).
    pub advertise: std::net::SocketAddr,
    /// The address this server is bound to (the proxy never connects there).
    pub listen: std::net::SocketAddr,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store.backend())
            .field("advertise", &self.advertise)
            .finish()
    }
}
