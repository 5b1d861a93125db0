//! The HTTP side of the etcd backend: JSON posts to the v3 gateway with fail-over
//! between members, and per-member health.
//!
//! Entry point: [`Client`]. A unary request starts at the member that answered last and
//! moves on to the next one as `retry.rs` allows: always when the request never reached
//! a member or was refused before anything was done, after an unknown outcome only for
//! reads and revision-guarded transactions, and never after etcd's own verdict on the
//! request. Every request asks for a leader (the gateway's `Grpc-Metadata-hasleader`,
//! clientv3's `WithRequireLeader`), so a member cut off from the majority refuses at
//! once instead of holding the request for etcd's 7 s proposal timeout. When a whole
//! round failed and some member refused that way (an election running, or no
//! majority), rounds repeat with backoff for [`EtcdConfig::leader_wait`]; then the
//! request fails with etcd's "etcdserver: no leader". One attempt may take at most
//! [`EtcdConfig::attempt_timeout`], so a hung member delays a request, not stalls it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::EtcdConfig;
use super::retry::{Failure, Idempotence, classify_server_error, may_try_next};
use super::wire::ErrorBody;
use crate::{MemberHealth, StoreError};

/// The gateway forwards `Grpc-Metadata-*` headers as gRPC metadata; etcd refuses a
/// request carrying `hasleader: true` with "etcdserver: no leader" when it has none.
const REQUIRE_LEADER: (&str, &str) = ("Grpc-Metadata-hasleader", "true");

/// First pause between rounds in which every member refused; doubled up to the max.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_millis(800);

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

/// Why a member's `/health` gave no answer.
#[derive(Debug, thiserror::Error)]
enum HealthError {
    /// The request failed.
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    /// Nothing came back in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl EtcdError {
    /// etcd's `ErrCompacted`.
    pub(crate) fn is_compacted(&self) -> bool {
        matches!(self, EtcdError::Server { message, .. } if message.contains("required revision has been compacted"))
    }

    /// etcd's `ErrRequestTooLarge` ("etcdserver: request is too large", over
    /// `--max-request-bytes`), or its gRPC server refusing a message over its receive
    /// limit ("... larger than max").
    pub(crate) fn is_too_large(&self) -> bool {
        const INVALID_ARGUMENT: i32 = 3;
        const RESOURCE_EXHAUSTED: i32 = 8;
        matches!(self, EtcdError::Server { code, message, .. }
            if (*code == INVALID_ARGUMENT && message.contains("request is too large"))
                || (*code == RESOURCE_EXHAUSTED && message.contains("larger than max")))
    }

    /// etcd's `ErrFutureRev`.
    pub(crate) fn is_future(&self) -> bool {
        matches!(self, EtcdError::Server { message, .. } if message.contains("required revision is a future revision"))
    }

    fn failure(&self) -> Failure {
        match self {
            EtcdError::Unreachable(_) => Failure::NotSent,
            EtcdError::Request { .. } => Failure::Unknown,
            EtcdError::Server { code, message, .. } => classify_server_error(*code, message),
            EtcdError::Decode { .. } => Failure::Final,
        }
    }
}

