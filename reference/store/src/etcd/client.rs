//! The HTTP side of the etcd backend: JSON posts to the v3 gateway with fail-over
//! between endpoints, and per-member health.
//!
//! Entry point: [`Client`]. A request goes to the endpoint that last answered; if it
//! cannot be *connected* it goes to the next one. Only connection failures fail over:
//! a request that reached a member and then timed out may have been applied, so it is
//! reported, not retried (a retried create could wrongly see its own write as a clash).

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::de::DeserializeOwned;

use super::EtcdConfig;
use super::wire::ErrorBody;
use crate::{MemberHealth, StoreError};

/// Why an etcd request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EtcdError {
    /// No endpoint accepted a connection.
    #[error("no etcd endpoint reachable: {0}")]
    Unreachable(String),
    /// A member was reached but the request failed on the way (timeout, reset).
    #[error("etcd request {path} to {endpoint} failed: {reason}")]
    Request {
        path: String,
        endpoint: String,
        reason: String,
    },
    /// etcd answered with an error.
    #[error("etcd refused {path} (code {code}): {message}")]
    Server {
        path: String,
        code: i32,
        message: String,
    },
    /// etcd's answer was not the JSON expected.
    #[error("cannot decode etcd's answer to {path}: {reason}")]
    Decode { path: String, reason: String },
}

impl EtcdError {
    /// etcd's `ErrCompacted`.
    pub(crate) fn is_compacted(&self) -> bool {
        matches!(self, EtcdError::Server { message, .. } if message.contains("required revision has been compacted"))
    }

    /// etcd's `ErrFutureRev`.
    pub(crate) fn is_future(&self) -> bool {
        matches!(self, EtcdError::Server { message, .. } if message.contains("required revision is a future revision"))
    }
}

impl From<EtcdError> for StoreError {
    fn from(e: EtcdError) -> Self {
        match e {
            EtcdError::Decode { .. } => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Unavailable(e.to_string()),
        }
    }
}

/// An HTTP client for a set of etcd endpoints.
pub(crate) struct Client {
    http: reqwest::Client,
    config: EtcdConfig,
    /// The endpoint that answered last; requests start there.
    preferred: AtomicUsize,
}

impl Client {
    pub(crate) fn new(config: EtcdConfig) -> Result<Client, StoreError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.dial_timeout)
            .build()
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot build the etcd HTTP client: {e}"))
            })?;
        Ok(Client {
            http,
            config,
            preferred: AtomicUsize::new(0),
        })
    }

    pub(crate) fn config(&self) -> &EtcdConfig {
        &self.config
    }

    /// Sends `body` to `path` on the first endpoint that accepts a connection and
    /// returns the raw response; `timeout` None for streams.
    pub(crate) async fn send(
        &self,
        path: &str,
        body: &serde_json::Value,
        timeout: Option<std::time::Duration>,
    ) -> Result<reqwest::Response, EtcdError> {
        let n = self.config.endpoints.len();
        let start = self.preferred.load(Ordering::Relaxed);
        let mut failures = Vec::new();
        for i in 0..n {
            let idx = (start + i) % n;
            let endpoint = &self.config.endpoints[idx];
            let mut req = self.http.post(format!("{endpoint}{path}")).json(body);
            if let Some(t) = timeout {
                req = req.timeout(t);
            }
            match req.send().await {
                Ok(resp) => {
                    self.preferred.store(idx, Ordering::Relaxed);
                    return check_status(path, resp).await;
                }
                Err(e) if e.is_connect() => failures.push(format!("{endpoint}: {e}")),
                Err(e) => {
                    return Err(EtcdError::Request {
                        path: path.into(),
                        endpoint: endpoint.clone(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        Err(EtcdError::Unreachable(failures.join("; ")))
    }

    /// Posts a unary request and decodes its JSON answer.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<T, EtcdError> {
        let resp = self
            .send(path, &body, Some(self.config.request_timeout))
            .await?;
        let bytes = resp.bytes().await.map_err(|e| EtcdError::Request {
            path: path.into(),
            endpoint: String::new(),
            reason: e.to_string(),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| EtcdError::Decode {
            path: path.into(),
            reason: e.to_string(),
        })
    }

    /// Probes every member's `/health`, naming them `etcd-0`, `etcd-1`, ... as
    /// `kubectl get componentstatuses` does; the message is etcd's own answer.
    pub(crate) async fn health(&self) -> Vec<MemberHealth> {
        let probes = self
            .config
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, endpoint)| async move {
                let name = format!("etcd-{i}");
                let resp = self
                    .http
                    .get(format!("{endpoint}/health"))
                    .timeout(self.config.health_timeout)
                    .send()
                    .await;
                let body = match resp {
                    Ok(r) => r.text().await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match body {
                    Ok(text) => {
                        let healthy =
                            serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| {
                                v.get("health").and_then(|h| h.as_str()) == Some("true")
                            });
                        MemberHealth {
                            name,
                            healthy,
                            message: text.trim().to_string(),
                        }
                    }
                    Err(message) => MemberHealth {
                        name,
                        healthy: false,
                        message,
                    },
                }
            });
        futures::future::join_all(probes).await
    }
}

async fn check_status(path: &str, resp: reqwest::Response) -> Result<reqwest::Response, EtcdError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    let err: ErrorBody = serde_json::from_slice(&body).unwrap_or_else(|_| ErrorBody {
        message: format!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
        code: 0,
    });
    Err(EtcdError::Server {
        path: path.into(),
        code: err.code,
        message: err.message,
    })
}
