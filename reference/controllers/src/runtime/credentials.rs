//! `--use-service-account-credentials`: one API client per controller, authenticating as
//! the controller's service account `kube-system/<account>` with tokens from TokenRequest
//! (upstream's `DynamicControllerClientBuilder`), so each controller holds only the
//! `system:controller:<name>` role bound to that account.
//!
//! Entry point: [`ClientBuilder::client`]; [`service_account`] names each controller's
//! account and [`refresh_after`] is the pure token-lifetime arithmetic.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderValue, Request, Response, header};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::client::Body;

/// Where the controllers' accounts live (upstream's `metav1.NamespaceSystem`).
pub const NAMESPACE: &str = "kube-system";
/// Lifetime asked of each token (upstream's `defaultExpirationSeconds`).
pub const EXPIRATION_SECONDS: i64 = 3600;
/// Share of the lifetime left when a token is replaced (`defaultLeewayPercent`).
const LEEWAY_PERCENT: u32 = 20;
/// Lifetime assumed when the returned expiry is nearer (clock skew; upstream's pin).
const MIN_LIFETIME: Duration = Duration::from_secs(10 * 60);

pub use refkube_helpers::controller_accounts::service_account;

/// How long after issue a token with `lifetime` left is replaced: when only the leeway
/// share of it remains, never sooner than [`MIN_LIFETIME`] allows.
pub fn refresh_after(lifetime: Duration) -> Duration {
    let lifetime = lifetime.max(MIN_LIFETIME);
    lifetime - lifetime * LEEWAY_PERCENT / 100
}

/// Builds and caches one client per service account.
pub struct ClientBuilder {
    /// The manager's own client: provisions the accounts and requests their tokens.
    root: kube::Client,
    /// Where the API server is (URL, TLS, User-Agent); its credentials are not used.
    api: kube::Config,
    clients: Mutex<BTreeMap<&'static str, kube::Client>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("cluster_url", &self.api.cluster_url)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub fn new(root: kube::Client, api: kube::Config) -> Self {
        Self {
            root,
            api,
            clients: Mutex::new(BTreeMap::new()),
        }
    }

    /// The client of service account `sa`. Its first request provisions the account and
    /// fetches a token, so building it never waits on the API server.
    pub fn client(&self, sa: &'static str) -> Result<kube::Client, kube::Error> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(sa) {
            return Ok(c.clone());
        }
        // Upstream's `AnonymousClientConfig`: the server and TLS, none of the manager's
        // credentials; the User-Agent gains the account's user name.
        let mut config = self.api.clone();
        config.auth_info = Default::default();
        let user = format!("system:serviceaccount:{NAMESPACE}:{sa}");
        let agent = config
            .headers
            .iter()
            .find(|(n, _)| n == header::USER_AGENT)
            .and_then(|(_, v)| v.to_str().ok())
            .map_or_else(|| user.clone(), |ua| format!("{ua}/{user}"));
        config.headers.retain(|(n, _)| n != header::USER_AGENT);
        let agent = HeaderValue::from_str(&agent).map_err(|e| kube::Error::Service(Box::new(e)))?;
        config.headers.push((header::USER_AGENT, agent));
        let default_ns = config.default_namespace.clone();
        let anonymous = kube::Client::try_from(config)?;
        let tokens = Arc::new(TokenSource {
            root: self.root.clone(),
            sa,
            cached: tokio::sync::Mutex::new(None),
        });
        let client = kube::Client::new(
            WithToken {
                inner: anonymous,
                tokens,
            },
            default_ns,
        );
        clients.insert(sa, client.clone());
        Ok(client)
    }
}

/// A cached token of one account, replaced once its refresh time passes.
struct TokenSource {
    root: kube::Client,
    sa: &'static str,
    cached: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl TokenSource {
    async fn token(&self) -> Result<String, kube::Error> {
        let mut cached = self.cached.lock().await;
        if let Some((token, refresh_at)) = cached.as_ref()
            && Instant::now() < *refresh_at
        {
            return Ok(token.clone());
        }
        let issued = Instant::now();
        let (token, lifetime) = self.request().await?;
        *cached = Some((token.clone(), issued + refresh_after(lifetime)));
        Ok(token)
    }

    /// Ensures the account exists (upstream's `getOrCreateServiceAccount`) and asks for a
    /// token; returns it with its remaining lifetime.
    async fn request(&self) -> Result<(String, Duration), kube::Error> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.root.clone(), NAMESPACE);
        if accounts.get_opt(self.sa).await?.is_none() {
            let sa = ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(self.sa.to_string()),
                    namespace: Some(NAMESPACE.to_string()),
                    ..Default::default()
                },
                ..Default::default()
            };
            match accounts.create(&PostParams::default(), &sa).await {
                Ok(_) => tracing::info!(account = self.sa, "created controller service account"),
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
        let request = TokenRequest {
            spec: TokenRequestSpec {
                expiration_seconds: Some(EXPIRATION_SECONDS),
                ..Default::default()
            },
            ..Default::default()
        };
        let issued = accounts
            .create_token_request(self.sa, &PostParams::default(), &request)
            .await?;
        let Some(status) = issued.status else {
            return Err(kube::Error::Service(
                format!(
                    "TokenRequest for {NAMESPACE}/{} returned no status",
                    self.sa
                )
                .into(),
            ));
        };
        let left = status
            .expiration_timestamp
            .0
            .duration_since(k8s_openapi::jiff::Timestamp::now());
        let lifetime = Duration::from_secs(u64::try_from(left.as_secs()).unwrap_or(0));
        Ok((status.token, lifetime))
    }
}

/// The anonymous client's requests with the account's bearer token added.
#[derive(Clone)]
struct WithToken {
    inner: kube::Client,
    tokens: Arc<TokenSource>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl tower::Service<Request<Body>> for WithToken {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = BoxFuture<Result<Response<Body>, kube::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), kube::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let token = this.tokens.token().await.map_err(|e| {
                tracing::warn!(account = this.tokens.sa, error = %e, "no token for controller");
                e
            })?;
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|e| kube::Error::Service(Box::new(e)))?;
            req.headers_mut().insert(header::AUTHORIZATION, value);
            this.inner.send(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_with_a_fifth_of_their_lifetime_left() {
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(2880)
        );
        // A nearer expiry (clock skew) is pinned to ten minutes.
        assert_eq!(
            refresh_after(Duration::from_secs(5)),
            Duration::from_secs(480)
        );
    }

    #[test]
    fn every_controller_has_its_upstream_account() {
        for entry in crate::inventory::CONTROLLERS {
            assert!(
                service_account(entry.name).is_some(),
                "{} has no service account",
                entry.name
            );
        }
        assert_eq!(service_account("replicaset"), Some("replicaset-controller"));
        assert_eq!(
            service_account("garbagecollector"),
            Some("generic-garbage-collector")
        );
        assert_eq!(
            service_account("taint-eviction-controller"),
            Some("node-controller")
        );
    }
}
