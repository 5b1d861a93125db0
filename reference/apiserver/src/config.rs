//! `ApiServerConfig`: every setting of the API server, with upstream defaults and
//! builder methods.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::Ipv4Net;
use refkube_resources::defaults::DefaultsConfig;

/// Settings of one API server.
#[derive(Clone, Debug)]
pub struct ApiServerConfig {
    /// Where to listen (`--listen`); port 0 picks a free port. Upstream serves 6443.
    pub listen: SocketAddr,
    /// `--service-cluster-ip-range` (upstream default 10.0.0.0/24).
    pub service_cluster_ip_range: Ipv4Net,
    /// `--service-node-port-range` (upstream 30000-32767), inclusive.
    pub service_node_port_range: (u16, u16),
    /// Events kept per resource by the watch cache; watchers older than this get 410.
    pub watch_cache_size: usize,
    /// How many API servers run (upstream's `--apiserver-count`): with more than one, a
    /// new CRD stays `Installing` for `crd_establish_delay` before it is Established.
    pub apiserver_count: usize,
    /// Upstream's fixed 5 s wait between a CRD's names being accepted and its being
    /// Established when several API servers run (shorter in tests).
    pub crd_establish_delay: Duration,
    /// How often a watch with `allowWatchBookmarks` gets a BOOKMARK (upstream ~1 min).
    pub bookmark_interval: Duration,
    /// How long a watcher whose buffer is full may hold up an event before it is
    /// closed (upstream's cacher dispatch budget, 100 ms): a client that stopped
    /// reading loses its watch and re-lists, instead of pinning memory until it reads.
    pub watch_dispatch_timeout: Duration,
    /// How long a watch with `sendInitialEvents` waits for the cache to reach a
    /// resourceVersion it has not seen before answering 504 "Too large resource
    /// version" (upstream's `blockTimeout`, 3 s).
    pub watch_fresh_timeout: Duration,
    /// `--min-request-timeout`: watches without `timeoutSeconds` end after a random time
    /// in `[t, 2t)` (upstream 1800 s).
    pub min_request_timeout: Duration,
    /// Largest accepted request body (upstream 3 MiB).
    pub max_request_body_bytes: usize,
    /// `--tls-cert-file` / `--tls-private-key-file` (PEM).
    pub tls_cert_file: Option<PathBuf>,
    pub tls_private_key_file: Option<PathBuf>,
    /// Generate a self-signed certificate when no cert files are given (forced when
    /// listening beyond loopback).
    pub self_signed_tls: bool,
    /// `--advertise-address`: the IP clients (and the `kubernetes` Endpoints) use;
    /// default the listen IP, or 127.0.0.1 when listening on all addresses.
    pub advertise_address: Option<std::net::IpAddr>,
    /// `--tls-san`: more DNS names / IPs for the generated certificate.
    pub tls_sans: Vec<String>,
    /// `--token-auth-file`: upstream's CSV `token,user,uid,"group1,group2"`.
    pub token_auth_file: Option<PathBuf>,
    /// `--client-ca-file`: a PEM bundle of CAs; a request whose TLS client certificate
    /// chains to one of them authenticates as its CommonName, in the groups of its
    /// Organizations (see [`crate::client_cert`]).
    pub client_ca_file: Option<PathBuf>,
    /// Without `--client-ca-file`, trust the CA generated for the self-signed serving
    /// certificate for client certificates too: `refkube up`'s cluster CA, which also
    /// signs CertificateSigningRequests, as kubeadm passes its `ca.crt` to both.
    pub client_ca_generated: bool,
    /// With a token file, a request that carries no token at all acts as
    /// `system:admin` instead of getting 401, like upstream's old insecure localhost
    /// port; a wrong token is still 401. Only honoured on a loopback listener without
    /// TLS, where kubectl sends no bearer token (client-go will not send credentials over
    /// plain HTTP) while the components still identify themselves with theirs.
    pub anonymous_loopback_admin: bool,
    /// `--authorization-mode`: the authorizers every request passes, in order, after
    /// the `system:masters` group (upstream's kubeadm default `Node,RBAC`).
    pub authorization_modes: Vec<crate::authz::Mode>,
    /// `--audit-log-path`: JSON lines, one `audit.k8s.io/v1 Event` per request.
    pub audit_log_path: Option<PathBuf>,
    /// `--encryption-provider-config`: an `EncryptionConfiguration` file naming the
    /// resources to encrypt at rest and their providers (see [`crate::encryption`]).
    pub encryption_provider_config: Option<PathBuf>,
    /// Defaulting admission settings (DefaultTolerationSeconds).
    pub defaults: DefaultsConfig,
    /// Kubelet port used by pods/log when a node does not report one (upstream 10250).
    pub default_kubelet_port: u16,
    /// `--kubelet-certificate-authority`: the CA kubelets' serving certificates are
    /// verified against; None does not verify them, as upstream.
    pub kubelet_certificate_authority: Option<PathBuf>,
    /// Let `pods/proxy` and `services/proxy` connect to loopback pod addresses. Upstream
    /// allows only global unicast addresses (400 "address not allowed" otherwise); on
    /// by default here because refkube's `loopback` pod network lives in 127/8 (see the
    /// kubelet crate docs). Even on, a loopback destination must lie in a loopback pod
    /// CIDR (or be an address) of the pod's Node, and never be this server's own
    /// address: other loopback ports (etcd, the other components) stay out of reach.
    pub proxy_allow_loopback: bool,
    /// Create the system namespaces and the `kubernetes` Service at start-up.
    pub bootstrap: bool,
    /// `--etcd-compaction-interval` (upstream 5 min); None never compacts.
    pub compaction_interval: Option<Duration>,
    /// `--etcd-healthcheck-timeout` (upstream 2 s): how long the `etcd` check of
    /// `/healthz` and `/readyz` and each probe of `componentstatuses` may take, so that
    /// a store without a majority is reported at once rather than waited for.
    pub etcd_healthcheck_timeout: Duration,
    /// How often the ClusterIP and NodePort ranges are rebuilt from the Services, which
    /// frees what a crash between allocating and storing a Service leaked (upstream's
    /// `RepairServicesInterval`, 3 min). A pass also runs at start-up.
    pub repair_services_interval: Duration,
    /// How often this server renews its lease under `/registry/masterleases/` and
    /// re-syncs the `kubernetes` Endpoints (upstream's `EndpointReconcilerConfig.Interval`,
    /// `DefaultEndpointReconcilerInterval` 10 s).
    pub endpoint_reconciler_interval: Duration,
    /// How long a lease keeps a server in the `kubernetes` Endpoints without renewal
    /// (upstream's `MasterEndpointReconcileTTL`, `DefaultEndpointReconcilerTTL` 15 s).
    pub master_endpoint_reconcile_ttl: Duration,
    /// `--service-account-signing-key-file`: the PEM private key service account tokens
    /// are signed with (EC P-256: ES256; RSA: RS256). None: a key is generated at
    /// start-up, so only this server, while it runs, accepts its tokens; API servers
    /// that must accept each other's tokens share one key file.
    pub service_account_signing_key_file: Option<PathBuf>,
    /// `--service-account-key-file` (repeatable): PEM public or private keys tokens are
    /// verified with, besides the signing key's own public half.
    pub service_account_key_files: Vec<PathBuf>,
    /// `--service-account-issuer` (repeatable): the first is the `iss` of new tokens,
    /// tokens of any are accepted. Empty: `https://kubernetes.default.svc.cluster.local`.
    pub service_account_issuers: Vec<String>,
    /// `--api-audiences`: a token must be meant for one of these. Empty: the first
    /// issuer, as upstream.
    pub api_audiences: Vec<String>,
    /// `--service-account-max-token-expiration`: longer requests are shortened.
    pub service_account_max_token_expiration: Option<Duration>,
    /// `--service-account-extend-token-expiration` (upstream default true): a pod-bound
    /// token asked for 3607 s (what the admission plugin's volume asks) is valid for a
    /// year and only "stale" after 3607 s.
    pub service_account_extend_token_expiration: bool,
}