impl From<EtcdError> for StoreError {
    fn from(e: EtcdError) -> Self {
        let failure = e.failure();
        match e {
            EtcdError::Decode { .. } => StoreError::Corrupt(e.to_string()),
            EtcdError::Server { message, .. } if e.is_too_large() => StoreError::TooLarge(message),
            // etcd itself could not do it now: its message is what upstream shows.
            EtcdError::Server { message, .. }
                if matches!(failure, Failure::Refused | Failure::Unknown) =>
            {
                StoreError::Timeout(message)
            }
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

/// A unary answer, and what happened to earlier attempts of the same request.
#[derive(Debug)]
pub(crate) struct Reply<T> {
    pub body: T,
    /// An earlier attempt reached a member and its outcome is unknown (the error it
    /// got): a revision-guarded transaction may have been applied by it.
    pub uncertain: Option<String>,
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

    /// Opens a streaming request (a watch) on the first member that answers; no
    /// timeout. Opening a watch changes nothing, so any failure moves on.
    pub(crate) async fn open_stream(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<reqwest::Response, EtcdError> {
        let n = self.config.endpoints.len();
        let start = self.preferred.load(Ordering::Relaxed);
        let mut last = None;
        for i in 0..n {
            let idx = (start + i) % n;
            let endpoint = &self.config.endpoints[idx];
            let sent = self
                .http
                .post(format!("{endpoint}{path}"))
                .json(body)
                .send();
            match sent.await {
                Ok(resp) => match check_status(path, resp).await {
                    Ok(resp) => {
                        self.preferred.store(idx, Ordering::Relaxed);
                        return Ok(resp);
                    }
                    Err(e) if e.failure() == Failure::Final => return Err(e),
                    Err(e) => last = Some(e),
                },
                Err(e) => last = Some(transport_error(path, endpoint, &e)),
            }
        }
        Err(last.unwrap_or_else(|| EtcdError::Unreachable("no endpoints".into())))
    }

    /// Posts a unary request of kind `idem`, failing over between members, and decodes
    /// its JSON answer.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
        idem: Idempotence,
    ) -> Result<Reply<T>, EtcdError> {
        let n = self.config.endpoints.len();
        let begun = Instant::now();
        let deadline = begun + self.config.request_timeout;
        let leader_deadline = begun + self.config.leader_wait;
        let mut uncertain = None;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let start = self.preferred.load(Ordering::Relaxed);
            let mut errors = Vec::new();
            for i in 0..n {
                let idx = (start + i) % n;
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let limit = left.min(self.config.attempt_timeout);
                match self.attempt::<T>(idx, path, &body, limit).await {
                    Ok(body) => {
                        self.preferred.store(idx, Ordering::Relaxed);
                        return Ok(Reply { body, uncertain });
                    }
                    Err(e) => {
                        let failure = e.failure();
                        if failure == Failure::Unknown && uncertain.is_none() {
                            uncertain = Some(e.to_string());
                        }
                        if !may_try_next(idem, failure) {
                            return Err(e);
                        }
                        errors.push(e);
                    }
                }
            }
            let now = Instant::now();
            let electing = errors.iter().any(|e| e.failure() == Failure::Refused);
            if !electing || now + backoff >= leader_deadline.min(deadline) {
                return Err(summarise(errors));
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One attempt on member `idx`, answer read in full within `limit`.
    async fn attempt<T: DeserializeOwned>(
        &self,
        idx: usize,
        path: &str,
        body: &serde_json::Value,
        limit: Duration,
    ) -> Result<T, EtcdError> {
        let endpoint = &self.config.endpoints[idx];
        let exchange = async {
            let resp = self
                .http
                .post(format!("{endpoint}{path}"))
                .header(REQUIRE_LEADER.0, REQUIRE_LEADER.1)
                .json(body)
                .send()
                .await
                .map_err(|e| transport_error(path, endpoint, &e))?;
            let resp = check_status(path, resp).await?;
            resp.bytes()
                .await
                .map_err(|e| transport_error(path, endpoint, &e))
        };
        let bytes = match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(EtcdError::Request {
                    path: path.into(),
                    endpoint: endpoint.clone(),
                    reason: format!("no answer within {limit:?}"),
                });
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| EtcdError::Decode {
            path: path.into(),
            reason: e.to_string(),
        })
    }

    /// Probes every member's `/health` at once, each within the health timeout, naming
    /// them `etcd-0`, `etcd-1`, ... as `kubectl get componentstatuses` does; the
    /// message is etcd's own answer.
    pub(crate) async fn health(&self) -> Vec<MemberHealth> {
        let probes = self
            .config
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, endpoint)| async move {
                let name = format!("etcd-{i}");
                let probe = async {
                    let resp = self.http.get(format!("{endpoint}/health")).send().await?;
                    resp.text().await.map_err(HealthError::Http)
                };
                let timeout = self.config.health_timeout;
                let body = match tokio::time::timeout(timeout, probe).await {
                    Ok(result) => result,
                    Err(_) => Err(HealthError::Timeout(timeout)),
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
                    Err(e) => MemberHealth {
                        name,
                        healthy: false,
                        message: e.to_string(),
                    },
                }
            });
        futures::future::join_all(probes).await
    }
}

/// A reqwest failure: not sent when no connection was made, otherwise unknown.
fn transport_error(path: &str, endpoint: &str, e: &reqwest::Error) -> EtcdError {
    if e.is_connect() {
        EtcdError::Unreachable(format!("{endpoint}: {e}"))
    } else {
        EtcdError::Request {
            path: path.into(),
            endpoint: endpoint.into(),
            reason: e.to_string(),
        }
    }
}

/// The error of a round in which every member failed: etcd's own answer if one came
/// (it says why: "no leader", "request timed out"), else a transport failure, else the
/// list of members that could not be reached.
fn summarise(errors: Vec<EtcdError>) -> EtcdError {
    let unreachable: Vec<String> = errors
        .iter()
        .filter_map(|e| match e {
            EtcdError::Unreachable(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    let server = errors
        .iter()
        .position(|e| matches!(e, EtcdError::Server { .. }));
    let reached = errors
        .iter()
        .position(|e| !matches!(e, EtcdError::Unreachable(_)));
    let mut errors = errors;
    match server.or(reached) {
        Some(i) => errors.swap_remove(i),
        None if unreachable.is_empty() => EtcdError::Unreachable("request timed out".into()),
        None => EtcdError::Unreachable(unreachable.join("; ")),
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
        // Not etcd's answer (a proxy in between?): nothing is known of the outcome.
        code: 14,
    });
    Err(EtcdError::Server {
        path: path.into(),
        code: err.code,
        message: err.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: i32, message: &str) -> EtcdError {
        EtcdError::Server {
            path: "/v3/kv/txn".into(),
            code,
            message: message.into(),
        }
    }

    #[test]
    fn a_failed_round_reports_etcds_reason_first() {
        let e = summarise(vec![
            EtcdError::Unreachable("a: refused".into()),
            server(14, "etcdserver: no leader"),
        ]);
        assert!(
            matches!(&e, EtcdError::Server { message, .. } if message == "etcdserver: no leader")
        );
        let e = summarise(vec![
            EtcdError::Unreachable("a: refused".into()),
            EtcdError::Unreachable("b: refused".into()),
        ]);
        assert_eq!(
            e.to_string(),
            "no etcd endpoint reachable: a: refused; b: refused"
        );
    }

    #[test]
    fn etcds_unavailable_answers_become_timeouts_with_its_message() {
        let e: StoreError = server(14, "etcdserver: request timed out").into();
        assert_eq!(
            e,
            StoreError::Timeout("etcdserver: request timed out".into())
        );
        let e: StoreError = server(3, "etcdserver: request is too large").into();
        assert_eq!(
            e,
            StoreError::TooLarge("etcdserver: request is too large".into())
        );
        assert!(!e.outcome_unknown(), "etcd refused it: nothing was written");
        let e: StoreError = server(
            8,
            "grpc: received message larger than max (2097452 vs. 2097152)",
        )
        .into();
        assert!(matches!(e, StoreError::TooLarge(_)));
        let e: StoreError = server(9, "etcdserver: some other refusal").into();
        assert!(matches!(e, StoreError::Unavailable(_)));
        let e: StoreError = EtcdError::Unreachable("x".into()).into();
        assert!(matches!(e, StoreError::Unavailable(_)));
    }
}