impl Default for ApiServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 6443)),
            service_cluster_ip_range: Ipv4Net::new([10, 0, 0, 0].into(), 24).unwrap_or_default(),
            service_node_port_range: (30000, 32767),
            watch_cache_size: 1000,
            apiserver_count: 1,
            crd_establish_delay: Duration::from_secs(5),
            bookmark_interval: Duration::from_secs(60),
            watch_dispatch_timeout: Duration::from_millis(100),
            watch_fresh_timeout: Duration::from_secs(3),
            min_request_timeout: Duration::from_secs(1800),
            max_request_body_bytes: refkube_resources::limits::MAX_REQUEST_BODY_BYTES,
            tls_cert_file: None,
            tls_private_key_file: None,
            self_signed_tls: false,
            advertise_address: None,
            tls_sans: Vec::new(),
            token_auth_file: None,
            client_ca_file: None,
            client_ca_generated: false,
            anonymous_loopback_admin: false,
            authorization_modes: crate::authz::Mode::defaults(),
            audit_log_path: None,
            encryption_provider_config: None,
            defaults: DefaultsConfig::default(),
            default_kubelet_port: 10250,
            kubelet_certificate_authority: None,
            proxy_allow_loopback: true,
            bootstrap: true,
            compaction_interval: Some(Duration::from_secs(300)),
            etcd_healthcheck_timeout: Duration::from_secs(2),
            repair_services_interval: Duration::from_secs(180),
            endpoint_reconciler_interval: Duration::from_secs(10),
            master_endpoint_reconcile_ttl: Duration::from_secs(15),
            service_account_signing_key_file: None,
            service_account_key_files: Vec::new(),
            service_account_issuers: Vec::new(),
            api_audiences: Vec::new(),
            service_account_max_token_expiration: None,
            service_account_extend_token_expiration: true,
        }
    }
}

impl ApiServerConfig {
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    pub fn service_cluster_ip_range(mut self, net: Ipv4Net) -> Self {
        self.service_cluster_ip_range = net;
        self
    }
    pub fn service_node_port_range(mut self, lo: u16, hi: u16) -> Self {
        self.service_node_port_range = (lo, hi);
        self
    }
    pub fn apiserver_count(mut self, n: usize) -> Self {
        self.apiserver_count = n;
        self
    }
    pub fn crd_establish_delay(mut self, d: Duration) -> Self {
        self.crd_establish_delay = d;
        self
    }
    pub fn watch_cache_size(mut self, n: usize) -> Self {
        self.watch_cache_size = n.max(1);
        self
    }
    pub fn bookmark_interval(mut self, d: Duration) -> Self {
        self.bookmark_interval = d;
        self
    }
    pub fn min_request_timeout(mut self, d: Duration) -> Self {
        self.min_request_timeout = d;
        self
    }
    pub fn tls_files(mut self, cert: PathBuf, key: PathBuf) -> Self {
        self.tls_cert_file = Some(cert);
        self.tls_private_key_file = Some(key);
        self
    }
    pub fn self_signed_tls(mut self, on: bool) -> Self {
        self.self_signed_tls = on;
        self
    }
    pub fn advertise_address(mut self, ip: std::net::IpAddr) -> Self {
        self.advertise_address = Some(ip);
        self
    }
    pub fn tls_sans(mut self, sans: Vec<String>) -> Self {
        self.tls_sans = sans;
        self
    }
    pub fn token_auth_file(mut self, path: PathBuf) -> Self {
        self.token_auth_file = Some(path);
        self
    }
    pub fn client_ca_file(mut self, path: PathBuf) -> Self {
        self.client_ca_file = Some(path);
        self
    }
    pub fn authorization_modes(mut self, modes: Vec<crate::authz::Mode>) -> Self {
        self.authorization_modes = modes;
        self
    }
    pub fn audit_log_path(mut self, path: PathBuf) -> Self {
        self.audit_log_path = Some(path);
        self
    }
    pub fn encryption_provider_config(mut self, path: PathBuf) -> Self {
        self.encryption_provider_config = Some(path);
        self
    }
    pub fn watch_dispatch_timeout(mut self, d: Duration) -> Self {
        self.watch_dispatch_timeout = d;
        self
    }
    pub fn watch_fresh_timeout(mut self, d: Duration) -> Self {
        self.watch_fresh_timeout = d;
        self
    }
    pub fn defaults(mut self, d: DefaultsConfig) -> Self {
        self.defaults = d;
        self
    }
    pub fn compaction_interval(mut self, every: Option<Duration>) -> Self {
        self.compaction_interval = every;
        self
    }
    pub fn etcd_healthcheck_timeout(mut self, t: Duration) -> Self {
        self.etcd_healthcheck_timeout = t;
        self
    }
    pub fn proxy_allow_loopback(mut self, on: bool) -> Self {
        self.proxy_allow_loopback = on;
        self
    }
    pub fn bootstrap(mut self, on: bool) -> Self {
        self.bootstrap = on;
        self
    }
    pub fn repair_services_interval(mut self, every: Duration) -> Self {
        self.repair_services_interval = every;
        self
    }
    pub fn endpoint_reconciler_interval(mut self, every: Duration) -> Self {
        self.endpoint_reconciler_interval = every;
        self
    }
    pub fn master_endpoint_reconcile_ttl(mut self, ttl: Duration) -> Self {
        self.master_endpoint_reconcile_ttl = ttl;
        self
    }
    /// Signs service account tokens with `key` and verifies them with it too.
    pub fn service_account_signing_key_file(mut self, key: PathBuf) -> Self {
        self.service_account_signing_key_file = Some(key);
        self
    }
    pub fn service_account_key_files(mut self, files: Vec<PathBuf>) -> Self {
        self.service_account_key_files = files;
        self
    }
    pub fn service_account_issuers(mut self, issuers: Vec<String>) -> Self {
        self.service_account_issuers = issuers;
        self
    }
    pub fn api_audiences(mut self, audiences: Vec<String>) -> Self {
        self.api_audiences = audiences;
        self
    }
}
